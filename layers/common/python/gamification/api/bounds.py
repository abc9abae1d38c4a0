"""Bounds of free-form request input (docs/security.md "Bounded input").

Every request field has a bound: the body at most 16 KB (413, :data:`gamification.api.http.
MAX_BODY_BYTES`), ids and names by pattern and length, numbers by range (the request
models). ``metadata``, the one free-form JSON object (stored on the ledger entry as JSON
text), is bounded here:

- at most :data:`MAX_METADATA_BYTES` bytes serialised compactly;
- nesting at most :data:`MAX_DEPTH` levels (``{"a": {"b": 1}}`` is depth 2);
- at most :data:`MAX_KEYS` keys in all, each 1 to :data:`MAX_KEY_LENGTH` characters;
- arrays at most :data:`MAX_ITEMS` elements, strings at most :data:`MAX_STRING_LENGTH`;
- numbers: integers within +-(2**53 - 1) (exact in every JSON reader), other numbers
  finite and within +-1e15.

A violation is a ``ValueError`` that the API answers 400 ``validation_error``.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

MAX_METADATA_BYTES = 2048
MAX_DEPTH = 4
MAX_KEYS = 64
MAX_KEY_LENGTH = 64
MAX_ITEMS = 64
MAX_STRING_LENGTH = 512
MAX_SAFE_INTEGER = 2**53 - 1
MAX_FLOAT = 1e15


def _check_text(text: str, path: str) -> None:
    """Refuse a string that is not Unicode text: a lone surrogate (``"\\ud800"`` in JSON) has
    no UTF-8 form, so it would be stored replaced or not at all."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{path}: not valid Unicode text (a lone surrogate)") from None


def check_json_value(value: Any, path: str = "metadata", depth: int = 1, keys: list[int] | None = None) -> None:
    """Raise ValueError naming the first place where ``value`` passes a bound."""
    keys = [0] if keys is None else keys
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        raise ValueError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for k, v in value.items():
            keys[0] += 1
            if keys[0] > MAX_KEYS:
                raise ValueError(f"metadata: more than {MAX_KEYS} keys")
            if not isinstance(k, str) or not 1 <= len(k) <= MAX_KEY_LENGTH:
                raise ValueError(f"{path}: keys must be 1 to {MAX_KEY_LENGTH} characters")
            _check_text(k, f"{path}: key")
            check_json_value(v, f"{path}.{k}", depth + 1, keys)
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise ValueError(f"{path}: arrays hold at most {MAX_ITEMS} items")
        for i, v in enumerate(value):
            check_json_value(v, f"{path}[{i}]", depth + 1, keys)
    elif isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH:
            raise ValueError(f"{path}: strings are at most {MAX_STRING_LENGTH} characters")
        _check_text(value, path)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integers must be within +-{MAX_SAFE_INTEGER}")
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_FLOAT:
            raise ValueError(f"{path}: numbers must be finite and within +-{MAX_FLOAT:g}")
    else:
        raise ValueError(f"{path}: not a JSON value")


def _bounded_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    check_json_value(value)
    # allow_nan=False: NaN / Infinity are not JSON and would be stored as invalid JSON
    if len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
    return value


def _value_schema(depth: int) -> dict[str, Any]:
    """JSON Schema of a metadata value at nesting ``depth`` (containers up to MAX_DEPTH)."""
    scalars: list[dict[str, Any]] = [
        {"type": "string", "maxLength": MAX_STRING_LENGTH},
        {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
        {"type": "number", "minimum": -MAX_FLOAT, "maximum": MAX_FLOAT},
        {"type": "boolean"},
        {"type": "null"},
    ]
    if depth > MAX_DEPTH:
        return {"anyOf": scalars}
    inner = _value_schema(depth + 1)
    return {"anyOf": [*scalars, _object_schema(inner), {"type": "array", "maxItems": MAX_ITEMS, "items": inner}]}


def _object_schema(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "maxProperties": MAX_KEYS, "additionalProperties": values,
            "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH}}  # fmt: skip


#: What the OpenAPI document states of ``metadata``: every bound above but the two totals a
#: JSON Schema cannot express (MAX_KEYS keys in all, MAX_METADATA_BYTES bytes), which it
#: describes.
METADATA_SCHEMA = {
    "anyOf": [_object_schema(_value_schema(2)), {"type": "null"}],
    "description": f"A JSON object stored with the entry: at most {MAX_METADATA_BYTES} bytes and "
    f"{MAX_KEYS} keys in all, nested at most {MAX_DEPTH} levels",
}

#: The ``metadata`` field type of a request model: a JSON object within the bounds above.
Metadata = Annotated[dict[str, Any] | None, AfterValidator(_bounded_metadata), WithJsonSchema(METADATA_SCHEMA)]
