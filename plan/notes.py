"""One line each for what a plan chose that its resource tree does not say outright.

- the ingress shape: static IPs on an NLB in front of an internal ALB, or
  records pointing at an internet-facing ALB;
- what the zone gets on its plan: managed WAF rulesets and their mode, how
  rate limits count, rules used per phase of the plan's allowance, Waiting
  Room, notifications, DNSSEC (from the captured resources and Cloudflare's
  published plan data);
- a managed WAF that is not deployed although the zone's plan includes it;
- the egress: where the NAT gateways (or the NAT instance) are, and why there;
- the alarms: who they e-mail, and that each address must confirm its subscription;
- a restored database: what it is restored from, and which instance the services use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, cast

from components.aws.nat_instance import PATCH_PATH
from components.settings import CloudflareSettings
from plan.diagram import topology
from plan.model import Plan, is_nat_instance
from plan.resource_types import (
    DNS_RECORD,
    EC2_INSTANCE,
    METRIC_ALARM,
    NAT_GATEWAY,
    RDS_INSTANCE,
    RULESET,
    SUBNET,
)
from seed.zone_plans import MANAGED_RULESET_IDS, ZONE_PLANS, cheapest_with, rule_limit

WAITING_ROOM: Final = "cloudflare:index/waitingRoom:WaitingRoom"
NOTIFICATION_POLICY: Final = "cloudflare:index/notificationPolicy:NotificationPolicy"
DNSSEC: Final = "cloudflare:index/zoneDnssec:ZoneDnssec"
ORIGIN_PULLS: Final = (
    "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings"
)
RULESET_NAMES: Final = {id_: name for name, id_ in MANAGED_RULESET_IDS.items()}

MANAGED_WAF_PHASE: Final = "http_request_firewall_managed"


def zone_plan(plan: Plan) -> str:
    """The Cloudflare plan the stack config names for its zone (the settings' default if none)."""
    default = str(CloudflareSettings.model_fields["zone_plan"].default)
    try:
        edge: Any = json.loads(plan.config.get(f"{plan.project}:cloudflare", "{}"))
    except json.JSONDecodeError:
        return default
    named = cast(Mapping[str, Any], edge).get("plan") if isinstance(edge, dict) else None
    return named if isinstance(named, str) else default


def managed_waf_note(plan: Plan) -> str | None:
    """Why the managed WAF rulesets are missing from a stack that has a Cloudflare edge
    (every plan includes at least the Free Managed Ruleset)."""
    rulesets = plan.of_type(RULESET)
    if not rulesets or any(r.inputs.get("phase") == MANAGED_WAF_PHASE for r in rulesets):
        return None
    return (
        "note: Cloudflare managed WAF rulesets are not deployed, "
        f'although zone plan "{zone_plan(plan)}" includes them'
    )


def _rules(resource: Any) -> list[Mapping[str, Any]]:
    value = resource.inputs.get("rules", [])
    value = getattr(value, "value", value)  # a secret's rules are counted all the same
    return [cast(Mapping[str, Any], r) for r in value] if isinstance(value, list) else []


def _waf(plan: Plan) -> str:
    executed: list[str] = []
    for ruleset in plan.of_type(RULESET):
        if ruleset.inputs.get("phase") != MANAGED_WAF_PHASE:
            continue
        for rule in _rules(ruleset):
            params = cast(Mapping[str, Any], rule.get("actionParameters") or {})
            if rule.get("action") == "execute":
                mode = "log" if params.get("overrides", {}).get("action") == "log" else "block"
                executed.append(
                    f"{RULESET_NAMES.get(str(params.get('id')), params.get('id'))} ({mode})"
                )
    return "WAF " + (", ".join(executed) if executed else "none")


def _counts(plan: Plan, tier: str) -> str:
    used: list[str] = []
    for ruleset in plan.of_type(RULESET):
        phase = str(ruleset.inputs.get("phase"))
        limit = rule_limit(tier, phase)
        if limit is not None:
            used.append(f"{phase} {len(_rules(ruleset))}/{limit}")
    return "rules used " + ", ".join(used)


def _rate_limits(plan: Plan) -> str:
    counted = {
        str(c)
        for ruleset in plan.of_type(RULESET)
        if ruleset.inputs.get("phase") == "http_ratelimit"
        for rule in _rules(ruleset)
        for c in cast(Mapping[str, Any], rule.get("ratelimit") or {}).get("characteristics", [])
        if c != "cf.colo.id"
    }
    venues = any(
        rule.get("ref") == "venue-egress-skips-rate-limits"
        for ruleset in plan.of_type(RULESET)
        for rule in _rules(ruleset)
    )
    by = " and ".join(sorted(counted)) or "nothing"
    return f"rate limits count by {by}" + (" (venue egress skips them)" if venues else "")


def edge_note(plan: Plan) -> str | None:
    """`edge: zone plan "free" gets ...`: what the stack deploys on its zone's plan."""
    if not plan.of_type(RULESET):
        return None
    tier = zone_plan(plan)
    entitled = ZONE_PLANS.get(tier)
    if entitled is None:
        return None
    rooms = len(plan.of_type(WAITING_ROOM))
    room = (
        f"Waiting Room {rooms}/{entitled.waiting_rooms}"
        if entitled.waiting_rooms
        else f"no Waiting Room ({cheapest_with('waiting_rooms')} plan and up)"
    )
    alerts = sorted(str(p.inputs.get("alertType")) for p in plan.of_type(NOTIFICATION_POLICY))
    parts = [
        _waf(plan),
        _rate_limits(plan),
        _counts(plan, tier),
        room,
        "alerts " + (", ".join(alerts) if alerts else "none (needs cloudflare.accountId)"),
        "DNSSEC " + ("on" if plan.of_type(DNSSEC) else "off"),
        "Authenticated Origin Pulls " + ("on" if plan.of_type(ORIGIN_PULLS) else "off"),
    ]
    return f'edge: zone plan "{tier}" gets: ' + "; ".join(parts)


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


def venue_notes(plan: Plan) -> list[str]:
    """`venue: ...` lines: where handhelds reach the Bastion, what they pin, the certificates'
    dates and the store's backup (from the `enrollment` and `backup` outputs)."""
    enrollment, backup = plan.outputs.get("enrollment"), plan.outputs.get("backup")
    if not isinstance(enrollment, Mapping):
        return []
    e = cast(Mapping[str, Any], enrollment)
    pins = ", ".join(f"sha256/{p}" for p in e.get("spkiPinsSha256", []))
    lines = [
        f"venue: handhelds reach the Bastion at {e.get('lanUrl')} and {e.get('hostnameUrl')}, "
        f"trusting the venue CA (SHA-256 {e.get('caFingerprintSha256')}) and pinning {pins}",
        f"venue: CA valid until {e.get('caNotAfter')}; server certificate valid until "
        f"{e.get('serverNotAfter')} (SHA-256 {e.get('serverCertificateSha256')}), "
        "renewed by a deploy in its last 60 days",
    ]
    if isinstance(backup, Mapping):
        b = cast(Mapping[str, Any], backup)
        lines.append(
            f"venue: offline store copied every {b.get('everyHours')} h into volume "
            f"{b.get('volume')}, newest {b.get('keep')} kept; restore: {b.get('restoreCommand')}"
        )
    return lines


def _zones(names: list[str]) -> str:
    ordered = sorted(dict.fromkeys(names))
    return ", ".join(ordered[:-1]) + (" and " if len(ordered) > 1 else "") + ordered[-1]


def egress_note(plan: Plan) -> str | None:
    """`egress: 1 NAT gateway in eu-west-1a: the zone with the app host; ...`: where the
    private subnets leave the VPC, and why there (from the subnets the NATs and hosts use)."""
    subnets = plan.of_type(SUBNET)
    if not subnets:
        return None
    zone = {s.id: str(s.inputs.get("availabilityZone", "?")) for s in subnets}
    private = [zone[s.id] for s in subnets if (s.inputs.get("tags") or {}).get("tier") == "private"]
    instances = plan.of_type(EC2_INSTANCE)
    nat_instances = [i for i in instances if is_nat_instance(i)]
    hosts = [
        zone.get(str(i.inputs.get("subnetId")), "?") for i in instances if i not in nat_instances
    ]
    gateways = [zone.get(str(g.inputs.get("subnetId")), "?") for g in plan.of_type(NAT_GATEWAY)]
    if nat_instances:
        nat = nat_instances[0]
        where = zone.get(str(nat.inputs.get("subnetId")), "?")
        return (
            f"egress: NAT instance {nat.inputs.get('instanceType')} in {where} for every private "
            f"subnet (no high availability; patches: {PATCH_PATH})"
        )
    if not gateways:
        return "egress: none: the private subnets have no route to the internet"
    count = f"{len(gateways)} NAT gateway" + ("s" if len(gateways) > 1 else "")
    host_zones = sorted(set(hosts))
    if sorted(set(gateways)) == host_zones:
        which = "the zones with app hosts" if len(host_zones) > 1 else "the zone with the app host"
        note = f"egress: {count} in {_zones(gateways)}: {which}"
    else:
        note = f"egress: {count} in {_zones(gateways)}, shared by every zone"
    away = sorted(set(private) - set(gateways))
    hostless = [z for z in away if z not in host_zones]
    hosted = [z for z in away if z in host_zones]
    first = sorted(gateways)[0]
    if hostless:
        hold, route = ("hold", "route") if len(hostless) > 1 else ("holds", "routes")
        note += f"; {_zones(hostless)} {hold} no app host and {route} through {first}'s gateway"
    if hosted:
        note += f"; the app hosts in {_zones(hosted)} reach {first}'s gateway across zones"
    return note


TOPIC_SUBSCRIPTION: Final = "aws:sns/topicSubscription:TopicSubscription"


def alarms_note(plan: Plan) -> str | None:
    """`alarms: 23 alarms e-mail a@example.com; ...`: SNS sends each e-mail address a
    confirmation link and delivers nothing to it until someone follows the link (the
    provider cannot confirm an e-mail subscription, nor delete one still pending)."""
    alarms = plan.of_type(METRIC_ALARM)
    emails = sorted(
        {
            str(s.inputs.get("endpoint"))
            for s in plan.of_type(TOPIC_SUBSCRIPTION)
            if s.inputs.get("protocol") in ("email", "email-json")
        }
    )
    if not alarms:
        return None
    count = f"{len(alarms)} alarm" + ("s" if len(alarms) > 1 else "")
    if not emails:
        return f"alarms: {count}, no e-mail address to notify (observability.alarmEmails is empty)"
    each = "the address" if len(emails) == 1 else "each address"
    return (
        f"alarms: {count} e-mail {', '.join(emails)}; {each} must confirm the "
        "subscription from the e-mail AWS sends after `pulumi up`, or no alarm reaches it"
    )


def restore_note(plan: Plan) -> str | None:
    """`database: ticketing-prod-db-restored restored from snapshot rds:...; the services
    use ticketing-prod-db`: which step of the restore runbook the stack is at."""
    restored = [
        r
        for r in plan.of_type(RDS_INSTANCE)
        if "snapshotIdentifier" in r.inputs or "restoreToPointInTime" in r.inputs
    ]
    if not restored:
        return None
    lines = []
    for instance in restored:
        inputs = instance.inputs
        if "snapshotIdentifier" in inputs:
            source = f"snapshot {inputs['snapshotIdentifier']}"
        else:
            point = cast(Mapping[str, Any], inputs["restoreToPointInTime"])
            when = point.get("restoreTime") or "its latest restorable time"
            source = f"{point.get('sourceDbInstanceIdentifier')} at {when}"
        lines.append(f"{inputs.get('identifier')} restored from {source}")
    services = cast(Mapping[str, Mapping[str, Any]], plan.outputs.get("services") or {})
    used = sorted({str(s.get("databaseInstance")) for s in services.values()})
    return f"database: {'; '.join(lines)}; the services use {', '.join(used)}"


def notes(plan: Plan) -> list[str]:
    """Every note that applies to `plan`, in the order traffic flows: edge, ingress, egress,
    then who the alarms reach, then the venue; then the program's warnings."""
    found = [
        edge_note(plan),
        managed_waf_note(plan),
        ingress_note(plan),
        egress_note(plan),
        alarms_note(plan),
        restore_note(plan),
    ]
    return [
        *(n for n in found if n is not None),
        *venue_notes(plan),
        *(f"warning: {w}" for w in plan.warnings),
    ]
