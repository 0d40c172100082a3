"""The Docker boundary's settings, a few short lines under each resource in the plan tree.

A venue host runs one hardened container; whether it is hardened is in its
settings (restart policy, read-only root, port binding, healthcheck, ...), so
the tree shows them. Cloud resources stay one line each. Secret values are
never shown: of the environment only the variable names, of uploads the count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, cast

from plan.model import SECRET, Plan, Resource, Secret
from plan.resource_types import (
    DOCKER_CONTAINER,
    DOCKER_IMAGE,
    DOCKER_NETWORK,
    DOCKER_PROVIDER,
    DOCKER_VOLUME,
)

_ENV_NAME: Final = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")
SEP: Final = " · "


def _text(value: Any) -> str:
    """A scalar for people: secrets masked, numbers without a needless `.0`."""
    if isinstance(value, Secret):
        return SECRET
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _list(value: Any) -> list[Any]:
    return list(cast(Sequence[Any], value)) if isinstance(value, list | tuple) else []


def _map(value: Any) -> Mapping[str, Any]:
    return cast(Mapping[str, Any], value) if isinstance(value, Mapping) else {}


def _provider(resource: Resource, plan: Plan) -> list[str]:
    parts = [f"host {_text(resource.inputs.get('host', 'from DOCKER_HOST'))}"]
    ssh = resource.inputs.get("sshOpts")
    if isinstance(ssh, str):  # provider inputs arrive JSON-encoded
        try:
            options = [_text(o) for o in _list(json.loads(ssh)) if o != "-o"]
        except json.JSONDecodeError:
            options = [ssh]
        parts.append(f"ssh options {', '.join(options)}")
    if any(k in resource.inputs for k in ("caMaterial", "certMaterial", "keyMaterial")):
        parts.append("TLS client certificate (secret)")
    return [SEP.join(parts)]


def _image(resource: Resource, plan: Plan) -> list[str]:
    parts = [f"image {_text(resource.inputs.get('name'))}"]
    if resource.inputs.get("keepLocally") is True:
        parts.append("kept on the host when deleted")
    return [SEP.join(parts)]


def _network(resource: Resource, plan: Plan) -> list[str]:
    internal = resource.inputs.get("internal") is True
    driver = _text(resource.inputs.get("driver", "bridge"))
    return [f"driver {driver}{SEP}{'internal (no outbound)' if internal else 'not internal'}"]


def _volume(resource: Resource, plan: Plan) -> list[str]:
    parts = ["retained on delete" if resource.retain_on_delete else "deleted with the stack"]
    name = _text(resource.inputs.get("name", resource.name))
    if name != resource.name:
        parts.insert(0, f"volume {name}")
    return [SEP.join(parts)]


def _image_name(image: Any, plan: Plan) -> str:
    """The pulled image's name when the container runs a RemoteImage's id."""
    for pulled in plan.of_type(DOCKER_IMAGE):
        if image in (pulled.outputs.get("imageId"), pulled.outputs.get("repoDigest")):
            return _text(pulled.inputs.get("name"))
    return _text(image)


def _port(port: Mapping[str, Any]) -> str:
    ip = _text(port.get("ip", "0.0.0.0"))
    external = _text(port.get("external", "random"))
    internal = _text(port.get("internal"))
    return f"{ip}:{external}->{internal}/{_text(port.get('protocol', 'tcp'))}"


def _healthcheck(check: Mapping[str, Any]) -> str:
    """`healthcheck curl … https://localhost:8443/healthz every 30s (timeout 5s, ...)`."""
    tests = [_text(t) for t in _list(check.get("tests"))]
    if tests[:1] in (["CMD"], ["CMD-SHELL"]):
        tests = tests[1:]
    command = f"{tests[0]} … {tests[-1]}" if len(tests) > 2 else " ".join(tests)
    every = f" every {_text(check['interval'])}" if "interval" in check else ""
    timing = [
        f"{label} {_text(check[key])}"
        for key, label in (("timeout", "timeout"), ("retries", "retries"), ("startPeriod", "start"))
        if key in check
    ]
    return f"healthcheck {command or 'none'}{every}" + (f" ({', '.join(timing)})" if timing else "")


def _env_names(envs: Any) -> str:
    """`env A, B (values secret)`: the names only, whether or not the list is secret."""
    entries = _list(envs.value if isinstance(envs, Secret) else envs)
    names = [m.group(1) for e in entries if isinstance(e, str) and (m := _ENV_NAME.match(e))]
    if len(names) != len(entries):
        names.append(f"{len(entries) - len(names)} more")
    return f"env {', '.join(names) or 'none'} (values secret)"


def _container(resource: Resource, plan: Plan) -> list[str]:
    i = resource.inputs
    first = [
        f"image {_image_name(i.get('image'), plan)}",
        f"restart {_text(i.get('restart', 'no'))}",
    ]
    first.append(f"memory {_text(i['memory'])} MB" if "memory" in i else "no memory limit")
    if "user" in i:
        first.append(f"user {_text(i['user'])}")
    if i.get("start") is False:
        first.append("created, never started")
    if "destroyGraceSeconds" in i:
        first.append(f"stop grace {_text(i['destroyGraceSeconds'])} s")
    hardening = ["read-only root" if i.get("readOnly") is True else "writable root"]
    hardening += [f"tmpfs {path} ({_text(opts)})" for path, opts in _map(i.get("tmpfs")).items()]
    hardening.append("privileged" if i.get("privileged") is True else "not privileged")
    drops = _list(_map(i.get("capabilities")).get("drops"))
    if drops:
        hardening.append(f"cap drop {','.join(_text(d) for d in drops)}")
    hardening += [_text(o) for o in _list(i.get("securityOpts"))]
    if i.get("networkMode") is not None:
        hardening.append(f"network mode {_text(i['networkMode'])}")
    ports = [_port(_map(p)) for p in _list(i.get("ports"))]
    wiring = [f"port {', '.join(ports)}" if ports else "no published port"]
    wiring += [f"network {_text(_map(n).get('name'))}" for n in _list(i.get("networksAdvanced"))]
    volumes = [
        f"{_text(_map(v).get('volumeName') or _map(v).get('hostPath'))}:"
        f"{_text(_map(v).get('containerPath'))}{':ro' if _map(v).get('readOnly') is True else ''}"
        for v in _list(i.get("volumes"))
    ]
    files = [f"volumes {', '.join(volumes)}"] if volumes else []
    uploads = i.get("uploads")
    if uploads is not None:
        count = len(_list(uploads.value if isinstance(uploads, Secret) else uploads))
        files.append(f"uploads {count} files (contents secret)")
    check = i.get("healthcheck")
    log_opts = ", ".join(f"{k} {_text(v)}" for k, v in sorted(_map(i.get("logOpts")).items()))
    logs = f"logs {_text(i.get('logDriver', 'default driver'))}"
    lines = [SEP.join(first), SEP.join(hardening), SEP.join(wiring)]
    if files:
        lines.append(SEP.join(files))
    lines.append(_healthcheck(_map(check)) if check else "no healthcheck")
    lines.append(f"{logs} ({log_opts})" if log_opts else f"{logs}, no rotation")
    if "envs" in i:
        lines.append(_env_names(i["envs"]))
    return lines


DETAILS: Final[Mapping[str, Callable[[Resource, Plan], list[str]]]] = {
    DOCKER_PROVIDER: _provider,
    DOCKER_IMAGE: _image,
    DOCKER_NETWORK: _network,
    DOCKER_VOLUME: _volume,
    DOCKER_CONTAINER: _container,
}


def details(resource: Resource, plan: Plan) -> list[str]:
    """The lines shown under `resource` in the tree; [] for anything outside Docker."""
    describe = DETAILS.get(resource.type)
    return describe(resource, plan) if describe else []
