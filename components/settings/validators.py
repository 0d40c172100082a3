"""Value checks and the constrained types config sections are built from. No Pulumi.

Each check raises ValueError with the "what is wrong" part of the error line.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Environment = Literal["dev", "staging", "prod"]
Role = Literal["cloud", "venue", "bootstrap"]
NatMode = Literal["none", "single", "per-az", "instance"]
ZonePlan = Literal["free", "pro", "business", "enterprise"]
DdosSensitivity = Literal["default", "medium", "low", "eoff"]
# Where a service's database lives. `moving` is the first of the two steps from the shared
# instance to a dedicated one: the instance is created and the service's role and database
# made on it while the service stays on the shared one; `dedicated` then copies the data
# over (components/host/scripts/apply_service_database_move.sh) and switches.
DatabasePlacement = Literal["shared", "moving", "dedicated"]


_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
# A stack name alone (`dev`), or fully qualified (`acme/ticketing/dev`).
_STACK = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+$")
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


# RFC 1918: the addresses a venue LAN hands out; anything else is not reachable from there
# only (public), or not a host's address at all (0.0.0.0, loopback, link-local, multicast).
_RFC1918 = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


def _lan_address(value: str) -> str:
    address = ipaddress.IPv4Address(_ipv4_address(value))
    if not any(address in network for network in _RFC1918):
        raise ValueError(
            "not a private LAN address (one in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
        )
    return str(address)


def _hostname(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            "not a valid hostname (dot-separated DNS labels: lowercase letters, digits, hyphens)"
        )
    if labels[-1].isdigit():
        raise ValueError("not a valid hostname (it ends in a number, like an IP address)")
    return value


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
        raise ValueError(
            "not a stack name like dev, or a fully qualified one like acme/ticketing/dev"
        )
    return value


_SSH_HOST = re.compile(r"^ssh://[a-z_][a-z0-9_.-]*@(?P<host>[^:/@\s]+)(:(?P<port>\d{1,5}))?$")
_TCP_HOST = re.compile(r"^tcp://(?P<host>[^:/@\s]+):(?P<port>\d{1,5})$")


def docker_host_address(value: str) -> tuple[str, int]:
    """The (host, port) a Docker host URL connects to: ssh:// defaults to port 22."""
    match = _SSH_HOST.match(value) or _TCP_HOST.match(value)
    if match is None:
        raise ValueError("Docker host must be ssh://user@host[:port] or tcp://host:port")
    host, port = match["host"], int(match["port"] or 22)
    if not 1 <= port <= 65535:
        raise ValueError("Docker host port must be 1-65535")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        _hostname(host)
    return host, port


def _docker_host(value: str) -> str:
    docker_host_address(value)
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


_REGISTRY = re.compile(r"^(?P<host>[^:/@\s]+)(:(?P<port>[0-9]+))?$")


def _registry_server(value: str) -> str:
    match = _REGISTRY.match(value)
    try:
        _hostname(match["host"] if match else "")
    except ValueError:
        raise ValueError(
            "not a registry like ghcr.io or registry.example.com:5000 (a hostname, an"
            " optional :port, no scheme or path)"
        ) from None
    port = match["port"] if match else None
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError("its port must be 1 to 65535")
    return value


RegistryServer = Annotated[str, AfterValidator(_registry_server)]

# An RDS snapshot to restore from, as RestoreDBInstanceFromDBSnapshot takes it: a manual
# snapshot's name (a letter, then letters, digits and single hyphens, 255 at most:
# CreateDBSnapshot's DBSnapshotIdentifier), an automated one's (`rds:` prefix), an AWS
# Backup recovery point's (`awsbackup:`), or any of them as the snapshot's ARN (shared
# snapshots: the ARN only).
_SNAPSHOT = re.compile(
    r"^(arn:aws[a-z-]*:rds:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:snapshot:)?"
    r"((rds|awsbackup):)?(?P<name>[A-Za-z](-?[A-Za-z0-9])*)$"
)


def snapshot_region(value: str) -> str | None:
    """The region of a snapshot given by ARN; None for a bare name (the stack's region)."""
    match = _SNAPSHOT.match(value)
    return match["region"] if match else None


def _db_snapshot(value: str) -> str:
    match = _SNAPSHOT.match(value)
    if not match or len(match["name"]) > 255:
        raise ValueError(
            "not an RDS snapshot like my-snapshot, rds:ticketing-prod-db-2026-12-01-02-10, "
            "awsbackup:job-<id> or arn:aws:rds:<region>:<account>:snapshot:<name>"
        )
    return value


_POINT_IN_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _point_in_time(value: str) -> str:
    if value != "latest":
        try:
            valid = bool(_POINT_IN_TIME.match(value)) and bool(
                datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            )
        except ValueError:
            valid = False
        if not valid:
            raise ValueError("not latest or a UTC time like 2026-12-01T02:10:00Z")
    return value


DbSnapshot = Annotated[str, AfterValidator(_db_snapshot)]
PointInTime = Annotated[str, AfterValidator(_point_in_time)]
RegistryUser = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")]
SsmParameterName = Annotated[
    str, Field(pattern=r"^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", max_length=1011)
]
Label = Annotated[str, AfterValidator(_hostname_label)]
Domain = Annotated[str, AfterValidator(_domain)]
Region = Annotated[str, AfterValidator(_region)]
ZoneId = Annotated[str, AfterValidator(_zone_id)]
PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
IpCidr = Annotated[str, AfterValidator(_ip_cidr)]
Ipv4Address = Annotated[str, AfterValidator(_ipv4_address)]
LanAddress = Annotated[str, AfterValidator(_lan_address)]
Hostname = Annotated[str, AfterValidator(_hostname)]
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
