"""Docker rules on engine-shaped container inputs (the venue Bastion's shape)."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules import docker
from tests.policy_helpers import UNKNOWN, run_resource_rule

CONTAINER: dict[str, Any] = {
    "name": "bastion",
    "image": "ghcr.io/example-tickets/bastion:4.2.0",
    "restart": "unless-stopped",
    "healthcheck": {
        "tests": ["CMD", "curl", "-fsS", "http://127.0.0.1:8443/healthz"],
        "interval": "30s",
        "retries": 3,
    },
    "ports": [{"internal": 8443, "external": 8443, "ip": "192.168.10.20", "protocol": "tcp"}],
    "networksAdvanced": [{"name": "bastion"}],
    "mustRun": True,
}


def container(**changes: Any) -> dict[str, Any]:
    return {**CONTAINER, **changes}


def test_no_privileged() -> None:
    rule = "docker-no-privileged"
    assert run_resource_rule(rule, docker.CONTAINER, container()).clean
    assert run_resource_rule(rule, docker.CONTAINER, container(privileged=True)).mentions(
        "privileged is true"
    )
    all_caps = container(capabilities={"adds": ["ALL"]})
    assert run_resource_rule(rule, docker.CONTAINER, all_caps).mentions("SYS_ADMIN")


def test_no_host_network() -> None:
    rule = "docker-no-host-network"
    assert run_resource_rule(rule, docker.CONTAINER, container()).clean
    assert run_resource_rule(rule, docker.CONTAINER, container(networkMode="host")).mentions(
        "networkMode is host"
    )
    joined = container(networksAdvanced=[{"name": "host"}])
    assert run_resource_rule(rule, docker.CONTAINER, joined).mentions("networksAdvanced[0]")


def test_restart_policy() -> None:
    rule = "docker-restart-policy"
    assert run_resource_rule(rule, docker.CONTAINER, container()).clean
    never = {k: v for k, v in CONTAINER.items() if k != "restart"}
    assert run_resource_rule(rule, docker.CONTAINER, never).mentions("restart is 'no'")
    assert run_resource_rule(rule, docker.CONTAINER, container(restart=UNKNOWN)).not_applicable


def test_healthcheck() -> None:
    rule = "docker-healthcheck"
    assert run_resource_rule(rule, docker.CONTAINER, container()).clean
    none = {k: v for k, v in CONTAINER.items() if k != "healthcheck"}
    assert run_resource_rule(rule, docker.CONTAINER, none).mentions("no healthcheck")
    disabled = container(healthcheck={"tests": ["NONE"]})
    assert run_resource_rule(rule, docker.CONTAINER, disabled).mentions("no healthcheck")


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/example-tickets/bastion:4.2.0",
        "registry.local:5000/bastion:4.2.0",
        "ghcr.io/example-tickets/bastion@sha256:" + "a" * 64,
        "sha256:" + "b" * 64,  # a RemoteImage's image_id
    ],
)
def test_pinned_images_pass(image: str) -> None:
    assert run_resource_rule("docker-image-pinned", docker.CONTAINER, container(image=image)).clean


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ghcr.io/example-tickets/bastion:latest", "moving latest tag"),
        ("ghcr.io/example-tickets/bastion", "no tag"),
        ("registry.local:5000/bastion", "no tag"),
    ],
)
def test_unpinned_images_fail(image: str, expected: str) -> None:
    outcome = run_resource_rule("docker-image-pinned", docker.CONTAINER, container(image=image))
    assert outcome.mentions(expected)


def test_remote_image_name_is_pinned_too() -> None:
    rule = "docker-image-pinned"
    assert run_resource_rule(rule, docker.REMOTE_IMAGE, {"name": "bastion:4.2.0"}).clean
    assert run_resource_rule(rule, docker.REMOTE_IMAGE, {"name": "bastion:latest"}).mentions(
        "name bastion:latest"
    )


def test_unknown_image_does_not_crash() -> None:
    # `image=remote_image.image_id` is unknown until the image is pulled.
    outcome = run_resource_rule("docker-image-pinned", docker.CONTAINER, container(image=UNKNOWN))
    assert outcome.violations == [] and outcome.not_applicable


def test_published_ports_bound_to_an_address() -> None:
    rule = "docker-ports-bound"
    assert run_resource_rule(rule, docker.CONTAINER, container()).clean
    everywhere = container(ports=[{"internal": 8443, "external": 8443}])
    assert run_resource_rule(rule, docker.CONTAINER, everywhere).messages == [
        "ports[0] (container port 8443) is published on every host address; bind it to one."
    ]
    wildcard = container(
        ports=[{"internal": 8443, "ip": "0.0.0.0"}, {"internal": 9000, "ip": "::"}]
    )
    assert len(run_resource_rule(rule, docker.CONTAINER, wildcard).violations) == 2
    unknown = container(ports=[{"internal": 8443, "ip": UNKNOWN}])
    assert run_resource_rule(rule, docker.CONTAINER, unknown).clean
