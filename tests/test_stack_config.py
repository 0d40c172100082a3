"""Stack files against Pulumi.yaml's config schema, the way the CLI checks them."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan import engine, stack_config
from plan.__main__ import main
from tests.conftest import committed_stacks

ROOT = engine.PROJECT_DIR
SCHEMA = """\
name: probe
runtime: python
config:
  environment:
    type: string
    description: required, no default
  size:
    type: integer
    default: 3
  public:
    type: boolean
    default: false
  zones:
    type: array
    items: {type: string}
    default: [a]
  network:
    type: object
    default: {}
  token:
    type: string
    secret: true
    default: none
  label: shorthand-default
"""


def project(tmp_path: Path, stack_yaml: str, schema: str = SCHEMA) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(schema)
    (tmp_path / "Pulumi.test.yaml").write_text(textwrap.dedent(stack_yaml))
    return tmp_path


def refusal(tmp_path: Path, stack_yaml: str, schema: str = SCHEMA) -> str:
    with pytest.raises(stack_config.StackConfigError) as info:
        stack_config.load(project(tmp_path, stack_yaml, schema), "test")
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("stack", committed_stacks())
def test_every_committed_stack_passes_the_clis_schema_check(stack: str) -> None:
    declared: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())[
        "config"
    ]
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    for key, spec in declared.items():
        assert "default" in spec or f"ticketing:{key}" in stack_file, (
            f"Pulumi.{stack}.yaml does not set ticketing:{key}, which has no default"
        )
    config = stack_config.load(ROOT, stack)
    assert {f"ticketing:{key}" for key in declared} <= set(config.values)


def test_defaults_fill_in_and_stack_values_win(tmp_path: Path) -> None:
    config = stack_config.load(
        project(tmp_path, "config:\n  probe:environment: dev\n  probe:size: 5\n"), "test"
    )
    assert config.values == {
        "probe:environment": "dev",
        "probe:size": "5",
        "probe:public": "false",
        "probe:zones": '["a"]',
        "probe:network": "{}",
        "probe:token": "none",
        "probe:label": "shorthand-default",
    }


def test_a_stack_file_given_in_place_of_the_committed_one_is_checked_the_same(
    tmp_path: Path,
) -> None:
    path = project(tmp_path, "config:\n  probe:environment: prod\n  probe:size: 9\n")
    given = {"config": {"probe:environment": "dev"}}
    config = stack_config.load(path, "test", stack_file=given)
    assert config.values["probe:environment"] == "dev"
    assert config.values["probe:size"] == "3"  # the default, not the file's 9
    # a stack with no file at all, and the CLI's schema check still applies
    assert stack_config.load(path, "other", stack_file=given).stack == "other"
    with pytest.raises(stack_config.StackConfigError, match=r"^probe:environment: .*got nothing"):
        stack_config.load(path, "other", stack_file={"config": {"probe:size": 1}})


def test_a_key_without_default_must_be_set(tmp_path: Path) -> None:
    assert refusal(tmp_path, "config:\n  probe:size: 5\n") == (
        "probe:environment: Pulumi.yaml declares it without a default, so stack test must set "
        "it (pulumi preview refuses the stack), got nothing"
    )


def test_unsetting_a_required_key_is_refused_too(tmp_path: Path) -> None:
    path = project(tmp_path, "config:\n  probe:environment: dev\n")
    with pytest.raises(stack_config.StackConfigError, match=r"^probe:environment: .*got nothing"):
        stack_config.load(path, "test", {"probe:environment": None})


@pytest.mark.parametrize(
    ("stack_yaml", "line"),
    [
        pytest.param(
            "probe:environment: {name: dev}",
            "probe:environment: not of the type string that Pulumi.yaml declares (stack test), "
            'got {"name": "dev"}',
            id="object-for-string",
        ),
        pytest.param(
            "probe:size: two",
            'probe:size: not of the type integer that Pulumi.yaml declares (stack test), got "two"',
            id="word-for-integer",
        ),
        pytest.param(
            "probe:size: 2.5",
            "probe:size: not of the type integer that Pulumi.yaml declares (stack test), got 2.5",
            id="fraction-for-integer",
        ),
        pytest.param(
            "probe:size: true",
            "probe:size: not of the type integer that Pulumi.yaml declares (stack test), got true",
            id="bool-for-integer",
        ),
        pytest.param(
            "probe:public: 'yes'",
            "probe:public: not of the type boolean that Pulumi.yaml declares (stack test), "
            'got "yes"',
            id="yes-for-boolean",
        ),
        pytest.param(
            "probe:zones: [a, [b]]",
            "probe:zones: not of the type array<string> that Pulumi.yaml declares (stack test), "
            'got ["a", ["b"]]',
            id="array-item",
        ),
        pytest.param(
            "probe:zones: a",
            "probe:zones: not of the type array<string> that Pulumi.yaml declares (stack test), "
            'got "a"',
            id="scalar-for-array",
        ),
        pytest.param(
            "probe:network: [a]",
            "probe:network: not of the type object that Pulumi.yaml declares (stack test), "
            'got ["a"]',
            id="list-for-object",
        ),
        pytest.param(
            "probe:token: abc",
            "probe:token: Pulumi.yaml declares it secret, so stack test must set it with "
            "pulumi config set --secret, got a plain value",
            id="plain-for-secret",
        ),
    ],
)
def test_a_value_must_fit_its_declared_type(tmp_path: Path, stack_yaml: str, line: str) -> None:
    assert refusal(tmp_path, f"config:\n  probe:environment: dev\n  {stack_yaml}\n") == line


@pytest.mark.parametrize(
    "stack_yaml",
    [
        "probe:environment: 3",  # a scalar is text to the CLI, so any scalar is a string
        "probe:size: '7'",  # integer text
        "probe:size: -7",
        "probe:public: true",
        "probe:public: 'false'",
        "probe:zones: []",
        "probe:network: {cidr: 10.0.0.0/16}",
        "probe:token: {secure: v1:AAAA}",
        "other:anything: {a: 1}",  # another namespace is not checked
    ],
)
def test_values_the_cli_accepts(tmp_path: Path, stack_yaml: str) -> None:
    text = f"config:\n  probe:environment: dev\n  {stack_yaml}\n"
    assert stack_config.load(project(tmp_path, text), "test").stack == "test"


def test_a_default_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    schema = "name: probe\nconfig:\n  size:\n    type: integer\n    default: large\n"
    assert refusal(tmp_path, "config: {}\n", schema) == (
        'probe:size: the default in Pulumi.yaml is not of the declared type integer, got "large"'
    )


# --- malformed files --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack_yaml", "line"),
    [
        pytest.param(
            "config:\n  probe:environment: dev: prod\n",
            "Pulumi.test.yaml:2:25: not valid YAML: mapping values are not allowed here",
            id="colon-in-plain-value",
        ),
        pytest.param(
            "config:\n  probe:zones: [a, b\n",
            "Pulumi.test.yaml:3:1: not valid YAML: expected ',' or ']', but got '<stream end>'",
            id="unclosed-list",
        ),
        pytest.param(
            "config:\n\tprobe:size: 1\n",
            "Pulumi.test.yaml:2:1: not valid YAML: found character '\\t' that cannot start any "
            "token",
            id="tab-indent",
        ),
        pytest.param(
            'config:\n  probe:environment: "\x07"\n',
            "Pulumi.test.yaml:2:23: not valid YAML: special characters are not allowed",
            id="control-character",
        ),
    ],
)
def test_malformed_yaml_is_one_line_with_line_and_column(
    tmp_path: Path, stack_yaml: str, line: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text(SCHEMA)
    (tmp_path / "Pulumi.test.yaml").write_text(stack_yaml)
    with pytest.raises(stack_config.StackConfigError) as info:
        stack_config.load(tmp_path, "test")
    assert str(info.value) == line


def test_malformed_project_file_is_one_line_too(tmp_path: Path) -> None:
    assert refusal(tmp_path, "config: {}\n", "name: probe\nconfig:\n  - size: [\n") == (
        "Pulumi.yaml:4:1: not valid YAML: expected the node content, but found '<stream end>'"
    )


def test_plan_exits_2_with_the_yaml_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, "config:\n  probe:environment: dev: prod\n")
    code = main(["test", "--project-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        "error: Pulumi.test.yaml:2:25: not valid YAML: mapping values are not allowed here"
    ]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_committed_cloud_stacks_encrypt_with_their_environments_kms_key(stack: str) -> None:
    config = stack_config.load(ROOT, stack)
    region = config.values["ticketing:region"]
    environment = config.values["ticketing:environment"]
    assert config.secrets_provider == (
        f"awskms://alias/ticketing-{environment}-pulumi-secrets?region={region}"
    )


def test_committed_venue_stack_uses_the_technicians_passphrase() -> None:
    assert stack_config.load(ROOT, "venue-dev-arena").secrets_provider == "passphrase"


def test_an_unknown_secrets_provider_is_one_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(
        text.replace("secretsprovider: awskms://", "secretsprovider: vault://")
    )
    with pytest.raises(stack_config.StackConfigError) as error:
        stack_config.load(tmp_path, "dev")
    assert str(error.value).startswith("Pulumi.dev.yaml: secretsprovider: expected default,")
    assert str(error.value).endswith(
        'got "vault://alias/ticketing-dev-pulumi-secrets?region=eu-west-1"'
    )
