"""The bootstrap stack's picture: who may become which role, from GitHub to AWS.

GitHub Actions' tokens enter AWS through the OIDC provider; each role is drawn in its
environment with the token subjects its trust admits, read from the captured trust
policies, and its managed policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast, get_args

from components.delivery.github_oidc import RoleKind
from components.settings.validators import Environment
from plan.model import Plan, Resource
from plan.resource_types import IAM_ROLE, IAM_ROLE_POLICY_ATTACHMENT, OIDC_PROVIDER

SUB_KEY = "token.actions.githubusercontent.com:sub"


def is_identity_plan(plan: Plan) -> bool:
    """GitHub's OIDC provider in the plan: the bootstrap stack."""
    return bool(plan.of_type(OIDC_PROVIDER))


def subjects(role: Resource) -> list[str]:
    """The `sub` values a role's trust admits, in the order written."""
    raw = role.inputs.get("assumeRolePolicy")
    try:
        document: Any = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return []
    found: list[str] = []
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    for statement in cast(list[Any], statements):
        conditions = cast(Mapping[str, Any], statement.get("Condition") or {})
        for operator in conditions.values():
            value = cast(Mapping[str, Any], operator).get(SUB_KEY)
            if value is not None:
                found += [value] if isinstance(value, str) else [str(v) for v in value]
    return found


def _context(subject: str) -> str:
    """`repo:acme/infra:environment:prod` -> `environment:prod`."""
    return subject.split(":", 2)[2] if subject.count(":") >= 2 else subject


def identity_parts(plan: Plan) -> dict[str, Any]:
    """Plain data for the graph: the provider's URL, and per role its environment,
    kind, admitted subjects and managed policy name."""
    [provider] = plan.of_type(OIDC_PROVIDER)
    managed = {
        r.parent: str(r.inputs.get("policyArn", "")).rsplit("/", 1)[-1]
        for r in plan.of_type(IAM_ROLE_POLICY_ATTACHMENT)
    }
    roles: list[dict[str, Any]] = []
    for role in plan.of_type(IAM_ROLE):
        name = str(role.inputs.get("name", role.name))
        admitted = subjects(role)
        if not admitted:
            continue  # not a CI role
        _, environment, kind = name.rsplit("-", 2)
        roles.append(
            {
                "id": name,
                "environment": environment,
                "kind": kind,
                "subjects": [_context(s) for s in admitted],
                "repository": admitted[0].split(":")[1],
                "managed": managed.get(role.urn),
            }
        )
    # The engine registers roles as their inputs resolve, in no fixed order: draw them in
    # the environments' order (dev, staging, prod) and each one's kinds in RoleKind's.
    roles.sort(
        key=lambda r: (_position(r["environment"], Environment), _position(r["kind"], RoleKind))
    )
    return {"url": str(provider.inputs.get("url", "")), "roles": roles}


def _position(value: str, literal: Any) -> tuple[int, str]:
    """Where `value` is among `literal`'s values, unknown ones last (by name)."""
    values = get_args(literal)
    return (values.index(value), "") if value in values else (len(values), value)
