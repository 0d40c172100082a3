"""Adopting a zone that already has rules: import commands, and `cloudflare.adopt`."""

from __future__ import annotations

from collections.abc import Callable

from plan import adoption
from plan.model import Plan
from plan.resource_types import DNS_RECORD, RULESET

STAGING_ZONE = "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"
EXISTING = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def test_the_plan_lists_one_import_per_phase_and_public_record(
    plan_of: Callable[[str], Plan],
) -> None:
    plan = plan_of("staging")
    commands = adoption.import_commands(plan)
    phases = [r.inputs["phase"] for r in plan.of_type(RULESET)]
    records = [r for r in plan.of_type(DNS_RECORD) if r.name.startswith("edge-")]
    assert len(commands) == len(phases) + len(records)
    custom = next(c for c in commands if " edge-waf-custom " in c)
    # pulumi-cloudflare 6.x Ruleset docs: `<{accounts|zones}/{account_id|zone_id}>/<ruleset_id>`.
    assert custom == (
        "pulumi import --stack staging cloudflare:index/ruleset:Ruleset edge-waf-custom "
        f"'zones/{STAGING_ZONE}/<http_request_firewall_custom ruleset id>' "
        "--parent edge=urn:pulumi:staging::ticketing::ticketing:cloudflare:CloudflareEdge::edge "
        "--provider cloudflare=urn:pulumi:staging::ticketing::pulumi:providers:cloudflare:"
        ":cloudflare --generate-code=false"
    )
    # DnsRecord docs: `<zone_id>/<dns_record_id>`.
    api = next(c for c in commands if " edge-api-0 " in c)
    assert f"'{STAGING_ZONE}/<record id of A api.example-tickets-staging.com>'" in api


def test_an_adopted_phase_imports_the_existing_ruleset(capture: Callable[..., Plan]) -> None:
    edge = {
        "zoneId": STAGING_ZONE,
        "plan": "pro",
        "adopt": {"http_request_firewall_custom": EXISTING},
    }
    plan = capture("staging", {"ticketing:cloudflare": edge})
    (custom,) = [r for r in plan.of_type(RULESET) if r.name == "edge-waf-custom"]
    assert custom.import_id == f"zones/{STAGING_ZONE}/{EXISTING}"
    # The first deployment keeps the zone's rules so the import matches; the next replaces them.
    assert custom.ignore_changes == ("rules", "name", "description")
    others = [r for r in plan.of_type(RULESET) if r.name != "edge-waf-custom"]
    assert others and all(r.import_id == "" and r.ignore_changes == () for r in others)
    assert adoption.adopted(plan) == {"edge-waf-custom": f"zones/{STAGING_ZONE}/{EXISTING}"}
    line = next(c for c in adoption.import_commands(plan) if " edge-waf-custom " in c)
    assert f"zones/{STAGING_ZONE}/{EXISTING}" in line


def test_an_unknown_phase_cannot_be_adopted(capture: Callable[..., Plan]) -> None:
    import pytest

    from components.settings import ConfigError

    edge = {"zoneId": STAGING_ZONE, "plan": "pro", "adopt": {"http_request_origin": EXISTING}}
    with pytest.raises(ConfigError) as error:
        capture("staging", {"ticketing:cloudflare": edge})
    assert str(error.value).startswith("ticketing:cloudflare.adopt.http_request_origin")
