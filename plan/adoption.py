"""Adopting a zone that already has rules and records: the `pulumi import` commands.

A Cloudflare zone holds one entry-point ruleset per phase; a zone that already
has one in a phase the edge owns refuses a second, and a record the edge owns
may already exist. For each, the plan prints the command that brings it under
this stack, with the type token and import id format of the provider's docs
(pulumi-cloudflare 6.x, "Import" of `Ruleset` and `DnsRecord`), the resource's
name, its parent component and its provider, so the imported URN is the one
the program registers.
"""

from __future__ import annotations

import shlex

from plan.model import Plan, Resource
from plan.resource_types import DNS_RECORD, RULESET

COMMAND = "pulumi import"
EDGE = "ticketing:cloudflare:CloudflareEdge"


def _quote(value: str) -> str:
    return shlex.quote(value)


def _placeholder(resource: Resource) -> str:
    """The import id with the part only the zone knows as `<...>`."""
    zone = str(resource.inputs.get("zoneId", "<zone id>"))
    if resource.type == RULESET:
        return f"zones/{zone}/<{resource.inputs.get('phase')} ruleset id>"
    return f"{zone}/<record id of {resource.inputs.get('type')} {resource.inputs.get('name')}>"


def _command(plan: Plan, resource: Resource) -> str:
    by_urn = {r.urn: r for r in plan}
    parts = [COMMAND, "--stack", plan.stack, _quote(resource.type), resource.name]
    parts.append(_quote(resource.import_id or _placeholder(resource)))
    if resource.parent and resource.parent in by_urn:
        parent = by_urn[resource.parent]
        parts += ["--parent", _quote(f"{parent.name}={parent.urn}")]
    if resource.provider:
        provider = by_urn.get(resource.provider)
        name = provider.name if provider else resource.provider.rsplit("::", 1)[-1]
        parts += ["--provider", _quote(f"{name}={resource.provider}")]
    return " ".join([*parts, "--generate-code=false"])


def owned(plan: Plan) -> list[Resource]:
    """The zone resources a real zone may already hold: the entry-point rulesets and the
    public hostnames' records. (ACM's validation records are new names per certificate.)"""
    edges = {r.urn for r in plan.of_type(EDGE)}
    return [r for r in plan if r.type == RULESET or (r.type == DNS_RECORD and r.parent in edges)]


def import_commands(plan: Plan) -> list[str]:
    """One `pulumi import` line per ruleset and record the stack owns, rulesets first."""
    found = sorted(owned(plan), key=lambda r: (r.type != RULESET, r.name))
    return [_command(plan, r) for r in found]


def adopted(plan: Plan) -> dict[str, str]:
    """Resource name -> import id, for those the stack config adopts (`cloudflare.adopt`)."""
    return {r.name: r.import_id for r in owned(plan) if r.import_id}
