"""The app host's ingress network, for real: the dev plan's compose document's web
clients on it, under real Docker Compose on the suite's dockerd.

Containers on `ingress` publish their ports for the ALB; they must not talk to each
other across it (that would bypass the ALB and the edge), so the network is created
with inter-container communication off. What dockerd reports for the network
(`docker network inspect`) is checked always; the traffic itself where the daemon runs
its iptables rules (`DockerDaemon.iptables`, which is what enforces `enable_icc`,
as Docker's bridge driver documents).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan.model import Plan
from seed import naming
from tests.app_tier_helpers import compose_document
from tests.engines.docker import DockerDaemon, StandIn

pytestmark = pytest.mark.real_engine

CLIENTS = ("admin-portal", "client-web")
ICC = "com.docker.network.bridge.enable_icc"


def web_stand_in(ref: str) -> StandIn:
    # A static site on 8080 (busybox httpd) with the curl the health check runs.
    return StandIn(
        ref,
        binaries=("/usr/bin/curl",),
        files={"/www/index.html": "ok\n"},
        changes=('CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',),
    )


class Ingress:
    def __init__(self, daemon: DockerDaemon, workdir: Path, document: dict[str, Any]) -> None:
        self.daemon = daemon
        self.project = f"ingress-{uuid.uuid4().hex[:6]}"
        self.file = workdir / "compose.yaml"
        self.file.write_text(yaml.safe_dump({**document, "name": self.project}))

    def compose(self, *args: str) -> str:
        result = self.daemon.host_run(
            ["docker", "compose", "-f", str(self.file), *args],
            env={**self.daemon.env, "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def network(self) -> dict[str, Any]:
        out = self.daemon.docker("network", "inspect", f"{self.project}_{naming.INGRESS_NETWORK}")
        [network] = json.loads(out.stdout)
        return network

    def address(self, container: str) -> str:
        for attached in self.network()["Containers"].values():
            if attached["Name"] == container:
                return attached["IPv4Address"].split("/")[0]
        raise AssertionError(f"{container} is not on {naming.INGRESS_NETWORK}")

    def fetch(self, source: str, url: str) -> bool:
        result = self.daemon.docker(
            "exec", source, "curl", "-fsS", "-m", "3", "-o", "/dev/null", url, check=False
        )
        return result.returncode == 0


@pytest.fixture(scope="module")
def ingress(
    docker_daemon: DockerDaemon, dev_plan: Plan, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingress]:
    document = compose_document(dev_plan)
    services = {name: dict(document["services"][name]) for name in CLIENTS}
    for service in services.values():
        service["logging"] = {"driver": "json-file"}  # CloudWatch Logs is not reachable here
        service["ports"] = []  # the host ports are the rehearsal's (tests/test_host_rehearsal.py)
    docker_daemon.load(*(web_stand_in(s["image"]) for s in services.values()))
    net = {naming.INGRESS_NETWORK: document["networks"][naming.INGRESS_NETWORK]}
    host = Ingress(
        docker_daemon, tmp_path_factory.mktemp("ingress"), {"services": services, "networks": net}
    )
    host.compose("up", "-d", "--wait", "--wait-timeout", "120")
    try:
        yield host
    finally:
        host.compose("down")


def test_dockerd_creates_the_ingress_network_without_inter_container_traffic(
    ingress: Ingress,
) -> None:
    network = ingress.network()
    assert network["Driver"] == "bridge"
    assert network["Options"].get(ICC) == "false", network["Options"]
    assert {c["Name"] for c in network["Containers"].values()} == set(CLIENTS)


def test_one_container_on_ingress_cannot_reach_another(ingress: Ingress) -> None:
    if not ingress.daemon.iptables:
        pytest.skip("dockerd runs without iptables here: enable_icc is not enforced")
    admin, web = CLIENTS
    # Each serves itself; neither reaches the other across the network.
    assert ingress.fetch(web, "http://127.0.0.1:8080/")
    assert not ingress.fetch(admin, f"http://{ingress.address(web)}:8080/")
    assert not ingress.fetch(web, f"http://{ingress.address(admin)}:8080/")
