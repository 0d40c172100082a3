"""`make plan --set PATH=VALUE`: config changed the way `pulumi config set --path` writes it."""

from __future__ import annotations

import pytest
import yaml

from plan.config_paths import path_overrides
from plan.engine import PROJECT_DIR
from plan.stack_config import StackConfigError


def test_a_nested_path_changes_one_key_and_keeps_the_rest() -> None:
    committed = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())["config"]
    before = committed["ticketing:services"]
    changed = path_overrides(PROJECT_DIR, "dev", ["services.ticketing.host=ecs"])
    services = changed["ticketing:services"]
    assert "host" not in before["ticketing"]
    assert services["ticketing"] == {**before["ticketing"], "host": "ecs"}
    assert services["payments"] == before["payments"]


def test_values_are_read_as_yaml_scalars_and_missing_objects_are_made() -> None:
    changed = path_overrides(
        PROJECT_DIR,
        "dev",
        [
            "services.ticketing.ecs.desiredCount=3",
            "services.ticketing.ecs.cpu=512",
            "ingress.staticIps=true",
            "aws:region=eu-west-1",
        ],
    )
    assert changed["ticketing:services"]["ticketing"]["ecs"] == {"desiredCount": 3, "cpu": 512}
    assert changed["ticketing:ingress"] == {"staticIps": True}
    assert changed["aws:region"] == "eu-west-1"


def test_walking_into_a_value_that_is_not_an_object_is_one_line() -> None:
    with pytest.raises(StackConfigError) as info:
        path_overrides(PROJECT_DIR, "dev", ["environment.x=1"])
    assert (
        str(info.value)
        == "--set environment.x=1: ticketing:environment is not an object, got 'dev'"
    )


def test_no_assignment_changes_nothing() -> None:
    assert path_overrides(PROJECT_DIR, "dev", []) == {}
