"""What a plan runs on ECS Fargate, read from its captured resources: per ECS service its
task size, its counts and its autoscaling range. The cost estimate and the diagram read
it; nothing here knows how the program built the resources beyond their API shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plan.model import Plan, Resource
from seed import catalog, naming

ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
SCALING_TARGET = "aws:appautoscaling/target:Target"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"


@dataclass(frozen=True)
class FargateService:
    """One ECS service on Fargate.

    Attributes:
        name: the ECS service's name (`ticketing-api`).
        owner: the domain service it belongs to (`ticketing`), or None.
        containers: its task definition's container names.
        cpu: task CPU units (1024 a vCPU); memory_mb: task memory in MiB.
        arm: whether the task runs on ARM64 (Graviton), which Fargate prices apart.
        desired: the count it starts with; minimum and maximum: its autoscaling range
            (both `desired` when it does not scale).
    """

    name: str
    owner: str | None
    containers: tuple[str, ...]
    cpu: int
    memory_mb: int
    arm: bool
    desired: int
    minimum: int
    maximum: int

    @property
    def vcpu(self) -> float:
        return self.cpu / 1024

    @property
    def memory_gb(self) -> float:
        return self.memory_mb / 1024

    @property
    def scales(self) -> bool:
        return (self.minimum, self.maximum) != (self.desired, self.desired)

    @property
    def is_api(self) -> bool:
        return self.owner is not None and self.owner in self.containers

    @property
    def stores(self) -> tuple[str, ...]:
        """`Redis`, `RabbitMQ`: what the service runs for its owner, by container name."""
        if self.owner is None:
            return ()
        found: list[str] = []
        if naming.redis_container(self.owner) in self.containers:
            found.append(catalog.Backing.REDIS.value)
        if naming.rabbitmq_container(self.owner) in self.containers:
            found.append(catalog.Backing.RABBITMQ.value)
        return tuple(found)


def _number(value: Any, default: int = 0) -> int:
    try:
        return int(float(str(value)))
    except ValueError:
        return default


def _containers(definition: Resource) -> tuple[str, ...]:
    raw: Any = definition.inputs.get("containerDefinitions")
    try:
        listed: Any = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return ()
    return tuple(str(c.get("name")) for c in listed or [] if isinstance(c, Mapping))


def _owner(containers: tuple[str, ...]) -> str | None:
    for service in catalog.SERVICE_NAMES:
        names = {service, naming.redis_container(service), naming.rabbitmq_container(service)}
        if names & set(containers):
            return service
    return None


def fargate_services(plan: Plan) -> list[FargateService]:
    """Every Fargate ECS service of `plan`, in registration order."""
    definitions = {str(d.outputs.get("arn")): d for d in plan.of_type(TASK_DEFINITION)}
    clusters = {
        str(c.outputs.get("arn")): str(c.inputs.get("name", "")) for c in plan.of_type(ECS_CLUSTER)
    }
    ranges = {
        str(t.inputs.get("resourceId")): (
            _number(t.inputs.get("minCapacity")),
            _number(t.inputs.get("maxCapacity")),
        )
        for t in plan.of_type(SCALING_TARGET)
        if t.inputs.get("scalableDimension") == "ecs:service:DesiredCount"
    }
    found: list[FargateService] = []
    for service in plan.of_type(ECS_SERVICE):
        if service.inputs.get("launchType") != "FARGATE":
            continue
        definition = definitions.get(str(service.inputs.get("taskDefinition")))
        if definition is None:
            continue
        name = str(service.inputs.get("name", service.name))
        cluster = clusters.get(str(service.inputs.get("cluster")), "")
        desired = _number(service.inputs.get("desiredCount"))
        low, high = ranges.get(f"service/{cluster}/{name}", (desired, desired))
        containers = _containers(definition)
        platform: Any = definition.inputs.get("runtimePlatform") or {}
        found.append(
            FargateService(
                name=name,
                owner=_owner(containers),
                containers=containers,
                cpu=_number(definition.inputs.get("cpu")),
                memory_mb=_number(definition.inputs.get("memory")),
                arm=platform.get("cpuArchitecture") == "ARM64",
                desired=desired,
                minimum=low,
                maximum=high,
            )
        )
    return found
