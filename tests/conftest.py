"""Shared fixtures: each committed stack is captured once per test session.

`plan_of(stack)` runs the real program under the mock engine (plan.engine) and
caches the result; tests that change config use `capture(stack, overrides)`,
which always runs afresh. A test of one component builds its own stack instead
(`built(environment, **sections)`, a `tests.factories.cloud_stack` captured once per
distinct config), so an edit of a committed stack file leaves it alone. Every
capture resets the Pulumi runtime first (`reset_options`, then `set_mocks`), so
state never leaks between tests.

Tests that run a real engine carry the `real_engine` marker: every test that uses
the `docker_daemon` fixture (directly or through another fixture) gets it here;
those on PostgreSQL or the AWS API emulator declare it themselves. So
`pytest -m "not real_engine"` is the quick loop over the program's own logic.
"""

from __future__ import annotations

import copy
import gc
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

import pytest
import yaml

from plan import engine, stack_config
from plan.model import Plan
from tests import factories
from tests.engines import docker

CLOUD_STACKS = ("dev", "staging", "prod")
# The test stack that runs on ECS: a committed stack with these services on Fargate.
ECS_SERVICES = ("ticketing", "payments")
TICKETING_ON_ECS: dict[str, Any] = {
    "cpu": 512,
    "memoryMb": 1024,
    "desiredCount": 3,
    "minCount": 2,
    "maxCount": 10,
    "cpuTargetPercent": 55,
    "requestsPerTarget": 800,
}


# Fixtures that start a real engine; a test whose fixtures include one is a real-engine test.
ENGINE_FIXTURES = frozenset({"docker_daemon"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_engine: runs a real engine (dockerd, PostgreSQL, the AWS API emulator)",
    )
    # Every capture builds thousands of SDK objects that live to the end of the
    # session; collecting less often makes the suite about a quarter faster.
    gc.set_threshold(50_000, 20, 20)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_engine)


@cache
def _cached(stack: str) -> Plan:
    # A venue stack's StackReference reads its cloud stack's cached plan.
    return engine.capture(stack, plan_of=_cached)


def committed_stacks() -> list[str]:
    return stack_config.stacks(engine.PROJECT_DIR)


def ecs_overrides(stack: str = "dev", placement: str = "ecs") -> dict[str, Any]:
    """`stack`'s config with `ECS_SERVICES` placed by `placement` (ticketing sized by
    `TICKETING_ON_ECS`, payments on the defaults): the config a person would write."""
    config = yaml.safe_load((engine.PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    services = copy.deepcopy(config["ticketing:services"])
    for name in ECS_SERVICES:
        services[name]["host"] = placement
    services["ticketing"]["ecs"] = dict(TICKETING_ON_ECS)
    return {"ticketing:services": services}


@cache
def _ecs_cached(stack: str) -> Plan:
    return engine.capture(stack, overrides=ecs_overrides(stack), plan_of=_cached)


@pytest.fixture(scope="session")
def ecs_plan() -> Plan:
    """The dev stack with ticketing and payments on ECS Fargate, captured once."""
    return _ecs_cached("dev")


@pytest.fixture(scope="session")
def plan_of() -> Callable[[str], Plan]:
    """The captured plan of a committed stack, computed once per session."""
    return _cached


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return _cached("dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return _cached("prod")


@cache
def _built(key: str) -> Plan:
    environment, sections = json.loads(key)
    return engine.capture(environment, stack_file=factories.cloud_stack(environment, **sections))


@pytest.fixture(scope="session")
def built() -> Callable[..., Plan]:
    """The plan of a stack the test builds (`tests.factories.cloud_stack(environment,
    **sections)`), captured once per distinct config; no committed stack file is read."""

    def run(environment: str = "dev", **sections: Any) -> Plan:
        return _built(json.dumps([environment, sections], sort_keys=True))

    return run


@pytest.fixture
def capture() -> Callable[..., Plan]:
    """A fresh capture of `stack` with config `overrides` (`ticketing:key` -> value)."""

    def run(stack: str, overrides: Mapping[str, Any] | None = None, **kwargs: Any) -> Plan:
        kwargs.setdefault("plan_of", _cached)
        return engine.capture(stack, overrides=overrides, **kwargs)

    return run


@pytest.fixture(scope="session")
def docker_daemon() -> Iterator[docker.DockerDaemon]:
    """A real dockerd in its own namespaces (tests/engines/docker.py), one per session.

    Where it cannot start, the tests that need it skip saying why; with CI=true they fail.
    """
    try:
        daemon = docker.start_daemon()
    except docker.DaemonUnavailableError as error:
        if docker.in_ci():
            pytest.fail(f"a real Docker daemon is required in CI: {error}")
        pytest.skip(f"no real Docker daemon here: {error}")
    try:
        yield daemon
    finally:
        daemon.stop()
