"""One line each for what a plan chose that its resource tree does not say outright.

- the ingress shape: static IPs on an NLB in front of an internal ALB, or
  records pointing at an internet-facing ALB;
- a Cloudflare managed WAF that is not deployed, and why (the zone's plan).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, cast, get_args

from components.settings import CloudflarePlan, CloudflareSettings
from plan.diagram import topology
from plan.model import Plan
from plan.resource_types import DNS_RECORD, RULESET

MANAGED_WAF_PHASE: Final = "http_request_firewall_managed"
PLANS: Final[tuple[str, ...]] = get_args(CloudflarePlan)  # cheapest first


def zone_plan(plan: Plan) -> str:
    """The Cloudflare plan the stack config names for its zone (the settings' default if none)."""
    default = str(CloudflareSettings.model_fields["plan"].default)
    try:
        edge: Any = json.loads(plan.config.get(f"{plan.project}:cloudflare", "{}"))
    except json.JSONDecodeError:
        return default
    named = cast(Mapping[str, Any], edge).get("plan") if isinstance(edge, dict) else None
    return named if isinstance(named, str) else default


def managed_waf_note(plan: Plan) -> str | None:
    """Why the managed WAF rulesets are missing from a stack that has a Cloudflare edge."""
    rulesets = plan.of_type(RULESET)
    if not rulesets or any(r.inputs.get("phase") == MANAGED_WAF_PHASE for r in rulesets):
        return None
    tier = zone_plan(plan)
    exported = plan.outputs.get("managedWaf")
    said = "" if exported is None else f" (output managedWaf: {exported})"
    if tier == PLANS[0]:
        return (
            f'note: Cloudflare managed WAF rulesets are not deployed{said}: zone plan "{tier}" '
            f"does not include them ({PLANS[1]} or higher)"
        )
    return (
        f"note: Cloudflare managed WAF rulesets are not deployed{said}, "
        f'although zone plan "{tier}" includes them'
    )


def _proxied(plan: Plan, kind: tuple[str, ...]) -> list[str]:
    """Distinct targets of the proxied (public) records of the given types, in order."""
    targets = (
        r.inputs.get("content")
        for r in plan.of_type(DNS_RECORD)
        if r.inputs.get("proxied") is True and r.inputs.get("type") in kind
    )
    return list(dict.fromkeys(str(t) for t in targets if isinstance(t, str)))


def ingress_note(plan: Plan) -> str | None:
    """`ingress: static IPs via NLB ...` or `ingress: records point at the ALB ...`."""
    topo = topology(plan)
    if not topo.alb_names:
        return None
    albs, nlbs = topo.alb_names, topo.nlb_names
    addresses, names = _proxied(plan, ("A", "AAAA")), _proxied(plan, ("CNAME",))
    alb = albs[0] if len(albs) == 1 else f"{len(albs)} ALBs"
    facing = "internal" if topo.alb_internal else "internet-facing"
    if nlbs and addresses:
        ips, on = ", ".join(sorted(addresses)), ", ".join(nlbs)
        return (
            f"ingress: static IPs via NLB: Cloudflare -> {len(addresses)} static IPs "
            f"({ips}) on {on} -> {facing} ALB {alb}"
        )
    if names and not nlbs:
        return (
            f"ingress: records point at the ALB: Cloudflare -> CNAME {', '.join(names)} "
            f"({facing} ALB {alb}, no static IPs)"
        )
    return None


def notes(plan: Plan) -> list[str]:
    """Every note that applies to `plan`, in the order traffic flows: edge, then ingress."""
    found = [managed_waf_note(plan), ingress_note(plan)]
    return [n for n in found if n is not None]
