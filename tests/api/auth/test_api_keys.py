"""API keys: stored only as salted hashes, looked up checking every record, parsed from FOLIO_API_KEYS."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from api.auth import api_keys
from api.auth.api_keys import KeyFile, KeyRecord, find_key, parse_env_keys
from api.auth.principal import Principal, Role


def test_a_record_holds_neither_the_key_nor_an_unsalted_hash_of_it():
    key = "folio_abc"
    record = KeyRecord.of(key, "svc", Role.READ)

    stored = json.dumps(record.to_json())
    assert key not in stored
    assert record.digest != key.encode()
    assert hashlib.sha256(key.encode()).hexdigest() not in stored
    assert record.matches(key) and not record.matches(key + " ")


def test_two_records_of_the_same_key_have_different_salts_and_digests():
    first, second = KeyRecord.of("same", "a", Role.READ), KeyRecord.of("same", "b", Role.READ)

    assert first.salt != second.salt and first.digest != second.digest


def test_find_key_checks_every_record_even_after_a_match(monkeypatch):
    records = [KeyRecord.of(f"key-{i}", f"n{i}", Role.READ) for i in range(5)]
    checked = []
    original = KeyRecord.matches
    monkeypatch.setattr(KeyRecord, "matches", lambda self, key: checked.append(self.name) or original(self, key))

    found = find_key(records, "key-0")

    assert found is records[0]
    assert checked == ["n0", "n1", "n2", "n3", "n4"]
    checked.clear()
    assert find_key(records, "nope") is None and len(checked) == 5


def test_env_keys_give_roles_and_portfolio_scopes_and_a_fingerprint_name():
    records = parse_env_keys(" k1=read , k2=write:P1|P2,k3=ADMIN,")

    principals = [find_key(records, k).principal() for k in ("k1", "k2", "k3")]
    assert [(p.role, p.portfolios) for p in principals] == [
        (Role.READ, None), (Role.WRITE, frozenset({"P1", "P2"})), (Role.ADMIN, None)]
    assert principals[0].subject == "env-" + hashlib.sha256(b"k1").hexdigest()[:8]


@pytest.mark.parametrize("text,entry", [("k1=read,k2=owner", "entry 2"), ("k1=read,justakey", "entry 2"),
                                        ("=read", "entry 1")])
def test_a_bad_env_entry_is_a_value_error_naming_it(text, entry):
    with pytest.raises(ValueError, match=entry):
        parse_env_keys(text)


def test_a_bad_env_entry_error_never_contains_the_key():
    with pytest.raises(ValueError) as raised:
        parse_env_keys("supersecret=owner")

    assert "supersecret" not in str(raised.value)


def test_the_keys_file_is_owner_only_holds_no_key_and_refuses_a_duplicate_name(tmp_path):
    keys = KeyFile(tmp_path / "keys.json")

    key, record = keys.create("ci", Role.WRITE, frozenset({"P1"}))

    assert stat.S_IMODE(os.stat(keys.path).st_mode) == 0o600
    assert key.startswith(api_keys.KEY_PREFIX) and key not in keys.path.read_text()
    assert find_key(keys.records(), key).principal() == Principal("ci", Role.WRITE, frozenset({"P1"}))
    with pytest.raises(ValueError, match="exists already"):
        keys.create("ci", Role.READ)


def test_a_revoke_or_create_by_another_process_is_seen_on_the_next_read(tmp_path):
    path = tmp_path / "keys.json"
    reader, writer = KeyFile(path), KeyFile(path)
    old_key, _ = writer.create("old", Role.READ)
    assert find_key(reader.records(), old_key) is not None

    writer.revoke("old")
    new_key, _ = writer.create("new", Role.ADMIN)

    assert find_key(reader.records(), old_key) is None
    assert find_key(reader.records(), new_key).name == "new"
    assert writer.revoke("old") is None


def test_a_bad_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="key name"):
        KeyFile(tmp_path / "keys.json").create("../x", Role.READ)


def test_a_replaced_keys_file_of_the_same_size_and_mtime_is_re_read(tmp_path):
    """Coarse file-system clocks: a revoke-and-create within one tick can leave size and mtime as they were."""
    path = tmp_path / "keys.json"
    reader, writer = KeyFile(path), KeyFile(path)
    first_key, _ = writer.create("aaaa", Role.READ)
    before = os.stat(path)
    assert find_key(reader.records(), first_key) is not None

    writer.revoke("aaaa")
    second_key, _ = writer.create("aaaa", Role.READ)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    assert os.stat(path).st_size == before.st_size
    assert find_key(reader.records(), first_key) is None
    assert find_key(reader.records(), second_key) is not None
