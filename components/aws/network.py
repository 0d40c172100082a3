"""`AwsNetwork`: the VPC every AWS resource of a cloud stack lives in."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws import placement
from components.aws.instance_identity import service_assume_role_policy
from components.aws.nat_instance import NatInstance, NatInstanceArgs
from components.aws.subnets import layout_subnets
from components.outputs import ComponentOutputs, exported
from components.settings import CloudSettings
from components.settings.validators import NatMode, RetentionDays


@dataclass(frozen=True)
class AwsNetworkArgs:
    """What the VPC is built from.

    Attributes:
        cidr: the VPC's address space (`network.cidr`).
        zones: the availability zones it spans: the region's first `network.azCount`.
        nat_mode: no egress, one NAT gateway, one per zone with app hosts, or a NAT instance.
        nat_instance_type: the NAT instance's Graviton type (`instance` mode only).
        host_zones: the zones (indexes into `zones`) the app hosts run in
            (`placement.host_zones`): `per-az` gives each of them a NAT gateway.
        flow_log_retention_days: how long the flow logs are kept.
    """

    cidr: str
    zones: tuple[str, ...]
    nat_mode: NatMode
    nat_instance_type: str
    flow_log_retention_days: RetentionDays
    host_zones: tuple[int, ...] = (0,)

    @classmethod
    def of(cls, settings: CloudSettings, zones: Sequence[str]) -> AwsNetworkArgs:
        """`zones`: the region's available zones in AWS's order."""
        network = settings.network
        if len(zones) < network.az_count:
            raise ValueError(
                f"network.azCount is {network.az_count}, but the region offers "
                f"{len(zones)} zones ({', '.join(zones)})"
            )
        return cls(
            cidr=network.cidr,
            zones=tuple(zones[: network.az_count]),
            nat_mode=network.nat_mode,
            nat_instance_type=network.nat_instance_type,
            flow_log_retention_days=network.flow_log_retention_days,
            host_zones=tuple(sorted(set(placement.host_zones(settings)))),
        )


@dataclass(frozen=True)
class AwsNetworkOutputs(ComponentOutputs):
    vpc_id: pulumi.Output[str] = field(
        metadata=exported(
            "The VPC that holds the stack's subnets, load balancers, RDS instances and app hosts.",
            people="find the stack's network: `aws ec2 describe-subnets --filters "
            "Name=vpc-id,Values=<vpcId>`",
        )
    )
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    nat_instance_id: pulumi.Output[str] | None
    """The NAT instance (`instance` mode), which the alarms watch; None without one."""
    nat_role_arn: pulumi.Output[str] | None
    """The NAT instance's role, which the secrets key refuses; None without one."""


class AwsNetwork(pulumi.ComponentResource):
    """VPC, public and private subnets per zone, egress through NAT, an S3 gateway endpoint,
    flow logs.

    Public subnets hold only the NAT (gateways, or dev's NAT instance) and the
    NLB's Elastic IPs; no instance gets a public address at launch (the NAT
    instance's egress address is an associated Elastic IP). The default security
    group is stripped of its rules so nothing can use it by accident.

    Each public subnet is created only once the internet gateway is attached:
    AWS refuses an internet-facing load balancer (`InvalidSubnet`), a NAT
    gateway (`Gateway.NotAttached`) and an Elastic IP association in a VPC
    without one, and everything placed in a public subnet references it.

    `private_egress[i]` lists what private subnet `i`'s way to the internet
    consists of (its route table association, the NAT it routes through and
    the public route of the NAT's subnet), so an instance that installs
    packages at first boot can be created after them. Existing is not yet
    forwarding (a NAT instance configures itself at its own first boot), so
    such an instance still retries.

    Args:
        name: prefix for every child's name.
        args: the address space, zones and egress (`AwsNetworkArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: AwsNetworkOutputs
    stack_outputs: dict[str, pulumi.Input[object]]
    zones: tuple[str, ...]
    private_egress: list[list[pulumi.Resource]]

    def __init__(
        self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:AwsNetwork", name, None, opts)
        layout = layout_subnets(args.cidr, len(args.zones))
        self.zones = args.zones
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
        public, public_routes, private = self._subnets(
            name, vpc, layout.public, layout.private, child
        )
        nats = self._nat_gateways(name, args, list(zip(self.zones, public, strict=True)), child)
        nat_instance = None
        if args.nat_mode == "instance":
            nat_instance = NatInstance(
                f"{name}-nat",
                NatInstanceArgs.of(
                    args, vpc_id=vpc.id, vpc_cidr=layout.vpc, subnet_id=public[0].id
                ),
                opts=child,
            )
        tables, self.private_egress = self._private_routes(
            name, vpc, private, public_routes, nats, nat_instance, child
        )
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        # S3 from the private subnets without the NAT: a gateway endpoint costs nothing
        # ("There is no additional charge for using gateway endpoints", PrivateLink pricing),
        # a NAT gateway charges for every GB it processes.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in tables],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        self._flow_logs(name, args, vpc, account, region, child)

        self.outputs = AwsNetworkOutputs(
            vpc_id=vpc.id,
            public_subnet_ids=[s.id for s in public],
            private_subnet_ids=[s.id for s in private],
            nat_instance_id=nat_instance.outputs.instance_id if nat_instance else None,
            nat_role_arn=nat_instance.outputs.role_arn if nat_instance else None,
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())

    def _subnets(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        public_cidrs: Sequence[str],
        private_cidrs: Sequence[str],
        child: pulumi.ResourceOptions,
    ) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.RouteTableAssociation], list[aws.ec2.Subnet]]:
        """Per zone a public subnet (routed to the internet gateway, created once the
        gateway is attached) with its route table association, and a private subnet."""
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=child,
        )
        public: list[aws.ec2.Subnet] = []
        public_routes: list[aws.ec2.RouteTableAssociation] = []
        private: list[aws.ec2.Subnet] = []
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[igw])
        for zone, public_cidr, private_cidr in zip(
            self.zones, public_cidrs, private_cidrs, strict=True
        ):
            suffix = zone[-1]
            subnet = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "tier": "public"},
                opts=after_gateway,
            )
            public_routes.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{suffix}",
                    subnet_id=subnet.id,
                    route_table_id=public_rt.id,
                    opts=child,
                )
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
        return public, public_routes, private

    def _private_routes(
        self,
        name: str,
        vpc: aws.ec2.Vpc,
        private: Sequence[aws.ec2.Subnet],
        public_routes: Sequence[aws.ec2.RouteTableAssociation],
        nats: Mapping[int, aws.ec2.NatGateway],
        nat_instance: NatInstance | None,
        child: pulumi.ResourceOptions,
    ) -> tuple[list[aws.ec2.RouteTable], list[list[pulumi.Resource]]]:
        """Each private subnet's route table; returns the tables and what each one's egress
        consists of."""
        tables: list[aws.ec2.RouteTable] = []
        egress: list[list[pulumi.Resource]] = []
        for index, (zone, subnet) in enumerate(zip(self.zones, private, strict=True)):
            suffix = zone[-1]
            routes: list[aws.ec2.RouteTableRouteArgs] = []
            nat: pulumi.Resource | None = None
            nat_zone = 0  # the NAT instance's
            if nats:
                # A zone without a gateway (and so without an app host) uses the first one.
                nat_zone = index if index in nats else min(nats)
                gateway = nats[nat_zone]
                routes = [
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=gateway.id)
                ]
                nat = gateway
            elif nat_instance is not None:
                routes = [
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0",
                        network_interface_id=nat_instance.outputs.network_interface_id,
                    )
                ]
                # The whole component, so its Elastic IP association is in place too.
                nat = nat_instance
            table = aws.ec2.RouteTable(
                f"{name}-private-{suffix}", vpc_id=vpc.id, routes=routes, opts=child
            )
            tables.append(table)
            association = aws.ec2.RouteTableAssociation(
                f"{name}-private-{suffix}", subnet_id=subnet.id, route_table_id=table.id, opts=child
            )
            # Without a NAT the subnet never reaches the internet: nothing to wait for.
            egress.append([association, nat, public_routes[nat_zone]] if nat is not None else [])
        return tables, egress

    @staticmethod
    def _nat_gateways(
        name: str,
        args: AwsNetworkArgs,
        public: list[tuple[str, aws.ec2.Subnet]],
        child: pulumi.ResourceOptions,
    ) -> dict[int, aws.ec2.NatGateway]:
        """Zone index -> its NAT gateway: none, one shared (cheaper), or one in each zone
        with an app host (`per-az`): a zone outage then leaves the other hosts their egress,
        and a zone without a host (RDS's standby needs no egress) pays for no gateway.

        `instance` mode has no gateway: `NatInstance` takes its place.
        """
        zones = {
            "none": (),
            "instance": (),
            "single": (0,),
            "per-az": args.host_zones or (0,),
        }[args.nat_mode]
        nats: dict[int, aws.ec2.NatGateway] = {}
        for index in zones:
            zone, subnet = public[index]
            suffix = zone[-1]
            eip = aws.ec2.Eip(f"{name}-nat-{suffix}", domain="vpc", opts=child)
            nats[index] = aws.ec2.NatGateway(
                f"{name}-nat-{suffix}",
                allocation_id=eip.allocation_id,
                subnet_id=subnet.id,
                connectivity_type="public",
                opts=child,
            )
        return nats

    @staticmethod
    def _flow_logs(
        name: str,
        args: AwsNetworkArgs,
        vpc: aws.ec2.Vpc,
        account: pulumi.Output[str],
        region: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """Every accepted and rejected flow to CloudWatch, kept for the configured days."""
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=args.flow_log_retention_days,
            opts=child,
        )
        # Only flow logs of this account's VPCs in this region may assume it (VPC User
        # Guide, "IAM role for publishing flow logs to CloudWatch Logs").
        trust = pulumi.Output.all(account, region).apply(
            lambda v: service_assume_role_policy(
                "vpc-flow-logs.amazonaws.com",
                source_account=str(v[0]),
                source_arn=f"arn:aws:ec2:{v[1]}:{v[0]}:vpc-flow-log/*",
            )
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            description="Lets VPC flow logs write to their log group",
            assume_role_policy=trust,
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
