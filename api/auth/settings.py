"""Access control's configuration, read from the environment.

- `FOLIO_AUTH`: `on` (default) or `off` (every request is an anonymous admin).
- `FOLIO_API_KEYS_FILE`: the keys file (`folio keys`; default
  `<FOLIO_DATA_DIR>/api-keys.json`, see folio.config); `FOLIO_API_KEYS`:
  `key=role[:P1|P2]`, comma-separated (see api.auth.api_keys).
- `FOLIO_JWT_ISSUER`, `FOLIO_JWT_AUDIENCE` and one of `FOLIO_JWT_SECRET`
  (HS256), `FOLIO_JWT_JWKS_FILE`, `FOLIO_JWT_JWKS_URL` (RS256/ES256) turn on
  JWTs; `FOLIO_JWT_ALGORITHMS` (comma-separated) narrows the algorithms,
  `FOLIO_JWT_SCOPE_CLAIM` (default `scope`) and `FOLIO_JWT_PORTFOLIOS_CLAIM`
  (default `portfolios`) name the claims, `FOLIO_JWT_LEEWAY` (seconds, 30).
- `FOLIO_READY_ACCESS`, `FOLIO_METRICS_ACCESS`: `open`, `loopback` (default:
  open to callers on 127.0.0.1/::1, a key with any role elsewhere) or `auth`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from api.auth.tokens import JwtSettings
from folio.config import load_settings

OpsAccess = Literal["open", "loopback", "auth"]
_OPS = ("open", "loopback", "auth")


@dataclass(frozen=True)
class AuthSettings:
    enabled: bool = True
    api_keys: str | None = None          # FOLIO_API_KEYS, as written
    keys_file: Path | None = None
    jwt: JwtSettings | None = None
    ready_access: OpsAccess = "loopback"
    metrics_access: OpsAccess = "loopback"

    @classmethod
    def off(cls) -> AuthSettings:
        return cls(enabled=False)

    @classmethod
    def from_env(cls) -> AuthSettings:
        env = os.environ
        folio = load_settings()
        jwt = None
        if any(env.get(f"FOLIO_JWT_{n}") for n in ("SECRET", "JWKS_FILE", "JWKS_URL")):
            issuer, audience = env.get("FOLIO_JWT_ISSUER"), env.get("FOLIO_JWT_AUDIENCE")
            if not issuer or not audience:
                raise ValueError("JWT: FOLIO_JWT_ISSUER and FOLIO_JWT_AUDIENCE are required with a JWT key")
            jwt = JwtSettings(
                issuer=issuer, audience=audience, secret=env.get("FOLIO_JWT_SECRET") or None,
                jwks_file=Path(env["FOLIO_JWT_JWKS_FILE"]) if env.get("FOLIO_JWT_JWKS_FILE") else None,
                jwks_url=env.get("FOLIO_JWT_JWKS_URL") or None,
                algorithms=tuple(a.strip() for a in env.get("FOLIO_JWT_ALGORITHMS", "").split(",") if a.strip()),
                scope_claim=env.get("FOLIO_JWT_SCOPE_CLAIM", "scope"),
                portfolios_claim=env.get("FOLIO_JWT_PORTFOLIOS_CLAIM", "portfolios"),
                leeway=float(env.get("FOLIO_JWT_LEEWAY", "30")))
        access = {}
        for name in ("READY", "METRICS"):
            value = env.get(f"FOLIO_{name}_ACCESS", "loopback").strip().lower()
            if value not in _OPS:
                raise ValueError(f"FOLIO_{name}_ACCESS={value!r}: expected open, loopback or auth")
            access[name.lower() + "_access"] = value
        return cls(enabled=folio.auth_enabled, api_keys=env.get("FOLIO_API_KEYS") or None,
                   keys_file=folio.keys_file, jwt=jwt, **access)
