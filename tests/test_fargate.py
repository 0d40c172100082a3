"""`host: ecs`: a service on ECS Fargate, its stores as ECS services of its own, by config only.

The test stack is the committed `dev` stack with ticketing and payments placed on
ECS (`tests.conftest.ecs_overrides`; ticketing sized by `TICKETING_ON_ECS`,
payments on the defaults). The committed stacks stay on their hosts, so their
resource identities (tests/snapshots) do not move.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from components.settings import CloudSettings, ConfigError, parse
from plan import fakes
from plan.__main__ import main
from plan.model import Plan, Resource, reveal
from plan.urns import urns_of as urns
from seed import catalog, naming
from tests.app_tier_helpers import compose_document, parameter_value, under
from tests.conftest import ECS_SERVICES, TICKETING_ON_ECS, ecs_overrides

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
ECS_TYPES = ("aws:ecs/", "aws:efs/", "aws:appautoscaling/", "aws:servicediscovery/")


def containers(definition: Resource) -> list[dict[str, Any]]:
    return json.loads(str(definition.inputs["containerDefinitions"]))


def of_type(plan: Plan, name: str, type_: str) -> Resource:
    [found] = [r for r in plan.of_type(type_) if r.name == name]
    return found


def ancestors(plan: Plan, resource: Resource) -> list[str]:
    names: list[str] = []
    parent = resource.parent
    while parent and not parent.endswith(f"::{plan.project}-{plan.stack}"):
        owner = plan.by_urn(parent)
        names.append(owner.name)
        parent = owner.parent
    return names


# --- placement ----------------------------------------------------------------------


def test_the_ecs_resources_sit_under_their_services_component(ecs_plan: Plan) -> None:
    for service in ECS_SERVICES:
        tasks = [d for d in ecs_plan.of_type(TASK_DEFINITION) if d.name.startswith(service)]
        assert {d.name for d in tasks} == {
            f"{service}-ecs-{t}" for t in ("api", "redis", "rabbitmq")
        }
        for resource in under(ecs_plan, f"{service}-ecs", ECS_SERVICE):
            assert ancestors(ecs_plan, resource)[:2] == [f"{service}-ecs", service]


def test_services_left_on_the_host_run_there_and_the_others_do_not(ecs_plan: Plan) -> None:
    running = set(compose_document(ecs_plan)["services"])
    for service in catalog.SERVICES:
        on_host = {
            service.name,
            naming.redis_container(service.name),
            naming.rabbitmq_container(service.name),
        }
        if service.name in ECS_SERVICES:
            assert not running & on_host, service.name
        else:
            assert service.name in running
    assert not [d for d in ecs_plan.of_type(TASK_DEFINITION) if d.name.startswith("identity")]


def test_the_committed_stacks_create_no_ecs_resource(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan in (dev_plan, prod_plan):
        assert not [r for r in plan if r.type.startswith(ECS_TYPES)]


def test_switching_back_to_shared_plans_the_host_shape_again(
    capture: Callable[..., Plan], dev_plan: Plan
) -> None:
    # Only `host` flips back; the `ecs` sizing stays in the file and is ignored.
    back = capture("dev", ecs_overrides("dev", placement="shared"))
    assert urns(back) == urns(dev_plan)
    for resource in dev_plan:
        assert reveal(back.by_urn(resource.urn).inputs) == reveal(resource.inputs), resource.name


# --- the API behind the ALB ------------------------------------------------------------


def test_api_runs_on_fargate_in_the_private_subnets_without_public_ips(ecs_plan: Plan) -> None:
    private = {s.id for s in ecs_plan.of_type("aws:ec2/subnet:Subnet") if "private" in s.name}
    for service in ECS_SERVICES:
        for task in ("api", "redis", "rabbitmq"):
            inputs = of_type(ecs_plan, f"{service}-ecs-{task}", ECS_SERVICE).inputs
            assert inputs["launchType"] == "FARGATE"
            network = inputs["networkConfiguration"]
            assert network["assignPublicIp"] is False
            assert set(network["subnets"]) == private


def test_api_is_the_ip_target_of_its_own_target_group_and_route(ecs_plan: Plan) -> None:
    for service in ECS_SERVICES:
        group = of_type(ecs_plan, f"{service}-tg", "aws:lb/targetGroup:TargetGroup")
        assert (group.inputs["targetType"], group.inputs["port"]) == ("ip", 8080.0)
        assert group.inputs["healthCheck"]["path"] == catalog.service(service).health_check_path
        api = of_type(ecs_plan, f"{service}-ecs-api", ECS_SERVICE)
        [balancer] = api.inputs["loadBalancers"]
        assert balancer == {
            "targetGroupArn": group.outputs["arn"],
            "containerName": service,
            "containerPort": 8080.0,
        }
        # Registered only once the listener forwards to the group.
        route = of_type(ecs_plan, f"{service}-route", LISTENER_RULE)
        assert route.urn in api.property_dependencies["loadBalancers"]


def test_routing_origin_lock_logs_and_alarms_are_the_hosts_ones(
    ecs_plan: Plan, dev_plan: Plan
) -> None:
    for service in ECS_SERVICES:
        for name, type_ in (
            (f"{service}-route", LISTENER_RULE),
            (f"{service}-logs", "aws:cloudwatch/logGroup:LogGroup"),
            (f"{service}-target-5xx", "aws:cloudwatch/metricAlarm:MetricAlarm"),
            (f"{service}-unhealthy-hosts", "aws:cloudwatch/metricAlarm:MetricAlarm"),
            (f"{service}-p95-latency", "aws:cloudwatch/metricAlarm:MetricAlarm"),
        ):
            on_ecs, on_host = of_type(ecs_plan, name, type_), of_type(dev_plan, name, type_)
            assert reveal(on_ecs.inputs) == reveal(on_host.inputs), name


def test_api_containers_log_to_the_services_log_group(ecs_plan: Plan) -> None:
    for service in ECS_SERVICES:
        for task in ("api", "redis", "rabbitmq"):
            [container] = containers(of_type(ecs_plan, f"{service}-ecs-{task}", TASK_DEFINITION))
            options = container["logConfiguration"]["options"]
            assert options["awslogs-group"] == f"/ticketing/dev/{service}"


# --- counts, scaling, deploys ------------------------------------------------------------


def test_counts_and_size_come_from_config(ecs_plan: Plan) -> None:
    api = of_type(ecs_plan, "ticketing-ecs-api", ECS_SERVICE)
    assert api.inputs["desiredCount"] == TICKETING_ON_ECS["desiredCount"]
    assert "desiredCount" in api.ignore_changes  # the autoscaler owns it after the first deploy
    definition = of_type(ecs_plan, "ticketing-ecs-api", TASK_DEFINITION)
    assert (definition.inputs["cpu"], definition.inputs["memory"]) == ("512", "1024")
    target = ecs_plan.named("ticketing-ecs-api-scaling")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2.0, 10.0)
    assert target.inputs["resourceId"] == "service/ticketing-dev/ticketing-api"
    defaults = ecs_plan.named("payments-ecs-api-scaling").inputs
    assert (defaults["minCapacity"], defaults["maxCapacity"]) == (2.0, 6.0)


def test_autoscaling_tracks_cpu_and_requests_per_target(ecs_plan: Plan) -> None:
    cpu = of_type(ecs_plan, "ticketing-ecs-api-cpu", SCALING_POLICY).inputs
    requests = of_type(ecs_plan, "ticketing-ecs-api-requests", SCALING_POLICY).inputs
    assert cpu["policyType"] == requests["policyType"] == "TargetTrackingScaling"
    tracked = cpu["targetTrackingScalingPolicyConfiguration"]
    assert tracked["targetValue"] == TICKETING_ON_ECS["cpuTargetPercent"]
    assert tracked["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    tracked = requests["targetTrackingScalingPolicyConfiguration"]
    assert tracked["targetValue"] == TICKETING_ON_ECS["requestsPerTarget"]
    metric = tracked["predefinedMetricSpecification"]
    assert metric["predefinedMetricType"] == "ALBRequestCountPerTarget"
    # "app/<alb>/<id>/targetgroup/<tg>/<id>": the ALB's and the target group's ARN suffixes.
    alb = of_type(ecs_plan, "ingress-alb", "aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    group = of_type(ecs_plan, "ticketing-tg", "aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    assert metric["resourceLabel"] == f"{alb}/{group}"


def test_deploys_roll_behind_the_circuit_breaker_and_roll_back(ecs_plan: Plan) -> None:
    for service in ECS_SERVICES:
        api = of_type(ecs_plan, f"{service}-ecs-api", ECS_SERVICE).inputs
        assert api["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert (api["deploymentMinimumHealthyPercent"], api["deploymentMaximumPercent"]) == (
            100,
            200,
        )
        assert api["alarms"] == {
            "enable": True,
            "rollback": True,
            "alarmNames": [f"ticketing-dev-{service}-target-5xx"],
        }
        broker = of_type(ecs_plan, f"{service}-ecs-rabbitmq", ECS_SERVICE).inputs
        # One broker writes its data directory: the old task stops before the new one starts.
        assert (broker["deploymentMinimumHealthyPercent"], broker["deploymentMaximumPercent"]) == (
            0,
            100,
        )
        assert broker["desiredCount"] == 1


def test_a_new_image_tag_changes_only_the_task_definition_and_its_service(
    capture: Callable[..., Plan], ecs_plan: Plan
) -> None:
    overrides = ecs_overrides()
    overrides["ticketing:services"]["ticketing"]["image"] = (
        "ghcr.io/example-tickets/ticketing-api:1.9.0"
    )
    bumped = capture("dev", overrides)
    assert urns(bumped) == urns(ecs_plan)
    changed = [r.name for r in bumped if reveal(r.inputs) != reveal(ecs_plan.by_urn(r.urn).inputs)]
    definition = of_type(bumped, "ticketing-ecs-api", TASK_DEFINITION)
    assert changed == [definition.name]
    assert [c["image"] for c in containers(definition)] == [
        "ghcr.io/example-tickets/ticketing-api:1.9.0"
    ]
    # The definition gets a new revision (a new ARN), which its service, and only it, takes.
    readers = [
        r.name
        for r in bumped
        if any(definition.urn in deps for deps in r.property_dependencies.values())
    ]
    assert readers == ["ticketing-ecs-api"]
    assert definition.inputs["skipDestroy"] is True  # the previous revision stays for rollback


def test_a_rotated_secret_rolls_the_tasks(ecs_plan: Plan) -> None:
    api = of_type(ecs_plan, "ticketing-ecs-api", ECS_SERVICE)
    assert api.inputs["forceNewDeployment"] is True
    versions = str(api.inputs["triggers"]["secrets"])
    assert "redis-url=1" in versions and "arena=1" in versions
    # The versions come from the service's own parameters, so a new version is a new value.
    params = {p.urn for p in under(ecs_plan, "ticketing", "aws:ssm/parameter:Parameter")}
    assert params <= set(api.property_dependencies["triggers"])


# --- the stores --------------------------------------------------------------------------


def test_each_store_is_found_by_its_cloud_map_name(ecs_plan: Plan) -> None:
    [namespace] = ecs_plan.of_type("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    assert namespace.inputs["name"] == "dev.ticketing.internal"
    for service in ECS_SERVICES:
        for task, container, url_key, scheme in (
            ("redis", naming.redis_container(service), naming.REDIS_URL, "redis"),
            ("rabbitmq", naming.rabbitmq_container(service), naming.AMQP_URL, "amqp"),
        ):
            discovery = ecs_plan.named(f"{service}-ecs-{task}-discovery")
            assert discovery.inputs["name"] == container
            assert discovery.inputs["dnsConfig"]["namespaceId"] == namespace.id
            runs = of_type(ecs_plan, f"{service}-ecs-{task}", ECS_SERVICE)
            assert runs.inputs["serviceRegistries"] == {"registryArn": discovery.outputs["arn"]}
            url = parameter_value(ecs_plan, naming.ssm_service_parameter("dev", service, url_key))
            assert f"@{container}.dev.ticketing.internal:" in url and url.startswith(scheme)


def test_a_services_stores_admit_its_own_api_tasks_only(ecs_plan: Plan) -> None:
    groups = {g.name: g.id for g in ecs_plan.of_type(SECURITY_GROUP)}
    for service in ECS_SERVICES:
        api = groups[f"{service}-ecs-api-sg"]
        for task, port in (("redis", 6379.0), ("rabbitmq", 5672.0)):
            store = groups[f"{service}-ecs-{task}-sg"]
            rules = [
                r.inputs for r in ecs_plan.of_type(INGRESS) if r.inputs["securityGroupId"] == store
            ]
            assert rules == [
                {
                    "securityGroupId": store,
                    "referencedSecurityGroupId": api,
                    "ipProtocol": "tcp",
                    "fromPort": port,
                    "toPort": port,
                    "description": rules[0]["description"],
                }
            ]
    other = groups["payments-ecs-api-sg"]
    admitted = {
        r.inputs["securityGroupId"]
        for r in ecs_plan.of_type(INGRESS)
        if r.inputs.get("referencedSecurityGroupId") == other
    }
    assert groups["ticketing-ecs-redis-sg"] not in admitted
    assert groups["ticketing-ecs-rabbitmq-sg"] not in admitted


def test_the_api_reaches_its_database_through_the_databases_group(ecs_plan: Plan) -> None:
    db = ecs_plan.named("db-sg").id
    api = ecs_plan.named("ticketing-ecs-api-sg").id
    rule = ecs_plan.named("ticketing-ecs-db-from-api").inputs
    assert (rule["securityGroupId"], rule["referencedSecurityGroupId"], rule["fromPort"]) == (
        db,
        api,
        5432.0,
    )


def test_rabbitmq_keeps_its_data_on_encrypted_efs_through_its_access_point(ecs_plan: Plan) -> None:
    file_system = of_type(ecs_plan, "ticketing-ecs-rabbitmq-data", "aws:efs/fileSystem:FileSystem")
    assert file_system.inputs["encrypted"] is True
    point = ecs_plan.named("ticketing-ecs-rabbitmq-data-ap").inputs
    # The official alpine image's rabbitmq user (100:101) owns the data directory.
    assert point["posixUser"] == {"uid": 100.0, "gid": 101.0}
    assert point["rootDirectory"]["creationInfo"]["permissions"] == "0700"
    mounts = [
        m
        for m in ecs_plan.of_type("aws:efs/mountTarget:MountTarget")
        if m.name.startswith("ticketing-")
    ]
    assert len(mounts) == len(
        [s for s in ecs_plan.of_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    )
    definition = of_type(ecs_plan, "ticketing-ecs-rabbitmq", TASK_DEFINITION)
    [volume] = definition.inputs["volumes"]
    efs = volume["efsVolumeConfiguration"]
    assert efs["transitEncryption"] == "ENABLED"
    assert efs["authorizationConfig"] == {
        "accessPointId": ecs_plan.named("ticketing-ecs-rabbitmq-data-ap").id,
        "iam": "ENABLED",
    }
    [container] = containers(definition)
    assert container["user"] == "100:101"
    assert {"name": "RABBITMQ_NODENAME", "value": "rabbit@localhost"} in container["environment"]
    assert container["mountPoints"][0]["containerPath"] == "/var/lib/rabbitmq"


def test_efs_is_protected_outside_dev() -> None:
    from components.aws.fargate import FargateServiceConfig

    raw = {
        "environment": "staging",
        "domain": "example-tickets-staging.com",
        "cloudflare": {"zoneId": "0" * 32, "plan": "pro"},
        "database": {"backupRetentionDays": 7},
        "services": {
            s.name: {"image": f"ghcr.io/acme/{s.name}:1.0.0", "host": "ecs"}
            for s in catalog.SERVICES
        },
        "webClients": {
            c.name: {"image": f"ghcr.io/acme/{c.name}:1.0.0"} for c in catalog.WEB_CLIENTS
        },
    }
    settings = parse(raw)
    assert isinstance(settings, CloudSettings)
    assert FargateServiceConfig.of(settings, catalog.service("payments")).protect is True


# --- secrets and least privilege ----------------------------------------------------------


def test_secrets_reach_containers_from_ssm_never_as_environment(ecs_plan: Plan) -> None:
    for definition in ecs_plan.of_type(TASK_DEFINITION):
        service = definition.name.split("-ecs-")[0]
        for container in containers(definition):
            for secret in container.get("secrets", []):
                assert secret["valueFrom"].startswith(naming.ssm_service_path("dev", service) + "/")
            for variable in container.get("environment", []):
                assert variable["name"] in ("RABBITMQ_NODENAME", "RABBITMQ_USE_LONGNAME")
    [api] = containers(of_type(ecs_plan, "ticketing-ecs-api", TASK_DEFINITION))
    assert [s["name"] for s in api["secrets"]] == [
        "DATABASE_URL",
        "REDIS_URL",
        "AMQP_URL",
        "VENUE_SYNC_CREDENTIAL_ARENA",
    ]


def _role_policies(plan: Plan, role_arn: str) -> list[dict[str, Any]]:
    [role] = [r for r in plan.of_type(ROLE) if r.outputs.get("arn") == role_arn]
    attached = [
        a
        for a in plan.of_type(ATTACHMENT)
        if a.inputs.get("role") in (role.id, role.outputs["name"])
    ]
    assert attached == [], role.name  # no managed policy: every permission is written here
    return [
        json.loads(reveal(p.inputs["policy"]))
        for p in plan.of_type(ROLE_POLICY)
        if p.inputs.get("role") in (role.id, role.outputs["name"])
    ]


def permitted(documents: list[dict[str, Any]], action: str, resource: str) -> bool:
    """What IAM decides for one request, by moto's policy evaluator (its IAMPolicy, the
    one its own access control runs): an explicit Deny wins, else any Allow."""
    results = [IAMPolicy(json.dumps(d)).is_action_permitted(action, resource) for d in documents]
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


def every_parameter(plan: Plan) -> list[str]:
    return [str(p.inputs["name"]) for p in plan.of_type("aws:ssm/parameter:Parameter")]


SSM_READS = ("ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath")


def test_no_task_can_read_another_services_parameters(ecs_plan: Plan) -> None:
    """Every role a task definition runs with, against every parameter the stack holds."""
    arn = f"arn:aws:ssm:eu-west-1:{fakes.ACCOUNT_ID}:parameter"
    master_secrets = [
        s["secretArn"]
        for db in ecs_plan.of_type("aws:rds/instance:Instance")
        for s in db.outputs["masterUserSecrets"]
    ]
    assert master_secrets and len(every_parameter(ecs_plan)) >= 30
    checked = 0
    for definition in ecs_plan.of_type(TASK_DEFINITION):
        service = definition.name.split("-ecs-")[0]
        own = naming.ssm_service_path("dev", service) + "/"
        wanted = {s["valueFrom"] for c in containers(definition) for s in c.get("secrets", [])}
        for role_key in ("executionRoleArn", "taskRoleArn"):
            if role_key not in definition.inputs:
                continue
            documents = _role_policies(ecs_plan, definition.inputs[role_key])
            for action in SSM_READS:
                readable = {
                    name
                    for name in every_parameter(ecs_plan)
                    if permitted(documents, action, arn + name)
                }
                checked += 1
                assert all(name.startswith(own) for name in readable), (definition.name, readable)
                if role_key == "executionRoleArn" and action == "ssm:GetParameters":
                    assert readable == wanted, definition.name  # exactly what its secrets name
                else:
                    assert readable == set(), (definition.name, role_key, action)
            for secret in master_secrets:
                assert not permitted(documents, "secretsmanager:GetSecretValue", secret)
            key = f"arn:aws:kms:eu-west-1:{fakes.ACCOUNT_ID}:key/any"
            assert not permitted(documents, "kms:Decrypt", key)
    # Per service three execution roles (api, redis, rabbitmq) and two task roles (api, broker).
    assert checked == len(ECS_SERVICES) * (3 + 2) * 3


def test_the_evaluator_refuses_what_a_wider_policy_would_allow(ecs_plan: Plan) -> None:
    """The check above can fail: a path wildcard would let ticketing read payments' values."""
    arn = f"arn:aws:ssm:eu-west-1:{fakes.ACCOUNT_ID}:parameter"
    wide = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": [f"{arn}/ticketing/dev/*"],
            }
        ],
    }
    assert permitted(
        [wide], "ssm:GetParameters", f"{arn}/ticketing/dev/services/payments/redis-url"
    )
    definition = of_type(ecs_plan, "ticketing-ecs-api", TASK_DEFINITION)
    own = _role_policies(ecs_plan, definition.inputs["executionRoleArn"])
    assert not permitted(
        own, "ssm:GetParameters", f"{arn}/ticketing/dev/services/payments/redis-url"
    )
    assert permitted(own, "ssm:GetParameters", f"{arn}/ticketing/dev/services/ticketing/redis-url")


def test_roles_are_assumable_by_this_accounts_ecs_tasks_only(ecs_plan: Plan) -> None:
    roles = [r for r in ecs_plan.of_type(ROLE) if "-ecs-" in r.name]
    assert len(roles) == 2 * 5
    for role in roles:
        [statement] = json.loads(reveal(role.inputs["assumeRolePolicy"]))["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": fakes.ACCOUNT_ID}


def test_only_the_broker_task_role_holds_a_permission(ecs_plan: Plan) -> None:
    task_roles = {
        d.name: d.inputs.get("taskRoleArn", "") for d in ecs_plan.of_type(TASK_DEFINITION)
    }
    assert task_roles["ticketing-ecs-redis"] == ""  # a cache calls no AWS API
    assert _role_policies(ecs_plan, task_roles["ticketing-ecs-api"]) == []
    [document] = _role_policies(ecs_plan, task_roles["ticketing-ecs-rabbitmq"])
    [statement] = document["Statement"]
    assert statement["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert statement["Resource"] == [ecs_plan.named("ticketing-ecs-rabbitmq-data").outputs["arn"]]
    access_point = ecs_plan.named("ticketing-ecs-rabbitmq-data-ap").outputs["arn"]
    assert statement["Condition"] == {
        "StringEquals": {"elasticfilesystem:AccessPointArn": access_point}
    }


# --- the shared host bootstraps their databases ---------------------------------------------


def test_the_shared_host_bootstraps_ecs_services_databases_reading_only_their_password(
    ecs_plan: Plan,
) -> None:
    [document] = under(ecs_plan, "shared-host", "aws:ssm/document:Document")
    script = "\n".join(
        json.loads(document.inputs["content"])["mainSteps"][0]["inputs"]["runCommand"]
    )
    for service in ECS_SERVICES:
        path = f"/ticketing/{{{{ Environment }}}}/services/{service}"
        assert f"SVC_{service.upper()}=$(by_names '{path}' database-password)" in script
        assert f"by_path '{path}'" not in script  # not the service's whole path
    policy = json.loads(reveal(ecs_plan.named("shared-host-access").inputs["policy"]))
    [read] = [s for s in policy["Statement"] if s["Sid"] == "ReadOwnParameters"]
    for service in ECS_SERVICES:
        path = (
            f"arn:aws:ssm:eu-west-1:{fakes.ACCOUNT_ID}:parameter/ticketing/dev/services/{service}"
        )
        assert f"{path}/database-password" in read["Resource"]
        assert f"{path}/*" not in read["Resource"]
    association = under(ecs_plan, "shared-host", "aws:ssm/association:Association")[0]
    assert association.inputs["waitForSuccessTimeoutSeconds"] == 1800
    api = of_type(ecs_plan, "ticketing-ecs-api", ECS_SERVICE)
    assert ecs_plan.named("shared-host").urn in api.depends_on


# --- bad config ------------------------------------------------------------------------------


def _cloud(**ecs: Any) -> dict[str, Any]:
    services: dict[str, Any] = {
        s.name: {"image": f"ghcr.io/acme/{s.name}:1.0.0"} for s in catalog.SERVICES
    }
    services["ticketing"].update({"host": "ecs", "ecs": ecs})
    return {
        "environment": "dev",
        "domain": "example-tickets.com",
        "cloudflare": {"zoneId": "0" * 32},
        "services": services,
        "webClients": {
            c.name: {"image": f"ghcr.io/acme/{c.name}:1.0.0"} for c in catalog.WEB_CLIENTS
        },
    }


@pytest.mark.parametrize(
    ("ecs", "line"),
    [
        (
            {"memoryMb": 3000},
            "ticketing:services.ticketing.ecs.memoryMb: a Fargate task of 256 CPU units takes "
            "512, 1024, 2048 MiB, got 3000",
        ),
        (
            {"cpu": 300},
            "ticketing:services.ticketing.ecs.cpu: Fargate task CPU must be one of 256, 512, "
            "1024, 2048, 4096, 8192, 16384, got 300",
        ),
        (
            {"cpu": 1024, "memoryMb": 1024},
            "ticketing:services.ticketing.ecs.memoryMb: a Fargate task of 1024 CPU units takes "
            "2048 to 8192 in steps of 1024 MiB, got 1024",
        ),
        (
            {"minCount": 5, "maxCount": 3},
            "ticketing:services.ticketing.ecs.minCount: must not exceed maxCount (3), got 5",
        ),
        (
            {"desiredCount": 9},
            "ticketing:services.ticketing.ecs.desiredCount: must be from minCount (2) to "
            "maxCount (6), got 9",
        ),
        (
            {"cpuTargetPercent": 95},
            "ticketing:services.ticketing.ecs.cpuTargetPercent: expected a number from 10 to 90, "
            "got 95",
        ),
    ],
)
def test_bad_ecs_config_is_one_line(ecs: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(_cloud(**ecs))
    assert str(info.value) == line


def test_a_placement_other_than_the_three_is_refused() -> None:
    raw = _cloud()
    raw["services"]["ticketing"]["host"] = "kubernetes"
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert str(info.value) == (
        "ticketing:services.ticketing.host: expected one of shared, dedicated or ecs, "
        'got "kubernetes"'
    )


# --- make plan ---------------------------------------------------------------------------------


def test_make_plan_of_a_stack_on_ecs_passes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the diagram goes to build/<stack> under the working directory
    placed = [f"--set=services.{s}.host=ecs" for s in ECS_SERVICES]
    code = main(["dev", *placed, "--set=services.ticketing.ecs.maxCount=8"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "ticketing-ecs ticketing:aws:FargateService" in out
    assert "payments-ecs-api aws:ecs/service:Service" in out
    # Priced: the tasks at their counts, and the month at the autoscaling range's ends.
    assert "Fargate vCPU, ticketing-api: 2 tasks of 0.25" in out  # the table wraps the rest
    assert "(autoscaling 2 to 8)" in out
    assert "Total, autoscaling at its minimum" in out
    assert "Total, autoscaling at its maximum" in out
    assert "0 mandatory violations" in out


def test_make_plan_refuses_bad_ecs_config_with_one_line(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(
        ["dev", "--set=services.ticketing.host=ecs", "--set=services.ticketing.ecs.cpu=100"]
    )
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        "error: ticketing:services.ticketing.ecs.cpu: Fargate task CPU must be one of 256, 512, "
        "1024, 2048, 4096, 8192, 16384, got 100"
    ]


def test_a_set_that_is_not_path_equals_value_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["dev", "--set", "services.ticketing.host"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --set services.ticketing.host: expected PATH=VALUE, as in "
        "services.ticketing.host=ecs"
    )
