"""An origin only Cloudflare can reach: Authenticated Origin Pulls, mTLS verify on the ALB,
and the origin-lock header rotated with no window of 403s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.edge.origin import ORIGIN_HEADER
from plan.model import Plan, Secret

AOP_CERT = (
    "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate"
)
AOP_SETTINGS = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings"
LISTENER = "aws:lb/listener:Listener"
TRUST_STORE = "aws:lb/trustStore:TrustStore"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"


def reveal(value: Any) -> Any:
    return value.value if isinstance(value, Secret) else value


def test_the_zone_presents_the_stacks_own_client_certificate(
    plan_of: Callable[[str], Plan],
) -> None:
    plan = plan_of("prod")
    (cert,) = plan.of_type(AOP_CERT)
    client = plan.named("ingress-origin-pull-client")
    assert cert.inputs["certificate"] == client.outputs["certPem"]
    assert isinstance(cert.inputs["privateKey"], Secret)  # the key stays secret in state
    assert "client_auth" in client.inputs["allowedUses"]
    (settings,) = plan.of_type(AOP_SETTINGS)
    assert settings.inputs["enabled"] is True
    assert cert.urn in settings.depends_on  # enabled only once the certificate is there


def test_the_https_listener_verifies_against_a_trust_store_of_that_ca_only(
    plan_of: Callable[[str], Plan],
) -> None:
    plan = plan_of("prod")
    https = plan.named("ingress-https")
    (store,) = plan.of_type(TRUST_STORE)
    assert https.inputs["mutualAuthentication"] == {
        "mode": "verify",
        "trustStoreArn": store.outputs["arn"],
    }
    bundle = plan.named("ingress-trust-store-ca")
    assert bundle.inputs["content"] == plan.named("ingress-origin-pull-ca").outputs["certPem"]
    assert store.inputs["caCertificatesBundleS3Key"] == bundle.inputs["key"]
    assert plan.named("ingress-http").inputs.get("mutualAuthentication") is None


def test_nlb_health_checks_avoid_the_mtls_handshake(plan_of: Callable[[str], Plan]) -> None:
    # The NLB holds no client certificate: an HTTPS check would fail the handshake.
    groups = {g.inputs["port"]: g for g in plan_of("prod").of_type(TARGET_GROUP)}
    for port in (443.0, 80.0):
        check = groups[port].inputs["healthCheck"]
        assert (check["protocol"], check["port"], check["matcher"]) == ("HTTP", "80", "301")


def test_without_mtls_nothing_changes_at_the_origin(capture: Callable[..., Plan]) -> None:
    plan = capture("staging", {"ticketing:ingress": {"originMtls": "off"}})
    assert plan.of_type(AOP_CERT) == [] and plan.of_type(TRUST_STORE) == []
    assert plan.named("ingress-https").inputs.get("mutualAuthentication") is None
    groups = {g.inputs["port"]: g for g in plan.of_type(TARGET_GROUP)}
    assert groups[443.0].inputs["healthCheck"]["protocol"] == "HTTPS"
    assert groups[443.0].inputs["healthCheck"]["matcher"] == "403"


def sent_and_accepted(plan: Plan) -> tuple[str, set[str]]:
    (rule,) = reveal(plan.named("edge-origin-lock").inputs["rules"])
    sent = rule["actionParameters"]["headers"][ORIGIN_HEADER]["value"]
    accepted: list[set[str]] = []
    for listener_rule in plan.of_type(LISTENER_RULE):
        conditions = reveal(listener_rule.inputs["conditions"])
        (values,) = [c["httpHeader"]["values"] for c in conditions if "httpHeader" in c]
        accepted.append(set(values))
    assert accepted and all(a == accepted[0] for a in accepted)
    return sent, accepted[0]


def no_window(before: Plan, after: Plan) -> bool:
    """A deployment updates the edge and the ALB in either order: whatever the edge sends,
    before or after, the ALB accepts, before or after."""
    (sent_before, ok_before), (sent_after, ok_after) = map(sent_and_accepted, (before, after))
    return {sent_before, sent_after} <= (ok_before & ok_after)


@pytest.fixture(scope="module")
def rotation(plan_of: Callable[[str], Plan]) -> list[Plan]:
    from plan import engine

    steps: list[dict[str, Any]] = [
        {},
        {"generationB": 2},  # 1. a new value in the slot not being sent
        {"generationB": 2, "send": "b"},  # 2. send it
    ]
    return [
        engine.capture(
            "staging",
            overrides={"ticketing:ingress": {"originSecret": step}},
            plan_of=plan_of,
        )
        for step in steps
    ]


def test_rotating_the_origin_secret_in_two_steps_never_sends_a_refused_value(
    rotation: list[Plan],
) -> None:
    start, added, switched = rotation
    assert sent_and_accepted(start)[0] != sent_and_accepted(switched)[0]  # it did rotate
    assert no_window(start, added) and no_window(added, switched)


def test_rotating_in_one_step_would_open_a_window(
    rotation: list[Plan], plan_of: Callable[[str], Plan]
) -> None:
    from plan import engine

    start, _, _ = rotation
    hasty = engine.capture(
        "staging",
        overrides={"ticketing:ingress": {"originSecret": {"generationB": 2, "send": "b"}}},
        plan_of=plan_of,
    )
    assert not no_window(start, hasty)
