"""Tokens made in the tests: keys generated here, signed with PyJWT (no crypto of our own)."""
from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt

ISSUER = "https://idp.example"
AUDIENCE = "folio"
SECRET = "s3cret-for-tests-only-0123456789abcdef"


def claims(scope: Any = "folio:read", *, sub: str = "alice", ttl: float = 600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + int(ttl), "scope": scope}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any]) -> str:
    """An `alg: none` token, written by hand: header.payload. with an empty signature."""
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."
