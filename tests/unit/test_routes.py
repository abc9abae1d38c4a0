"""The route table the $default function answers 404/405 from is the template's."""

from gamification.api.routes import ROUTES, allowed_methods

from tools.local import template


def test_the_route_table_matches_template_yaml():
    declared = {(r.method, r.path) for fn in template.functions("t").values() for r in fn.routes if not r.is_default}
    assert set(ROUTES) == declared


def test_allowed_methods_match_path_templates_segment_by_segment():
    assert allowed_methods("/v1/users/alice/xp") == ["POST"]
    assert allowed_methods("/v1/users/alice") == ["DELETE", "GET"]
    assert allowed_methods("/v1/users/alice/ledger/e1/reversal") == ["POST"]
    assert allowed_methods("/v1/users/alice/bob/xp") == []
    assert allowed_methods("/v2/levels") == []
