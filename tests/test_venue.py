"""Venue stacks: the Bastion on the venue's Docker host, wired to its cloud stack."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import ConfigError
from components.venue.tls import sha256_fingerprint
from plan import engine, policy, stack_config
from plan.__main__ import main
from plan.model import Plan, Resource, Secret, reveal
from plan.resource_types import STACK_REFERENCE
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
    assert len(docker) == 5
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


def test_tls_material_is_mounted_and_the_key_stays_secret(
    venue_plan: Plan, bastion: Resource
) -> None:
    assert isinstance(bastion.inputs["uploads"], Secret)
    files = {u["file"]: u["content"] for u in reveal(bastion.inputs["uploads"])}
    ca = venue_plan.named("venue-arena-tls-ca").outputs["certPem"]
    server = venue_plan.named("venue-arena-tls-server").outputs["certPem"]
    key = reveal(venue_plan.named("venue-arena-tls-server-key").outputs["privateKeyPem"])
    assert files == {
        "/run/bastion/tls/ca.crt": ca,
        "/run/bastion/tls/server.crt": server,
        "/run/bastion/tls/server.key": key,
    }
    env = env_of(bastion)
    assert env["Kestrel__Certificates__Default__KeyPath"] == "/run/bastion/tls/server.key"
    # Docker uploads into a read-only root filesystem only land in a volume.
    assert {"volumeName": "venue-arena-tls-files", "containerPath": "/run/bastion/tls"} in (
        bastion.inputs["volumes"]
    )


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
        "venue-arena-bastion",
    }


# --- enrollment --------------------------------------------------------------------------


def test_enrollment_bundle_is_public_and_complete(venue_plan: Plan) -> None:
    enrollment = venue_plan.outputs["enrollment"]
    ca_pem = venue_plan.named("venue-arena-tls-ca").outputs["certPem"]
    assert not isinstance(enrollment, Secret)
    assert enrollment == {
        "lanUrl": "https://10.20.0.5:8443",
        "caCertificate": ca_pem,
        "caFingerprintSha256": sha256_fingerprint(ca_pem),
    }


def test_enrollment_follows_lan_address_and_port(capture: Callable[..., Plan]) -> None:
    plan = capture(VENUE, venue_with(lanAddress="192.168.40.2", port=9443))
    assert plan.outputs["enrollment"]["lanUrl"] == "https://192.168.40.2:9443"
    csr = plan.named("venue-arena-tls-server-csr")
    assert "192.168.40.2" in csr.inputs["ipAddresses"]


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
