"""Swagger UI for the local API server: ``GET /docs`` (the page) and ``GET /docs/<asset>``
(its scripts and styles), over the merged document at ``/openapi.json``. Offline: the assets
come from the npm package ``swagger-ui-dist`` that ``make swagger-ui`` (run by ``make run``)
installs under ``.local/swagger-ui/``; no CDN is contacted.

Powertools' own ``enable_swagger`` serves one resolver's document; the API's document is
merged across functions (tools/local/openapi.py), so the page is served here instead.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The installed package (override with ``SWAGGER_UI_DIST``).
DIST = Path(os.environ.get("SWAGGER_UI_DIST") or ROOT / ".local/swagger-ui/node_modules/swagger-ui-dist")
DOCS_PATH = "/docs"
#: The only files the page loads (served from DIST).
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Gamification engine API v1</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    });
  </script>
</body>
</html>
"""

MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Swagger UI not installed</title></head>
<body><p>Swagger UI's assets are not installed: run <code>make swagger-ui</code> (needs npm),
then reload. The OpenAPI document itself is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>
"""


def installed() -> bool:
    return all((DIST / name).is_file() for name in ASSETS)


def serve(path: str) -> tuple[int, dict[str, str], bytes] | None:
    """The response for ``GET path`` under ``/docs``, or None when ``path`` is not ours."""
    if path.rstrip("/") == DOCS_PATH:
        if not installed():
            return 503, {"content-type": "text/html; charset=utf-8"}, MISSING.encode()
        return 200, {"content-type": "text/html; charset=utf-8"}, PAGE.encode()
    name = path.removeprefix(DOCS_PATH + "/")
    if path.startswith(DOCS_PATH + "/") and name in ASSETS:
        file = DIST / name
        if not file.is_file():
            return 404, {"content-type": "text/plain"}, b"not installed: run make swagger-ui\n"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return 200, {"content-type": kind, "cache-control": "max-age=3600"}, file.read_bytes()
    return None
