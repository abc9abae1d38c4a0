"""The local event source mapping's filter patterns (tools/local/event_filter.py), on the
DynamoDB stream record shape."""

import pytest

from tools.local.event_filter import PatternError, matches, matches_any

RECORD = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"pk": {"S": "T#acme#U#ann"}, "sk": {"S": "XP#2026-11-21T12:00:00Z#e1"}},
        "NewImage": {"sk": {"S": "XP#2026-11-21T12:00:00Z#e1"}, "xp": {"N": "30"}, "tags": {"SS": ["a", "b"]}},
    },
}


def image(**leaf):
    return {"dynamodb": {"NewImage": leaf}}


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "REMOVE"]}, False),
        ({"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "XP#"}]}}}}, True),
        ({"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "COIN#"}]}}}}, False),
        (image(xp={"N": [{"exists": True}]}), True),
        (image(coins={"N": [{"exists": True}]}), False),
        (image(coins={"N": [{"exists": False}]}), True),
        (image(xp={"N": [{"exists": False}]}), False),
        ({"eventName": [{"anything-but": ["REMOVE"]}]}, True),
        ({"eventName": [{"anything-but": "INSERT"}]}, False),
        ({"dynamodb": {"Keys": {"sk": {"S": [{"anything-but": {"prefix": "XP#"}}]}}}}, False),
        (image(xp={"N": [{"numeric": [">=", 30]}]}), True),
        (image(xp={"N": [{"numeric": [">", 30]}]}), False),
        (image(xp={"N": [{"numeric": [">=", 10, "<", 20]}]}), False),
        (image(xp={"N": ["30"]}), True),  # an N value compares as the string it is
        (image(xp={"N": [30]}), False),
        (image(tags={"SS": ["b"]}), True),  # a list value matches when any element does
        (image(sk={"S": [{"numeric": [">", 0]}]}), False),  # not a number
        ({"dynamodb": {"NewImage": {"xp": [{"exists": True}]}}}, True),
        ({"nope": {"deeper": ["x"]}}, False),
    ],
)
def test_pattern(pattern, expected):
    assert matches(pattern, RECORD) is expected


def test_any_pattern_of_the_criteria_is_enough_and_no_criteria_lets_everything_through():
    assert matches_any([{"eventName": ["REMOVE"]}, {"eventName": ["INSERT"]}], RECORD)
    assert not matches_any([{"eventName": ["REMOVE"]}], RECORD)
    assert matches_any([], RECORD)


@pytest.mark.parametrize(
    "pattern",
    [{"eventName": "INSERT"}, {"eventName": [{"suffix": "T"}]}, {"eventName": [{"prefix": "I", "exists": True}]},
     image(xp={"N": [{"numeric": ["~", 1]}]}), image(xp={"N": [{"numeric": [">"]}]})],
)
def test_syntax_it_does_not_implement_fails_loudly(pattern):
    with pytest.raises(PatternError):
        matches(pattern, RECORD)
