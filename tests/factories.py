"""Fixtures built in the test, not read off a committed stack: captured resources.

`resource(type, name, **inputs)` is one captured resource as `plan.engine` records it
(custom, no provider), for tests of what reads plans (the cost estimate, the diagram,
the docs, the constraint check, the notes) that need a few resources with chosen
inputs rather than a whole stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plan.model import Resource


def resource(
    type_: str,
    name: str,
    /,
    *,
    stack: str = "dev",
    parent: str | None = None,
    outputs: Mapping[str, Any] | None = None,
    **inputs: Any,
) -> Resource:
    """A custom resource of `stack` with these inputs (and outputs, none by default)."""
    return Resource(
        urn=f"urn:pulumi:{stack}::ticketing::{type_}::{name}",
        type=type_,
        name=name,
        custom=True,
        parent=parent,
        provider=None,
        inputs=inputs,
        outputs=dict(outputs or {}),
    )


# The Cloudflare plan each environment's zone is on (components/settings/cloudflare.py says
# which features each plan has); a test's stack picks the same.
ZONE_PLANS = {"dev": "free", "staging": "pro", "prod": "business"}


def cloud_stack(environment: str = "dev", **sections: Any) -> dict[str, Any]:
    """A cloud stack file of the test's own: every required key, nothing from a committed stack.

    `sections` are set over it by config key without the `ticketing:` prefix, so
    `cloud_stack("prod", network={"cidr": "10.90.0.0/16", "azCount": 3})` is a prod
    stack whose network is exactly that. Values a test asserts on belong in `sections`:
    the base below only makes the stack valid (an edit of `Pulumi.prod.yaml` changes
    none of it).
    """
    config: dict[str, Any] = {
        "environment": environment,
        "domain": f"tickets-{environment}.example",
        "cloudflare": {
            "zoneId": "0123456789abcdef0123456789abcdef",
            "accountId": "fedcba9876543210fedcba9876543210",
            "plan": ZONE_PLANS[environment],
        },
        "network": {"cidr": "10.90.0.0/16", "azCount": 2},
        "services": {
            service: {"image": f"registry.example.org/{service}:1.0.0"}
            for service in ("ticketing", "payments", "identity", "notifications")
        },
        "webClients": {
            client: {"image": f"registry.example.org/{client}:1.0.0"}
            for client in ("client-web", "admin-portal")
        },
        "observability": {"alarmEmails": ["oncall@example.org"]},
    }
    if environment == "prod":
        config["backup"] = {"copyRegion": "eu-central-1"}
    config.update(sections)
    return {"config": {f"ticketing:{key}": value for key, value in config.items()}}
