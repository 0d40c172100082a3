"""The offline plan answers a venue stack's StackReference from its cloud stack's plan."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plan import engine, references, stack_config
from plan.model import Plan, Resource, Secret
from plan.resource_types import STACK_REFERENCE

ROOT = engine.PROJECT_DIR


def config_of(stack: str, **overrides: object) -> stack_config.StackConfig:
    return stack_config.load(ROOT, stack, dict(overrides))


def test_venue_stack_references_its_committed_cloud_stack() -> None:
    assert references.cloud_stack_of(config_of("venue-dev-arena"), ROOT) == (
        "dev",
        "example-tickets/ticketing/dev",
    )


def test_cloud_stacks_reference_nothing() -> None:
    assert references.cloud_stack_of(config_of("dev"), ROOT) is None


def test_uncommitted_cloud_stack_is_one_line() -> None:
    venue = {
        "id": "arena",
        "cloudStack": "example-tickets/ticketing/qa",
        "dockerHost": "ssh://deploy@10.20.0.5",
        "lanAddress": "10.20.0.5",
        "bastionImage": "ghcr.io/example-tickets/bastion:2.1.0",
    }
    config = config_of("venue-dev-arena", **{"ticketing:venue": venue})
    with pytest.raises(stack_config.StackConfigError) as error:
        references.cloud_stack_of(config, ROOT)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("ticketing:venue.cloudStack: the offline plan reads only committed")
    assert message.endswith('got "example-tickets/ticketing/qa"')


def test_a_venue_stack_cannot_stand_in_for_a_cloud_stack() -> None:
    venue = {"id": "arena", "cloudStack": "example-tickets/ticketing/venue-dev-arena"}
    config = config_of("venue-dev-arena", **{"ticketing:venue": venue})
    with pytest.raises(stack_config.StackConfigError, match="is a venue stack, not a cloud stack"):
        references.cloud_stack_of(config, ROOT)


def fake_plan(outputs: dict[str, object]) -> Plan:
    password = Resource(
        urn="urn:pw",
        type="random:index/randomPassword:RandomPassword",
        name="pw",
        custom=True,
        parent=None,
        provider=None,
        inputs={"length": 48.0},
        outputs={"result": Secret("s3cr3t")},
    )
    return Plan(project="ticketing", stack="dev", resources=[password], outputs=outputs)


def test_secret_material_is_masked_and_stays_secret() -> None:
    entry = {"syncUrl": "https://api.example.com/ticketing/sync", "credential": "s3cr3t"}
    read = references.reference_outputs(fake_plan({"venueSync": Secret({"arena": entry})}))
    assert isinstance(read["venueSync"], Secret)
    assert read["venueSync"].value == {
        "arena": {
            "syncUrl": "https://api.example.com/ticketing/sync",
            "credential": stack_config.SECRET_PLACEHOLDER,
        }
    }


def test_plain_outputs_pass_through() -> None:
    read = references.reference_outputs(fake_plan({"vpcId": "vpc-1", "venues": ["arena"]}))
    assert read == {"vpcId": "vpc-1", "venues": ["arena"]}


def test_answer_serves_only_the_named_stack() -> None:
    read = references.answer("acme/ticketing/dev", fake_plan({"vpcId": "vpc-1"}))
    assert read("acme/ticketing/dev") == {"vpcId": "vpc-1"}
    assert read("acme/ticketing/prod") == {}


def test_capture_reads_the_cloud_plan_before_the_venue_plan(
    plan_of: Callable[[str], Plan], capture: Callable[..., Plan]
) -> None:
    asked: list[str] = []

    def cloud_plan(stack: str) -> Plan:
        asked.append(stack)
        return plan_of(stack)  # the session's cached capture

    plan = capture("venue-dev-arena", plan_of=cloud_plan)
    assert asked == ["dev"]
    assert plan.stack == "venue-dev-arena"
    [reference] = plan.of_type(STACK_REFERENCE)
    assert reference.outputs["outputs"]["vpcId"] == plan_of("dev").outputs["vpcId"]
