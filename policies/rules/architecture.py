"""Architecture rules: the seed's backing-services table holds in what is deployed.

They read the catalog (`seed.catalog`, the one source of truth) and the
names the program stores things under (`seed.naming`):

- each service's credentials are SSM parameters under
  `/ticketing/<env>/services/<service>/<key>`, and `.../database-name` holds
  the name of its own database;
- each app host's compose document is the String parameter
  `/ticketing/<env>/hosts/<host>/compose` (YAML, or gzip + base64 of it):
  services keyed by container name, a
  service's Redis is `<service>-redis` and its RabbitMQ `<service>-rabbitmq`,
  both on the network `<service>-backing` only.

Stack rules see outputs, so values that are secret in state (passwords, URLs)
arrive unwrapped; messages never print them.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, cast
from urllib.parse import urlsplit

import yaml
from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from policies.rules.common import (
    ENVIRONMENT_SCHEMA,
    UNKNOWN,
    Category,
    Reporter,
    at,
    elements,
    entries,
    is_list,
    is_map,
    is_unknown,
    stack_environment,
    stack_rule,
    task_containers,
    text,
)
from seed import naming
from seed.catalog import SERVICE_NAMES, SERVICES, Backing, DomainService

SSM_PARAMETER: Final = "aws:ssm/parameter:Parameter"
RDS_INSTANCE: Final = "aws:rds/instance:Instance"
DOCKER_VOLUME: Final = "docker:index/volume:Volume"
EFS_FILE_SYSTEM: Final = "aws:efs/fileSystem:FileSystem"
TASK_DEFINITION: Final = "aws:ecs/taskDefinition:TaskDefinition"
STATEFUL_TYPES: Final = (RDS_INSTANCE, DOCKER_VOLUME, EFS_FILE_SYSTEM)

DATABASE_NAME: Final = "database-name"
_PROJECT = re.escape(naming.PROJECT)
SERVICE_PARAMETER: Final = re.compile(
    rf"^/{_PROJECT}/(?P<env>[^/]+)/services/(?P<service>[^/]+)/(?P<key>[^/]+)$"
)
COMPOSE_PARAMETER: Final = re.compile(
    rf"^/{_PROJECT}/(?P<env>[^/]+)/hosts/(?P<host>[^/]+)/compose$"
)

POSTGRES_KEYS: Final = frozenset({naming.DATABASE_URL, naming.DATABASE_PASSWORD, DATABASE_NAME})
REDIS_KEYS: Final = frozenset({naming.REDIS_URL, naming.REDIS_PASSWORD})
RABBITMQ_KEYS: Final = frozenset(
    {naming.AMQP_URL, naming.RABBITMQ_PASSWORD, naming.RABBITMQ_DEFINITIONS}
)
BACKING_KEYS: Final = POSTGRES_KEYS | REDIS_KEYS | RABBITMQ_KEYS
# Keys whose values are one service's credentials: never the same for two services.
CREDENTIAL_KEYS: Final = frozenset(
    {
        naming.DATABASE_URL,
        naming.DATABASE_PASSWORD,
        naming.REDIS_URL,
        naming.REDIS_PASSWORD,
        naming.AMQP_URL,
        naming.RABBITMQ_PASSWORD,
    }
)


def expected_keys(service: DomainService) -> frozenset[str]:
    """The backing-service parameters the seed's table gives `service`."""
    keys: set[str] = set()
    if service.uses(Backing.POSTGRESQL):
        keys |= POSTGRES_KEYS
    if service.uses(Backing.REDIS):
        keys |= REDIS_KEYS
    if service.uses(Backing.RABBITMQ):
        keys |= RABBITMQ_KEYS
    return frozenset(keys)


def owner(container: str) -> str | None:
    """The domain service a compose container belongs to by name (`payments`, `payments-*`)."""
    for name in SERVICE_NAMES:
        if container == name or container.startswith(f"{name}-"):
            return name
    return None


def backing_containers(service: str) -> dict[str, Backing]:
    return {
        naming.redis_container(service): Backing.REDIS,
        naming.rabbitmq_container(service): Backing.RABBITMQ,
    }


def compose_text(value: str) -> str:
    """The YAML of a stored compose document: as is, or gzip-compressed and base64-encoded
    (which keeps a large document within a Standard parameter's 4 KB)."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return value
    if not raw.startswith(b"\x1f\x8b"):
        return value
    try:
        return gzip.decompress(raw).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError):
        raise ValueError("not a valid gzip document") from None


def parse_compose(document: str) -> dict[str, frozenset[str]]:
    """Container name -> the networks it joins. Raises ValueError for a malformed document."""
    return dict(_compose_networks(document))


@lru_cache(maxsize=32)
def _compose_networks(document: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """`parse_compose` of one document, parsed once: every rule that reads the stack's
    compose documents reads the same ones, and parsing YAML is the slow part."""
    try:
        loaded: object = yaml.safe_load(compose_text(document))
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML ({exc.__class__.__name__})") from None
    services = at(loaded, "services")
    if not is_map(services):
        raise ValueError("no services mapping")
    containers: dict[str, frozenset[str]] = {}
    for key, spec in entries(services):
        name = text(at(spec, "container_name")) or key
        mode = text(at(spec, "network_mode"))
        networks = at(spec, "networks")
        if mode:
            joined = frozenset({f"network_mode:{mode}"})
        elif is_map(networks):
            joined = frozenset(str(k) for k in cast(Mapping[str, Any], networks))
        elif is_list(networks):
            joined = frozenset(str(n) for n in cast(list[Any], networks))
        else:
            joined = frozenset({"default"})
        containers[name] = joined
    return tuple(containers.items())


def container_definitions(task_definition: PolicyResource) -> list[Any]:
    """The containers of an ECS task definition ([] while unknown or unreadable)."""
    return task_containers(task_definition.props)


def container_names(task_definition: PolicyResource) -> list[str]:
    return [n for c in container_definitions(task_definition) if (n := text(at(c, "name")))]


def parameter_value(parameter: PolicyResource) -> Any:
    """An SSM parameter's value, from `value` or `insecureValue` (String parameters may use
    either, and the provider computes the other, so it can be unknown during preview)."""
    candidates = (at(parameter.props, "value"), at(parameter.props, "insecureValue"))
    for candidate in candidates:
        if candidate is not None and not is_unknown(candidate):
            return candidate
    return UNKNOWN if any(is_unknown(c) for c in candidates) else None


@dataclass
class ServiceView:
    """What a stack holds for its domain services, read once per check."""

    parameters: dict[str, dict[str, PolicyResource]] = field(
        default_factory=lambda: defaultdict[str, dict[str, PolicyResource]](dict)
    )
    strangers: list[tuple[str, PolicyResource]] = field(
        default_factory=list[tuple[str, PolicyResource]]
    )
    compose: list[tuple[PolicyResource, dict[str, frozenset[str]]]] = field(
        default_factory=list[tuple[PolicyResource, dict[str, frozenset[str]]]]
    )
    compose_errors: list[tuple[PolicyResource, str]] = field(
        default_factory=list[tuple[PolicyResource, str]]
    )
    compose_unknown: bool = False
    has_database: bool = False
    ecs: dict[str, PolicyResource] = field(default_factory=dict[str, PolicyResource])
    """Container name -> the ECS task definition that runs it (a service on Fargate)."""

    @property
    def is_cloud_stack(self) -> bool:
        return bool(
            self.parameters
            or self.compose
            or self.compose_errors
            or self.compose_unknown
            or self.has_database
            or self.ecs
        )

    def value(self, service: str, key: str) -> Any:
        """A parameter's value (`UNKNOWN` during preview, None when absent)."""
        resource = self.parameters.get(service, {}).get(key)
        if resource is None:
            return None
        return parameter_value(resource)

    @property
    def containers(self) -> dict[str, frozenset[str]]:
        merged: dict[str, frozenset[str]] = {}
        for _, containers in self.compose:
            merged.update(containers)
        return merged


def service_view(args: StackValidationArgs) -> ServiceView:
    view = ServiceView()
    for resource in args.resources:
        if resource.resource_type == RDS_INSTANCE:
            view.has_database = True
        if resource.resource_type == TASK_DEFINITION:
            for name in container_names(resource):
                view.ecs[name] = resource
        if resource.resource_type != SSM_PARAMETER:
            continue
        name = text(at(resource.props, "name")) or ""
        if match := SERVICE_PARAMETER.match(name):
            service = match.group("service")
            if service in SERVICE_NAMES:
                view.parameters[service][match.group("key")] = resource
            else:
                view.strangers.append((service, resource))
        elif COMPOSE_PARAMETER.match(name):
            value = parameter_value(resource)
            if is_unknown(value):
                view.compose_unknown = True
                continue
            try:
                view.compose.append((resource, parse_compose(text(value) or "")))
            except ValueError as exc:
                view.compose_errors.append((resource, str(exc)))
    return view


def _cloud_view(args: StackValidationArgs) -> ServiceView | None:
    view = service_view(args)
    if not view.is_cloud_stack:
        args.not_applicable("no domain services in this stack")
        return None
    return view


def _backing_matches_catalog(args: StackValidationArgs, report: Reporter) -> None:
    view = _cloud_view(args)
    if view is None:
        return
    for service, resource in view.strangers:
        report(
            f"parameters exist for {service!r}, which is not a service in the catalog.",
            resource.urn,
        )
    for service in SERVICES:
        present = view.parameters.get(service.name, {})
        expected = expected_keys(service)
        missing = sorted(expected - present.keys())
        if missing:
            report(f"{service.name} lacks its own {', '.join(missing)} parameters.")
        for key in sorted((BACKING_KEYS - expected) & present.keys()):
            report(
                f"{service.name} has a {key} parameter, but the seed gives it no such backing "
                "service.",
                present[key].urn,
            )
        database = view.value(service.name, DATABASE_NAME)
        if text(database) and database != service.database:
            report(
                f"{service.name}'s database-name is {database!r}, not its own {service.database}.",
                present[DATABASE_NAME].urn,
            )
    for resource, error in view.compose_errors:
        report(f"the compose document is unreadable: {error}.", resource.urn)
    if view.compose_unknown or view.compose_errors:
        return
    if not view.compose:
        report("no compose document under /ticketing/<env>/hosts/<host>/compose.")
        return
    # A service runs in a compose document or, placed on ECS, in task definitions.
    runs = dict.fromkeys(view.containers, "compose") | dict.fromkeys(view.ecs, "ECS")
    nowhere = "no compose container runs" if not view.ecs else "neither compose nor ECS runs"
    for service in SERVICES:
        backing = backing_containers(service.name)
        if not any(owner(c) == service.name and c not in backing for c in runs):
            report(f"{nowhere} the {service.name} service.")
        for container, kind in backing.items():
            if (container in runs) != service.uses(kind):
                wanted = "has" if service.uses(kind) else "has no"
                where = (
                    f"{runs[container]} runs"
                    if container in runs
                    else ("compose lacks" if not view.ecs else "neither compose nor ECS runs")
                )
                report(
                    f"{where} {container}, but the seed says {service.name} {wanted} {kind.value}."
                )


def _credentials_urls(view: ServiceView, service: DomainService, report: Reporter) -> None:
    resource = view.parameters.get(service.name, {})
    checks = (
        (naming.DATABASE_URL, "database", service.database),
        (naming.REDIS_URL, "host", naming.redis_container(service.name)),
        (naming.AMQP_URL, "host", naming.rabbitmq_container(service.name)),
    )
    for key, part, own in checks:
        url = text(view.value(service.name, key))
        if not url:
            continue
        parsed = urlsplit(url)
        actual = parsed.path.lstrip("/").split("/")[0] if part == "database" else parsed.hostname
        # On ECS a store is found by its Cloud Map name in the environment's namespace.
        match = SERVICE_PARAMETER.match(text(at(resource[key].props, "name")) or "")
        env = match.group("env") if match else None
        discovered = f"{own}.{naming.service_discovery_namespace(env)}" if env else None
        if actual != own and (part == "database" or actual != discovered):
            report(
                f"{service.name}'s {key} points at {part} {actual!r}, not its own {own}.",
                resource[key].urn,
            )
        if key == naming.DATABASE_URL and parsed.username and parsed.username != service.role:
            report(
                f"{service.name}'s {key} logs in as {parsed.username!r}, not its own role "
                f"{service.role}.",
                resource[key].urn,
            )


def _backing_not_shared(args: StackValidationArgs, report: Reporter) -> None:
    view = _cloud_view(args)
    if view is None:
        return
    databases: dict[str, list[str]] = defaultdict(list)
    credentials: dict[tuple[str, str], list[str]] = defaultdict(list)
    for service in SERVICES:
        database = text(view.value(service.name, DATABASE_NAME))
        if database:
            databases[database].append(service.name)
        for key in sorted(CREDENTIAL_KEYS):
            value = text(view.value(service.name, key))
            if value:
                credentials[(key, value)].append(service.name)
        _credentials_urls(view, service, report)
    for database, users in sorted(databases.items()):
        if len(users) > 1:
            report(f"{' and '.join(users)} share the database {database}.")
    for (key, _), users in sorted(credentials.items(), key=lambda item: (item[0][0], item[1])):
        if len(users) > 1:
            report(f"{' and '.join(users)} share the same {key} value.")
    for resource, containers in view.compose:
        for message in compose_isolation(containers):
            report(message, resource.urn)


def compose_isolation(containers: Mapping[str, frozenset[str]]) -> list[str]:
    """Where a compose document lets one service reach another's Redis or RabbitMQ."""
    problems: list[str] = []
    for service in SERVICE_NAMES:
        network = naming.backing_network(service)
        for container in backing_containers(service):
            joined = containers.get(container)
            if joined is not None and joined != frozenset({network}):
                problems.append(
                    f"{container} joins {', '.join(sorted(joined))}; it must be on {network} only."
                )
        for container, joined in sorted(containers.items()):
            if network in joined and owner(container) != service:
                problems.append(f"{container} joins {network}, which belongs to {service}.")
    return problems


def _holds_generated_files(volume: Any) -> bool:
    """A volume labelled as holding only files each deploy writes again (no data)."""
    return any(
        text(at(label, "label")) == naming.GENERATED_VOLUME_LABEL
        and text(at(label, "value")) == naming.GENERATED_VOLUME_VALUE
        for label in elements(at(volume, "labels"))
    )


def _stateful_protected(args: StackValidationArgs, report: Reporter) -> None:
    env = stack_environment(args)
    if env.is_dev:
        args.not_applicable(f"environment {env} may delete its data")
        return
    for resource in args.resources:
        if resource.resource_type == DOCKER_VOLUME and _holds_generated_files(resource.props):
            continue
        if resource.resource_type in STATEFUL_TYPES and not resource.opts.protect:
            kind = {RDS_INSTANCE: "RDS instance", EFS_FILE_SYSTEM: "EFS file system"}.get(
                resource.resource_type, "volume"
            )
            report(f"{kind} {resource.name} is not protected in environment {env}.", resource.urn)


POLICIES = [
    stack_rule(
        "service-backing-catalog",
        description="Every domain service has its own database and credentials and exactly "
        "the backing services the seed lists (catalog), in SSM and in the compose documents.",
        category=Category.ARCHITECTURE,
        severity=Severity.HIGH,
        remediation="Build each service's parameters and containers from seed.catalog "
        "(ServiceBackingStack); add or remove Redis/RabbitMQ only by changing the catalog.",
        check=_backing_matches_catalog,
    ),
    stack_rule(
        "service-backing-isolation",
        description="No two services share a database, credentials, a Redis or a RabbitMQ; "
        "backing containers sit on their own service's network only.",
        category=Category.ARCHITECTURE,
        severity=Severity.CRITICAL,
        remediation="Give each service its own database, role and generated passwords; attach "
        "<service>-redis/-rabbitmq to <service>-backing only, and only the service joins it.",
        check=_backing_not_shared,
    ),
    stack_rule(
        "stateful-resources-protected",
        description="Outside dev, stateful resources (RDS instances, data volumes, EFS file "
        "systems) are protected.",
        category=Category.ARCHITECTURE,
        severity=Severity.HIGH,
        remediation="Pass ResourceOptions(protect=True) for RDS instances and docker volumes "
        "outside dev (and keep retain_on_delete on volumes); a volume that only holds files "
        f"every deploy rewrites carries the label {naming.GENERATED_VOLUME_LABEL}="
        f"{naming.GENERATED_VOLUME_VALUE}.",
        check=_stateful_protected,
        config={"environment": ENVIRONMENT_SCHEMA},
    ),
]
