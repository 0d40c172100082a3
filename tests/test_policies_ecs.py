"""ECS rules on engine-shaped inputs: one compliant and one violating case each, plus unknowns;
the store-isolation rule on the ECS test stack, as captured and with a stranger let in."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from plan import policy
from plan.model import Plan
from policies.rules import ecs
from seed import naming
from tests.policy_helpers import UNKNOWN, StackResource, run_resource_rule, run_stack_rule

API: dict[str, Any] = {
    "name": "ticketing",
    "image": "ghcr.io/example-tickets/ticketing-api:1.8.2",
    "user": "10001:10001",
    "readonlyRootFilesystem": True,
    "logConfiguration": {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/ticketing/dev/ticketing",
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "ecs",
        },
    },
    "secrets": [{"name": "DATABASE_URL", "valueFrom": "/ticketing/dev/services/ticketing/x"}],
    "environment": [{"name": "LOG_LEVEL", "value": "info"}],
}


def definition(**changes: Any) -> dict[str, Any]:
    container = {**API, **changes}
    container = {k: v for k, v in container.items() if v is not None}
    return {
        "family": "ticketing-dev-ticketing-api",
        "containerDefinitions": json.dumps([container]),
    }


def run(rule: str, inputs: dict[str, Any], type_: str = ecs.TASK_DEFINITION) -> Any:
    return run_resource_rule(rule, type_, inputs)


# --- task definitions ---------------------------------------------------------------------


def test_read_only_root() -> None:
    assert run("ecs-read-only-root", definition()).clean
    bad = run("ecs-read-only-root", definition(readonlyRootFilesystem=False))
    assert bad.mentions("ticketing has a writable root filesystem")
    labelled = definition(
        readonlyRootFilesystem=False,
        dockerLabels={naming.WRITABLE_ROOT_LABEL: "the broker writes /etc/rabbitmq"},
    )
    assert run("ecs-read-only-root", labelled).clean
    empty = definition(readonlyRootFilesystem=None, dockerLabels={naming.WRITABLE_ROOT_LABEL: ""})
    assert run("ecs-read-only-root", empty).mentions("writable root filesystem")


def test_logs_configured() -> None:
    assert run("ecs-logs-configured", definition()).clean
    assert run("ecs-logs-configured", definition(logConfiguration=None)).mentions(
        "ships no logs to CloudWatch (logDriver is unset)"
    )
    local = definition(logConfiguration={"logDriver": "json-file"})
    assert run("ecs-logs-configured", local).mentions("logDriver is json-file")
    no_prefix = definition(
        logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}}
    )
    assert run("ecs-logs-configured", no_prefix).messages == [
        "ticketing's awslogs configuration lacks awslogs-region, awslogs-stream-prefix."
    ]


@pytest.mark.parametrize("user", ["root", "0", "0:0", "root:root", " 0:1000"])
def test_root_users_are_refused(user: str) -> None:
    assert run("ecs-non-root-user", definition(user=user)).mentions("runs as root")


@pytest.mark.parametrize("user", ["10001:10001", "redis", "100:101", "1000"])
def test_unprivileged_users_pass(user: str) -> None:
    assert run("ecs-non-root-user", definition(user=user)).clean


def test_no_user_is_the_images_and_refused() -> None:
    assert run("ecs-non-root-user", definition(user=None)).mentions("no user is set")


@pytest.mark.parametrize(
    ("variable", "why"),
    [
        ({"name": "DATABASE_PASSWORD", "value": "hunter2"}, "its name ends in 'DATABASE_PASSWORD'"),
        ({"name": "API_TOKEN", "value": "x"}, "API_TOKEN"),
        (
            {"name": "DATABASE_URL", "value": "postgresql://app:pw@db:5432/app"},
            "embeds a password in a URL",
        ),
    ],
)
def test_credentials_in_plain_environment_are_refused(variable: dict[str, str], why: str) -> None:
    outcome = run("ecs-secrets-not-in-environment", definition(environment=[variable]))
    assert outcome.mentions(f"gets {variable['name']} as a plain environment value")
    assert outcome.mentions(why)


def test_secrets_and_harmless_environment_pass() -> None:
    assert run("ecs-secrets-not-in-environment", definition()).clean


def test_unknown_container_definitions_are_not_applicable() -> None:
    outcome = run("ecs-non-root-user", {"containerDefinitions": UNKNOWN})
    assert outcome.violations == []
    assert outcome.not_applicable is not None and "containerDefinitions" in outcome.not_applicable


# --- services -------------------------------------------------------------------------------

SERVICE: dict[str, Any] = {
    "name": "ticketing-api",
    "launchType": "FARGATE",
    "networkConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]},
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
}


def test_no_public_ip() -> None:
    assert run("ecs-no-public-ip", SERVICE, ecs.ECS_SERVICE).clean
    public = {
        **SERVICE,
        "networkConfiguration": {**SERVICE["networkConfiguration"], "assignPublicIp": True},
    }
    assert run("ecs-no-public-ip", public, ecs.ECS_SERVICE).mentions("assignPublicIp is true")
    unset = {k: v for k, v in SERVICE.items() if k != "networkConfiguration"}
    assert run("ecs-no-public-ip", unset, ecs.ECS_SERVICE).mentions(
        "networkConfiguration is not set"
    )
    unknown = {**SERVICE, "networkConfiguration": UNKNOWN}
    assert run("ecs-no-public-ip", unknown, ecs.ECS_SERVICE).not_applicable is not None


def test_deploys_roll_back() -> None:
    assert run("ecs-deploy-rollback", SERVICE, ecs.ECS_SERVICE).clean
    off = {**SERVICE, "deploymentCircuitBreaker": {"enable": True, "rollback": False}}
    assert run("ecs-deploy-rollback", off, ecs.ECS_SERVICE).mentions("circuit breaker")


# --- a service's stores admit its API tasks only ----------------------------------------------


def stack(store_source: str = "sg-api") -> list[StackResource]:
    def task(name: str, container: str) -> StackResource:
        return StackResource(
            ecs.TASK_DEFINITION,
            f"{name}-task",
            {"arn": f"arn:td/{name}", "containerDefinitions": json.dumps([{"name": container}])},
        )

    def service(name: str, group: str) -> StackResource:
        return StackResource(
            ecs.ECS_SERVICE,
            name,
            {
                "taskDefinition": f"arn:td/{name}",
                "networkConfiguration": {"securityGroups": [group]},
            },
        )

    rule = {
        "securityGroupId": "sg-redis",
        "referencedSecurityGroupId": store_source,
        "ipProtocol": "tcp",
        "fromPort": 6379,
        "toPort": 6379,
    }
    return [
        task("ticketing-api", "ticketing"),
        task("ticketing-redis", "ticketing-redis"),
        task("payments-api", "payments"),
        service("ticketing-api", "sg-api"),
        service("ticketing-redis", "sg-redis"),
        service("payments-api", "sg-payments"),
        StackResource(ecs.INGRESS_RULE, "redis-from-api", rule),
    ]


def test_a_store_admitting_its_own_api_only_passes() -> None:
    assert run_stack_rule("ecs-store-isolation", stack()).clean


def test_a_store_admitting_another_services_tasks_fails() -> None:
    outcome = run_stack_rule("ecs-store-isolation", stack("sg-payments"))
    assert outcome.messages == [
        "ticketing-redis (ticketing's store) admits sg-payments through redis-from-api; only "
        "ticketing's API tasks may reach it."
    ]


def test_a_store_admitting_a_cidr_fails() -> None:
    resources = stack()
    rule = dataclasses.replace(
        resources[-1],
        outputs={"securityGroupId": "sg-redis", "cidrIpv4": "10.40.0.0/16", "ipProtocol": "tcp"},
    )
    outcome = run_stack_rule("ecs-store-isolation", [*resources[:-1], rule])
    assert outcome.mentions("admits 10.40.0.0/16")


def test_stacks_without_ecs_services_are_not_applicable() -> None:
    assert (
        run_stack_rule("ecs-store-isolation", []).not_applicable == "no ECS services in this stack"
    )


# --- on the ECS test stack ---------------------------------------------------------------------


def test_the_ecs_test_stack_passes_the_whole_pack(ecs_plan: Plan) -> None:
    report = policy.evaluate(ecs_plan, None, stack_config=ecs_plan.config)
    assert [v.message for v in report.mandatory_violations] == []
    assert [v.message for v in report.violations if v.rule.startswith("ecs-")] == []
    ran = {n.rule for n in report.not_applicable}
    assert not {"ecs-store-isolation", "ecs-non-root-user"} & ran


def test_the_pack_catches_payments_tasks_let_into_ticketings_redis(ecs_plan: Plan) -> None:
    payments_api = ecs_plan.named("payments-ecs-api-sg").id
    honest = ecs_plan.named("ticketing-ecs-redis-from-api")
    stranger = dataclasses.replace(
        honest,
        urn=honest.urn.replace("ticketing-ecs-redis-from-api", "ticketing-ecs-redis-from-payments"),
        name="ticketing-ecs-redis-from-payments",
        inputs={**honest.inputs, "referencedSecurityGroupId": payments_api},
        outputs={**honest.outputs, "referencedSecurityGroupId": payments_api},
    )
    tampered = dataclasses.replace(ecs_plan, resources=[*ecs_plan.resources, stranger])
    report = policy.evaluate(tampered, None, stack_config=ecs_plan.config)
    [violation] = [v for v in report.mandatory_violations if v.rule == "ecs-store-isolation"]
    assert violation.resource_name == "ticketing-ecs-redis-from-payments"
    assert payments_api in violation.message
