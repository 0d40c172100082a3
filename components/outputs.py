"""A component's outputs, named once.

Every component declares what it offers as one frozen dataclass beside it,
`<Component>Outputs`, subclassing `ComponentOutputs`. Each field is named once:

- the field is the attribute consumers read (`network.outputs.vpc_id`);
- its camelCase form is the component's `register_outputs` key (`vpcId`);
- a field declared with `field(metadata=exported("what it is", people=...))`
  is also a stack output under that same key, which `__main__.py` exports from
  `stack_outputs()`; the description beside it (what the value means, who reads
  it) is what docs/stack-outputs.md says about it (`make docs`).

A stack output no component owns (the program's `environment`, `PROGRAM` below)
is declared with `describe` and exported through `Described.values(...)`, which
refuses a name without a description. `descriptions()` gathers both kinds.

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


@dataclasses.dataclass(frozen=True)
class StackOutput:
    """What one stack output is, and each kind of reader with what it reads it for.

    Args:
        meaning: what the value is, in a sentence or two.
        people: what a person reads it for (`pulumi stack output <name> -s <stack>`).
        venue_stacks: what a venue stack reads it for, through `pulumi.StackReference`.
        ci: which workflow reads it (`pulumi stack output` in its steps), and for what.
        plan: what `make plan` reads it for.
    """

    meaning: str
    people: str = ""
    venue_stacks: str = ""
    ci: str = ""
    plan: str = ""

    def __post_init__(self) -> None:
        if not self.meaning.strip():
            raise ValueError("a stack output's description needs its meaning")
        if not self.readers():
            raise ValueError(f"the stack output described as {self.meaning!r} names no reader")

    def readers(self) -> dict[str, str]:
        """Kind of reader -> what for, for the readers this output has."""
        kinds = {
            "people": self.people,
            "venue stacks (StackReference)": self.venue_stacks,
            "CI workflows": self.ci,
            "make plan": self.plan,
        }
        return {kind: text for kind, text in kinds.items() if text}


def exported(
    meaning: str, *, people: str = "", venue_stacks: str = "", ci: str = "", plan: str = ""
) -> Mapping[str, StackOutput]:
    """`field(metadata=exported(...))`: the field is a stack output as well as a registered
    one, with what it means and who reads it."""
    description = StackOutput(meaning, people, venue_stacks, ci, plan)
    return MappingProxyType({_EXPORTED: description})


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
    def described(cls) -> dict[str, StackOutput]:
        """The exported fields' descriptions by their key, without an instance."""
        return {
            output_key(f.name): f.metadata[_EXPORTED]
            for f in dataclasses.fields(cls)
            if isinstance(f.metadata.get(_EXPORTED), StackOutput)
        }

    @classmethod
    def exported_keys(cls) -> tuple[str, ...]:
        """The stack outputs' names, without an instance."""
        return tuple(
            output_key(f.name) for f in dataclasses.fields(cls) if f.metadata.get(_EXPORTED)
        )


@dataclasses.dataclass(frozen=True)
class Described:
    """The stack outputs one module exports as a plain dict, with their descriptions."""

    module: str
    outputs: Mapping[str, StackOutput]

    def values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` as the stack outputs to export: exactly the described names."""
        undescribed = sorted(set(values) - set(self.outputs))
        missing = sorted(set(self.outputs) - set(values))
        problems = [f"stack outputs without a description: {undescribed}"] if undescribed else []
        problems += [f"described but not exported: {missing}"] if missing else []
        if problems:
            raise ValueError(f"{self.module}: {'; '.join(problems)}")
        return dict(values)


_DESCRIBED: dict[str, tuple[str, StackOutput]] = {}
_PACKAGE = "components."


def describe(module: str, outputs: Mapping[str, StackOutput]) -> Described:
    """Declare the stack outputs `module` exports as a dict; a name belongs to one module."""
    for name in outputs:
        owner = _DESCRIBED.get(name, (module,))[0]
        if owner != module:
            raise ValueError(f"stack output {name} is described by {owner} and by {module}")
    _DESCRIBED.update({name: (module, output) for name, output in outputs.items()})
    return Described(module, dict(outputs))


def _subclasses(cls: type[ComponentOutputs]) -> list[type[ComponentOutputs]]:
    found: list[type[ComponentOutputs]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def descriptions() -> dict[str, tuple[str, StackOutput]]:
    """Every described stack output of the program's imported modules: name -> (module,
    description), from the `exported(...)` fields of every `ComponentOutputs` under
    `components` and every `describe`."""
    found = {name: d for name, d in _DESCRIBED.items() if d[0].startswith(_PACKAGE)}
    for cls in _subclasses(ComponentOutputs):
        if cls.__module__.startswith(_PACKAGE):
            found |= {key: (cls.__module__, d) for key, d in cls.described().items()}
    return found


# `__main__.py` exports it for every stack, beside the boundaries' outputs.
PROGRAM = describe(
    __name__,
    {
        "environment": StackOutput(
            "The environment the stack belongs to (`ticketing:environment`): `dev`, `staging` "
            "or `prod`. Every stack exports it.",
            people="which environment a stack is, without reading its stack file",
        )
    },
)
