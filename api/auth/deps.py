"""The routes' view of access control: who is calling, and may they.

- `CurrentPrincipal`: the caller (401 with a Bearer challenge when there is
  none). Credentials come as `Authorization: Bearer …` or `X-API-Key: …`;
  both appear as security schemes in the OpenAPI document. A GET (or HEAD)
  without either may present the dashboard's session cookie instead
  (api.auth.sessions): a browser sends cookies by itself, so a write must
  always name its credential in a header (no cross-site request forgery).
- `require_read`, `require_write`, `require_admin`: 403 below that role;
  routers are included with one of them (api.routes).
- `ops_access("ready" | "metrics")`: the configurable guard of /health/ready
  and /metrics.
Portfolio scope is applied where the portfolio id is read (api.deps).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth.principal import Principal, Role
from api.auth.sessions import SESSION_COOKIE
from api.errors import Forbidden

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer",
                           description="an API key (`folio keys create`) or a JWT from the identity provider")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                              description="an API key (`folio keys create`)")


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    api_key: Annotated[str | None, Security(api_key_scheme)],
) -> Principal:
    authenticator = request.app.state.resources.authenticator
    credential = bearer.credentials if bearer else api_key
    session = request.cookies.get(SESSION_COOKIE)
    if credential is None and session and request.method in ("GET", "HEAD"):
        principal = await authenticator.authenticate_session(session)
    else:
        principal = await authenticator.authenticate(credential)
    request.state.principal = principal  # for the audit log and the access log
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.may(role):
            raise Forbidden(f"this needs the {role} role; these credentials have {principal.role}")
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


require_read = _require(Role.READ)
require_write = _require(Role.WRITE)
require_admin = _require(Role.ADMIN)

Reader = Annotated[Principal, Depends(require_read)]
Writer = Annotated[Principal, Depends(require_write)]
Admin = Annotated[Principal, Depends(require_admin)]


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ops_access(kind: str) -> Callable[..., Awaitable[None]]:
    """/health/ready and /metrics: open, open on loopback (default), or any valid credential."""

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        api_key: Annotated[str | None, Security(api_key_scheme)],
    ) -> None:
        settings = request.app.state.resources.authenticator.settings
        access = getattr(settings, f"{kind}_access")
        if access == "open" or (access == "loopback" and _is_loopback(request)):
            return
        await current_principal(request, bearer, api_key)

    dependency.__name__ = f"{kind}_access"
    return dependency
