"""API keys: made once, stored only as salted hashes, checked in constant time.

A key is 256 random bits, so a fast salted SHA-256 is as safe to store as a
slow password hash would be (there is nothing to guess) and costs a
microsecond per check. Two sources, both read by the API:

- the keys file (`FOLIO_API_KEYS_FILE`, JSON, owner-only), managed by
  `folio keys create|list|revoke`; the API re-reads it when it changes, so a
  revoke takes effect at the next request;
- `FOLIO_API_KEYS`: `key=role` or `key=role:P1|P2`, comma-separated, for
  quick setups and tests. Such a key's name is `env-` and the first 8 hex
  digits of its SHA-256 (a fingerprint, never the key).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from api.auth.principal import Principal, Role

KEY_PREFIX = "folio_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _digest(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class KeyRecord:
    """One stored key: never the key itself."""

    name: str
    role: Role
    portfolios: frozenset[str] | None
    salt: bytes
    digest: bytes
    created_at: str = ""

    @classmethod
    def of(cls, key: str, name: str, role: Role, portfolios: frozenset[str] | None = None,
           created_at: str = "") -> KeyRecord:
        salt = secrets.token_bytes(16)
        return cls(name, role, portfolios, salt, _digest(salt, key), created_at)

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(_digest(self.salt, key), self.digest)

    def principal(self) -> Principal:
        return Principal(subject=self.name, role=self.role, portfolios=self.portfolios, method="api_key")

    def to_json(self) -> dict:
        return {"name": self.name, "role": str(self.role),
                "portfolios": sorted(self.portfolios) if self.portfolios is not None else None,
                "salt": self.salt.hex(), "sha256": self.digest.hex(), "created_at": self.created_at}

    @classmethod
    def from_json(cls, data: dict) -> KeyRecord:
        portfolios = data.get("portfolios")
        return cls(name=str(data["name"]), role=Role.parse(data["role"]),
                   portfolios=frozenset(portfolios) if portfolios is not None else None,
                   salt=bytes.fromhex(data["salt"]), digest=bytes.fromhex(data["sha256"]),
                   created_at=str(data.get("created_at", "")))

    def describe(self) -> dict:
        """What `folio keys list` shows: everything but salt and hash."""
        data = self.to_json()
        del data["salt"], data["sha256"]
        return data


def find_key(records: list[KeyRecord], key: str) -> KeyRecord | None:
    """The record `key` belongs to. Every record is checked, found or not, so
    the time taken says nothing about which record (or how many) matched."""
    found = None
    for record in records:
        if record.matches(key) and found is None:
            found = record
    return found


def parse_env_keys(text: str) -> list[KeyRecord]:
    """`key=role` or `key=role:P1|P2`, comma-separated; ValueError names the bad entry by position."""
    records = []
    for index, entry in enumerate(part.strip() for part in text.split(",")):
        if not entry:
            continue
        key, sep, grant = entry.rpartition("=")
        if not sep or not key:
            raise ValueError(f"FOLIO_API_KEYS entry {index + 1}: expected key=role or key=role:P1|P2")
        role_text, _, scope = grant.partition(":")
        try:
            role = Role.parse(role_text)
        except ValueError as exc:
            raise ValueError(f"FOLIO_API_KEYS entry {index + 1}: {exc}") from None
        portfolios = frozenset(p for p in scope.split("|") if p) if scope else None
        name = "env-" + hashlib.sha256(key.encode()).hexdigest()[:8]
        records.append(KeyRecord.of(key, name, role, portfolios))
    return records


def parse_portfolios(text: str | None) -> frozenset[str] | None:
    """`P1,P2` (the CLI's form) → a scope; None or empty → every portfolio."""
    if not text:
        return None
    return frozenset(p.strip() for p in text.split(",") if p.strip())


class KeyFile:
    """The keys file: `{"keys": [record, ...]}`, written atomically, mode 0600.

    `records()` parses it again only when its content changed, so the API
    can call it on every request.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._seen: bytes | None = None
        self._records: list[KeyRecord] = []

    def records(self) -> list[KeyRecord]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._seen, self._records = None, []
            return []
        # Compared by content, not by mtime and size: a revoke and a create within one
        # tick of a coarse clock can leave both as they were (and even reuse the inode).
        # The file is a few kilobytes; reading it per request costs microseconds.
        if self._seen != raw:
            data = json.loads(raw)
            self._records = [KeyRecord.from_json(item) for item in data.get("keys", [])]
            self._seen = raw
        return self._records

    def create(self, name: str, role: Role, portfolios: frozenset[str] | None = None) -> tuple[str, KeyRecord]:
        """A new key (returned once, never stored) and its record (stored)."""
        if not re.match(NAME_PATTERN, name):
            raise ValueError(f"key name {name!r}: 1-64 of letters, digits and . _ @ -, starting with a letter or digit")
        records = list(self.records())
        if any(r.name == name for r in records):
            raise ValueError(f"a key named {name!r} exists already (revoke it first)")
        key = generate_key()
        record = KeyRecord.of(key, name, role, portfolios, datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self._write(records + [record])
        return key, record

    def revoke(self, name: str) -> KeyRecord | None:
        records = list(self.records())
        kept = [r for r in records if r.name != name]
        if len(kept) == len(records):
            return None
        self._write(kept)
        return next(r for r in records if r.name == name)

    def _write(self, records: list[KeyRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys-", suffix=".json")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"keys": [r.to_json() for r in records]}, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._seen = None


def describe(records: list[KeyRecord]) -> list[dict]:
    return [r.describe() for r in records]


__all__ = ["KeyFile", "KeyRecord", "find_key", "generate_key", "parse_env_keys", "parse_portfolios", "describe"]
