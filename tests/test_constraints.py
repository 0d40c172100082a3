"""The plan refuses what the AWS API would refuse: botocore's models and documented rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.settings.fargate import FARGATE_SIZES_SOURCE
from plan import constraints
from plan.__main__ import main
from plan.model import Plan, Resource, Secret
from tests import factories
from tests.conftest import committed_stacks


def resource(type_: str, logical: str, **inputs: Any) -> Resource:
    return factories.resource(type_, logical, stack="test", **inputs)


@pytest.mark.parametrize("stack", committed_stacks())
def test_committed_stacks_pass(stack: str, plan_of: Callable[[str], Plan]) -> None:
    assert [v.line() for v in constraints.check(plan_of(stack).resources)] == []


def test_every_mapping_row_names_a_real_api_parameter() -> None:
    for row in constraints.MODELLED:
        constraints.member_shape(row)  # KeyError on a misspelt operation or member


def test_a_misspelt_member_is_found() -> None:
    row = constraints.Mapped("t", "p", "elbv2", "CreateTargetGroup", "Nmae")
    with pytest.raises(KeyError):
        constraints.member_shape(row)


def test_an_apostrophe_in_a_security_group_description_is_one_line() -> None:
    group = resource(
        "aws:ec2/securityGroup:SecurityGroup", "web", description="Cloudflare's ranges"
    )
    [violation] = constraints.check([group])
    assert violation.line() == (
        'aws:ec2/securityGroup:SecurityGroup web: description "Cloudflare\'s ranges" may hold '
        "only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$* (at most 255) "
        f"({constraints._EC2_SG_DOCS})"  # pyright: ignore[reportPrivateUsage]
    )


def test_rule_descriptions_are_held_to_the_same_characters() -> None:
    rule = resource(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "in", description="a's"
    )
    default = resource(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "d", ingress=[{"description": "é"}]
    )
    assert [v.property for v in constraints.check([rule, default])] == [
        "description",
        "ingress[].description",
    ]


def test_an_over_long_target_group_name_fails() -> None:
    group = resource("aws:lb/targetGroup:TargetGroup", "tg", name="t" * 33, port=80.0)
    [violation] = constraints.check([group])
    assert violation.property == "name"
    assert "1-32 alphanumerics or hyphens" in violation.rule


def test_an_unknown_enum_value_fails_with_botocores_values() -> None:
    alarm = resource("aws:cloudwatch/metricAlarm:MetricAlarm", "cpu", statistic="Mean")
    [violation] = constraints.check([alarm])
    assert violation.line().startswith(
        'aws:cloudwatch/metricAlarm:MetricAlarm cpu: statistic "Mean" must be one of SampleCount'
    )
    assert violation.source == "botocore cloudwatch PutMetricAlarm Statistic"


def test_ranges_patterns_and_lengths_come_from_the_models() -> None:
    rule = resource("aws:lb/listenerRule:ListenerRule", "r", priority=50001.0)
    role = resource("aws:iam/role:Role", "role", name="has space")
    log = resource("aws:cloudwatch/logGroup:LogGroup", "l", retentionInDays=42.0)
    rules = {v.name: v.rule for v in constraints.check([rule, role, log])}
    assert rules["r"] == "must be at most 50000"
    assert rules["role"].startswith("must match ")
    assert rules["l"].startswith("must be one of 1, 3, 5, 7")


def test_a_secret_is_checked_but_never_shown() -> None:
    parameter = resource("aws:ssm/parameter:Parameter", "p", value=Secret("x" * 5000))
    [violation] = constraints.check([parameter])
    assert violation.value == constraints.SECRET_SHOWN
    assert "xxxx" not in violation.line()


def test_unknown_values_and_other_providers_are_left_alone() -> None:
    unset = resource("aws:ec2/securityGroup:SecurityGroup", "sg", description=None)
    other = resource("cloudflare:index/ruleset:Ruleset", "rs", description="it's fine here")
    assert constraints.check([unset, other]) == []


def test_cli_exits_2_listing_each_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = """
import pulumi_aws as aws

aws.ec2.SecurityGroup("web", description="the VPC's web tier")
aws.lb.TargetGroup("tg", name="a-target-group-name-longer-than-32", port=80, protocol="HTTP")
"""
    (tmp_path / "Pulumi.yaml").write_text("name: probe\nruntime: python\n")
    (tmp_path / "Pulumi.test.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(program)
    code = main(["test", "--project-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        'error: aws:ec2/securityGroup:SecurityGroup web: description "the VPC'
    )
    assert lines[1].startswith("error: aws:lb/targetGroup:TargetGroup tg: name ")


# --- ECS on Fargate -----------------------------------------------------------------------

_TASK = "aws:ecs/taskDefinition:TaskDefinition"
_CONTAINER: dict[str, Any] = {
    "name": "ticketing",
    "image": "ghcr.io/example-tickets/ticketing-api:1.8.2",
    "essential": True,
    "user": "10001:10001",
    "readonlyRootFilesystem": True,
    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
    "secrets": [{"name": "DATABASE_URL", "valueFrom": "/ticketing/dev/services/ticketing/x"}],
    "healthCheck": {"command": ["CMD", "true"], "interval": 15, "timeout": 5, "retries": 5},
    "linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["rw"]}]},
    "logConfiguration": {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "g",
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "ecs",
        },
    },
}


def task(container: dict[str, Any] | None = None, **inputs: Any) -> Resource:
    fields: dict[str, Any] = {
        "family": "ticketing-dev-ticketing-api",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": json.dumps([container or _CONTAINER]),
    }
    fields.update(inputs)
    return resource(_TASK, "api", **fields)


def test_the_ecs_test_stack_passes(ecs_plan: Plan) -> None:
    assert [v.line() for v in constraints.check(ecs_plan.resources)] == []
    checked = {r.type for r in ecs_plan.resources} & {
        row.type for row in (*constraints.MODELLED, *constraints.MODELLED_DOCUMENTS)
    }
    assert {_TASK, "aws:ecs/service:Service", "aws:appautoscaling/policy:Policy"} <= checked


def test_every_document_row_names_a_real_api_parameter() -> None:
    for row in constraints.MODELLED_DOCUMENTS:
        shape = constraints._operation_input(row.service, row.operation)  # pyright: ignore[reportPrivateUsage]
        assert row.member in shape.members


def test_a_good_container_definition_passes() -> None:
    assert constraints.check([task()]) == []


def test_a_misspelt_container_member_is_refused_by_the_ecs_model() -> None:
    container = {**_CONTAINER, "readOnlyRootFilesystem": True}
    del container["readonlyRootFilesystem"]
    [violation] = constraints.check([task(container)])
    assert violation.property == "containerDefinitions[0].readOnlyRootFilesystem"
    assert violation.rule.startswith("is not a member of ContainerDefinition (name, image,")
    assert violation.source == "botocore ecs RegisterTaskDefinition containerDefinitions"


def test_container_types_required_members_and_enums_come_from_the_model() -> None:
    container = {
        **_CONTAINER,
        "essential": "yes",
        "secrets": [{"name": "X"}],
        "logConfiguration": {"logDriver": "cloudwatch"},
    }
    found = {v.property: v.rule for v in constraints.check([task(container)])}
    assert found["containerDefinitions[0].essential"] == "must be true or false"
    assert found["containerDefinitions[0].secrets[0].valueFrom"] == "is required by Secret"
    assert found["containerDefinitions[0].logConfiguration.logDriver"].startswith(
        "must be one of json-file, syslog"
    )


def test_a_container_definitions_document_that_is_not_json_is_refused() -> None:
    [violation] = constraints.check([task(containerDefinitions="[{'name': 'x'}]")])
    assert violation.rule == "is not a JSON document"


@pytest.mark.parametrize(
    ("check", "rule"),
    [
        ({"interval": 2}, "must be from 5 to 300"),
        ({"timeout": 61}, "must be from 2 to 60"),
        ({"retries": 11}, "must be from 1 to 10"),
        ({"startPeriod": 301}, "must be from 0 to 300"),
    ],
)
def test_health_check_timings_follow_the_ecs_documentation(
    check: dict[str, int], rule: str
) -> None:
    container = {**_CONTAINER, "healthCheck": {**_CONTAINER["healthCheck"], **check}}
    [violation] = constraints.check([task(container)])
    assert violation.rule == rule
    assert violation.property == f"containerDefinitions[].healthCheck.{next(iter(check))}"


def test_a_task_size_fargate_refuses_is_one_line() -> None:
    [violation] = constraints.check([task(memory="4096")])
    assert violation.line() == (
        f'{_TASK} api: cpu, memory cpu "256", memory "4096" a Fargate task of 256 CPU units '
        f"takes 512, 1024, 2048 MiB ({FARGATE_SIZES_SOURCE})"
    )
    assert constraints.check([task(memory="4096", requiresCompatibilities=["EC2"])]) == []


def test_fargate_awslogs_needs_a_stream_prefix_and_tmpfs_known_options() -> None:
    logs = {"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "r"}}
    tmpfs = {"tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["noatime2"]}]}
    container = {**_CONTAINER, "logConfiguration": logs, "linuxParameters": tmpfs}
    rules = [v.rule for v in constraints.check([task(container)])]
    assert "container ticketing logs to awslogs without a stream prefix" in rules
    assert any(r.startswith("must be one of async, atime, bind") for r in rules)


def test_ecs_names_and_autoscaling_values_are_checked() -> None:
    service = resource("aws:ecs/service:Service", "svc", name="ticketing api", launchType="SPOT")
    policy = resource(
        "aws:appautoscaling/policy:Policy",
        "p",
        policyType="TargetTracking",
        targetTrackingScalingPolicyConfiguration={
            "predefinedMetricSpecification": {"predefinedMetricType": "ALBRequestCount"}
        },
    )
    found = {(v.name, v.property): v.rule for v in constraints.check([service, policy])}
    assert found[("svc", "name")].startswith("may hold only letters, digits, hyphens")
    assert found[("svc", "launchType")].startswith("must be one of EC2, FARGATE")
    assert found[("p", "policyType")].startswith("must be one of StepScaling")
    key = (
        "p",
        "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType",
    )
    assert "ALBRequestCountPerTarget" in found[key]
