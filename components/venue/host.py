"""`VenueHost`: the on-prem Docker host at one venue and the Bastion on it.

The Bastion (.NET, Docker) validates tickets offline for the venue's handhelds
and syncs with the cloud stack when the venue has internet. Handhelds reach it
over TLS on the venue LAN only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker

from components import settings
from components.settings import VenueSettings
from components.venue.sync import VenueSync
from components.venue.tls import VenueTls
from seed import naming

TLS_DIR = "/run/bastion/tls"
STORE_DIR = "/var/lib/bastion"
CA_FILE = f"{TLS_DIR}/ca.crt"
CERT_FILE = f"{TLS_DIR}/server.crt"
KEY_FILE = f"{TLS_DIR}/server.key"
HEALTH_PATH = "/healthz"
LOG_OPTS = {"max-size": "10m", "max-file": "5"}
SSH_OPTS = ["-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=15"]


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
        venue: the venue's settings (Docker host, LAN address, port, image, memory).
        sync: the sync URL and credential read from the cloud stack.
        protect_store: protect the offline store (every environment but dev).
        docker_tls: client TLS material when the Docker host is `tcp://`.
    """

    venue: VenueSettings
    sync: VenueSync
    protect_store: bool
    docker_tls: DockerTls | None = None

    @classmethod
    def of(cls, stack: settings.VenueStackSettings, sync: VenueSync) -> VenueHostArgs:
        """The args for `stack`'s venue, with the `dockerTls*` secrets for a tcp:// host."""
        venue = stack.venue
        if not venue.docker_host.startswith("tcp://"):
            return cls(venue, sync, not stack.is_dev)
        ca, cert, key = (settings.secret(key) for key in settings.DOCKER_TLS_KEYS)
        if ca is None or cert is None or key is None:
            raise settings.ConfigError(  # settings.parse already refuses this
                f"{settings.NAMESPACE}:dockerTlsCa: required as a secret when "
                "venue.dockerHost is tcp://, got nothing"
            )
        return cls(venue, sync, not stack.is_dev, DockerTls(ca=ca, cert=cert, key=key))


class VenueHost(pulumi.ComponentResource):
    """The Bastion on a venue's Docker host, reachable by handhelds on the LAN only.

    Children: an explicit Docker provider for the venue host, the venue TLS
    (CA + server certificate), the pinned image, a private network, the
    offline validation store (a named volume kept when the stack or container
    goes away) and the hardened Bastion container.

    Args:
        name: prefix for every child's name and the Docker object names on the host.
        args: the venue settings and its cloud sync.
        opts: resource options.
    """

    lan_url: str
    enrollment: pulumi.Output[dict[str, str]]
    container_name: pulumi.Output[str]
    store_volume: pulumi.Output[str]

    def __init__(
        self, name: str, args: VenueHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:venue:VenueHost", name, None, opts)
        venue = args.venue
        child = pulumi.ResourceOptions(parent=self)

        host = docker.Provider(
            f"{name}-docker",
            host=venue.docker_host,
            ssh_opts=SSH_OPTS if venue.docker_host.startswith("ssh://") else None,
            ca_material=args.docker_tls.ca if args.docker_tls else None,
            cert_material=args.docker_tls.cert if args.docker_tls else None,
            key_material=args.docker_tls.key if args.docker_tls else None,
            opts=child,
        )
        on_host = pulumi.ResourceOptions(parent=self, provider=host)
        certs = VenueTls(f"{name}-tls", venue.id, venue.lan_address, opts=child)

        image = docker.RemoteImage(
            f"{name}-bastion-image",
            name=venue.bastion_image,
            keep_locally=True,  # a venue may be offline at the next deploy: keep the only copy
            opts=on_host,
        )
        # Private bridge, not internal: the Bastion needs outbound internet for cloud sync.
        network = docker.Network(
            f"{name}-net", name=f"{name}-net", driver="bridge", internal=False, opts=on_host
        )
        # A fixed name, so a re-created stack re-attaches the retained data; outside
        # dev a `pulumi destroy` or a rename also has to get past `protect`.
        store = docker.Volume(
            f"{name}-offline-store",
            name=f"{name}-offline-store",
            opts=pulumi.ResourceOptions.merge(
                on_host,
                pulumi.ResourceOptions(retain_on_delete=True, protect=args.protect_store),
            ),
        )
        # With a read-only root filesystem Docker only accepts uploads into volumes.
        tls_volume = docker.Volume(
            f"{name}-tls-files",
            name=f"{name}-tls-files",
            labels=[
                docker.VolumeLabelArgs(
                    label=naming.GENERATED_VOLUME_LABEL, value=naming.GENERATED_VOLUME_VALUE
                )
            ],
            opts=on_host,
        )

        port = venue.port
        self.lan_url = f"https://{venue.lan_address}:{port}"
        envs = pulumi.Output.all(args.sync.sync_url, args.sync.credential).apply(
            lambda pair: [
                f"VENUE_ID={venue.id}",
                f"SYNC_URL={pair[0]}",
                f"SYNC_CREDENTIAL={pair[1]}",
                f"OFFLINE_STORE_PATH={STORE_DIR}",
                f"ASPNETCORE_URLS=https://+:{port}",
                f"Kestrel__Certificates__Default__Path={CERT_FILE}",
                f"Kestrel__Certificates__Default__KeyPath={KEY_FILE}",
            ]
        )
        container = docker.Container(
            f"{name}-bastion",
            name=f"{name}-bastion",
            image=image.image_id,
            restart="unless-stopped",
            envs=pulumi.Output.secret(envs),
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
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
            privileged=False,
            security_opts=["no-new-privileges:true"],
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            memory=venue.memory_mb,
            log_driver="json-file",
            log_opts=LOG_OPTS,
            ports=[docker.ContainerPortArgs(internal=port, external=port, ip=venue.lan_address)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
            volumes=[
                docker.ContainerVolumeArgs(volume_name=store.name, container_path=STORE_DIR),
                docker.ContainerVolumeArgs(volume_name=tls_volume.name, container_path=TLS_DIR),
            ],
            uploads=[
                docker.ContainerUploadArgs(file=CA_FILE, content=certs.ca_cert_pem),
                docker.ContainerUploadArgs(file=CERT_FILE, content=certs.server_cert_pem),
                docker.ContainerUploadArgs(file=KEY_FILE, content=certs.server_key_pem),
            ],
            # The LAN address and port can be bound by one container at a time.
            opts=pulumi.ResourceOptions.merge(
                on_host, pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )

        self.container_name = container.name
        self.store_volume = store.name
        self.enrollment = pulumi.Output.all(certs.ca_cert_pem, certs.ca_fingerprint_sha256).apply(
            lambda ca: {
                "lanUrl": self.lan_url,
                "caCertificate": ca[0],
                "caFingerprintSha256": ca[1],
            }
        )
        self.stack_outputs: dict[str, pulumi.Input[Any]] = {"enrollment": self.enrollment}
        self.register_outputs(self.stack_outputs)
