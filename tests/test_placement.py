"""Placement: host ports, priorities, and the config-only scale path.

Host ports and ALB rule priorities are declared per service in the catalog, so a
new service leaves every existing one where it is: a test runs the program with a
fifth service ahead of the four (where an order-derived number would move them
all) and compares target groups, routes, published ports and URNs.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from components import settings
from components.aws import placement
from components.settings import CloudSettings
from plan import engine
from plan.model import Plan, Resource
from seed import catalog
from seed.catalog import Backing, DomainService
from tests.app_tier_helpers import compose_document

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LOYALTY = DomainService(
    name="loyalty",
    title="Loyalty",
    backing=frozenset({Backing.POSTGRESQL, Backing.REDIS}),
    path_prefix="/loyalty",
    host_port=8085,
    replica_host_port=8185,
    rule_priority=140,
)


def cloud(**services: dict[str, Any]) -> CloudSettings:
    raw: dict[str, Any] = {
        "environment": "dev",
        "domain": "example-tickets.com",
        "cloudflare": {"zoneId": "0" * 32},
        "services": {
            s.name: {"image": f"ghcr.io/acme/{s.name}:1.0.0", **services.get(s.name, {})}
            for s in catalog.SERVICES
        },
        "webClients": {
            c.name: {"image": f"ghcr.io/acme/{c.name}:1.0.0"} for c in catalog.WEB_CLIENTS
        },
    }
    parsed = settings.parse(raw)
    assert isinstance(parsed, CloudSettings)
    return parsed


def test_committed_host_ports_are_the_ones_the_stacks_run_with() -> None:
    ports = placement.host_ports()
    assert ports == {
        "ticketing": 8081,
        "payments": 8082,
        "identity": 8083,
        "notifications": 8084,
        "client-web": 8091,
        "admin-portal": 8092,
    }


def test_committed_rule_priorities_are_the_ones_the_stacks_run_with() -> None:
    assert [placement.service_priority(s.name) for s in catalog.SERVICES] == [100, 110, 120, 130]
    assert placement.web_client_priority("client-web") == 10
    assert placement.web_client_priority("admin-portal") == 20


def test_default_placement_is_one_shared_host_and_one_shared_database() -> None:
    layout = cloud()
    [host] = placement.hosts(layout)
    assert host.name == "shared"
    assert host.services == catalog.SERVICES
    assert host.web_clients == catalog.WEB_CLIENTS
    assert list(placement.databases(layout)) == ["shared"]


def test_dedicated_host_takes_the_service_off_the_shared_host() -> None:
    shared, dedicated = placement.hosts(cloud(notifications={"host": "dedicated"}))
    assert "notifications" not in [s.name for s in shared.services]
    assert (dedicated.name, [s.name for s in dedicated.services]) == (
        "notifications",
        ["notifications"],
    )
    assert dedicated.web_clients == ()


def test_dedicated_database_gets_its_own_instance() -> None:
    dbs = placement.databases(cloud(payments={"database": "dedicated"}))
    assert [s.name for s in dbs["payments"]] == ["payments"]
    assert "payments" not in [s.name for s in dbs["shared"]]


def test_ecs_takes_the_service_off_every_host() -> None:
    layout = cloud(ticketing={"host": "ecs"}, payments={"host": "dedicated"})
    shared, dedicated = placement.hosts(layout)
    assert "ticketing" not in [s.name for s in shared.services]
    assert dedicated.name == "payments"
    assert placement.host_of(layout, "ticketing") == placement.ECS
    assert placement.ecs_services(layout) == (catalog.service("ticketing"),)


def test_the_shared_host_bootstraps_the_databases_of_services_on_ecs() -> None:
    layout = cloud(ticketing={"host": "ecs"}, payments={"host": "dedicated"})
    shared, dedicated = placement.hosts(layout)
    assert placement.bootstrapped_elsewhere(layout, shared) == (catalog.service("ticketing"),)
    assert placement.bootstrapped_elsewhere(layout, dedicated) == ()


def test_stores_of_a_service_on_ecs_are_found_by_cloud_map_names() -> None:
    layout = cloud(ticketing={"host": "ecs"})
    assert placement.redis_host(layout, "ticketing") == "ticketing-redis.dev.ticketing.internal"
    assert (
        placement.rabbitmq_host(layout, "ticketing") == "ticketing-rabbitmq.dev.ticketing.internal"
    )
    assert placement.redis_host(layout, "payments") == "payments-redis"


# --- a fifth service moves nothing -------------------------------------------------------


def with_services(monkeypatch: pytest.MonkeyPatch, services: tuple[DomainService, ...]) -> None:
    """Run the program on a catalog of `services`: every module that holds the catalog's
    tuples (imported by name) gets the new ones."""
    catalog.check(services, catalog.CLIENTS)
    replace = {
        id(catalog.SERVICES): services,
        id(catalog.SERVICE_NAMES): tuple(s.name for s in services),
    }
    for module in list(sys.modules.values()):
        if not module.__name__.startswith(("components", "seed", "plan")):
            continue
        for attr, value in list(vars(module).items()):
            if id(value) in replace:
                monkeypatch.setattr(module, attr, replace[id(value)])


def dev_services_with(service: DomainService) -> dict[str, Any]:
    """The dev stack's `services` config, plus `service` on the committed defaults."""
    stack = yaml.safe_load((engine.PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    services = dict(stack["config"]["ticketing:services"])
    services[service.name] = {"image": f"ghcr.io/example-tickets/{service.name}-api:0.1.0"}
    return services


def identities(plan: Plan, service: str) -> dict[str, Any]:
    """A service's target group, route and published port, as the engine sees them."""
    [group] = [r for r in plan.of_type(TARGET_GROUP) if r.name == f"{service}-tg"]
    [rule] = [r for r in plan.of_type(LISTENER_RULE) if r.name == f"{service}-route"]
    published = compose_document(plan)["services"][service]["ports"]
    return {
        "target group": (group.urn, group.inputs),
        "route": (rule.urn, rule.inputs["priority"], rule.inputs["conditions"]),
        "published": published,
    }


def owned_by(plan: Plan, resource: Resource, service: str) -> bool:
    """`resource` is `service`'s: its name says so (`loyalty-tg`, `shared-host-loyalty`),
    or a component's above it does."""
    urns = {r.urn: r for r in plan}
    named = re.compile(rf"(^|-){re.escape(service)}(-|$)")
    while True:
        if named.search(resource.name):
            return True
        if resource.parent not in urns:  # the stack itself is not captured
            return False
        resource = urns[resource.parent]


def test_a_fifth_service_ahead_of_the_others_changes_no_existing_identity(
    plan_of: Callable[[str], Plan],
    capture: Callable[..., Plan],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    existing = [s.name for s in catalog.SERVICES]
    before = plan_of("dev")
    with_services(monkeypatch, (LOYALTY, *catalog.SERVICES))
    # First in catalog order: where `8081 + index` would have moved every other service.
    assert [s.name for s in placement.hosts(cloud())[0].services][:2] == ["loyalty", "ticketing"]
    # A fifth service's containers need a larger host than dev's committed t3.medium.
    after = capture(
        "dev",
        {
            "ticketing:services": dev_services_with(LOYALTY),
            "ticketing:appHost": {"instanceType": "t3.large"},
        },
    )

    for service in existing:
        assert identities(after, service) == identities(before, service), service
    old, new = {r.urn for r in before}, {r.urn for r in after}
    assert old <= new
    added = [after.by_urn(urn) for urn in sorted(new - old)]
    assert [r.urn for r in added if not owned_by(after, r, "loyalty")] == []
    loyalty = identities(after, "loyalty")
    assert loyalty["target group"][1]["port"] == 8085
    assert loyalty["route"][1] == 140
    assert {"tg", "route"} <= {r.name.removeprefix("loyalty-") for r in added}


def test_a_catalog_whose_services_share_a_port_or_priority_is_refused() -> None:
    clash = dataclasses.replace(LOYALTY, host_port=8082)
    with pytest.raises(ValueError, match="loyalty: host port 8082 is already payments's"):
        catalog.check((*catalog.SERVICES, clash), catalog.CLIENTS)
    clash = dataclasses.replace(LOYALTY, rule_priority=10)
    with pytest.raises(ValueError, match="client-web: rule priority 10 is already loyalty's"):
        catalog.check((*catalog.SERVICES, clash), catalog.CLIENTS)
    with pytest.raises(ValueError, match="loyalty: rule priority 0 is outside 1-50000"):
        catalog.check((dataclasses.replace(LOYALTY, rule_priority=0),), catalog.CLIENTS)
    with pytest.raises(ValueError, match="loyalty: host port 80 is outside 1024-65535"):
        catalog.check((dataclasses.replace(LOYALTY, host_port=80),), catalog.CLIENTS)
    with pytest.raises(ValueError, match="payments: name payments is already payments's"):
        catalog.check((*catalog.SERVICES, catalog.service("payments")), catalog.CLIENTS)
