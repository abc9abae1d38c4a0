"""A small rules file with every signed-award feature (docs/replay.md), shared by the unit and
integration tests: a start and a floor, a penalty, a cap-exempt gain, variable bounties."""

SIGNED_RULES = {
    "version": 1,
    "levels": [{"level": 1, "name": "One", "xp": 0}, {"level": 2, "name": "Two", "xp": 1000}],
    "daily_xp_caps": [{"levels": [1, 2], "cap": 200}],
    "xp": {"start": 1, "floor": 1},
    "actions": {
        "upvoted": {"xp": 10},
        "downvoted": {"xp": -2},
        "accepted": {"xp": 15, "cap_exempt": True},
        "bounty_won": {"min": 50, "max": 500, "cap_exempt": True},
        "bounty_offered": {"min": -500, "max": -50, "cap_exempt": True},
    },
    "coins": {"rewards": {"daily_login": {"amount": 10, "window": "day"}}},
}
