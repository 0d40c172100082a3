"""Before a venue stack registers anything: is its Docker host there at all?

The Docker provider connects only when it first creates or reads a resource, and an
unreachable host then fails the preview with the provider's multi-line trace. This
check connects first and stops with one line: to an `ssh://` host's port, where the SSH
server must send its version banner (`SSH-2.0-...`, RFC 4253 section 4.2) unprompted,
so a firewall or proxy that accepts every connection does not pass for a host; to a
`tcp://` host's port, where a TCP connection must open. The offline plan has no
network, so it skips the check unless asked (`make plan PLAN_ARGS=--probe-docker-host`).
"""

from __future__ import annotations

import json
import socket

from components.settings import NAMESPACE, ConfigError
from components.settings.validators import docker_host_address

TIMEOUT_SECONDS = 5.0
# The offline plan turns this off (plan.engine.capture).
enabled = True


class _NotTheServerError(Exception):
    """Something answered, but not the server the URL names."""


def _reason(error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return "the name does not resolve"
    if isinstance(error, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return error.strerror or type(error).__name__


def require_reachable(docker_host: str, timeout: float = TIMEOUT_SECONDS) -> None:
    """Raise `ConfigError` (one line) when nothing answers on the Docker host's port."""
    if not enabled:
        return
    host, port = docker_host_address(docker_host)
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            if docker_host.startswith("ssh://"):
                banner = connection.recv(255)
                if not banner.startswith(b"SSH-"):
                    shown = "closed the connection" if not banner else "is not an SSH server"
                    raise _NotTheServerError(f"it answers but {shown}")
    except (OSError, _NotTheServerError) as error:
        reason = str(error) if isinstance(error, _NotTheServerError) else _reason(error)
        raise ConfigError(
            f"{NAMESPACE}:venue.dockerHost: cannot reach {host} port {port} from this machine "
            f"({reason}; deploy from the venue LAN with the Docker host up), "
            f"got {json.dumps(docker_host)}"
        ) from None
