"""`VenueHost`: the on-prem Docker host at one venue and the Bastion on it.

The Bastion (.NET, Docker) validates tickets offline for the venue's handhelds
and syncs with the cloud stack when the venue has internet. Handhelds reach it
over TLS on the venue LAN only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from components import settings
from components.outputs import ComponentOutputs, exported
from components.venue import backup
from components.venue.sync import HEARTBEAT_PATH, HEARTBEAT_SECONDS, VenueSync
from components.venue.tls import VenueTls, VenueTlsArgs, sha256_fingerprint, spki_sha256
from seed import naming

TLS_DIR = "/run/bastion/tls"
STORE_DIR = "/var/lib/bastion"
CA_FILE = f"{TLS_DIR}/ca.crt"
CERT_FILE = f"{TLS_DIR}/server.crt"
KEY_FILE = f"{TLS_DIR}/server.key"
HEALTH_PATH = "/healthz"
LOG_OPTS = {"max-size": "10m", "max-file": "5"}
SSH_OPTS = ["-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=15"]
# The Bastion runs as this user (not root), which owns its store and its key file.
BASTION_UID = 10001
# On replacement the old Bastion gets SIGTERM and this long to finish its writes to the
# store; without it the provider stops it with a timeout of 0 and removes it by force.
STOP_GRACE_SECONDS = 30
# Changes with the served certificate, so a renewal replaces (restarts) the Bastion.
TLS_LABEL = "ticketing.venue.server-certificate-sha256"


@dataclass(frozen=True)
class DockerTls:
    """Client TLS material for a `tcp://` Docker host (config secrets)."""

    ca: pulumi.Input[str]
    cert: pulumi.Input[str]
    key: pulumi.Input[str]


@dataclass(frozen=True)
class VenueHostArgs:
    """Everything one venue's Bastion needs.

    Attributes:
        venue_id: the venue (`venue.id`), in the TLS subjects and the container's env.
        docker_host: the venue's Docker host (`ssh://` or `tcp://`).
        lan_address: the IPv4 address on the venue LAN the Bastion listens on.
        port: the Bastion's HTTPS port on that address.
        hostname: the Bastion's hostname on the LAN (the certificate's DNS SAN).
        bastion_image: the pinned Bastion image.
        memory_mb: the container's memory limit.
        sync: the sync URL and credential read from the cloud stack.
        protect_store: protect the offline store and its backups (every environment but dev).
        ca_generations: the venue CA generations, the signing one first (`venue.ca`).
        backup_image: the pinned image that copies the store (`venue.backup.image`).
        backup_every_hours: hours between two copies of the store.
        backup_keep: how many copies are kept.
        docker_tls: client TLS material when the Docker host is `tcp://`.
    """

    venue_id: str
    docker_host: str
    lan_address: str
    port: int
    hostname: str
    bastion_image: str
    memory_mb: int
    sync: VenueSync
    protect_store: bool
    ca_generations: tuple[int, ...] = (1,)
    backup_image: str = "docker.io/library/busybox:1.36.1"
    backup_every_hours: int = 6
    backup_keep: int = 28
    docker_tls: DockerTls | None = None

    @classmethod
    def of(cls, stack: settings.VenueStackSettings, sync: VenueSync) -> VenueHostArgs:
        """The args for `stack`'s venue, with the `dockerTls*` secrets for a tcp:// host."""
        venue = stack.venue
        docker_tls = None
        if venue.docker_host.startswith("tcp://"):
            ca, cert, key = (settings.secret(key) for key in settings.DOCKER_TLS_KEYS)
            if ca is None or cert is None or key is None:
                raise settings.ConfigError(  # settings.parse already refuses this
                    f"{settings.NAMESPACE}:dockerTlsCa: required as a secret when "
                    "venue.dockerHost is tcp://, got nothing"
                )
            docker_tls = DockerTls(ca=ca, cert=cert, key=key)
        return cls(
            venue_id=venue.id,
            docker_host=venue.docker_host,
            lan_address=venue.lan_address,
            port=venue.port,
            hostname=venue.server_name,
            bastion_image=venue.bastion_image,
            memory_mb=venue.memory_mb,
            sync=sync,
            protect_store=not stack.is_dev,
            ca_generations=(venue.ca.current, *([venue.ca.next] if venue.ca.next else [])),
            backup_image=venue.backup.image,
            backup_every_hours=venue.backup.every_hours,
            backup_keep=venue.backup.keep,
            docker_tls=docker_tls,
        )

    @property
    def lan_url(self) -> str:
        """Where handhelds reach the Bastion."""
        return f"https://{self.lan_address}:{self.port}"

    @property
    def hostname_url(self) -> str:
        """The same Bastion by its LAN hostname."""
        return f"https://{self.hostname}:{self.port}"


@dataclass(frozen=True)
class VenueHostOutputs(ComponentOutputs):
    """`enrollment`: what a handheld is enrolled with (`enrollment()`); `backup`: the
    store's schedule and the one command that restores it."""

    enrollment: pulumi.Output[dict[str, Any]] = field(
        metadata=exported(
            "What a handheld enrolls with: the Bastion's URLs on the venue LAN (`lanUrl`, "
            "`hostnameUrl`, `hostname`), the venue CA's certificate and SHA-256 fingerprint "
            "(`caCertificate`, `caFingerprintSha256`, which the enrolling person compares), "
            "the CAs to trust and their SPKI pins (`trustedCaCertificates`, "
            "`spkiPinsSha256`; two during a CA rotation) and both certificates' expiry "
            "(`caNotAfter`, `serverNotAfter`, `serverCertificateSha256`).",
            people="enroll the venue's handhelds (docs/runbooks.md, Add a venue)",
        )
    )
    backup: dict[str, Any] = field(
        metadata=exported(
            "The offline store's backup: the kept volume (`volume`), how often it copies "
            "(`everyHours`), how many copies it keeps (`keep`), and the one command that "
            "puts the newest copy back (`restoreCommand`).",
            people="restore the store on the venue's Docker host with `restoreCommand` "
            "(docs/runbooks.md, Restore a venue's offline store)",
        )
    )
    container_name: pulumi.Output[str]
    store_volume: pulumi.Output[str]


class VenueHost(pulumi.ComponentResource):
    """The Bastion on a venue's Docker host, reachable by handhelds on the LAN only.

    Children: an explicit Docker provider for the venue host, the venue TLS
    (CA + server certificate), the pinned images, a private network, the
    offline validation store and its backups (named volumes kept when the stack
    or container goes away), the TLS volume and the never-started container that
    writes the TLS files into it, the hardened Bastion container and the
    container that backs the store up.

    The Bastion's root filesystem is read-only, and Docker refuses an upload
    into such a container (the provider extracts uploads at `/`: "container
    rootfs is marked read-only"). So the TLS files are uploaded into
    `<name>-tls-writer`, a container that is created and never started and
    mounts the TLS volume read-write; the Bastion mounts the same volume
    read-only. The key is `0400`, owned by the Bastion's user.

    Args:
        name: prefix for every child's name and the Docker object names on the host.
        args: the venue's host and Bastion, and its cloud sync (`VenueHostArgs.of`).
        opts: resource options.
    """

    outputs: VenueHostOutputs

    def __init__(
        self, name: str, args: VenueHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:venue:VenueHost", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        host = docker.Provider(
            f"{name}-docker",
            host=args.docker_host,
            ssh_opts=SSH_OPTS if args.docker_host.startswith("ssh://") else None,
            ca_material=args.docker_tls.ca if args.docker_tls else None,
            cert_material=args.docker_tls.cert if args.docker_tls else None,
            key_material=args.docker_tls.key if args.docker_tls else None,
            opts=child,
        )
        self._on_host = pulumi.ResourceOptions(parent=self, provider=host)
        certs = VenueTls(f"{name}-tls", VenueTlsArgs.of(args), opts=child)

        image = docker.RemoteImage(
            f"{name}-bastion-image",
            name=args.bastion_image,
            keep_locally=True,  # a venue may be offline at the next deploy: keep the only copy
            opts=self._on_host,
        )
        # Private bridge, not internal: the Bastion needs outbound internet for cloud sync.
        network = docker.Network(
            f"{name}-net", name=f"{name}-net", driver="bridge", internal=False, opts=self._on_host
        )
        store, tls_files = self._volumes()
        writer = self._tls_writer(image, tls_files, certs)
        container = self._bastion(image, network, store, tls_files, certs, writer)

        lan_url, hostname_url = args.lan_url, args.hostname_url
        tls = certs.outputs
        self.outputs = VenueHostOutputs(
            enrollment=pulumi.Output.all(
                ca=tls.ca_cert_pem,
                ca_not_after=tls.ca_not_after,
                server=tls.server_cert_pem,
                server_not_after=tls.server_not_after,
                enrolled=tls.enrolled_ca_cert_pems,
            ).apply(lambda v: enrollment(lan_url, hostname_url, args.hostname, v)),
            backup=self._backups(store),
            container_name=container.name,
            store_volume=store.name,
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())

    def _volumes(self) -> tuple[docker.Volume, docker.Volume]:
        """The offline store (kept, protected outside dev) and the TLS files' volume."""
        name = self._name
        # A fixed name, so a re-created stack re-attaches the retained data; outside
        # dev a `pulumi destroy` or a rename also has to get past `protect`.
        store = docker.Volume(
            f"{name}-offline-store",
            name=f"{name}-offline-store",
            opts=pulumi.ResourceOptions.merge(
                self._on_host,
                pulumi.ResourceOptions(retain_on_delete=True, protect=self._args.protect_store),
            ),
        )
        # Written by the TLS writer, read by the Bastion.
        tls_files = docker.Volume(
            f"{name}-tls-files",
            name=f"{name}-tls-files",
            labels=[
                docker.VolumeLabelArgs(
                    label=naming.GENERATED_VOLUME_LABEL, value=naming.GENERATED_VOLUME_VALUE
                )
            ],
            opts=self._on_host,
        )
        return store, tls_files

    def _tls_writer(
        self, image: docker.RemoteImage, tls_files: docker.Volume, certs: VenueTls
    ) -> docker.Container:
        """Created, never started: it owns the uploads, onto the TLS volume it mounts."""
        name, tls = self._name, certs.outputs
        owner = str(BASTION_UID)  # numeric: names resolve on the deploying machine
        files = [
            (CA_FILE, tls.ca_cert_pem, "0444"),
            (CERT_FILE, tls.server_cert_pem, "0444"),
            (KEY_FILE, tls.server_key_pem, "0400"),
        ]
        return docker.Container(
            f"{name}-tls-writer",
            name=f"{name}-tls-writer",
            image=image.image_id,
            start=False,  # nothing in it ever runs
            must_run=False,
            network_mode="none",
            volumes=[
                docker.ContainerVolumeArgs(volume_name=tls_files.name, container_path=TLS_DIR)
            ],
            uploads=[
                docker.ContainerUploadArgs(
                    file=path, content=content, owner=owner, group=owner, permissions=mode
                )
                for path, content, mode in files
            ],
            opts=self._on_host,
        )

    def _bastion(
        self,
        image: docker.RemoteImage,
        network: docker.Network,
        store: docker.Volume,
        tls_files: docker.Volume,
        certs: VenueTls,
        writer: docker.Container,
    ) -> docker.Container:
        """The hardened Bastion container, published on the LAN address only."""
        name, args = self._name, self._args
        port = args.port
        envs = pulumi.Output.all(args.sync.sync_url, args.sync.credential).apply(
            lambda pair: [
                f"VENUE_ID={args.venue_id}",
                f"SYNC_URL={pair[0]}",
                f"SYNC_CREDENTIAL={pair[1]}",
                f"HEARTBEAT_URL={pair[0]}{HEARTBEAT_PATH}",
                f"HEARTBEAT_INTERVAL_SECONDS={HEARTBEAT_SECONDS}",
                f"OFFLINE_STORE_PATH={STORE_DIR}",
                f"ASPNETCORE_URLS=https://+:{port}",
                f"Kestrel__Certificates__Default__Path={CERT_FILE}",
                f"Kestrel__Certificates__Default__KeyPath={KEY_FILE}",
            ]
        )
        tls = certs.outputs
        return docker.Container(
            f"{name}-bastion",
            name=f"{name}-bastion",
            image=image.image_id,
            user=f"{BASTION_UID}:{BASTION_UID}",
            restart="unless-stopped",
            envs=pulumi.Output.secret(envs),
            labels=[
                docker.ContainerLabelArgs(label=TLS_LABEL, value=tls.server_fingerprint_sha256)
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD",
                    "curl",
                    "--fail",
                    "--silent",
                    "--cacert",
                    CA_FILE,
                    f"https://localhost:{port}{HEALTH_PATH}",
                ],
                interval="30s",
                timeout="5s",
                start_period="30s",
                retries=3,
            ),
            wait=True,
            wait_timeout=120,
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            stop_timeout=STOP_GRACE_SECONDS,
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
            privileged=False,
            security_opts=["no-new-privileges:true"],
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            memory=args.memory_mb,
            log_driver="json-file",
            log_opts=LOG_OPTS,
            # Bound to the LAN address even before it is up at boot: the host allows
            # non-local binds (README, "Venue stacks": net.ipv4.ip_nonlocal_bind=1).
            ports=[docker.ContainerPortArgs(internal=port, external=port, ip=args.lan_address)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
            volumes=[
                docker.ContainerVolumeArgs(volume_name=store.name, container_path=STORE_DIR),
                docker.ContainerVolumeArgs(
                    volume_name=tls_files.name, container_path=TLS_DIR, read_only=True
                ),
            ],
            # The LAN address and port can be bound by one container at a time; the files
            # must be on the TLS volume before it starts.
            opts=pulumi.ResourceOptions.merge(
                self._on_host,
                pulumi.ResourceOptions(delete_before_replace=True, depends_on=[writer]),
            ),
        )

    def _backups(self, store: docker.Volume) -> dict[str, Any]:
        """The store's scheduled copy into a kept volume; returns the `backup` output."""
        name, args = self._name, self._args
        every = args.backup_every_hours * 3600
        volume = docker.Volume(
            f"{name}-store-backups",
            name=f"{name}-store-backups",
            opts=pulumi.ResourceOptions.merge(
                self._on_host,
                pulumi.ResourceOptions(retain_on_delete=True, protect=args.protect_store),
            ),
        )
        image = docker.RemoteImage(
            f"{name}-backup-image", name=args.backup_image, keep_locally=True, opts=self._on_host
        )
        docker.Container(
            f"{name}-store-backup",
            name=f"{name}-store-backup",
            image=image.image_id,
            command=["sh", "-c", backup.backup_script(every, args.backup_keep)],
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=backup.healthcheck(every), interval="5m", timeout="10s", retries=1
            ),
            # Root without DAC_OVERRIDE: reads the Bastion's files (DAC_READ_SEARCH), writes
            # only its own volume, and has no network at all.
            user="0:0",
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=["DAC_READ_SEARCH"]),
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,size=16m"},
            privileged=False,
            security_opts=["no-new-privileges:true"],
            network_mode="none",
            memory=64,
            log_driver="json-file",
            log_opts=LOG_OPTS,
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=store.name, container_path=backup.STORE_MOUNT, read_only=True
                ),
                docker.ContainerVolumeArgs(
                    volume_name=volume.name, container_path=backup.BACKUPS_MOUNT
                ),
            ],
            opts=self._on_host,
        )
        restore = backup.restore_command(
            bastion=f"{name}-bastion",
            backup_job=f"{name}-store-backup",
            store_volume=f"{name}-offline-store",
            backups_volume=f"{name}-store-backups",
            image=args.backup_image,
        )
        return {
            "volume": f"{name}-store-backups",
            "everyHours": args.backup_every_hours,
            "keep": args.backup_keep,
            "restoreCommand": restore,
        }


def enrollment(
    lan_url: str, hostname_url: str, hostname: str, values: dict[str, Any]
) -> dict[str, Any]:
    """What a handheld enrolls with: where the Bastion is, the CA to trust (and, during a
    CA rotation, the next one too), the pins and the dates."""
    enrolled = [str(pem) for pem in values["enrolled"]]
    return {
        "lanUrl": lan_url,
        "hostname": hostname,
        "hostnameUrl": hostname_url,
        "caCertificate": values["ca"],
        "caFingerprintSha256": sha256_fingerprint(values["ca"]),
        "caNotAfter": values["ca_not_after"],
        "serverCertificateSha256": sha256_fingerprint(values["server"]),
        "serverNotAfter": values["server_not_after"],
        # Network Security Config: <pin digest="SHA-256">…</pin>; OkHttp: "sha256/…".
        "spkiPinsSha256": [spki_sha256(pem) for pem in enrolled],
        "trustedCaCertificates": enrolled,
    }
