"""The plan refuses what the AWS API would refuse: botocore's models and documented rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plan import constraints
from plan.__main__ import main
from plan.model import Plan, Resource, Secret
from tests.conftest import committed_stacks


def resource(type_: str, logical: str, **inputs: Any) -> Resource:
    return Resource(
        urn=f"urn:pulumi:test::ticketing::{type_}::{logical}",
        type=type_,
        name=logical,
        custom=True,
        parent=None,
        provider=None,
        inputs=inputs,
        outputs={},
    )


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
