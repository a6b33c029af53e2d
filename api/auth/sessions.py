"""Dashboard sessions: what a browser holds in a cookie after signing in with an API key.

The cookie is `<key name>.<expires>.<mac>`: the MAC is HMAC-SHA256 over the
name and expiry, keyed by the key record's stored salt and hash. So

- the key itself never sits in the browser (a stolen cookie is not the key:
  the API accepts it for reads only, until it expires);
- no secret of its own is needed: the keys file (owner-only) already holds one
  per key, shared by every API process that reads the file, so sessions
  survive an API restart;
- revoking the key ends its sessions at once (its record is gone), and a new
  key under the same name does not revive them (its salt and hash differ).
  A `FOLIO_API_KEYS` key gets a fresh salt at each API start, so its sessions
  end with the process.
"""
from __future__ import annotations

import hashlib
import hmac

from api.auth.api_keys import KeyRecord

SESSION_COOKIE = "folio_session"
SESSION_SECONDS = 8 * 3600


def _mac(record: KeyRecord, expires: int) -> str:
    message = b"folio-dashboard-session\0" + record.name.encode() + b"\0" + str(expires).encode()
    return hmac.new(record.salt + record.digest, message, hashlib.sha256).hexdigest()


def issue_session(record: KeyRecord, now: float, seconds: int = SESSION_SECONDS) -> str:
    expires = int(now) + seconds
    return f"{record.name}.{expires}.{_mac(record, expires)}"


def verify_session(records: list[KeyRecord], value: str, now: float) -> KeyRecord | None:
    """The record a live, untampered session belongs to; None otherwise."""
    rest, _, mac = value.rpartition(".")
    name, _, expires_text = rest.rpartition(".")
    if not name or not expires_text.isdigit() or len(expires_text) > 12:
        return None
    expires = int(expires_text)
    if expires <= now:
        return None
    found = None
    for record in records:  # every record with the name is checked (env and file keys may share one)
        if record.name == name and hmac.compare_digest(_mac(record, expires), mac) and found is None:
            found = record
    return found
