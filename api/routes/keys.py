"""GET/POST /keys, DELETE /keys/{name}: the API keys file over HTTP (admins only).

The same file `folio keys` manages (api.auth.api_keys.KeyFile); the API
re-reads it on change, so a created or revoked key counts from the next
request. Keys from FOLIO_API_KEYS are not in the file and not listed here.
Creations and revocations are audited with the key's name, never the key.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from api import audit
from api.auth.api_keys import NAME_PATTERN, KeyFile, KeyRecord
from api.auth.deps import Admin
from api.auth.principal import Role
from api.deps import DatabaseDep, ResourcesDep, json_body_only
from api.errors import Conflict, NotFound
from api.models import KeyCreate, KeyCreated, KeyOut, KeysOut

router = APIRouter(prefix="/keys", tags=["keys"])
KeyName = Annotated[str, Path(pattern=NAME_PATTERN)]
_NO_FILE = {409: {"description": "no keys file is configured (FOLIO_API_KEYS_FILE), or the name is taken"}}


def _key_file(resources: ResourcesDep) -> KeyFile:
    found = resources.authenticator.key_file
    if found is None:
        raise Conflict("no keys file is configured: set FOLIO_API_KEYS_FILE (or run under `folio up`, which "
                       "keeps one in its data dir)")
    return found


def _out(record: KeyRecord) -> KeyOut:
    return KeyOut(**record.describe())


@router.get("", responses=_NO_FILE)
async def read_keys(resources: ResourcesDep) -> KeysOut:
    return KeysOut(items=[_out(r) for r in _key_file(resources).records()])


@router.post("", status_code=201, responses=_NO_FILE, dependencies=[Depends(json_body_only)])
async def create_key(body: KeyCreate, request: Request, resources: ResourcesDep, database: DatabaseDep,
                     caller: Admin) -> KeyCreated:
    """Make a key; the answer shows it this once (only its hash is stored)."""
    portfolios = frozenset(body.portfolios) if body.portfolios is not None else None
    try:
        key, record = _key_file(resources).create(body.name, Role.parse(body.role), portfolios)
    except ValueError as exc:  # the name is taken (its form was checked with the body)
        raise Conflict(str(exc)) from None
    audited = await audit.record(database, audit.request_entry(
        request, caller, audit.KEYS_CREATE, [record.name], audit.key_detail(record)))
    return KeyCreated(**record.describe(), key=key, audited=audited)


@router.delete("/{name}", status_code=204, responses={404: {"description": "no key of that name"}, **_NO_FILE})
async def revoke_key(name: KeyName, request: Request, resources: ResourcesDep, database: DatabaseDep,
                     caller: Admin) -> Response:
    revoked = _key_file(resources).revoke(name)
    if revoked is None:
        raise NotFound(f"no key named {name!r}")
    audited = await audit.record(database, audit.request_entry(request, caller, audit.KEYS_REVOKE, [name]))
    # 204 has no body: whether the revocation was audited travels in a header.
    return Response(status_code=204, headers={"Folio-Audited": str(audited).lower()})
