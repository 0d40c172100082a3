"""docs/stack-outputs.md: every export of every committed stack described, and never stale.

"Secret" and "Stacks" are read from the captures; each reader a description names is
checked against the code that reads it: the venue side's StackReference, the workflows'
`pulumi stack output` steps, the offline plan's sources.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from components import outputs
from components.venue import sync
from plan import stack_outputs_doc
from plan.model import Plan, Secret
from tests.conftest import committed_stacks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plans(plan_of: Callable[[str], Plan]) -> list[Plan]:
    return [plan_of(s) for s in committed_stacks()]


def _table(page: str) -> dict[str, list[str]]:
    rows = [ln for ln in page.splitlines() if ln.startswith("| `")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    return {c[0].strip("`"): c for c in cells}


def test_committed_page_is_current(plans: list[Plan]) -> None:
    committed = stack_outputs_doc.DOC.read_text(encoding="utf-8")
    assert committed == stack_outputs_doc.render(plans), (
        "docs/stack-outputs.md is stale: run `make docs` and commit the result"
    )


def test_every_export_of_every_committed_stack_is_described(plans: list[Plan]) -> None:
    exported = {name for plan in plans for name in plan.outputs}
    assert {"environment", "venueSync", "enrollment", "ciRoleArns"} <= exported
    assert sorted(exported - set(outputs.descriptions())) == []
    # and nothing is described that no committed stack exports
    assert set(outputs.descriptions()) == exported


def test_an_export_without_a_description_fails(plans: list[Plan]) -> None:
    dev = next(p for p in plans if p.stack == "dev")
    stray = Plan(
        project=dev.project,
        stack="dev",
        config=dev.config,
        outputs={**dev.outputs, "debugUrl": "https://example"},
    )
    with pytest.raises(stack_outputs_doc.UndescribedOutputError, match="debugUrl"):
        stack_outputs_doc.rows([stray])


def test_the_program_refuses_to_export_an_undescribed_name() -> None:
    with pytest.raises(ValueError, match=r"without a description: \['debugUrl'\]$"):
        outputs.PROGRAM.values({"environment": "dev", "debugUrl": "x"})
    with pytest.raises(ValueError, match=r": described but not exported: \['environment'\]$"):
        outputs.PROGRAM.values({})


def test_an_exported_field_carries_its_description() -> None:
    @dataclasses.dataclass(frozen=True)
    class SampleOutputs(outputs.ComponentOutputs):
        debug_url: str = dataclasses.field(
            metadata=outputs.exported("Where to debug.", people="open it")
        )
        internal: str = ""

    assert SampleOutputs("https://x", "y").stack_outputs() == {"debugUrl": "https://x"}
    [(key, described)] = SampleOutputs.described().items()
    assert (key, described.meaning) == ("debugUrl", "Where to debug.")
    assert described.readers() == {"people": "open it"}
    # Only the program's own components count: a test's sample is no stack output.
    assert "debugUrl" not in outputs.descriptions()


def test_a_description_needs_a_meaning_and_a_reader() -> None:
    with pytest.raises(ValueError, match="names no reader"):
        outputs.exported("The VPC.")
    with pytest.raises(ValueError, match="needs its meaning"):
        outputs.StackOutput(" ", people="x")
    with pytest.raises(ValueError, match=r"described by components\.outputs and by x"):
        outputs.describe("x", {"environment": outputs.StackOutput("e", people="p")})


def test_secret_is_what_the_capture_says(plans: list[Plan]) -> None:
    rows = _table(stack_outputs_doc.render(plans))
    for plan in plans:
        for name, value in plan.outputs.items():
            assert rows[name][2] == ("yes" if isinstance(value, Secret) else "no"), name
    # The sync credential is secret: venue_sync wraps it (components/aws/venue_sync.py).
    assert rows[sync.OUTPUT][2] == "yes"
    assert sum(r[2] == "yes" for r in rows.values()) == 1


def test_stacks_are_those_whose_capture_exports_it(plans: list[Plan]) -> None:
    rows = _table(stack_outputs_doc.render(plans))
    for name, row in rows.items():
        listed = re.findall(r"`([^`]+)`", row[1])
        assert sorted(listed) == sorted(p.stack for p in plans if name in p.outputs)
    assert rows["environment"][1].startswith("`dev`, `staging`, `prod`, ")


def test_mixed_secrecy_across_stacks_is_reported(plans: list[Plan]) -> None:
    dev = next(p for p in plans if p.stack == "dev")
    plain = Plan(project=dev.project, stack="a", config=dev.config, outputs={"vpcId": "vpc-1"})
    hidden = Plan(
        project=dev.project, stack="b", config=dev.config, outputs={"vpcId": Secret("vpc-2")}
    )
    [row] = stack_outputs_doc.rows([plain, hidden])
    assert row[2] == "in some stacks"


def _described_for(reader: str) -> set[str]:
    return {name for name, (_, d) in outputs.descriptions().items() if getattr(d, reader)}


def test_venue_stack_readers_are_what_the_venue_reads_through_its_reference() -> None:
    """The venue stack reads its cloud stack through `StackReference.get_output(OUTPUT)`."""
    source = (ROOT / "components" / "venue" / "sync.py").read_text()
    assert "get_output(OUTPUT)" in source
    assert _described_for("venue_stacks") == {sync.OUTPUT}


def test_ci_readers_are_what_the_workflows_read() -> None:
    texts = [p.read_text() for p in (ROOT / ".github" / "workflows").glob("*.yml")]
    texts += [p.read_text() for p in (ROOT / "scripts").glob("*.sh")]
    read = {m for t in texts for m in re.findall(r"pulumi stack output\b[^\n]*?\b([a-z]\w+)", t)}
    read &= set(outputs.descriptions())
    assert _described_for("ci") == read


def test_plan_readers_are_read_by_the_offline_plan() -> None:
    sources = "\n".join(
        p.read_text() for p in (ROOT / "plan").glob("*.py") if p.name != "stack_outputs_doc.py"
    )
    for name in _described_for("plan"):
        assert f'"{name}"' in sources, name


def test_each_row_names_the_file_its_description_is_in(plans: list[Plan]) -> None:
    for name, row in _table(stack_outputs_doc.render(plans)).items():
        path = ROOT / row[5].strip("`")
        assert path.is_file(), name
        field = re.sub(r"([A-Z])", r"_\1", name).lower()  # an Outputs field: vpc_id
        source = path.read_text()
        assert f'"{name}"' in source or f"    {field}: " in source, name


def test_the_readme_links_the_page() -> None:
    assert "(docs/stack-outputs.md)" in (ROOT / "README.md").read_text()
