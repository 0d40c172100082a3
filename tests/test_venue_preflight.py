"""A venue stack with a bad LAN address, hostname or port, or an unreachable Docker host,
stops with one line before anything is registered (`make plan` exits 2)."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components.settings import ConfigError
from components.venue import preflight
from plan import engine
from plan.__main__ import main
from plan.model import Plan
from tests.test_venue import VENUE, venue_with

ROOT = engine.PROJECT_DIR


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        pytest.param(
            {"lanAddress": "10.20.0.300"},
            'ticketing:venue.lanAddress: not a valid IPv4 address, got "10.20.0.300"',
            id="lan-address-not-an-address",
        ),
        pytest.param(
            {"lanAddress": "0.0.0.0"},
            "ticketing:venue.lanAddress: not a private LAN address (one in 10.0.0.0/8, "
            '172.16.0.0/12 or 192.168.0.0/16), got "0.0.0.0"',
            id="lan-address-wildcard",
        ),
        pytest.param(
            {"lanAddress": "203.0.113.7"},
            "ticketing:venue.lanAddress: not a private LAN address (one in 10.0.0.0/8, "
            '172.16.0.0/12 or 192.168.0.0/16), got "203.0.113.7"',
            id="lan-address-public",
        ),
        pytest.param(
            {"hostname": "Bastion_1.arena"},
            "ticketing:venue.hostname: not a valid hostname (dot-separated DNS labels: "
            'lowercase letters, digits, hyphens), got "Bastion_1.arena"',
            id="hostname-invalid",
        ),
        pytest.param(
            {"port": 70000},
            "ticketing:venue.port: expected a number from 1 to 65535, got 70000",
            id="port-out-of-range",
        ),
        pytest.param(
            {"port": "8443/tcp"},
            'ticketing:venue.port: expected a whole number, got "8443/tcp"',
            id="port-not-a-number",
        ),
        pytest.param(
            {"dockerHost": "ssh://10.20.0.5"},
            "ticketing:venue.dockerHost: Docker host must be ssh://user@host[:port] or "
            'tcp://host:port, got "ssh://10.20.0.5"',
            id="docker-host-without-user",
        ),
    ],
)
def test_bad_venue_input_is_one_line(
    capture: Callable[..., Plan], changes: dict[str, Any], line: str
) -> None:
    with pytest.raises(ConfigError) as error:
        capture(VENUE, venue_with(**changes))
    assert str(error.value) == line


def copy_project(tmp_path: Path, old: str, new: str) -> Path:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack_file = tmp_path / f"Pulumi.{VENUE}.yaml"
    text = (ROOT / stack_file.name).read_text()
    assert old in text
    stack_file.write_text(text.replace(old, new))
    return tmp_path


def test_cli_bad_lan_address_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path, "lanAddress: 10.20.0.5", "lanAddress: 10.20.0.256")
    assert main([VENUE, "--project-dir", str(project)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        'error: ticketing:venue.lanAddress: not a valid IPv4 address, got "10.20.0.256"'
    ]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a proxy or firewall that
    answers for every address does this)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]


def test_unreachable_docker_host_is_one_line(capture: Callable[..., Plan]) -> None:
    port = closed_port()
    host = f"ssh://deploy@127.0.0.1:{port}"
    with pytest.raises(ConfigError) as error:
        capture(VENUE, venue_with(dockerHost=host), probe_docker_host=True)
    assert str(error.value) == (
        f"ticketing:venue.dockerHost: cannot reach 127.0.0.1 port {port} from this machine "
        "(connection refused; deploy from the venue LAN with the Docker host up), "
        f'got "{host}"'
    )


def test_a_port_that_answers_without_an_ssh_banner_is_not_a_docker_host(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "TIMEOUT_SECONDS", 0.5)
    host = f"ssh://deploy@127.0.0.1:{silent_port}"
    with pytest.raises(ConfigError) as error:
        preflight.require_reachable(host, timeout=0.5)
    assert "(no answer within 0.5 s;" in str(error.value)


def test_an_ssh_server_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def greet() -> None:
        connection, _ = server.accept()
        connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        connection.close()

    thread = threading.Thread(target=greet, daemon=True)
    thread.start()
    preflight.require_reachable(f"ssh://deploy@127.0.0.1:{server.getsockname()[1]}")
    thread.join()
    server.close()


def test_cli_unreachable_docker_host_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    project = copy_project(
        tmp_path, "dockerHost: ssh://deploy@10.20.0.5", f"dockerHost: tcp://127.0.0.1:{port}"
    )
    stack = project / f"Pulumi.{VENUE}.yaml"
    stack.write_text(
        stack.read_text()
        + "  ticketing:dockerTlsCa:\n    secure: v1:x\n"
        + "  ticketing:dockerTlsCert:\n    secure: v1:x\n"
        + "  ticketing:dockerTlsKey:\n    secure: v1:x\n"
    )
    code = main([VENUE, "--project-dir", str(project), "--probe-docker-host"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        f"error: ticketing:venue.dockerHost: cannot reach 127.0.0.1 port {port} from this "
        "machine (connection refused; deploy from the venue LAN with the Docker host up), "
        f'got "tcp://127.0.0.1:{port}"'
    ]


def test_the_offline_plan_does_not_probe_by_default(plan_of: Callable[[str], Plan]) -> None:
    # 10.20.0.5 is nowhere near this machine, yet the committed stack plans.
    assert plan_of(VENUE).named("venue-arena-bastion")
    assert preflight.enabled
