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
