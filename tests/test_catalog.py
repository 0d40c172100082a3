"""The catalog is the seed page's tables as data: pin it to the page itself."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

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


def test_every_replica_port_is_declared_and_distinct() -> None:
    """Each service and static web client declares its second replica's port; a port another
    owner (or its own first replica) holds is refused before anything is planned."""
    owners = [*catalog.SERVICES, *catalog.WEB_CLIENTS]
    ports = [p for o in owners for p in (o.host_port, o.replica_host_port)]
    assert None not in ports and len(set(ports)) == len(ports)
    clash = dataclasses.replace(
        catalog.SERVICES[0], replica_host_port=catalog.SERVICES[1].host_port
    )
    with pytest.raises(ValueError, match=r"^payments: host port 8082 is already ticketing's$"):
        catalog.check((clash, *catalog.SERVICES[1:]), catalog.CLIENTS)
    unpaired = dataclasses.replace(catalog.WEB_CLIENTS[0], replica_host_port=None)
    with pytest.raises(ValueError, match="a static site needs all three"):
        catalog.check(catalog.SERVICES, (unpaired,))
