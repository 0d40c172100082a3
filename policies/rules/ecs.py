"""ECS rules: the tasks of a service on Fargate, as hardened as its containers on a host.

Task definitions carry their containers as the JSON document ECS's
RegisterTaskDefinition takes (`containerDefinitions`, camelCase member names);
the rules read every container of it. A service's stores (`<service>-redis`,
`<service>-rabbitmq`) must be reachable by that service's API tasks alone, which
the stack rule reads from the security groups the ECS services run in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity, StackValidationArgs

from policies.rules.aws import credential_reasons
from policies.rules.common import (
    Category,
    Reporter,
    at,
    elements,
    is_unknown,
    resource_rule,
    stack_rule,
    task_containers,
    text,
)
from seed import naming
from seed.catalog import SERVICE_NAMES

TASK_DEFINITION: Final = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE: Final = "aws:ecs/service:Service"
SECURITY_GROUP: Final = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE: Final = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_DRIVERS: Final = frozenset({"awslogs", "awsfirelens"})
# Users that are root: by name or uid 0, with or without a group.
ROOT_USERS: Final = frozenset({"root", "0"})


def _containers(args: ResourceValidationArgs) -> list[Any]:
    if is_unknown(at(args.props, "containerDefinitions")):
        args.not_applicable("containerDefinitions can't be known during preview")
    return task_containers(args.props)


def _name(container: Any) -> str:
    return text(at(container, "name")) or "a container"


# --- task definitions -------------------------------------------------------------------


def _read_only_root(args: ResourceValidationArgs, report: Reporter) -> None:
    for container in _containers(args):
        if at(container, "readonlyRootFilesystem") is True:
            continue
        reason = text(at(container, "dockerLabels", naming.WRITABLE_ROOT_LABEL))
        if not reason:
            report(
                f"{_name(container)} has a writable root filesystem and no "
                f"{naming.WRITABLE_ROOT_LABEL} label saying why its image needs one."
            )


def _logs_configured(args: ResourceValidationArgs, report: Reporter) -> None:
    for container in _containers(args):
        name = _name(container)
        driver = text(at(container, "logConfiguration", "logDriver"))
        if driver not in LOG_DRIVERS:
            report(f"{name} ships no logs to CloudWatch (logDriver is {driver or 'unset'}).")
            continue
        if driver == "awslogs":
            options = at(container, "logConfiguration", "options")
            missing = [
                o
                for o in ("awslogs-group", "awslogs-region", "awslogs-stream-prefix")
                if not text(at(options, o))
            ]
            if missing:
                report(f"{name}'s awslogs configuration lacks {', '.join(missing)}.")


def is_root(user: str | None) -> bool:
    """Whether a container `user` (`name`, `uid`, `uid:gid`, `name:group`) is root; unset is."""
    if not user:
        return True
    return user.split(":", 1)[0].strip() in ROOT_USERS


def _non_root_user(args: ResourceValidationArgs, report: Reporter) -> None:
    for container in _containers(args):
        user = text(at(container, "user"))
        if is_root(user):
            shown = f"user is {user!r}" if user else "no user is set (the image's, often root)"
            report(f"{_name(container)} runs as root: {shown}.")


def _secrets_not_in_environment(args: ResourceValidationArgs, report: Reporter) -> None:
    for container in _containers(args):
        for variable in elements(at(container, "environment")):
            name = text(at(variable, "name"))
            value = text(at(variable, "value"))
            reasons = credential_reasons(name, value)
            if reasons:
                report(
                    f"{_name(container)} gets {name or 'a variable'} as a plain environment "
                    f"value ({'; '.join(reasons)}); pass it in secrets from SSM or Secrets "
                    "Manager."
                )


# --- services ---------------------------------------------------------------------------


def _no_public_ip(args: ResourceValidationArgs, report: Reporter) -> None:
    network = at(args.props, "networkConfiguration")
    if is_unknown(network):
        args.not_applicable("networkConfiguration can't be known during preview")
    if network is None:
        report("networkConfiguration is not set: the tasks' network (and address) is unchosen.")
        return
    if at(network, "assignPublicIp") is True:
        report("networkConfiguration.assignPublicIp is true: each task gets a public address.")


def _rolls_back(args: ResourceValidationArgs, report: Reporter) -> None:
    breaker = at(args.props, "deploymentCircuitBreaker")
    if at(breaker, "enable") is not True or at(breaker, "rollback") is not True:
        report("the deployment circuit breaker is not on with rollback: a failed deploy stays.")


# --- a service's stores are its own -----------------------------------------------------


def _store_owner(container: str) -> str | None:
    for service in SERVICE_NAMES:
        if container in (naming.redis_container(service), naming.rabbitmq_container(service)):
            return service
    return None


def _groups_of(service: PolicyResource) -> list[str]:
    groups = at(service.props, "networkConfiguration", "securityGroups")
    return [g for g in (text(x) for x in elements(groups)) if g]


def _ecs_store_isolation(args: StackValidationArgs, report: Reporter) -> None:
    services = [r for r in args.resources if r.resource_type == ECS_SERVICE]
    if not services:
        args.not_applicable("no ECS services in this stack")
        return
    api_groups, stores = _api_groups_and_stores(args.resources, services)
    ingress = _ingress_by_group(args.resources)
    for service, owner, groups in stores:
        allowed = api_groups.get(owner, set())
        for group in groups:
            for resource, rule in ingress.get(group, []):
                sources = _sources(rule)
                strangers = [s for s in sources if s not in allowed]
                if not sources or strangers:
                    report(
                        f"{service.name} ({owner}'s store) admits "
                        f"{', '.join(strangers) or 'an unreferenced source'} through "
                        f"{resource.name}; only {owner}'s API tasks may reach it.",
                        resource.urn,
                    )


def _api_groups_and_stores(
    resources: Sequence[PolicyResource], services: Sequence[PolicyResource]
) -> tuple[dict[str, set[str]], list[tuple[PolicyResource, str, list[str]]]]:
    """Each domain service's API task groups, and each ECS service running a store (with the
    domain service owning it and its groups)."""
    definitions = {
        text(at(r.props, "arn")): r for r in resources if r.resource_type == TASK_DEFINITION
    }
    api_groups: dict[str, set[str]] = defaultdict(set)
    stores: list[tuple[PolicyResource, str, list[str]]] = []
    for service in services:
        definition = definitions.get(text(at(service.props, "taskDefinition")))
        if definition is None:
            continue
        for container in task_containers(definition.props):
            name = text(at(container, "name")) or ""
            owner = _store_owner(name)
            if owner:
                stores.append((service, owner, _groups_of(service)))
            elif name in SERVICE_NAMES:
                api_groups[name].update(_groups_of(service))
    return api_groups, stores


def _ingress_by_group(
    resources: Sequence[PolicyResource],
) -> dict[str, list[tuple[PolicyResource, Any]]]:
    """Every ingress rule, standalone or inline in its group, by the group it opens."""
    ingress: dict[str, list[tuple[PolicyResource, Any]]] = defaultdict(list)
    for resource in resources:
        if resource.resource_type == INGRESS_RULE:
            group = text(at(resource.props, "securityGroupId"))
            if group:
                ingress[group].append((resource, resource.props))
        elif resource.resource_type == SECURITY_GROUP:
            group = text(at(resource.props, "id"))
            for rule in elements(at(resource.props, "ingress")):
                if group:
                    ingress[group].append((resource, rule))
    return ingress


def _sources(rule: Any) -> list[str]:
    """What an ingress rule admits: referenced groups, CIDR blocks and prefix lists."""
    found: list[str] = []
    for key in ("referencedSecurityGroupId", "cidrIpv4", "cidrIpv6", "prefixListId"):
        value = text(at(rule, key))
        if value:
            found.append(value)
    for key in ("securityGroups", "cidrBlocks", "ipv6CidrBlocks", "prefixListIds"):
        found += [v for v in (text(x) for x in elements(at(rule, key))) if v]
    if at(rule, "self") is True:
        found.append("itself")
    return found


_SECRETS_HINT: Final = (
    "Reference the value as a secret: containerDefinitions[].secrets = "
    '[{"name": "DATABASE_URL", "valueFrom": "<SSM parameter name or ARN>"}] '
    "(components.aws.task_definitions)."
)

POLICIES = [
    resource_rule(
        "ecs-read-only-root",
        description="ECS containers run with a read-only root filesystem, unless their image "
        f"needs a writable one and a {naming.WRITABLE_ROOT_LABEL} docker label says why.",
        category=Category.SECURITY,
        severity=Severity.MEDIUM,
        remediation="Set readonlyRootFilesystem: true and give the image a tmpfs where it "
        'writes (linuxParameters.tmpfs [{"containerPath": "/tmp", "size": 64}]).',
        types=[TASK_DEFINITION],
        check=_read_only_root,
    ),
    resource_rule(
        "ecs-logs-configured",
        description="Every ECS container ships its logs to CloudWatch (awslogs with a group, a "
        "region and a stream prefix, or FireLens).",
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        remediation='Set logConfiguration {"logDriver": "awslogs", "options": {"awslogs-group": '
        '..., "awslogs-region": ..., "awslogs-stream-prefix": "ecs"}} on each container.',
        types=[TASK_DEFINITION],
        check=_logs_configured,
    ),
    resource_rule(
        "ecs-non-root-user",
        description="ECS containers name an unprivileged user (not root, not uid 0).",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation='Set "user" on each container to the image\'s unprivileged user '
        '("10001:10001", "redis").',
        types=[TASK_DEFINITION],
        check=_non_root_user,
    ),
    resource_rule(
        "ecs-secrets-not-in-environment",
        description="No ECS container gets a credential as a plain environment value.",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation=_SECRETS_HINT,
        types=[TASK_DEFINITION],
        check=_secrets_not_in_environment,
    ),
    resource_rule(
        "ecs-no-public-ip",
        description="ECS services place their tasks without a public IP address.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set network_configuration with assign_public_ip=False and the private "
        "subnets; the ALB reaches the tasks and NAT gives them egress.",
        types=[ECS_SERVICE],
        check=_no_public_ip,
    ),
    resource_rule(
        "ecs-deploy-rollback",
        description="ECS services deploy behind the deployment circuit breaker with rollback.",
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        remediation="Set deployment_circuit_breaker={'enable': True, 'rollback': True}.",
        types=[ECS_SERVICE],
        check=_rolls_back,
    ),
    stack_rule(
        "ecs-store-isolation",
        description="On ECS, a service's Redis and RabbitMQ admit only that service's API "
        "tasks: every ingress rule of their security groups references a group its API "
        "service runs in.",
        category=Category.ARCHITECTURE,
        severity=Severity.CRITICAL,
        remediation="Admit <service>-redis and <service>-rabbitmq only from the security group "
        "of <service>-api (components.aws.fargate.FargateService).",
        check=_ecs_store_isolation,
    ),
]
