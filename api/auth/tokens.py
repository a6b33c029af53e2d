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
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token: {exc}") from None
        kid, alg = header.get("kid"), header.get("alg")
        if self._jwks_client is not None:
            try:
                found = await asyncio.to_thread(self._jwks_client.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as exc:
                raise TokenRejected(f"invalid token: {exc}") from None
            if found.algorithm_name != alg:
                raise TokenRejected("invalid token: its algorithm is not its key's")
            return found.key
        assert self._jwks is not None
        # The key must be one of the token's algorithm: an ES256 header naming an RSA key
        # would otherwise reach PyJWT as a key of the wrong type (a TypeError, not a 401).
        candidates = [k for k in self._jwks.keys if (kid is None or k.key_id == kid) and k.algorithm_name == alg]
        if not candidates:
            raise TokenRejected("invalid token: no key with its kid and algorithm in the JWKS")
        return candidates[0].key

    def _principal(self, claims: dict) -> Principal:
        scopes = _words(claims.get(self.settings.scope_claim, ""), self.settings.scope_claim)
        if not isinstance(claims["sub"], str):
            raise TokenRejected("invalid token: 'sub' is not a string")
        roles = [SCOPE_ROLES[s] for s in scopes if s in SCOPE_ROLES]
        if not roles:
            raise TokenWithoutRole(f"the token's {self.settings.scope_claim!r} claim grants no folio:read, "
                                   "folio:write or folio:admin")
        portfolios = claims.get(self.settings.portfolios_claim)
        if isinstance(portfolios, str):
            portfolios = portfolios.replace(",", " ")
        scope = frozenset(_words(portfolios, self.settings.portfolios_claim)) if portfolios is not None else None
        return Principal(subject=claims["sub"], role=max(roles), portfolios=scope, method="jwt")


def _words(value: object, claim: str) -> list[str]:
    """A space-separated string or a list of strings. Anything else is refused rather than
    guessed at: iterating a dict claim `{"folio:admin": false}` would grant admin."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TokenRejected(f"invalid token: claim {claim!r} is neither a string nor a list of strings")
