"""Typed, validated stack settings.

Every `ticketing:*` config key is parsed here, once, into pydantic models. Any
bad value stops the program before a single resource is registered, with one
line naming the key, what is wrong and the value given:

    ticketing:network.cidr: not a valid IPv4 CIDR block, got "10.0.0.0/33"

Defaults depend on the environment (`profiles.PROFILES`); a stack file only
states what differs. Validation is offline: no cloud call happens here.

- `validators`: value checks and constrained types (labels, CIDRs, images, ...);
- `entitlements`: what each Cloudflare zone plan allows the edge (rate limits, edge TTLs);
- `cloudflare`, `cloud`, `venue`, `bootstrap`: the config sections of each stack role;
- `profiles`: per-environment defaults;
- `errors`: the one-line error every bad value becomes;
- `loading`: `pulumi.Config` -> settings (`load`, `parse`, `secret`).
"""

from components.settings.bootstrap import BootstrapSettings, CiIdentitySettings
from components.settings.cloud import (
    DEFAULT_REGION,
    DEFAULT_ROLE,
    UNSET_DOMAIN,
    AppHostSettings,
    BackingImages,
    CloudSettings,
    DatabaseRestoreSettings,
    DatabaseSettings,
    Hostnames,
    IngressSettings,
    NetworkSettings,
    ObservabilitySettings,
    ServiceSettings,
    WebClientSettings,
)
from components.settings.cloudflare import (
    AdminAllow,
    CacheTtls,
    CloudflareSettings,
    RateLimit,
    RateLimits,
)
from components.settings.entitlements import (
    MIN_EDGE_TTL_SECONDS,
    RATE_LIMIT_ENTITLEMENTS,
    RateLimitEntitlement,
)
from components.settings.errors import NAMESPACE, ConfigError
from components.settings.fargate import EcsSettings, HostPlacement
from components.settings.loading import (
    SECRET_KEYS,
    Settings,
    load,
    parse,
    raw_config,
    secret,
    secret_config_keys,
)
from components.settings.profiles import PROFILES
from components.settings.validators import (
    DatabasePlacement,
    Environment,
    RetentionDays,
    ZonePlan,
)
from components.settings.venue import DOCKER_TLS_KEYS, VenueSettings, VenueStackSettings

__all__ = [
    "DEFAULT_REGION",
    "DEFAULT_ROLE",
    "DOCKER_TLS_KEYS",
    "MIN_EDGE_TTL_SECONDS",
    "NAMESPACE",
    "PROFILES",
    "RATE_LIMIT_ENTITLEMENTS",
    "SECRET_KEYS",
    "UNSET_DOMAIN",
    "AdminAllow",
    "AppHostSettings",
    "BackingImages",
    "BootstrapSettings",
    "CacheTtls",
    "CiIdentitySettings",
    "CloudSettings",
    "CloudflareSettings",
    "ConfigError",
    "DatabasePlacement",
    "DatabaseRestoreSettings",
    "DatabaseSettings",
    "EcsSettings",
    "Environment",
    "HostPlacement",
    "Hostnames",
    "IngressSettings",
    "NetworkSettings",
    "ObservabilitySettings",
    "RateLimit",
    "RateLimitEntitlement",
    "RateLimits",
    "RetentionDays",
    "ServiceSettings",
    "Settings",
    "VenueSettings",
    "VenueStackSettings",
    "WebClientSettings",
    "ZonePlan",
    "load",
    "parse",
    "raw_config",
    "secret",
    "secret_config_keys",
]
