"""Docker rules for the containers Pulumi runs directly (the venue hosts' Bastion).

The cloud app host's containers are a compose document in SSM, not Docker
resources; the architecture rules read that document.
"""

from __future__ import annotations

from typing import Final

from pulumi_policy import ResourceValidationArgs, Severity

from policies.rules.common import (
    Category,
    Reporter,
    at,
    elements,
    entries,
    is_unknown,
    resource_rule,
    text,
)

CONTAINER: Final = "docker:index/container:Container"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"

RESTART_POLICIES: Final = frozenset({"always", "unless-stopped", "on-failure"})
WILDCARD_ADDRESSES: Final = frozenset({"", "0.0.0.0", "::", "[::]"})


def image_problem(reference: str) -> str | None:
    """Why an image reference is not pinned, or None when it is (tag or digest, not latest)."""
    if reference.startswith("sha256:"):
        return None  # an image id: as pinned as it gets
    name, _, digest = reference.partition("@")
    if digest:
        return None if digest.startswith("sha256:") else f"{reference} has an unknown digest"
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag:
        return f"{reference} has no tag (that means latest)"
    if tag == "latest":
        return f"{reference} uses the moving latest tag"
    return None


def _no_privileged(args: ResourceValidationArgs, report: Reporter) -> None:
    if at(args.props, "privileged") is True:
        report("privileged is true: the container has full access to the host.")
    added = [text(c) for c in elements(at(args.props, "capabilities", "adds"))]
    if any(c and c.upper() in ("ALL", "CAP_ALL", "SYS_ADMIN", "CAP_SYS_ADMIN") for c in added):
        report("capabilities.adds grants ALL or SYS_ADMIN, which is privileged in effect.")


def _no_host_network(args: ResourceValidationArgs, report: Reporter) -> None:
    if at(args.props, "networkMode") == "host":
        report("networkMode is host: the container shares the host's network stack.")
    for i, network in enumerate(elements(at(args.props, "networksAdvanced"))):
        if at(network, "name") == "host":
            report(f"networksAdvanced[{i}] joins the host network.")


def _never_started(args: ResourceValidationArgs) -> bool:
    """A container created only to hold files (start and mustRun false) never runs: it
    needs neither a restart policy nor a healthcheck."""
    if at(args.props, "start") is False and at(args.props, "mustRun") is False:
        args.not_applicable("the container is created and never started")
        return True
    return False


def _restart_policy(args: ResourceValidationArgs, report: Reporter) -> None:
    if _never_started(args):
        return
    restart = at(args.props, "restart")
    if is_unknown(restart):
        args.not_applicable("restart can't be known during preview")
        return
    if restart not in RESTART_POLICIES:
        shown = text(restart) or "no"
        report(f"restart is {shown!r}: the container stays down after a crash or reboot.")


def _healthcheck(args: ResourceValidationArgs, report: Reporter) -> None:
    if _never_started(args):
        return
    tests = at(args.props, "healthcheck", "tests")
    if is_unknown(tests):
        args.not_applicable("the healthcheck can't be known during preview")
        return
    listed = [text(t) for t in elements(tests)]
    if not listed or listed[0] == "NONE":
        report("no healthcheck: Docker can't tell a hung container from a healthy one.")


def _image_pinned(args: ResourceValidationArgs, report: Reporter) -> None:
    prop = "image" if args.resource_type == CONTAINER else "name"
    reference = at(args.props, prop)
    if is_unknown(reference):
        args.not_applicable(f"{prop} can't be known during preview")
        return
    if text(reference):
        problem = image_problem(str(reference))
        if problem:
            report(f"{prop} {problem}.")


def _ports_bound(args: ResourceValidationArgs, report: Reporter) -> None:
    for i, port in enumerate(elements(at(args.props, "ports"))):
        address = at(port, "ip")
        if is_unknown(port) or is_unknown(address):
            continue
        if address is None or text(address) in WILDCARD_ADDRESSES:
            internal = dict(entries(port)).get("internal")
            shown = f"{internal:g}" if isinstance(internal, float) else str(internal)
            report(
                f"ports[{i}] (container port {shown}) is published on every host address; "
                "bind it to one."
            )


POLICIES = [
    resource_rule(
        "docker-no-privileged",
        description="No container runs privileged (or with ALL/SYS_ADMIN capabilities).",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation="Remove privileged=True; add only the specific capabilities needed.",
        types=[CONTAINER],
        check=_no_privileged,
    ),
    resource_rule(
        "docker-no-host-network",
        description="No container uses the host network.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Attach the container to a named docker.Network and publish only its ports.",
        types=[CONTAINER],
        check=_no_host_network,
    ),
    resource_rule(
        "docker-restart-policy",
        description="Every container has a restart policy (always, unless-stopped or on-failure).",
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        remediation='Set restart="unless-stopped".',
        types=[CONTAINER],
        check=_restart_policy,
    ),
    resource_rule(
        "docker-healthcheck",
        description="Every container has a healthcheck.",
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        remediation='Set healthcheck={"tests": ["CMD", ...], "interval": "30s", ...}.',
        types=[CONTAINER],
        check=_healthcheck,
    ),
    resource_rule(
        "docker-image-pinned",
        description="Images are pinned to a tag or digest: never latest, never untagged.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Use name:version or name@sha256:digest (ticketing:venue.bastionImage).",
        types=[CONTAINER, REMOTE_IMAGE],
        check=_image_pinned,
    ),
    resource_rule(
        "docker-ports-bound",
        description="Published ports are bound to a specific host address, not 0.0.0.0 or ::.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set ip= on each ports entry (e.g. the venue LAN address, ticketing:venue."
        "lanAddress).",
        types=[CONTAINER],
        check=_ports_bound,
    ),
]
