"""The CI identity's trust and permissions, a few short lines under each IAM resource.

Who may assume a role is the whole point of the bootstrap stack, so the tree shows
each role's trust (the federated provider, the audience, the allowed subjects) and
each policy's statements (effect, actions, resources) as the program wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from plan.model import Plan, Resource
from plan.resource_types import (
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    OIDC_PROVIDER,
)


def _document(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return cast(Mapping[str, Any], value) if isinstance(value, Mapping) else {}


def _listed(value: Any) -> list[str]:
    items = cast(Sequence[Any], value) if isinstance(value, list | tuple) else [value]
    return [str(v) for v in items if v is not None]


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = document.get("Statement")
    listed = cast(Sequence[Any], raw) if isinstance(raw, list) else [raw]
    return [cast(Mapping[str, Any], s) for s in listed if isinstance(s, Mapping)]


def _oidc_provider(resource: Resource, plan: Plan) -> list[str]:
    audiences = ", ".join(_listed(resource.inputs.get("clientIdLists")))
    return [f"issuer {resource.inputs.get('url')} · audience {audiences}"]


def _role(resource: Resource, plan: Plan) -> list[str]:
    lines: list[str] = []
    for statement in _statements(_document(resource.inputs.get("assumeRolePolicy"))):
        principal = cast(Mapping[str, Any], statement.get("Principal") or {})
        who = ", ".join(f"{k} {', '.join(_listed(v))}" for k, v in principal.items())
        lines.append(f"trust {statement.get('Action')} from {who}")
        conditions = cast(Mapping[str, Mapping[str, Any]], statement.get("Condition") or {})
        for operator, keys in conditions.items():
            for key, values in keys.items():
                lines.append(f"  {key} {operator} {', '.join(_listed(values))}")
    return lines


def _role_policy(resource: Resource, plan: Plan) -> list[str]:
    lines: list[str] = []
    for statement in _statements(_document(resource.inputs.get("policy"))):
        actions = ", ".join(_listed(statement.get("Action")))
        resources = ", ".join(_listed(statement.get("Resource")))
        line = f"{statement.get('Effect')} {actions} on {resources}"
        conditions = cast(Mapping[str, Mapping[str, Any]], statement.get("Condition") or {})
        when = [
            f"{key} {operator} {', '.join(_listed(values))}"
            for operator, keys in conditions.items()
            for key, values in keys.items()
        ]
        lines.append(f"{line} when {'; '.join(when)}" if when else line)
    return lines


def _attachment(resource: Resource, plan: Plan) -> list[str]:
    return [f"managed policy {resource.inputs.get('policyArn')}"]


DETAILS: dict[str, Callable[[Resource, Plan], list[str]]] = {
    OIDC_PROVIDER: _oidc_provider,
    IAM_ROLE: _role,
    IAM_ROLE_POLICY: _role_policy,
    IAM_ROLE_POLICY_ATTACHMENT: _attachment,
}


def details(resource: Resource, plan: Plan) -> list[str]:
    """The lines shown under a CI-identity IAM resource; [] for anything else.

    The cloud stacks' own roles (EC2, flow logs) trust a service, not a token, and
    stay one line each, like every other cloud resource.
    """
    describe = DETAILS.get(resource.type)
    if describe is None or not _is_ci_identity(resource, plan):
        return []
    return describe(resource, plan)


def _is_ci_identity(resource: Resource, plan: Plan) -> bool:
    """Under the `ticketing:delivery:CiIdentity` component, at any depth."""
    by_urn = {r.urn: r for r in plan.resources}
    parent = by_urn.get(resource.parent or "")
    while parent is not None:
        if parent.type.startswith("ticketing:delivery:"):
            return True
        parent = by_urn.get(parent.parent or "")
    return False
