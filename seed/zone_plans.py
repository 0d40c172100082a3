"""What each Cloudflare zone plan includes, as one table every plan-dependent choice reads.

An extract of Cloudflare's published plan data, not a copy of it. Sources, read
on `RETRIEVED` at the commits named:

- `PLANS_JSON`: cloudflare/cloudflare-docs `src/content/plans/index.json`
  (rule counts per phase, managed rulesets, subdomain zones, Waiting Room,
  minimum edge cache TTL, DNSSEC, Authenticated Origin Pulls);
- `RATE_LIMITING`: the same repository's
  `src/content/partials/waf/rate-limiting-availability-by-plan.mdx` (fields in
  a rate-limiting rule's expression, counting characteristics, periods); its
  "Enterprise with app security" column is `enterprise` here (the Advanced
  Rate Limiting add-on is not modelled);
- `NOTIFICATIONS`: the same repository's `src/content/notifications/index.yaml`
  (which alert types each plan may subscribe to).

Where two sources disagree (rate-limiting rules on Enterprise: 5 in the plan
data, "100, depending on contract" in the partial) the table keeps the smaller
number. No Pulumi import: the policy pack's virtualenv reads this too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

RETRIEVED: Final = "2026-12-02"
PLANS_JSON: Final = (
    "https://github.com/cloudflare/cloudflare-docs/blob/"
    "0188ca2f50e3f50c3cc67cbc095989ebabe9e062/src/content/plans/index.json"
)
RATE_LIMITING: Final = (
    "https://github.com/cloudflare/cloudflare-docs/blob/07acbb6612b5cefa1f8348106c158b0814a2972a/"
    "src/content/partials/waf/rate-limiting-availability-by-plan.mdx"
)
NOTIFICATIONS: Final = (
    "https://github.com/cloudflare/cloudflare-docs/blob/"
    "b3f2adde9ff8ac21673d3729c3a0f25805dafb8e/src/content/notifications/index.yaml"
)

# Managed WAF rulesets by name -> Cloudflare's ruleset id (developers.cloudflare.com/waf/
# managed-rules/, "Ruleset ID" of each row).
FREE_MANAGED_RULESET: Final = "77454fe2d30c4220b5701f6fdfb893ba"
CLOUDFLARE_MANAGED_RULESET: Final = "efb7b8c949ac4650a09736fc376e9aee"
OWASP_CORE_RULESET: Final = "4814384a9e5d4991b9815dcfc25d2f1f"
MANAGED_RULESET_IDS: Final[dict[str, str]] = {
    "Cloudflare Free Managed Ruleset": FREE_MANAGED_RULESET,
    "Cloudflare Managed Ruleset": CLOUDFLARE_MANAGED_RULESET,
    "Cloudflare OWASP Core Ruleset": OWASP_CORE_RULESET,
}

# Rate-limiting counting characteristics by the partial's names -> the rule's field.
# `cf.colo.id` is not a choice: Cloudflare requires it in every rule's characteristics.
IP: Final = "ip.src"
IP_WITH_NAT_SUPPORT: Final = "cf.unique_visitor_id"


@dataclass(frozen=True)
class ZonePlanEntitlements:
    """What one zone plan includes (attribute comments name the source key).

    Args:
        custom_rules: WAF custom rules (`security.waf_c_custom_rules.b_custom_rules`).
        rate_limit_rules: rate-limiting rules (`security.rate_limiting.rules`).
        rate_limit_fields: fields a rate-limiting rule's expression may use (partial).
        rate_limit_characteristics: what a rule may count by, besides `cf.colo.id` (partial).
        rate_limit_periods_up_to: longest counting period, seconds (partial).
        rate_limit_mitigation_up_to: longest mitigation timeout, seconds (partial).
        managed_rulesets: managed WAF rulesets the plan may deploy
            (`security.waf_a_managed_rules`: free_ruleset, managed_ruleset_1, _2).
        cache_rules / config_rules / transform_rules: rules per phase
            (`cache.cache_rules.rules`, `rules.config_rules.num_rules`,
            `rules.transform_rules.num_rules`).
        min_edge_ttl_seconds: shortest edge cache TTL (`cache.edge_cache_ttl.minimum`).
        subdomain_zones: a zone may be a subdomain of another registrable domain
            (`dns.subdomain_setup`).
        waiting_rooms: Waiting Rooms per zone (`traffic.waiting_room.b_rooms`).
        waiting_room_status_code: the queueing status code can be set
            (`traffic.waiting_room.k_customize_queuing_status_code`).
        dnssec: `dns.dnssec`.
        authenticated_origin_pulls: `ssl.authenticated_origin_pulls`.
        alert_types: notification alert types the plan may subscribe to (notifications data:
            "HTTP DDoS Attack Alert" and "Passive Origin Monitoring" on all plans, "Origin
            Error Rate Alert" on Enterprise).
    """

    custom_rules: int
    rate_limit_rules: int
    rate_limit_fields: frozenset[str]
    rate_limit_characteristics: tuple[str, ...]
    rate_limit_periods_up_to: int
    rate_limit_mitigation_up_to: int
    managed_rulesets: tuple[str, ...]
    cache_rules: int
    config_rules: int
    transform_rules: int
    min_edge_ttl_seconds: int
    subdomain_zones: bool
    waiting_rooms: int
    waiting_room_status_code: bool
    dnssec: bool
    authenticated_origin_pulls: bool
    alert_types: tuple[str, ...]


_PATH: Final = frozenset({"http.request.uri.path", "cf.bot_management.verified_bot"})
# "Host, URI, Path, Full URI, Query, Verified Bot"
_PRO_FIELDS: Final = _PATH | {
    "http.host",
    "http.request.uri",
    "http.request.full_uri",
    "http.request.uri.query",
}
# "... Method, Source IP, User Agent"
_BUSINESS_FIELDS: Final = _PRO_FIELDS | {"http.request.method", "ip.src", "http.user_agent"}
_ALL_PLANS_ALERTS: Final = ("dos_attack_l7", "real_origin_monitoring")
_PAID_RULESETS: Final = ("Cloudflare Managed Ruleset", "Cloudflare OWASP Core Ruleset")

ZONE_PLANS: Final[dict[str, ZonePlanEntitlements]] = {
    "free": ZonePlanEntitlements(
        custom_rules=5,
        rate_limit_rules=1,
        rate_limit_fields=_PATH,
        rate_limit_characteristics=(IP,),
        rate_limit_periods_up_to=10,
        rate_limit_mitigation_up_to=10,
        managed_rulesets=("Cloudflare Free Managed Ruleset",),
        cache_rules=10,
        config_rules=10,
        transform_rules=10,
        min_edge_ttl_seconds=7200,
        subdomain_zones=False,
        waiting_rooms=0,
        waiting_room_status_code=False,
        dnssec=True,
        authenticated_origin_pulls=True,
        alert_types=_ALL_PLANS_ALERTS,
    ),
    "pro": ZonePlanEntitlements(
        custom_rules=20,
        rate_limit_rules=2,
        rate_limit_fields=_PRO_FIELDS,
        rate_limit_characteristics=(IP,),
        rate_limit_periods_up_to=60,
        rate_limit_mitigation_up_to=3600,
        managed_rulesets=("Cloudflare Free Managed Ruleset", *_PAID_RULESETS),
        cache_rules=25,
        config_rules=25,
        transform_rules=25,
        min_edge_ttl_seconds=3600,
        subdomain_zones=False,
        waiting_rooms=0,
        waiting_room_status_code=False,
        dnssec=True,
        authenticated_origin_pulls=True,
        alert_types=_ALL_PLANS_ALERTS,
    ),
    "business": ZonePlanEntitlements(
        custom_rules=100,
        rate_limit_rules=5,
        rate_limit_fields=_BUSINESS_FIELDS,
        rate_limit_characteristics=(IP, IP_WITH_NAT_SUPPORT),
        rate_limit_periods_up_to=600,
        rate_limit_mitigation_up_to=86400,
        managed_rulesets=("Cloudflare Free Managed Ruleset", *_PAID_RULESETS),
        cache_rules=50,
        config_rules=50,
        transform_rules=50,
        min_edge_ttl_seconds=1,
        subdomain_zones=False,
        waiting_rooms=1,
        waiting_room_status_code=True,
        dnssec=True,
        authenticated_origin_pulls=True,
        alert_types=_ALL_PLANS_ALERTS,
    ),
    "enterprise": ZonePlanEntitlements(
        custom_rules=1000,
        rate_limit_rules=5,
        # "General request fields, request header fields, Verified Bot"
        rate_limit_fields=_BUSINESS_FIELDS,
        rate_limit_characteristics=(IP, IP_WITH_NAT_SUPPORT),
        rate_limit_periods_up_to=65535,
        rate_limit_mitigation_up_to=86400,
        managed_rulesets=("Cloudflare Free Managed Ruleset", *_PAID_RULESETS),
        cache_rules=300,
        config_rules=300,
        transform_rules=300,
        min_edge_ttl_seconds=1,
        subdomain_zones=True,
        waiting_rooms=1,
        waiting_room_status_code=True,
        dnssec=True,
        authenticated_origin_pulls=True,
        alert_types=(*_ALL_PLANS_ALERTS, "http_alert_origin_error"),
    ),
}

# Rules each ruleset phase may hold, per plan: the entry the edge checks before it renders.
PHASE_RULE_LIMITS: Final[dict[str, str]] = {
    "http_request_firewall_custom": "custom_rules",
    "http_ratelimit": "rate_limit_rules",
    "http_request_cache_settings": "cache_rules",
    "http_config_settings": "config_rules",
    "http_request_late_transform": "transform_rules",
}


def rule_limit(zone_plan: str, phase: str) -> int | None:
    """How many rules `zone_plan` allows in `phase`'s entry-point ruleset (None: uncounted)."""
    field = PHASE_RULE_LIMITS.get(phase)
    return None if field is None else int(getattr(ZONE_PLANS[zone_plan], field))


def cheapest_with(feature: str) -> str:
    """The cheapest plan whose `feature` entitlement is truthy (for one-line refusals)."""
    return next(name for name, entitled in ZONE_PLANS.items() if getattr(entitled, feature))
