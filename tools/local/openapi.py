"""One OpenAPI document for API v1, merged from the per-function documents Powertools
generates (each ``functions/*/app.py`` has its own resolver ``app``).

``python -m tools.local.openapi`` prints it (``--write``: docs/openapi.json, bundled rules); the
local server serves it at ``GET /openapi.json`` and Swagger UI at ``/docs``;
the reliability suite fuzzes the API against it (schemathesis).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

from tools.local import lambdas, template

TITLE = "Gamification engine API"
VERSION = "1.0.0"


def _app_of(fn: template.Function) -> Any:
    """The Powertools resolver of one function (``app`` next to its handler), or None."""
    return getattr(lambdas.load_module(fn), "app", None)


def merged_document(table_name: str = "openapi-only", rules: Any = None) -> dict[str, Any]:
    """The API's OpenAPI 3 document: every HTTP function's paths and components, plus the
    Bearer scheme the gateway's authorizer expects, specialised to ``rules`` (default: the
    rules file the process loads, ``GAMIFICATION_RULES_FILE`` or the bundled rules) by
    tools/local/apidocs.py: names as enums, per-name bodies, descriptions, shared errors."""
    from tools.local import apidocs

    functions = template.functions(table_name)
    descriptions: dict[tuple[str, str], str] = {}
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
        module_doc = inspect.getdoc(lambdas.load_module(fn)) or ""
        for path, item in part.get("paths", {}).items():
            doc["paths"].setdefault(path, {}).update(item)
            descriptions.update({(method, path): module_doc for method in item})
        for name, schema in part.get("components", {}).get("schemas", {}).items():
            known = doc["components"]["schemas"].get(name)
            if known is not None and known != schema:
                raise ValueError(f"two functions define different OpenAPI schemas named {name}")
            doc["components"]["schemas"][name] = schema
    return apidocs.apply(doc, rules if rules is not None else _loaded_rules(), descriptions)


def _loaded_rules() -> Any:
    lambdas.use_layer()
    from gamification.domain.rules import load_rules

    return load_rules(os.environ.get("GAMIFICATION_RULES_FILE") or None)  # as the functions do


#: The committed document (bundled default rules), kept in step by tests/unit/test_openapi.py.
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.local.openapi`` prints the document for the rules the stack would
    load; ``--write`` rewrites docs/openapi.json from the bundled default rules (``make openapi``)."""
    args = sys.argv[1:] if argv is None else argv
    if "--write" in args:
        lambdas.use_layer()
        from gamification.domain.rules import load_rules

        COMMITTED.write_text(render(merged_document(rules=load_rules(None))))
        print(f"wrote {COMMITTED.relative_to(COMMITTED.parents[1])}")
        return 0
    sys.stdout.write(render(merged_document()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
