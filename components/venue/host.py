"""`VenueHost`: the on-prem Docker host at one venue and the Bastion on it.

The Bastion (.NET, Docker) validates tickets offline for the venue's handhelds
and syncs with the cloud stack when the venue has internet. Handhelds reach it
over TLS on the venue LAN only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components import settings
from components.outputs import EXPORTED, ComponentOutputs
from components.venue.sync import VenueSync
from components.venue.tls import VenueTls, VenueTlsArgs
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
        venue_id: the venue (`venue.id`), in the TLS subjects and the container's env.
        docker_host: the venue's Docker host (`ssh://` or `tcp://`).
        lan_address: the IPv4 address on the venue LAN the Bastion listens on.
        port: the Bastion's HTTPS port on that address.
        bastion_image: the pinned Bastion image.
        memory_mb: the container's memory limit.
        sync: the sync URL and credential read from the cloud stack.
        protect_store: protect the offline store (every environment but dev).
        docker_tls: client TLS material when the Docker host is `tcp://`.
    """

    venue_id: str
    docker_host: str
    lan_address: str
    port: int
    bastion_image: str
    memory_mb: int
    sync: VenueSync
    protect_store: bool
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
            bastion_image=venue.bastion_image,
            memory_mb=venue.memory_mb,
            sync=sync,
            protect_store=not stack.is_dev,
            docker_tls=docker_tls,
        )

    @property
    def lan_url(self) -> str:
        """Where handhelds reach the Bastion."""
        return f"https://{self.lan_address}:{self.port}"


@dataclass(frozen=True)
class VenueHostOutputs(ComponentOutputs):
    """`enrollment`: what a handheld is enrolled with (the LAN URL and the venue CA)."""

    enrollment: pulumi.Output[dict[str, str]] = field(metadata=EXPORTED)
    container_name: pulumi.Output[str]
    store_volume: pulumi.Output[str]


class VenueHost(pulumi.ComponentResource):
    """The Bastion on a venue's Docker host, reachable by handhelds on the LAN only.

    Children: an explicit Docker provider for the venue host, the venue TLS
    (CA + server certificate), the pinned image, a private network, the
    offline validation store (a named volume kept when the stack or container
    goes away) and the hardened Bastion container.

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
        container = self._bastion(image, network, store, tls_files, certs)

        lan_url = args.lan_url
        self.outputs = VenueHostOutputs(
            enrollment=pulumi.Output.all(
                certs.outputs.ca_cert_pem, certs.outputs.ca_fingerprint_sha256
            ).apply(
                lambda ca: {
                    "lanUrl": lan_url,
                    "caCertificate": ca[0],
                    "caFingerprintSha256": ca[1],
                }
            ),
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
        # With a read-only root filesystem Docker only accepts uploads into volumes.
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

    def _bastion(
        self,
        image: docker.RemoteImage,
        network: docker.Network,
        store: docker.Volume,
        tls_files: docker.Volume,
        certs: VenueTls,
    ) -> docker.Container:
        """The hardened Bastion container, published on the LAN address only."""
        name, args = self._name, self._args
        port = args.port
        envs = pulumi.Output.all(args.sync.sync_url, args.sync.credential).apply(
            lambda pair: [
                f"VENUE_ID={args.venue_id}",
                f"SYNC_URL={pair[0]}",
                f"SYNC_CREDENTIAL={pair[1]}",
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
            memory=args.memory_mb,
            log_driver="json-file",
            log_opts=LOG_OPTS,
            ports=[docker.ContainerPortArgs(internal=port, external=port, ip=args.lan_address)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
            volumes=[
                docker.ContainerVolumeArgs(volume_name=store.name, container_path=STORE_DIR),
                docker.ContainerVolumeArgs(volume_name=tls_files.name, container_path=TLS_DIR),
            ],
            uploads=[
                docker.ContainerUploadArgs(file=CA_FILE, content=tls.ca_cert_pem),
                docker.ContainerUploadArgs(file=CERT_FILE, content=tls.server_cert_pem),
                docker.ContainerUploadArgs(file=KEY_FILE, content=tls.server_key_pem),
            ],
            # The LAN address and port can be bound by one container at a time.
            opts=pulumi.ResourceOptions.merge(
                self._on_host, pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
