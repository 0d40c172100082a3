"""Shared helpers for the app-tier tests: a stack's config with one service changed, SSM lookups."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import yaml

from components.host import apply_document as host_apply
from plan.engine import PROJECT_DIR
from plan.model import Plan, Resource, is_nat_instance, reveal
from plan.resource_types import EC2_INSTANCE, SSM_PARAMETER


@cache
def _services(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config["ticketing:services"]


def services_with(service: str, stack: str = "dev", **changes: Any) -> dict[str, Any]:
    """An override of `ticketing:services`: `stack`'s services with `service`'s keys changed."""
    services = copy.deepcopy(_services(stack))
    services[service].update(changes)
    return {"ticketing:services": services}


def app_hosts(plan: Plan) -> list[Resource]:
    """The app hosts' VMs: every EC2 instance but the network's NAT instance (dev)."""
    return [r for r in plan.of_type(EC2_INSTANCE) if not is_nat_instance(r)]


def parameter(plan: Plan, name: str) -> Resource:
    matches = [r for r in plan.of_type(SSM_PARAMETER) if r.inputs.get("name") == name]
    assert len(matches) == 1, name
    return matches[0]


def parameter_value(plan: Plan, name: str) -> Any:
    inputs = parameter(plan, name).inputs
    return reveal(inputs.get("value", inputs.get("insecureValue")))


def compose_document(plan: Plan, host: str = "shared") -> dict[str, Any]:
    packed = parameter_value(plan, f"/ticketing/{plan.stack}/hosts/{host}/compose")
    return yaml.safe_load(host_apply.unpack_parameter(packed))


def under(plan: Plan, component_name: str, type_: str) -> list[Resource]:
    """Resources of `type_` anywhere below the component named `component_name`."""
    roots = [r.urn for r in plan if r.is_component and r.name == component_name]
    assert len(roots) == 1, component_name
    found: list[Resource] = []
    frontier = roots
    while frontier:
        children = [r for r in plan if r.parent in frontier]
        found += [r for r in children if r.type == type_]
        frontier = [r.urn for r in children]
    return found
