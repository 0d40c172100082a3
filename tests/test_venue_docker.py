"""The venue stack's Docker resources on a real dockerd (tests/engines/docker.py).

What the Docker provider does with the plan (`tests.engines.pulumi_docker`) is
replayed on the daemon, with stand-in images under the plan's references: a
Bastion that serves TLS from the mounted files with a health endpoint, writes a
journal into its store and records a clean stop on SIGTERM; busybox as the
backup image. Shown here: the plan's containers are accepted and start (with
the read-only root, the uploads go through the never-started writer); the
Bastion becomes healthy; a client that trusts only the enrollment CA and pins
the SPKI connects to the LAN URL; an image upgrade replaces it, keeps the store
and stops the old one gracefully; a daemon restart brings it back, also when
the LAN address comes up after Docker; the store's copy restores equal.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from plan.model import Plan
from tests.engines.docker import DockerDaemon, StandIn, passwd
from tests.engines.pulumi_docker import DockerApi, DockerApiError, Provider
from tests.test_venue import VENUE

NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
NAME = "venue-arena"
BASTION = f"{NAME}-bastion"
WRITER = f"{NAME}-tls-writer"
BACKUP = f"{NAME}-store-backup"
STORE = f"{NAME}-offline-store"
# The backup image's stand-in (Debian's busybox-static under the plan's reference).
BUSYBOX = "docker.io/library/busybox:1.36.1"

# The stand-in Bastion: TLS from the mounted files (openssl s_server serves ./healthz),
# a journal in its store, and a line there when it has stopped cleanly on SIGTERM
# (2 s after it: a Bastion finishing its writes to the store).
BASTION_SCRIPT = """#!/bin/sh
set -u
store="$OFFLINE_STORE_PATH"
version="$(cat /etc/bastion-version)"
echo "$version started" >> "$store/journal"
mkdir -p /tmp/www && echo ok > /tmp/www/healthz && cp /etc/bastion-version /tmp/www/version
cd /tmp/www
openssl s_server -quiet -WWW -accept "${ASPNETCORE_URLS##*:}" \\
  -cert "$Kestrel__Certificates__Default__Path" \\
  -key "$Kestrel__Certificates__Default__KeyPath" &
server=$!
# A clean stop takes a moment: the last writes are flushed first.
trap 'kill "$server"; sleep 2; echo "$version stopped cleanly" >> "$store/journal"; exit 0' TERM
wait "$server"
"""


def bastion_image(ref: str, version: str) -> StandIn:
    return StandIn(
        ref,
        binaries=("/usr/bin/openssl", "/usr/bin/curl"),
        files={
            "/usr/local/bin/bastion": BASTION_SCRIPT,
            "/etc/bastion-version": f"{version}\n",
            **passwd(("bastion", 10001)),
        },
        executables=("/usr/local/bin/bastion",),
        # A new volume takes the image's directory: the Bastion's user may write there.
        directories={"/var/lib/bastion": 0o1777, "/run/bastion/tls": 0o755},
        changes=('ENTRYPOINT ["/usr/local/bin/bastion"]',),
    )


@dataclass
class Venue:
    """The plan's venue resources on the daemon, and how to reach them."""

    daemon: DockerDaemon
    plan: Plan
    provider: Provider
    upgrade_ref: str

    @property
    def api(self) -> DockerApi:
        return self.provider.api

    def deploy(self) -> dict[str, str]:
        """`pulumi up` from nothing, as the engine orders it: networks and volumes, then
        each container after those it depends on (the Bastion after the TLS writer)."""
        for network in self.plan.of_type(NETWORK):
            self.provider.create_network(network.name)
        for volume in self.plan.of_type(VOLUME):
            self.provider.create_volume(volume.name)
        containers = {c.urn: c for c in self.plan.of_type(CONTAINER)}
        ids: dict[str, str] = {}
        while containers:
            ready = [
                c for c in containers.values()
                if not any(d in containers for d in c.dependencies)
            ]  # fmt: skip
            for container in sorted(ready, key=lambda c: c.name):
                ids[container.name] = self.provider.create_container(container.name)
                del containers[container.urn]
        return ids

    def exec(self, container: str, *command: str) -> str:
        return self.daemon.docker("exec", container, *command).stdout

    def journal(self) -> list[str]:
        out = self.daemon.docker(
            "run", "--rm", "-v", f"{STORE}:/store:ro", "docker.io/library/busybox:1.36.1",
            "cat", "/store/journal",
        )  # fmt: skip
        return out.stdout.splitlines()

    def lan(self, *args: str) -> None:
        """`ip` in the venue LAN: the Docker host's LAN interface."""
        done = self.daemon.netns_run(["ip", *args])
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def venue(
    docker_daemon: DockerDaemon,
    plan_of: Callable[[str], Plan],
) -> Iterator[Venue]:
    plan = plan_of(VENUE)
    ref = str(plan.named(f"{NAME}-bastion-image").inputs["name"])
    upgrade = ref.rsplit(":", 1)[0] + ":2.2.0"
    others = [str(i.inputs["name"]) for i in plan.of_type(IMAGE) if i.inputs["name"] != ref]
    # Every other image the plan pulls (the backup job's) is busybox, as the real one.
    docker_daemon.load(
        bastion_image(ref, "2.1.0"),
        bastion_image(upgrade, "2.2.0"),
        *(StandIn(other) for other in others),
    )
    # The venue LAN: the Docker host's address on it, where handhelds connect.
    lan = str(plan.named(BASTION).inputs["ports"][0]["ip"])
    # (On the loopback device: the namespace's kernel may have no dummy or veth driver.)
    done = docker_daemon.netns_run(["ip", "addr", "add", f"{lan}/32", "dev", "lo"])
    assert done.returncode == 0, done.stderr
    venue = Venue(docker_daemon, plan, Provider(DockerApi(docker_daemon.socket), plan), upgrade)
    yield venue
    docker_daemon.remove_all_containers()
    for volume in plan.of_type(VOLUME):
        docker_daemon.docker("volume", "rm", "-f", str(volume.inputs["name"]), check=False)
    for network in plan.of_type(NETWORK):
        docker_daemon.docker("network", "rm", str(network.inputs["name"]), check=False)
    docker_daemon.netns_run(["ip", "addr", "del", f"{lan}/32", "dev", "lo"])
    docker_daemon.netns_run(["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=0"])


# A handheld as Android's Network Security Config and OkHttp's CertificatePinner behave:
# the chain must verify against the enrolled CA alone (no system roots), for the name
# or address it connects to, and one certificate of the verified chain (the CA, as the
# trust anchor) must have a pinned SPKI. The verified chain is Python's private
# `get_verified_chain` (public as SSLSocket.get_verified_chain from 3.13).
HANDHELD = """
import base64, hashlib, socket, ssl, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization

address, port, server_name, cafile, *pins = sys.argv[1:]
context = ssl.create_default_context(cafile=cafile)
with socket.create_connection((address, int(port)), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname=server_name) as tls:
        chain = tls._sslobj.get_verified_chain()
        seen = []
        for cert in chain:
            key = x509.load_der_x509_certificate(cert.public_bytes(2)).public_key()
            der = key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            seen.append(base64.b64encode(hashlib.sha256(der).digest()).decode())
        if not set(seen) & set(pins):
            sys.exit(f"pin mismatch: chain {seen}, pinned {pins}")
        tls.sendall(b"GET /healthz HTTP/1.0\\r\\n\\r\\n")
        reply = b""
        while chunk := tls.recv(4096):
            reply += chunk
print(reply.split(b"\\r\\n\\r\\n", 1)[1].decode(), end="")
"""


def handheld(
    venue: Venue,
    tmp: Path,
    *,
    server_name: str | None = None,
    ca: str | None = None,
    pins: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Connect to the enrollment's LAN URL from the venue LAN (the daemon's namespace)."""
    enrollment = venue.plan.outputs["enrollment"]
    address, port = enrollment["lanUrl"].split("//", 1)[1].rsplit(":", 1)
    cafile = tmp / "enrolled-ca.pem"
    cafile.write_text(ca or enrollment["caCertificate"])
    return venue.daemon.netns_run(
        [sys.executable, "-c", HANDHELD, address, port, server_name or address, str(cafile),
         *(pins if pins is not None else enrollment["spkiPinsSha256"])]
    )  # fmt: skip


# --- the daemon's rule the design follows ------------------------------------------


def test_the_daemon_refuses_uploads_into_a_read_only_root(venue: Venue) -> None:
    # What the provider does with an upload on a read-only container (today's Bastion
    # before the writer): the archive API at / is refused.
    inputs = {
        "name": "read-only-upload",
        "readOnly": True,
        "uploads": [{"file": "/run/bastion/tls/ca.crt", "content": "x"}],
    }
    with pytest.raises(DockerApiError) as error:
        venue.provider.create_container(BASTION, inputs=inputs, image=venue.upgrade_ref)
    assert "marked read-only" in error.value.message
    venue.daemon.docker("rm", "-f", "read-only-upload", check=False)


# --- pulumi up -----------------------------------------------------------------------


def test_the_plans_containers_are_created_and_the_bastion_becomes_healthy(venue: Venue) -> None:
    # The provider waits for healthy (wait=True) and raises otherwise. Before the TLS
    # writer, the Bastion's own uploads failed here: "container rootfs is marked read-only".
    ids = venue.deploy()
    assert set(ids) == {BASTION, WRITER, BACKUP}
    bastion = venue.api.inspect(ids[BASTION])
    assert bastion["State"]["Health"]["Status"] == "healthy"
    assert bastion["HostConfig"]["ReadonlyRootfs"] is True
    writer = venue.api.inspect(ids[WRITER])
    assert writer["State"]["Status"] == "created"  # never started
    assert venue.api.inspect(ids[BACKUP])["State"]["Running"] is True


def test_the_key_is_0400_and_the_bastions_own_on_a_read_only_mount(venue: Venue) -> None:
    listing = venue.exec(BASTION, "stat", "-c", "%n %u:%g %a", *(
        f"/run/bastion/tls/{f}" for f in ("ca.crt", "server.crt", "server.key")
    ))  # fmt: skip
    assert listing.splitlines() == [
        "/run/bastion/tls/ca.crt 10001:10001 444",
        "/run/bastion/tls/server.crt 10001:10001 444",
        "/run/bastion/tls/server.key 10001:10001 400",
    ]
    assert venue.exec(BASTION, "id", "-u").strip() == "10001"
    refused = venue.daemon.docker("exec", BASTION, "touch", "/run/bastion/tls/x", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr


def test_a_handheld_trusting_only_the_enrollment_ca_and_pinning_it_connects(
    venue: Venue, tmp_path: Path
) -> None:
    by_ip = handheld(venue, tmp_path)
    assert (by_ip.returncode, by_ip.stdout) == (0, "ok\n"), by_ip.stderr
    by_name = handheld(venue, tmp_path, server_name=venue.plan.outputs["enrollment"]["hostname"])
    assert (by_name.returncode, by_name.stdout) == (0, "ok\n"), by_name.stderr


def test_a_wrong_pin_another_ca_or_another_name_is_refused(venue: Venue, tmp_path: Path) -> None:
    wrong_pin = handheld(venue, tmp_path, pins=["A" * 43 + "="])
    assert wrong_pin.returncode != 0 and "pin mismatch" in wrong_pin.stderr
    key, other = tmp_path / "other.key", tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(other), "-days", "1", "-subj", "/CN=x"],
        check=True, capture_output=True,
    )  # fmt: skip
    other_ca = handheld(venue, tmp_path, ca=other.read_text())
    assert other_ca.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in other_ca.stderr
    other_name = handheld(venue, tmp_path, server_name="bastion.stadium.internal")
    assert other_name.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in other_name.stderr


# --- an upgrade -----------------------------------------------------------------------


def test_an_image_upgrade_replaces_the_bastion_keeps_the_store_and_stops_it_gracefully(
    venue: Venue,
) -> None:
    venue.exec(BASTION, "sh", "-c", "echo 'ticket 42 scanned' >> /var/lib/bastion/scans")
    old = venue.api.inspect(BASTION)
    inputs = venue.plan.named(BASTION).inputs
    # delete_before_replace: the old one goes first (it holds the LAN port).
    took = venue.provider.delete_container(old["Id"], inputs)
    venue.provider.create_container(BASTION, image=venue.upgrade_ref)
    new = venue.api.inspect(BASTION)
    assert new["Id"] != old["Id"] and new["State"]["Health"]["Status"] == "healthy"
    assert venue.exec(BASTION, "cat", "/var/lib/bastion/scans") == "ticket 42 scanned\n"
    assert venue.journal()[-3:] == ["2.1.0 started", "2.1.0 stopped cleanly", "2.2.0 started"]
    # It got the time it needed and stopped by itself, well before the deadline.
    assert 2 <= took < inputs["destroyGraceSeconds"]


def test_without_a_grace_period_the_provider_kills_mid_write(venue: Venue) -> None:
    # What the provider did before destroy_grace_seconds: stop with a timeout of 0.
    current = venue.api.inspect(BASTION)
    inputs = dict(venue.plan.named(BASTION).inputs)
    del inputs["destroyGraceSeconds"]
    took = venue.provider.delete_container(current["Id"], inputs)
    assert took < 2
    assert venue.journal()[-1] == "2.2.0 started"  # killed before it could finish
    venue.provider.create_container(BASTION, image=venue.upgrade_ref)


# --- reboots --------------------------------------------------------------------------


def test_a_daemon_restart_brings_the_bastion_back(venue: Venue, tmp_path: Path) -> None:
    before = venue.api.inspect(BASTION)["Id"]
    venue.daemon.restart()
    venue.provider.wait_healthy(BASTION, 90)
    assert venue.api.inspect(BASTION)["Id"] == before
    done = handheld(venue, tmp_path)
    assert done.stdout == "ok\n", done.stderr


def test_without_nonlocal_binds_a_late_lan_address_keeps_the_bastion_down(venue: Venue) -> None:
    lan = venue.plan.outputs["enrollment"]["lanUrl"].split("//", 1)[1].rsplit(":", 1)[0]
    venue.daemon.netns_run(["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=0"])
    venue.daemon.restart(while_down=lambda: venue.lan("addr", "del", f"{lan}/32", "dev", "lo"))
    time.sleep(5)
    state = venue.api.inspect(BASTION)["State"]
    assert not state["Running"]
    assert "cannot assign requested address" in state["Error"]
    venue.lan("addr", "add", f"{lan}/32", "dev", "lo")
    time.sleep(3)
    assert not venue.api.inspect(BASTION)["State"]["Running"]  # and nothing retries
    venue.daemon.docker("start", BASTION)
    venue.provider.wait_healthy(BASTION, 90)


def test_with_nonlocal_binds_the_bastion_starts_before_its_lan_address(
    venue: Venue, tmp_path: Path
) -> None:
    # The host requirement (README, "Venue stacks"): net.ipv4.ip_nonlocal_bind=1.
    lan = venue.plan.outputs["enrollment"]["lanUrl"].split("//", 1)[1].rsplit(":", 1)[0]
    done = venue.daemon.netns_run(["sysctl", "-w", "net.ipv4.ip_nonlocal_bind=1"])
    assert done.returncode == 0, done.stderr
    venue.daemon.restart(while_down=lambda: venue.lan("addr", "del", f"{lan}/32", "dev", "lo"))
    venue.provider.wait_healthy(BASTION, 90)
    venue.lan("addr", "add", f"{lan}/32", "dev", "lo")  # the LAN comes up after Docker
    answered = handheld(venue, tmp_path)
    assert answered.stdout == "ok\n", answered.stderr


# --- the store's backup ---------------------------------------------------------------


def store_digest(venue: Venue) -> list[str]:
    listing = (
        "cd /store && find . -type f | sort | xargs sha256sum && "
        "stat -c '%n %u %a' $(find . | sort)"
    )
    out = venue.daemon.docker(
        "run", "--rm", "-v", f"{STORE}:/store:ro", BUSYBOX, "sh", "-c", listing,
    )  # fmt: skip
    return out.stdout.splitlines()


def test_a_copy_of_the_store_restores_equal_after_the_volume_is_destroyed(venue: Venue) -> None:
    venue.exec(BASTION, "sh", "-c", "echo 'ticket 43 scanned' >> /var/lib/bastion/scans")
    # The backup job copies at start, then on its schedule: restart it for a fresh copy.
    venue.daemon.docker("restart", BACKUP)
    check = venue.plan.named(BACKUP).inputs["healthcheck"]["tests"]
    deadline = time.monotonic() + 60
    while len(venue.exec(BACKUP, "ls", "/backups").split()) < 3:  # two copies and latest
        assert time.monotonic() < deadline, "no second copy"
        time.sleep(1)
    # Its healthcheck (every 5 minutes) passes now that a copy is fresh.
    assert check[0] == "CMD-SHELL"
    assert venue.daemon.docker("exec", BACKUP, "sh", "-c", check[1], check=False).returncode == 0
    before = store_digest(venue)
    assert any("scans" in line for line in before)
    # The volume is lost: its containers go, then the volume.
    for container in (BASTION, BACKUP):
        venue.daemon.docker("rm", "-f", container)
    venue.daemon.docker("volume", "rm", STORE)
    restore = str(venue.plan.outputs["backup"]["restoreCommand"])
    done = subprocess.run(
        ["sh", "-c", restore],
        env=venue.daemon.client_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert store_digest(venue) == before
    # pulumi up recreates the containers on the restored store.
    venue.provider.create_container(BASTION)
    assert "ticket 43 scanned" in venue.exec(BASTION, "cat", "/var/lib/bastion/scans")
