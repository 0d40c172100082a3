"""A venue's attendees behind one address against one attacker, on every plan's rendered rules.

The simulator (`tests/rate_limit_simulator.py`) counts as Cloudflare documents; the
rules are the ones each committed stack renders. 20,000 people at a venue share its
egress address; during one counting period 400 of them log in once each, while an
attacker sends 200 login attempts from one client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import octorules_wirefilter as wirefilter
import pytest

from plan import engine
from plan.model import Plan, Secret
from plan.resource_types import RULESET
from tests.rate_limit_simulator import Request, blocked, matches

VENUE_EGRESS = "198.51.100.10"  # arena's egress in the committed staging and prod stacks
CARRIER_NAT = "100.64.7.1"  # a mobile carrier's shared address nobody configured
ATTACKER_IP = "203.0.113.66"
LOGIN = "/identity/login"
ATTENDEES = 400
ATTEMPTS = 200


def rules(plan: Plan, phase: str) -> list[dict[str, Any]]:
    (found,) = [r for r in plan.of_type(RULESET) if r.inputs["phase"] == phase]
    value = found.inputs["rules"]
    return list(value.value if isinstance(value, Secret) else value)


def crowd(plan: Plan, ip: str) -> Iterator[Request]:
    api = plan.outputs["publicHostnames"]["api"]
    return (Request(f"attendee-{n}", ip, api, LOGIN) for n in range(ATTENDEES))


def attack(plan: Plan, ip: str) -> Iterator[Request]:
    api = plan.outputs["publicHostnames"]["api"]
    return (Request("attacker", ip, api, LOGIN) for _ in range(ATTEMPTS))


def who_is_blocked(plan: Plan, *streams: Iterator[Request]) -> tuple[int, bool]:
    """(attendees blocked, attacker blocked) for the streams sent together."""
    limits = rules(plan, "http_ratelimit")
    custom = rules(plan, "http_request_firewall_custom")
    for rule in [*limits, *custom]:
        assert "error" not in wirefilter.parse_expression(rule["expression"])
    out = blocked(limits, custom, (r for stream in streams for r in stream))
    return len({v for v in out if v.startswith("attendee-")}), "attacker" in out


@pytest.fixture(scope="module")
def free_with_venue(plan_of: Callable[[str], Plan]) -> Plan:
    edge = {
        "zoneId": "0b1e2c3d4e5f60718293a4b5c6d7e8f9",
        "plan": "free",
        "venueEgress": {"arena": [f"{VENUE_EGRESS}/32"]},
    }
    return engine.capture("dev", overrides={"ticketing:cloudflare": edge}, plan_of=plan_of)


def test_free_without_venue_egress_locks_the_venue_out(plan_of: Callable[[str], Plan]) -> None:
    dev = plan_of("dev")  # free plan: bare IP, 5 per 10 s, no egress configured
    attendees, attacker = who_is_blocked(dev, crowd(dev, VENUE_EGRESS), attack(dev, ATTACKER_IP))
    assert attendees == ATTENDEES - 5 and attacker


def test_free_with_venue_egress_lets_the_venue_in_and_stops_the_attacker(
    free_with_venue: Plan,
) -> None:
    plan = free_with_venue
    attendees, attacker = who_is_blocked(plan, crowd(plan, VENUE_EGRESS), attack(plan, ATTACKER_IP))
    assert (attendees, attacker) == (0, True)


def test_pro_venue_egress_skips_rate_limits(plan_of: Callable[[str], Plan]) -> None:
    staging = plan_of("staging")  # pro: bare IP only, arena's egress configured
    venue = who_is_blocked(staging, crowd(staging, VENUE_EGRESS), attack(staging, ATTACKER_IP))
    assert venue == (0, True)
    # An unconfigured shared address is still one counter on pro: say so, don't hide it.
    carrier, _ = who_is_blocked(staging, crowd(staging, CARRIER_NAT))
    assert carrier == ATTENDEES - 20
    # And an attacker inside the venue is exempt too: the cost of exempting by address.
    assert who_is_blocked(staging, attack(staging, VENUE_EGRESS)) == (0, False)


def test_business_counts_each_visitor_behind_any_shared_address(
    plan_of: Callable[[str], Plan],
) -> None:
    prod = plan_of("prod")  # business: IP with NAT support, 10 per 60 s
    for shared in (VENUE_EGRESS, CARRIER_NAT):
        assert who_is_blocked(prod, crowd(prod, shared), attack(prod, ATTACKER_IP)) == (0, True)
    # Inside the venue the attacker is still one visitor over the limit.
    assert who_is_blocked(prod, crowd(prod, VENUE_EGRESS), attack(prod, VENUE_EGRESS)) == (0, True)


def test_the_evaluator_agrees_with_the_rendered_rule_it_simulates(
    plan_of: Callable[[str], Plan],
) -> None:
    (limit, _) = rules(plan_of("prod"), "http_ratelimit")
    api = plan_of("prod").outputs["publicHostnames"]["api"]
    assert matches(limit["expression"], Request("v", ATTACKER_IP, api, LOGIN))
    assert not matches(limit["expression"], Request("v", ATTACKER_IP, api, "/ticketing/events"))
    assert not matches(limit["expression"], Request("v", ATTACKER_IP, "app.x", LOGIN))
