"""JWT bearer tokens from an identity provider, checked with PyJWT (no crypto here).

A token is accepted only if its signature verifies with the configured key
(HS256 secret, or the JWKS key its `kid` names), its algorithm is one this
configuration allows (so `alg: none` and HS256-signed-with-the-public-key
never pass), `iss` and `aud` are the configured ones, and `exp` (required)
and `nbf` hold. The role comes from the scope claim (`folio:read`,
`folio:write`, `folio:admin`; the highest wins), the portfolio scope from the
portfolios claim (absent: every portfolio), the subject from `sub`.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import jwt

from api.auth.principal import Principal, Role

SCOPE_ROLES = {"folio:read": Role.READ, "folio:write": Role.WRITE, "folio:admin": Role.ADMIN}


class TokenRejected(Exception):
    """The token proves nothing (bad signature, expired, wrong audience...): a 401."""


class TokenWithoutRole(Exception):
    """A valid token that grants no Folio role: a 403."""


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audience: str
    secret: str | None = None        # HS256
    jwks_file: Path | None = None    # RS256 / ES256 keys, read once
    jwks_url: str | None = None      # RS256 / ES256 keys, fetched and cached
    algorithms: tuple[str, ...] = ()
    scope_claim: str = "scope"
    portfolios_claim: str = "portfolios"
    leeway: float = 30.0

    def allowed_algorithms(self) -> list[str]:
        if self.algorithms:
            return list(self.algorithms)
        return ["HS256"] if self.secret else ["RS256", "ES256"]


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        sources = [s for s in (settings.secret, settings.jwks_file, settings.jwks_url) if s]
        if len(sources) != 1:
            raise ValueError("JWT: set exactly one of FOLIO_JWT_SECRET, FOLIO_JWT_JWKS_FILE, FOLIO_JWT_JWKS_URL")
        if "none" in (a.lower() for a in settings.allowed_algorithms()):
            raise ValueError("JWT: algorithm 'none' is never allowed")
        self.settings = settings
        self._jwks = jwt.PyJWKSet.from_json(Path(settings.jwks_file).read_text()) if settings.jwks_file else None
        self._jwks_client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None

    async def verify(self, token: str) -> Principal:
        key = await self._signing_key(token)
        s = self.settings
        try:
            claims = jwt.decode(token, key=key, algorithms=s.allowed_algorithms(), audience=s.audience,
                                issuer=s.issuer, leeway=s.leeway,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token: {exc}") from None
        return self._principal(claims)

    async def _signing_key(self, token: str) -> object:
        if self.settings.secret:
            return self.settings.secret
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token: {exc}") from None
        if self._jwks_client is not None:
            try:
                return (await asyncio.to_thread(self._jwks_client.get_signing_key_from_jwt, token)).key
            except jwt.PyJWTError as exc:
                raise TokenRejected(f"invalid token: {exc}") from None
        assert self._jwks is not None
        candidates = [k for k in self._jwks.keys if kid is None or k.key_id == kid]
        if not candidates:
            raise TokenRejected("invalid token: no key with its kid in the JWKS")
        return candidates[0].key

    def _principal(self, claims: dict) -> Principal:
        scopes = claims.get(self.settings.scope_claim, "")
        scopes = scopes.split() if isinstance(scopes, str) else [str(s) for s in scopes or ()]
        roles = [SCOPE_ROLES[s] for s in scopes if s in SCOPE_ROLES]
        if not roles:
            raise TokenWithoutRole(f"the token's {self.settings.scope_claim!r} claim grants no folio:read, "
                                   "folio:write or folio:admin")
        portfolios = claims.get(self.settings.portfolios_claim)
        if isinstance(portfolios, str):
            portfolios = portfolios.replace(",", " ").split()
        scope = frozenset(str(p) for p in portfolios) if portfolios is not None else None
        return Principal(subject=str(claims["sub"]), role=max(roles), portfolios=scope, method="jwt")
