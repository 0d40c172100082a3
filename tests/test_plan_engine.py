"""The offline plan itself: config loading, what the capture sees, the CLI's exits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plan import engine, stack_config
from plan.__main__ import main
from plan.model import Secret

ROOT = engine.PROJECT_DIR


def write_project(tmp_path: Path, program: str, stack_yaml: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: probe\nruntime: python\nconfig:\n  size:\n    type: integer\n    default: 3\n"
    )
    (tmp_path / "Pulumi.test.yaml").write_text(stack_yaml)
    (tmp_path / "__main__.py").write_text(textwrap.dedent(program))
    return tmp_path


def test_stack_config_encodes_values_as_the_engine_does(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        "",
        textwrap.dedent(
            """
            config:
              probe:flag: true
              probe:net: {cidr: 10.0.0.0/16, zones: 2}
              probe:token: {secure: v1:AAAA}
              aws:region: eu-west-1
            """
        ),
    )
    config = stack_config.load(project, "test")
    assert config.values == {
        "probe:size": "3",  # the Pulumi.yaml default
        "probe:flag": "true",
        "probe:net": '{"cidr": "10.0.0.0/16", "zones": 2}',
        "probe:token": stack_config.SECRET_PLACEHOLDER,
        "aws:region": "eu-west-1",
    }
    assert config.secret_keys == ["probe:token"]


def test_missing_stack_file_names_the_committed_stacks(tmp_path: Path) -> None:
    project = write_project(tmp_path, "", "config: {}\n")
    with pytest.raises(
        stack_config.StackConfigError, match=r"Pulumi\.prod\.yaml.*committed stacks: test"
    ):
        stack_config.load(project, "prod")


PROGRAM = """
import pulumi
import pulumi_random as random

class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("probe:index:Box", name, None, opts)
        self.password = random.RandomPassword(
            f"{name}-pw", length=24,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True,
                                        ignore_changes=["length"]),
        )
        self.register_outputs({})

box = Box("box")
after = pulumi.ResourceOptions(depends_on=[box.password])
later = random.RandomId("later", byte_length=4, opts=after)
keyed = random.RandomId("keyed", byte_length=4, keepers={"pw": box.password.id})
both = random.RandomId(
    "both", byte_length=4, keepers={"pw": box.password.id},
    opts=pulumi.ResourceOptions(depends_on=box.password),
)
boxed = random.RandomId("boxed", byte_length=4, opts=pulumi.ResourceOptions(depends_on=[box]))
deferred = random.RandomId(
    "deferred", byte_length=4,
    opts=pulumi.ResourceOptions(depends_on=box.password.id.apply(lambda _: [later])),
)
pulumi.export("password", box.password.result)
pulumi.export("token", pulumi.Config().require_secret("token"))
pulumi.export("size", pulumi.Config().get_int("size"))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    project = write_project(
        tmp_path_factory.mktemp("probe"), PROGRAM, "config:\n  probe:token: {secure: v1:x}\n"
    )
    return engine.capture("test", project_dir=project)


def test_capture_sees_options_the_stock_mocks_hide(probe) -> None:  # type: ignore[no-untyped-def]
    password = probe.named("box-pw")
    box = probe.named("box")
    assert password.parent == box.urn
    assert password.protect and password.retain_on_delete
    assert password.ignore_changes == ("length",)
    assert probe.named("later").depends_on == (password.urn,)


def test_input_references_are_dependencies_but_not_depends_on(probe) -> None:  # type: ignore[no-untyped-def]
    password = probe.named("box-pw")
    keyed = probe.named("keyed")  # references the password through an input only
    assert keyed.depends_on == ()
    assert keyed.dependencies == (password.urn,)
    assert keyed.property_dependencies["keepers"] == (password.urn,)
    later = probe.named("later")  # an explicit depends_on, no input references
    assert later.dependencies == (password.urn,)
    assert all(urns == () for urns in later.property_dependencies.values())


def test_depends_on_is_kept_when_an_input_references_the_same_resource(probe) -> None:  # type: ignore[no-untyped-def]
    password = probe.named("box-pw")
    both = probe.named("both")  # depends_on=box.password, and keepers reference its id
    assert both.depends_on == (password.urn,)
    assert both.dependencies == (password.urn,)
    assert both.property_dependencies["keepers"] == (password.urn,)


def test_depends_on_a_component_records_the_component(probe) -> None:  # type: ignore[no-untyped-def]
    boxed = probe.named("boxed")
    assert boxed.depends_on == (probe.named("box").urn,)
    # The SDK sends the component's children to the engine instead.
    assert boxed.dependencies == (probe.named("box-pw").urn,)


def test_depends_on_an_output_names_its_resources_as_the_sdk_resolves_it(probe) -> None:  # type: ignore[no-untyped-def]
    deferred = probe.named("deferred")  # depends_on=box.password.id.apply(lambda _: [later])
    expected = tuple(sorted([probe.named("later").urn, probe.named("box-pw").urn]))
    assert deferred.depends_on == expected
    assert deferred.dependencies == expected


def test_resources_without_depends_on_have_none(probe) -> None:  # type: ignore[no-untyped-def]
    assert {r.name for r in probe if r.depends_on} == {"later", "both", "boxed", "deferred"}
    assert probe.named("keyed").depends_on == ()
    assert probe.named("box").depends_on == ()


def test_urns_carry_the_full_parent_chain_like_the_engine(probe) -> None:  # type: ignore[no-untyped-def]
    assert probe.named("box-pw").urn == (
        "urn:pulumi:test::probe::probe:index:Box$random:index/randomPassword:RandomPassword::box-pw"
    )


def test_generated_secrets_stay_secret(probe) -> None:  # type: ignore[no-untyped-def]
    password = probe.named("box-pw")
    assert "result" in password.additional_secret_outputs
    assert isinstance(password.outputs["result"], Secret)
    assert isinstance(probe.outputs["password"], Secret)
    assert isinstance(probe.outputs["token"], Secret)
    assert probe.outputs["token"].value == stack_config.SECRET_PLACEHOLDER
    assert probe.outputs["size"] == 3


def test_the_plan_carries_the_config_the_program_ran_with(probe, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert probe.config == {"probe:size": "3", "probe:token": stack_config.SECRET_PLACEHOLDER}
    project = write_project(tmp_path, PROGRAM, "config:\n  probe:token: {secure: v1:x}\n")
    resized = engine.capture("test", project_dir=project, overrides={"probe:size": 5})
    assert resized.config["probe:size"] == "5" and resized.outputs["size"] == 5


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_cidr_in_a_stack_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text().replace("10.42.0.0/16", "10.0.0.0/33"))
    code, out, err = run_cli(capsys, "prod", "--project-dir", str(tmp_path))
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [
        'error: ticketing:network.cidr: not a valid IPv4 CIDR block, got "10.0.0.0/33"'
    ]


def test_program_error_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, "raise RuntimeError('boom')\n", "config: {}\n")
    code, _, err = run_cli(capsys, "test", "--project-dir", str(project))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "RuntimeError: boom" in lines[0]


def test_json_document_masks_secrets_and_lists_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p").mkdir()
    project = write_project(tmp_path / "p", PROGRAM, "config:\n  probe:token: {secure: v1:x}\n")
    out_file = tmp_path / "plan.json"
    code, out, _ = run_cli(capsys, "test", "--project-dir", str(project), "--json", str(out_file))
    assert code == 0
    assert "[secret]" in out
    doc = json.loads(out_file.read_text())
    assert doc["outputs"]["password"] == "[secret]"
    assert doc["outputs"]["size"] == 3
    pw = next(r for r in doc["resources"] if r["name"] == "box-pw")
    assert pw["options"]["protect"] is True
    assert pw["options"]["ignoreChanges"] == ["length"]
    assert pw["parent"].endswith("::box")
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["later"]["options"]["dependsOn"] == [pw["urn"]]
    assert by_name["later"]["dependencies"] == [pw["urn"]]
    assert by_name["later"]["propertyDependencies"] == {}
    assert by_name["keyed"]["options"]["dependsOn"] == []
    assert by_name["keyed"]["dependencies"] == [pw["urn"]]
    assert by_name["keyed"]["propertyDependencies"] == {"keepers": [pw["urn"]]}
    assert by_name["both"]["options"]["dependsOn"] == [pw["urn"]]
    assert by_name["boxed"]["options"]["dependsOn"] == [by_name["box"]["urn"]]


def test_the_json_document_is_the_same_for_the_same_stack(tmp_path: Path) -> None:
    # Python salts string hashes per process, and the SDK gathers dependencies in sets.
    def document(seed: str) -> str:
        out = tmp_path / f"plan-{seed}.json"
        subprocess.run(
            [sys.executable, "-m", "plan", "dev", "--json", str(out)],
            cwd=engine.PROJECT_DIR,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        )
        return out.read_text()

    assert document("1") == document("2")
