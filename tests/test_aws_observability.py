"""Alarm topic, platform alarms and the dashboard."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any, cast

import pytest

from components.aws.observability import (
    alarm_key_policy,
    alarm_topic_policy,
    deploy_failure_pattern,
)
from components.settings import rds_classes
from plan import fakes
from plan.model import Plan
from plan.resource_types import (
    DASHBOARD,
    KMS_KEY,
    METRIC_ALARM,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    SNS_TOPIC,
)
from tests.app_tier_helpers import app_hosts, services_with, under

EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}
EVENTS = {"Service": "events.amazonaws.com"}


def platform_alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {a.name: dict(a.inputs) for a in under(plan, "app-observability", METRIC_ALARM)}


def test_topic_is_encrypted_and_mails_the_configured_addresses(dev_plan: Plan) -> None:
    [topic] = dev_plan.of_type(SNS_TOPIC)
    [key] = under(dev_plan, "app-alarms", KMS_KEY)
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert not topic.inputs["kmsMasterKeyId"].startswith("alias/aws/")
    [subscription] = dev_plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "platform-dev@tickets.example.com",
    )


def test_topic_key_rotates_and_names_itself(dev_plan: Plan) -> None:
    [key] = under(dev_plan, "app-alarms", KMS_KEY)
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["description"].startswith("ticketing-dev alarm topic")
    assert 7 <= key.inputs["deletionWindowInDays"] <= 30
    [alias] = under(dev_plan, "app-alarms", "aws:kms/alias:Alias")
    assert alias.inputs == {"name": "alias/ticketing-dev-alarms", "targetKeyId": key.outputs["arn"]}


def statements(document: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


def test_cloudwatch_and_eventbridge_may_use_the_topic_key_and_the_account_administers_it(
    dev_plan: Plan,
) -> None:
    [key] = under(dev_plan, "app-alarms", KMS_KEY)
    granted = statements(key.inputs["policy"])
    assert len(granted) == 3 and all(s["Effect"] == "Allow" for s in granted.values())
    for service in (CLOUDWATCH, EVENTS):
        [encrypts] = [s for s in granted.values() if s["Principal"] == service]
        assert sorted(encrypts["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    [account] = [s for s in granted.values() if s["Principal"] not in (CLOUDWATCH, EVENTS)]
    assert account["Principal"] == {"AWS": f"arn:aws:iam::{fakes.ACCOUNT_ID}:root"}
    assert account["Action"] == "kms:*"


def test_only_this_accounts_alarms_and_environments_rules_may_publish(dev_plan: Plan) -> None:
    [topic] = dev_plan.of_type(SNS_TOPIC)
    [policy] = dev_plan.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == topic.outputs["arn"]
    alarms, events = statements(policy.inputs["policy"]).values()
    for statement in (alarms, events):
        assert statement["Effect"] == "Allow"
        assert (statement["Action"], statement["Resource"]) == ("sns:Publish", topic.outputs["arn"])
    assert alarms["Principal"] == CLOUDWATCH
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": fakes.ACCOUNT_ID}}
    assert events["Principal"] == EVENTS
    rules = f"arn:aws:events:*:{fakes.ACCOUNT_ID}:rule/ticketing-dev-*"
    assert events["Condition"] == {"ArnLike": {"aws:SourceArn": rules}}
    # The deploy-failure rule's real ARN (the fake cloud's ARNs are not EventBridge's shape).
    [rule] = dev_plan.of_type(EVENT_RULE)
    arn = f"arn:aws:events:eu-west-1:{fakes.ACCOUNT_ID}:rule/{rule.inputs['name']}"
    assert fnmatch.fnmatchcase(arn, rules)


def test_topic_and_key_policies_name_the_account_they_are_given() -> None:
    key = statements(alarm_key_policy("210987654321"))
    assert {"AWS": "arn:aws:iam::210987654321:root"} in [s["Principal"] for s in key.values()]
    topic, events = statements(alarm_topic_policy("arn:aws:sns:eu-west-1:2:t", "2", "p-x")).values()
    assert topic["Resource"] == events["Resource"] == "arn:aws:sns:eu-west-1:2:t"
    assert topic["Condition"]["StringEquals"]["aws:SourceAccount"] == "2"
    assert events["Condition"]["ArnLike"]["aws:SourceArn"] == "arn:aws:events:*:2:rule/p-x-*"


def test_every_alarm_notifies_the_topic(dev_plan: Plan) -> None:
    [topic] = dev_plan.of_type(SNS_TOPIC)
    assert all(
        topic.outputs["arn"] in a.inputs["alarmActions"] for a in dev_plan.of_type(METRIC_ALARM)
    )


def test_alb_rds_and_host_metrics_are_watched(dev_plan: Plan) -> None:
    metrics = {(a["namespace"], a["metricName"]) for a in platform_alarms(dev_plan).values()}
    assert metrics == {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "FreeableMemory"),
        ("AWS/EC2", "StatusCheckFailed_System"),
        ("AWS/EC2", "StatusCheckFailed_Instance"),
        ("AWS/EC2", "CPUUtilization"),
        ("AWS/EC2", "CPUSurplusCreditBalance"),  # dev's t3.medium is burstable
        # Disk and memory through the host's CloudWatch agent (tests/test_cloudwatch_agent.py).
        ("Ticketing/Hosts", "disk_used_percent"),
        ("Ticketing/Hosts", "mem_used_percent"),
    }


def test_error_counts_treat_a_quiet_period_as_ok(dev_plan: Plan) -> None:
    # No 5xx in a period publishes no datapoint at all; gauges keep "missing".
    by_metric = {a["metricName"]: a for a in platform_alarms(dev_plan).values()}
    assert by_metric["HTTPCode_ELB_5XX_Count"]["treatMissingData"] == "notBreaching"
    assert by_metric["FreeStorageSpace"]["treatMissingData"] == "missing"


def test_system_check_failure_recovers_the_instance(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    [alarm] = [
        a
        for name, a in platform_alarms(dev_plan).items()
        if a["metricName"] == "StatusCheckFailed_System" and "-host-" in name
    ]
    assert alarm["dimensions"] == {"InstanceId": vm.id}
    assert "arn:aws:automate:eu-west-1:ec2:recover" in alarm["alarmActions"]


def test_free_storage_threshold_follows_allocated_storage(prod_plan: Plan) -> None:
    [alarm] = [
        a for a in platform_alarms(prod_plan).values() if a["metricName"] == "FreeStorageSpace"
    ]
    assert alarm["threshold"] == 100 * 1024**3 * 0.1  # 10% of Pulumi.prod.yaml's 100 GiB
    assert alarm["comparisonOperator"] == "LessThanThreshold"


def test_each_dedicated_instance_and_host_gets_its_alarms(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", services_with("identity", database="dedicated", host="dedicated"))
    alarms = platform_alarms(plan)
    rds = {
        a["dimensions"]["DBInstanceIdentifier"]
        for a in alarms.values()
        if a["namespace"] == "AWS/RDS"
    }
    ec2 = {
        a["dimensions"]["InstanceId"]
        for name, a in alarms.items()
        if a["namespace"] == "AWS/EC2" and "-host-" in name
    }
    assert rds == {r.inputs["identifier"] for r in plan.of_type(RDS_INSTANCE)} and len(rds) == 2
    assert ec2 == {r.id for r in app_hosts(plan)} and len(ec2) == 2


def test_dashboard_shows_alb_rds_and_host_metrics(plan_of: Callable[[str], Plan]) -> None:
    [dashboard] = plan_of("staging").of_type(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    metrics = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert {"HTTPCode_ELB_5XX_Count", "CPUUtilization", "FreeStorageSpace"} <= metrics
    assert {"DatabaseConnections", "StatusCheckFailed", "TargetResponseTime"} <= metrics


def test_dev_has_no_dashboard_unless_it_asks_and_keeps_every_alarm(
    dev_plan: Plan, capture: Callable[..., Plan]
) -> None:
    assert dev_plan.of_type(DASHBOARD) == []
    with_it = capture("dev", {"ticketing:observability": {"dashboard": True}})
    [dashboard] = with_it.of_type(DASHBOARD)
    assert dashboard.inputs["dashboardName"] == "ticketing-dev"
    alarms = "aws:cloudwatch/metricAlarm:MetricAlarm"
    assert {r.urn for r in with_it.of_type(alarms)} == {r.urn for r in dev_plan.of_type(alarms)}


def test_connection_limits_follow_the_documented_formula_over_the_class_memory() -> None:
    """AWS's default, LEAST({DBInstanceClassMemory/9531392},5000) (RDS User Guide, "Maximum
    number of database connections"; AWS Prescriptive Guidance, "max_connections"), over each
    class's published memory (RDS User Guide, "Hardware specifications for DB instance
    classes")."""
    assert dict(rds_classes.CONNECTION_LIMITS) == {
        "db.t4g.micro": 112,
        "db.t4g.small": 225,
        "db.t4g.medium": 450,
        "db.t4g.large": 901,
        "db.t4g.xlarge": 1802,
        "db.m6g.large": 901,
        "db.m6g.xlarge": 1802,
    }
    assert rds_classes.connection_limit(512) == 5000  # the cap


def test_connections_alarm_fires_below_the_limit_the_parameter_group_sets(
    plan_of: Callable[[str], Plan],
) -> None:
    for stack, limit in (("dev", 112), ("prod", 901)):  # db.t4g.micro, db.m6g.large
        plan = plan_of(stack)
        [group] = plan.of_type(RDS_PARAMETER_GROUP)
        params = {p["name"]: p["value"] for p in group.inputs["parameters"]}
        assert int(params["max_connections"]) == limit
        [alarm] = [
            a for a in platform_alarms(plan).values() if a["metricName"] == "DatabaseConnections"
        ]
        assert alarm["threshold"] == int(limit * 0.8) < limit
        assert (alarm["statistic"], alarm["comparisonOperator"]) == (
            "Maximum",
            "GreaterThanThreshold",
        )
        assert str(limit) in alarm["alarmDescription"]


def test_the_nat_instance_recovers_from_hardware_faults_and_reboots_from_its_own(
    dev_plan: Plan, plan_of: Callable[[str], Plan]
) -> None:
    [nat] = [
        i for i in dev_plan.of_type("aws:ec2/instance:Instance") if i not in app_hosts(dev_plan)
    ]
    [topic] = dev_plan.of_type(SNS_TOPIC)
    alarms = platform_alarms(dev_plan)
    system = alarms["app-observability-nat-system-check"]
    instance = alarms["app-observability-nat-instance-check"]
    for alarm in (system, instance):
        assert alarm["dimensions"] == {"InstanceId": nat.id}
        assert alarm["namespace"] == "AWS/EC2" and alarm["statistic"] == "Maximum"
        assert (alarm["threshold"], alarm["comparisonOperator"]) == (0, "GreaterThanThreshold")
        assert topic.outputs["arn"] in alarm["alarmActions"]
        assert alarm["okActions"] == [topic.outputs["arn"]]
    assert system["metricName"] == "StatusCheckFailed_System"
    assert "arn:aws:automate:eu-west-1:ec2:recover" in system["alarmActions"]
    assert instance["metricName"] == "StatusCheckFailed_Instance"
    assert "arn:aws:automate:eu-west-1:ec2:reboot" in instance["alarmActions"]
    # Gateways need no instance alarms: staging has no NAT instance to watch.
    assert not [n for n in platform_alarms(plan_of("staging")) if "-nat-" in n]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_failed_run_on_any_app_host_notifies_the_alarm_topic(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    plan = plan_of(stack)
    [rule] = plan.of_type(EVENT_RULE)
    [target] = plan.of_type(EVENT_TARGET)
    [topic] = plan.of_type(SNS_TOPIC)
    assert rule.inputs["name"] == f"ticketing-{stack}-deploy-failed"
    assert (target.inputs["rule"], target.inputs["arn"]) == (
        rule.outputs["name"],
        topic.outputs["arn"],
    )
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["instance-id"] == sorted(vm.id for vm in app_hosts(plan))


# The instance event SSM sends, as AWS's "EventBridge event examples for Systems Manager"
# shows it (State Manager: EC2 State Manager Instance Association State Change).
def association_event(instance: str, status: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 State Manager Instance Association State Change",
        "source": "aws.ssm",
        "account": "123456789012",
        "time": "2026-12-03T15:23:48Z",
        "region": "eu-west-1",
        "resources": [f"arn:aws:ec2:eu-west-1:123456789012:instance/{instance}"],
        "detail": {
            "association-id": "34fcb7e0-9a14-4984-9989-0e04e3f60bd8",
            "instance-id": instance,
            "document-name": "shared-host-apply-0123456789abcdef0",
            "document-version": "1",
            "status": status,
            "detailed-status": "",
            "error-code": "1",
            "execution-summary": "1 out of 1 plugin processed, 0 success, 1 failed",
        },
    }


@pytest.mark.real_engine
def test_eventbridge_takes_the_pattern_and_matches_a_failed_run_only() -> None:
    """moto's EventBridge accepts the rendered pattern (PutRule validates it) and its
    pattern matcher selects the failed and timed-out runs of these hosts, nothing else."""
    import boto3
    from moto import mock_aws
    from moto.events.models import EventPattern

    pattern = deploy_failure_pattern(["i-0bb", "i-0aa"])
    with mock_aws():
        events = boto3.client("events", region_name="eu-west-1")
        events.put_rule(Name="ticketing-dev-deploy-failed", EventPattern=pattern)
        stored = events.describe_rule(Name="ticketing-dev-deploy-failed")["EventPattern"]
    matcher = EventPattern.load(stored)

    def matches(event: dict[str, Any]) -> bool:
        return matcher.matches_event(cast(Any, event))  # moto types its events as a TypedDict

    assert matches(association_event("i-0aa", "Failed"))
    assert matches(association_event("i-0bb", "TimedOut"))
    assert not matches(association_event("i-0aa", "Success"))
    assert not matches(association_event("i-0aa", "Pending"))
    assert not matches(association_event("i-0cc", "Failed"))  # another stack's host


def test_only_a_burstable_host_is_watched_for_surplus_credits(
    plan_of: Callable[[str], Plan],
) -> None:
    """EC2 publishes CPUSurplusCreditBalance for T instances in unlimited mode (T3's
    default) every 5 minutes: more than zero for 15 minutes is load above the baseline."""
    [surplus] = [
        a
        for a in platform_alarms(plan_of("dev")).values()
        if a["metricName"] == "CPUSurplusCreditBalance"
    ]
    assert (surplus["threshold"], surplus["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert (surplus["period"], surplus["evaluationPeriods"], surplus["statistic"]) == (
        300,
        3,
        "Maximum",
    )
    assert surplus["treatMissingData"] == "notBreaching"
    assert "t3.medium" in surplus["alarmDescription"]
    prod = platform_alarms(plan_of("prod")).values()  # m6i.large: no credits
    assert not [a for a in prod if a["metricName"] == "CPUSurplusCreditBalance"]


def test_freeable_memory_alarms_below_a_tenth_of_the_class_memory(
    plan_of: Callable[[str], Plan],
) -> None:
    for stack, gib in (("dev", 1), ("prod", 8)):  # db.t4g.micro, db.m6g.large
        [memory] = [
            a
            for a in platform_alarms(plan_of(stack)).values()
            if a["metricName"] == "FreeableMemory"
        ]
        assert memory["threshold"] == gib * 1024**3 * 0.1
        assert memory["comparisonOperator"] == "LessThanThreshold"
