"""Typed, validated stack settings.

Every `ticketing:*` config key is parsed here, once, into pydantic models. Any
bad value stops the program before a single resource is registered, with one
line naming the key, what is wrong and the value given:

    ticketing:network.cidr: not a valid IPv4 CIDR block, got "10.0.0.0/33"

Defaults depend on the environment (see `PROFILES`); a stack file only states
what differs. Validation is offline: no cloud call happens here.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, cast, get_args, get_origin

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from seed.catalog import SERVICE_NAMES, WEB_CLIENTS

NAMESPACE = "ticketing"

Environment = Literal["dev", "staging", "prod"]
Role = Literal["cloud", "venue"]
NatMode = Literal["none", "single", "per-az", "instance"]
CloudflarePlan = Literal["free", "pro", "business", "enterprise"]
DdosSensitivity = Literal["default", "medium", "low", "eoff"]
Placement = Literal["shared", "dedicated"]

# A tcp:// venue Docker host's client TLS material, in the order VenueHost reads it.
DOCKER_TLS_KEYS = ("dockerTlsCa", "dockerTlsCert", "dockerTlsKey")
# Config keys that hold secrets: read with `Settings.secret`, never modelled in plain.
SECRET_KEYS = frozenset(DOCKER_TLS_KEYS)

DEFAULT_ROLE: Final = "cloud"
DEFAULT_REGION: Final = "eu-west-1"
# Pulumi.yaml's default for `domain`: the CLI needs a default for every key a stack may
# leave out (venue stacks have no domain), so an empty domain means "not set".
UNSET_DOMAIN: Final = ""


class ConfigError(pulumi.RunError):
    """A config value is wrong. Its message is the single line a person sees.

    `pulumi.RunError` makes the CLI print the message without a stack trace.
    """


# --- value checks (each raises ValueError with the "what is wrong" part) ------

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
_STACK = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
# Graviton: a1, and the families with a "g" after the generation (t4g, c6gn, m7gd).
_GRAVITON_TYPE = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)\.[a-z0-9]+$")
_DB_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
_POSTGRES_VERSION = re.compile(r"^1[4-7](\.\d+)?$")


def _hostname_label(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError("not a valid DNS label (lowercase letters, digits, hyphens)")
    return value


def _domain(value: str) -> str:
    labels = value.split(".")
    if len(labels) < 2 or len(value) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("not a valid domain name")
    return value


def _region(value: str) -> str:
    if not _AWS_REGION.match(value):
        raise ValueError("not an AWS region name like eu-west-1")
    return value


def _zone_id(value: str) -> str:
    if not _ZONE_ID.match(value):
        raise ValueError("not a Cloudflare zone id (32 lowercase hex characters)")
    return value


def _pinned_image(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError("not a container image reference")
    name, _, digest = value.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not digest and not tag:
        raise ValueError("image must be pinned to a tag or digest")
    if not digest and tag == "latest":
        raise ValueError("image must be pinned, not 'latest'")
    return value


def _ipv4_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ValueError("not a valid IPv4 CIDR block") from None
    return str(net)


def _ip_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ValueError("not a valid IP address or CIDR block") from None


def _ipv4_address(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError("not a valid IPv4 address") from None


def _country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise ValueError("not an ISO 3166 two-letter country code like DE")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value


def _stack_name(value: str) -> str:
    if not _STACK.match(value):
        raise ValueError("not a fully qualified stack name like acme/ticketing/dev")
    return value


def _docker_host(value: str) -> str:
    if not (value.startswith("ssh://") or value.startswith("tcp://")):
        raise ValueError("Docker host must be ssh://user@host or tcp://host:2376")
    return value


def _instance_type(value: str) -> str:
    if not _INSTANCE_TYPE.match(value):
        raise ValueError("not an EC2 instance type like t3.medium")
    return value


def _graviton_instance_type(value: str) -> str:
    if not _GRAVITON_TYPE.match(_instance_type(value)):
        raise ValueError("not a Graviton (arm64) instance type like t4g.nano")
    return value


def _x86_instance_type(value: str) -> str:
    if _GRAVITON_TYPE.match(_instance_type(value)):
        raise ValueError(
            "a Graviton (arm64) type, but the app hosts run Canonical's amd64 Ubuntu image; "
            "use an x86 type like t3.medium"
        )
    return value


def _db_class(value: str) -> str:
    if not _DB_CLASS.match(value):
        raise ValueError("not an RDS instance class like db.t4g.micro")
    return value


def _postgres_version(value: str) -> str:
    if not _POSTGRES_VERSION.match(value):
        raise ValueError("not a PostgreSQL major version 14-17 like 16, or major.minor like 16.6")
    return value


Label = Annotated[str, AfterValidator(_hostname_label)]
Domain = Annotated[str, AfterValidator(_domain)]
Region = Annotated[str, AfterValidator(_region)]
ZoneId = Annotated[str, AfterValidator(_zone_id)]
PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
IpCidr = Annotated[str, AfterValidator(_ip_cidr)]
Ipv4Address = Annotated[str, AfterValidator(_ipv4_address)]
Country = Annotated[str, AfterValidator(_country)]
Email = Annotated[str, AfterValidator(_email)]
StackName = Annotated[str, AfterValidator(_stack_name)]
DockerHost = Annotated[str, AfterValidator(_docker_host)]
InstanceType = Annotated[str, AfterValidator(_instance_type)]
GravitonInstanceType = Annotated[str, AfterValidator(_graviton_instance_type)]
X86InstanceType = Annotated[str, AfterValidator(_x86_instance_type)]
DbInstanceClass = Annotated[str, AfterValidator(_db_class)]
PostgresVersion = Annotated[str, AfterValidator(_postgres_version)]
Port = Annotated[int, Field(ge=1, le=65535)]
RetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096]


class Model(BaseModel):
    """Config sections: camelCase keys, unknown keys refused, no lax coercion."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        strict=True,
        frozen=True,
    )


# --- cloud stack sections ------------------------------------------------------


class Hostnames(Model):
    """Public hostname labels under `domain`."""

    api: Label = "api"
    app: Label = "app"
    admin: Label = "admin"

    @model_validator(mode="after")
    def _distinct(self) -> Hostnames:
        labels = [self.api, self.app, self.admin]
        if len(set(labels)) != len(labels):
            raise ValueError("hostnames must be distinct")
        return self


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
        return self.rules < len(RateLimits.model_fields)


RATE_LIMIT_PLANS: dict[str, RateLimitPlan] = {
    "free": RateLimitPlan(rules=1, max_period=10, max_mitigation=10, host_field=False),
    "pro": RateLimitPlan(rules=2, max_period=60, max_mitigation=3600, host_field=True),
    "business": RateLimitPlan(rules=5, max_period=600, max_mitigation=86400, host_field=True),
    "enterprise": RateLimitPlan(rules=100, max_period=65535, max_mitigation=86400, host_field=True),
}


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


# The shortest edge TTL each zone plan accepts (Cloudflare's edge_cache_ttl setting).
MIN_EDGE_TTL_SECONDS: dict[str, int] = {
    "free": 7200,
    "pro": 3600,
    "business": 1800,
    "enterprise": 30,
}


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
        limits = _deep_merge(defaults, cast(dict[str, Any], given))
        allowed = RATE_LIMIT_PLANS.get(plan) if isinstance(plan, str) else None
        if allowed is not None and allowed.shares_one_rule:
            if "payments" in limits:
                message = (
                    f"the {plan} plan has a single rate-limiting rule, shared with identity "
                    "(set cloudflare.rateLimits.identity; its threshold applies to both)"
                )
                raise _at(("rateLimits", "payments"), message, limits["payments"])
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
                raise _at((*loc, "periodSeconds"), message, limit.period_seconds)
            if limit.mitigation_seconds > allowed.max_mitigation:
                message = f"the {self.plan} plan blocks for at most {allowed.max_mitigation}s"
                raise _at((*loc, "mitigationSeconds"), message, limit.mitigation_seconds)
        shortest = MIN_EDGE_TTL_SECONDS[self.plan]
        if self.cache.edge_seconds < shortest:
            message = f"the {self.plan} plan caches at the edge for at least {shortest}s"
            raise _at(("cache", "edgeSeconds"), message, self.cache.edge_seconds)
        return self

    @property
    def managed_waf(self) -> bool:
        """Cloudflare's managed WAF rulesets need a Pro plan or better."""
        return self.plan != "free"

    @property
    def rate_limit_plan(self) -> RateLimitPlan:
        return RATE_LIMIT_PLANS[self.plan]


class NetworkSettings(Model):
    """The VPC: address space, zones, egress.

    `nat_mode`: no egress, one NAT gateway, one per zone, or one NAT instance
    (`instance`, for dev: a few dollars a month instead of a gateway's ~$35, no HA).
    """

    cidr: Ipv4Cidr = "10.40.0.0/16"
    az_count: Annotated[int, Field(ge=2, le=3)] = 2
    nat_mode: NatMode = "single"
    # The NAT instance runs the arm64 Amazon Linux 2023 AMI, so Graviton types only.
    nat_instance_type: GravitonInstanceType = "t4g.nano"
    flow_log_retention_days: RetentionDays = 30
    # Where Docker on the app hosts allocates Compose networks; must not overlap the VPC.
    docker_pool: Ipv4Cidr = "172.28.0.0/16"

    @field_validator("cidr")
    @classmethod
    def _prefix(cls, cidr: str) -> str:
        prefix = ipaddress.IPv4Network(cidr).prefixlen
        if not 16 <= prefix <= 24:
            raise ValueError("VPC prefix must be between /16 and /24")
        return cidr

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkSettings:
        if ipaddress.IPv4Network(self.cidr).overlaps(ipaddress.IPv4Network(self.docker_pool)):
            raise _at(("cidr",), f"overlaps network.dockerPool {self.docker_pool}", self.cidr)
        return self


# ELB policies that negotiate TLS 1.3 and nothing below 1.2 (and their FIPS/PQ variants).
_TLS13_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-[A-Za-z0-9-]+$")


def _tls13_policy(value: str) -> str:
    if not _TLS13_POLICY.match(value):
        raise ValueError(
            "not a TLS 1.3 ELB security policy like ELBSecurityPolicy-TLS13-1-2-2021-06"
        )
    return value


class IngressSettings(Model):
    """Static IPs: an NLB on Elastic IPs in front of the ALB, or the ALB alone."""

    static_ips: bool = True
    tls_policy: Annotated[str, AfterValidator(_tls13_policy)] = (
        "ELBSecurityPolicy-TLS13-1-2-2021-06"
    )


class DatabaseSettings(Model):
    """The shared RDS PostgreSQL instance (and any dedicated ones, same hardening).

    `engine_version` is a major version (`16`): RDS applies minor upgrades itself and
    the provider takes the running 16.x as matching. A major.minor (`16.6`) pins the
    minor, so automatic minor upgrades are off (an upgraded instance would drift).
    """

    engine_version: PostgresVersion = "16"
    instance_class: DbInstanceClass = "db.t4g.micro"
    allocated_storage_gb: Annotated[int, Field(ge=20, le=16_384)] = 20
    max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65_536)] = 100
    backup_retention_days: Annotated[int, Field(ge=0, le=35)] = 1
    multi_az: bool = False
    deletion_protection: bool = False
    performance_insights: bool = True

    @field_validator("engine_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # `engineVersion: 16` in YAML
        if isinstance(value, float):
            raise ValueError('quote the version ("16.10"): YAML reads 16.10 as the number 16.1')
        return value

    @property
    def major_version(self) -> str:
        return self.engine_version.split(".")[0]

    @property
    def minor_pinned(self) -> bool:
        return "." in self.engine_version

    @property
    def family(self) -> str:
        """The parameter group family, `postgres16` for 16 and 16.6 alike."""
        return f"postgres{self.major_version}"


class AppHostSettings(Model):
    """The single Docker Compose VM of the seed's deployment model (and any dedicated host)."""

    # Every app host boots Canonical's amd64 Ubuntu image, so x86 types only.
    instance_type: X86InstanceType = "t3.medium"
    root_volume_gb: Annotated[int, Field(ge=20, le=1024)] = 30


class BackingImages(Model):
    redis: PinnedImage = "redis:7.4.1-alpine"
    rabbitmq: PinnedImage = "rabbitmq:3.13.7-alpine"


class ServiceSettings(Model):
    """Per-service overrides. Placement switches are the scale path: config only."""

    image: PinnedImage
    database: Placement = "shared"
    host: Placement = "shared"
    health_check_path: Annotated[str, Field(pattern=r"^/[\w./-]*$")] | None = None
    path_prefix: Annotated[str, Field(pattern=r"^/[\w-]+$")] | None = None
    redis_max_memory_mb: Annotated[int, Field(ge=16, le=4096)] = 64
    memory_mb: Annotated[int, Field(ge=128, le=16_384)] = 512


class WebClientSettings(Model):
    image: PinnedImage


class ObservabilitySettings(Model):
    alarm_emails: list[Email] = []
    log_retention_days: RetentionDays = 14


class CloudSettings(Model):
    """A cloud stack: Cloudflare edge, AWS core and one backing stack per domain service."""

    role: Literal["cloud"] = DEFAULT_ROLE
    environment: Environment
    region: Region = DEFAULT_REGION
    domain: Domain
    hostnames: Hostnames = Hostnames()
    cloudflare: CloudflareSettings
    network: NetworkSettings = NetworkSettings()
    ingress: IngressSettings = IngressSettings()
    database: DatabaseSettings = DatabaseSettings()
    app_host: AppHostSettings = AppHostSettings()
    backing_images: BackingImages = BackingImages()
    services: dict[str, ServiceSettings]
    web_clients: dict[str, WebClientSettings]
    observability: ObservabilitySettings = ObservabilitySettings()
    venues: list[Label] = []

    @model_validator(mode="before")
    @classmethod
    def _unset_domain_is_missing(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        raw = cast(dict[str, Any], value)
        if raw.get("domain") == UNSET_DOMAIN:
            return {k: v for k, v in raw.items() if k != "domain"}
        return raw

    @field_validator("services", mode="before")
    @classmethod
    def _known_services(cls, value: Any) -> Any:
        return _require_exact_keys(value, SERVICE_NAMES, "service")

    @field_validator("web_clients", mode="before")
    @classmethod
    def _known_web_clients(cls, value: Any) -> Any:
        return _require_exact_keys(value, tuple(c.name for c in WEB_CLIENTS), "web client")

    @field_validator("venues")
    @classmethod
    def _distinct_venues(cls, venues: list[str]) -> list[str]:
        duplicates = sorted({v for v in venues if venues.count(v) > 1})
        if duplicates:
            raise ValueError(f"venue {duplicates[0]!r} is listed twice")
        return venues

    @model_validator(mode="after")
    def _environment_rules(self) -> CloudSettings:
        if self.environment == "prod":
            db = self.database
            if not db.deletion_protection:
                raise _at(("database", "deletionProtection"), "must be true in prod", False)
            if not db.multi_az:
                raise _at(("database", "multiAz"), "must be true in prod", False)
            if self.network.nat_mode == "none":
                raise _at(("network", "natMode"), "prod needs NAT egress", "none")
            if self.network.nat_mode == "instance":
                raise _at(("network", "natMode"), "prod needs managed NAT gateways", "instance")
        if self.environment != "dev" and self.database.backup_retention_days < 7:
            days = self.database.backup_retention_days
            raise _at(("database", "backupRetentionDays"), "must be at least 7 outside dev", days)
        if self.database.max_allocated_storage_gb < self.database.allocated_storage_gb:
            raise _at(
                ("database", "maxAllocatedStorageGb"),
                f"must be at least allocatedStorageGb ({self.database.allocated_storage_gb})",
                self.database.max_allocated_storage_gb,
            )
        return self

    def fqdn(self, label: str) -> str:
        return f"{label}.{self.domain}"

    @property
    def api_host(self) -> str:
        return self.fqdn(self.hostnames.api)

    @property
    def public_hosts(self) -> dict[str, str]:
        """Hostname key (`api`, `app`, `admin`) -> FQDN."""
        h = self.hostnames
        return {"api": self.fqdn(h.api), "app": self.fqdn(h.app), "admin": self.fqdn(h.admin)}

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"


# --- venue stack -------------------------------------------------------------


class VenueSettings(Model):
    """Where one venue's Bastion runs and which cloud stack it syncs with."""

    id: Label
    cloud_stack: StackName
    docker_host: DockerHost
    lan_address: Ipv4Address
    port: Port = 8443
    bastion_image: PinnedImage
    memory_mb: Annotated[int, Field(ge=128, le=16_384)] = 512


# Cloud-stack keys whose Pulumi.yaml default reaches every stack; a venue stack keeps
# the default and nothing else, since its cloud stack's region and domain apply.
_CLOUD_ONLY_DEFAULTS: dict[str, str] = {"region": DEFAULT_REGION, "domain": UNSET_DOMAIN}


class VenueStackSettings(Model):
    """A venue stack: the on-prem Docker host running the Bastion."""

    role: Literal["venue"]
    environment: Environment
    venue: VenueSettings

    @model_validator(mode="before")
    @classmethod
    def _no_cloud_only_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        raw = dict(cast(dict[str, Any], value))
        for key, default in _CLOUD_ONLY_DEFAULTS.items():
            given = raw.pop(key, default)
            if given != default:
                message = f"venue stacks take no {key} (their cloud stack's applies)"
                raise _at((key,), message, given)
        return raw

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"


Settings = CloudSettings | VenueStackSettings


# --- per-environment defaults -------------------------------------------------

PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "network": {"natMode": "instance"},
        "ingress": {"staticIps": False},
        "database": {"backupRetentionDays": 1, "multiAz": False, "deletionProtection": False},
        "observability": {"logRetentionDays": 14},
        "cloudflare": {"hstsMaxAge": 300},
    },
    "staging": {
        "network": {"natMode": "single"},
        "ingress": {"staticIps": True},
        "database": {"backupRetentionDays": 7, "multiAz": True, "deletionProtection": True},
        "observability": {"logRetentionDays": 30},
        "cloudflare": {"hstsMaxAge": 86_400},
    },
    "prod": {
        "network": {"natMode": "per-az", "azCount": 3},
        "ingress": {"staticIps": True},
        "database": {
            "instanceClass": "db.t4g.medium",
            "allocatedStorageGb": 50,
            "maxAllocatedStorageGb": 500,
            "backupRetentionDays": 14,
            "multiAz": True,
            "deletionProtection": True,
        },
        "appHost": {"instanceType": "m6i.large", "rootVolumeGb": 50},
        "observability": {"logRetentionDays": 90},
        "cloudflare": {"hstsMaxAge": 31_536_000, "ddosSensitivity": "default"},
    },
}


# --- loading and error lines -----------------------------------------------------


class _FieldError(ValueError):
    """A rule that spans fields, raised at a specific nested key."""

    def __init__(self, loc: tuple[str, ...], message: str, value: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.value = value


def _at(loc: tuple[str, ...], message: str, value: Any) -> _FieldError:
    return _FieldError(loc, message, value)


def _require_exact_keys(value: object, known: tuple[str, ...], what: str) -> object:
    """Every catalog entry present, nothing else (a dict of the wrong type is reported later)."""
    if not isinstance(value, dict):
        return value
    given = cast(dict[str, Any], value)
    for key in given:
        if key not in known:
            raise _at((key,), f"unknown {what}, expected one of {', '.join(known)}", given[key])
    for key in known:
        if key not in given:
            raise _at((key,), f"every {what} needs an entry", None)
    return given


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(
                cast(dict[str, Any], merged[key]), cast(dict[str, Any], value)
            )
        else:
            merged[key] = value
    return merged


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    return json.dumps(value, sort_keys=True, default=str)


_MESSAGES = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "string_type": "expected a string",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "missing": "a value is required",
}


def _error_line(model: type[BaseModel], error: Mapping[str, Any]) -> str:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    kind: str = error["type"]
    value: Any = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, _FieldError):
        loc, message, value = (*loc, *cause.loc), cause.message, cause.value
    elif kind == "extra_forbidden":
        section = _model_at(model, loc[:-1])
        allowed = [f.alias or n for n, f in section.model_fields.items()] if section else []
        message = "unknown key" + (f", expected one of {', '.join(allowed)}" if allowed else "")
    elif kind == "literal_error":
        message = f"expected one of {ctx.get('expected', '')}".replace("'", "")
    elif kind in ("greater_than_equal", "less_than_equal"):
        bounds = _bounds(model, loc)
        message = f"expected a number from {bounds[0]} to {bounds[1]}" if bounds else error["msg"]
    elif kind == "string_pattern_mismatch":
        message = f"does not match {ctx.get('pattern')}"
    elif kind == "value_error" and cause is not None:
        message = str(cause)
    else:
        message = _MESSAGES.get(kind, str(error["msg"]).lower())
    if kind == "missing":
        value = None
    key = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
    return f"{NAMESPACE}:{key}: {message}, got {_show(value)}"


def _bounds(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Any, Any] | None:
    parent = _model_at(model, loc[:-1])
    if parent is None:
        return None
    fields = {f.alias or n: f for n, f in parent.model_fields.items()}
    field = fields.get(str(loc[-1]))
    if field is None:
        return None
    lo = hi = None
    for meta in field.metadata:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    return (lo, hi) if lo is not None and hi is not None else None


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The config section model at `loc` (dict entries such as `services.payments` walk through)."""
    current: Any = model
    dict_key_next = False
    for part in loc:
        if dict_key_next:
            dict_key_next = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        field = fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        if get_origin(current) is dict:
            current, dict_key_next = get_args(current)[1], True
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _require_secret_keys(raw: Mapping[str, Any], secret_keys: Collection[str]) -> None:
    """Key material is set with `pulumi config set --secret`, never as plain config."""
    for key in DOCKER_TLS_KEYS:
        if key in raw and key not in secret_keys:
            raise ConfigError(
                f"{NAMESPACE}:{key}: key material must be a config secret "
                f"(pulumi config set --secret {NAMESPACE}:{key}), got a plain value"
            )


def _require_docker_tls(venue: VenueSettings, raw: Mapping[str, Any]) -> None:
    """A tcp:// Docker host is reached with client TLS, whose material is config secrets."""
    if venue.docker_host.startswith("tcp://"):
        for key in DOCKER_TLS_KEYS:
            if not raw.get(key):
                raise ConfigError(
                    f"{NAMESPACE}:{key}: required as a secret when venue.dockerHost is tcp://, "
                    "got nothing"
                )


def parse(raw: Mapping[str, Any], secret_keys: Collection[str] = frozenset()) -> Settings:
    """Validate raw `ticketing:*` values (keys without namespace, objects decoded);
    `secret_keys` are the keys among them set as config secrets.

    Raises ConfigError with exactly one line on the first problem.
    """
    role = raw.get("role", DEFAULT_ROLE)
    model: type[CloudSettings] | type[VenueStackSettings]
    if role == "cloud":
        model = CloudSettings
    elif role == "venue":
        model = VenueStackSettings
    else:
        raise ConfigError(f"{NAMESPACE}:role: expected one of cloud, venue, got {_show(role)}")
    _require_secret_keys(raw, secret_keys)
    values = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    values.setdefault("role", role)
    environment = values.get("environment")
    if role == "cloud" and isinstance(environment, str) and environment in PROFILES:
        values = _deep_merge(PROFILES[environment], values)
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise ConfigError(_error_line(model, errors[0])) from None
    except _FieldError as exc:
        raise ConfigError(
            f"{NAMESPACE}:{'.'.join(exc.loc)}: {exc.message}, got {_show(exc.value)}"
        ) from None
    if isinstance(parsed, VenueStackSettings):
        _require_docker_tls(parsed.venue, raw)
    return parsed


def raw_config() -> dict[str, Any]:
    """Every `ticketing:*` key the engine passed in, objects JSON-decoded."""
    from pulumi.runtime.config import CONFIG, get_config_env

    merged: dict[str, Any] = {**get_config_env(), **CONFIG.get()}
    raw: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, text in merged.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        raw[key] = _decode(key, text)
    return raw


def _decode(key: str, text: Any) -> Any:
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            raise ConfigError(f"{NAMESPACE}:{key}: not valid JSON, got {_show(text)}") from None
    return text


def load() -> Settings:
    """Load and validate this stack's settings from `pulumi.Config` (once per program)."""
    return parse(raw_config(), secret_config_keys())


def secret_config_keys() -> frozenset[str]:
    """The declared secret keys (`SECRET_KEYS`) this stack sets as config secrets.

    The language host (and the Automation API, and the offline plan) hand the engine's
    list of secret keys to `pulumi.runtime.set_all_config`; `is_config_secret` reads it.
    """
    from pulumi.runtime.config import is_config_secret

    return frozenset(key for key in SECRET_KEYS if is_config_secret(f"{NAMESPACE}:{key}"))


def secret(key: str) -> pulumi.Output[str] | None:
    """A secret config value (`pulumi config set --secret`), or None when unset."""
    if key not in SECRET_KEYS:
        raise KeyError(f"{key} is not a declared secret config key")
    return pulumi.Config(NAMESPACE).get_secret(key)
