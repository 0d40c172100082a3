"""What the Docker provider does with a plan's Docker resources, replayed on a real daemon.

pulumi-docker 5.x is the bridged kreuzwerker terraform-provider-docker (v4.5.0 at
pulumi-docker 5.1, upstream submodule). Its create and delete calls for
`docker.Network`, `docker.Volume` and `docker.Container` are replayed here through
the Docker Engine API, from the inputs the offline plan captured, the way
`resourceDockerContainerCreate` and `resourceDockerContainerDelete` make them
(internal/provider/resource_docker_container_funcs.go):

- create the container (config, host config: binds `volume:path:rw|ro`, port
  bindings, restart policy, read-only root, tmpfs, capabilities, security options,
  memory in MiB, log config, network mode);
- with `networks_advanced`: disconnect it from `bridge`, connect each network;
- each upload: a one-file tar whose header is the upload's full path (mode from
  `permissions`, octal, else 0644 or 0744; owner and group as the header's uid and
  gid, numeric as the SDK 5.2 docstring allows), `PUT /containers/{id}/archive?path=/`;
- start it unless `start` is false, then with `wait`, poll until it is healthy;
- delete: stop with `destroy_grace_seconds` as the timeout (0 without it), then remove
  with force.

No Pulumi engine runs here: this is the provider's side only, so a test can show
what the daemon accepts and does.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from plan.model import Plan, Resource, reveal

API = "/v1.41"  # dockerd 20.10's API version


class DockerApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass
class DockerApi:
    """The Docker Engine API on a unix socket."""

    socket: Path

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        timeout: float = 120,
    ) -> Any:
        url = API + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        connection = _UnixConnection(self.socket, timeout)
        try:
            headers = {"Content-Type": content_type} if data is not None else {}
            connection.request(method, url, body=data, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        if response.status >= 400:
            try:
                message = str(json.loads(payload).get("message", payload))
            except ValueError:
                message = payload.decode(errors="replace")
            raise DockerApiError(response.status, message)
        if not payload:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return payload

    def inspect(self, container: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.call("GET", f"/containers/{container}/json"))


def _duration_ns(value: Any) -> int:
    """`30s`, `5m`, `1h30m` as nanoseconds (Go's time.ParseDuration, the units used here)."""
    text, total, number = str(value), 0.0, ""
    units = {"ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
    i = 0
    while i < len(text):
        if text[i].isdigit() or text[i] == ".":
            number += text[i]
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else text[i]
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    return int(total)


def _list(value: Any) -> list[Any]:
    return list(cast(Sequence[Any], value)) if isinstance(value, list) else []


def container_body(inputs: Mapping[str, Any], image: str) -> dict[str, Any]:
    """The ContainerCreate body the provider sends for these (captured, camelCase) inputs."""
    config: dict[str, Any] = {"Image": image}
    if "envs" in inputs:
        config["Env"] = list(reveal(inputs["envs"]))
    if "command" in inputs:
        config["Cmd"] = list(inputs["command"])
    if "user" in inputs:
        config["User"] = inputs["user"]
    if "stopTimeout" in inputs:
        config["StopTimeout"] = int(inputs["stopTimeout"])
    labels = {str(item["label"]): str(item["value"]) for item in _list(inputs.get("labels"))}
    if labels:
        config["Labels"] = labels
    check = inputs.get("healthcheck")
    if isinstance(check, Mapping):
        c = cast(Mapping[str, Any], check)
        config["Healthcheck"] = {
            "Test": list(c["tests"]),
            **{
                key: _duration_ns(c[name])
                for key, name in (
                    ("Interval", "interval"),
                    ("Timeout", "timeout"),
                    ("StartPeriod", "startPeriod"),
                )
                if name in c
            },
            "Retries": int(c.get("retries", 0)),
        }
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in _list(inputs.get("ports")):
        key = f"{int(port['internal'])}/{port.get('protocol', 'tcp')}"
        exposed[key] = {}
        bindings.setdefault(key, []).append(
            {"HostIp": str(port.get("ip", "")), "HostPort": str(int(port["external"]))}
        )
    if exposed:
        config["ExposedPorts"] = exposed
    binds = [
        f"{v['volumeName']}:{v['containerPath']}:{'ro' if v.get('readOnly') else 'rw'}"
        for v in _list(inputs.get("volumes"))
    ]
    if binds:
        config["Volumes"] = {v["containerPath"]: {} for v in _list(inputs.get("volumes"))}
    capabilities = cast(Mapping[str, Any], inputs.get("capabilities") or {})
    host: dict[str, Any] = {
        "Privileged": bool(inputs.get("privileged", False)),
        "RestartPolicy": {"Name": str(inputs.get("restart", "no")), "MaximumRetryCount": 0},
        "ReadonlyRootfs": bool(inputs.get("readOnly", False)),
        "LogConfig": {
            "Type": str(inputs.get("logDriver", "json-file")),
            "Config": dict(cast(Mapping[str, str], inputs.get("logOpts") or {})),
        },
        "Binds": binds or None,
        "PortBindings": bindings or None,
        "Tmpfs": dict(cast(Mapping[str, str], inputs.get("tmpfs") or {})) or None,
        "CapAdd": list(capabilities.get("adds") or []) or None,
        "CapDrop": list(capabilities.get("drops") or []) or None,
        "SecurityOpt": list(inputs.get("securityOpts") or []) or None,
        "NetworkMode": str(inputs.get("networkMode", "default")),
    }
    if "memory" in inputs:
        host["Memory"] = int(inputs["memory"]) * 1024 * 1024
    config["HostConfig"] = host
    return config


def upload_tar(upload: Mapping[str, Any]) -> bytes:
    """One upload as the provider tars it: its full path as the name, extracted at /."""
    content = str(upload["content"]).encode()
    if upload.get("permissions"):
        mode = int(str(upload["permissions"]), 8)
    else:
        mode = 0o744 if upload.get("executable") else 0o644
    header = tarfile.TarInfo(str(upload["file"]))
    header.mode, header.size, header.mtime = mode, len(content), int(time.time())
    header.uid = int(upload.get("owner") or 0)
    header.gid = int(upload.get("group") or 0)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(header, io.BytesIO(content))
    return buffer.getvalue()


@dataclass
class Provider:
    """The provider's create and delete for a plan's Docker resources on one daemon.

    `images` maps the plan's image references to what the daemon has under them
    (the stand-ins are imported under the references themselves).
    """

    api: DockerApi
    plan: Plan

    def image_of(self, container: Resource) -> str:
        """The image reference behind the container's `image` (a RemoteImage's id)."""
        wanted = container.inputs["image"]
        for image in self.plan.of_type("docker:index/remoteImage:RemoteImage"):
            if wanted in (image.outputs.get("imageId"), image.outputs.get("repoDigest")):
                return str(image.inputs["name"])
        return str(wanted)

    def create_network(self, name: str) -> None:
        network = self.plan.named(name).inputs
        body = {
            "Name": network["name"],
            "Driver": network.get("driver", "bridge"),
            "Internal": bool(network.get("internal", False)),
            "CheckDuplicate": True,
        }
        self.api.call("POST", "/networks/create", body)

    def create_volume(self, name: str) -> None:
        volume = self.plan.named(name).inputs
        labels = {str(i["label"]): str(i["value"]) for i in _list(volume.get("labels"))}
        self.api.call("POST", "/volumes/create", {"Name": volume["name"], "Labels": labels or None})

    def create_container(
        self,
        name: str,
        *,
        image: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        wait_timeout: float | None = None,
    ) -> str:
        """Create (and, unless `start` is false, start) the plan's container `name`;
        `inputs` replaces the captured ones (an upgrade), `image` the image reference."""
        resource = self.plan.named(name)
        given = dict(inputs if inputs is not None else resource.inputs)
        body = container_body(given, image or self.image_of(resource))
        created = self.api.call(
            "POST", "/containers/create", body, query={"name": str(given["name"])}
        )
        container = str(created["Id"])
        networks = _list(given.get("networksAdvanced"))
        if networks:
            try:
                self.api.call("POST", "/networks/bridge/disconnect", {"Container": container})
            except DockerApiError as error:
                if "is not connected to the network bridge" not in error.message:
                    raise
            for network in networks:
                self.api.call(
                    "POST", f"/networks/{network['name']}/connect", {"Container": container}
                )
        for upload in _list(reveal(given.get("uploads"))):
            self.api.call(
                "PUT",
                f"/containers/{container}/archive",
                query={"path": "/"},
                raw=upload_tar(upload),
                content_type="application/x-tar",
            )
        if given.get("start", True) is not False:
            self.api.call("POST", f"/containers/{container}/start")
            if given.get("wait"):
                limit = wait_timeout if wait_timeout is not None else given.get("waitTimeout", 60)
                self.wait_healthy(container, float(limit))
        return container

    def wait_healthy(self, container: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.api.inspect(container)["State"]
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy":
                return
            if time.monotonic() > deadline or not state.get("Running"):
                log = (state.get("Health") or {}).get("Log") or []
                last = log[-1].get("Output", "") if log else state.get("Error", "")
                raise TimeoutError(f"{container[:12]} is {status or state.get('Status')}: {last}")
            time.sleep(0.5)

    def delete_container(self, container: str, inputs: Mapping[str, Any]) -> float:
        """Stop (timeout `destroyGraceSeconds`, else 0) and remove by force; seconds taken."""
        grace = int(inputs.get("destroyGraceSeconds") or 0)
        started = time.monotonic()
        try:
            self.api.call(
                "POST",
                f"/containers/{container}/stop",
                query={"t": str(grace)},
                timeout=grace + 60,
            )
        except DockerApiError as error:
            if error.status != 304:  # already stopped
                raise
        self.api.call("DELETE", f"/containers/{container}", query={"force": "1"})
        return time.monotonic() - started
