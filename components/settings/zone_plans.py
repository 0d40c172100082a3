"""What each Cloudflare zone plan allows, as data every plan-dependent choice reads. No Pulumi."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The services the edge rate-limits, each with its own rule where the plan has enough.
RATE_LIMITED_SERVICES = ("identity", "payments")

# The period values Cloudflare's rate limiting accepts (seconds).
RateLimitSeconds = Literal[
    10, 15, 20, 30, 40, 45, 60, 90, 120, 180, 240, 300, 480, 600, 900, 1200, 1800, 2400, 3600,
    65535, 86400,
]  # fmt: skip


@dataclass(frozen=True)
class RateLimitPlan:
    """What a zone plan allows for rate-limiting rules (Cloudflare WAF docs, availability by
    plan): how many rules, the longest counting period and block, and whether a rule may
    match on the hostname (Free matches the path only)."""

    rules: int
    max_period: int
    max_mitigation: int
    host_field: bool

    @property
    def shares_one_rule(self) -> bool:
        """Fewer rules than rate-limited services: identity's one rule covers them all."""
        return self.rules < len(RATE_LIMITED_SERVICES)


RATE_LIMIT_PLANS: dict[str, RateLimitPlan] = {
    "free": RateLimitPlan(rules=1, max_period=10, max_mitigation=10, host_field=False),
    "pro": RateLimitPlan(rules=2, max_period=60, max_mitigation=3600, host_field=True),
    "business": RateLimitPlan(rules=5, max_period=600, max_mitigation=86400, host_field=True),
    "enterprise": RateLimitPlan(rules=100, max_period=65535, max_mitigation=86400, host_field=True),
}


# The shortest edge TTL each zone plan accepts (Cloudflare's edge_cache_ttl setting).
MIN_EDGE_TTL_SECONDS: dict[str, int] = {
    "free": 7200,
    "pro": 3600,
    "business": 1800,
    "enterprise": 30,
}
