"""A component's outputs, named once.

Every component declares what it offers as one frozen dataclass beside it,
`<Component>Outputs`, subclassing `ComponentOutputs`. Each field is named once:

- the field is the attribute consumers read (`network.outputs.vpc_id`);
- its camelCase form is the component's `register_outputs` key (`vpcId`);
- a field declared with `field(metadata=EXPORTED)` is also a stack output
  under that same key, which `__main__.py` exports from `stack_outputs()`.

Only what the engine resolves later lives here (`pulumi.Output`s and the plain
values registered beside them); construction-time wiring (a `compose` plan, a
resource to wait for) stays an ordinary attribute of the component.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_EXPORTED = "exported"
# `field(metadata=EXPORTED)`: the field is a stack output as well as a registered one.
EXPORTED: Mapping[str, bool] = MappingProxyType({_EXPORTED: True})


def output_key(attribute: str) -> str:
    """The registered and exported name of an outputs field: `vpc_id` -> `vpcId`."""
    head, *rest = attribute.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


@dataclasses.dataclass(frozen=True)
class ComponentOutputs:
    """Base of every `<Component>Outputs` dataclass."""

    def registered(self) -> dict[str, Any]:
        """Every field by its key: what the component passes to `register_outputs`."""
        return {output_key(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}

    def stack_outputs(self) -> dict[str, Any]:
        """The exported fields by their key, in declaration order."""
        return {
            output_key(f.name): getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get(_EXPORTED)
        }

    @classmethod
    def exported_keys(cls) -> tuple[str, ...]:
        """The stack outputs' names, without an instance."""
        return tuple(
            output_key(f.name) for f in dataclasses.fields(cls) if f.metadata.get(_EXPORTED)
        )
