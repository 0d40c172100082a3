"""Cloud side of the venue sync: one credential per venue, in SSM, exported secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.settings import ConfigError
from components.venue.sync import (
    CERTIFICATE_DAYS_METRIC,
    HEARTBEAT_METRIC,
    HEARTBEAT_MISSING_MINUTES,
    METRIC_NAMESPACE,
    OUTPUT,
    VENUE_DIMENSION,
    venue_entry,
)
from components.venue.tls import EARLY_RENEWAL_HOURS
from plan.model import Plan, Resource, Secret, reveal
from seed import naming
from tests.app_tier_helpers import services_with

PASSWORD = "random:index/randomPassword:RandomPassword"


def credentials(plan: Plan) -> list[str]:
    component = plan.named("venue-sync")
    return sorted(r.name for r in plan.children(component.urn) if r.type == PASSWORD)


def test_each_listed_venue_gets_a_generated_credential(plan_of: Callable[[str], Plan]) -> None:
    assert credentials(plan_of("dev")) == ["venue-sync-arena"]
    assert credentials(plan_of("prod")) == ["venue-sync-arena", "venue-sync-stadium"]


def test_credential_is_a_secure_string_where_the_ticketing_service_reads_it(
    dev_plan: Plan,
) -> None:
    parameter = dev_plan.named("venue-sync-arena-ssm")
    password = dev_plan.named("venue-sync-arena")
    assert parameter.inputs["type"] == "SecureString"
    ticketing = naming.ssm_service_path("dev", "ticketing")
    assert parameter.inputs["name"] == f"{ticketing}/venues/arena/sync-credential"
    assert parameter.inputs["name"] == naming.ssm_venue_credential("dev", "arena")
    assert isinstance(parameter.inputs["value"], Secret)
    assert parameter.inputs["value"].value == password.outputs["result"].value


def test_parameters_use_the_stacks_aws_provider(dev_plan: Plan) -> None:
    parameter = dev_plan.named("venue-sync-arena-ssm")
    assert parameter.provider is not None
    assert dev_plan.by_urn(parameter.provider).type == "pulumi:providers:aws"


def test_credentials_sit_under_the_component(dev_plan: Plan) -> None:
    component = dev_plan.named("venue-sync")
    assert component.type == "ticketing:venue:VenueSyncCredentials"
    assert {r.name for r in dev_plan.children(component.urn)} == {
        "venue-sync-arena",
        "venue-sync-arena-ssm",
    }


def test_export_is_secret_and_keyed_by_venue_with_the_public_sync_url(dev_plan: Plan) -> None:
    exported = dev_plan.outputs[OUTPUT]
    assert isinstance(exported, Secret)
    assert exported.value == {
        "arena": {
            "syncUrl": "https://api.example-tickets-dev.com/ticketing/sync",
            "credential": dev_plan.named("venue-sync-arena").outputs["result"].value,
        }
    }


def test_sync_url_follows_the_ticketing_path_prefix(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", services_with("ticketing", pathPrefix="/tix"))
    assert reveal(plan.outputs[OUTPUT])["arena"]["syncUrl"].endswith("/tix/sync")


def test_a_stack_without_venues_creates_no_credentials(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", {"ticketing:venues": []})
    assert credentials(plan) == []
    assert reveal(plan.outputs[OUTPUT]) == {}


ENTRY = {"syncUrl": "https://api.example.com/ticketing/sync", "credential": "c"}


def test_venue_entry_returns_the_venues_entry() -> None:
    assert venue_entry({"arena": ENTRY}, "acme/ticketing/dev", "arena") == ENTRY


def test_unserved_venue_is_one_line_naming_stack_and_venue() -> None:
    with pytest.raises(ConfigError) as error:
        venue_entry({"arena": ENTRY, "dome": ENTRY}, "acme/ticketing/dev", "stadium")
    assert str(error.value) == (
        'ticketing:venue.id: venue "stadium" is not served by cloud stack acme/ticketing/dev '
        '(its venues: arena, dome), got "stadium"'
    )


@pytest.mark.parametrize(
    ("entry", "lacking"),
    [
        ({"syncUrl": "https://api.example.com/ticketing/sync"}, "credential"),
        ({"syncUrl": "https://api.example.com/ticketing/sync", "credential": ""}, "credential"),
        ({"credential": "c"}, "syncUrl"),
        ("not an entry", "syncUrl and no credential"),
    ],
)
def test_incomplete_entry_is_one_line_saying_what_it_lacks(entry: object, lacking: str) -> None:
    with pytest.raises(ConfigError) as error:
        venue_entry({"arena": entry}, "acme/ticketing/dev", "arena")
    assert str(error.value) == (
        'ticketing:venue.cloudStack: cloud stack acme/ticketing/dev serves venue "arena" but its '
        f"venueSync entry has no {lacking} (run pulumi up on the cloud stack), "
        'got "acme/ticketing/dev"'
    )


def test_missing_output_is_one_line_naming_stack_and_venue() -> None:
    with pytest.raises(ConfigError) as error:
        venue_entry(None, "acme/ticketing/dev", "arena")
    assert str(error.value) == (
        "ticketing:venue.cloudStack: cloud stack acme/ticketing/dev has no venueSync output "
        '(deploy it with venue "arena" in ticketing:venues), got "acme/ticketing/dev"'
    )


def test_credential_is_long_and_header_safe(dev_plan: Plan) -> None:
    password = dev_plan.named("venue-sync-arena")
    assert password.inputs["length"] == 48.0
    assert password.inputs["special"] is False
    assert "result" in password.additional_secret_outputs


# --- each venue's health, alarmed in the cloud stack ------------------------------------

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def venue_alarms(plan: Plan) -> dict[str, Resource]:
    component = plan.named("app-venue-health")
    return {r.name: r for r in plan.children(component.urn) if r.type == ALARM}


def test_each_listed_venue_gets_a_heartbeat_and_a_certificate_alarm(
    plan_of: Callable[[str], Plan],
) -> None:
    assert sorted(venue_alarms(plan_of("prod"))) == [
        "app-venue-health-arena-certificate",
        "app-venue-health-arena-heartbeat",
        "app-venue-health-stadium-certificate",
        "app-venue-health-stadium-heartbeat",
    ]
    assert sorted(venue_alarms(plan_of("dev"))) == [
        "app-venue-health-arena-certificate",
        "app-venue-health-arena-heartbeat",
    ]


def test_a_silent_bastion_breaches_the_heartbeat_alarm(dev_plan: Plan) -> None:
    alarm = venue_alarms(dev_plan)["app-venue-health-arena-heartbeat"]
    i = alarm.inputs
    assert i["name"] == "ticketing-dev-venue-arena-heartbeat"
    assert (i["namespace"], i["metricName"]) == (METRIC_NAMESPACE, HEARTBEAT_METRIC)
    assert i["dimensions"] == {VENUE_DIMENSION: "arena"}
    assert (i["statistic"], i["comparisonOperator"], i["threshold"]) == (
        "Sum",
        "LessThanThreshold",
        1.0,
    )
    # No data (venue offline, Bastion down) is an alarm, after 15 minutes.
    assert i["treatMissingData"] == "breaching"
    assert i["period"] * i["evaluationPeriods"] == HEARTBEAT_MISSING_MINUTES * 60


def test_a_certificate_close_to_expiry_alarms(dev_plan: Plan) -> None:
    alarm = venue_alarms(dev_plan)["app-venue-health-arena-certificate"]
    i = alarm.inputs
    assert (i["metricName"], i["statistic"]) == (CERTIFICATE_DAYS_METRIC, "Minimum")
    assert (i["comparisonOperator"], i["threshold"]) == ("LessThanThreshold", 30.0)
    # Below the server certificate's renewal window: a deploy should have renewed it.
    assert i["threshold"] < EARLY_RENEWAL_HOURS / 24


def test_venue_alarms_notify_the_stacks_alarm_topic(dev_plan: Plan) -> None:
    topic = dev_plan.named("app-alarms-topic").outputs["arn"]
    for alarm in venue_alarms(dev_plan).values():
        assert alarm.inputs["alarmActions"] == [topic]
        assert alarm.inputs["okActions"] == [topic]


def test_a_stack_without_venues_has_no_venue_alarms(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", {"ticketing:venues": []})
    assert not [r for r in plan if r.name.startswith("app-venue-health")]


def test_the_host_running_the_sync_publishes_venue_metrics_in_their_namespace_only(
    dev_plan: Plan,
) -> None:
    def statements(policy: Resource) -> list[dict[str, Any]]:
        return json.loads(policy.inputs["policy"])["Statement"]

    policies = [r for r in dev_plan if r.type == "aws:iam/rolePolicy:RolePolicy"]
    publishing = [
        s
        for p in policies
        for s in statements(p)
        if "cloudwatch:PutMetricData" in str(s.get("Action"))
        # Every app host's CloudWatch agent (tests/test_cloudwatch_agent.py).
        and s.get("Sid") != "PublishHostMetrics"
    ]
    assert publishing == [
        {
            "Sid": "PublishVenueHeartbeats",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Ticketing/Venues"}},
        }
    ]


def test_the_bastion_is_told_where_to_send_its_heartbeat(plan_of: Callable[[str], Plan]) -> None:
    bastion = plan_of("venue-dev-arena").named("venue-arena-bastion")
    env = dict(e.split("=", 1) for e in reveal(bastion.inputs["envs"]))
    assert env["HEARTBEAT_URL"] == env["SYNC_URL"] + "/heartbeat"
    assert env["HEARTBEAT_INTERVAL_SECONDS"] == "60"
