"""Where a domain service runs, and its size and scaling when that is ECS on Fargate.

`services.<name>.host` places a service: `shared` (the shared app host), `dedicated`
(an app host of its own) or `ecs` (an ECS service on Fargate with its own Redis and
RabbitMQ services). `services.<name>.ecs` sizes and scales it there; it is read only
when the service runs on ECS, so switching `host` back and forth needs no other edit.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from components.settings.errors import at
from components.settings.validators import Model

HostPlacement = Literal["shared", "dedicated", "ecs"]

FARGATE_SIZES_SOURCE: Final = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html"
    "#fargate-tasks-size"
)


def _sizes(low_gb: int, high_gb: int, step_gb: int) -> tuple[int, ...]:
    return tuple(gb * 1024 for gb in range(low_gb, high_gb + 1, step_gb))


# Task CPU units -> the task memory (MiB) Fargate accepts with it (Linux), from
# FARGATE_SIZES_SOURCE: "Task CPU and memory".
FARGATE_TASK_SIZES: Final[dict[int, tuple[int, ...]]] = {
    256: (512, 1024, 2048),
    512: _sizes(1, 4, 1),
    1024: _sizes(2, 8, 1),
    2048: _sizes(4, 16, 1),
    4096: _sizes(8, 30, 1),
    8192: _sizes(16, 60, 4),
    16384: _sizes(32, 120, 8),
}


def fargate_size_problem(cpu: int, memory_mb: int) -> str | None:
    """Why Fargate refuses a task of `cpu` units and `memory_mb` MiB, or None."""
    allowed = FARGATE_TASK_SIZES.get(cpu)
    if allowed is None:
        return f"Fargate task CPU must be one of {', '.join(map(str, FARGATE_TASK_SIZES))}"
    if memory_mb not in allowed:
        shown = (
            ", ".join(map(str, allowed))
            if len(allowed) <= 4
            else (f"{allowed[0]} to {allowed[-1]} in steps of {allowed[1] - allowed[0]}")
        )
        return f"a Fargate task of {cpu} CPU units takes {shown} MiB"
    return None


def smallest_fargate_size(memory_mb: int) -> tuple[int, int]:
    """The cheapest Fargate (cpu, memory) with at least `memory_mb` MiB."""
    for cpu, sizes in FARGATE_TASK_SIZES.items():
        for size in sizes:
            if size >= memory_mb:
                return cpu, size
    raise ValueError(f"no Fargate task has {memory_mb} MiB")


class EcsSettings(Model):
    """A service's API on ECS Fargate: task size, counts and autoscaling targets.

    `desired_count` is the count a new service starts with; afterwards Application
    Auto Scaling moves it between `min_count` and `max_count`, tracking average CPU
    (`cpu_target_percent`) and ALB requests per task and minute (`requests_per_target`),
    so later edits of `desired_count` do not reset a running service.
    """

    cpu: int = 256
    memory_mb: int = 512
    desired_count: Annotated[int, Field(ge=1, le=100)] = 2
    min_count: Annotated[int, Field(ge=1, le=100)] = 2
    max_count: Annotated[int, Field(ge=1, le=100)] = 6
    cpu_target_percent: Annotated[int, Field(ge=10, le=90)] = 60
    requests_per_target: Annotated[int, Field(ge=10, le=100_000)] = 1000

    @model_validator(mode="after")
    def _fits(self) -> EcsSettings:
        problem = fargate_size_problem(self.cpu, self.memory_mb)
        if problem is not None:
            key = "cpu" if self.cpu not in FARGATE_TASK_SIZES else "memoryMb"
            value = self.cpu if key == "cpu" else self.memory_mb
            raise at((key,), problem, value)
        if self.min_count > self.max_count:
            raise at(("minCount",), f"must not exceed maxCount ({self.max_count})", self.min_count)
        if not self.min_count <= self.desired_count <= self.max_count:
            message = f"must be from minCount ({self.min_count}) to maxCount ({self.max_count})"
            raise at(("desiredCount",), message, self.desired_count)
        return self
