"""What each Cloudflare zone plan entitles the edge to (rate limits, edge TTLs). No Pulumi."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seed.zone_plans import IP_WITH_NAT_SUPPORT, ZONE_PLANS

# The services the edge rate-limits, each with its own rule where the plan has enough.
RATE_LIMITED_SERVICES = ("identity", "payments")

# The period values Cloudflare's rate limiting accepts (seconds).
RateLimitSeconds = Literal[
    10, 15, 20, 30, 40, 45, 60, 90, 120, 180, 240, 300, 480, 600, 900, 1200, 1800, 2400, 3600,
    65535, 86400,
]  # fmt: skip


@dataclass(frozen=True)
class RateLimitEntitlement:
    """What a zone plan allows for rate-limiting rules (Cloudflare WAF docs, availability by
    plan): how many rules, the longest counting period and block, whether a rule may
    match on the hostname (Free matches the path only) or the source IP (Business and up),
    and what it counts by besides the data centre."""

    rules: int
    max_period: int
    max_mitigation: int
    host_field: bool
    ip_field: bool = False
    characteristic: str = "ip.src"

    @property
    def shares_one_rule(self) -> bool:
        """Fewer rules than rate-limited services: identity's one rule covers them all."""
        return self.rules < len(RATE_LIMITED_SERVICES)


def _rate_limit_entitlement(zone_plan: str) -> RateLimitEntitlement:
    entitled = ZONE_PLANS[zone_plan]
    counts = entitled.rate_limit_characteristics
    return RateLimitEntitlement(
        rules=entitled.rate_limit_rules,
        max_period=entitled.rate_limit_periods_up_to,
        max_mitigation=entitled.rate_limit_mitigation_up_to,
        host_field="http.host" in entitled.rate_limit_fields,
        ip_field="ip.src" in entitled.rate_limit_fields,
        # Where the plan counts "IP with NAT support", attendees behind one address count apart.
        characteristic=IP_WITH_NAT_SUPPORT if IP_WITH_NAT_SUPPORT in counts else counts[0],
    )


# Read from Cloudflare's published plan data (seed/zone_plans.py), never restated here.
RATE_LIMIT_ENTITLEMENTS: dict[str, RateLimitEntitlement] = {
    zone_plan: _rate_limit_entitlement(zone_plan) for zone_plan in ZONE_PLANS
}

# The shortest edge TTL each zone plan accepts (Cloudflare's "Minimum Edge Cache TTL").
MIN_EDGE_TTL_SECONDS: dict[str, int] = {
    zone_plan: entitled.min_edge_ttl_seconds for zone_plan, entitled in ZONE_PLANS.items()
}
