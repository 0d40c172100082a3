"""The offline plan answers a venue stack's StackReference from its cloud stack's plan, under
the naming rules of the backend the stack runs on (Pulumi Cloud or self-managed)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plan import engine, references, stack_config
from plan.__main__ import main
from plan.backends import DIY_ORGANIZATION, Backend, BackendError
from plan.model import Plan, Resource, Secret
from plan.resource_types import STACK_REFERENCE

ROOT = engine.PROJECT_DIR
CLOUD = Backend.of("https://api.pulumi.com", "example-tickets")
SELF_MANAGED = Backend.of("s3://ticketing-state?region=eu-west-1")
VENUE = {
    "id": "arena",
    "dockerHost": "ssh://deploy@10.20.0.5",
    "lanAddress": "10.20.0.5",
    "bastionImage": "ghcr.io/example-tickets/bastion:2.1.0",
}


def config_of(stack: str, **overrides: object) -> stack_config.StackConfig:
    return stack_config.load(ROOT, stack, dict(overrides))


def venue_config(cloud_stack: str) -> stack_config.StackConfig:
    return config_of("venue-dev-arena", **{"ticketing:venue": {**VENUE, "cloudStack": cloud_stack}})


def test_a_bare_stack_name_takes_the_backends_organization() -> None:
    committed = config_of("venue-dev-arena")
    assert references.cloud_stack_of(committed, ROOT, CLOUD) == (
        "dev",
        "example-tickets/ticketing/dev",
    )
    assert references.cloud_stack_of(committed, ROOT, SELF_MANAGED) == (
        "dev",
        "organization/ticketing/dev",
    )


def test_self_managed_backends_accept_only_the_organization_named_organization() -> None:
    assert references.cloud_stack_of(
        venue_config("organization/ticketing/dev"), ROOT, SELF_MANAGED
    ) == ("dev", "organization/ticketing/dev")
    with pytest.raises(stack_config.StackConfigError) as error:
        references.cloud_stack_of(venue_config("example-tickets/ticketing/dev"), ROOT, SELF_MANAGED)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("ticketing:venue.cloudStack: a self-managed backend (s3://")
    assert message.endswith('got "example-tickets/ticketing/dev"')


def test_pulumi_cloud_reads_its_own_organizations_stacks() -> None:
    assert references.cloud_stack_of(
        venue_config("example-tickets/ticketing/dev"), ROOT, CLOUD
    ) == ("dev", "example-tickets/ticketing/dev")
    with pytest.raises(stack_config.StackConfigError, match="only organization example-tickets"):
        references.cloud_stack_of(venue_config("organization/ticketing/dev"), ROOT, CLOUD)


def test_backend_urls_and_organizations_are_checked() -> None:
    assert Backend.of("file:///var/state").kind == "self-managed"
    assert Backend.of("gs://state").organization == DIY_ORGANIZATION
    assert Backend.of("https://pulumi.internal.example.com", "acme").kind == "pulumi-cloud"
    with pytest.raises(BackendError, match="has the one organization 'organization'"):
        Backend.of("s3://state", "acme")
    with pytest.raises(BackendError, match="expected a backend URL"):
        Backend.of("ftp://state")
    with pytest.raises(BackendError, match="not a Pulumi Cloud organization name"):
        Backend.of("https://api.pulumi.com", "a b")


def _project_with_venue_stack(tmp_path: Path, cloud_stack: str) -> Path:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack_file = tmp_path / "Pulumi.venue-dev-arena.yaml"
    text = (ROOT / stack_file.name).read_text()
    stack_file.write_text(text.replace("cloudStack: dev ", f"cloudStack: {cloud_stack} "))
    assert f"cloudStack: {cloud_stack} " in stack_file.read_text()
    return tmp_path


def test_cli_exits_2_on_a_self_managed_backend_with_the_wrong_organization(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with_venue_stack(tmp_path, "example-tickets/ticketing/dev")
    argv = ["venue-dev-arena", "--project-dir", str(project), "--backend", "s3://state"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    [line] = err.strip().splitlines()
    assert line.startswith("error: ticketing:venue.cloudStack: a self-managed backend (s3://state)")


def test_cli_plans_on_a_self_managed_backend_with_the_right_organization(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project_with_venue_stack(tmp_path, "organization/ticketing/dev")
    argv = ["venue-dev-arena", "--project-dir", str(project), "--backend", "s3://state"]
    assert main(argv) == 0
    assert "organization/ticketing/dev" in capsys.readouterr().out


def test_cloud_stacks_reference_nothing() -> None:
    assert references.cloud_stack_of(config_of("dev"), ROOT, CLOUD) is None


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
        references.cloud_stack_of(config, ROOT, CLOUD)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("ticketing:venue.cloudStack: the offline plan reads only committed")
    assert message.endswith('got "example-tickets/ticketing/qa"')


def test_a_venue_stack_cannot_stand_in_for_a_cloud_stack() -> None:
    venue = {"id": "arena", "cloudStack": "example-tickets/ticketing/venue-dev-arena"}
    config = config_of("venue-dev-arena", **{"ticketing:venue": venue})
    with pytest.raises(stack_config.StackConfigError, match="is a venue stack, not a cloud stack"):
        references.cloud_stack_of(config, ROOT, CLOUD)


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
