"""The dashboard under `/ui/`: a static page (api/static/ui: HTML, ES modules, CSS;
no build step, no CDN) that reads the API from the browser, and its sign-in.

Signing in turns an API key into an HttpOnly session cookie (api.auth.sessions),
which the API accepts for GET requests only: `/ui/?token=KEY` (the link
`folio up` prints) or the sign-in form's POST to `/ui/session`. Either answers
303 to `/ui/`, so the key never stays in the address bar or the history. The
page and its assets are open (they hold no data); every figure on it comes
from the API with the cookie. With auth off the page is served as
`<body data-auth="off">` and shows no "Sign out".
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth.sessions import SESSION_COOKIE, SESSION_SECONDS
from api.errors import InvalidParameter, Unauthenticated

UI_PATH = "/ui"
ASSETS_PATH = f"{UI_PATH}/assets"
ASSETS_DIR = Path(__file__).parent / "static" / "ui"
SIGN_IN_FAILED = f"{UI_PATH}/?signin=failed"

router = APIRouter(include_in_schema=False)


def _to_dashboard(location: str = f"{UI_PATH}/") -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _signed_in(request: Request, key: str) -> RedirectResponse:
    authenticator = request.app.state.resources.authenticator
    if not authenticator.enabled:  # FOLIO_AUTH=off: nothing to sign in to
        return _to_dashboard()
    try:
        session = authenticator.sign_in(key)
    except Unauthenticated:
        return _to_dashboard(SIGN_IN_FAILED)
    answer = _to_dashboard()
    answer.set_cookie(SESSION_COOKIE, session, max_age=SESSION_SECONDS, path="/", httponly=True,
                      samesite="strict", secure=request.url.scheme == "https")
    return answer


def _cross_site(request: Request) -> bool:
    """Sent from another site's page, as the browser says (`Sec-Fetch-Site`), or as its
    `Origin` says. Under `Referrer-Policy: no-referrer` a browser's own form posts
    `Origin: null`, which says nothing either way."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return bool(origin) and origin != "null" and urlsplit(origin).netloc != request.url.netloc


@router.get(f"{UI_PATH}/")
async def dashboard(request: Request) -> Response:
    token = request.query_params.get("token")
    if token is not None:
        return _signed_in(request, token)
    page = (ASSETS_DIR / "index.html").read_text()
    if not request.app.state.resources.authenticator.enabled:
        # FOLIO_AUTH=off: no session to end, so the page hides "Sign out" (app.js reads this).
        page = page.replace("<body>", '<body data-auth="off">', 1)
    return HTMLResponse(page)


@router.post(f"{UI_PATH}/session")
async def sign_in(request: Request) -> Response:
    """The sign-in form: `key=...` as application/x-www-form-urlencoded."""
    if _cross_site(request):
        # Another site's form must not sign this browser in under a key of its choosing.
        return _to_dashboard(SIGN_IN_FAILED)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if not form.get("key"):
        raise InvalidParameter("body", "key", "the sign-in form needs the API key in 'key'")
    return _signed_in(request, form["key"][0])


@router.post(f"{UI_PATH}/sign-out")
async def sign_out() -> Response:
    answer = _to_dashboard()
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return answer
