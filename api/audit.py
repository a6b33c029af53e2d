"""The audit recorder: every accepted write leaves one row in `audit_log`
(ingest, dead-letter redrive, key changes; through the API or the CLI).

The row is written after the write succeeded (only accepted writes count).
When PostgreSQL cannot take it (down, not configured, not migrated) the write
stands and the record is not lost: the whole entry goes to the `folio.audit`
logger as one WARNING line (`audit record not stored (...): {json}`), and the
answer says `"audited": false`. Refusing with 503 at that point would tell the
caller a write failed that is already on the broker (a retry would send it
twice); refusing before publishing would make PostgreSQL a dependency of
ingestion, which Folio deliberately avoids (the broker makes events durable;
see api.routes.ingest). An operator alerts on `folio.audit` warnings and
re-inserts the logged records.
"""
from __future__ import annotations

import asyncio
import getpass
import logging
import socket
from typing import Any

from fastapi import Request

from api.auth.api_keys import KeyRecord
from api.auth.principal import Principal
from api.db import DATABASE_ERRORS, Database
from api.queries.audit import AuditEntry, record_audit

log = logging.getLogger("folio.audit")

# Actions (the audit log's `action` column).
INGEST = "ingest"
REDRIVE = "dead_letters.redrive"
KEYS_CREATE = "keys.create"
KEYS_REVOKE = "keys.revoke"


def request_entry(request: Request, principal: Principal, action: str, ids: list[Any],
                  detail: dict[str, Any] | None = None) -> AuditEntry:
    """An entry for an API request. The client is the TCP peer: X-Forwarded-For
    is not trusted (the API is run with uvicorn's proxy headers off)."""
    return AuditEntry(
        actor=principal.subject, auth_method=principal.method, role=str(principal.role), action=action,
        endpoint=f"{request.method} {request.url.path}", item_count=len(ids), ids=ids,
        client=request.client.host if request.client else None, detail=detail)


def cli_entry(action: str, command: str, ids: list[Any], detail: dict[str, Any] | None = None) -> AuditEntry:
    """An entry for a `folio` command: the OS user who ran it, on this host
    (whoever can run it can write the keys file: an admin)."""
    return AuditEntry(actor=f"cli:{getpass.getuser()}", auth_method="cli", role="admin", action=action,
                      endpoint=command, item_count=len(ids), ids=ids, client=f"local:{socket.gethostname()}",
                      detail=detail)


def key_detail(record: KeyRecord) -> dict[str, Any]:
    """What a key's creation records besides its name (never the key, salt or hash)."""
    described = record.describe()
    return {"role": described["role"], "portfolios": described["portfolios"]}


async def record(database: Database, entry: AuditEntry) -> bool:
    """Store the entry; False (and the entry logged on `folio.audit`) when PostgreSQL cannot take it."""
    try:
        async with asyncio.timeout(database.timeout), database.session() as session:
            await record_audit(session, entry)
        return True
    except DATABASE_ERRORS as exc:
        log.warning("audit record not stored (%s): %s", type(exc).__name__, entry.as_json())
        return False


async def record_with(database_url: str | None, entry: AuditEntry) -> bool:
    """`record` on a database of its own (for the CLI), closed afterwards."""
    database = Database(database_url)
    try:
        return await record(database, entry)
    finally:
        await database.dispose()


def record_command(database_url: str | None, entry: AuditEntry) -> str:
    """For a `folio` command: store the entry; the sentence telling its user whether it was."""
    if not database_url:
        return "not audited: DATABASE_URL is not set"
    if asyncio.run(record_with(database_url, entry)):
        return "audited (GET /audit)"
    return "NOT audited: PostgreSQL could not take the record (logged on folio.audit)"
