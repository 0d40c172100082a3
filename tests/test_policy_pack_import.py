"""The pack as the Pulumi CLI runs it: its own files, its imports, its analyzer server, CI.

The CLI starts a Python pack as `python -u -m pulumi.policy <engine> .` in the
pack's virtualenv with `policies/` as the working directory, which runs
`__main__.py` through `runpy.run_path(".", run_name="__main__")`. These tests do
the same with `python -I` (isolated: no PYTHONPATH, no script directory on
`sys.path`), so the catalog import must work through `__main__.py` alone.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from plan import locks
from plan.model import Plan, Resource
from plan.policy import evaluate, wire_properties
from policies.pack import PACK_NAME, POLICIES
from policies.rules.common import DEFAULT_ENFORCEMENT, category_of

REPOSITORY = Path(__file__).resolve().parent.parent
PACK_DIR = REPOSITORY / "policies"
WORKFLOW = REPOSITORY / ".github" / "workflows" / "pull-request.yml"


def isolated(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=PACK_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_pack_directory_alone_cannot_import_the_catalog() -> None:
    result = isolated("import seed.catalog")
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_main_imports_the_rules_from_the_pack_directory() -> None:
    # run_name other than "__main__": the module runs, the blocking PolicyPack is not built.
    result = isolated(
        "import json, runpy\n"
        "ns = runpy.run_path('.', run_name='policy_pack_import_check')\n"
        "print(json.dumps([p.name for p in ns['POLICIES']]))\n"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [p.name for p in POLICIES]


def _distribution(requirement: str) -> str:
    """`grpcio<2,>=1.68.1; python_version < '3.14'` -> `grpcio`."""
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0]


def _requirement_closure(requirements: list[str]) -> set[str]:
    """Every distribution `requirements` pull in (extras left out), normalised names."""

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    seen: set[str] = set()
    pending = [_distribution(r) for r in requirements]
    while pending:
        name = norm(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement:
                pending.append(_distribution(requirement))
    return seen


_BLOCKED_IMPORTS = """
import importlib.abc, importlib.metadata, json, re, runpy, sys
allowed = set(json.loads(sys.argv[1]))
owners = importlib.metadata.packages_distributions()
class OnlyThePacksRequirements(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(name.split(".")[0], [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} in the pack's venv", name=name)
        return None
sys.meta_path.insert(0, OnlyThePacksRequirements())
ns = runpy.run_path(".", run_name="policy_pack_import_check")
print(json.dumps([p.name for p in ns["POLICIES"]]))
"""


def test_the_pack_needs_nothing_its_requirements_do_not_install() -> None:
    """The pack runs in policies/venv, built from policies/requirements.txt alone: with every
    other installed distribution hidden, `__main__.py` still imports all the rules."""
    closure = _requirement_closure(
        [str(r) for _, r in locks.read_inputs(PACK_DIR / "requirements.in")]
    )
    assert closure <= set(locks.read_lock(PACK_DIR / "requirements.txt").pins)
    assert {"pulumi", "pulumi-policy", "pyyaml"} <= closure
    assert "pydantic" not in closure  # components.settings would not import there
    result = subprocess.run(
        [sys.executable, "-I", "-c", _BLOCKED_IMPORTS, json.dumps(sorted(closure))],
        cwd=PACK_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [p.name for p in POLICIES]


def test_pack_files_are_what_pulumi_expects() -> None:
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert manifest["runtime"]["options"]["virtualenv"] == "venv"
    assert manifest["version"]
    requirements = (PACK_DIR / "requirements.in").read_text()
    for pin in ("pulumi-policy>=1.21,<2", "pulumi>=3.272,<4", "PyYAML>=6.0,<7"):
        assert pin in requirements
    main = (PACK_DIR / "__main__.py").read_text()
    assert main.count("PolicyPack(") == 1


def test_every_rule_has_metadata_and_its_category_default() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    for p in POLICIES:
        category = category_of(p)
        assert category is not None, p.name
        assert p.description and p.remediation_steps and p.severity is not None, p.name
        assert p.enforcement_level == DEFAULT_ENFORCEMENT[category], p.name


# --- the real analyzer server -------------------------------------------------------------------


@contextmanager
def served_pack(
    log_dir: Path, python: str = sys.executable, pack_dir: Path = PACK_DIR
) -> Iterator[Any]:
    """The pack served exactly as the CLI starts it, with the stack's config in PULUMI_CONFIG."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PULUMI_CONFIG"] = json.dumps({"ticketing:environment": "prod"})
    log = log_dir / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [python, "-I", "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=pack_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        port = process.stdout.readline().strip() if ready else ""
        assert port.isdigit(), f"no port from the pack: {log.read_text()}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One server for the tests that leave its config alone."""
    with served_pack(tmp_path_factory.mktemp("analyzer")) as stub:
        yield stub


@pytest.fixture
def own_analyzer(tmp_path: Path) -> Iterator[Any]:
    """A server of the test's own, for a test that reconfigures it."""
    with served_pack(tmp_path) as stub:
        yield stub


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(wire_properties(props))
    return struct


def _levels() -> dict[str, int]:
    return {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY}


def test_analyzer_serves_every_rule_at_its_level(analyzer: Any) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    served = {p.name: p.enforcementLevel for p in info.policies}
    levels = _levels()
    expected = {p.name: levels[getattr(p.enforcement_level, "value", "")] for p in POLICIES}
    assert served == expected


IMDSV1_HOST = {
    "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1},
    "rootBlockDevice": {"encrypted": True},
    "iamInstanceProfile": "p",
    "subnetId": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
}


def _analyze_imdsv1_host(analyzer: Any) -> set[tuple[str, int]]:
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type="aws:ec2/instance:Instance",
            name="app-host",
            urn="urn:pulumi:prod::ticketing::aws:ec2/instance:Instance::app-host",
            properties=_struct(IMDSV1_HOST),
            options=analyzer_pb2.AnalyzerResourceOptions(),
        )
    )
    return {(d.policyName, d.enforcementLevel) for d in response.diagnostics}


def test_analyzer_flags_a_resource(analyzer: Any) -> None:
    assert _analyze_imdsv1_host(analyzer) == {("ec2-imdsv2", analyzer_pb2.MANDATORY)}


def test_configure_changes_a_rules_enforcement_level(own_analyzer: Any) -> None:
    """`{"ec2-imdsv2": "advisory"}` reaches the pack through Configure; the offline
    evaluator, given the same config, agrees."""
    assert _analyze_imdsv1_host(own_analyzer) == {("ec2-imdsv2", analyzer_pb2.MANDATORY)}
    own_analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                "ec2-imdsv2": analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.ADVISORY)
            }
        )
    )
    assert _analyze_imdsv1_host(own_analyzer) == {("ec2-imdsv2", analyzer_pb2.ADVISORY)}
    host = Resource(
        urn="urn:pulumi:prod::ticketing::aws:ec2/instance:Instance::app-host",
        type="aws:ec2/instance:Instance",
        name="app-host",
        custom=True,
        parent=None,
        provider=None,
        inputs=IMDSV1_HOST,
        outputs=IMDSV1_HOST,
    )
    offline = evaluate(
        Plan("ticketing", "prod", [host]),
        {"ec2-imdsv2": "advisory"},
        stack_config={"ticketing:environment": "prod"},
    )
    assert {(v.rule, v.enforcement.value) for v in offline.of_rule("ec2-imdsv2")} == {
        ("ec2-imdsv2", "advisory")
    }


def test_analyzer_stack_rules_read_the_environment_from_pulumi_config(analyzer: Any) -> None:
    urn = "urn:pulumi:scratch::ticketing::aws:rds/instance:Instance::db"
    response = analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type="aws:rds/instance:Instance",
                    name="db",
                    urn=urn,
                    properties=_struct({"engine": "postgres"}),
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=False),
                )
            ]
        )
    )
    stateful = [d for d in response.diagnostics if d.policyName == "stateful-resources-protected"]
    assert [d.urn for d in stateful] == [urn]
    assert "environment prod (stack config ticketing:environment)" in stateful[0].message


# --- CI -------------------------------------------------------------------------------------------


def _workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def test_ci_runs_tests_and_previews_each_cloud_stack_with_the_pack() -> None:
    workflow = _workflow()
    triggers = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1: on = true
    assert "pull_request" in triggers
    assert workflow["jobs"]["preview"]["permissions"]["pull-requests"] == "write"
    jobs = workflow["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])

    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    steps = preview["steps"]
    uses = [step.get("uses", "") for step in steps]
    pulumi_step = next(s for s in steps if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi_step["uses"] == "pulumi/actions@v7"
    # Python and both virtualenvs come first.
    assert uses.index("actions/setup-python@v6") < steps.index(pulumi_step)
    installs = " ".join(s.get("run", "") for s in steps[: steps.index(pulumi_step)])
    assert "-r requirements.txt" in installs and "-r policies/requirements.txt" in installs
    assert pulumi_step["with"] == {
        "command": "preview",
        "stack-name": "${{ matrix.stack }}",
        "work-dir": "./",
        "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
        "policyPacks": "policies",
        "comment-on-pr": True,
        "github-token": "${{ secrets.GITHUB_TOKEN }}",
    }
    assert preview["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert preview["env"]["CLOUDFLARE_API_TOKEN"] == "${{ secrets.CLOUDFLARE_API_TOKEN_PREVIEW }}"
    # AWS credentials come from the read-only role (configure-aws-credentials), not a key.
    assert "AWS_ACCESS_KEY_ID" not in preview["env"]
