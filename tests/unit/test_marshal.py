"""``marshal`` / ``unmarshal`` (gamification.dal.store): the fast paths for common types give
exactly what boto3's general-purpose serialiser gives (and refuse what it refuses)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamification.dal import store


def _boto3_marshal(item):
    return {k: store._ser.serialize(v) for k, v in item.items() if v is not None}


def _boto3_unmarshal(item):
    return {k: store._plain(store._deser.deserialize(v)) for k, v in item.items()}


def _outcome(fn, arg):
    try:
        return fn(arg)
    except Exception as exc:  # the same refusal, e.g. a float or a 40-digit number
        return type(exc)


_leaf = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6),
    st.binary(max_size=4),
    st.frozensets(st.text(min_size=1, max_size=4), min_size=1).map(set),
)
_values = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _values, max_size=6))
def test_marshal_and_unmarshal_equal_boto3s(item):
    expected = _outcome(_boto3_marshal, item)
    assert _outcome(store.marshal, item) == expected
    if isinstance(expected, dict):
        assert store.unmarshal(expected) == _boto3_unmarshal(expected)


@pytest.mark.parametrize("n", ["1E+2", "-0", "1.50", "007", "-12", "0.25", "12345678901234567890123456789012345678"])
def test_numbers_read_as_boto3_reads_them(n):
    assert store.unmarshal({"x": {"N": n}}) == _boto3_unmarshal({"x": {"N": n}})


def test_integral_numbers_are_int_and_others_float():
    assert store.unmarshal(store.marshal({"a": 3, "b": Decimal("2.5"), "c": {"d": [1, True, "x"]}})) == {
        "a": 3, "b": 2.5, "c": {"d": [1, True, "x"]},
    }  # fmt: skip
