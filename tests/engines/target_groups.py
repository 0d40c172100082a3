"""A stand-in for an ALB's target groups: HAProxy, driven by a stand-in `aws elbv2`.

`TargetGroups.start()` runs Debian's HAProxy in a Docker daemon's network namespace
(where the containers' host ports are published): one backend per target group, one
server per registered target (the instance on a replica's host port), health-checked
over HTTP on the group's path, and one frontend per group that a client sends requests
through. `aws_wrapper()` is an `aws` for a script's PATH: `aws elbv2 ...` is answered
here through HAProxy's runtime API (its admin socket), anything else goes to the real AWS
CLI. What each call does, modelled on the ELBv2 API reference and botocore's waiters:

- `deregister-targets`: the server goes to maintenance: no new request reaches it, those
  in flight finish (an ALB's draining);
- `wait target-deregistered`: returns once the server has no request in flight, or
  after the deregistration delay (an ALB closes what is left then); fails on a target
  still registered, as the waiter would after its attempts;
- `register-targets`: the server is marked down and leaves maintenance, so it gets
  requests only after `rise` passing checks (an ALB's `initial` state until its healthy
  threshold);
- `wait target-in-service`: returns once the server is up (the waiter's `healthy`),
  fails after the waiter's 40 attempts of 15 s.

Like an ALB, HAProxy here never retries a request nor sends it to another target
(`retries 0`, no `option redispatch`): a request that reaches a container that goes away
fails. What it cannot show of a real ALB: its own timings (checks every second here,
not every 15 s, which makes a replace-all deploy fail for a shorter time than an ALB's
30 to 90 s, not longer), its fail-open routing when every target is unhealthy, its
connection handling across nodes, and IAM (the calls are not authorized here).
Every call is logged (`calls`), so a test can check their order.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/sbin:/bin")
# The target groups' deregistration delay (components/aws/routing.py).
DEREGISTRATION_DELAY_SECONDS = 30
# botocore's elbv2 waiters: 40 attempts, 15 s apart.
WAITER_SECONDS = 600
FRONTEND_BASE_PORT = 18000

ELBV2 = r"""
import json, socket, sys, time
config = json.load(open(sys.argv[1]))
args = sys.argv[2:]


def api(command):
    s = socket.socket(socket.AF_UNIX)
    s.connect(config["socket"])
    s.sendall(command.encode() + b"\n")
    out = s.makefile().read()
    s.close()
    return out


def option(name):
    return args[args.index(name) + 1]


def fail(code, message):
    sys.stderr.write(f"An error occurred ({code}): {message}\n")
    sys.exit(254)


arn = option("--target-group-arn")
if arn not in config["groups"]:
    fail("TargetGroupNotFound", f"One or more target groups not found: {arn}")
backend = config["groups"][arn]
fields = dict(item.split("=", 1) for item in option("--targets").split(","))
if fields.get("Id") != config["instance"]:
    fail("InvalidTarget", f"The following targets are not valid: {fields.get('Id')}")
server = f"p{fields['Port']}"
verb = " ".join(args[:2]) if args[0] == "wait" else args[0]
with open(config["log"], "a") as log:
    log.write(json.dumps({"call": verb, "group": backend, "port": int(fields["Port"]),
                          "at": time.time()}) + "\n")


def state():
    for line in api(f"show servers state {backend}").splitlines():
        cols = line.split()
        if len(cols) > 6 and cols[3] == server:
            return int(cols[5]), int(cols[6])
    fail("InvalidTarget", f"no target {server} in {backend}")


def in_flight():
    for line in api("show stat").splitlines():
        cols = line.split(",")
        if cols[:2] == [backend, server]:
            return int(cols[4] or 0)
    return 0


if verb == "deregister-targets":
    api(f"set server {backend}/{server} state maint")
elif verb == "register-targets":
    api(f"set server {backend}/{server} health down")
    api(f"set server {backend}/{server} state ready")
elif verb == "wait target-deregistered":
    deadline = time.monotonic() + config["delay"]
    if not state()[1] & 1:  # still registered: the waiter gives up after its attempts
        sys.exit("Waiter TargetDeregistered failed: Max attempts exceeded")
    while in_flight() and time.monotonic() < deadline:
        time.sleep(0.2)
elif verb == "wait target-in-service":
    deadline = time.monotonic() + config["waiter"]
    while state() != (2, 0):
        if time.monotonic() > deadline:
            sys.exit("Waiter TargetInService failed: Max attempts exceeded")
        time.sleep(0.2)
else:
    fail("InvalidAction", f"the stand-in does not answer elbv2 {verb}")
"""

CLIENT = r"""
import http.client, json, os, sys, time
port, path, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ok, failed, first = 0, [], None
while not os.path.exists(stop):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        if status == 200:
            ok += 1
        else:
            failed.append(str(status))
    except OSError as error:
        failed.append(type(error).__name__)
    time.sleep(0.02)
json.dump({"ok": ok, "failed": failed}, open(out, "w"))
"""


@dataclass(frozen=True)
class TargetGroup:
    """One target group: its ARN, its backend's name, its health check path, the host ports
    of its targets (one per replica)."""

    arn: str
    name: str
    health_check_path: str
    ports: tuple[int, ...]


@dataclass(frozen=True)
class ClientResult:
    """What a client looping requests through a target group saw."""

    ok: int
    failed: tuple[str, ...]


class TargetGroups:
    """HAProxy standing in for the ALB's target groups in `netns` (see the module)."""

    def __init__(
        self, netns: str, workdir: Path, groups: Sequence[TargetGroup], instance_id: str
    ) -> None:
        self.netns, self.workdir, self.instance_id = netns, workdir, instance_id
        self.groups = {g.name: g for g in groups}
        self.socket = workdir / "haproxy.sock"
        self.log = workdir / "elbv2.log"
        self.config = workdir / "elbv2.json"
        self._process: subprocess.Popen[bytes] | None = None
        self.frontends = {g.name: FRONTEND_BASE_PORT + i for i, g in enumerate(groups)}

    def haproxy_config(self) -> str:
        lines = [
            "global",
            f"  stats socket {self.socket} mode 600 level admin",
            "defaults",
            "  mode http",
            "  timeout connect 2s",
            "  timeout client 30s",
            "  timeout server 30s",
            "  # An ALB neither retries a failed request nor sends it to another target.",
            "  retries 0",
            "  default-server check inter 1s fall 2 rise 2",
        ]
        for name, group in self.groups.items():
            lines += [
                f"backend {name}",
                f"  option httpchk GET {group.health_check_path}",
                "  http-check expect status 200",
                *(f"  server p{port} 127.0.0.1:{port}" for port in group.ports),
                f"frontend {name}-in",
                f"  bind 127.0.0.1:{self.frontends[name]}",
                f"  default_backend {name}",
            ]
        return "\n".join(lines) + "\n"

    def aws_wrapper(self, real_aws: Path) -> str:
        """An `aws` whose `elbv2` calls this stand-in answers; the rest go to `real_aws`."""
        return (
            "#!/bin/sh\n"
            "# elbv2 calls go to the target groups' stand-in (HAProxy), the rest to the CLI.\n"
            'if [ "$1" = elbv2 ]; then\n'
            "  shift\n"
            f'  exec /usr/bin/python3 {self.workdir / "elbv2.py"} {self.config} "$@"\n'
            "fi\n"
            f'exec {real_aws} "$@"\n'
        )

    def start(self) -> None:
        assert HAPROXY, "haproxy is not installed (apt-get install haproxy, .ci/run)"
        (self.workdir / "haproxy.cfg").write_text(self.haproxy_config())
        (self.workdir / "elbv2.py").write_text(ELBV2)
        self.config.write_text(
            json.dumps(
                {
                    "socket": str(self.socket),
                    "log": str(self.log),
                    "instance": self.instance_id,
                    "groups": {g.arn: name for name, g in self.groups.items()},
                    "delay": DEREGISTRATION_DELAY_SECONDS,
                    "waiter": WAITER_SECONDS,
                }
            )
        )
        self.log.write_text("")
        config = self.workdir / "haproxy.cfg"
        self._process = subprocess.Popen(
            [*("ip", "netns", "exec", self.netns), HAPROXY, "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            assert self._process.poll() is None, "haproxy exited at start"
            assert time.monotonic() < deadline, "haproxy did not open its admin socket"
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=20)

    def api(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.socket))
            s.sendall(command.encode() + b"\n")
            return s.makefile().read()

    def servers(self, group: str) -> dict[int, str]:
        """Host port -> `UP`, `DOWN` or `MAINT` of each target in `group`."""
        states: dict[int, str] = {}
        for line in self.api(f"show servers state {group}").splitlines():
            cols = line.split()
            if len(cols) > 6 and cols[3].startswith("p"):
                op, admin = int(cols[5]), int(cols[6])
                states[int(cols[3][1:])] = "MAINT" if admin & 1 else ("UP" if op == 2 else "DOWN")
        return states

    def wait_all_up(self, group: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while set(self.servers(group).values()) != {"UP"}:
            assert time.monotonic() < deadline, self.servers(group)
            time.sleep(0.2)

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    @contextlib.contextmanager
    def client(self, group: str, path: str | None = None) -> Iterator[list[ClientResult]]:
        """Requests looped through `group`'s frontend (a new connection each, 50 a second
        at most) for as long as the block runs; the list holds the result afterwards."""
        run = self.workdir / f"client-{time.monotonic_ns()}"
        stop, out = run.with_suffix(".stop"), run.with_suffix(".json")
        port, target = self.frontends[group], path or self.groups[group].health_check_path
        argv = [str(port), target, str(stop), str(out)]
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "python3", "-c", CLIENT, *argv]
        )
        result: list[ClientResult] = []
        try:
            yield result
        finally:
            stop.touch()
            process.wait(timeout=60)
        seen = json.loads(out.read_text())
        result.append(ClientResult(seen["ok"], tuple(seen["failed"])))


def arn(region: str, name: str, index: int) -> str:
    """A target group ARN of the shape ELBv2 gives (name, then a 16-digit hex id)."""
    account = "123456789012"
    return f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name[:32]}/{index:016x}"


def groups_of(document: Mapping[str, Any], region: str) -> list[TargetGroup]:
    """A target group per owner with two replicas in a compose document (`<owner>` and
    `<owner>-2`), on their published ports, checked on their health check's path."""
    services = document["services"]
    found: list[TargetGroup] = []
    for name, service in services.items():
        second = services.get(f"{name}-2")
        if second is None:
            continue
        url = service["healthcheck"]["test"][-1]
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        ports = tuple(int(s["ports"][0]["published"]) for s in (service, second))
        found.append(TargetGroup(arn(region, name, len(found) + 1), name, path, ports))
    return found
