"""What an offline plan captured: resources as the engine would see them, and outputs.

Consumers (the policy evaluator, the cost estimator, the diagram, the docs and
the tests) read these types only; they never touch the mock engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from plan.resource_types import EC2_INSTANCE

SECRET = "[secret]"


@dataclass(frozen=True)
class Resource:
    """One registered resource (custom, component, provider, or read).

    `inputs` and `outputs` use engine names (camelCase) at every depth, numbers
    as the engine sends them (floats in inputs); secret values are wrapped in
    `Secret`. `parent`, `provider` and the dependencies are URNs:

    - `dependencies`: every resource this one waits for, as the engine records
      it (and hands stack policies): explicit `depends_on`, a component as its
      children, plus every resource an input references;
    - `property_dependencies`: the resources each input references, by input;
    - `depends_on`: the `ResourceOptions(depends_on=...)` as the program wrote
      it, sorted; () without one. A target an input also references stays
      listed, and a component stays the component, where `dependencies` has
      its children instead (the SDK sends those to the engine). An Output
      names what it resolves to and the resources it came from, as the SDK
      counts them.
    """

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict[str, tuple[str, ...]]
    )
    additional_secret_outputs: tuple[str, ...] = ()
    read: bool = False
    id: str = ""  # the physical id the (fake) provider returned; "" for components
    import_id: str = ""  # `ResourceOptions(import_=...)`: the existing resource it adopts

    @property
    def is_component(self) -> bool:
        return not self.custom and not self.type.startswith("pulumi:")

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    @property
    def package(self) -> str:
        """`aws`, `cloudflare`, `docker`, `random`, `tls`, `ticketing` or `pulumi`."""
        if self.is_provider:
            return self.type.split(":")[2]
        return self.type.split(":")[0]


@dataclass(frozen=True)
class Secret:
    """A secret value in the capture. Shown as `[secret]`; `.value` for tests."""

    value: Any

    def __repr__(self) -> str:
        return SECRET


@dataclass
class Plan:
    """The captured program: resources in registration order, the stack outputs, and the
    stack config the program ran with."""

    project: str
    stack: str
    resources: list[Resource] = field(default_factory=list[Resource])
    outputs: dict[str, Any] = field(default_factory=dict[str, Any])
    config: Mapping[str, str] = field(default_factory=dict[str, str])
    """Full key -> value as the engine passes it (`plan.stack_config.load`): objects
    JSON-encoded, `secure:` values a placeholder. {} for a plan built by hand."""
    warnings: list[str] = field(default_factory=list[str])
    """What the program logged with `pulumi.log.warn`, as `pulumi preview` shows it."""

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Resource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, urn: str | None) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]


def reveal(value: Any) -> Any:
    """`value` with every `Secret` unwrapped, as the policy engine hands props over."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}  # type: ignore[misc]
    if isinstance(value, list | tuple):
        return [reveal(v) for v in value]  # type: ignore[misc]
    return value


def has_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, Mapping):
        return any(has_secret(v) for v in value.values())  # type: ignore[misc]
    if isinstance(value, list | tuple):
        return any(has_secret(v) for v in value)  # type: ignore[misc]
    return False


def is_nat_instance(resource: Resource) -> bool:
    """An EC2 instance with source/destination check off forwards others' traffic: a NAT.

    The cost estimate and the diagram show it as networking, not as an app host.
    """
    return resource.type == EC2_INSTANCE and resource.inputs.get("sourceDestCheck") is False
