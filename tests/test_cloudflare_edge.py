"""CloudflareEdge: zone settings, proxied records, rulesets; expressions as pure functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.edge.cloudflare_edge import (
    HTTP_DDOS_RULESET,
    admin_block_expression,
    method_block_expression,
    rate_limit_expression,
)
from components.edge.origin import ORIGIN_HEADER
from plan.model import Plan, Resource, Secret
from plan.resource_types import DNS_RECORD, RULESET
from seed import catalog
from seed.zone_plans import (
    CLOUDFLARE_MANAGED_RULESET,
    FREE_MANAGED_RULESET,
    OWASP_CORE_RULESET,
)

ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
NOTIFICATION_POLICY = "cloudflare:index/notificationPolicy:NotificationPolicy"
WAITING_ROOM = "cloudflare:index/waitingRoom:WaitingRoom"


def public_records(plan: Plan) -> list[Resource]:
    (edge,) = plan.of_type("ticketing:cloudflare:CloudflareEdge")
    return [r for r in plan.children(edge.urn) if r.type == DNS_RECORD]


def ruleset(plan: Plan, phase: str) -> Resource:
    (found,) = [r for r in plan.of_type(RULESET) if r.inputs["phase"] == phase]
    return found


def rules(plan: Plan, phase: str) -> list[dict[str, Any]]:
    value = ruleset(plan, phase).inputs["rules"]
    return value.value if isinstance(value, Secret) else value


def settings(plan: Plan) -> dict[str, Any]:
    return {r.inputs["settingId"]: r.inputs["value"] for r in plan.of_type(ZONE_SETTING)}


# --- DNS -------------------------------------------------------------------------------------


def test_every_public_record_is_proxied_to_the_static_ips(prod_plan: Plan) -> None:
    records = public_records(prod_plan)
    hosts = prod_plan.outputs["publicHostnames"].values()
    ips = prod_plan.outputs["staticIps"]
    assert len(ips) == 3
    assert all(r.inputs["proxied"] is True and r.inputs["ttl"] == 1.0 for r in records)
    for host in hosts:
        mine = [r for r in records if r.inputs["name"] == host]
        assert all(r.inputs["type"] == "A" for r in mine)
        assert sorted(r.inputs["content"] for r in mine) == sorted(ips)
    assert {r.inputs["name"] for r in records} == set(hosts)


def test_without_static_ips_records_point_at_the_alb(dev_plan: Plan) -> None:
    records = public_records(dev_plan)
    assert sorted(r.inputs["name"] for r in records) == sorted(
        dev_plan.outputs["publicHostnames"].values()
    )
    for record in records:
        assert record.inputs["type"] == "CNAME"
        assert record.inputs["proxied"] is True
        assert record.inputs["content"] == dev_plan.outputs["albDnsName"]


def test_no_public_hostname_is_unproxied(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "staging", "prod"):
        plan = plan_of(stack)
        hosts = set(plan.outputs["publicHostnames"].values())
        on_hosts = [r for r in plan.of_type(DNS_RECORD) if r.inputs["name"] in hosts]
        assert on_hosts and all(r.inputs["proxied"] is True for r in on_hosts)


def test_the_zone_is_configured_not_created(prod_plan: Plan) -> None:
    zone = "2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a"
    assert prod_plan.outputs["zoneId"] == zone
    assert prod_plan.of_type("cloudflare:index/zone:Zone") == []
    zoned = [
        r
        for r in prod_plan
        if r.type.startswith("cloudflare:index/") and r.type != NOTIFICATION_POLICY
    ]
    assert {r.inputs["zoneId"] for r in zoned} == {zone}


# --- zone settings ----------------------------------------------------------------------------


def test_zone_settings_enforce_strict_tls(dev_plan: Plan) -> None:
    values = settings(dev_plan)
    assert values["ssl"] == "strict"
    assert values["min_tls_version"] == "1.2"
    assert values["tls_1_3"] == "on"
    assert values["always_use_https"] == "on"
    assert values["automatic_https_rewrites"] == "on"
    assert values["browser_check"] == "on"


def test_hsts_max_age_follows_the_environment(plan_of: Callable[[str], Plan]) -> None:
    ages = {
        stack: settings(plan_of(stack))["security_header"]["strict_transport_security"]["max_age"]
        for stack in ("dev", "staging", "prod")
    }
    assert ages == {"dev": 300.0, "staging": 86_400.0, "prod": 31_536_000.0}


# --- rulesets ---------------------------------------------------------------------------------


def test_one_entry_point_ruleset_per_phase(prod_plan: Plan) -> None:
    phases = [r.inputs["phase"] for r in prod_plan.of_type(RULESET)]
    assert len(phases) == len(set(phases))
    assert all(r.inputs["kind"] == "zone" for r in prod_plan.of_type(RULESET))


def executed(plan: Plan) -> list[str]:
    return [
        r["actionParameters"]["id"]
        for r in rules(plan, "http_request_firewall_managed")
        if r["action"] == "execute"
    ]


def test_paid_zones_run_cloudflare_managed_and_owasp_in_block_mode(prod_plan: Plan) -> None:
    assert executed(prod_plan) == [CLOUDFLARE_MANAGED_RULESET, OWASP_CORE_RULESET]
    assert all(
        "overrides" not in r["actionParameters"]
        for r in rules(prod_plan, "http_request_firewall_managed")
        if r["action"] == "execute"
    )
    assert prod_plan.outputs["managedWaf"] is True


def test_free_zone_runs_the_free_managed_ruleset(dev_plan: Plan) -> None:
    # Cloudflare's plan data: the Free Managed Ruleset is on every plan, the others paid.
    assert executed(dev_plan) == [FREE_MANAGED_RULESET]
    assert dev_plan.outputs["managedRulesets"] == ["Cloudflare Free Managed Ruleset"]
    assert dev_plan.outputs["managedWaf"] is False


def test_log_mode_overrides_every_managed_rule_to_log(plan_of: Callable[[str], Plan]) -> None:
    found = rules(plan_of("staging"), "http_request_firewall_managed")
    runs = [r for r in found if r["action"] == "execute"]
    assert runs and all(r["actionParameters"]["overrides"] == {"action": "log"} for r in runs)


def test_skip_paths_come_first_and_skip_the_rest_of_the_managed_rules(
    plan_of: Callable[[str], Plan],
) -> None:
    first, *rest = rules(plan_of("prod"), "http_request_firewall_managed")
    assert first["action"] == "skip"
    assert first["actionParameters"] == {"ruleset": "current"}
    assert first["expression"] == '(starts_with(http.request.uri.path, "/payments/webhooks/"))'
    assert [r["action"] for r in rest] == ["execute", "execute"]


def test_admin_hostname_is_limited_to_allowed_countries_and_ips(prod_plan: Plan) -> None:
    (admin,) = [
        r for r in rules(prod_plan, "http_request_firewall_custom") if "ip.src" in r["expression"]
    ]
    assert admin["action"] == "block"
    assert admin["expression"] == (
        '(http.host eq "admin.example-tickets.com" and not '
        '(ip.src.country in {"DE" "NL"} or ip.src in {203.0.113.0/24}))'
    )


def test_unsupported_methods_are_blocked(dev_plan: Plan) -> None:
    (methods,) = [
        r for r in rules(dev_plan, "http_request_firewall_custom") if "method" in r["expression"]
    ]
    assert methods["action"] == "block"
    assert "not http.request.method in" in methods["expression"]


def test_ddos_sensitivity_follows_config(plan_of: Callable[[str], Plan]) -> None:
    for stack, level in (("prod", "default"), ("staging", "medium")):
        (rule,) = rules(plan_of(stack), "ddos_l7")
        assert rule["actionParameters"]["id"] == HTTP_DDOS_RULESET
        assert rule["actionParameters"]["overrides"]["sensitivityLevel"] == level


def test_rate_limits_cover_login_token_and_payments_with_config_thresholds(
    prod_plan: Plan,
) -> None:
    found = {r["description"].split(":")[0]: r for r in rules(prod_plan, "http_ratelimit")}
    assert found["Identity"]["ratelimit"]["requestsPerPeriod"] == 10.0
    assert found["Payments"]["ratelimit"]["requestsPerPeriod"] == 30.0
    assert '"/identity/login"' in found["Identity"]["expression"]
    assert '"/identity/token"' in found["Identity"]["expression"]
    assert '"/payments"' in found["Payments"]["expression"]  # the bare collection path too
    assert all(r["action"] == "block" for r in found.values())
    # Business counts "IP with NAT support" (per visitor, not per shared address), per data
    # centre as every plan requires.
    assert all(
        r["ratelimit"]["characteristics"] == ["cf.unique_visitor_id", "cf.colo.id"]
        for r in found.values()
    )


def test_rate_limits_follow_a_renamed_path_prefix(capture: Callable[..., Plan]) -> None:
    services = {s.name: {"image": f"ghcr.io/example/{s.name}:1.0.0"} for s in catalog.SERVICES}
    services["payments"]["pathPrefix"] = "/pay"
    plan = capture("staging", {"ticketing:services": services})
    (payments,) = [r for r in rules(plan, "http_ratelimit") if r["description"].startswith("Pay")]
    assert '"/pay"' in payments["expression"] and "/payments" not in payments["expression"]


def test_free_zone_gets_one_path_only_rate_limit_within_its_limits(dev_plan: Plan) -> None:
    # Free zones allow one rule, the path field only, a 10 s period and a 10 s block.
    (rule,) = rules(dev_plan, "http_ratelimit")
    assert "http.host" not in rule["expression"]
    for path in ("/identity/login", "/identity/token", "/payments"):
        assert f'"{path}"' in rule["expression"]
    assert rule["ratelimit"]["characteristics"] == ["ip.src", "cf.colo.id"]
    assert rule["ratelimit"]["period"] == 10.0
    assert rule["ratelimit"]["mitigationTimeout"] == 10.0
    assert rule["ratelimit"]["requestsPerPeriod"] == 5.0  # identity's threshold


def test_free_zone_rule_takes_the_configured_identity_threshold(
    capture: Callable[..., Plan],
) -> None:
    dev_cloudflare = {
        "zoneId": "0b1e2c3d4e5f60718293a4b5c6d7e8f9",
        "plan": "free",
        "rateLimits": {"identity": {"requests": 20}},
    }
    (rule,) = rules(capture("dev", {"ticketing:cloudflare": dev_cloudflare}), "http_ratelimit")
    assert rule["description"] == "Identity and Payments: 20 requests per 10s per client IP"
    assert rule["ratelimit"]["requestsPerPeriod"] == 20.0


def test_paid_zone_gets_one_host_scoped_rule_per_service(plan_of: Callable[[str], Plan]) -> None:
    found = rules(plan_of("staging"), "http_ratelimit")
    assert [r["description"].split(":")[0] for r in found] == ["Identity", "Payments"]
    assert all('http.host eq "api.example-tickets-staging.com"' in r["expression"] for r in found)


def test_cache_rules_cache_fingerprinted_assets_long_and_bypass_the_api(prod_plan: Plan) -> None:
    _, hashed, api = rules(prod_plan, "http_request_cache_settings")
    year = {"mode": "override_origin", "default": 31_536_000.0}
    assert hashed["actionParameters"] == {"cache": True, "edgeTtl": year, "browserTtl": year}
    assert 'starts_with(http.request.uri.path, "/assets/")' in hashed["expression"]
    assert '"app.example-tickets.com"' in hashed["expression"]
    assert '"api.example-tickets.com"' not in hashed["expression"]
    assert api["expression"] == '(http.host eq "api.example-tickets.com")'
    assert api["actionParameters"] == {"cache": False}


def test_other_static_files_keep_their_origin_headers(prod_plan: Plan) -> None:
    # A service worker (sw.js), runtime config (config.json), manifest: never overridden.
    # It comes before the fingerprinted rule: of several matching cache rules the last wins.
    other, _, _ = rules(prod_plan, "http_request_cache_settings")
    assert other["actionParameters"] == {
        "cache": True,
        "edgeTtl": {"mode": "respect_origin"},
        "browserTtl": {"mode": "respect_origin"},
    }
    for extension in ("js", "json", "txt", "webmanifest"):
        assert f'"{extension}"' in other["expression"]
    assert "override_origin" not in str(other)


def test_browser_integrity_check_is_off_for_the_api_only(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "staging", "prod"):
        plan = plan_of(stack)
        (rule,) = rules(plan, "http_config_settings")
        api = plan.outputs["publicHostnames"]["api"]
        assert rule == {
            "ref": "api-browser-integrity-check-off",
            "action": "set_config",
            "expression": f'(http.host eq "{api}")',
            "description": rule["description"],
            "actionParameters": {"bic": False},
        }
        assert settings(plan)["browser_check"] == "on"  # the web hostnames keep it


def test_dnssec_is_active_on_every_zone(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "staging", "prod"):
        (dnssec,) = plan_of(stack).of_type("cloudflare:index/zoneDnssec:ZoneDnssec")
        assert dnssec.inputs["status"] == "active"


def test_waiting_room_guards_the_ticketing_api_on_business(plan_of: Callable[[str], Plan]) -> None:
    (room,) = plan_of("prod").of_type(WAITING_ROOM)
    assert room.inputs["host"] == "api.example-tickets.com"
    assert room.inputs["path"] == "/ticketing"
    assert room.inputs["totalActiveUsers"] == 5000.0
    assert room.inputs["newUsersPerMinute"] == 1000.0
    assert room.inputs["queueingStatusCode"] == 429.0
    assert plan_of("staging").of_type(WAITING_ROOM) == []


def test_notifications_mail_the_alarm_addresses_the_alerts_the_zone_plan_has(
    plan_of: Callable[[str], Plan],
) -> None:
    policies = plan_of("prod").of_type(NOTIFICATION_POLICY)
    assert sorted(p.inputs["alertType"] for p in policies) == [
        "dos_attack_l7",
        "real_origin_monitoring",
    ]  # the origin error rate alert is Enterprise-only (Cloudflare's notification data)
    for policy in policies:
        assert policy.inputs["mechanisms"] == {
            "emails": [{"id": "platform-oncall@tickets.example.com"}]
        }
        assert policy.inputs["accountId"] == "9a8b7c6d5e4f30211203f4e5d6c7b8a9"


def test_every_rule_has_a_unique_stable_ref(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "staging", "prod"):
        for found in plan_of(stack).of_type(RULESET):
            value = found.inputs["rules"]
            listed = value.value if isinstance(value, Secret) else value
            refs = [r["ref"] for r in listed]
            assert all(refs) and len(refs) == len(set(refs)), (stack, refs)


def test_origin_lock_sets_a_secret_header_on_our_hostnames(prod_plan: Plan) -> None:
    lock = ruleset(prod_plan, "http_request_late_transform").inputs["rules"]
    assert isinstance(lock, Secret)
    (rule,) = lock.value
    header = rule["actionParameters"]["headers"][ORIGIN_HEADER]
    assert rule["action"] == "rewrite"
    assert header["operation"] == "set" and len(header["value"]) == 48
    for host in prod_plan.outputs["publicHostnames"].values():
        assert f'"{host}"' in rule["expression"]


# --- expressions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("countries", "ips", "expected"),
    [
        (["DE"], [], '(http.host eq "a.x" and not (ip.src.country in {"DE"}))'),
        ([], ["10.0.0.0/8"], '(http.host eq "a.x" and not (ip.src in {10.0.0.0/8}))'),
        ([], [], '(http.host eq "a.x")'),
    ],
)
def test_admin_expression(countries: list[str], ips: list[str], expected: str) -> None:
    assert admin_block_expression("a.x", countries, ips) == expected


def test_method_expression_lists_hosts_and_methods() -> None:
    expression = method_block_expression(["a.x", "b.x"])
    assert expression.startswith('(http.host in {"a.x" "b.x"} and not http.request.method in {')
    assert '"GET"' in expression and '"TRACE"' not in expression


def test_rate_limit_expression_matches_any_listed_prefix() -> None:
    assert rate_limit_expression("api.x", ["/a", "/b"]) == (
        '(http.host eq "api.x" and (starts_with(http.request.uri.path, "/a") or '
        'starts_with(http.request.uri.path, "/b")))'
    )
