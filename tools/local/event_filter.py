"""Lambda event filtering (an event source mapping's ``FilterCriteria``), the part of the
pattern syntax this project's template uses.

A pattern is a JSON object shaped like the record. At a leaf, a list of matchers; the record
matches when every key of the pattern matches and, at each leaf, any one of the list's
matchers does:

- a string, number, boolean or ``null``: equal (a record value that is a list matches when
  any of its elements does);
- ``{"prefix": "XP#"}``: a string starting with it;
- ``{"exists": true}`` / ``{"exists": false}``: the key is (not) there;
- ``{"anything-but": value | [values] | {"prefix": p}}``: present and none of them;
- ``{"numeric": [">=", 10, "<", 20]}``: a number (or numeric string, as DynamoDB's ``N``
  values are) within every bound (``=``, ``<``, ``<=``, ``>``, ``>=``).

A record matches a ``FilterCriteria`` when it matches any of its patterns (no patterns: every
record). Records that match none are dropped by the mapping, as if processed.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

_MISSING = object()
_COMPARE = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class PatternError(ValueError):
    """A pattern uses syntax this module does not implement (fail loudly, never match)."""


def matches_any(patterns: Iterable[dict[str, Any]], record: dict[str, Any]) -> bool:
    """True when ``record`` matches at least one pattern, or there are none."""
    patterns = list(patterns)
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: dict[str, Any], record: Any) -> bool:
    """True when ``record`` (a dict) matches ``pattern``."""
    if not isinstance(pattern, dict):
        raise PatternError(f"a pattern is an object, not {pattern!r}")
    for key, sub in pattern.items():
        value = record.get(key, _MISSING) if isinstance(record, dict) else _MISSING
        if isinstance(sub, dict):
            # a missing object matches only what an empty one would ({"exists": false})
            if not matches(sub, value if isinstance(value, dict) else {}):
                return False
        elif isinstance(sub, list):
            if not any(_leaf(m, value) for m in sub):
                return False
        else:
            raise PatternError(f"{key}: a leaf is a list of matchers, not {sub!r}")
    return True


def _leaf(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict):
        if len(matcher) != 1:
            raise PatternError(f"one operator per matcher: {matcher!r}")
        (op, arg), = matcher.items()
        if op == "exists":
            return (value is not _MISSING) is bool(arg)
        if value is _MISSING:
            return False
        values = value if isinstance(value, list) else [value]
        if op == "prefix":
            return any(isinstance(v, str) and v.startswith(arg) for v in values)
        if op == "anything-but":
            return not any(_leaf(m, value) for m in _as_matchers(arg))
        if op == "numeric":
            return any(_numeric(arg, v) for v in values)
        raise PatternError(f"unsupported filter operator {op!r}")
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    return any(type(v) is type(matcher) and v == matcher for v in values)


def _as_matchers(arg: Any) -> list[Any]:
    if isinstance(arg, list):
        return arg
    return [arg]


def _numeric(bounds: list[Any], value: Any) -> bool:
    if len(bounds) % 2:
        raise PatternError(f"numeric takes operator/number pairs: {bounds!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if isinstance(value, bool):
        return False
    for op, limit in zip(bounds[::2], bounds[1::2], strict=True):
        if op not in _COMPARE:
            raise PatternError(f"unsupported numeric operator {op!r}")
        if not _COMPARE[op](number, float(limit)):
            return False
    return True
