"""Item sizes and capacity units as the DynamoDB developer guide defines them
(bench/instruments/ddbmeter.py feeds `make bench`)."""

from __future__ import annotations

import pytest

from bench.instruments.ddbmeter import TableShape, item_size, number_size, read_units, value_size, write_units


@pytest.mark.parametrize(
    ("number", "size"),
    [("0", 1), ("7", 2), ("12", 2), ("123", 3), ("1000", 2), ("-1234.5600", 4), ("0.05", 2), ("1E+3", 2)],
)
def test_numbers_take_one_byte_per_two_significant_digits_plus_one(number, size):
    assert number_size(number) == size


def test_item_size_counts_names_and_values():
    item = {
        "pk": {"S": "T#a#U#b"},  # 2 + 7
        "n": {"N": "100"},  # 1 + 2
        "ok": {"BOOL": True},  # 2 + 1
        "l": {"L": [{"S": "ab"}, {"NULL": True}]},  # 1 + 3 + (1 + 2) + (1 + 1)
        "m": {"M": {"k": {"S": "v"}}},  # 1 + 3 + (1 + 1 + 1)
        "ss": {"SS": ["x", "yz"]},  # 2 + 3
        "é": {"S": "é"},  # 2 + 2 (UTF-8 bytes)
    }
    assert value_size({"S": "é"}) == 2
    assert item_size(item) == 9 + 3 + 3 + 9 + 7 + 5 + 4


def test_capacity_units_round_up_per_kb_and_4kb():
    assert write_units(0) == 1 and write_units(1024) == 1 and write_units(1025) == 2
    assert write_units(500, transactional=True) == 2
    assert read_units(0, consistent=True) == 1.0 and read_units(4097, consistent=True) == 2.0
    assert read_units(100, consistent=False) == 0.5
    assert read_units(100, consistent=True, transactional=True) == 2.0


def test_gsi_writes_follow_the_projection_and_key_changes():
    shape = TableShape.from_definition({
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_score",
            "KeySchema": [{"AttributeName": "board", "KeyType": "HASH"}, {"AttributeName": "score", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
    })
    base = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    assert shape.gsi_writes(None, {**base, "x": {"S": "1"}}) == []  # not in the index
    entered = shape.gsi_writes(None, {**base, "board": {"S": "b"}, "score": {"N": "5"}})
    assert entered == [2 + 1 + 2 + 1 + 5 + 1 + 5 + 2]  # keys only: pk, sk, board, score
    moved = shape.gsi_writes({**base, "board": {"S": "b"}, "score": {"N": "5"}}, {**base, "board": {"S": "b"}, "score": {"N": "6"}})
    assert len(moved) == 2  # index key changed: delete + put
    same = {**base, "board": {"S": "b"}, "score": {"N": "5"}}
    assert shape.gsi_writes(same, {**same, "other": {"S": "z"}}) == []  # projection unchanged
