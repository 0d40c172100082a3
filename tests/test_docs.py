"""docs/deployment.md: the seed's rows from the catalog, and never stale.

The seed's tables are read from docs/seed-deployment.md (the seed page, verbatim), so
a catalog change that breaks the seed's wording fails here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from plan import docs
from plan.diagram import build_graph, embedded_digest, source_digest
from plan.model import Plan
from seed import catalog
from tests.factories import resource

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "docs" / "seed-deployment.md"


def seed_table(heading: str) -> list[list[str]]:
    """The rows of the first table under `heading` in the seed page."""
    return doc_table(SEED.read_text(encoding="utf-8"), heading)


def doc_table(markdown: str, heading: str) -> list[list[str]]:
    section = markdown.split(heading + "\n", 1)[1]
    block = section[section.index("|") :].split("\n\n", 1)[0]
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in block.splitlines()]
    return cells[2:]


def test_backing_services_reproduce_the_seed() -> None:
    assert docs.backing_rows() == seed_table("## Backing Services")


def test_client_platforms_reproduce_the_seed() -> None:
    assert docs.client_rows() == seed_table("## Client Platforms")


def test_on_premise_reproduces_the_seed() -> None:
    assert docs.on_prem_rows() == seed_table("### On-Premise")


def test_provider_tables_keep_the_seeds_rows_and_add_the_plan() -> None:
    plan = Plan(project="ticketing", stack="dev")
    page = docs.render_deployment_doc(plan)
    for heading in ("### Cloudflare", "### AWS"):
        rows = doc_table(page, heading)
        assert [r[:2] for r in rows] == seed_table(heading)
        assert all(r[2] == "none" for r in rows)


def test_the_plan_column_counts_what_implements_each_service() -> None:
    plan = Plan(
        project="ticketing",
        stack="dev",
        resources=[
            resource("aws:ec2/vpc:Vpc", "vpc"),
            resource("aws:ec2/subnet:Subnet", "a"),
            resource("aws:ec2/subnet:Subnet", "b"),
            resource("aws:ec2/eip:Eip", "core-nat-a"),
            resource("aws:ec2/eip:Eip", "ingress-a"),
            resource("aws:lb/loadBalancer:LoadBalancer", "nlb", loadBalancerType="network"),
            resource("cloudflare:index/ruleset:Ruleset", "ddos", phase="ddos_l7"),
        ],
    )
    assert docs.implemented_in(plan, "VPC") == "1 VPC, 2 subnets"
    assert docs.implemented_in(plan, "Static IP") == "1 Elastic IP, 1 NLB"
    assert docs.implemented_in(plan, "DDoS Protection") == "1 DDoS ruleset"
    assert docs.implemented_in(plan, "Load Balancer (ALB)") == "none"


def test_page_keeps_the_seeds_structure() -> None:
    page = docs.render_deployment_doc(Plan(project="ticketing", stack="dev"))
    headings = re.findall(r"^#{2,3} .+$", page, flags=re.MULTILINE)
    seed_headings = re.findall(r"^#{2,3} .+$", SEED.read_text(encoding="utf-8"), re.MULTILINE)
    assert headings[: len(seed_headings)] == seed_headings
    assert page.startswith("---\ntitle: Deployment\n---\n")
    assert "```{figure} /diagrams/deployment.svg" in page
    assert "(appendix-deployment)=" in page
    assert len(catalog.SERVICES) == len(docs.backing_rows())


def test_committed_page_is_current(dev_plan: Plan) -> None:
    committed = docs.DOC.read_text(encoding="utf-8")
    assert committed == docs.render_deployment_doc(dev_plan), (
        "docs/deployment.md is stale: run `make docs` and commit the result"
    )


def test_committed_diagram_source_is_current(dev_plan: Plan) -> None:
    committed = (docs.DIAGRAMS / "deployment.dot").read_text(encoding="utf-8")
    assert committed == build_graph(dev_plan).source, (
        "docs/diagrams/deployment.dot is stale: run `make docs` and commit the result"
    )


def test_committed_svg_is_rendered_from_the_committed_diagram_source() -> None:
    dot = (docs.DIAGRAMS / "deployment.dot").read_text(encoding="utf-8")
    svg = (docs.DIAGRAMS / "deployment.svg").read_text(encoding="utf-8")
    assert embedded_digest(dot) == source_digest(dot), (
        "docs/diagrams/deployment.dot was edited by hand: run `make docs` and commit the result"
    )
    assert embedded_digest(svg) == source_digest(dot), (
        "docs/diagrams/deployment.svg is stale: run `make docs` (with Graphviz) and commit it"
    )


def test_without_dot_make_docs_writes_nothing_and_says_why_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DOC", "README", "DIAGRAMS", "OUTPUTS_DOC"):
        monkeypatch.setattr(docs, name, tmp_path / name)
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))
    assert docs.main([]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", docs.NO_DOT + "\n")
    assert "Graphviz `dot` not found" in err and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz dot")
def test_make_docs_writes_the_diagram_then_the_page_and_the_readme_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    for name in ("DOC", "README", "DIAGRAMS", "OUTPUTS_DOC"):
        monkeypatch.setattr(docs, name, tmp_path / name)
    docs.README.write_text(f"# Title\n{docs.README_START}\nold\n{docs.README_END}\n")
    assert docs.main([]) == 0
    svg = (docs.DIAGRAMS / "deployment.svg").read_text(encoding="utf-8")
    dot = (docs.DIAGRAMS / "deployment.dot").read_text(encoding="utf-8")
    assert embedded_digest(svg) == source_digest(dot)
    assert docs.DOC.read_text(encoding="utf-8").startswith("---\ntitle: Deployment\n---\n")
    assert "\nold\n" not in docs.README.read_text(encoding="utf-8")
    outputs = docs.OUTPUTS_DOC.read_text(encoding="utf-8")
    assert outputs.startswith("---\ntitle: Stack outputs\n---\n")
    assert "Committed stacks: `dev`, `staging`, `prod`, `venue-dev-arena`, `bootstrap`." in outputs
    out, err = capsys.readouterr()
    shown = [
        docs.DIAGRAMS / "deployment.dot",
        docs.DIAGRAMS / "deployment.svg",
        "DOC",
        "README",
        "OUTPUTS_DOC",
    ]
    assert (out, err) == (f"wrote {', '.join(str(p) for p in shown)}\n", "")


def test_the_readme_picture_links_to_the_full_size_svg() -> None:
    section = docs.render_readme_section(Plan(project="ticketing", stack="dev"))
    svg = "docs/diagrams/deployment.svg"
    assert f"[![Deployment diagram of the dev stack]({svg})]({svg})" in section
    assert (docs.ROOT / svg).exists()


def test_committed_readme_section_is_current(dev_plan: Plan) -> None:
    fresh = docs.render_readme_section(dev_plan)
    assert fresh.rstrip("\n") in docs.README.read_text(encoding="utf-8"), (
        "README.md's generated section is stale: run `make docs` and commit the result"
    )


def test_readme_section_is_replaced_between_its_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{docs.README_START}\nold\n{docs.README_END}\n\n## After\n")
    section = f"{docs.README_START}\nnew table\n{docs.README_END}\n"
    assert docs.refresh_readme(section, readme)
    assert readme.read_text() == f"# Title\n\n{section}\n## After\n"
    plain = tmp_path / "PLAIN.md"
    plain.write_text("# No markers\n")
    assert not docs.refresh_readme(section, plain)
    assert plain.read_text() == "# No markers\n"
