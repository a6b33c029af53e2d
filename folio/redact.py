"""Secrets never reach a log line or a banner: one place that knows what they look like.

API keys (`folio_…`), bearer credentials, JWTs, URL passwords (a
`DATABASE_URL` with one) and secret-looking query values (`?token=`, `key`,
`api_key`, `access_token`, `password`) are masked with `***`. The log
formatters (folio.logs) pass every line through `redact_text`.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_PATTERNS = (
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"), r"\g<1>" + MASK),
    (re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"), r"\g<1>" + MASK),
    (re.compile(r"\bfolio_[A-Za-z0-9_-]{16,}"), "folio_" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "eyJ" + MASK),
    (re.compile(r"(?i)([?&](?:token|key|api_key|access_token|password)=)[^&\s\"']+"), r"\g<1>" + MASK),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/?#@\s]+:)[^@/\s]+@"), r"\g<1>" + MASK + "@"),
)


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """The URL with its password (if any) masked: `postgresql://folio:***@db/folio`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))
