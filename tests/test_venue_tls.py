"""Venue TLS: the per-venue CA, the Bastion's LAN certificate, the enrollment fingerprint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from components.venue.tls import sha256_fingerprint
from plan import fakes
from plan.model import Plan, Secret

VENUE = "venue-dev-arena"


@pytest.fixture(scope="module")
def venue_plan(plan_of) -> Plan:  # type: ignore[no-untyped-def]
    return plan_of(VENUE)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_fingerprint_matches_openssl_for_a_fresh_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "ca.crt", tmp_path / "ca.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=test-ca",
        ],
        check=True,
        capture_output=True,
    )
    shown = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert sha256_fingerprint(cert.read_text()) == shown.strip().split("=", 1)[1]


def test_fingerprint_of_the_offline_plan_ca_is_known() -> None:
    # openssl x509 -fingerprint -sha256 of plan/fakes.py's TLS_CERT_PEM
    assert sha256_fingerprint(fakes.TLS_CERT_PEM) == (
        "5D:79:74:1B:D0:5A:45:14:7C:76:4E:41:9D:3A:00:D5:"
        "CF:34:BD:BB:45:CE:9D:72:39:2D:35:12:7F:F8:C9:18"
    )


def test_ca_is_a_p256_signing_only_ca(venue_plan: Plan) -> None:
    ca = venue_plan.named("venue-arena-tls-ca")
    key = venue_plan.named("venue-arena-tls-ca-key")
    assert (key.inputs["algorithm"], key.inputs["ecdsaCurve"]) == (
        "ECDSA",
        "P256",
    )
    assert ca.inputs["isCaCertificate"] is True
    assert "cert_signing" in ca.inputs["allowedUses"]
    assert "server_auth" not in ca.inputs["allowedUses"]


def test_server_certificate_is_for_the_lan_address_and_signed_by_the_ca(venue_plan: Plan) -> None:
    csr = venue_plan.named("venue-arena-tls-server-csr")
    server = venue_plan.named("venue-arena-tls-server")
    assert "10.20.0.5" in csr.inputs["ipAddresses"]
    assert server.inputs["allowedUses"] == ["digital_signature", "key_encipherment", "server_auth"]
    assert server.inputs["caCertPem"] == venue_plan.named("venue-arena-tls-ca").outputs["certPem"]


def test_private_keys_stay_secret(venue_plan: Plan) -> None:
    for name in ("venue-arena-tls-ca-key", "venue-arena-tls-server-key"):
        assert isinstance(venue_plan.named(name).outputs["privateKeyPem"], Secret)
    assert isinstance(venue_plan.named("venue-arena-tls-server").inputs["caPrivateKeyPem"], Secret)


def test_tls_resources_sit_under_the_venue_tls_component(venue_plan: Plan) -> None:
    component = venue_plan.named("venue-arena-tls")
    tls_types = {r.type for r in venue_plan if r.package == "tls"}
    assert len(tls_types) == 4
    assert all(r.parent == component.urn for r in venue_plan if r.package == "tls")
