"""Dashboard sessions (api.auth.sessions): a value only the key's own record verifies, until it expires."""
from __future__ import annotations

import pytest

from api.auth.api_keys import KeyRecord
from api.auth.principal import Role
from api.auth.sessions import issue_session, verify_session

NOW = 1_800_000_000.0


def record(name: str = "ops.alice@example", key: str = "folio_k") -> KeyRecord:
    return KeyRecord.of(key, name, Role.READ)


def test_a_session_verifies_to_its_own_record_until_it_expires():
    alice = record()
    session = issue_session(alice, NOW, seconds=60)

    assert session.startswith("ops.alice@example.1800000060.")  # a name with dots reads back whole
    assert verify_session([record("bob"), alice], session, NOW + 59) is alice
    assert verify_session([alice], session, NOW + 60) is None


def test_the_same_name_with_another_salt_and_hash_does_not_verify_it():
    session = issue_session(record(), NOW)

    assert verify_session([record()], session, NOW) is None  # same key text, a fresh salt: a new record


@pytest.mark.parametrize("value", ["", ".", "..", "alice", "alice..", "alice.x.y", ".1800000060.00",
                                   "alice.99999999999999999999.00", "alice.-5.00", "a\x00.1800000060.00"])
def test_a_malformed_value_verifies_to_nothing_and_never_raises(value):
    assert verify_session([record("alice")], value, NOW) is None
