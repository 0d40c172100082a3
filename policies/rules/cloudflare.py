"""Cloudflare rules: proxied DNS, zone TLS settings, the managed WAF, rate limits.

Zone settings, the WAF and rate limits are about what a zone *has*, so they are
stack rules over the resources' outputs; a stack without Cloudflare resources
(a venue stack) is out of their scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.rules.common import (
    Category,
    Reporter,
    at,
    config_value,
    elements,
    is_map,
    is_unknown,
    resource_rule,
    stack_rule,
    stack_setting,
    text,
)
from seed import zone_plans
from seed.catalog import SERVICES, DomainService

DNS_RECORD: Final = "cloudflare:index/dnsRecord:DnsRecord"
LEGACY_RECORD: Final = "cloudflare:index/record:Record"  # deprecated alias, same rules
ZONE_SETTING: Final = "cloudflare:index/zoneSetting:ZoneSetting"
RULESET: Final = "cloudflare:index/ruleset:Ruleset"

PROXIABLE_TYPES: Final = frozenset({"A", "AAAA", "CNAME"})
ACM_VALIDATION_TARGET: Final = re.compile(r"\.acm-validations\.aws\.?$", re.IGNORECASE)
MANAGED_PHASE: Final = "http_request_firewall_managed"
RATELIMIT_PHASE: Final = "http_ratelimit"
# Cloudflare Managed Ruleset (Cloudflare docs; not in the SDK). Override with managedRulesetIds.
CLOUDFLARE_MANAGED_RULESET: Final = zone_plans.CLOUDFLARE_MANAGED_RULESET
FREE_MANAGED_RULESET: Final = zone_plans.FREE_MANAGED_RULESET
ENFORCING_ACTIONS: Final = frozenset({"block", "challenge", "managed_challenge", "js_challenge"})
ZONE_PLANS: Final = tuple(zone_plans.ZONE_PLANS)
# components.settings.CloudflareSettings.zone_plan's default, for stack config without a plan.
SETTINGS_DEFAULT_ZONE_PLAN: Final = "free"


def _dns_proxied(args: ResourceValidationArgs, report: Reporter) -> None:
    kind = at(args.props, "type")
    if is_unknown(kind):
        args.not_applicable("the record type can't be known during preview")
        return
    if (text(kind) or "").upper() not in PROXIABLE_TYPES:
        return  # TXT, MX, ... can't be proxied
    proxied = at(args.props, "proxied")
    if proxied is True:
        return
    name, content = at(args.props, "name"), at(args.props, "content")
    if (text(name) or "").startswith("_") or ACM_VALIDATION_TARGET.search(text(content) or ""):
        args.not_applicable("a validation record (ACM) must not be proxied")
        return
    if is_unknown(proxied) or is_unknown(name) or is_unknown(content):
        args.not_applicable("name or target unknown during preview: may be an ACM validation")
        return
    report(
        f"{text(kind)} record {text(name)} is not proxied: its origin is exposed and "
        "bypasses the WAF."
    )


def cloudflare_resources(args: StackValidationArgs) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type.startswith("cloudflare:")]


def _zone_key(resource: PolicyResource) -> str:
    zone = at(resource.props, "zoneId")
    return text(zone) or "(zone unknown during preview)"


def _zone_setting_check(
    setting: str, accept: Callable[[Any, Any], bool], expected: str
) -> Callable[[StackValidationArgs, Reporter], None]:
    def check(args: StackValidationArgs, report: Reporter) -> None:
        resources = cloudflare_resources(args)
        if not resources:
            args.not_applicable("no Cloudflare resources in this stack")
            return
        zones = {_zone_key(r) for r in resources if at(r.props, "zoneId") is not None}
        settings = [
            r
            for r in resources
            if r.resource_type == ZONE_SETTING and at(r.props, "settingId") == setting
        ]
        for resource in settings:
            value = at(resource.props, "value")
            if not is_unknown(value) and not accept(value, args.get_config()):
                report(f"zone setting {setting} is {value!r}; it must be {expected}.", resource.urn)
        for zone in sorted(zones - {_zone_key(r) for r in settings}):
            report(f"zone {zone} has no {setting} setting; it must be {expected}.")

    return check


def _version(value: Any) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in str(value).split("."))
    except ValueError:
        return None


def _tls_at_least(value: Any, config: Any) -> bool:
    minimum = _version(config_value(config, "minimumVersion", "1.2")) or (1, 2)
    version = _version(value)
    return version is not None and version >= minimum


def zone_plan(config: Any) -> str | None:
    """The zone's Cloudflare plan: the rule's `zonePlan` config, else `ticketing:cloudflare`."""
    explicit = text(at(config, "zonePlan"))
    if explicit in ZONE_PLANS:
        return explicit
    cloudflare = stack_setting("cloudflare")
    if is_map(cloudflare):
        return text(at(cloudflare, "plan")) or SETTINGS_DEFAULT_ZONE_PLAN
    return None


def _rulesets(args: StackValidationArgs, phase: str) -> list[PolicyResource]:
    return [
        r
        for r in cloudflare_resources(args)
        if r.resource_type == RULESET and at(r.props, "phase") == phase
    ]


def _managed_waf(args: StackValidationArgs, report: Reporter) -> None:
    if not cloudflare_resources(args):
        args.not_applicable("no Cloudflare resources in this stack")
        return
    tier = zone_plan(args.get_config())
    free = tier is not None and "Cloudflare Managed Ruleset" not in (
        zone_plans.ZONE_PLANS[tier].managed_rulesets
    )
    # Cloudflare's plan data: the Free Managed Ruleset is on every plan, the paid ones not.
    wanted = (
        {FREE_MANAGED_RULESET}
        if free
        else {
            text(i)
            for i in elements(
                config_value(args.get_config(), "managedRulesetIds", [CLOUDFLARE_MANAGED_RULESET])
            )
        }
    )
    name = "Cloudflare Free Managed Ruleset" if free else "Cloudflare Managed Ruleset"
    undecided = False
    for ruleset in _rulesets(args, MANAGED_PHASE):
        for rule in elements(at(ruleset.props, "rules")):
            action, enabled = at(rule, "action"), at(rule, "enabled")
            target = at(rule, "actionParameters", "id")
            if any(is_unknown(v) for v in (rule, action, enabled, target)):
                undecided = True
            elif action == "execute" and enabled is not False and text(target) in wanted:
                return
    if undecided:
        args.not_applicable("the managed ruleset rules can't be known during preview")
        return
    report(
        f"no enabled rule executes the {name} in phase {MANAGED_PHASE} "
        f"(zone plan {tier or 'unknown'})."
    )


def rate_limited_paths(service: DomainService) -> list[str]:
    """The service's rate-limited paths under the stack's path prefix for it.

    A stack may move a service (`ticketing:services.<name>.pathPrefix`); the edge
    then limits the same paths under the new prefix (as
    `components.edge.cloudflare_edge.path_prefixes` does).
    """
    prefix = text(at(stack_setting("services"), service.name, "pathPrefix")) or service.path_prefix
    return [prefix + path[len(service.path_prefix) :] for path in service.rate_limited_paths]


def _rate_limits(args: StackValidationArgs, report: Reporter) -> None:
    if not cloudflare_resources(args):
        args.not_applicable("no Cloudflare resources in this stack")
        return
    expressions: list[str] = []
    undecided = False
    for ruleset in _rulesets(args, RATELIMIT_PHASE):
        for rule in elements(at(ruleset.props, "rules")):
            action, expression = at(rule, "action"), at(rule, "expression")
            if is_unknown(rule) or is_unknown(action) or is_unknown(expression):
                undecided = True
                continue
            limited = at(rule, "ratelimit") is not None and at(rule, "enabled") is not False
            if limited and action in ENFORCING_ACTIONS and text(expression):
                expressions.append(str(expression))
    for service in SERVICES:
        paths = rate_limited_paths(service)
        if not paths:
            continue
        # The path as a string literal of the expression: `"/pay"` is not `"/payments"`.
        if not any(f'"{p}"' in e for e in expressions for p in paths) and not undecided:
            report(
                f"no enabled, enforcing rate-limit rule covers {service.name} ({', '.join(paths)})."
            )


def _zone_setting_rule(
    name: str, setting: str, accept: Callable[[Any, Any], bool], expected: str, **extra: Any
) -> StackValidationPolicy:
    return stack_rule(
        name,
        description=f"Every Cloudflare zone sets {setting} to {expected}.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation=f'Add cloudflare.ZoneSetting(setting_id="{setting}", value=...) set to '
        f"{expected} in CloudflareEdge.",
        check=_zone_setting_check(setting, accept, expected),
        **extra,
    )


POLICIES = [
    resource_rule(
        "cloudflare-dns-proxied",
        description="Every public A/AAAA/CNAME record is proxied through Cloudflare "
        "(ACM validation records exempt).",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set proxied=True (with ttl=1): the origin IPs stay private and the WAF, "
        "DDoS protection and rate limits apply.",
        types=[DNS_RECORD, LEGACY_RECORD],
        check=_dns_proxied,
    ),
    _zone_setting_rule("cloudflare-ssl-strict", "ssl", lambda v, _c: v == "strict", '"strict"'),
    _zone_setting_rule(
        "cloudflare-min-tls",
        "min_tls_version",
        _tls_at_least,
        "at least the minimum TLS version (1.2)",
        config={"minimumVersion": {"type": "string", "enum": ["1.2", "1.3"], "default": "1.2"}},
    ),
    _zone_setting_rule(
        "cloudflare-always-https", "always_use_https", lambda v, _c: v == "on", '"on"'
    ),
    stack_rule(
        "cloudflare-managed-waf",
        description="Every zone executes a managed WAF ruleset: the Cloudflare Managed Ruleset "
        "where the plan includes it, else the Free Managed Ruleset (all plans).",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation=f'Add a zone Ruleset in phase {MANAGED_PHASE} with an "execute" rule for '
        f"the managed ruleset id {CLOUDFLARE_MANAGED_RULESET} (free plan: "
        f"{FREE_MANAGED_RULESET}).",
        check=_managed_waf,
        config={
            "zonePlan": {
                "type": "string",
                "enum": list(ZONE_PLANS),
                "description": "Override the plan (normally read from ticketing:cloudflare.plan).",
            },
            "managedRulesetIds": {
                "type": "array",
                "items": {"type": "string"},
                "default": [CLOUDFLARE_MANAGED_RULESET],
            },
        },
    ),
    stack_rule(
        "cloudflare-rate-limits",
        description="Rate-limit rules exist for every rate-limited service path in the catalog "
        "(identity's login and token, payments), under the stack's path prefixes.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation=f"Add a Ruleset in phase {RATELIMIT_PHASE} with an enforcing rule (block or "
        "challenge) per service whose expression matches its paths "
        "(ticketing:cloudflare.rateLimits).",
        check=_rate_limits,
    ),
]
