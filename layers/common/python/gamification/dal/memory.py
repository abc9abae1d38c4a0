"""An in-memory :class:`gamification.dal.protocol.Store` for use-case unit tests.

It applies the very requests :class:`gamification.dal.store.Transaction` builds for
DynamoDB, evaluating the small subset of condition and update expressions the engine uses
(``attribute_(not_)exists``, comparisons joined by AND/OR, ``SET`` with ``if_not_exists``,
``ADD``), all or nothing per transaction. It is single-threaded and proves nothing about
races: racing tests run against a real DynamoDB (see tests/integration/test_races.py).
"""

from __future__ import annotations

import copy
import operator
import re
from typing import Any

from gamification.dal.keys import Key
from gamification.dal.store import Transaction, WriteConflict, unmarshal

_COMPARE = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ATOM = re.compile(r"^(attribute_not_exists|attribute_exists)\((\S+)\)$")
_BINARY = re.compile(r"^(\S+) (=|<>|<=|>=|<|>) (\S+)$")
_SET = re.compile(r"(\S+) = (if_not_exists\((\S+), (\S+)\)|\S+)")


class MemoryStore:
    """Items keyed by ``(pk, sk)``; ``requests`` counts calls per operation name."""

    def __init__(self, table: str = "memory") -> None:
        self.table = table
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.requests: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.requests[name] = self.requests.get(name, 0) + 1

    # ---- reads ------------------------------------------------------------------------

    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        self._count("GetItem")
        item = self.items.get((key["pk"], key["sk"]))
        return copy.deepcopy(item) if item else None

    def get_many(self, wanted: list[Key | None]) -> list[dict[str, Any] | None]:
        self._count("BatchGetItem")
        return [copy.deepcopy(self.items.get((k["pk"], k["sk"]))) if k else None for k in wanted]

    # ---- writes -----------------------------------------------------------------------

    def transaction(self, token: str | None = None) -> Transaction:
        return Transaction(self.table, token)

    def put_new(self, key: Key, attrs: dict[str, Any]) -> bool:
        self._count("PutItem")
        if (key["pk"], key["sk"]) in self.items:
            return False
        self.items[(key["pk"], key["sk"])] = {**key, **{k: v for k, v in attrs.items() if v is not None}}
        return True

    def commit(self, tx: Transaction) -> None:
        """All of ``tx`` or nothing; :class:`WriteConflict` names each item's reason."""
        self._count("TransactWriteItems")
        if tx.token and tx.token in self.tokens:
            return  # DynamoDB treats a re-sent ClientRequestToken as done
        staged = {k: copy.deepcopy(v) for k, v in self.items.items()}
        reasons, failed = [], False
        for request in tx.items:
            ok = self._apply(staged, request)
            reasons.append("None" if ok else "ConditionalCheckFailed")
            failed = failed or not ok
        if failed:
            raise WriteConflict(reasons)
        self.items = staged
        if tx.token:
            self.tokens.add(tx.token)

    def _apply(self, items: dict[tuple[str, str], dict[str, Any]], request: dict[str, Any]) -> bool:
        (kind, body), = request.items()
        key = unmarshal(body["Item"] if kind == "Put" else body["Key"])
        ident = (key["pk"], key["sk"])
        current = items.get(ident)
        names = body.get("ExpressionAttributeNames", {})
        values = unmarshal(body.get("ExpressionAttributeValues", {}))
        if "ConditionExpression" in body and not _holds(body["ConditionExpression"], current, names, values):
            return False
        if kind == "Put":
            items[ident] = key
        elif kind == "Update":
            items[ident] = _update(body["UpdateExpression"], dict(current or {"pk": key["pk"], "sk": key["sk"]}),
                                   names, values)
        elif kind == "Delete":
            items.pop(ident, None)
        elif kind != "ConditionCheck":
            raise NotImplementedError(kind)
        return True


def _operand(token: str, item: dict[str, Any] | None, names: dict[str, str], values: dict[str, Any]) -> Any:
    if token.startswith(":"):
        return values[token]
    return (item or {}).get(names.get(token, token))


def _holds(expression: str, item: dict[str, Any] | None, names: dict[str, str], values: dict[str, Any]) -> bool:
    def atom(text: str) -> bool:
        text = text.strip()
        if m := _ATOM.match(text):
            present = item is not None and names.get(m[2], m[2]) in item
            return present if m[1] == "attribute_exists" else not present
        m = _BINARY.match(text)
        if not m:
            raise NotImplementedError(f"condition {text!r}")
        left, right = _operand(m[1], item, names, values), _operand(m[3], item, names, values)
        return left is not None and right is not None and _COMPARE[m[2]](left, right)

    def clause(text: str) -> bool:
        text = text.strip()
        if text.startswith("(") and text.endswith(")") and not _ATOM.match(text):
            text = text[1:-1]
        return any(atom(alt) for alt in text.split(" OR "))

    return all(clause(c) for c in expression.split(" AND "))


def _update(expression: str, item: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    sections = re.split(r"\b(SET|ADD)\b", expression)
    for verb, text in zip(sections[1::2], sections[2::2]):
        if verb == "SET":
            for m in _SET.finditer(text):
                target = names.get(m[1], m[1])
                if m[3]:
                    existing = item.get(names.get(m[3], m[3]))
                    item[target] = existing if existing is not None else values[m[4]]
                else:
                    item[target] = _operand(m[2].rstrip(","), item, names, values)
        else:
            for part in text.split(","):
                if part.strip():
                    name, value = part.split()
                    target = names.get(name, name)
                    item[target] = item.get(target, 0) + values[value]
    return item
