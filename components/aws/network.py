"""`AwsNetwork`: the VPC every AWS resource of a cloud stack lives in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.instance_identity import service_assume_role_policy
from components.aws.nat_instance import NatInstance
from components.aws.subnets import layout_subnets
from components.settings import NetworkSettings


class AwsNetwork(pulumi.ComponentResource):
    """VPC, public and private subnets per zone, egress through NAT, flow logs.

    Public subnets hold only the NAT (gateways, or dev's NAT instance) and the
    NLB's Elastic IPs; no instance gets a public address at launch (the NAT
    instance's egress address is an associated Elastic IP). The default security
    group is stripped of its rules so nothing can use it by accident.

    `private_egress[i]` lists what private subnet `i`'s way to the internet
    consists of (its route table association and the NAT it routes through),
    so an instance that installs packages at first boot can be created after
    them. Existing is not yet forwarding (a NAT instance configures itself
    at its own first boot), so such an instance still retries.

    Args:
        name: prefix for every child's name.
        network: the stack's network settings (CIDR, zone count, NAT mode).
        zones: availability zone names to spread across (the first `az_count`).
        opts: must carry the stack's AWS provider.
    """

    vpc_id: pulumi.Output[str]
    cidr: str
    zones: list[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_egress: list[list[pulumi.Resource]]
    stack_outputs: dict[str, pulumi.Input[Any]]

    def __init__(
        self,
        name: str,
        network: NetworkSettings,
        zones: Sequence[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ticketing:aws:AwsNetwork", name, None, opts)
        layout = layout_subnets(network.cidr, network.az_count)
        self.cidr = layout.vpc
        self.zones = list(zones[: network.az_count])
        child = pulumi.ResourceOptions(parent=self)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=layout.vpc,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default-unused"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=child,
        )
        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        for zone, public_cidr, private_cidr in zip(
            self.zones, layout.public, layout.private, strict=True
        ):
            suffix = zone[-1]
            subnet = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{suffix}",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )
            public.append(subnet)
            private.append(
                aws.ec2.Subnet(
                    f"{name}-private-{suffix}",
                    vpc_id=vpc.id,
                    cidr_block=private_cidr,
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{name}-private-{zone}", "tier": "private"},
                    opts=child,
                )
            )

        nats = self._nat_gateways(name, network, list(zip(self.zones, public, strict=True)), child)
        nat_instance = None
        if network.nat_mode == "instance":
            nat_instance = NatInstance(
                f"{name}-nat",
                vpc_id=vpc.id,
                vpc_cidr=layout.vpc,
                subnet_id=public[0].id,
                instance_type=network.nat_instance_type,
                opts=child,
            )
        self.private_egress = []
        for index, (zone, subnet) in enumerate(zip(self.zones, private, strict=True)):
            suffix = zone[-1]
            routes: list[aws.ec2.RouteTableRouteArgs] = []
            nat: pulumi.Resource | None = None
            if nats:
                gateway = nats[index] if len(nats) > 1 else nats[0]
                routes = [
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=gateway.id)
                ]
                nat = gateway
            elif nat_instance is not None:
                routes = [
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0",
                        network_interface_id=nat_instance.network_interface_id,
                    )
                ]
                # The whole component, so its Elastic IP association is in place too.
                nat = nat_instance
            table = aws.ec2.RouteTable(
                f"{name}-private-{suffix}", vpc_id=vpc.id, routes=routes, opts=child
            )
            association = aws.ec2.RouteTableAssociation(
                f"{name}-private-{suffix}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
            # Without a NAT the subnet never reaches the internet: nothing to wait for.
            self.private_egress.append([association, nat] if nat is not None else [])

        self._flow_logs(name, network, vpc, child)

        self.vpc_id = vpc.id
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.stack_outputs = {"vpcId": self.vpc_id}
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    @staticmethod
    def _nat_gateways(
        name: str,
        network: NetworkSettings,
        public: list[tuple[str, aws.ec2.Subnet]],
        child: pulumi.ResourceOptions,
    ) -> list[aws.ec2.NatGateway]:
        """No NAT, one shared NAT (cheaper), or one per zone (a zone outage keeps egress).

        `instance` mode has no gateway: `NatInstance` takes its place.
        """
        count = {"none": 0, "instance": 0, "single": 1, "per-az": len(public)}[network.nat_mode]
        nats: list[aws.ec2.NatGateway] = []
        for zone, subnet in public[:count]:
            suffix = zone[-1]
            eip = aws.ec2.Eip(f"{name}-nat-{suffix}", domain="vpc", opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{suffix}",
                    allocation_id=eip.allocation_id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    opts=child,
                )
            )
        return nats

    @staticmethod
    def _flow_logs(
        name: str, network: NetworkSettings, vpc: aws.ec2.Vpc, child: pulumi.ResourceOptions
    ) -> None:
        """Every accepted and rejected flow to CloudWatch, kept for the configured days."""
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=network.flow_log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            description="Lets VPC flow logs write to their log group",
            assume_role_policy=service_assume_role_policy("vpc-flow-logs.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": f"{arn}:*",
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=child,
        )
