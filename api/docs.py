"""`/docs` without a network: Swagger UI served from Folio (api/static), never a CDN.

The page, its assets and `/openapi.json` are open: they describe the
contract, hold no portfolio data, and a user needs them to paste a key into
"Authorize". The page loads only same-origin scripts (no inline script), so
its Content-Security-Policy can stay strict (api.security_headers).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

SWAGGER_UI_VERSION = "5.35.0"  # api/static/swagger-ui/VENDORED.md
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"

router = APIRouter(include_in_schema=False)

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Folio API</title>
  <link rel="icon" type="image/png" href="{STATIC_PATH}/swagger-ui/favicon-32x32.png">
  <link rel="stylesheet" href="{STATIC_PATH}/swagger-ui/swagger-ui.css?v={SWAGGER_UI_VERSION}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{STATIC_PATH}/swagger-ui/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}"></script>
  <script src="{STATIC_PATH}/docs-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
async def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)
