"""The bootstrap stack's diagram: GitHub Actions, the OIDC provider, each environment's
roles with the subjects their captured trust admits; not the cloud deployment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from plan import diagram
from plan.identity_diagram import identity_parts, is_identity_plan, subjects
from plan.model import Plan
from plan.resource_types import IAM_ROLE


def test_the_bootstrap_stack_is_drawn_as_its_ci_identity(plan_of: Callable[[str], Plan]) -> None:
    plan = plan_of("bootstrap")
    assert is_identity_plan(plan) and not is_identity_plan(plan_of("dev"))
    graph = diagram.deployment_graph(plan)
    assert graph.title == "CI identity — stack bootstrap"
    assert "CDN" not in {n.label for n in graph.nodes}  # not the seed's cloud picture
    assert graph.node("github").label == "GitHub Actions\nexample-tickets/ticketing-infra"
    assert [c.label for c in graph.clusters if c.parent == "aws"] == ["dev", "staging", "prod"]
    deploy = graph.node("ticketing_prod_deploy")
    assert deploy.cluster == "env_prod"
    assert deploy.label.splitlines() == [
        "ticketing-prod-deploy",
        "environment:prod",
        "PowerUserAccess",
    ]
    preview = graph.node("ticketing_dev_preview").label.splitlines()
    assert preview[1:3] == ["pull_request", "ref:refs/heads/main"]
    roles = [n for n in graph.nodes if n.cluster and n.cluster.startswith("env_")]
    assert len(roles) == len(plan.of_type(IAM_ROLE)) == 9
    assert {e.head for e in graph.edges if e.tail == "oidc"} == {n.id for n in roles}


def test_subjects_are_read_from_the_trust_as_written(plan_of: Callable[[str], Plan]) -> None:
    [role] = [r for r in plan_of("bootstrap").of_type(IAM_ROLE) if r.name == "ci-staging-venue"]
    assert subjects(role) == ["repo:example-tickets/ticketing-infra:environment:venue-staging-*"]


def test_roles_are_drawn_in_a_fixed_order_whatever_order_they_registered_in(
    plan_of: Callable[[str], Plan],
) -> None:
    """The engine registers a role once its trust policy (an Output) resolves, so the
    capture's order varies from run to run; the drawing must not."""
    plan = plan_of("bootstrap")
    reversed_plan = dataclasses.replace(plan, resources=plan.resources[::-1])
    expected = [
        f"ticketing-{environment}-{kind}"
        for environment in ("dev", "staging", "prod")
        for kind in ("preview", "deploy", "venue")
    ]
    for captured in (plan, reversed_plan):
        assert [r["id"] for r in identity_parts(captured)["roles"]] == expected
        graph = diagram.deployment_graph(captured)
        drawn = [n.id for n in graph.nodes if n.cluster and n.cluster.startswith("env_")]
        assert drawn == [role.replace("-", "_") for role in expected]
