"""A cloud stack's settings: the Cloudflare edge, the AWS core and the domain services."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Final, Literal, cast

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.host import memory
from components.settings import instance_memory, rds_classes, rds_windows
from components.settings.cloudflare import CloudflareSettings
from components.settings.errors import at, require_exact_keys
from components.settings.fargate import EcsSettings, HostPlacement
from components.settings.public_suffix import registrable_domain
from components.settings.validators import (
    DatabasePlacement,
    DbInstanceClass,
    DbSnapshot,
    Domain,
    Email,
    Environment,
    GravitonInstanceType,
    Ipv4Cidr,
    Label,
    Model,
    NatMode,
    PinnedImage,
    PointInTime,
    PostgresVersion,
    Region,
    RegistryServer,
    RegistryUser,
    RetentionDays,
    SsmParameterName,
    X86InstanceType,
    snapshot_region,
)
from seed.catalog import SERVICE_NAMES, SERVICES, WEB_CLIENTS, Backing
from seed.zone_plans import cheapest_with

DEFAULT_ROLE: Final = "cloud"
DEFAULT_REGION: Final = "eu-west-1"
# Pulumi.yaml's default for `domain`: the CLI needs a default for every key a stack may
# leave out (venue stacks have no domain), so an empty domain means "not set".
UNSET_DOMAIN: Final = ""


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


class NetworkSettings(Model):
    """The VPC: address space, zones, egress.

    `nat_mode`: no egress, one NAT gateway, one per zone, or one NAT instance
    (`instance`, for dev: a few dollars a month instead of a gateway's ~$35, no HA).
    """

    cidr: Ipv4Cidr = "10.40.0.0/16"
    az_count: Annotated[int, Field(ge=2, le=3)] = 2
    nat_mode: NatMode = "single"
    # The NAT instance runs the arm64 Amazon Linux 2023 AMI, so Graviton types only, with
    # the memory its first boot needs (`instance_memory.NAT_MINIMUM_MIB`).
    nat_instance_type: GravitonInstanceType = "t4g.micro"
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

    @field_validator("nat_instance_type")
    @classmethod
    def _nat_boots(cls, instance_type: str) -> str:
        installed = instance_memory.memory_mib(instance_type)
        if installed is None:
            raise ValueError(instance_memory.unknown_type(instance_type))
        if installed < instance_memory.NAT_MINIMUM_MIB:
            raise ValueError(
                f"{installed} MiB is too little for Amazon Linux 2023's first boot (dnf and the "
                f"SSM agent need {instance_memory.NAT_MINIMUM_MIB} MiB); use t4g.micro or larger"
            )
        return instance_type

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkSettings:
        if ipaddress.IPv4Network(self.cidr).overlaps(ipaddress.IPv4Network(self.docker_pool)):
            raise at(("cidr",), f"overlaps network.dockerPool {self.docker_pool}", self.cidr)
        return self


# ELB policies that negotiate TLS 1.3 and nothing below 1.2 (and their FIPS/PQ variants).
_TLS13_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-1-[23]-[A-Za-z0-9-]+$")


def _tls13_policy(value: str) -> str:
    if not _TLS13_POLICY.match(value):
        raise ValueError(
            "not a TLS 1.3 ELB security policy like ELBSecurityPolicy-TLS13-1-2-2021-06"
        )
    return value


class OriginSecretSettings(Model):
    """Two origin-lock secrets, `a` and `b`: the ALB accepts both, the edge sends `send`.

    Rotating without a window of 403s takes two deployments: bump the generation of
    the slot not being sent (the ALB now accepts its new value too), then send it.
    """

    send: Literal["a", "b"] = "a"
    generation_a: Annotated[int, Field(ge=1)] = 1
    generation_b: Annotated[int, Field(ge=1)] = 1


class IngressSettings(Model):
    """Static IPs: an NLB on Elastic IPs in front of the ALB, or the ALB alone; the HTTPS
    listener verifying Cloudflare's origin-pull client certificate (`origin_mtls`)."""

    static_ips: bool = True
    origin_mtls: Literal["verify", "off"] = "verify"
    origin_secret: OriginSecretSettings = OriginSecretSettings()
    tls_policy: Annotated[str, AfterValidator(_tls13_policy)] = (
        "ELBSecurityPolicy-TLS13-1-2-2021-06"
    )
    # Days the ALB's access logs are kept in their S3 bucket; 0 writes none.
    access_log_days: Annotated[int, Field(ge=0, le=3650)] = 0


def _backup_window(value: str) -> str:
    rds_windows.backup_span(value)
    return value


def _maintenance_window(value: str) -> str:
    rds_windows.maintenance_span(value)
    return value


class DatabaseRestoreSettings(Model):
    """A copy of the shared instance restored beside it, and whether it serves.

    From `snapshot` (a snapshot's name or ARN) or `point_in_time` (`latest`, or a UTC
    time within the shared instance's backup retention): RDS makes a new instance,
    `ticketing-<env>-db-restored`, hardened as the shared one. While `serve` is false
    the services stay on the shared instance; `serve: true` points every service on it
    at the copy, and `retire_original` then removes the shared instance (after its final
    snapshot; docs/runbooks.md "Restore the shared database into a new instance").
    """

    snapshot: DbSnapshot | None = None
    point_in_time: PointInTime | None = None
    serve: bool = False
    retire_original: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> DatabaseRestoreSettings:
        if (self.snapshot is None) == (self.point_in_time is None):
            message = "a restore needs exactly one of snapshot and pointInTime"
            raise at(("pointInTime",), message, self.point_in_time)
        if self.retire_original and not self.serve:
            message = "the shared instance retires only once the restored copy serves (serve: true)"
            raise at(("retireOriginal",), message, True)
        return self


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
    # RDS's OS metrics (per process CPU and memory, disk, swap) to CloudWatch Logs every
    # this many seconds; 0 is off. The intervals CreateDBInstance's MonitoringInterval takes.
    enhanced_monitoring_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = 0
    # UTC; RDS backs up daily in the first and applies maintenance weekly in the second,
    # and refuses windows that overlap (`rds_windows`). Per environment in `profiles`.
    backup_window: Annotated[str, AfterValidator(_backup_window)] = "01:00-01:30"
    maintenance_window: Annotated[str, AfterValidator(_maintenance_window)] = "tue:03:00-tue:03:30"
    # The shared instance restored into a new one beside it (`DatabaseRestoreSettings`).
    restore: DatabaseRestoreSettings | None = None

    @model_validator(mode="after")
    def _windows_apart(self) -> DatabaseSettings:
        if rds_windows.overlaps(self.backup_window, self.maintenance_window):
            message = (
                f"overlaps backupWindow {self.backup_window} (UTC, daily); RDS needs the "
                "maintenance window outside the backup window"
            )
            raise at(("maintenanceWindow",), message, self.maintenance_window)
        return self

    @field_validator("instance_class")
    @classmethod
    def _class_in_the_table(cls, value: str) -> str:
        if value not in rds_classes.MEMORY_GIB:
            raise ValueError(rds_classes.unknown_class(value))
        return value

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


class RegistrySettings(Model):
    """A private registry the app hosts log in to (`docker login`) before Compose pulls.

    The password (or token) is an SSM SecureString made outside the program, named by
    `passwordParameter`; each app host's role may read that one parameter besides its own.
    """

    server: RegistryServer
    username: RegistryUser
    password_parameter: SsmParameterName


class AppHostSettings(Model):
    """The single Docker Compose VM of the seed's deployment model (and any dedicated host)."""

    # Every app host boots Canonical's amd64 Ubuntu image, so x86 types only; 8 GiB holds
    # the default containers (4224 MiB) and the system's reserve.
    instance_type: X86InstanceType = "t3.large"
    # The OS, the agent and the tools: Docker keeps its data on the data volume.
    root_volume_gb: Annotated[int, Field(ge=20, le=1024)] = 20
    # Docker's data root (images, containers, RabbitMQ's and Redis's named volumes): an EBS
    # volume of its own, kept when the instance is replaced.
    data_volume_gb: Annotated[int, Field(ge=10, le=16_384)] = 20
    # Where private images come from, if any (`RegistrySettings`).
    registry: RegistrySettings | None = None
    # Containers per service and web client: two (on their two declared host ports, both
    # in the owner's target group) are replaced one at a time, so a deploy drops no
    # request; one is replaced in place, and its target group answers 502 until it is
    # healthy again (30 to 90 s). dev runs one: a second set does not fit its t3.medium.
    replicas: Literal[1, 2] = 2


class BackingImages(Model):
    redis: PinnedImage = "redis:7.4.1-alpine"
    rabbitmq: PinnedImage = "rabbitmq:3.13.7-alpine"


class ServiceSettings(Model):
    """Per-service overrides. Placement switches are the scale path: config only."""

    image: PinnedImage
    database: DatabasePlacement = "shared"
    host: HostPlacement = "shared"
    health_check_path: Annotated[str, Field(pattern=r"^/[\w./-]*$")] | None = None
    path_prefix: Annotated[str, Field(pattern=r"^/[\w-]+$")] | None = None
    redis_max_memory_mb: Annotated[int, Field(ge=16, le=4096)] = 64
    memory_mb: Annotated[int, Field(ge=128, le=16_384)] = 512
    ecs: EcsSettings = EcsSettings()


class WebClientSettings(Model):
    image: PinnedImage


class ObservabilitySettings(Model):
    alarm_emails: list[Email] = []
    log_retention_days: RetentionDays = 14
    # The CloudWatch dashboard ($3 a month); the alarms do not need it.
    dashboard: bool = True


# How long AWS Backup's daily job may take to start (its rule's start window).
BACKUP_START_WINDOW_MINUTES: Final = 60


class BackupSettings(Model):
    """AWS Backup of the databases: a recovery point every day, kept `retention_days` (0:
    none, RDS's automated backups only); with `copy_region`, each one copied to a vault in
    that region, kept `copy_retention_days` (the stack's default: `retention_days`)."""

    retention_days: Annotated[int, Field(ge=0, le=3650)] = 7
    copy_region: Region | None = None
    copy_retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    # When the daily job may start (UTC); it starts within the hour, which must stay clear
    # of the databases' own backup and maintenance windows.
    start_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "05:00"

    @property
    def start_window(self) -> str:
        """The hour the job may start in, as a daily window (`05:00-06:00`)."""
        hours, minutes = (int(part) for part in self.start_time.split(":"))
        end = (hours * 60 + minutes + BACKUP_START_WINDOW_MINUTES) % (24 * 60)
        return f"{self.start_time}-{end // 60:02d}:{end % 60:02d}"

    @property
    def kept_copy_days(self) -> int:
        return self.copy_retention_days or self.retention_days


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
    backup: BackupSettings = BackupSettings()
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
        return require_exact_keys(value, SERVICE_NAMES, "service")

    @field_validator("web_clients", mode="before")
    @classmethod
    def _known_web_clients(cls, value: Any) -> Any:
        return require_exact_keys(value, tuple(c.name for c in WEB_CLIENTS), "web client")

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
                raise at(("database", "deletionProtection"), "must be true in prod", False)
            if not db.multi_az:
                raise at(("database", "multiAz"), "must be true in prod", False)
            if self.network.nat_mode == "none":
                raise at(("network", "natMode"), "prod needs NAT egress", "none")
            if self.network.nat_mode == "instance":
                raise at(("network", "natMode"), "prod needs managed NAT gateways", "instance")
        if self.environment != "dev" and self.database.backup_retention_days < 7:
            days = self.database.backup_retention_days
            raise at(("database", "backupRetentionDays"), "must be at least 7 outside dev", days)
        if self.backup.copy_region == self.region:
            message = f"must differ from the stack's region ({self.region}): a copy survives it"
            raise at(("backup", "copyRegion"), message, self.backup.copy_region)
        if self.backup.retention_days:
            self._backups_clear_of_the_database_windows()
        if self.environment != "dev" and not self.backup.retention_days:
            raise at(("backup", "retentionDays"), "must be at least 1 outside dev", 0)
        if self.environment == "prod" and self.backup.copy_region is None:
            raise at(("backup", "copyRegion"), "prod copies its backups to a second region", None)
        self._restore_in_the_stack_region()
        self._zone_the_zone_plan_can_hold()
        self._hosts_fit()
        self._moves_run_on_an_app_host()
        unknown = sorted(set(self.cloudflare.venue_egress) - set(self.venues))
        if unknown:
            message = f"not a venue of this stack (venues: {', '.join(self.venues) or 'none'})"
            raise at(("cloudflare", "venueEgress", unknown[0]), message, unknown[0])
        if self.database.max_allocated_storage_gb < self.database.allocated_storage_gb:
            raise at(
                ("database", "maxAllocatedStorageGb"),
                f"must be at least allocatedStorageGb ({self.database.allocated_storage_gb})",
                self.database.max_allocated_storage_gb,
            )
        return self

    def _restore_in_the_stack_region(self) -> None:
        """RDS restores a snapshot in its own region only (copy it over first)."""
        restore = self.database.restore
        if restore and all(
            self.services[s.name].database == "dedicated"
            for s in SERVICES
            if s.uses(Backing.POSTGRESQL)
        ):
            message = "no service's database is on the shared instance: there is nothing to restore"
            raise at(
                ("database", "restore"),
                message,
                restore.model_dump(by_alias=True, exclude_none=True),
            )
        snapshot = restore.snapshot if restore else None
        region = snapshot_region(snapshot) if snapshot else None
        if region is not None and region != self.region:
            message = (
                f"is in {region}, not the stack's region {self.region}: copy it over first "
                "(aws rds copy-db-snapshot) and restore the copy"
            )
            raise at(("database", "restore", "snapshot"), message, snapshot)

    def _moves_run_on_an_app_host(self) -> None:
        """A database moves while the app host that runs its service has it stopped."""
        for name, service in self.services.items():
            if service.database == "moving" and service.host == "ecs":
                message = (
                    "a database moves while its service is stopped on its app host, and an "
                    "ECS service has none: move it with host shared or dedicated, then place it "
                    "on ECS"
                )
                raise at(("services", name, "database"), message, "moving")

    def _backups_clear_of_the_database_windows(self) -> None:
        """AWS Backup's start hour never meets RDS's own backup or maintenance window."""
        job, db = self.backup.start_window, self.database
        for key, window, meets in (
            ("backupWindow", db.backup_window, rds_windows.daily_overlap(job, db.backup_window)),
            (
                "maintenanceWindow",
                db.maintenance_window,
                rds_windows.overlaps(job, db.maintenance_window),
            ),
        ):
            if meets:
                message = (
                    f"its start hour {job} (UTC) overlaps database.{key} {window}; "
                    "choose an hour clear of both"
                )
                raise at(("backup", "startTime"), message, self.backup.start_time)

    def _hosts_fit(self) -> None:
        """Every host's containers' memory limits fit its instance, less the system's reserve."""
        size = self.app_host.instance_type
        installed = instance_memory.memory_mib(size)
        if installed is None:
            raise at(("appHost", "instanceType"), instance_memory.unknown_type(size), size)
        usable = installed - instance_memory.HOST_RESERVE_MIB
        for host, limits in self.container_limits().items():
            total = sum(limits.values())
            if total > usable:
                message = (
                    f"host {host}: its containers' memory limits add up to {total} MiB, more than "
                    f"{size}'s {installed} MiB less {instance_memory.HOST_RESERVE_MIB} MiB for "
                    f"the system ({usable} MiB); choose a larger type, lower "
                    f"services.<name>.memoryMb or appHost.replicas ({self.app_host.replicas})"
                )
                raise at(("appHost", "instanceType"), message, size)

    def container_limits(self) -> dict[str, dict[str, int]]:
        """Host name -> container name -> memory limit (MiB): the shared host (web clients and
        every shared service), then one host per `host: dedicated` service."""
        replicas = self.app_host.replicas
        sizing = {
            s.name: memory.ServiceMemory(
                s,
                self.services[s.name].memory_mb,
                self.services[s.name].redis_max_memory_mb,
                replicas,
            )
            for s in SERVICES
        }
        shared = [sizing[n] for n in sizing if self.services[n].host == "shared"]
        hosts = {"shared": memory.host_limits(shared, WEB_CLIENTS, replicas)}
        for name, sized in sizing.items():
            if self.services[name].host == "dedicated":
                hosts[name] = memory.host_limits([sized], (), replicas)
        return hosts

    def _zone_the_zone_plan_can_hold(self) -> None:
        """The zone is `domain`; below Enterprise it must be a registrable domain itself
        (Cloudflare's plan data: subdomain zone setup is Enterprise-only)."""
        if self.cloudflare.entitlements.subdomain_zones:
            return
        apex = registrable_domain(self.domain)
        if apex != self.domain:
            message = (
                f"is a subdomain of {apex}; a {self.cloudflare.zone_plan} zone must be a "
                "registrable domain (subdomain zones need the "
                f"{cheapest_with('subdomain_zones')} plan)"
            )
            raise at(("domain",), message, self.domain)

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
