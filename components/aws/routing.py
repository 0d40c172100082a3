"""What a target-group owner needs from the ingress: the ALB's routing interface.

`components.aws.ingress.Ingress` provides it; tests provide a small stand-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import pulumi
import pulumi_aws as aws


class RouterOutputs(Protocol):
    """The ALB's outputs a target-group owner reads (`IngressOutputs` has them)."""

    @property
    def alb_security_group_id(self) -> pulumi.Output[str]: ...

    @property
    def https_listener_arn(self) -> pulumi.Output[str]: ...

    @property
    def alb_arn_suffix(self) -> pulumi.Output[str]: ...


class Router(Protocol):
    """The internal ALB: its group, its HTTPS listener and how to add a routing rule.

    `add_route` always adds the origin-lock header and host conditions.
    """

    @property
    def outputs(self) -> RouterOutputs: ...

    def add_route(
        self,
        name: str,
        *,
        host: str,
        path_patterns: Sequence[str] | None,
        target_group_arn: pulumi.Input[str],
        priority: int,
        opts: pulumi.ResourceOptions,
    ) -> aws.lb.ListenerRule: ...


def host_target_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    port: int,
    health_check_path: str,
    opts: pulumi.ResourceOptions,
    target_type: Literal["instance", "ip"] = "instance",
) -> aws.lb.TargetGroup:
    """An HTTP target group for one container: its host port on an app host (instance
    targets), or its container port on the ENIs of Fargate tasks (`ip` targets)."""
    return aws.lb.TargetGroup(
        name,
        target_type=target_type,
        protocol="HTTP",
        port=port,
        vpc_id=vpc_id,
        deregistration_delay=30,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            enabled=True,
            protocol="HTTP",
            port="traffic-port",
            path=health_check_path,
            matcher="200",
            interval=15,
            timeout=5,
            healthy_threshold=2,
            unhealthy_threshold=3,
        ),
        opts=opts,
    )
