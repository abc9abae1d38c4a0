"""The metadata bounds against an independent measure of a JSON value (hypothesis)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.local import lambdas

lambdas.use_layer()

from gamification.api import bounds  # noqa: E402

values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=600),
    lambda c: st.lists(c, max_size=70) | st.dictionaries(st.text(max_size=70), c, max_size=70),
    max_leaves=90,
)


def measure(v, depth=1):
    """(depth, keys, longest key, shortest key, longest array, longest string, numbers ok)."""
    d, k, kmax, kmin, arr, s, ok = (depth if isinstance(v, dict | list) else depth - 1), 0, 0, 10**9, 0, 0, True
    children = []
    if isinstance(v, dict):
        k, children = len(v), list(v.values())
        kmax = max((len(x) for x in v), default=0)
        kmin = min((len(x) for x in v), default=10**9)
    elif isinstance(v, list):
        arr, children = len(v), v
    elif isinstance(v, str):
        s = len(v)
    elif isinstance(v, bool) or v is None:
        pass
    elif isinstance(v, int):
        ok = abs(v) <= 2**53 - 1
    else:
        ok = math.isfinite(v) and abs(v) <= 1e15
    for c in children:
        cd, ck, ckmax, ckmin, carr, cs, cok = measure(c, depth + 1)
        d, k, kmax, kmin = max(d, cd), k + ck, max(kmax, ckmax), min(kmin, ckmin)
        arr, s, ok = max(arr, carr), max(s, cs), ok and cok
    return d, k, kmax, kmin, arr, s, ok


@settings(max_examples=80, deadline=None)
@given(v=st.dictionaries(st.text(max_size=70), values, max_size=70))
def test_bounded_metadata_accepts_exactly_what_is_within_every_bound(v):
    d, k, kmax, kmin, arr, s, ok = measure(v)
    within = (
        d <= bounds.MAX_DEPTH and k <= bounds.MAX_KEYS and kmax <= bounds.MAX_KEY_LENGTH and kmin >= 1
        and arr <= bounds.MAX_ITEMS and s <= bounds.MAX_STRING_LENGTH and ok
        and len(json.dumps(v, separators=(",", ":")).encode()) <= bounds.MAX_METADATA_BYTES
    )
    try:
        bounds._bounded_metadata(v)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == within
