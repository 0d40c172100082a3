"""The `cloudflare` section: the stack's zone and what the edge enforces on it."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, cast

from pydantic import Field, field_validator, model_validator

from components.settings.entitlements import (
    MIN_EDGE_TTL_SECONDS,
    RATE_LIMIT_ENTITLEMENTS,
    RateLimitEntitlement,
    RateLimitSeconds,
)
from components.settings.errors import at
from components.settings.profiles import deep_merge
from components.settings.validators import (
    Country,
    DdosSensitivity,
    IpCidr,
    Model,
    ZoneId,
    ZonePlan,
)
from seed.zone_plans import ZONE_PLANS, ZonePlanEntitlements, cheapest_with

# A Cloudflare account, ruleset or record id: 32 lowercase hex characters.
CloudflareId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
PathPrefix = Annotated[str, Field(pattern=r"^/[\w./-]*$")]

# The zone entry-point phases the edge owns, each adoptable by its existing ruleset's id.
EDGE_PHASES = (
    "http_request_firewall_managed",
    "http_request_firewall_custom",
    "ddos_l7",
    "http_ratelimit",
    "http_request_cache_settings",
    "http_config_settings",
    "http_request_late_transform",
)
EdgePhase = Literal[
    "http_request_firewall_managed",
    "http_request_firewall_custom",
    "ddos_l7",
    "http_ratelimit",
    "http_request_cache_settings",
    "http_config_settings",
    "http_request_late_transform",
]


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
        "identity": {"requests": 20, "periodSeconds": 60, "mitigationSeconds": 120},
        "payments": {"requests": 60, "periodSeconds": 60, "mitigationSeconds": 120},
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
    """How long the web clients' fingerprinted assets live at the edge and in browsers.

    Only paths under `fingerprinted_prefixes` (the build's content-hashed output) get
    these TTLs; every other response keeps the Cache-Control its origin sends, so a
    service worker or runtime config is fresh right after a deploy.
    """

    fingerprinted_prefixes: list[PathPrefix] = ["/assets/"]
    edge_seconds: Annotated[int, Field(ge=1, le=31_536_000)] = 31_536_000
    browser_seconds: Annotated[int, Field(ge=0, le=31_536_000)] = 31_536_000


class WafSettings(Model):
    """The managed WAF rulesets' mode, and paths they skip.

    `log` runs every managed rule with the Log action (Cloudflare's documented way to
    test a managed ruleset before enforcing it); `block` keeps each rule's own action.
    """

    mode: Literal["log", "block"] = "block"
    skip_paths: list[PathPrefix] = []


class WaitingRoomSettings(Model):
    """The on-sale Waiting Room in front of the ticketing API (Business plan and up)."""

    enabled: bool = False
    total_active_users: Annotated[int, Field(ge=200, le=2_147_483_647)] = 2_000
    new_users_per_minute: Annotated[int, Field(ge=200, le=2_147_483_647)] = 500
    session_duration_minutes: Annotated[int, Field(ge=1, le=30)] = 10


class CloudflareSettings(Model):
    """The stack's existing Cloudflare zone and what the edge enforces on it."""

    zone_id: ZoneId
    # The config key is Cloudflare's own name for it, `plan`: the zone's subscription.
    zone_plan: ZonePlan = Field(default="free", alias="plan")
    hsts_max_age: Annotated[int, Field(ge=0, le=63_072_000)] = 31_536_000
    ddos_sensitivity: DdosSensitivity = "default"
    admin_allow: AdminAllow = AdminAllow()
    rate_limits: RateLimits
    cache: CacheTtls = CacheTtls()
    waf: WafSettings = WafSettings()
    waiting_room: WaitingRoomSettings = WaitingRoomSettings()
    # Egress addresses per venue (a key of `venues`): counted apart from the public.
    venue_egress: dict[str, list[IpCidr]] = {}
    # Phase -> the id of the zone's existing entry-point ruleset to adopt (`pulumi import`).
    adopt: dict[EdgePhase, CloudflareId] = {}
    # The account that holds the zone: needed for notification policies.
    account_id: CloudflareId | None = None

    @model_validator(mode="before")
    @classmethod
    def _zone_plan_rate_limit_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        raw = cast(dict[str, Any], value)
        zone_plan = raw.get("plan", "free")
        defaults = _RATE_LIMIT_DEFAULTS["free" if zone_plan == "free" else "paid"]
        given = raw.get("rateLimits", {})
        if not isinstance(given, dict):
            return raw
        limits = deep_merge(defaults, cast(dict[str, Any], given))
        allowed = RATE_LIMIT_ENTITLEMENTS.get(zone_plan) if isinstance(zone_plan, str) else None
        if allowed is not None and allowed.shares_one_rule:
            if "payments" in limits:
                message = (
                    f"the {zone_plan} plan has a single rate-limiting rule, shared with identity "
                    "(set cloudflare.rateLimits.identity; its threshold applies to both)"
                )
                raise at(("rateLimits", "payments"), message, limits["payments"])
            if isinstance(limits.get("identity"), dict):
                limits["payments"] = limits["identity"]  # the one rule both share
        return {**raw, "rateLimits": limits}

    @model_validator(mode="after")
    def _within_zone_plan(self) -> CloudflareSettings:
        allowed = self.rate_limit_entitlement
        for service in ("identity", "payments"):
            limit: RateLimit = getattr(self.rate_limits, service)
            loc = ("rateLimits", service)
            if limit.period_seconds > allowed.max_period:
                message = f"the {self.zone_plan} plan counts over at most {allowed.max_period}s"
                raise at((*loc, "periodSeconds"), message, limit.period_seconds)
            if limit.mitigation_seconds > allowed.max_mitigation:
                message = f"the {self.zone_plan} plan blocks for at most {allowed.max_mitigation}s"
                raise at((*loc, "mitigationSeconds"), message, limit.mitigation_seconds)
        shortest = MIN_EDGE_TTL_SECONDS[self.zone_plan]
        if self.cache.edge_seconds < shortest:
            message = f"the {self.zone_plan} plan caches at the edge for at least {shortest}s"
            raise at(("cache", "edgeSeconds"), message, self.cache.edge_seconds)
        if self.waiting_room.enabled and not self.entitlements.waiting_rooms:
            message = (
                f"the {self.zone_plan} plan has no Waiting Room "
                f"({cheapest_with('waiting_rooms')} plan and up)"
            )
            raise at(("waitingRoom", "enabled"), message, True)
        return self

    @property
    def entitlements(self) -> ZonePlanEntitlements:
        """What the zone's plan includes (Cloudflare's published plan data)."""
        return ZONE_PLANS[self.zone_plan]

    @property
    def managed_rulesets(self) -> tuple[str, ...]:
        """The managed WAF rulesets the edge deploys: the paid ones where the plan has them,
        else the Free Managed Ruleset (a zone with the Cloudflare Managed Ruleset does not
        need it, Cloudflare's managed rules docs say)."""
        paid = tuple(r for r in self.entitlements.managed_rulesets if "Free" not in r)
        return paid or self.entitlements.managed_rulesets

    @property
    def managed_waf(self) -> bool:
        """The paid managed WAF rulesets (Cloudflare Managed, OWASP) are deployed."""
        return "Cloudflare Managed Ruleset" in self.managed_rulesets

    @property
    def rate_limit_entitlement(self) -> RateLimitEntitlement:
        return RATE_LIMIT_ENTITLEMENTS[self.zone_plan]
