"""`WebClientSite`: a static web client's routing and logs (its container runs on the app host)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import placement
from components.aws.routing import Router, host_target_group
from components.host.compose import WebClientSpec
from components.outputs import ComponentOutputs
from components.settings import CloudSettings
from seed.catalog import ClientApp


@dataclass(frozen=True)
class WebClientSiteArgs:
    """What one static web client's routing and logs need.

    Attributes:
        spec: its container on the app host (image, host port, log group).
        public_host: the FQDN its host rule matches (`app`, `admin`).
        log_retention_days: its log group's retention.
        router: the ALB (`components.aws.ingress.Ingress`).
        vpc_id: the VPC of the target group.
    """

    spec: WebClientSpec
    public_host: str
    log_retention_days: int
    router: Router
    vpc_id: pulumi.Input[str]

    @classmethod
    def of(
        cls,
        settings: CloudSettings,
        client: ClientApp,
        router: Router,
        vpc_id: pulumi.Input[str],
    ) -> WebClientSiteArgs:
        """`client` (a `static_site` catalog entry with a hostname key) as `settings` run it."""
        if client.hostname is None:
            raise ValueError(f"{client.name} has no public hostname to serve")
        spec = WebClientSpec(
            client=client,
            image=settings.web_clients[client.name].image,
            host_port=placement.web_client_host_port(client.name),
            replica_host_port=placement.replica_host_port(settings, client.name),
            log_group=placement.log_group_name(settings.environment, client.name),
        )
        return cls(
            spec=spec,
            public_host=settings.public_hosts[client.hostname],
            log_retention_days=settings.observability.log_retention_days,
            router=router,
            vpc_id=vpc_id,
        )


@dataclass(frozen=True)
class WebClientSiteOutputs(ComponentOutputs):
    """Its target group (the app host attaches to it) and its log group (the host may
    write to it)."""

    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]


class WebClientSite(pulumi.ComponentResource):
    """The ALB target group and host rule (`app`, `admin`) of one static web client.

    `compose_spec` is its container as the app host's compose document runs it.
    """

    outputs: WebClientSiteOutputs
    compose_spec: WebClientSpec

    def __init__(
        self, name: str, args: WebClientSiteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:web:WebClientSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.compose_spec = args.spec
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.spec.log_group,
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        target_group = host_target_group(
            f"{name}-tg",
            vpc_id=args.vpc_id,
            port=args.spec.host_port,
            health_check_path=args.spec.health_check_path,
            opts=child,
        )
        args.router.add_route(
            f"{name}-route",
            host=args.public_host,
            path_patterns=None,
            target_group_arn=target_group.arn,
            priority=placement.web_client_priority(args.spec.name),
            opts=child,
        )
        self.outputs = WebClientSiteOutputs(
            target_group_arn=target_group.arn,
            target_group_arn_suffix=target_group.arn_suffix,
            log_group_arn=log_group.arn,
        )
        self.register_outputs(self.outputs.registered())
