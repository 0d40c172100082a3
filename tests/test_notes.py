"""The plan's notes: the ingress shape, and a managed WAF the zone's plan leaves out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console

from plan import notes, report
from plan.model import Plan, Resource
from tests.factories import resource

DEV_EDGE = (
    'edge: zone plan "free" gets: WAF Cloudflare Free Managed Ruleset (log); rate limits '
    "count by ip.src; rules used http_request_firewall_custom 2/5, http_ratelimit 1/1, "
    "http_request_cache_settings 3/10, http_config_settings 1/10, "
    "http_request_late_transform 1/10; no Waiting Room (business plan and up); "
    "alerts dos_attack_l7, real_origin_monitoring; DNSSEC on; Authenticated Origin Pulls on"
)


def printed(plan: Plan) -> list[str]:
    console = Console(record=True, width=300)
    report.print_plan(plan, console)
    return console.export_text().splitlines()


def test_dev_says_what_its_free_zone_gets_and_its_records_point_at_the_alb(
    plan_of: Callable[[str], Plan],
) -> None:
    dev = plan_of("dev")
    alb = dev.outputs["albDnsName"]
    lines = printed(dev)
    assert DEV_EDGE in lines
    assert (
        f"ingress: records point at the ALB: Cloudflare -> CNAME {alb} "
        "(internet-facing ALB ingress-alb, no static IPs)"
    ) in lines


def test_staging_has_the_managed_waf_and_static_ips_on_the_nlb(
    plan_of: Callable[[str], Plan],
) -> None:
    staging = plan_of("staging")
    ips = ", ".join(sorted(staging.outputs["staticIps"]))  # records register in any order
    lines = printed(staging)
    assert not [ln for ln in lines if "managed WAF" in ln]
    (edge,) = [ln for ln in lines if ln.startswith("edge: ")]
    assert "WAF Cloudflare Managed Ruleset (log), Cloudflare OWASP Core Ruleset (log)" in edge
    assert "(venue egress skips them)" in edge
    assert (
        f"ingress: static IPs via NLB: Cloudflare -> 2 static IPs ({ips}) on ingress-nlb "
        "-> internal ALB ingress-alb"
    ) in lines


def test_prod_counts_by_visitor_and_has_its_waiting_room(plan_of: Callable[[str], Plan]) -> None:
    (edge,) = [ln for ln in printed(plan_of("prod")) if ln.startswith("edge: ")]
    assert 'zone plan "business"' in edge
    assert "rate limits count by cf.unique_visitor_id;" in edge
    assert "Waiting Room 1/1" in edge


def test_a_venue_stack_has_only_venue_notes(plan_of: Callable[[str], Plan]) -> None:
    venue = plan_of("venue-dev-arena")
    lines = notes.notes(venue)
    assert [line.split(" ", 1)[0] for line in lines] == ["venue:"] * 3
    enrollment = venue.outputs["enrollment"]
    assert f"CA valid until {enrollment['caNotAfter']};" in lines[1]
    assert f"server certificate valid until {enrollment['serverNotAfter']}" in lines[1]
    assert venue.outputs["backup"]["restoreCommand"] in lines[2]


def test_a_cloud_stack_has_no_venue_notes(plan_of: Callable[[str], Plan]) -> None:
    assert notes.venue_notes(plan_of("dev")) == []


def ruleset(phase: str) -> Resource:
    return resource("cloudflare:index/ruleset:Ruleset", phase, stack="t", phase=phase)


def edge(
    *phases: str, outputs: dict[str, Any] | None = None, config: dict[str, str] | None = None
) -> Plan:
    return Plan("ticketing", "t", [ruleset(p) for p in phases], outputs or {}, config or {})


def test_the_zone_plan_comes_from_the_stack_config_or_the_default() -> None:
    paid = {"ticketing:cloudflare": '{"zoneId": "z", "plan": "pro"}'}
    assert notes.zone_plan(edge(config=paid)) == "pro"
    assert notes.zone_plan(edge(config={"ticketing:cloudflare": '{"zoneId": "z"}'})) == "free"
    assert notes.zone_plan(edge()) == "free"


def test_a_paid_zone_without_the_managed_waf_is_called_out() -> None:
    paid = {"ticketing:cloudflare": '{"plan": "business"}'}
    assert notes.managed_waf_note(edge("http_request_firewall_custom", config=paid)) == (
        'note: Cloudflare managed WAF rulesets are not deployed, although zone plan "business" '
        "includes them"
    )
    deployed = edge("http_request_firewall_custom", "http_request_firewall_managed", config=paid)
    assert notes.managed_waf_note(deployed) is None


def test_no_ingress_note_when_the_plan_registers_no_alb() -> None:
    # The diagram draws the catalog's load balancers for such a plan; the note says nothing.
    record = Resource(
        urn="urn:pulumi:t::ticketing::cloudflare:index/dnsRecord:DnsRecord::api",
        type="cloudflare:index/dnsRecord:DnsRecord",
        name="api",
        custom=True,
        parent=None,
        provider=None,
        inputs={"type": "CNAME", "content": "alb.example.com", "proxied": True},
        outputs={},
    )
    assert notes.ingress_note(Plan("ticketing", "t", [record])) is None


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def test_the_committed_dev_stack_says_its_alarm_address_must_confirm(
    plan_of: Callable[[str], Plan],
) -> None:
    (line,) = [n for n in notes.notes(plan_of("dev")) if n.startswith("alarms:")]
    alarms = len(plan_of("dev").of_type(ALARM))
    assert line == (
        f"alarms: {alarms} alarms e-mail platform-dev@tickets.example.com; the address must "
        "confirm the subscription from the e-mail AWS sends after `pulumi up`, or no alarm "
        "reaches it"
    )
    assert line in printed(plan_of("dev"))


def test_every_e_mail_address_is_named_once_and_other_protocols_are_not() -> None:
    plan = Plan(
        "ticketing",
        "t",
        [
            resource(ALARM, "cpu"),
            resource(SUBSCRIPTION, "a", protocol="email", endpoint="b@example.com"),
            resource(SUBSCRIPTION, "b", protocol="email", endpoint="a@example.com"),
            resource(SUBSCRIPTION, "c", protocol="email", endpoint="a@example.com"),
            resource(SUBSCRIPTION, "d", protocol="sqs", endpoint="arn:aws:sqs:x"),
        ],
        {},
        {},
    )
    line = notes.alarms_note(plan)
    assert line is not None
    assert line.startswith("alarms: 1 alarm e-mail a@example.com, b@example.com; each address ")


def test_alarms_without_an_address_say_so_and_no_alarms_say_nothing() -> None:
    lonely = Plan("ticketing", "t", [resource(ALARM, "cpu")], {}, {})
    assert notes.alarms_note(lonely) == (
        "alarms: 1 alarm, no e-mail address to notify (observability.alarmEmails is empty)"
    )
    assert notes.alarms_note(Plan("ticketing", "t", [], {}, {})) is None
