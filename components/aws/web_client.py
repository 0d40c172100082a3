"""`WebClientSite`: a static web client's routing and logs (its container runs on the app host)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws import placement
from components.aws.routing import Router, host_target_group
from components.host.compose import WebClientSpec
from components.settings import CloudSettings
from seed.catalog import ClientApp


class WebClientSite(pulumi.ComponentResource):
    """The ALB target group and host rule (`app`, `admin`) of one static web client.

    Args:
        client: the catalog entry (a `static_site` client with a hostname key).
        settings: the stack's settings (image and public hostnames).
        router: the ALB (`components.aws_ingress.Ingress`).
        vpc_id: the VPC of the target group.
        opts: must carry the stack's AWS provider.
    """

    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]
    compose_spec: WebClientSpec

    def __init__(
        self,
        client: ClientApp,
        *,
        settings: CloudSettings,
        router: Router,
        vpc_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        name = client.name
        super().__init__("ticketing:web:WebClientSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if client.hostname is None:
            raise ValueError(f"{name} has no public hostname to serve")
        log_group_name = placement.log_group_name(settings.environment, name)
        self.compose_spec = WebClientSpec(
            client=client,
            image=settings.web_clients[name].image,
            host_port=placement.web_client_host_port(name),
            log_group=log_group_name,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=settings.observability.log_retention_days,
            opts=child,
        )
        target_group = host_target_group(
            f"{name}-tg",
            vpc_id=vpc_id,
            port=self.compose_spec.host_port,
            health_check_path=self.compose_spec.health_check_path,
            opts=child,
        )
        router.add_route(
            f"{name}-route",
            host=settings.public_hosts[client.hostname],
            path_patterns=None,
            target_group_arn=target_group.arn,
            priority=placement.web_client_priority(name),
            opts=child,
        )
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.log_group_arn = log_group.arn
        self.register_outputs(
            {"targetGroupArn": self.target_group_arn, "logGroupArn": self.log_group_arn}
        )
