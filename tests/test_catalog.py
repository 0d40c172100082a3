"""The catalog is the seed page's tables as data: pin it to the page itself."""

from __future__ import annotations

import re
from pathlib import Path

from seed import catalog
from seed.catalog import Backing

SEED = Path(__file__).resolve().parent.parent / "docs" / "seed-deployment.md"


def table_after(heading: str) -> list[list[str]]:
    """Rows (without the header) of the first markdown table after `heading`."""
    lines = SEED.read_text().splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#") and rows:
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def component(cell: str) -> str:
    match = re.fullmatch(r"\[\]\(\./components/([\w-]+)\)", cell)
    assert match, cell
    return match.group(1)


def test_backing_services_match_the_seed() -> None:
    seed = {
        component(api): {Backing(value) for value in (db, cache, broker) if value != "-"}
        for api, db, cache, broker in table_after("## Backing Services")
    }
    assert seed == {s.name: set(s.backing) for s in catalog.SERVICES}


def test_every_service_has_its_own_database_and_role() -> None:
    assert len({s.database for s in catalog.SERVICES}) == len(catalog.SERVICES)
    assert len({s.role for s in catalog.SERVICES}) == len(catalog.SERVICES)
    assert all(s.uses(Backing.POSTGRESQL) for s in catalog.SERVICES)


def test_provider_tables_match_the_seed() -> None:
    assert [(r[0], r[1]) for r in table_after("### Cloudflare")] == [
        (s.service, s.purpose) for s in catalog.CLOUDFLARE
    ]
    assert [(r[0], r[1]) for r in table_after("### AWS")] == [
        (s.service, s.purpose) for s in catalog.AWS
    ]


def test_on_prem_components_match_the_seed() -> None:
    assert [(component(c), p, u) for c, p, u in table_after("### On-Premise")] == [
        (c.name, c.platform, c.purpose) for c in catalog.ON_PREM
    ]


def test_client_platforms_match_the_seed() -> None:
    assert [(component(c), p) for c, p in table_after("## Client Platforms")] == [
        (c.name, catalog.platforms_text(c)) for c in catalog.CLIENTS
    ]


def test_web_clients_are_the_browser_ones() -> None:
    assert {c.name for c in catalog.WEB_CLIENTS} == {"client-web", "admin-portal"}
    assert {c.hostname for c in catalog.WEB_CLIENTS} == {"app", "admin"}
