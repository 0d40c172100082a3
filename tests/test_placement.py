"""Placement: host ports, priorities, and the config-only scale path (no Pulumi)."""

from __future__ import annotations

from typing import Any

from components import settings
from components.aws import placement
from components.settings import CloudSettings
from seed import catalog


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


def test_host_ports_are_distinct_and_unprivileged() -> None:
    ports = placement.host_ports()
    assert ports == {
        "ticketing": 8081,
        "payments": 8082,
        "identity": 8083,
        "notifications": 8084,
        "client-web": 8091,
        "admin-portal": 8092,
    }


def test_route_priorities_follow_the_agreed_scheme() -> None:
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
