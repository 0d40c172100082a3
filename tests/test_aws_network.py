"""AwsNetwork under the mock engine, asserted on captured (engine-shaped) inputs."""

from __future__ import annotations

import json
from collections.abc import Callable

from components.cidr import plan_subnets
from plan.model import Plan

AWS_PROVIDER = "pulumi:providers:aws"


def subnets(plan: Plan, tier: str) -> list[str]:
    return sorted(
        r.inputs["cidrBlock"]
        for r in plan.of_type("aws:ec2/subnet:Subnet")
        if r.inputs["tags"]["tier"] == tier
    )


def test_subnets_follow_the_cidr_planner(plan_of: Callable[[str], Plan]) -> None:
    for stack, cidr, zones in (("dev", "10.40.0.0/16", 2), ("prod", "10.42.0.0/16", 3)):
        plan = plan_of(stack)
        layout = plan_subnets(cidr, zones)
        assert subnets(plan, "public") == sorted(layout.public)
        assert subnets(plan, "private") == sorted(layout.private)
        zones_used = {r.inputs["availabilityZone"] for r in plan.of_type("aws:ec2/subnet:Subnet")}
        assert len(zones_used) == zones


def test_no_subnet_hands_out_public_addresses(dev_plan: Plan) -> None:
    assert all(
        r.inputs["mapPublicIpOnLaunch"] is False for r in dev_plan.of_type("aws:ec2/subnet:Subnet")
    )


def test_nat_mode_single_in_dev_and_per_zone_in_prod(plan_of: Callable[[str], Plan]) -> None:
    assert len(plan_of("dev").of_type("aws:ec2/natGateway:NatGateway")) == 1
    prod = plan_of("prod")
    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3
    # each private route table egresses through a different NAT gateway
    private_routes = [
        r.inputs["routes"][0]["natGatewayId"]
        for r in prod.of_type("aws:ec2/routeTable:RouteTable")
        if "private" in r.name
    ]
    assert len(set(private_routes)) == 3


def test_no_nat_mode_leaves_private_subnets_without_egress(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", {"ticketing:network": {"cidr": "10.40.0.0/16", "natMode": "none"}})
    assert plan.of_type("aws:ec2/natGateway:NatGateway") == []
    private_tables = [
        r for r in plan.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name
    ]
    assert private_tables and all(not r.inputs.get("routes") for r in private_tables)


def test_public_route_goes_through_the_internet_gateway(dev_plan: Plan) -> None:
    igw = dev_plan.named("core-igw")
    public = dev_plan.named("core-public")
    assert public.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": igw.id}]


def test_flow_logs_cover_all_traffic_with_retention(dev_plan: Plan) -> None:
    flow = dev_plan.of_type("aws:ec2/flowLog:FlowLog")
    assert len(flow) == 1
    group = next(
        r
        for r in dev_plan.of_type("aws:cloudwatch/logGroup:LogGroup")
        if r.name == "core-flow-logs"
    )
    assert flow[0].inputs["trafficType"] == "ALL"
    assert flow[0].inputs["vpcId"] == dev_plan.named("core-vpc").id
    assert flow[0].inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["retentionInDays"] == 30.0


def test_default_security_group_is_stripped(dev_plan: Plan) -> None:
    (default_sg,) = dev_plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.inputs["ingress"] == []
    assert default_sg.inputs["egress"] == []


def test_every_aws_resource_uses_the_explicit_provider_with_default_tags(dev_plan: Plan) -> None:
    (provider,) = dev_plan.of_type(AWS_PROVIDER)
    assert provider.inputs["region"] == "eu-west-1"
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {"environment": "dev", "stack": "dev", "managed-by": "pulumi:ticketing"}
    aws_resources = [r for r in dev_plan if r.custom and r.package == "aws" and not r.is_provider]
    assert aws_resources
    assert all(r.provider == provider.urn for r in aws_resources)


def test_network_children_are_parented_to_the_component(dev_plan: Plan) -> None:
    (network,) = dev_plan.of_type("ticketing:aws:AwsNetwork")
    children = dev_plan.children(network.urn)
    assert {r.type for r in children} >= {"aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog"}
    assert all(r.name.startswith("core-") for r in children)
