"""AwsNetwork under the mock engine, asserted on captured (engine-shaped) inputs.

Each test builds the stack it asserts on (`built`, tests/factories.py) with the network
settings it names, so an edit of a committed stack file changes none of them; the one
test over the committed stacks says so in its name.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from components.aws.subnets import layout_subnets
from components.host.nat_user_data import render_nat_user_data
from plan import fakes, policy
from plan.model import Plan, Resource, is_nat_instance
from plan.resource_types import (
    AWS_PROVIDER,
    EC2_INSTANCE,
    EIP,
    FLOW_LOG,
    LOG_GROUP,
    NAT_GATEWAY,
    SECURITY_GROUP,
    SUBNET,
)
from tests.app_tier_helpers import under

ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CIDR = "10.90.0.0/16"
# The network of each kind of test stack: dev's NAT instance, prod's gateway per zone.
NAT_INSTANCE = {"cidr": CIDR, "azCount": 2, "natMode": "instance"}
PER_AZ = {"cidr": "10.91.0.0/16", "azCount": 3, "natMode": "per-az"}


@pytest.fixture(scope="module")
def dev_plan(built: Callable[..., Plan]) -> Plan:
    """A dev stack egressing through a NAT instance."""
    return built("dev", network=NAT_INSTANCE)


@pytest.fixture(scope="module")
def prod_plan(built: Callable[..., Plan]) -> Plan:
    """A prod stack over three zones with a NAT gateway per zone that has an app host."""
    return built("prod", network=PER_AZ)


def subnets(plan: Plan, tier: str) -> list[str]:
    return sorted(
        r.inputs["cidrBlock"] for r in plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == tier
    )


def test_subnets_follow_the_subnet_layout(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan, network in ((dev_plan, NAT_INSTANCE), (prod_plan, PER_AZ)):
        zones = network["azCount"]
        layout = layout_subnets(network["cidr"], zones)
        assert subnets(plan, "public") == sorted(layout.public)
        assert subnets(plan, "private") == sorted(layout.private)
        zones_used = {r.inputs["availabilityZone"] for r in plan.of_type(SUBNET)}
        assert len(zones_used) == zones


def test_no_subnet_hands_out_public_addresses(dev_plan: Plan) -> None:
    assert all(r.inputs["mapPublicIpOnLaunch"] is False for r in dev_plan.of_type(SUBNET))


def private_routes(plan: Plan) -> list[list[dict[str, str]]]:
    return [r.inputs.get("routes", []) for r in plan.of_type(ROUTE_TABLE) if "private" in r.name]


def nat_instance(plan: Plan) -> Resource:
    [vm] = [r for r in plan.of_type(EC2_INSTANCE) if is_nat_instance(r)]
    return vm


def test_per_az_puts_a_nat_gateway_only_where_an_app_host_runs(prod_plan: Plan) -> None:
    # prod's one shared host runs in the first zone: a gateway elsewhere would serve no host.
    [nat] = prod_plan.of_type(NAT_GATEWAY)
    assert not any(is_nat_instance(r) for r in prod_plan.of_type(EC2_INSTANCE))
    assert private_routes(prod_plan) == [[{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat.id}]] * 3


def test_per_az_gives_each_zone_with_an_app_host_its_own_gateway(
    built: Callable[..., Plan],
) -> None:
    services = {
        name: {"image": f"registry.example.org/{name}:1.0.0"}
        for name in ("ticketing", "payments", "identity", "notifications")
    }
    services["payments"]["host"] = "dedicated"
    plan = built("prod", network=PER_AZ, services=services)
    nats = {n.name: n.id for n in plan.of_type(NAT_GATEWAY)}
    assert sorted(nats) == ["core-nat-a", "core-nat-b"]  # the shared host's zone, payments'
    # Zone c has no host: its private subnets leave through the first zone's gateway.
    routes = {
        r.name: r.inputs["routes"][0]["natGatewayId"]
        for r in plan.of_type(ROUTE_TABLE)
        if "private" in r.name
    }
    assert routes == {
        "core-private-a": nats["core-nat-a"],
        "core-private-b": nats["core-nat-b"],
        "core-private-c": nats["core-nat-a"],
    }


def test_single_mode_shares_one_nat_gateway(built: Callable[..., Plan]) -> None:
    plan = built("dev", network={"cidr": CIDR, "azCount": 2, "natMode": "single"})
    [nat] = plan.of_type(NAT_GATEWAY)
    assert not any(is_nat_instance(r) for r in plan.of_type(EC2_INSTANCE))
    assert private_routes(plan) == [[{"cidrBlock": "0.0.0.0/0", "natGatewayId": nat.id}]] * 2


def test_dev_egresses_through_one_nat_instance_not_a_gateway(dev_plan: Plan) -> None:
    assert dev_plan.of_type(NAT_GATEWAY) == []
    vm = nat_instance(dev_plan)
    eni = vm.outputs["primaryNetworkInterfaceId"]
    assert eni.startswith("eni-")
    # every private route table sends the internet to the NAT instance's interface
    assert private_routes(dev_plan) == [[{"cidrBlock": "0.0.0.0/0", "networkInterfaceId": eni}]] * 2


def test_nat_instance_is_a_hardened_graviton_in_the_first_public_subnet(dev_plan: Plan) -> None:
    vm = nat_instance(dev_plan)
    inputs = vm.inputs
    assert inputs["sourceDestCheck"] is False
    assert inputs["instanceType"] == "t4g.micro"
    [first_public] = [r for r in dev_plan.of_type(SUBNET) if r.name == "core-public-a"]
    assert inputs["subnetId"] == first_public.id
    assert inputs["associatePublicIpAddress"] is False
    assert "keyName" not in inputs
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    root = inputs["rootBlockDevice"]
    assert root["encrypted"] is True and root["volumeType"] == "gp3"
    assert inputs["creditSpecification"] == {"cpuCredits": "standard"}
    assert inputs["ami"] == fakes.AMI_ID
    assert inputs["userData"] == render_nat_user_data(CIDR)
    assert inputs["userDataReplaceOnChange"] is True


def test_nat_instance_egresses_from_an_associated_elastic_ip(dev_plan: Plan) -> None:
    vm = nat_instance(dev_plan)
    [eip] = under(dev_plan, "core-nat", EIP)
    [association] = under(dev_plan, "core-nat", "aws:ec2/eipAssociation:EipAssociation")
    assert eip.inputs["domain"] == "vpc"
    assert association.inputs["allocationId"] == eip.outputs["allocationId"]
    assert association.inputs["networkInterfaceId"] == vm.outputs["primaryNetworkInterfaceId"]


def test_nat_instance_admits_only_the_vpc_and_never_ssh(dev_plan: Plan) -> None:
    vm = nat_instance(dev_plan)
    [group] = under(dev_plan, "core-nat", SECURITY_GROUP)
    assert vm.inputs["vpcSecurityGroupIds"] == [group.id]
    assert group.inputs["description"]
    ingress = under(dev_plan, "core-nat", INGRESS)
    assert ingress and all(r.inputs["cidrIpv4"] == CIDR for r in ingress)
    assert all(r.inputs["securityGroupId"] == group.id for r in ingress)
    assert sorted((r.inputs["ipProtocol"], r.inputs["fromPort"]) for r in ingress) == [
        ("tcp", 80.0),
        ("tcp", 443.0),
    ]
    egress = under(dev_plan, "core-nat", EGRESS)
    assert egress and all(r.inputs["cidrIpv4"] == "0.0.0.0/0" for r in egress)
    assert all(r.inputs["description"] for r in [*ingress, *egress])


def test_nat_instance_profile_grants_session_manager_only(dev_plan: Plan) -> None:
    vm = nat_instance(dev_plan)
    [profile] = under(dev_plan, "core-nat", "aws:iam/instanceProfile:InstanceProfile")
    assert vm.inputs["iamInstanceProfile"] == profile.outputs["name"]
    assert under(dev_plan, "core-nat", "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    [agent] = under(dev_plan, "core-nat", "aws:iam/rolePolicy:RolePolicy")
    document = json.loads(agent.inputs["policy"])
    actions = [a for s in document["Statement"] for a in s["Action"]]
    # Session Manager and command delivery; not one parameter, key or association.
    assert "ssm:UpdateInstanceInformation" in actions
    assert not [a for a in actions if a.startswith(("ssm:Get", "kms:", "ssm:ListInstance"))]


def test_policy_pack_finds_nothing_on_the_nat_instance(dev_plan: Plan) -> None:
    nat_urns = {r.urn for r in under(dev_plan, "core-nat", EC2_INSTANCE)}
    nat_urns |= {r.urn for r in under(dev_plan, "core-nat", INGRESS)}
    nat_urns |= {r.urn for r in under(dev_plan, "core-nat", EGRESS)}
    verdicts = policy.evaluate(dev_plan)
    assert [v.rule for v in verdicts.violations if v.urn in nat_urns] == []


def test_no_nat_mode_leaves_private_subnets_without_egress(built: Callable[..., Plan]) -> None:
    plan = built("dev", network={"cidr": CIDR, "azCount": 2, "natMode": "none"})
    assert plan.of_type(NAT_GATEWAY) == []
    private_tables = [
        r for r in plan.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name
    ]
    assert private_tables and all(not r.inputs.get("routes") for r in private_tables)


def test_public_route_goes_through_the_internet_gateway(dev_plan: Plan) -> None:
    igw = dev_plan.named("core-igw")
    public = dev_plan.named("core-public")
    assert public.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": igw.id}]


def test_flow_logs_cover_all_traffic_with_retention(dev_plan: Plan) -> None:
    flow = dev_plan.of_type(FLOW_LOG)
    assert len(flow) == 1
    group = next(r for r in dev_plan.of_type(LOG_GROUP) if r.name == "core-flow-logs")
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


INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"


def waits_for(plan: Plan, resource: Resource, target: str) -> bool:
    """Whether the engine creates `resource` only after `target` (a URN), directly or not."""
    seen: set[str] = set()
    pending = list(resource.dependencies)
    while pending:
        urn = pending.pop()
        if urn == target:
            return True
        if urn not in seen:
            seen.add(urn)
            pending += plan.by_urn(urn).dependencies
    return False


def uses_public_subnet(resource: Resource, public_ids: set[str]) -> bool:
    mappings = resource.inputs.get("subnetMappings") or []
    referenced = {
        resource.inputs.get("subnetId"),
        *(resource.inputs.get("subnets") or []),
        *(m.get("subnetId") for m in mappings),
    }
    return bool(referenced & public_ids)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_nothing_in_a_public_subnet_of_a_committed_stack_is_created_before_the_internet_gateway(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    # Over the committed stacks on purpose: every public-subnet user of the whole program.
    # AWS refuses an internet-facing load balancer ("InvalidSubnet ... has no internet
    # gateway"), a NAT gateway and an Elastic IP association ("Gateway.NotAttached") in a
    # VPC whose gateway is not attached yet; the provider attaches it when it creates it.
    plan = plan_of(stack)
    [gateway] = plan.of_type(INTERNET_GATEWAY)
    public = [r for r in plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == "public"]
    assert public and all(gateway.urn in s.dependencies for s in public)
    users = [
        r for r in plan.resources if r.custom and uses_public_subnet(r, {s.id for s in public})
    ]
    kinds = {r.type for r in users}
    assert "aws:lb/loadBalancer:LoadBalancer" in kinds
    assert kinds & {NAT_GATEWAY, EC2_INSTANCE}
    assert [r.name for r in users if not waits_for(plan, r, gateway.urn)] == []
    eip_associations = plan.of_type("aws:ec2/eipAssociation:EipAssociation")
    assert all(waits_for(plan, r, gateway.urn) for r in eip_associations)


def test_first_boot_waits_for_the_public_route_its_nat_leaves_by(dev_plan: Plan) -> None:
    [vm] = [r for r in dev_plan.of_type(EC2_INSTANCE) if not is_nat_instance(r)]
    nat = nat_instance(dev_plan)
    [public_route] = [
        r
        for r in dev_plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if r.inputs.get("subnetId") == nat.inputs["subnetId"]
    ]
    assert public_route.urn in vm.depends_on


def test_only_this_accounts_flow_logs_may_assume_the_flow_log_role(dev_plan: Plan) -> None:
    [role] = [r for r in dev_plan.of_type("aws:iam/role:Role") if r.name == "core-flow-logs"]
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": fakes.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:eu-west-1:{fakes.ACCOUNT_ID}:vpc-flow-log/*"},
    }


@pytest.mark.parametrize("network", [NAT_INSTANCE, PER_AZ], ids=["nat-instance", "per-az"])
def test_private_subnets_reach_s3_through_a_free_gateway_endpoint(
    built: Callable[..., Plan], network: dict[str, object]
) -> None:
    plan = built("dev", network=network)
    [endpoint] = plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.eu-west-1.s3"
    private_tables = {r.id for r in plan.of_type(ROUTE_TABLE) if "private" in r.name}
    assert set(endpoint.inputs["routeTableIds"]) == private_tables
    assert endpoint.inputs["vpcId"] == plan.of_type("aws:ec2/vpc:Vpc")[0].id


def test_a_new_ami_replaces_the_nat_and_its_address_moves_over(dev_plan: Plan) -> None:
    # The patch path: the AMI behind AWS's parameter carries the security updates an AL2023
    # instance never receives in place; a change of it must reach the NAT.
    vm = nat_instance(dev_plan)
    assert "ami" not in vm.ignore_changes
    [association] = under(dev_plan, "core-nat", "aws:ec2/eipAssociation:EipAssociation")
    assert association.delete_before_replace is True
