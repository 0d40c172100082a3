"""App hosts: the VM never changes for a deploy; compose and env arrive through SSM."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from components.aws import placement
from components.aws.app_host import UBUNTU_AMI_PARAMETER
from components.host.apply_document import unpack_parameter
from components.settings import CloudSettings, ConfigError, parse
from plan import fakes
from plan.model import Plan, Resource, reveal
from plan.resource_types import (
    EC2_INSTANCE,
    NAT_GATEWAY,
    RDS_INSTANCE,
    SECURITY_GROUP,
    SSM_PARAMETER,
    SUBNET,
)
from seed.catalog import SERVICES, WEB_CLIENTS
from tests.app_tier_helpers import (
    app_hosts,
    compose_document,
    parameter_value,
    services_with,
    under,
)

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ASSOCIATION = "aws:ssm/association:Association"
ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ROUTE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"


def test_instance_is_private_imdsv2_encrypted_and_monitored(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    i = vm.inputs
    assert i["associatePublicIpAddress"] is False and "keyName" not in i
    assert i["metadataOptions"]["httpTokens"] == "required"
    # Hop limit 1: only host processes (dockerd's awslogs driver) reach IMDS, no container.
    assert i["metadataOptions"]["httpPutResponseHopLimit"] == 1.0
    assert i["rootBlockDevice"]["encrypted"] is True
    assert i["rootBlockDevice"]["volumeType"] == "gp3"
    assert i["monitoring"] is True
    private = {r.id for r in dev_plan.of_type(SUBNET) if "private" in r.name}
    assert i["subnetId"] in private


def route_of(plan: Plan, vm: Resource) -> tuple[Resource, dict[str, str]]:
    """The association of the VM's subnet, and the internet route of its table."""
    [association] = [
        r
        for r in plan.of_type(ROUTE_ASSOCIATION)
        if r.inputs.get("subnetId") == vm.inputs["subnetId"]
    ]
    [table] = [r for r in plan.of_type(ROUTE_TABLE) if r.id == association.inputs["routeTableId"]]
    [route] = table.inputs["routes"]
    return association, route


def test_first_boot_waits_for_the_nat_instance_and_its_elastic_ip(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    association, route = route_of(dev_plan, vm)
    [nat] = under(dev_plan, "core-nat", EC2_INSTANCE)
    assert route["networkInterfaceId"] == nat.outputs["primaryNetworkInterfaceId"]
    [eip_association] = under(dev_plan, "core-nat", "aws:ec2/eipAssociation:EipAssociation")
    # Nothing in the VM's inputs refers to these: only depends_on orders them. It names
    # the NatInstance component, which the engine expands to its children.
    [nat_component] = [r for r in dev_plan.resources if r.type == "ticketing:aws:NatInstance"]
    assert {association.urn, nat_component.urn} <= set(vm.depends_on)
    assert {nat.urn, eip_association.urn} <= set(vm.dependencies)


def test_first_boot_waits_for_the_nat_gateway_of_its_own_zone(
    capture: Callable[..., Plan],
) -> None:
    plan = capture("prod", services_with("payments", "prod", host="dedicated"))
    vms = app_hosts(plan)
    assert len(vms) == 2
    gateways = {r.id: r for r in plan.of_type(NAT_GATEWAY)}
    waited: set[str] = set()
    for vm in vms:
        association, route = route_of(plan, vm)
        gateway = gateways[route["natGatewayId"]]
        assert {association.urn, gateway.urn} <= set(vm.depends_on), vm.name
        assert {g.urn for g in gateways.values()} & set(vm.depends_on) == {gateway.urn}
        waited.add(gateway.urn)
    assert len(waited) == 2  # the hosts sit in different zones


def test_without_nat_the_vm_waits_for_no_egress(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", {"ticketing:network": {"cidr": "10.40.0.0/16", "natMode": "none"}})
    [vm] = app_hosts(plan)
    network = {r.urn for r in under(plan, "core", ROUTE_ASSOCIATION)}
    assert network and not network & set(vm.dependencies)


def test_ami_is_canonicals_public_parameter_and_ignored_afterwards(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    assert vm.inputs["ami"] == fakes.AMI_ID
    assert "ami" in vm.ignore_changes


def test_new_user_data_never_stops_a_running_host(dev_plan: Plan) -> None:
    # A user data change is a stop/start of the VM for pulumi-aws; cloud-init would not rerun it.
    [vm] = app_hosts(dev_plan)
    assert "userData" in vm.ignore_changes
    assert vm.inputs.get("userDataReplaceOnChange") is not True


def test_every_host_gets_the_x86_type_the_amd64_image_needs(
    capture: Callable[..., Plan],
) -> None:
    assert "/amd64/" in UBUNTU_AMI_PARAMETER
    overrides = {
        **services_with("notifications", host="dedicated"),
        "ticketing:appHost": {"instanceType": "m6i.large"},
    }
    vms = app_hosts(capture("dev", overrides))
    assert {vm.name: vm.inputs["instanceType"] for vm in vms} == {
        "shared-host-vm": "m6i.large",
        "notifications-host-vm": "m6i.large",
    }
    with pytest.raises(ConfigError, match=r"^ticketing:appHost.instanceType: a Graviton"):
        capture("dev", {**overrides, "ticketing:appHost": {"instanceType": "m7g.large"}})


def test_user_data_installs_tools_only(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    user_data = vm.inputs["userData"]
    assert user_data.startswith("#cloud-config")
    assert "docker.io" in user_data and "ticketing-compose.service" in user_data
    assert "ghcr.io" not in user_data and "postgresql://" not in user_data


def test_changing_an_image_tag_changes_ssm_only(
    dev_plan: Plan, capture: Callable[..., Plan]
) -> None:
    changed = capture(
        "dev", services_with("payments", image="ghcr.io/example-tickets/payments-api:2.4.0")
    )
    [before], [after] = app_hosts(dev_plan), app_hosts(changed)
    assert before.inputs == after.inputs
    name = "/ticketing/dev/hosts/shared/compose"
    assert parameter_value(dev_plan, name) != parameter_value(changed, name)
    assert compose_document(changed)["services"]["payments"]["image"].endswith(":2.4.0")
    # ... and the association re-runs, because what it applies changed.
    [old], [new] = dev_plan.of_type(ASSOCIATION), changed.of_type(ASSOCIATION)
    assert old.inputs["associationName"] != new.inputs["associationName"]


def test_compose_document_in_ssm_is_valid_compose(dev_plan: Plan) -> None:
    jsonschema.validate(compose_document(dev_plan), SCHEMA)


def test_association_applies_the_hosts_document_to_its_instance(dev_plan: Plan) -> None:
    [association] = dev_plan.of_type(ASSOCIATION)
    [document] = dev_plan.of_type("aws:ssm/document:Document")
    [vm] = app_hosts(dev_plan)
    [db] = dev_plan.of_type(RDS_INSTANCE)
    assert association.inputs["name"] == document.outputs["name"]
    assert association.inputs["targets"] == [{"key": "InstanceIds", "values": [vm.id]}]
    params = association.inputs["parameters"]
    assert (params["Environment"], params["HostName"]) == ("dev", "shared")
    assert params["SharedDatabaseHost"] == db.outputs["address"]
    assert params["SharedMasterSecretArn"].startswith("arn:aws:secretsmanager:")
    assert json.loads(document.inputs["content"])["schemaVersion"] == "2.2"


def test_association_waits_for_the_hosts_documents_and_permissions(dev_plan: Plan) -> None:
    [association] = dev_plan.of_type(ASSOCIATION)
    documents = under(dev_plan, "shared-host", SSM_PARAMETER)
    assert {p.inputs["name"] for p in documents} == {
        "/ticketing/dev/hosts/shared/compose",
        "/ticketing/dev/hosts/shared/bootstrap-sql/shared",
    }
    access = dev_plan.named("shared-host-access")
    agent = dev_plan.named("shared-host-ssm-agent")
    [vm] = app_hosts(dev_plan)
    # The instance is listed as well as referenced through the targets' instance id.
    wanted = {vm.urn, access.urn, agent.urn, *(p.urn for p in documents)}
    assert wanted <= set(association.depends_on)
    assert vm.urn in association.property_dependencies["targets"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_deploy_is_a_new_association_that_pulumi_up_waits_for(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    """The provider (terraform-provider-aws internal/service/ssm/association.go) waits for
    `wait_for_success_timeout_seconds` in Create only, and its waiter fails on the status
    Failed; Update returns at once. So a deploy (a new association name) must replace the
    association, the old one first, and every association must wait."""
    for association in plan_of(stack).of_type(ASSOCIATION):
        assert association.replace_on_changes == ("associationName",)
        assert association.delete_before_replace
        assert association.inputs["waitForSuccessTimeoutSeconds"] == 1800


@pytest.mark.parametrize(("stack", "gb"), [("dev", 10), ("staging", 20), ("prod", 100)])
def test_dockers_data_root_is_an_encrypted_volume_that_outlives_the_instance(
    plan_of: Callable[[str], Plan], stack: str, gb: int
) -> None:
    plan = plan_of(stack)
    [vm] = app_hosts(plan)
    [volume] = plan.of_type("aws:ebs/volume:Volume")
    [attachment] = plan.of_type("aws:ec2/volumeAttachment:VolumeAttachment")
    [subnet] = [s for s in plan.of_type("aws:ec2/subnet:Subnet") if s.id == vm.inputs["subnetId"]]
    assert volume.inputs["availabilityZone"] == subnet.inputs["availabilityZone"]
    assert (volume.inputs["type"], volume.inputs["size"], volume.inputs["encrypted"]) == (
        "gp3",
        gb,
        True,
    )
    # Outside dev the queues must survive a destroy that forgot them.
    assert volume.protect == volume.retain_on_delete == (stack != "dev")
    assert (attachment.inputs["volumeId"], attachment.inputs["instanceId"]) == (volume.id, vm.id)
    assert attachment.inputs["deviceName"] == "/dev/sdf"
    assert attachment.inputs["stopInstanceBeforeDetaching"] is True
    # First boot waits for this volume by its id and mounts it before Docker is installed.
    nitro = "nvme-Amazon_Elastic_Block_Store_" + volume.id.replace("-", "")
    assert nitro in vm.inputs["userData"]
    assert volume.urn in vm.property_dependencies["userData"]


def test_no_ssh_and_only_the_alb_reaches_the_host_ports(dev_plan: Plan) -> None:
    group = dev_plan.named("app-hosts-sg")
    alb_group_id = next(r.id for r in dev_plan.of_type(SECURITY_GROUP) if r.name == "ingress-alb")
    rules = [r.inputs for r in dev_plan.of_type(INGRESS) if r.inputs["securityGroupId"] == group.id]
    assert sorted(int(r["fromPort"]) for r in rules) == sorted(placement.host_ports().values())
    assert all(r["referencedSecurityGroupId"] == alb_group_id and r["description"] for r in rules)
    assert all(r["fromPort"] == r["toPort"] != 22 for r in rules)


def test_host_egress_is_https_http_and_postgres_only(dev_plan: Plan) -> None:
    group = dev_plan.named("app-hosts-sg")
    rules = [r.inputs for r in dev_plan.of_type(EGRESS) if r.inputs["securityGroupId"] == group.id]
    assert sorted(int(r["fromPort"]) for r in rules) == [80, 443, 5432]
    [postgres] = [r for r in rules if r["fromPort"] == 5432.0]
    assert "cidrIpv4" not in postgres  # to the database's group only


def test_instance_profile_reads_only_its_own_paths(dev_plan: Plan) -> None:
    policy = dev_plan.named("shared-host-access")
    document = json.loads(reveal(policy.inputs["policy"]))
    statements = {s["Sid"]: s for s in document["Statement"]}
    resources = statements["ReadOwnParameters"]["Resource"]
    assert all(":parameter/ticketing/dev/" in r for r in resources)
    assert any(r.endswith("/ticketing/dev/hosts/shared/*") for r in resources)
    assert statements["ReadDatabaseMasterSecrets"]["Action"][0] == "secretsmanager:GetSecretValue"
    assert under(dev_plan, "shared-host", "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    agent = json.loads(dev_plan.named("shared-host-ssm-agent").inputs["policy"])
    agent_actions = {a for s in agent["Statement"] for a in s["Action"]}
    assert "ssm:ListInstanceAssociations" in agent_actions  # State Manager applies the host
    assert not {a for a in agent_actions if a.startswith("ssm:GetParameter")}


def waits_for(plan: Plan, resource: Resource, component: str) -> bool:
    """`resource` lists the component in its `depends_on`."""
    return plan.named(component).urn in resource.depends_on


def host_policy_covers(plan: Plan, host: str, parameter_name: str) -> bool:
    policy = json.loads(reveal(plan.named(f"{host}-host-access").inputs["policy"]))
    [read] = [s for s in policy["Statement"] if "ssm:GetParametersByPath" in s["Action"]]
    arn = f"arn:aws:ssm:eu-west-1:{fakes.ACCOUNT_ID}:parameter{parameter_name}"
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in read["Resource"])


def apply_script(plan: Plan, host: str) -> str:
    [document] = under(plan, f"{host}-host", "aws:ssm/document:Document")
    content = json.loads(document.inputs["content"])
    return "\n".join(content["mainSteps"][0]["inputs"]["runCommand"])


def test_ticketing_host_reads_each_venue_credential_into_ticketings_env(dev_plan: Plan) -> None:
    credential = dev_plan.named("venue-sync-arena-ssm").inputs["name"]
    assert host_policy_covers(dev_plan, "shared", credential)
    assert not host_policy_covers(dev_plan, "shared", "/ticketing/dev/venues/arena/x")
    script = apply_script(dev_plan, "shared")
    assert "venues/arena/sync-credential | env_line VENUE_SYNC_CREDENTIAL_ARENA" in script
    [association] = dev_plan.of_type(ASSOCIATION)
    assert waits_for(dev_plan, association, "venue-sync")


def test_only_the_host_running_ticketing_gets_the_venue_credentials(
    capture: Callable[..., Plan],
) -> None:
    plan = capture("dev", services_with("ticketing", host="dedicated"))
    credential = plan.named("venue-sync-arena-ssm").inputs["name"]
    assert host_policy_covers(plan, "ticketing", credential)
    assert not host_policy_covers(plan, "shared", credential)
    assert "VENUE_SYNC_CREDENTIAL_ARENA" in apply_script(plan, "ticketing")
    assert "VENUE_SYNC_CREDENTIAL" not in apply_script(plan, "shared")
    waits = {a.name: waits_for(plan, a, "venue-sync") for a in plan.of_type(ASSOCIATION)}
    assert waits == {"ticketing-host-apply": True, "shared-host-apply": False}


def test_a_new_venue_re_runs_the_ticketing_hosts_association(
    dev_plan: Plan, capture: Callable[..., Plan]
) -> None:
    plan = capture("dev", {"ticketing:venues": ["arena", "west-end"]})
    assert "VENUE_SYNC_CREDENTIAL_WEST_END" in apply_script(plan, "shared")
    [old], [new] = dev_plan.of_type(ASSOCIATION), plan.of_type(ASSOCIATION)
    assert old.inputs["associationName"] != new.inputs["associationName"]


def test_every_target_group_is_attached_on_its_host_port(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    attachments = dev_plan.of_type(ATTACHMENT)
    assert len(attachments) == len(placement.host_ports())
    assert all(a.inputs["targetId"] == vm.id for a in attachments)
    assert sorted(int(a.inputs["port"]) for a in attachments) == sorted(
        placement.host_ports().values()
    )


def test_dedicated_host_runs_the_service_and_its_backing_only(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", services_with("notifications", host="dedicated"))
    vms = {r.name: r for r in app_hosts(plan)}
    assert set(vms) == {"shared-host-vm", "notifications-host-vm"}
    assert set(compose_document(plan, "notifications")["services"]) == {
        "notifications",
        "notifications-rabbitmq",
    }
    assert "notifications" not in compose_document(plan, "shared")["services"]
    [attachment] = under(plan, "notifications-host", ATTACHMENT)
    assert attachment.inputs["targetId"] == vms["notifications-host-vm"].id
    assert plan.outputs["appHostInstanceIds"]["notifications"] == vms["notifications-host-vm"].id


def test_hosts_sharing_an_instance_retire_none_of_each_others_roles(
    capture: Callable[..., Plan],
) -> None:
    # payments runs on its own host, its database stays on the shared instance: both hosts
    # bootstrap that instance, each its own services' grants, and each names all four roles
    # as residents (tests/test_bootstrap_sql.py runs the pair on a real server).
    plan = capture("dev", services_with("payments", host="dedicated"))
    everyone = ", ".join(f"'{s.role}'" for s in SERVICES)
    for host, grants in (
        ("shared", ["ticketing", "identity", "notifications"]),
        ("payments", ["payments"]),
    ):
        packed = parameter_value(plan, f"/ticketing/dev/hosts/{host}/bootstrap-sql/shared")
        sql = unpack_parameter(packed)
        assert f"NOT IN ({everyone})" in sql, host
        created = re.findall(r"CREATE DATABASE %I OWNER %I', '(\w+)'", sql)
        assert created == [s.database for s in SERVICES if s.name in grants], host


def test_dedicated_database_is_bootstrapped_by_the_host_of_its_service(
    capture: Callable[..., Plan],
) -> None:
    plan = capture("dev", services_with("payments", database="dedicated"))
    dbs = {r.name: r for r in plan.of_type(RDS_INSTANCE)}
    url = reveal(
        next(
            r.inputs["value"]
            for r in plan.of_type(SSM_PARAMETER)
            if r.inputs["name"] == "/ticketing/dev/services/payments/database-url"
        )
    )
    assert dbs["payments-db-instance"].outputs["address"] in url
    [association] = plan.of_type(ASSOCIATION)
    assert (
        association.inputs["parameters"]["PaymentsDatabaseHost"]
        == (dbs["payments-db-instance"].outputs["address"])
    )
    assert plan.outputs["services"]["payments"]["databaseInstance"] == "ticketing-dev-payments-db"


def test_moving_makes_the_instance_its_database_moves_to_and_keeps_the_service_on_the_shared_one(
    capture: Callable[..., Plan],
) -> None:
    moving = capture("dev", services_with("payments", database="moving"))
    dedicated = capture("dev", services_with("payments", database="dedicated"))
    dbs = {r.name: r for r in moving.of_type(RDS_INSTANCE)}
    assert set(dbs) == {"db-instance", "payments-db-instance"}
    # The instance made in step one is the one step two uses: the same identity.
    assert {r.urn for r in moving.of_type(RDS_INSTANCE)} == {
        r.urn for r in dedicated.of_type(RDS_INSTANCE)
    }
    url = parameter_value(moving, "/ticketing/dev/services/payments/database-url")
    assert dbs["db-instance"].outputs["address"] in url
    assert moving.outputs["services"]["payments"]["databaseInstance"] == "ticketing-dev-db"
    # The host bootstraps payments on both, and copies nothing yet.
    for target in ("shared", "payments"):
        sql = unpack_parameter(
            parameter_value(moving, f"/ticketing/dev/hosts/shared/bootstrap-sql/{target}")
        )
        assert "'payments_db'" in sql, target
    [association] = moving.of_type(ASSOCIATION)
    assert not [p for p in association.inputs["parameters"] if "MoveSource" in p]


def test_dedicated_hands_its_host_the_shared_instance_to_copy_from(
    capture: Callable[..., Plan],
) -> None:
    plan = capture("dev", services_with("payments", database="dedicated", host="dedicated"))
    shared = next(r for r in plan.of_type(RDS_INSTANCE) if r.name == "db-instance")
    [association] = [
        r for r in plan.of_type(ASSOCIATION) if r.inputs["parameters"]["HostName"] == "payments"
    ]
    parameters = association.inputs["parameters"]
    assert parameters["PaymentsMoveSourceHost"] == shared.outputs["address"]
    assert parameters["PaymentsMoveSourcePort"] == "5432"
    source_secret = parameters["PaymentsMoveSourceMasterSecretArn"]
    assert source_secret == shared.outputs["masterUserSecrets"][0]["secretArn"]
    # Its role may read that secret (and its own instance's), no other.
    [policy] = [
        r
        for r in under(plan, "payments-host", "aws:iam/rolePolicy:RolePolicy")
        if "secretsmanager:GetSecretValue" in r.inputs["policy"]
    ]
    [statement] = [
        s
        for s in json.loads(policy.inputs["policy"])["Statement"]
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert source_secret in statement["Resource"] and len(statement["Resource"]) == 2


def _settings_of(plan: Plan) -> CloudSettings:
    raw = {
        key.split(":", 1)[1]: json.loads(value) if value[:1] in "[{" else value
        for key, value in plan.config.items()
        if key.startswith("ticketing:")
    }
    parsed = parse(raw)
    assert isinstance(parsed, CloudSettings)
    return parsed


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [
        ("dev", {}),
        ("staging", {}),
        ("prod", {}),
        ("prod", services_with("payments", "prod", host="dedicated", redisMaxMemoryMb=512)),
    ],
)
def test_the_settings_add_up_the_limits_compose_sets(
    plan_of: Callable[[str], Plan],
    capture: Callable[..., Plan],
    stack: str,
    overrides: dict[str, object],
) -> None:
    # The fit check reads components.host.memory; the document the hosts run must agree.
    plan = capture(stack, overrides) if overrides else plan_of(stack)
    expected = _settings_of(plan).container_limits()
    assert set(expected) == {h.name for h in placement.hosts(_settings_of(plan))}
    for host, limits in expected.items():
        rendered = {
            c["container_name"]: int(c["mem_limit"].removesuffix("m"))
            for c in compose_document(plan, host)["services"].values()
        }
        assert rendered == limits, host


def test_a_named_registry_is_logged_in_to_with_the_one_parameter_the_host_may_read(
    capture: Callable[..., Plan], dev_plan: Plan
) -> None:
    token = "/ticketing/registry/ghcr-token"
    registry = {"server": "ghcr.io", "username": "deploy-bot", "passwordParameter": token}
    plan = capture(
        "dev", {"ticketing:appHost": {"instanceType": "t3.medium", "registry": registry}}
    )
    [association] = plan.of_type(ASSOCIATION)
    values = reveal(association.inputs["parameters"])
    assert {k: values[k] for k in values if k.startswith("Registry")} == {
        "RegistryServer": "ghcr.io",
        "RegistryUsername": "deploy-bot",
        "RegistryPasswordParameter": token,
    }
    assert "| docker login --username '{{ RegistryUsername }}'" in apply_script(plan, "shared")
    assert host_policy_covers(plan, "shared", token)
    assert not host_policy_covers(plan, "shared", "/ticketing/registry/other-token")
    # Without a registry: no login, no such parameter.
    assert "docker login" not in apply_script(dev_plan, "shared")
    assert not host_policy_covers(dev_plan, "shared", token)


def test_with_two_replicas_each_is_a_target_of_its_owners_group(prod_plan: Plan) -> None:
    """prod runs two replicas: each owner's target group has the host on both of its
    declared ports, the ALB reaches both, and the association names the instance and each
    group, which the apply script's rolling lines use."""
    [vm] = [r for r in app_hosts(prod_plan) if r.name == "shared-host-vm"]
    groups = {r.name.removesuffix("-tg"): r for r in prod_plan.of_type(TARGET_GROUP)}
    owners = [*SERVICES, *WEB_CLIENTS]
    attached = {
        (a.inputs["targetGroupArn"], int(a.inputs["port"]))
        for a in prod_plan.of_type(ATTACHMENT)
        if a.inputs["targetId"] == vm.id
    }
    wanted = {
        (groups[o.name].outputs["arn"], port)
        for o in owners
        for port in (o.host_port, o.replica_host_port)
    }
    assert attached == wanted
    group = prod_plan.named("app-hosts-sg")
    rules = [
        r.inputs for r in prod_plan.of_type(INGRESS) if r.inputs["securityGroupId"] == group.id
    ]
    assert sorted(int(r["fromPort"]) for r in rules) == sorted(p for _, p in wanted)
    [association] = [a for a in prod_plan.of_type(ASSOCIATION) if a.name == "shared-host-apply"]
    parameters = reveal(association.inputs["parameters"])
    assert parameters["InstanceId"] == vm.id
    for owner in owners:
        key = "".join(part.capitalize() for part in owner.name.split("-")) + "TargetGroupArn"
        assert parameters[key] == groups[owner.name].outputs["arn"]
        assert f"{owner.name}:{owner.host_port} {owner.name}-2:{owner.replica_host_port}" in (
            apply_script(prod_plan, "shared")
        )


def test_the_host_registers_targets_in_its_own_target_groups_only(prod_plan: Plan) -> None:
    """RegisterTargets and DeregisterTargets on exactly its owners' target groups (they take
    the targetgroup resource type); DescribeTargetHealth, which has no resource-level
    permissions (AWS's Service Authorization Reference for ELBv2), for the waiters."""
    policy = json.loads(reveal(prod_plan.named("shared-host-access").inputs["policy"]))
    statements = {s["Sid"]: s for s in policy["Statement"]}
    groups = sorted(
        r.outputs["arn"] for r in prod_plan.of_type(TARGET_GROUP) if r.name.endswith("-tg")
    )
    assert statements["RollOwnTargets"] == {
        "Sid": "RollOwnTargets",
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:DeregisterTargets",
            "elasticloadbalancing:RegisterTargets",
        ],
        "Resource": groups,
    }
    assert statements["WatchTargetHealth"]["Action"] == "elasticloadbalancing:DescribeTargetHealth"
    elb = [s for s in policy["Statement"] if "elasticloadbalancing" in json.dumps(s["Action"])]
    assert len(elb) == 2


def test_with_one_replica_nothing_rolls(dev_plan: Plan) -> None:
    """dev runs one replica (`appHost.replicas: 1`): one port per owner, no rolling lines,
    no instance or target group parameter, no ELB permission."""
    ports = sorted(int(a.inputs["port"]) for a in dev_plan.of_type(ATTACHMENT))
    assert ports == sorted(placement.host_ports().values())
    assert "roll '" not in apply_script(dev_plan, "shared")
    [association] = dev_plan.of_type(ASSOCIATION)
    assert "InstanceId" not in reveal(association.inputs["parameters"])
    policy = reveal(dev_plan.named("shared-host-access").inputs["policy"])
    assert "elasticloadbalancing" not in policy
