"""The `cloudflare` section: the stack's zone and what the edge enforces on it."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, cast

from pydantic import Field, field_validator, model_validator

from components.settings.errors import at
from components.settings.profiles import deep_merge
from components.settings.validators import (
    CloudflarePlan,
    Country,
    DdosSensitivity,
    IpCidr,
    Model,
    ZoneId,
)
from components.settings.zone_plans import (
    MIN_EDGE_TTL_SECONDS,
    RATE_LIMIT_PLANS,
    RateLimitPlan,
    RateLimitSeconds,
)


class RateLimit(Model):
    """Requests per period per client IP before the edge blocks for `mitigation_seconds`."""

    requests: Annotated[int, Field(ge=1, le=100_000)]
    period_seconds: RateLimitSeconds
    mitigation_seconds: RateLimitSeconds


class RateLimits(Model):
    identity: RateLimit
    payments: RateLimit


# Defaults per zone plan, within what each plan allows. On a plan with fewer rules than
# services (Free: one), the edge runs one rule for both with identity's threshold.
_RATE_LIMIT_DEFAULTS: dict[str, dict[str, dict[str, int]]] = {
    "free": {
        "identity": {"requests": 5, "periodSeconds": 10, "mitigationSeconds": 10},
    },
    "paid": {
        "identity": {"requests": 20, "periodSeconds": 60, "mitigationSeconds": 600},
        "payments": {"requests": 60, "periodSeconds": 60, "mitigationSeconds": 600},
    },
}


class AdminAllow(Model):
    """Who may reach the admin hostname: countries and/or IP ranges (either admits)."""

    countries: list[Country] = []
    ips: list[IpCidr] = []

    @field_validator("ips")
    @classmethod
    def _no_overlap(cls, ips: list[str]) -> list[str]:
        nets = [ipaddress.ip_network(i) for i in ips]
        for i, a in enumerate(nets):
            for b in nets[i + 1 :]:
                if a.version == b.version and a.overlaps(b):  # type: ignore[arg-type]
                    raise ValueError(f"entries {a} and {b} overlap")
        return ips


class CacheTtls(Model):
    """Edge and browser TTLs for the web clients' static assets."""

    edge_seconds: Annotated[int, Field(ge=30, le=31_536_000)] = 86_400
    browser_seconds: Annotated[int, Field(ge=0, le=31_536_000)] = 3_600


class CloudflareSettings(Model):
    """The stack's existing Cloudflare zone and what the edge enforces on it."""

    zone_id: ZoneId
    plan: CloudflarePlan = "free"
    hsts_max_age: Annotated[int, Field(ge=0, le=63_072_000)] = 31_536_000
    ddos_sensitivity: DdosSensitivity = "default"
    admin_allow: AdminAllow = AdminAllow()
    rate_limits: RateLimits
    cache: CacheTtls = CacheTtls()

    @model_validator(mode="before")
    @classmethod
    def _plan_rate_limit_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        raw = cast(dict[str, Any], value)
        plan = raw.get("plan", "free")
        defaults = _RATE_LIMIT_DEFAULTS["free" if plan == "free" else "paid"]
        given = raw.get("rateLimits", {})
        if not isinstance(given, dict):
            return raw
        limits = deep_merge(defaults, cast(dict[str, Any], given))
        allowed = RATE_LIMIT_PLANS.get(plan) if isinstance(plan, str) else None
        if allowed is not None and allowed.shares_one_rule:
            if "payments" in limits:
                message = (
                    f"the {plan} plan has a single rate-limiting rule, shared with identity "
                    "(set cloudflare.rateLimits.identity; its threshold applies to both)"
                )
                raise at(("rateLimits", "payments"), message, limits["payments"])
            if isinstance(limits.get("identity"), dict):
                limits["payments"] = limits["identity"]  # the one rule both share
        return {**raw, "rateLimits": limits}

    @model_validator(mode="after")
    def _within_plan(self) -> CloudflareSettings:
        allowed = self.rate_limit_plan
        for service in ("identity", "payments"):
            limit: RateLimit = getattr(self.rate_limits, service)
            loc = ("rateLimits", service)
            if limit.period_seconds > allowed.max_period:
                message = f"the {self.plan} plan counts over at most {allowed.max_period}s"
                raise at((*loc, "periodSeconds"), message, limit.period_seconds)
            if limit.mitigation_seconds > allowed.max_mitigation:
                message = f"the {self.plan} plan blocks for at most {allowed.max_mitigation}s"
                raise at((*loc, "mitigationSeconds"), message, limit.mitigation_seconds)
        shortest = MIN_EDGE_TTL_SECONDS[self.plan]
        if self.cache.edge_seconds < shortest:
            message = f"the {self.plan} plan caches at the edge for at least {shortest}s"
            raise at(("cache", "edgeSeconds"), message, self.cache.edge_seconds)
        return self

    @property
    def managed_waf(self) -> bool:
        """Cloudflare's managed WAF rulesets need a Pro plan or better."""
        return self.plan != "free"

    @property
    def rate_limit_plan(self) -> RateLimitPlan:
        return RATE_LIMIT_PLANS[self.plan]
