"""Cloudflare rules on engine-shaped inputs and outputs."""

from __future__ import annotations

import json
from typing import Any

from policies.rules import cloudflare
from seed.catalog import service
from tests.policy_helpers import UNKNOWN, StackResource, run_resource_rule, run_stack_rule

ZONE = "0b1e2c3d4e5f60718293a4b5c6d7e8f9"


def record(**props: Any) -> dict[str, Any]:
    return {"zoneId": ZONE, "ttl": 1, **props}


def setting(setting_id: str, value: Any) -> StackResource:
    return StackResource(
        cloudflare.ZONE_SETTING,
        f"zone-{setting_id}",
        {"zoneId": ZONE, "settingId": setting_id, "value": value},
    )


def dns(name: str = "api.example-tickets.com") -> StackResource:
    return StackResource(
        cloudflare.DNS_RECORD,
        name,
        record(name=name, type="A", content="198.51.100.7", proxied=True),
    )


# --- proxied DNS -------------------------------------------------------------------------------


def test_public_records_are_proxied() -> None:
    rule = "cloudflare-dns-proxied"
    proxied = record(name="api.example-tickets.com", type="A", content="198.51.100.7", proxied=True)
    assert run_resource_rule(rule, cloudflare.DNS_RECORD, proxied).clean
    exposed = {**proxied, "proxied": False}
    assert run_resource_rule(rule, cloudflare.DNS_RECORD, exposed).messages == [
        "A record api.example-tickets.com is not proxied: its origin is exposed and bypasses "
        "the WAF."
    ]
    cname = record(name="app.example-tickets.com", type="CNAME", content="alb.example.com")
    assert run_resource_rule(rule, cloudflare.DNS_RECORD, cname).mentions("CNAME record")


def test_acm_validation_records_are_exempt() -> None:
    validation = record(
        name="_3f2a.api.example-tickets.com.",
        type="CNAME",
        content="_9c1d.xkcd.acm-validations.aws.",
        proxied=False,
    )
    outcome = run_resource_rule("cloudflare-dns-proxied", cloudflare.DNS_RECORD, validation)
    assert outcome.violations == []
    assert outcome.not_applicable is not None and "ACM" in outcome.not_applicable


def test_records_that_cannot_be_proxied_are_out_of_scope() -> None:
    txt = record(name="example-tickets.com", type="TXT", content="v=spf1 -all")
    assert run_resource_rule("cloudflare-dns-proxied", cloudflare.DNS_RECORD, txt).clean


def test_unknown_validation_record_does_not_crash() -> None:
    # ACM's validation options are outputs: name and content are unknown during preview.
    pending = record(name=UNKNOWN, type="CNAME", content=UNKNOWN, proxied=False)
    outcome = run_resource_rule("cloudflare-dns-proxied", cloudflare.DNS_RECORD, pending)
    assert outcome.violations == [] and outcome.not_applicable
    unknown_type = record(name="x", type=UNKNOWN, content="1.2.3.4")
    assert run_resource_rule(
        "cloudflare-dns-proxied", cloudflare.DNS_RECORD, unknown_type
    ).not_applicable


def test_legacy_record_resource_is_checked_too() -> None:
    exposed = record(name="api.example-tickets.com", type="A", content="198.51.100.7")
    assert run_resource_rule("cloudflare-dns-proxied", cloudflare.LEGACY_RECORD, exposed).violations


# --- zone settings ------------------------------------------------------------------------------


def test_ssl_strict() -> None:
    assert run_stack_rule("cloudflare-ssl-strict", [dns(), setting("ssl", "strict")]).clean
    flexible = run_stack_rule("cloudflare-ssl-strict", [dns(), setting("ssl", "flexible")])
    assert flexible.violations == [
        (
            "zone setting ssl is 'flexible'; it must be \"strict\".",
            f"urn:pulumi:test::ticketing::{cloudflare.ZONE_SETTING}::zone-ssl",
        )
    ]
    missing = run_stack_rule("cloudflare-ssl-strict", [dns()])
    assert missing.messages == [f'zone {ZONE} has no ssl setting; it must be "strict".']


def test_zone_rules_skip_stacks_without_cloudflare() -> None:
    outcome = run_stack_rule(
        "cloudflare-ssl-strict", [StackResource("docker:index/volume:Volume", "v")]
    )
    assert outcome.not_applicable == "no Cloudflare resources in this stack"


def test_min_tls_version() -> None:
    rule = "cloudflare-min-tls"
    assert run_stack_rule(rule, [dns(), setting("min_tls_version", "1.2")]).clean
    assert run_stack_rule(rule, [dns(), setting("min_tls_version", "1.0")]).mentions("'1.0'")
    stricter = run_stack_rule(
        rule, [dns(), setting("min_tls_version", "1.2")], config={"minimumVersion": "1.3"}
    )
    assert stricter.mentions("'1.2'")


def test_zone_setting_unknown_value() -> None:
    assert run_stack_rule("cloudflare-min-tls", [dns(), setting("min_tls_version", UNKNOWN)]).clean


def test_always_https() -> None:
    rule = "cloudflare-always-https"
    assert run_stack_rule(rule, [dns(), setting("always_use_https", "on")]).clean
    assert run_stack_rule(rule, [dns(), setting("always_use_https", "off")]).mentions("'off'")


# --- WAF and rate limits ----------------------------------------------------------------------


def ruleset(phase: str, *rules: Any) -> StackResource:
    return StackResource(
        cloudflare.RULESET,
        f"ruleset-{phase}",
        {"zoneId": ZONE, "kind": "zone", "name": phase, "phase": phase, "rules": list(rules)},
    )


MANAGED = {
    "action": "execute",
    "expression": "true",
    "enabled": True,
    "actionParameters": {"id": cloudflare.CLOUDFLARE_MANAGED_RULESET},
}
PRO = {"ticketing:cloudflare": json.dumps({"zoneId": ZONE, "plan": "pro"})}
FREE = {"ticketing:cloudflare": json.dumps({"zoneId": ZONE, "plan": "free"})}


def test_managed_waf_executed_where_the_zone_plan_allows() -> None:
    rule = "cloudflare-managed-waf"
    waf = ruleset(cloudflare.MANAGED_PHASE, MANAGED)
    assert run_stack_rule(rule, [dns(), waf], stack_config=PRO).clean
    missing = run_stack_rule(rule, [dns()], stack_config=PRO)
    assert missing.mentions("no enabled rule executes the Cloudflare Managed Ruleset")
    disabled = ruleset(cloudflare.MANAGED_PHASE, {**MANAGED, "enabled": False})
    assert run_stack_rule(rule, [dns(), disabled], stack_config=PRO).violations


def test_free_zone_must_execute_the_free_managed_ruleset() -> None:
    rule = "cloudflare-managed-waf"
    outcome = run_stack_rule(rule, [dns()], stack_config=FREE)
    assert outcome.mentions("no enabled rule executes the Cloudflare Free Managed Ruleset")
    free_waf = ruleset(
        cloudflare.MANAGED_PHASE,
        {**MANAGED, "actionParameters": {"id": cloudflare.FREE_MANAGED_RULESET}},
    )
    assert run_stack_rule(rule, [dns(), free_waf], stack_config=FREE).clean
    # A zone without a plan in its config is on the settings' default (free) plan.
    default = {"ticketing:cloudflare": json.dumps({"zoneId": ZONE})}
    assert run_stack_rule(rule, [dns(), free_waf], stack_config=default).clean
    # The rule's config can say otherwise; with no information at all the rule is strict.
    assert run_stack_rule(rule, [dns()], stack_config=FREE, config={"zonePlan": "pro"}).violations
    assert run_stack_rule(rule, [dns()]).violations


def test_managed_waf_unknown_rules_do_not_crash() -> None:
    waf = ruleset(cloudflare.MANAGED_PHASE, {**MANAGED, "actionParameters": {"id": UNKNOWN}})
    outcome = run_stack_rule("cloudflare-managed-waf", [dns(), waf], stack_config=PRO)
    assert outcome.violations == [] and outcome.not_applicable


def limit(expression: str, action: str = "block") -> dict[str, Any]:
    return {
        "action": action,
        "expression": expression,
        "enabled": True,
        "ratelimit": {
            "characteristics": ["ip.src", "cf.colo.id"],
            "period": 60,
            "requestsPerPeriod": 20,
            "mitigationTimeout": 600,
        },
    }


IDENTITY = limit(
    '(http.host eq "api.example-tickets.com" and (starts_with(http.request.uri.path, '
    '"/identity/login") or starts_with(http.request.uri.path, "/identity/token")))'
)
PAYMENTS = limit('(starts_with(http.request.uri.path, "/payments"))', action="managed_challenge")


def test_rate_limits_for_identity_and_payments() -> None:
    rule = "cloudflare-rate-limits"
    both = ruleset(cloudflare.RATELIMIT_PHASE, IDENTITY, PAYMENTS)
    assert run_stack_rule(rule, [dns(), both]).clean
    only_identity = run_stack_rule(rule, [dns(), ruleset(cloudflare.RATELIMIT_PHASE, IDENTITY)])
    paths = ", ".join(service("payments").rate_limited_paths)
    assert only_identity.messages == [
        f"no enabled, enforcing rate-limit rule covers payments ({paths})."
    ]
    none = run_stack_rule(rule, [dns()])
    assert none.mentions("covers identity") and none.mentions("covers payments")


def test_rate_limits_follow_the_stacks_path_prefix() -> None:
    moved = {"ticketing:services": json.dumps({"payments": {"image": "x:1", "pathPrefix": "/pay"}})}
    pay = limit('(starts_with(http.request.uri.path, "/pay"))')
    renamed = ruleset(cloudflare.RATELIMIT_PHASE, IDENTITY, pay)
    assert run_stack_rule("cloudflare-rate-limits", [dns(), renamed], stack_config=moved).clean
    stale = ruleset(cloudflare.RATELIMIT_PHASE, IDENTITY, PAYMENTS)
    outcome = run_stack_rule("cloudflare-rate-limits", [dns(), stale], stack_config=moved)
    assert outcome.messages == ["no enabled, enforcing rate-limit rule covers payments (/pay)."]


def test_rate_limits_must_enforce() -> None:
    logging_only = ruleset(cloudflare.RATELIMIT_PHASE, IDENTITY, {**PAYMENTS, "action": "log"})
    assert run_stack_rule("cloudflare-rate-limits", [dns(), logging_only]).mentions(
        "covers payments"
    )


def test_rate_limits_unknown_expression_does_not_crash() -> None:
    pending = ruleset(cloudflare.RATELIMIT_PHASE, IDENTITY, limit(UNKNOWN))
    assert run_stack_rule("cloudflare-rate-limits", [dns(), pending]).violations == []
