"""Every bad value stops the program with one line: key, what is wrong, the value."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from components import settings
from components.settings import (
    CloudSettings,
    ConfigError,
    VenueStackSettings,
    instance_memory,
    parse,
)
from components.settings.cloud import RegistrySettings
from seed.catalog import SERVICE_NAMES

PROJECT_SCHEMA: dict[str, dict[str, Any]] = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "Pulumi.yaml").read_text()
)["config"]


def cloud(**changes: Any) -> dict[str, Any]:
    """A valid dev cloud config; `a__b=v` sets the nested key a.b, `a=DELETE` drops it."""
    raw: dict[str, Any] = {
        "role": "cloud",
        "environment": "dev",
        "domain": "example-tickets.com",
        "cloudflare": {"zoneId": "0123456789abcdef0123456789abcdef"},
        "services": {n: {"image": f"ghcr.io/acme/{n}:1.0.0"} for n in SERVICE_NAMES},
        "webClients": {
            "client-web": {"image": "ghcr.io/acme/web:1.0.0"},
            "admin-portal": {"image": "ghcr.io/acme/admin:1.0.0"},
        },
    }
    for path, value in changes.items():
        node = raw
        *parents, leaf = path.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        if value is DELETE:
            del node[leaf]
        else:
            node[leaf] = copy.deepcopy(value)
    return raw


DELETE = object()

BAD = [
    pytest.param(
        cloud(domain="dev.tickets.example.com"),
        "ticketing:domain: is a subdomain of example.com; a free zone must be a registrable "
        'domain (subdomain zones need the enterprise plan), got "dev.tickets.example.com"',
        id="subdomain-zone-below-enterprise",
    ),
    pytest.param(
        cloud(domain="tickets.example.co.uk", cloudflare__plan="business"),
        "ticketing:domain: is a subdomain of example.co.uk; a business zone must be a "
        "registrable domain (subdomain zones need the enterprise plan), "
        'got "tickets.example.co.uk"',
        id="subdomain-zone-under-a-two-label-suffix",
    ),
    pytest.param(
        cloud(cloudflare__waitingRoom={"enabled": True}, cloudflare__plan="pro"),
        "ticketing:cloudflare.waitingRoom.enabled: the pro plan has no Waiting Room "
        "(business plan and up), got true",
        id="waiting-room-below-business",
    ),
    pytest.param(
        cloud(cloudflare__venueEgress={"dome": ["198.51.100.1/32"]}, venues=["arena"]),
        "ticketing:cloudflare.venueEgress.dome: not a venue of this stack (venues: arena), "
        'got "dome"',
        id="venue-egress-for-an-unknown-venue",
    ),
    pytest.param(
        cloud(cloudflare__waf={"mode": "simulate"}),
        'ticketing:cloudflare.waf.mode: expected one of log or block, got "simulate"',
        id="waf-mode",
    ),
    pytest.param(
        cloud(network__cidr="10.0.0.0/33"),
        'ticketing:network.cidr: not a valid IPv4 CIDR block, got "10.0.0.0/33"',
        id="malformed-cidr",
    ),
    pytest.param(
        cloud(network__cidr="10.0.0.0/12"),
        'ticketing:network.cidr: VPC prefix must be between /16 and /24, got "10.0.0.0/12"',
        id="cidr-out-of-range",
    ),
    pytest.param(
        cloud(network__cidr="172.28.0.0/16"),
        'ticketing:network.cidr: overlaps network.dockerPool 172.28.0.0/16, got "172.28.0.0/16"',
        id="overlapping-cidr",
    ),
    pytest.param(
        cloud(network__azCount=4),
        "ticketing:network.azCount: expected a number from 2 to 3, got 4",
        id="out-of-range",
    ),
    pytest.param(
        cloud(network__azCount="two"),
        'ticketing:network.azCount: expected a whole number, got "two"',
        id="wrong-type",
    ),
    pytest.param(
        cloud(cloudflare__cache__edgeSeconds=3600),
        "ticketing:cloudflare.cache.edgeSeconds: the free plan caches at the edge for at least "
        "7200s, got 3600",
        id="edge-ttl-below-the-plans-minimum",
    ),
    pytest.param(
        cloud(ingress__tlsPolicy="ELBSecurityPolicy-2016-08"),
        "ticketing:ingress.tlsPolicy: not a TLS 1.3 ELB security policy like "
        'ELBSecurityPolicy-TLS13-1-2-2021-06, got "ELBSecurityPolicy-2016-08"',
        id="tls-policy-below-tls-1-3",
    ),
    pytest.param(
        cloud(ingress__staticIps="yes"),
        'ticketing:ingress.staticIps: expected true or false, got "yes"',
        id="bool-as-string",
    ),
    pytest.param(
        cloud(netwrok={"cidr": "10.0.0.0/16"}),
        "ticketing:netwrok: unknown key, expected one of role, environment, region, domain, "
        "hostnames, cloudflare, network, ingress, database, appHost, backingImages, services, "
        'webClients, observability, backup, venues, got {"cidr": "10.0.0.0/16"}',
        id="unknown-key",
    ),
    pytest.param(
        cloud(network__natmode="single"),
        "ticketing:network.natmode: unknown key, expected one of cidr, azCount, natMode, "
        'natInstanceType, flowLogRetentionDays, dockerPool, got "single"',
        id="typo-in-nested-key",
    ),
    pytest.param(
        cloud(services__search={"image": "ghcr.io/acme/search:1.0.0"}),
        "ticketing:services.search: unknown service, expected one of ticketing, payments, "
        'identity, notifications, got {"image": "ghcr.io/acme/search:1.0.0"}',
        id="unknown-service",
    ),
    pytest.param(
        cloud(services__identity=DELETE),
        "ticketing:services.identity: every service needs an entry, got nothing",
        id="service-missing",
    ),
    pytest.param(
        cloud(services__payments__image="ghcr.io/acme/payments:latest"),
        "ticketing:services.payments.image: image must be pinned, not 'latest', "
        'got "ghcr.io/acme/payments:latest"',
        id="latest-image",
    ),
    pytest.param(
        cloud(services__payments__redis="yes"),
        "ticketing:services.payments.redis: unknown key, expected one of image, database, host, "
        'healthCheckPath, pathPrefix, redisMaxMemoryMb, memoryMb, ecs, got "yes"',
        id="unknown-service-setting",
    ),
    pytest.param(
        cloud(services__ticketing__database="separate"),
        "ticketing:services.ticketing.database: expected one of shared, moving or dedicated, "
        'got "separate"',
        id="bad-placement",
    ),
    pytest.param(
        cloud(services__payments__database="moving", services__payments__host="ecs"),
        "ticketing:services.payments.database: a database moves while its service is stopped "
        "on its app host, and an ECS service has none: move it with host shared or dedicated, "
        'then place it on ECS, got "moving"',
        id="moving-on-ecs",
    ),
    pytest.param(
        cloud(domain="tickets_example.com"),
        'ticketing:domain: not a valid domain name, got "tickets_example.com"',
        id="bad-domain",
    ),
    pytest.param(
        cloud(hostnames__admin="Admin Portal"),
        "ticketing:hostnames.admin: not a valid DNS label (lowercase letters, digits, hyphens), "
        'got "Admin Portal"',
        id="bad-hostname",
    ),
    pytest.param(
        cloud(domain=DELETE),
        "ticketing:domain: a value is required, got nothing",
        id="missing-required",
    ),
    pytest.param(
        cloud(domain=""),
        "ticketing:domain: a value is required, got nothing",
        id="empty-domain-is-unset",
    ),
    pytest.param(
        cloud(environment="prod", database__deletionProtection=False),
        "ticketing:database.deletionProtection: must be true in prod, got false",
        id="prod-without-deletion-protection",
    ),
    pytest.param(
        cloud(environment="prod", database__multiAz=False),
        "ticketing:database.multiAz: must be true in prod, got false",
        id="prod-single-az-database",
    ),
    pytest.param(
        cloud(environment="prod", network__natMode="instance"),
        'ticketing:network.natMode: prod needs managed NAT gateways, got "instance"',
        id="prod-nat-instance",
    ),
    pytest.param(
        cloud(network__natMode="gateway"),
        "ticketing:network.natMode: expected one of none, single, per-az or instance, "
        'got "gateway"',
        id="unknown-nat-mode",
    ),
    pytest.param(
        cloud(network__natInstanceType="t3.nano"),
        "ticketing:network.natInstanceType: not a Graviton (arm64) instance type like t4g.nano, "
        'got "t3.nano"',
        id="nat-instance-not-graviton",
    ),
    pytest.param(
        cloud(appHost__instanceType="m7g.large"),
        "ticketing:appHost.instanceType: a Graviton (arm64) type, but the app hosts run "
        'Canonical\'s amd64 Ubuntu image; use an x86 type like t3.medium, got "m7g.large"',
        id="app-host-graviton",
    ),
    pytest.param(
        cloud(appHost__instanceType="large"),
        'ticketing:appHost.instanceType: not an EC2 instance type like t3.medium, got "large"',
        id="app-host-not-an-instance-type",
    ),
    pytest.param(
        cloud(environment="staging", database__backupRetentionDays=3),
        "ticketing:database.backupRetentionDays: must be at least 7 outside dev, got 3",
        id="short-backups-outside-dev",
    ),
    pytest.param(
        cloud(environment="production"),
        'ticketing:environment: expected one of dev, staging or prod, got "production"',
        id="unknown-environment",
    ),
    pytest.param(
        cloud(cloudflare__zoneId="example.com"),
        "ticketing:cloudflare.zoneId: not a Cloudflare zone id (32 lowercase hex characters), "
        'got "example.com"',
        id="bad-zone-id",
    ),
    pytest.param(
        cloud(cloudflare__adminAllow={"ips": ["203.0.113.0/24", "203.0.113.128/25"]}),
        "ticketing:cloudflare.adminAllow.ips: entries 203.0.113.0/24 and 203.0.113.128/25 "
        'overlap, got ["203.0.113.0/24", "203.0.113.128/25"]',
        id="overlapping-allow-list",
    ),
    pytest.param(
        cloud(cloudflare__adminAllow={"countries": ["Germany"]}),
        "ticketing:cloudflare.adminAllow.countries.0: not an ISO 3166 two-letter country code "
        'like DE, got "Germany"',
        id="bad-country",
    ),
    pytest.param(
        cloud(observability__logRetentionDays=10),
        "ticketing:observability.logRetentionDays: expected one of 1, 3, 5, 7, 14, 30, 60, 90, "
        "120, 150, 180, 365, 400, 545, 731 or 1096, got 10",
        id="retention-not-allowed-by-cloudwatch",
    ),
    pytest.param(
        cloud(venues=["arena", "arena"]),
        'ticketing:venues: venue \'arena\' is listed twice, got ["arena", "arena"]',
        id="duplicate-venue",
    ),
    pytest.param(
        cloud(region="Ireland"),
        'ticketing:region: not an AWS region name like eu-west-1, got "Ireland"',
        id="bad-region",
    ),
    pytest.param(
        cloud(database__engineVersion="16.4.1"),
        "ticketing:database.engineVersion: not a PostgreSQL major version 14-17 like 16, "
        'or major.minor like 16.6, got "16.4.1"',
        id="engine-version-with-patch",
    ),
    pytest.param(
        cloud(database__engineVersion="13"),
        "ticketing:database.engineVersion: not a PostgreSQL major version 14-17 like 16, "
        'or major.minor like 16.6, got "13"',
        id="engine-version-unsupported-major",
    ),
    pytest.param(
        cloud(database__engineVersion=16.1),
        'ticketing:database.engineVersion: quote the version ("16.10"): YAML reads 16.10 as '
        "the number 16.1, got 16.1",
        id="engine-version-as-yaml-number",
    ),
    pytest.param(
        cloud(database__instanceClass="db.r6g.large"),
        "ticketing:database.instanceClass: the memory of db.r6g.large is not in "
        "components/settings/rds_classes.py; add it from https://docs.aws.amazon.com/AmazonRDS/"
        "latest/UserGuide/Concepts.DBInstanceClass.Summary.html (and its price to plan/prices), "
        'got "db.r6g.large"',
        id="db-class-without-a-connection-limit",
    ),
    pytest.param(
        cloud(database__maintenanceWindow="tue:01:15-tue:02:00"),
        "ticketing:database.maintenanceWindow: overlaps backupWindow 01:00-01:30 (UTC, daily); "
        'RDS needs the maintenance window outside the backup window, got "tue:01:15-tue:02:00"',
        id="maintenance-overlaps-backups",
    ),
    pytest.param(
        cloud(database__backupWindow="1:00-1:30"),
        "ticketing:database.backupWindow: not a daily window hh24:mi-hh24:mi in UTC like "
        '01:00-01:30, got "1:00-1:30"',
        id="backup-window-format",
    ),
    pytest.param(
        cloud(database__backupWindow="01:00-01:20"),
        "ticketing:database.backupWindow: a window of 20 minutes; RDS needs at least 30, "
        'got "01:00-01:20"',
        id="backup-window-too-short",
    ),
    pytest.param(
        cloud(database__maintenanceWindow="Tue:03:00-Tue:03:30"),
        "ticketing:database.maintenanceWindow: not a weekly window ddd:hh24:mi-ddd:hh24:mi in "
        'UTC with days mon..sun, like tue:03:00-tue:03:30, got "Tue:03:00-Tue:03:30"',
        id="maintenance-window-format",
    ),
    pytest.param(
        cloud(role="edge"),
        'ticketing:role: expected one of cloud, venue, bootstrap, got "edge"',
        id="unknown-role",
    ),
]


@pytest.mark.parametrize(("raw", "line"), BAD)
def test_bad_value_gives_one_line(raw: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    message = str(info.value)
    assert message == line
    assert "\n" not in message


def test_valid_dev_config_gets_dev_profile_defaults() -> None:
    settings = parse(cloud())
    assert isinstance(settings, CloudSettings)
    assert settings.ingress.static_ips is False
    assert settings.database.multi_az is False
    assert settings.network.nat_mode == "instance"
    assert settings.network.nat_instance_type == "t4g.micro"
    assert settings.public_hosts == {
        "api": "api.example-tickets.com",
        "app": "app.example-tickets.com",
        "admin": "admin.example-tickets.com",
    }


def test_prod_profile_turns_on_high_availability() -> None:
    # A prod stack names the region its backups are copied to: it has no default.
    settings = parse(cloud(environment="prod", backup__copyRegion="eu-central-1"))
    assert isinstance(settings, CloudSettings)
    assert settings.database.multi_az is True
    assert settings.database.deletion_protection is True
    assert settings.database.backup_retention_days >= 7
    assert settings.network.nat_mode == "per-az"
    assert settings.network.az_count == 3
    assert settings.ingress.static_ips is True


def test_staging_keeps_one_nat_gateway() -> None:
    settings = parse(cloud(environment="staging", database__backupRetentionDays=7))
    assert isinstance(settings, CloudSettings)
    assert settings.network.nat_mode == "single"


def test_graviton_nat_instance_types_are_accepted() -> None:
    for instance_type in ("t4g.micro", "t4g.small", "t4g.medium", "m6g.large"):
        settings = parse(cloud(network__natInstanceType=instance_type))
        assert isinstance(settings, CloudSettings)
        assert settings.network.nat_instance_type == instance_type


@pytest.mark.parametrize("instance_type", ["t4g.medium", "c6gn.large", "m7gd.xlarge", "a1.large"])
def test_app_host_refuses_every_graviton_family(instance_type: str) -> None:
    with pytest.raises(ConfigError, match=r"^ticketing:appHost.instanceType: a Graviton"):
        parse(cloud(appHost__instanceType=instance_type))


def test_app_host_takes_x86_types() -> None:
    for instance_type in ("t3.large", "t3a.large", "m5.large", "m6i.large", "m6i.xlarge"):
        parsed = parse(cloud(appHost__instanceType=instance_type))
        assert isinstance(parsed, CloudSettings)
        assert parsed.app_host.instance_type == instance_type


def test_stack_file_value_wins_over_profile() -> None:
    settings = parse(
        cloud(environment="prod", network__azCount=2, backup__copyRegion="eu-central-1")
    )
    assert isinstance(settings, CloudSettings)
    assert settings.network.az_count == 2


def venue(**changes: Any) -> dict[str, Any]:
    """A valid venue stack config; top-level keys in `changes` replace or add."""
    raw: dict[str, Any] = {
        "role": "venue",
        "environment": "dev",
        "venue": {
            "id": "arena",
            "cloudStack": "acme/ticketing/dev",
            "dockerHost": "ssh://deploy@10.20.0.5",
            "lanAddress": "10.20.0.5",
            "bastionImage": "ghcr.io/acme/bastion:1.0.0",
        },
    }
    return {**raw, **changes}


def project_defaults() -> dict[str, Any]:
    """What the CLI fills in from Pulumi.yaml for a key the stack leaves out."""
    return {k: spec["default"] for k, spec in PROJECT_SCHEMA.items() if "default" in spec}


def test_venue_stack_refuses_cloud_keys() -> None:
    assert isinstance(parse(venue()), VenueStackSettings)
    with pytest.raises(ConfigError, match=r"^ticketing:network: unknown key"):
        parse(venue(network={"cidr": "10.0.0.0/16"}))


def test_project_defaults_reach_venue_and_cloud_stacks_alike() -> None:
    defaults = project_defaults()
    assert set(defaults) >= {"region", "domain"}
    assert isinstance(parse({**defaults, **venue()}), VenueStackSettings)
    parsed = parse({**defaults, **cloud()})
    assert isinstance(parsed, CloudSettings)
    assert parsed.region == defaults["region"]
    assert parsed.domain == "example-tickets.com"


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        pytest.param(
            {"domain": "x"},
            'ticketing:domain: venue stacks take no domain (their cloud stack\'s applies), got "x"',
            id="domain",
        ),
        pytest.param(
            {"region": "eu-central-1"},
            "ticketing:region: venue stacks take no region (their cloud stack's applies), "
            'got "eu-central-1"',
            id="region",
        ),
    ],
)
def test_venue_stack_refuses_a_region_or_domain_of_its_own(
    changes: dict[str, Any], line: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse({**project_defaults(), **venue(**changes)})
    assert str(info.value) == line


# --- Pulumi.yaml's config schema --------------------------------------------------


def schema_type(annotation: Any) -> str | None:
    """The Pulumi.yaml type of a scalar settings field; None for objects and lists."""
    if get_origin(annotation) is Literal:
        kinds = {type(v) for v in get_args(annotation)}
        annotation = kinds.pop() if len(kinds) == 1 else None
    return {str: "string", int: "integer", bool: "boolean"}.get(annotation)


def scalar_fields() -> dict[str, list[tuple[type[BaseModel], Any]]]:
    """Top-level scalar keys of every stack kind -> (model, field) declaring them."""
    found: dict[str, list[tuple[type[BaseModel], Any]]] = {}
    for model in (CloudSettings, VenueStackSettings):
        for name, field in model.model_fields.items():
            if schema_type(field.annotation) is not None:
                found.setdefault(field.alias or name, []).append((model, field))
    return found


def test_project_schema_declares_exactly_the_scalar_settings_keys() -> None:
    assert set(PROJECT_SCHEMA) == set(scalar_fields())
    for key, fields in scalar_fields().items():
        spec = PROJECT_SCHEMA[key]
        assert spec.get("description"), key
        assert {schema_type(field.annotation) for _, field in fields} == {spec["type"]}, key


def test_project_schema_defaults_are_the_settings_defaults() -> None:
    for key, fields in scalar_fields().items():
        spec = PROJECT_SCHEMA[key]
        defaults = {field.default for _, field in fields if not field.is_required()}
        if "default" not in spec:
            assert defaults == set(), f"{key}: settings have a default, Pulumi.yaml none"
        elif spec["default"] == settings.UNSET_DOMAIN and key == "domain":
            assert defaults == set(), "domain: the empty default stands for a required value"
        else:
            assert defaults == {spec["default"]}, key
    assert PROJECT_SCHEMA["role"]["default"] == settings.DEFAULT_ROLE
    assert PROJECT_SCHEMA["region"]["default"] == CloudSettings.model_fields["region"].default


def test_environment_has_no_project_default() -> None:
    assert "default" not in PROJECT_SCHEMA["environment"]
    with pytest.raises(ConfigError, match=r"^ticketing:environment: a value is required"):
        parse({k: v for k, v in cloud().items() if k != "environment"})


TLS = {"dockerTlsCa": "ca", "dockerTlsCert": "cert", "dockerTlsKey": "key"}


def tcp_venue(**changes: Any) -> dict[str, Any]:
    raw = venue(**changes)
    raw["venue"] = {**raw["venue"], "dockerHost": "tcp://10.20.0.5:2376"}
    return raw


def test_tcp_docker_host_needs_its_tls_secrets() -> None:
    assert isinstance(parse(tcp_venue(**TLS), secret_keys=set(TLS)), VenueStackSettings)
    with pytest.raises(ConfigError) as error:
        parse(tcp_venue(**{**TLS, "dockerTlsKey": ""}), secret_keys=set(TLS))
    assert str(error.value) == (
        "ticketing:dockerTlsKey: required as a secret when venue.dockerHost is tcp://, got nothing"
    )


@pytest.mark.parametrize("key", sorted(TLS))
def test_docker_tls_material_in_plain_config_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(tcp_venue(**TLS), secret_keys=set(TLS) - {key})
    assert str(error.value) == (
        f"ticketing:{key}: key material must be a config secret "
        f"(pulumi config set --secret ticketing:{key}), got a plain value"
    )


def test_plain_docker_tls_material_is_refused_on_any_stack() -> None:
    for raw in (venue(dockerTlsKey="key"), cloud(dockerTlsKey="key")):
        with pytest.raises(ConfigError, match=r"^ticketing:dockerTlsKey: key material must be"):
            parse(raw)


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        pytest.param(
            cloud(cloudflare__rateLimits={"identity": {"periodSeconds": 60}}),
            "ticketing:cloudflare.rateLimits.identity.periodSeconds: the free plan counts over "
            "at most 10s, got 60",
            id="period-beyond-free-plan",
        ),
        pytest.param(
            cloud(cloudflare__rateLimits={"payments": {"requests": 30}}),
            "ticketing:cloudflare.rateLimits.payments: the free plan has a single rate-limiting "
            "rule, shared with identity (set cloudflare.rateLimits.identity; its threshold "
            'applies to both), got {"requests": 30}',
            id="payments-threshold-on-free-plan",
        ),
        pytest.param(
            cloud(
                cloudflare__plan="pro",
                cloudflare__rateLimits={"payments": {"mitigationSeconds": 86400}},
            ),
            "ticketing:cloudflare.rateLimits.payments.mitigationSeconds: the pro plan blocks for "
            "at most 3600s, got 86400",
            id="block-beyond-pro-plan",
        ),
        pytest.param(
            cloud(
                cloudflare__plan="business",
                cloudflare__rateLimits={"identity": {"periodSeconds": 50}},
            ),
            "ticketing:cloudflare.rateLimits.identity.periodSeconds: expected one of 10, 15, 20, "
            "30, 40, 45, 60, 90, 120, 180, 240, 300, 480, 600, 900, 1200, 1800, 2400, 3600, 65535 "
            "or 86400, got 50",
            id="period-cloudflare-does-not-offer",
        ),
    ],
)
def test_rate_limits_must_fit_the_zone_plan(raw: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert str(info.value) == line


def test_free_zone_payments_share_the_identity_rule() -> None:
    parsed = parse(cloud(cloudflare__rateLimits={"identity": {"requests": 8}}))
    assert isinstance(parsed, CloudSettings)
    limits = parsed.cloudflare.rate_limits
    assert limits.identity.requests == 8
    assert limits.payments == limits.identity


def test_paid_zones_take_a_payments_threshold() -> None:
    parsed = parse(
        cloud(cloudflare__plan="pro", cloudflare__rateLimits={"payments": {"requests": 30}})
    )
    assert isinstance(parsed, CloudSettings)
    assert parsed.cloudflare.rate_limits.payments.requests == 30
    assert parsed.cloudflare.rate_limits.identity.requests == 20


def test_rate_limit_defaults_follow_the_zone_plan() -> None:
    free = parse(cloud())
    paid = parse(cloud(cloudflare__plan="business"))
    assert isinstance(free, CloudSettings) and isinstance(paid, CloudSettings)
    assert free.cloudflare.rate_limits.identity.period_seconds == 10
    assert paid.cloudflare.rate_limits.identity.period_seconds == 60


@pytest.mark.parametrize(
    ("version", "family", "pinned"),
    [("16", "postgres16", False), ("16.6", "postgres16", True), ("14.12", "postgres14", True)],
)
def test_engine_version_gives_the_parameter_group_family(
    version: str, family: str, pinned: bool
) -> None:
    settings_ = parse(cloud(database__engineVersion=version))
    assert isinstance(settings_, CloudSettings)
    assert settings_.database.family == family
    assert settings_.database.minor_pinned is pinned


def test_engine_version_defaults_to_the_major_version_only() -> None:
    parsed = parse(cloud())
    assert isinstance(parsed, CloudSettings)
    assert parsed.database.engine_version == "16"
    assert parsed.database.minor_pinned is False


def test_paid_zones_cache_for_shorter_at_the_edge() -> None:
    # Cloudflare's plan data, "Minimum Edge Cache TTL": 2 h, 1 h, 1 s, 1 s.
    for zone_plan, seconds in (("pro", 3600), ("business", 1), ("enterprise", 1)):
        parsed = parse(cloud(cloudflare__plan=zone_plan, cloudflare__cache__edgeSeconds=seconds))
        assert isinstance(parsed, CloudSettings)
        assert parsed.cloudflare.cache.edge_seconds == seconds
    with pytest.raises(ConfigError, match="the pro plan caches at the edge for at least 3600s"):
        parse(cloud(cloudflare__plan="pro", cloudflare__cache__edgeSeconds=1800))


def test_an_apex_zone_is_fine_on_every_zone_plan_and_a_subdomain_on_enterprise() -> None:
    for zone_plan in ("free", "pro", "business", "enterprise"):
        assert isinstance(parse(cloud(cloudflare__plan=zone_plan)), CloudSettings)
    parsed = parse(cloud(domain="dev.tickets.example.com", cloudflare__plan="enterprise"))
    assert isinstance(parsed, CloudSettings)
    # The registrable domain under a public suffix of two labels is itself an apex.
    assert isinstance(parse(cloud(domain="example.co.uk")), CloudSettings)


def test_the_public_suffix_list_is_read_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from components.settings import public_suffix

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("settings validation reached for the network")

    public_suffix._extract.cache_clear()  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert public_suffix.registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert public_suffix.registrable_domain("example-tickets-dev.com") == "example-tickets-dev.com"


def test_make_plan_exits_2_with_one_line_for_a_subdomain_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plan.__main__ import main

    root = Path(__file__).resolve().parent.parent
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((root / name).read_text())
    dev = (root / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.sub.yaml").write_text(
        dev.replace(
            "ticketing:domain: example-tickets-dev.com", "ticketing:domain: dev.x.example.com"
        )
    )
    assert main(["sub", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: ticketing:domain: is a subdomain of example.com; a free zone must be a "
        "registrable domain (subdomain zones need the enterprise plan), got "
        '"dev.x.example.com"'
    )


# --- what a host's containers may take of its memory ---------------------------------------


def test_dev_on_a_t3_medium_overcommits_naming_the_host_the_sum_and_the_memory() -> None:
    # 4 services x 512 + 3 Redis x 128 + 3 RabbitMQ x 512 + 2 web clients x 128 = 4224 MiB,
    # more than a t3.medium's 4096 MiB (AWS's instance type pages) even before the reserve.
    with pytest.raises(ConfigError) as raised:
        parse(cloud(appHost__instanceType="t3.medium"))
    assert str(raised.value) == (
        "ticketing:appHost.instanceType: host shared: its containers' memory limits add up to "
        "4224 MiB, more than t3.medium's 4096 MiB less 768 MiB for the system (3328 MiB); "
        "choose a larger type, lower services.<name>.memoryMb or appHost.replicas (1), "
        'got "t3.medium"'
    )


def test_a_second_replica_counts_in_the_memory_sum() -> None:
    # Each service and web client twice: 4 x 2 x 512 + 3 Redis x 128 + 3 RabbitMQ x 512 +
    # 2 x 2 web clients x 128 = 6528 MiB; Redis and RabbitMQ stay one each.
    two = parse(cloud(appHost__replicas=2))
    assert isinstance(two, CloudSettings)
    limits = two.container_limits()["shared"]
    assert sum(limits.values()) == 6528
    assert {"ticketing-2", "client-web-2"} <= set(limits)
    assert "ticketing-redis-2" not in limits
    with pytest.raises(ConfigError) as raised:
        parse(cloud(appHost__replicas=2, appHost__instanceType="t3.medium"))
    assert "add up to 6528 MiB" in str(raised.value)
    assert str(raised.value).endswith('or appHost.replicas (2), got "t3.medium"')


@pytest.mark.parametrize("value", [3, 0, "two"])
def test_replicas_are_one_or_two(value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(cloud(appHost__replicas=value))
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    assert str(raised.value) == f"ticketing:appHost.replicas: expected one of 1 or 2, got {shown}"


def test_dev_runs_one_replica_staging_and_prod_two() -> None:
    """dev's t3.medium holds one set of containers; staging and prod roll two."""
    for stack, replicas in (("dev", 1), ("staging", 2), ("prod", 2)):
        stack_file = Path(__file__).resolve().parent.parent / f"Pulumi.{stack}.yaml"
        config = yaml.safe_load(stack_file.read_text())["config"]
        parsed = parse({k.split(":", 1)[1]: v for k, v in config.items()})
        assert isinstance(parsed, CloudSettings)
        assert parsed.app_host.replicas == replicas, stack


def test_a_dedicated_host_is_checked_on_its_own() -> None:
    raw = cloud(appHost__instanceType="t3.small")
    for name in SERVICE_NAMES:
        raw["services"][name]["host"] = "dedicated"
    raw["services"]["payments"]["memoryMb"] = 1024
    # payments alone: 1024 + Redis 128 + RabbitMQ 512 = 1664 MiB > 2048 - 768; the others fit,
    # and the shared host keeps only the web clients (256 MiB).
    with pytest.raises(ConfigError, match=r"host payments: .* add up to 1664 MiB, more than "):
        parse(raw)
    raw["services"]["payments"]["memoryMb"] = 512
    assert isinstance(parse(raw), CloudSettings)


def test_every_committed_cloud_stack_fits_its_hosts() -> None:
    for stack in ("dev", "staging", "prod"):
        stack_file = Path(__file__).resolve().parent.parent / f"Pulumi.{stack}.yaml"
        config = yaml.safe_load(stack_file.read_text())["config"]
        raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("ticketing:")}
        parsed = parse(raw)
        assert isinstance(parsed, CloudSettings)
        installed = instance_memory.memory_mib(parsed.app_host.instance_type)
        assert installed is not None
        for host, limits in parsed.container_limits().items():
            assert sum(limits.values()) <= installed - 768, (stack, host)


def test_an_instance_type_without_a_known_memory_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        parse(cloud(appHost__instanceType="c7i.xlarge"))
    assert str(raised.value) == (
        "ticketing:appHost.instanceType: the memory of c7i.xlarge is not in "
        "components/settings/instance_memory.py; add it from "
        'https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, got "c7i.xlarge"'
    )


def test_a_nat_instance_needs_a_gib_for_its_first_boot() -> None:
    with pytest.raises(ConfigError) as raised:
        parse(cloud(network__natInstanceType="t4g.nano"))
    assert str(raised.value) == (
        "ticketing:network.natInstanceType: 512 MiB is too little for Amazon Linux 2023's first "
        'boot (dnf and the SSM agent need 1024 MiB); use t4g.micro or larger, got "t4g.nano"'
    )
    default = parse(cloud())
    assert isinstance(default, CloudSettings)
    assert default.network.nat_instance_type == "t4g.micro"


def test_the_memory_table_is_what_describe_instance_types_answers() -> None:
    # moto ships a DescribeInstanceTypes answer recorded from AWS (MemoryInfo.SizeInMiB).
    import gzip
    import json

    import moto

    recorded = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    answer = json.loads(gzip.decompress(recorded.read_bytes()))
    table = instance_memory.MEMORY_MIB
    assert {t: answer[t]["MemoryInfo"]["SizeInMiB"] for t in table} == dict(table)


def test_the_memory_table_covers_every_priced_instance_type() -> None:
    from plan.cost import load_prices

    priced = set(load_prices().ec2_instance_hour.prices)
    assert priced == set(instance_memory.MEMORY_MIB)


REGISTRY = {
    "server": "ghcr.io",
    "username": "deploy-bot",
    "passwordParameter": "/ticketing/registry/ghcr-token",
}


def registry_of(raw: dict[str, Any]) -> RegistrySettings | None:
    parsed = parse(raw)
    assert isinstance(parsed, CloudSettings)
    return parsed.app_host.registry


def test_app_hosts_log_in_to_no_registry_unless_one_is_named() -> None:
    assert registry_of(cloud()) is None
    registry = registry_of(cloud(appHost__registry=REGISTRY))
    assert registry is not None
    assert (registry.server, registry.username, registry.password_parameter) == (
        "ghcr.io",
        "deploy-bot",
        "/ticketing/registry/ghcr-token",
    )
    with_port = {**REGISTRY, "server": "registry.example.com:5000"}
    ported = registry_of(cloud(appHost__registry=with_port))
    assert ported is not None and ported.server == "registry.example.com:5000"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "server",
            "https://ghcr.io",
            "ticketing:appHost.registry.server: not a registry like ghcr.io or "
            "registry.example.com:5000 (a hostname, an optional :port, no scheme or path), "
            'got "https://ghcr.io"',
        ),
        (
            "server",
            "ghcr.io:99999",
            'ticketing:appHost.registry.server: its port must be 1 to 65535, got "ghcr.io:99999"',
        ),
        (
            "passwordParameter",
            "ghcr-token",
            "ticketing:appHost.registry.passwordParameter: does not match "
            '^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$, got "ghcr-token"',
        ),
        (
            "username",
            "deploy bot'; id",
            "ticketing:appHost.registry.username: does not match "
            '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$, got "deploy bot\'; id"',
        ),
    ],
)
def test_a_bad_registry_setting_is_one_line_naming_it(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(cloud(appHost__registry={**REGISTRY, key: value}))
    assert str(error.value) == message
