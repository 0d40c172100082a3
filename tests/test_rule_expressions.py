"""Every rule expression the edge renders, parsed by Cloudflare's Rules language parser.

`octorules-wirefilter` binds wirefilter, the engine Cloudflare's Rules language runs
on, with Cloudflare's HTTP field scheme: an unknown field, a misplaced operator or a
broken set fails here as the Rulesets API would refuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import octorules_wirefilter as wirefilter
import pytest

from components.edge.cloudflare_edge import (
    admin_block_expression,
    fingerprinted_expression,
    method_block_expression,
    rate_limit_expression,
    static_assets_expression,
    venue_skip_expression,
)
from plan.model import Plan, Secret
from plan.resource_types import RULESET
from seed.zone_plans import ZONE_PLANS, rule_limit

STACKS = ("dev", "staging", "prod")
# The Rulesets API's match-everything expression, which wirefilter's scheme has no literal
# for. Cloudflare documents it for deploying managed rulesets ("expression": "true",
# developers.cloudflare.com/ruleset-engine/managed-rulesets/deploy-managed-ruleset/) and
# requires it of a ddos_l7 override below the Advanced DDoS add-on (the plan data's
# "Expression fields & multi-rule support" is that add-on's only).
MATCH_ALL = "true"


def parse(expression: str) -> dict[str, Any]:
    return dict(wirefilter.parse_expression(expression))


def rendered(plan: Plan) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for ruleset in plan.of_type(RULESET):
        value = ruleset.inputs["rules"]
        for rule in value.value if isinstance(value, Secret) else value:
            yield ruleset.inputs["phase"], rule["ref"], rule


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_expression_parses(stack: str, plan_of: Callable[[str], Plan]) -> None:
    found = list(rendered(plan_of(stack)))
    assert found
    for phase, ref, rule in found:
        if rule["expression"] == MATCH_ALL:
            assert rule["action"] == "execute", (stack, phase, ref)  # managed rulesets only
            continue
        result = parse(rule["expression"])
        assert "error" not in result, (stack, phase, ref, result.get("error"))


@pytest.mark.parametrize("stack", STACKS)
def test_rate_limit_rules_use_only_fields_their_zone_plan_allows(
    stack: str, plan_of: Callable[[str], Plan]
) -> None:
    # Cloudflare's availability table: Free matches the path only, Pro adds the host.
    plan = plan_of(stack)
    tier = {"dev": "free", "staging": "pro", "prod": "business"}[stack]
    allowed = ZONE_PLANS[tier].rate_limit_fields
    for phase, ref, rule in rendered(plan):
        if phase == "http_ratelimit":
            fields = set(parse(rule["expression"])["fields"])
            assert fields <= allowed, (stack, ref, fields - allowed)
            counted = set(rule["ratelimit"]["characteristics"]) - {"cf.colo.id"}
            assert counted <= set(ZONE_PLANS[tier].rate_limit_characteristics)


def test_a_broken_expression_fails_the_parser() -> None:
    assert "error" in parse('(http.host eq "a.x" and)')
    assert "error" in parse('http.hots eq "a.x"')  # unknown field
    assert "error" in parse("ip.src in {10.0.0.0/33}")  # not a CIDR


@pytest.mark.parametrize(
    "expression",
    [
        admin_block_expression("a.x", ["DE", "NL"], ["203.0.113.0/24"]),
        admin_block_expression("a.x", [], []),
        method_block_expression(["a.x", "b.x"]),
        rate_limit_expression("api.x", ["/identity/login", "/payments"]),
        rate_limit_expression(None, ["/identity/login"]),
        venue_skip_expression("api.x", ["/identity/login"], ["198.51.100.0/24", "192.0.2.1/32"]),
        static_assets_expression(["app.x", "admin.x"]),
        fingerprinted_expression(["app.x"], ["/assets/", "/static/"]),
    ],
)
def test_each_expression_builder_renders_valid_rules_language(expression: str) -> None:
    assert "error" not in parse(expression), parse(expression).get("error")


@pytest.mark.parametrize("stack", STACKS)
def test_no_phase_holds_more_rules_than_its_zone_plan_allows(
    stack: str, plan_of: Callable[[str], Plan]
) -> None:
    # Cloudflare's plan data: e.g. one rate-limiting rule and five custom rules on Free.
    tier = {"dev": "free", "staging": "pro", "prod": "business"}[stack]
    for ruleset in plan_of(stack).of_type(RULESET):
        value = ruleset.inputs["rules"]
        count = len(value.value if isinstance(value, Secret) else value)
        limit = rule_limit(tier, ruleset.inputs["phase"])
        assert limit is None or count <= limit, (stack, ruleset.inputs["phase"], count, limit)
