"""The template's limits against abuse and cost: reserved concurrency on every function
(0 = unreserved by condition), a dead-letter queue for every asynchronously invoked
function, HTTP API default route throttling, and a reason for every checkov skip."""

from __future__ import annotations

import pytest

from tools.local import template

RESOURCES = template.load()["Resources"]
FUNCTIONS = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
PARAMETERS = template.load()["Parameters"]
CONDITIONS = template.load()["Conditions"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_reserved_concurrency_from_a_parameter(logical_id):
    value = FUNCTIONS[logical_id]["Properties"].get("ReservedConcurrentExecutions")
    assert value, f"{logical_id}: no ReservedConcurrentExecutions"
    condition, reserved, unreserved = value["Fn::If"]
    assert reserved["Ref"] in PARAMETERS and unreserved == {"Ref": "AWS::NoValue"}
    # The condition is "the parameter is not 0": 0 means unreserved.
    assert CONDITIONS[condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": reserved["Ref"]}, 0]}]}
    assert int(PARAMETERS[reserved["Ref"]]["Default"]) >= 1


def test_the_default_reservations_leave_the_account_its_unreserved_minimum():
    """Lambda keeps at least 100 of an account's 1,000 unreserved."""
    total = sum(
        int(PARAMETERS[f["Properties"]["ReservedConcurrentExecutions"]["Fn::If"][1]["Ref"]]["Default"])
        for f in FUNCTIONS.values()
    )
    assert total <= 900, total


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_asynchronously_invoked_functions_have_a_dead_letter_queue(logical_id):
    events = FUNCTIONS[logical_id]["Properties"].get("Events", {}) or {}
    if not any(e["Type"] in ("Schedule", "ScheduleV2", "EventBridgeRule", "SNS", "S3", "CloudWatchEvent")
               for e in events.values()):
        return
    dlq = FUNCTIONS[logical_id]["Properties"].get("DeadLetterQueue")
    assert dlq and dlq["Type"] == "SQS" and RESOURCES[dlq["TargetArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    for event in events.values():
        if event["Type"] == "ScheduleV2":
            assert event["Properties"]["DeadLetterConfig"]["Arn"] == dlq["TargetArn"]


def test_the_http_api_throttles_every_route_by_default():
    api = next(r for r in RESOURCES.values() if r["Type"] == "AWS::Serverless::HttpApi")
    settings = api["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"]["Ref"] in PARAMETERS
    assert settings["ThrottlingBurstLimit"]["Ref"] in PARAMETERS


@pytest.mark.parametrize("logical_id", sorted(RESOURCES))
def test_every_checkov_skip_gives_a_reason(logical_id):
    for skip in RESOURCES[logical_id].get("Metadata", {}).get("checkov", {}).get("skip", []):
        assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) >= 40, (logical_id, skip)
