"""Every component has one shape: `Thing(name, args: ThingArgs, opts=None)`.

`ThingArgs` is a frozen dataclass of what the component uses, built by its
classmethod `of` (from the stack settings for a boundary, from its parent's
args inside one); no component module names the stack settings outside `of`;
the caller names the component; and the outputs are declared once, in
`ThingOutputs`, which gives the attributes, the `register_outputs` keys and
the stack outputs (`components.outputs`).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pytest

import components
from components.outputs import ComponentOutputs, exported, output_key
from plan.model import Plan

ROOT = Path(__file__).resolve().parents[1]
# The stack settings as a whole (and the venue section the Bastion used to take).
STACK_SETTINGS = {"CloudSettings", "VenueStackSettings", "BootstrapSettings", "VenueSettings"}
# Still on their old argument shapes; each leaves this set as it is converted (none left).
PENDING: set[str] = set()


def _modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(components.__path__, "components."):
        yield importlib.import_module(info.name)


def _components() -> dict[str, type[pulumi.ComponentResource]]:
    found: dict[str, type[pulumi.ComponentResource]] = {}
    for module in _modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == module.__name__:
                found[cls.__name__] = cls
    return found


COMPONENTS = _components()
SHAPED = sorted(set(COMPONENTS) - PENDING)


def _module_of(cls: type) -> ModuleType:
    return importlib.import_module(cls.__module__)


def _source(cls: type) -> ast.Module:
    return ast.parse(Path(inspect.getfile(_module_of(cls))).read_text())


def _class_node(cls: type) -> ast.ClassDef:
    return next(
        n for n in ast.walk(_source(cls)) if isinstance(n, ast.ClassDef) and n.name == cls.__name__
    )


def _method(node: ast.ClassDef, name: str) -> ast.FunctionDef:
    return next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == name)


def _outputs_of(cls: type) -> type[ComponentOutputs]:
    """The class's own `outputs` annotation (the SDK's base classes' ones do not resolve)."""
    return inspect.get_annotations(cls, eval_str=True)["outputs"]


def _frozen_dataclass(cls: type) -> bool:
    params = getattr(cls, "__dataclass_params__", None)
    return dataclasses.is_dataclass(cls) and bool(params and params.frozen)


def test_every_component_is_found_and_pending_ones_exist() -> None:
    # The walk must see the program's components, or every test below passes vacuously.
    assert {"AwsNetwork", "CloudflareEdge", "AppTier", "VenueHost", "CiIdentity"} <= set(COMPONENTS)
    assert len(COMPONENTS) >= 16
    assert set(COMPONENTS) >= PENDING


@pytest.mark.parametrize("component", SHAPED)
def test_init_takes_name_args_and_opts(component: str) -> None:
    cls = COMPONENTS[component]
    parameters = list(inspect.signature(cls.__init__).parameters.values())
    assert [p.name for p in parameters] == ["self", "name", "args", "opts"], component
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters), component
    assert parameters[3].default is None, f"{component}: opts defaults to None"
    hints = typing.get_type_hints(cls.__init__)
    assert hints["name"] is str, component
    args = hints["args"]
    assert args.__name__ == f"{component}Args", f"{component}: args is {args.__name__}"
    assert _frozen_dataclass(args), f"{args.__name__} is a frozen dataclass"
    assert isinstance(inspect.getattr_static(args, "of"), classmethod), (
        f"{args.__name__}.of is a classmethod"
    )


@pytest.mark.parametrize("component", SHAPED)
def test_outputs_are_one_frozen_dataclass(component: str) -> None:
    cls = COMPONENTS[component]
    outputs = _outputs_of(cls)
    assert outputs.__name__ == f"{component}Outputs", component
    assert issubclass(outputs, ComponentOutputs), component
    assert _frozen_dataclass(outputs), component


@pytest.mark.parametrize("component", SHAPED)
def test_the_caller_names_the_component(component: str) -> None:
    init = _method(_class_node(COMPONENTS[component]), "__init__")
    assigned = {
        t.id
        for n in ast.walk(init)
        if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for t in ([n.target] if not isinstance(n, ast.Assign) else n.targets)
        if isinstance(t, ast.Name)
    }
    assert "name" not in assigned, f"{component}.__init__ computes its own name"
    supers = [
        n
        for n in ast.walk(init)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "__init__"
        and isinstance(n.func.value, ast.Call)
        and isinstance(n.func.value.func, ast.Name)
        and n.func.value.func.id == "super"
    ]
    assert len(supers) == 1, component
    second = supers[0].args[1]
    assert isinstance(second, ast.Name) and second.id == "name", component


@pytest.mark.parametrize("component", SHAPED)
def test_outputs_are_registered_from_their_declaration(component: str) -> None:
    calls = [
        n
        for n in ast.walk(_class_node(COMPONENTS[component]))
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "register_outputs"
    ]
    assert len(calls) == 1, f"{component} registers its outputs once"
    assert ast.unparse(calls[0].args[0]) == "self.outputs.registered()", component


def _settings_uses(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, name) of every mention of the stack settings outside imports and `of`."""

    def visit(node: ast.AST, inside_of: bool) -> Iterator[tuple[int, str]]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            return
        if isinstance(node, ast.FunctionDef) and node.name == "of":
            inside_of = True
        name = (
            node.id
            if isinstance(node, ast.Name)
            else node.attr
            if isinstance(node, ast.Attribute)
            else None
        )
        if name in STACK_SETTINGS and not inside_of:
            yield getattr(node, "lineno", 0), name
        for child in ast.iter_child_nodes(node):
            yield from visit(child, inside_of)

    yield from visit(tree, False)


def _component_modules() -> list[str]:
    return sorted(
        {c.__module__ for name, c in COMPONENTS.items() if name not in PENDING}
        - {c.__module__ for name, c in COMPONENTS.items() if name in PENDING}
    )


@pytest.mark.parametrize("module", _component_modules())
def test_only_of_reads_the_stack_settings(module: str) -> None:
    path = Path(inspect.getfile(importlib.import_module(module)))
    uses = list(_settings_uses(ast.parse(path.read_text())))
    where = ", ".join(f"line {line}: {name}" for line, name in uses)
    assert not uses, f"{path.relative_to(ROOT)} names the stack settings outside `of` ({where})"


def test_the_settings_check_sees_a_use_outside_of() -> None:
    tree = ast.parse(
        "from components.settings import CloudSettings\n"
        "class A:\n"
        "    @classmethod\n"
        "    def of(cls, s: CloudSettings) -> None: ...\n"
        "def helper(s: settings.CloudSettings) -> None: ...\n"
    )
    assert list(_settings_uses(tree)) == [(5, "CloudSettings")]


@pytest.mark.parametrize(
    ("attribute", "key"),
    [
        ("vpc_id", "vpcId"),
        ("static_ips", "staticIps"),
        ("ci_oidc_provider_arn", "ciOidcProviderArn"),
        ("enrollment", "enrollment"),
    ],
)
def test_an_output_key_is_the_attribute_in_camel_case(attribute: str, key: str) -> None:
    assert output_key(attribute) == key


def test_registered_and_exported_come_from_the_same_fields() -> None:
    @dataclasses.dataclass(frozen=True)
    class Sample(ComponentOutputs):
        vpc_id: str = dataclasses.field(metadata=exported("The VPC.", people="p"))
        subnet_ids: tuple[str, ...] = ()

    sample = Sample("vpc-1", ("a", "b"))
    assert sample.registered() == {"vpcId": "vpc-1", "subnetIds": ("a", "b")}
    assert sample.stack_outputs() == {"vpcId": "vpc-1"}
    assert Sample.exported_keys() == ("vpcId",)


def _exported_keys(*component: str) -> set[str]:
    keys: set[str] = set()
    for name in component:
        keys |= set(_outputs_of(COMPONENTS[name]).exported_keys())
    return keys


# What `components/stacks.py` builds for each kind of stack, the boundaries `__main__.py` exports.
CLOUD = (
    "AwsNetwork",
    "EdgeCertificate",
    "Ingress",
    "CloudflareEdge",
    "AppTier",
    "VenueSyncCredentials",
)
BOUNDARIES: dict[str, tuple[str, ...]] = {
    "dev": CLOUD,
    "staging": CLOUD,
    "prod": CLOUD,
    "venue-dev-arena": ("VenueHost",),
    "bootstrap": ("CiIdentity",),
}


@pytest.mark.parametrize("stack", sorted(BOUNDARIES))
def test_stack_outputs_are_exactly_the_boundaries_exported_fields(
    stack: str, plan_of: Callable[[str], Plan]
) -> None:
    outputs: dict[str, Any] = plan_of(stack).outputs
    assert set(outputs) == {"environment"} | _exported_keys(*BOUNDARIES[stack])
