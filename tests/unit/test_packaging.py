"""What ships: the layer's pinned requirements match the project's dependencies, and every
function's IAM policy stays least-privilege."""

from __future__ import annotations

import re
import tomllib

from tools.local import template
from tools.local.template import ROOT


def _names(specs):
    return {re.split(r"[\[<>=!~ ]", s.strip(), maxsplit=1)[0].lower() for s in specs if s.strip() and not s.startswith("#")}


def test_layer_requirements_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = (ROOT / "layers/common/requirements.txt").read_text().splitlines()
    assert _names(layer) == _names(project)
    assert all("==" in line for line in layer if line.strip() and not line.startswith("#")), "pin the layer"


#: Functions whose job is to delete items (user erasure): they may hold dynamodb:DeleteItem.
ERASERS = {"DeleteUserFunction"}


def test_functions_get_only_the_table_actions_they_need():
    resources = template.load()["Resources"]
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for policy in res["Properties"].get("Policies", []):
            for statement in policy["Statement"]:
                actions = statement["Action"]
                assert not any(a.endswith("*") for a in actions), logical_id
                if not any(a.startswith("dynamodb:") for a in actions):
                    continue  # queues, buses, keys: scoped by their Resource
                if set(actions) <= {"dynamodb:DescribeStream", "sqs:SendMessage"}:
                    continue  # a stream consumer: its stream and on-failure queue, no items
                forbidden = {"dynamodb:Scan", "dynamodb:DeleteTable"}
                if logical_id not in ERASERS:
                    forbidden.add("dynamodb:DeleteItem")
                assert not forbidden & set(actions), logical_id
                assert "dynamodb:LeadingKeys" in statement["Condition"]["ForAllValues:StringLike"], logical_id


def test_every_route_of_the_contract_is_served():
    routes = {r.route_key for fn in template.functions("t").values() for r in fn.routes}
    assert {
        "POST /v1/users/{user_id}/xp",
        "POST /v1/users/{user_id}/coins",
        "GET /v1/users/{user_id}/limits",
        "GET /v1/levels",
        "GET /v1/users/{user_id}",
        "GET /v1/leaderboards/{board}",
    } <= routes
