"""One OpenAPI document for API v1, merged from the per-function documents Powertools
generates (each ``functions/*/app.py`` has its own resolver ``app``).

``python -m tools.local.openapi`` prints it; the local server serves it at ``GET /openapi.json``;
the reliability suite fuzzes the API against it (schemathesis).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tools.local import lambdas, template

TITLE = "Gamification engine API"
VERSION = "1.0.0"


def _app_of(fn: template.Function) -> Any:
    """The Powertools resolver of one function (``app`` next to its handler), or None."""
    return getattr(lambdas.load_module(fn), "app", None)


def merged_document(table_name: str = "openapi-only") -> dict[str, Any]:
    """The API's OpenAPI 3 document: every HTTP function's paths and components, plus the
    Bearer scheme the gateway's authorizer expects."""
    functions = template.functions(table_name)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
    for fn in sorted(functions.values(), key=lambda f: f.logical_id):
        if not fn.routes:
            continue
        app = _app_of(fn)
        if app is None:
            continue
        part = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
        for path, item in part.get("paths", {}).items():
            doc["paths"].setdefault(path, {}).update(item)
        for name, schema in part.get("components", {}).get("schemas", {}).items():
            known = doc["components"]["schemas"].get(name)
            if known is not None and known != schema:
                raise ValueError(f"two functions define different OpenAPI schemas named {name}")
            doc["components"]["schemas"][name] = schema
    return doc


def main() -> int:
    print(json.dumps(merged_document(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
