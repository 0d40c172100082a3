"""The runbooks (docs/runbooks.md) name only things that exist: make targets, config keys,
and resources the committed stacks register."""

from __future__ import annotations

import re
from pathlib import Path

from components.settings import SECRET_KEYS, CloudSettings, VenueStackSettings
from plan import urns
from seed.catalog import SERVICES, Backing

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = (ROOT / "docs" / "runbooks.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_every_make_target_exists() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, flags=re.M))
    named = set(re.findall(r"`make (\w+)", RUNBOOKS))
    assert named >= {"plan", "urns", "docs"}
    assert named <= targets


def test_every_config_key_is_one_the_settings_take() -> None:
    top_level = {
        f.alias or n
        for model in (CloudSettings, VenueStackSettings)
        for n, f in model.model_fields.items()
    } | set(SECRET_KEYS)
    named = set(re.findall(r"ticketing:(\w+)", RUNBOOKS))
    assert {"venues", "venue", "services", "database"} <= named
    assert named <= top_level


def test_the_credentials_to_replace_are_resources_of_the_committed_stacks() -> None:
    names = {urn.rsplit("::", 1)[1] for urn in urns.read_snapshot("prod")}
    # The origin-lock secret rotates by config across its two slots, not by --replace.
    assert "ingress.originSecret.generationB" in RUNBOOKS
    assert {"ingress-origin-secret", "ingress-origin-secret-b"} <= names
    assert (
        "ingress-origin-pull-client-key" in RUNBOOKS and "ingress-origin-pull-client-key" in names
    )
    for service in SERVICES:
        suffixes = {Backing.POSTGRESQL: "db", Backing.REDIS: "redis", Backing.RABBITMQ: "rabbitmq"}
        for suffix in (suffixes[b] for b in service.backing):
            assert f"{service.name}-{suffix}-password" in names
    assert any(n.startswith("venue-sync-") for n in names)
    for pattern in re.findall(r"<service>-([a-z]+)-password", RUNBOOKS):
        assert any(n.endswith(f"-{pattern}-password") for n in names), pattern
