"""Security headers on every answer, errors included.

A pure ASGI middleware (not BaseHTTPMiddleware): it only adds headers to
`http.response.start`, so streaming answers stream as before. JSON answers
get a Content-Security-Policy that allows nothing at all; the offline docs
page and its assets get one that allows same-origin scripts and styles only
(Swagger UI sets inline styles, never inline scripts: api.docs). The
dashboard (api.ui) has neither inline scripts nor inline styles, so its policy
refuses both; its page is never cached (a redirect there sets the session).
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = (b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            b"connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
UI_CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# Pages and their assets may be cached; API answers (portfolio data) never.
PAGE_PREFIXES = ("/docs", "/static/")
UI_ASSETS = "/ui/assets/"


def policy(path: str) -> tuple[bytes, bool]:
    """(Content-Security-Policy, whether the answer may be cached) for a request path."""
    if path.startswith(PAGE_PREFIXES):
        return PAGE_CSP, True
    if path == "/ui" or path.startswith("/ui/"):
        return UI_CSP, path.startswith(UI_ASSETS)
    return API_CSP, False


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp, cacheable = policy(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in COMMON if h[0] not in present]
                extra.append((b"content-security-policy", csp))
                if not cacheable and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
