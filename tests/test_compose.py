"""The app host's compose document: valid Compose, isolated backing services, nothing secret."""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from compose_spec import PyCompose

from components.host import compose
from components.host.compose import HostSpec, ServiceSpec, WebClientSpec
from seed import catalog

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())

# The seed's backing-services table, as containers on the host (PostgreSQL is RDS).
SEED_BACKING_CONTAINERS = {
    "ticketing": {"ticketing-redis", "ticketing-rabbitmq"},
    "payments": {"payments-redis", "payments-rabbitmq"},
    "identity": {"identity-redis"},
    "notifications": {"notifications-rabbitmq"},
}
HOST_PORTS = {"ticketing": 18081, "payments": 18082, "identity": 18083, "notifications": 18084}
WEB_PORTS = {"admin-portal": 18091, "client-web": 18092}


def service_spec(service: catalog.DomainService, **overrides: Any) -> ServiceSpec:
    values: dict[str, Any] = {
        "service": service,
        "image": f"ghcr.io/acme/{service.name}:1.4.2",
        "host_port": HOST_PORTS[service.name],
        "log_group": f"/ticketing/dev/{service.name}",
        **overrides,
    }
    return ServiceSpec(**values)


def web_spec(client: catalog.ClientApp) -> WebClientSpec:
    return WebClientSpec(
        client=client,
        image="nginxinc/nginx-unprivileged:1.27.3-alpine",
        host_port=WEB_PORTS[client.name],
        log_group=f"/ticketing/dev/{client.name}",
    )


def host_spec(**overrides: Any) -> HostSpec:
    values: dict[str, Any] = {
        "name": "app-1",
        "region": "eu-west-1",
        "services": tuple(service_spec(s) for s in catalog.SERVICES),
        "web_clients": tuple(web_spec(c) for c in catalog.WEB_CLIENTS),
        "redis_image": "redis:7.4.1-alpine",
        "rabbitmq_image": "rabbitmq:3.13.7-alpine",
        **overrides,
    }
    return HostSpec(**values)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return compose.render_compose(host_spec())


def containers(doc: Mapping[str, Any]) -> dict[str, Any]:
    return doc["services"]


def backing_of(doc: Mapping[str, Any], service: str) -> set[str]:
    """Containers other than `service` that share a network with `service` but not ingress."""
    own = set(containers(doc)[service]["networks"]) - {"ingress"}
    return {
        name for name, c in containers(doc).items() if name != service and own & set(c["networks"])
    }


def schema_errors(document: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


# --- validity against real Compose parsers --------------------------------------------


def test_document_is_valid_against_the_compose_specification_schema(
    doc: dict[str, Any],
) -> None:
    assert schema_errors(doc) == []


def test_schema_check_is_strict_enough_to_catch_a_typo(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    broken["services"]["ticketing"]["mem_limt"] = "512m"
    assert any("mem_limt" in e for e in schema_errors(broken))


def test_yaml_parses_and_resolves_with_the_compose_spec_rust_parser(doc: dict[str, Any]) -> None:
    parsed = PyCompose.from_yaml(compose.to_yaml(doc))
    parsed.validate()  # every network and volume a service uses is declared
    assert sorted(parsed.service_names()) == sorted(containers(doc))


def test_rust_parser_refuses_an_undeclared_network(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    del broken["networks"]["payments-backing"]
    with pytest.raises(ValueError, match="payments-backing"):
        PyCompose.from_yaml(compose.to_yaml(broken)).validate()


def test_a_single_service_host_is_valid_too() -> None:
    identity = catalog.service("identity")
    doc = compose.render_compose(host_spec(services=(service_spec(identity),), web_clients=()))
    assert schema_errors(doc) == []
    PyCompose.from_yaml(compose.to_yaml(doc)).validate()
    assert set(containers(doc)) == {"identity", "identity-redis"}
    assert "volumes" not in doc
    assert set(doc["networks"]) == {"ingress", "identity-backing"}


# --- YAML output ----------------------------------------------------------------------


def test_yaml_round_trips_and_is_deterministic(doc: dict[str, Any]) -> None:
    text = compose.to_yaml(doc)
    assert yaml.safe_load(text) == doc
    assert compose.to_yaml(compose.render_compose(host_spec())) == text


def test_yaml_has_no_anchors_or_folded_lines(doc: dict[str, Any]) -> None:
    text = compose.to_yaml(doc)
    assert not re.search(r"[&*]id\d+", text)
    redis_command = containers(doc)["ticketing-redis"]["command"][2]
    assert any(line.strip() == f"- {redis_command}" for line in text.splitlines())


def test_compose_interpolates_nothing(doc: dict[str, Any]) -> None:
    # Compose would substitute a lone `$` from the host's environment at `up` time.
    text = compose.to_yaml(doc)
    assert "$" in text
    assert "$" not in text.replace("$$", "")


# --- isolation ------------------------------------------------------------------------


def test_each_service_has_exactly_the_seeds_backing_containers(doc: dict[str, Any]) -> None:
    for service, expected in SEED_BACKING_CONTAINERS.items():
        assert backing_of(doc, service) == expected, service


def test_backing_networks_of_different_services_are_disjoint(doc: dict[str, Any]) -> None:
    def networks_of(service: str) -> set[str]:
        return {n for name in backing_of(doc, service) for n in containers(doc)[name]["networks"]}

    for a, b in itertools.combinations(SEED_BACKING_CONTAINERS, 2):
        assert networks_of(a).isdisjoint(networks_of(b)), (a, b)


def test_backing_containers_are_only_on_their_internal_network(doc: dict[str, Any]) -> None:
    for service, backing in SEED_BACKING_CONTAINERS.items():
        for name in backing:
            assert containers(doc)[name]["networks"] == [f"{service}-backing"]
        assert doc["networks"][f"{service}-backing"] == {"driver": "bridge", "internal": True}


def test_only_the_owning_service_joins_a_backing_network(doc: dict[str, Any]) -> None:
    for network in (n for n in doc["networks"] if n.endswith("-backing")):
        members = {name for name, c in containers(doc).items() if network in c["networks"]}
        owner = network.removesuffix("-backing")
        assert members == {owner} | SEED_BACKING_CONTAINERS[owner]


def test_no_backing_container_publishes_a_port(doc: dict[str, Any]) -> None:
    for name in set().union(*SEED_BACKING_CONTAINERS.values()):
        assert "ports" not in containers(doc)[name]
        assert "expose" not in containers(doc)[name]


def test_each_service_and_web_client_publishes_exactly_its_host_port(doc: dict[str, Any]) -> None:
    published: dict[str, list[dict[str, Any]]] = {
        name: c["ports"] for name, c in containers(doc).items() if "ports" in c
    }
    assert set(published) == set(HOST_PORTS) | set(WEB_PORTS)
    for name, port in {**HOST_PORTS, **WEB_PORTS}.items():
        assert published[name] == [
            {
                "target": 8080,
                "published": str(port),
                "host_ip": "0.0.0.0",
                "protocol": "tcp",
                "mode": "host",
            }
        ]


def test_bind_address_is_an_input() -> None:
    doc = compose.render_compose(host_spec(bind_address="10.40.1.25"))
    assert {p["host_ip"] for c in containers(doc).values() for p in c.get("ports", [])} == {
        "10.40.1.25"
    }


def test_rabbitmq_management_ui_is_not_published(doc: dict[str, Any]) -> None:
    text = compose.to_yaml(doc)
    assert "15672" not in text


def test_services_and_web_clients_join_ingress_and_backing_only(doc: dict[str, Any]) -> None:
    for service in SEED_BACKING_CONTAINERS:
        assert containers(doc)[service]["networks"] == [f"{service}-backing", "ingress"]
    for client in WEB_PORTS:
        assert containers(doc)[client]["networks"] == ["ingress"]


# --- images ---------------------------------------------------------------------------


def test_every_image_is_pinned(doc: dict[str, Any]) -> None:
    for name, container in containers(doc).items():
        image: str = container["image"]
        repository, _, digest = image.partition("@")
        tag = repository.rsplit("/", 1)[-1].partition(":")[2]
        assert digest or (tag and tag != "latest"), f"{name}: {image}"


@pytest.mark.parametrize("image", ["redis", "redis:latest", "ghcr.io/acme/x", "host:5000/x"])
def test_unpinned_images_are_refused(image: str) -> None:
    with pytest.raises(ValueError, match="pinned"):
        host_spec(redis_image=image)
    with pytest.raises(ValueError, match="pinned"):
        service_spec(catalog.service("payments"), image=image)


def test_digest_pinned_image_is_accepted() -> None:
    image = "ghcr.io/acme/payments@sha256:" + "a" * 64
    doc = compose.render_compose(
        host_spec(services=(service_spec(catalog.service("payments"), image=image),))
    )
    assert containers(doc)["payments"]["image"] == image


# --- Redis ----------------------------------------------------------------------------


def run_as_container_shell(command: str, env: Mapping[str, str], tmp_path: Path, stub: str) -> str:
    """Run a compose command string the way the container's `sh -c` would, `stub` on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("redis-server", "redis-cli"):
        script = bin_dir / name
        script.write_text(stub)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    unescaped = command.replace("$$", "$")  # what Compose hands to the container
    result = subprocess.run(
        ["sh", "-c", unescaped],
        env={**env, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else f"exit {result.returncode}"


def test_redis_starts_with_password_no_persistence_and_an_lru_limit(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    redis = containers(doc)["ticketing-redis"]
    assert redis["command"][:2] == ["sh", "-c"]
    password = 'p@ss "w0rd" $HOME x'
    out = run_as_container_shell(
        redis["command"][2],
        {"REDIS_PASSWORD": password},
        tmp_path,
        '#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done\n',
    )
    assert out.split("\0")[:-1] == [
        "--requirepass",
        password,
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory",
        "64mb",
        "--maxmemory-policy",
        "allkeys-lru",
    ]


def test_redis_max_memory_comes_from_the_service_spec() -> None:
    spec = service_spec(catalog.service("identity"), redis_max_memory_mb=256)
    doc = compose.render_compose(host_spec(services=(spec,), web_clients=()))
    redis = containers(doc)["identity-redis"]
    assert "--maxmemory 256mb" in redis["command"][2]
    assert int(redis["mem_limit"].removesuffix("m")) > 256


def test_redis_healthcheck_authenticates_with_the_env_password(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    check = containers(doc)["payments-redis"]["healthcheck"]
    assert check["test"][0] == "CMD-SHELL"
    # The stub answers PONG only when the probe authenticated with the right password.
    stub = '#!/bin/sh\n[ "$REDISCLI_AUTH" = "right pw" ] && [ "$1" = ping ] && echo PONG\nexit 0\n'
    healthy = run_as_container_shell(
        check["test"][1], {"REDIS_PASSWORD": "right pw"}, tmp_path, stub
    )
    unhealthy = run_as_container_shell(
        check["test"][1], {"REDIS_PASSWORD": "wrong"}, tmp_path, stub
    )
    assert healthy == ""
    assert unhealthy == "exit 1"


def test_redis_reads_only_its_own_password_file(doc: dict[str, Any]) -> None:
    for service in ("ticketing", "payments", "identity"):
        redis = containers(doc)[f"{service}-redis"]
        assert redis["env_file"] == [f"/opt/ticketing/env/{service}-redis.env"]
        assert redis["image"] == "redis:7.4.1-alpine"
        assert redis["user"] == "redis"
        assert redis["read_only"] is True


# --- RabbitMQ -------------------------------------------------------------------------


def test_rabbitmq_keeps_data_on_its_named_volume(doc: dict[str, Any]) -> None:
    for service in ("ticketing", "payments", "notifications"):
        rabbit = containers(doc)[f"{service}-rabbitmq"]
        volume = f"{service}-rabbitmq-data"
        assert {"type": "volume", "source": volume, "target": "/var/lib/rabbitmq"} in rabbit[
            "volumes"
        ]
        assert doc["volumes"][volume] == {"name": volume}
        # The data directory is named after the node, so the hostname must not change.
        assert rabbit["hostname"] == f"{service}-rabbitmq"
    assert len(doc["volumes"]) == 3


def test_rabbitmq_loads_its_own_definitions_read_only(doc: dict[str, Any]) -> None:
    rabbit = containers(doc)["notifications-rabbitmq"]
    binds = {v["target"]: v for v in rabbit["volumes"] if v["type"] == "bind"}
    # The directory: a rotated definitions file replaces the old one by rename.
    assert binds["/etc/rabbitmq/ticketing"] == {
        "type": "bind",
        "source": "/opt/ticketing/rabbitmq/notifications",
        "target": "/etc/rabbitmq/ticketing",
        "read_only": True,
    }
    config = binds["/etc/rabbitmq/conf.d/20-ticketing.conf"]
    assert config["source"] == "/opt/ticketing/rabbitmq/notifications/rabbitmq.conf"
    assert config["read_only"] is True


def test_rabbitmq_healthcheck_pings_the_node(doc: dict[str, Any]) -> None:
    check = containers(doc)["payments-rabbitmq"]["healthcheck"]
    assert check["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]


# --- the service containers -----------------------------------------------------------


def test_service_waits_for_healthy_backing_containers(doc: dict[str, Any]) -> None:
    for service, backing in SEED_BACKING_CONTAINERS.items():
        depends = containers(doc)[service]["depends_on"]
        assert set(depends) == backing
        assert {d["condition"] for d in depends.values()} == {"service_healthy"}


def test_service_reads_secrets_from_its_env_file_only(doc: dict[str, Any]) -> None:
    for service in SEED_BACKING_CONTAINERS:
        assert containers(doc)[service]["env_file"] == [f"/opt/ticketing/env/{service}.env"]
    assert all("environment" not in c for c in containers(doc).values())


def test_service_healthcheck_probes_the_catalog_path_and_port(doc: dict[str, Any]) -> None:
    for service in catalog.SERVICES:
        test = containers(doc)[service.name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        assert test[-1] == f"http://127.0.0.1:{service.port}{service.health_check_path}"


def test_health_check_path_can_be_overridden() -> None:
    spec = service_spec(catalog.service("identity"), health_check_path="/identity/health")
    doc = compose.render_compose(host_spec(services=(spec,), web_clients=()))
    test = containers(doc)["identity"]["healthcheck"]["test"]
    assert test[-1] == "http://127.0.0.1:8080/identity/health"


def test_probe_tool_is_selectable() -> None:
    spec = service_spec(catalog.service("identity"), probe="wget")
    doc = compose.render_compose(host_spec(services=(spec,), web_clients=()))
    assert containers(doc)["identity"]["healthcheck"]["test"][:2] == ["CMD", "wget"]


def test_service_is_hardened_and_memory_limited(doc: dict[str, Any]) -> None:
    payments = containers(doc)["payments"]
    assert payments["mem_limit"] == "512m"
    assert payments["read_only"] is True
    assert payments["cap_drop"] == ["ALL"]
    assert payments["security_opt"] == ["no-new-privileges:true"]
    assert payments["image"] == "ghcr.io/acme/payments:1.4.2"


def test_every_container_restarts_and_drops_privilege_escalation(doc: dict[str, Any]) -> None:
    for name, container in containers(doc).items():
        assert container["restart"] == "unless-stopped", name
        assert container["security_opt"] == ["no-new-privileges:true"], name
        assert container["healthcheck"]["test"], name


def test_every_container_logs_to_cloudwatch(doc: dict[str, Any]) -> None:
    for name, container in containers(doc).items():
        logging = container["logging"]
        owner = name.split("-")[0] if name not in WEB_PORTS else name
        assert logging["driver"] == "awslogs"
        assert logging["options"]["awslogs-region"] == "eu-west-1"
        assert logging["options"]["awslogs-group"] == f"/ticketing/dev/{owner}"
        assert logging["options"]["awslogs-stream"] == f"app-1/{name}"


# --- input validation -----------------------------------------------------------------


def test_duplicate_host_ports_are_refused() -> None:
    ticketing = service_spec(catalog.service("ticketing"))
    payments = service_spec(catalog.service("payments"), host_port=ticketing.host_port)
    with pytest.raises(ValueError, match="distinct"):
        host_spec(services=(ticketing, payments))


def test_a_service_listed_twice_is_refused() -> None:
    ticketing = service_spec(catalog.service("ticketing"))
    with pytest.raises(ValueError, match="twice"):
        host_spec(services=(ticketing, service_spec(catalog.service("ticketing"), host_port=19000)))


def test_only_static_web_clients_are_served() -> None:
    mobile = next(c for c in catalog.CLIENTS if c.name == "client-mobile")
    with pytest.raises(ValueError, match="not a static web client"):
        WebClientSpec(mobile, "nginx:1.27.3", 18099, "/ticketing/dev/x")


@pytest.mark.parametrize("port", [80, 0, 70000])
def test_privileged_or_invalid_host_ports_are_refused(port: int) -> None:
    with pytest.raises(ValueError, match="host port"):
        service_spec(catalog.service("identity"), host_port=port)


def test_bind_address_must_be_an_ip_address() -> None:
    with pytest.raises(ValueError):
        host_spec(bind_address="everywhere")


def test_a_second_replica_runs_on_its_own_port_sharing_the_first_ones_stores() -> None:
    """With `replica_host_port` each service and web client gets a second container,
    `<owner>-2`, on that port: the same image, env file, networks and health check, its own
    log stream; the backing containers stay one each."""
    identity = catalog.service("identity")
    client = catalog.web_client("client-web")
    spec = service_spec(identity, replica_host_port=18183)
    web = WebClientSpec(
        client=client,
        image="nginxinc/nginx-unprivileged:1.27.3-alpine",
        host_port=18092,
        replica_host_port=18192,
        log_group="/ticketing/dev/client-web",
    )
    document = compose.render_compose(host_spec(services=(spec,), web_clients=(web,)))
    services = document["services"]
    assert set(services) == {
        "identity",
        "identity-2",
        "identity-redis",
        "client-web",
        "client-web-2",
    }
    for owner, second, port in (
        ("identity", "identity-2", 18183),
        ("client-web", "client-web-2", 18192),
    ):
        first, other = services[owner], services[second]
        assert other["container_name"] == second
        assert other["ports"] == [{**first["ports"][0], "published": str(port)}]
        assert other["logging"]["options"]["awslogs-stream"] == f"app-1/{second}"
        same = {k: v for k, v in first.items() if k not in ("container_name", "ports", "logging")}
        assert same == {k: v for k, v in other.items() if k in same}
    assert schema_errors(document) == []


def test_a_replica_port_must_be_distinct_from_every_other() -> None:
    spec = service_spec(catalog.service("identity"), replica_host_port=HOST_PORTS["payments"])
    with pytest.raises(ValueError, match="host ports must be distinct"):
        host_spec(services=(spec, service_spec(catalog.service("payments"))), web_clients=())
