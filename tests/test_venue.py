"""Venue stacks: the Bastion on the venue's Docker host, wired to its cloud stack."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import ConfigError
from components.venue.tls import sha256_fingerprint, spki_sha256
from plan import engine, policy, stack_config
from plan.__main__ import main
from plan.model import Plan, Resource, Secret, reveal
from plan.resource_types import DOCKER_CONTAINER, STACK_REFERENCE
from seed import naming

VENUE = "venue-dev-arena"
ROOT = engine.PROJECT_DIR
VENUE_CONFIG: dict[str, Any] = yaml.safe_load((ROOT / f"Pulumi.{VENUE}.yaml").read_text())[
    "config"
]["ticketing:venue"]


def venue_with(**changes: Any) -> dict[str, Any]:
    return {"ticketing:venue": {**VENUE_CONFIG, **changes}}


@pytest.fixture(scope="module")
def venue_plan(plan_of: Callable[[str], Plan]) -> Plan:
    return plan_of(VENUE)


@pytest.fixture(scope="module")
def bastion(venue_plan: Plan) -> Resource:
    return venue_plan.named("venue-arena-bastion")


def env_of(container: Resource) -> dict[str, str]:
    return dict(e.split("=", 1) for e in reveal(container.inputs["envs"]))


# --- the example stack and its Docker provider -------------------------------------


def test_the_example_venue_stack_deploys_only_the_venue_boundary(venue_plan: Plan) -> None:
    assert {r.package for r in venue_plan if r.custom and not r.read} == {"docker", "tls"}


def test_docker_provider_targets_the_venue_host_over_ssh(venue_plan: Plan) -> None:
    provider = venue_plan.named("venue-arena-docker")
    assert provider.type == "pulumi:providers:docker"
    assert provider.inputs["host"] == "ssh://deploy@10.20.0.5"
    assert "StrictHostKeyChecking=accept-new" in provider.inputs["sshOpts"]


def test_every_docker_resource_uses_the_venue_provider(venue_plan: Plan) -> None:
    provider = venue_plan.named("venue-arena-docker")
    docker = [r for r in venue_plan if r.package == "docker" and not r.is_provider]
    assert len(docker) == 9
    assert {r.provider for r in docker} == {provider.urn}


def test_tcp_host_uses_the_tls_material_from_config_secrets(
    capture: Callable[..., Plan],
) -> None:
    secrets = {f"ticketing:{k}": {"secure": "v1:x"} for k in ("dockerTlsCa", "dockerTlsCert")}
    secrets["ticketing:dockerTlsKey"] = {"secure": "v1:x"}
    plan = capture(VENUE, {**venue_with(dockerHost="tcp://10.20.0.5:2376"), **secrets})
    provider = plan.named("venue-arena-docker")
    assert provider.inputs["host"] == "tcp://10.20.0.5:2376"
    assert "sshOpts" not in provider.inputs
    for key in ("caMaterial", "certMaterial", "keyMaterial"):
        assert isinstance(provider.inputs[key], Secret)


def test_tcp_host_without_tls_material_stops_with_one_line(capture: Callable[..., Plan]) -> None:
    with pytest.raises(ConfigError) as error:
        capture(VENUE, venue_with(dockerHost="tcp://10.20.0.5:2376"))
    assert str(error.value) == (
        "ticketing:dockerTlsCa: required as a secret when venue.dockerHost is tcp://, got nothing"
    )


def test_tls_material_in_plain_config_stops_with_one_line(capture: Callable[..., Plan]) -> None:
    secrets = {f"ticketing:{k}": {"secure": "v1:x"} for k in ("dockerTlsCa", "dockerTlsKey")}
    plain = {"ticketing:dockerTlsCert": "-----BEGIN CERTIFICATE-----"}
    with pytest.raises(ConfigError) as error:
        capture(VENUE, {**venue_with(dockerHost="tcp://10.20.0.5:2376"), **secrets, **plain})
    assert str(error.value) == (
        "ticketing:dockerTlsCert: key material must be a config secret "
        "(pulumi config set --secret ticketing:dockerTlsCert), got a plain value"
    )


# --- image, network, volume ------------------------------------------------------------


def test_image_is_the_pinned_bastion_image_kept_locally(
    venue_plan: Plan, bastion: Resource
) -> None:
    image = venue_plan.named("venue-arena-bastion-image")
    assert image.inputs["name"] == "ghcr.io/example-tickets/bastion:2.1.0"
    assert image.inputs["keepLocally"] is True
    assert bastion.inputs["image"] == image.outputs["imageId"]


def test_private_bridge_network_keeps_outbound_for_sync(
    venue_plan: Plan, bastion: Resource
) -> None:
    network = venue_plan.named("venue-arena-net")
    assert network.inputs["driver"] == "bridge"
    assert network.inputs["internal"] is False
    assert bastion.inputs["networksAdvanced"] == [{"name": network.inputs["name"]}]


def test_offline_store_survives_redeploys_and_deletes(venue_plan: Plan, bastion: Resource) -> None:
    store = venue_plan.named("venue-arena-offline-store")
    assert store.retain_on_delete
    assert store.inputs["name"] == "venue-arena-offline-store"
    assert {"volumeName": "venue-arena-offline-store", "containerPath": "/var/lib/bastion"} in (
        bastion.inputs["volumes"]
    )


def test_a_prod_venue_protects_its_store_and_passes_the_pack(capture: Callable[..., Plan]) -> None:
    prod = {
        "ticketing:environment": "prod",
        **venue_with(cloudStack="example-tickets/ticketing/prod"),
    }
    plan = capture(VENUE, prod)
    store, tls_files = plan.named("venue-arena-offline-store"), plan.named("venue-arena-tls-files")
    assert store.protect and store.retain_on_delete
    # Rewritten from state on every deploy: labelled as such, nothing to protect.
    assert not tls_files.protect
    assert tls_files.inputs["labels"] == [
        {"label": naming.GENERATED_VOLUME_LABEL, "value": naming.GENERATED_VOLUME_VALUE}
    ]
    config = stack_config.load(ROOT, VENUE, prod).values
    verdicts = policy.evaluate(plan, stack_config=config)
    assert verdicts.mandatory_violations == []


def test_a_dev_venue_leaves_its_store_unprotected(venue_plan: Plan) -> None:
    assert not venue_plan.named("venue-arena-offline-store").protect


# --- the Bastion container ---------------------------------------------------------------


def test_bastion_restarts_unless_stopped_and_waits_for_health(bastion: Resource) -> None:
    assert bastion.inputs["restart"] == "unless-stopped"
    check = bastion.inputs["healthcheck"]
    assert check["tests"][:2] == ["CMD", "curl"]
    assert check["tests"][-1] == "https://localhost:8443/healthz"
    assert (check["interval"], check["retries"]) == ("30s", 3.0)
    assert bastion.inputs["wait"] is True


def test_bastion_is_hardened(bastion: Resource) -> None:
    assert bastion.inputs["readOnly"] is True
    assert set(bastion.inputs["tmpfs"]) == {"/tmp"}
    assert bastion.inputs["privileged"] is False
    assert bastion.inputs["capabilities"] == {"drops": ["ALL"]}
    assert bastion.inputs["securityOpts"] == ["no-new-privileges:true"]


def test_bastion_memory_is_limited(bastion: Resource) -> None:
    assert bastion.inputs["memory"] == 512.0


def test_bastion_logs_rotate(bastion: Resource) -> None:
    assert bastion.inputs["logDriver"] == "json-file"
    assert bastion.inputs["logOpts"] == {"max-size": "10m", "max-file": "5"}


def test_port_is_published_only_on_the_lan_address(bastion: Resource) -> None:
    assert bastion.inputs["ports"] == [{"internal": 8443.0, "external": 8443.0, "ip": "10.20.0.5"}]


def test_container_is_replaced_by_delete_first(bastion: Resource) -> None:
    assert bastion.delete_before_replace


def test_sync_url_and_credential_come_from_the_cloud_stack(
    plan_of: Callable[[str], Plan], bastion: Resource
) -> None:
    cloud_entry = reveal(plan_of("dev").outputs["venueSync"])["arena"]
    env = env_of(bastion)
    assert env["SYNC_URL"] == cloud_entry["syncUrl"]
    # The offline plan hands the venue a placeholder, never the cloud plan's secret.
    assert env["SYNC_CREDENTIAL"] == stack_config.SECRET_PLACEHOLDER
    assert env["VENUE_ID"] == "arena"


def test_env_holding_the_credential_stays_secret(bastion: Resource) -> None:
    assert isinstance(bastion.inputs["envs"], Secret)


def test_stack_reference_names_the_cloud_stack(venue_plan: Plan) -> None:
    reference = venue_plan.of_type(STACK_REFERENCE)
    assert [r.name for r in reference] == ["example-tickets/ticketing/dev"]
    assert reference[0].read


def test_no_read_only_container_gets_uploads(venue_plan: Plan) -> None:
    # The provider extracts uploads at / through the archive API, and the daemon refuses
    # that on a read-only root ("container rootfs is marked read-only"): proven on a real
    # dockerd in tests/test_venue_docker.py.
    containers = venue_plan.of_type(DOCKER_CONTAINER)
    assert containers
    for container in containers:
        if container.inputs.get("readOnly") is True:
            assert "uploads" not in container.inputs, container.name


def test_tls_files_are_uploaded_into_a_writer_that_never_starts(venue_plan: Plan) -> None:
    writer = venue_plan.named("venue-arena-tls-writer")
    assert (writer.inputs["start"], writer.inputs["mustRun"]) == (False, False)
    assert writer.inputs.get("readOnly") is not True
    assert writer.inputs["networkMode"] == "none"
    assert writer.inputs["volumes"] == [
        {"volumeName": "venue-arena-tls-files", "containerPath": "/run/bastion/tls"}
    ]
    assert isinstance(writer.inputs["uploads"], Secret)
    uploads = {u["file"]: u for u in reveal(writer.inputs["uploads"])}
    ca = venue_plan.named("venue-arena-tls-ca").outputs["certPem"]
    server = venue_plan.named("venue-arena-tls-server").outputs["certPem"]
    key = reveal(venue_plan.named("venue-arena-tls-server-key").outputs["privateKeyPem"])
    assert {f: u["content"] for f, u in uploads.items()} == {
        "/run/bastion/tls/ca.crt": ca,
        "/run/bastion/tls/server.crt": server,
        "/run/bastion/tls/server.key": key,
    }
    # Numeric ids: the provider resolves names in the deploying machine's user database.
    assert {(u["owner"], u["group"]) for u in uploads.values()} == {("10001", "10001")}
    assert uploads["/run/bastion/tls/server.key"]["permissions"] == "0400"
    assert uploads["/run/bastion/tls/server.crt"]["permissions"] == "0444"


def test_bastion_reads_the_tls_volume_read_only_as_the_files_owner(
    venue_plan: Plan, bastion: Resource
) -> None:
    assert "uploads" not in bastion.inputs
    assert {
        "volumeName": "venue-arena-tls-files",
        "containerPath": "/run/bastion/tls",
        "readOnly": True,
    } in bastion.inputs["volumes"]
    assert bastion.inputs["user"] == "10001:10001"
    env = env_of(bastion)
    assert env["Kestrel__Certificates__Default__KeyPath"] == "/run/bastion/tls/server.key"
    # The files are on the volume before the Bastion starts.
    assert venue_plan.named("venue-arena-tls-writer").urn in bastion.depends_on


def test_a_certificate_renewal_replaces_the_bastion(venue_plan: Plan, bastion: Resource) -> None:
    server = venue_plan.named("venue-arena-tls-server").outputs["certPem"]
    assert bastion.inputs["labels"] == [
        {
            "label": "ticketing.venue.server-certificate-sha256",
            "value": sha256_fingerprint(server),
        }
    ]


def test_a_replaced_bastion_is_stopped_gracefully(bastion: Resource) -> None:
    # Without destroy_grace_seconds the provider stops with a timeout of 0 and removes by
    # force (terraform-provider-docker v4.5.0, resourceDockerContainerDelete).
    assert bastion.inputs["destroyGraceSeconds"] == 30.0
    assert bastion.inputs["stopTimeout"] == 30.0


# --- the store's backup ------------------------------------------------------------------


def test_store_is_copied_on_schedule_into_a_kept_volume(venue_plan: Plan) -> None:
    backups = venue_plan.named("venue-arena-store-backups")
    assert backups.retain_on_delete
    job = venue_plan.named("venue-arena-store-backup")
    assert job.inputs["restart"] == "unless-stopped"
    assert job.inputs["networkMode"] == "none"
    assert job.inputs["readOnly"] is True
    assert job.inputs["capabilities"] == {"drops": ["ALL"], "adds": ["DAC_READ_SEARCH"]}
    assert job.inputs["volumes"] == [
        {"volumeName": "venue-arena-offline-store", "containerPath": "/store", "readOnly": True},
        {"volumeName": "venue-arena-store-backups", "containerPath": "/backups"},
    ]
    script = job.inputs["command"][2]
    assert "keep=28" in script and "sleep 21600" in script
    image = venue_plan.named("venue-arena-backup-image")
    assert image.inputs["name"] == "docker.io/library/busybox:1.36.1"
    assert job.inputs["image"] == image.outputs["imageId"]


def test_backup_schedule_and_retention_come_from_config(capture: Callable[..., Plan]) -> None:
    plan = capture(VENUE, venue_with(backup={"everyHours": 2, "keep": 5}))
    script = plan.named("venue-arena-store-backup").inputs["command"][2]
    assert "keep=5" in script and "sleep 7200" in script
    assert plan.outputs["backup"]["keep"] == 5
    assert plan.outputs["backup"]["everyHours"] == 2


def test_backup_output_names_the_one_restore_command(venue_plan: Plan) -> None:
    restore = venue_plan.outputs["backup"]["restoreCommand"]
    stopped = "venue-arena-bastion venue-arena-store-backup"
    assert restore.startswith(f"docker stop {stopped} 2>/dev/null; docker run --rm ")
    assert "-v venue-arena-offline-store:/store -v venue-arena-store-backups:/backups:ro" in restore
    assert f"&& {{ docker start {stopped} 2>/dev/null ||" in restore


def test_children_hang_under_the_venue_host(venue_plan: Plan) -> None:
    host = venue_plan.named("venue-arena")
    assert host.type == "ticketing:venue:VenueHost"
    assert {r.name for r in venue_plan.children(host.urn)} == {
        "venue-arena-docker",
        "venue-arena-tls",
        "venue-arena-bastion-image",
        "venue-arena-net",
        "venue-arena-offline-store",
        "venue-arena-tls-files",
        "venue-arena-tls-writer",
        "venue-arena-bastion",
        "venue-arena-store-backups",
        "venue-arena-backup-image",
        "venue-arena-store-backup",
    }


# --- enrollment --------------------------------------------------------------------------


def test_enrollment_bundle_is_public_and_complete(venue_plan: Plan) -> None:
    enrollment = venue_plan.outputs["enrollment"]
    ca = venue_plan.named("venue-arena-tls-ca")
    server = venue_plan.named("venue-arena-tls-server")
    ca_pem = ca.outputs["certPem"]
    assert not isinstance(enrollment, Secret)
    assert enrollment == {
        "lanUrl": "https://10.20.0.5:8443",
        "hostname": "bastion.arena.internal",
        "hostnameUrl": "https://bastion.arena.internal:8443",
        "caCertificate": ca_pem,
        "caFingerprintSha256": sha256_fingerprint(ca_pem),
        "caNotAfter": ca.outputs["validityEndTime"],
        "serverCertificateSha256": sha256_fingerprint(server.outputs["certPem"]),
        "serverNotAfter": server.outputs["validityEndTime"],
        "spkiPinsSha256": [spki_sha256(ca_pem)],
        "trustedCaCertificates": [ca_pem],
    }


def test_enrollment_follows_lan_address_hostname_and_port(capture: Callable[..., Plan]) -> None:
    plan = capture(
        VENUE, venue_with(lanAddress="192.168.40.2", port=9443, hostname="tix.arena.lan")
    )
    assert plan.outputs["enrollment"]["lanUrl"] == "https://192.168.40.2:9443"
    assert plan.outputs["enrollment"]["hostnameUrl"] == "https://tix.arena.lan:9443"
    csr = plan.named("venue-arena-tls-server-csr")
    assert "192.168.40.2" in csr.inputs["ipAddresses"]
    assert "tix.arena.lan" in csr.inputs["dnsNames"]


def test_plan_prints_the_enrollment_fields_and_the_dates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([VENUE]) == 0
    out = capsys.readouterr().out
    plan = engine.capture(VENUE)
    enrollment = plan.outputs["enrollment"]
    for field in ("lanUrl", "hostnameUrl", "caFingerprintSha256", "caNotAfter", "serverNotAfter"):
        assert enrollment[field] in out, field
    assert f"sha256/{enrollment['spkiPinsSha256'][0]}" in out


# --- bad wiring ----------------------------------------------------------------------------


def test_venue_the_cloud_stack_does_not_list_stops_with_one_line(
    capture: Callable[..., Plan],
) -> None:
    with pytest.raises(ConfigError) as error:
        capture(VENUE, venue_with(id="stadium"))
    assert str(error.value) == (
        'ticketing:venue.id: venue "stadium" is not served by cloud stack '
        'example-tickets/ticketing/dev (its venues: arena), got "stadium"'
    )


def test_cloud_plan_without_the_output_stops_with_one_line(
    plan_of: Callable[[str], Plan], capture: Callable[..., Plan]
) -> None:
    def without_sync(stack: str) -> Plan:
        cloud = plan_of(stack)
        outputs = {k: v for k, v in cloud.outputs.items() if k != "venueSync"}
        return Plan(cloud.project, cloud.stack, cloud.resources, outputs)

    with pytest.raises(ConfigError) as error:
        capture(VENUE, plan_of=without_sync)
    assert str(error.value) == (
        "ticketing:venue.cloudStack: cloud stack example-tickets/ticketing/dev has no venueSync "
        'output (deploy it with venue "arena" in ticketing:venues), '
        'got "example-tickets/ticketing/dev"'
    )


def test_cli_reports_bad_wiring_as_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack_file = tmp_path / f"Pulumi.{VENUE}.yaml"
    stack_file.write_text((ROOT / stack_file.name).read_text().replace("id: arena", "id: dome"))
    code = main([VENUE, "--project-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        'error: ticketing:venue.id: venue "dome" is not served by cloud stack '
        'example-tickets/ticketing/dev (its venues: arena), got "dome"'
    ]
