"""Venue TLS: the per-venue CA, the Bastion's LAN certificate, the enrollment fingerprint."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509

from components.settings import ConfigError
from components.venue.tls import (
    CA_VALIDITY_HOURS,
    SERVER_VALIDITY_HOURS,
    expiry_warning,
    parse_time,
    sha256_fingerprint,
    spki_sha256,
)
from plan import fake_tls
from plan.model import Plan, Secret
from tests.test_venue import venue_with

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


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True).stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_spki_pin_matches_the_openssl_pipeline(venue_plan: Plan) -> None:
    # The pin recipe of Android's Network Security Config docs and OkHttp's CertificatePinner:
    # openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary
    # | base64
    pem = venue_plan.named("venue-arena-tls-ca").outputs["certPem"]
    public = openssl("x509", "-noout", "-pubkey", stdin=pem.encode())
    der = openssl("pkey", "-pubin", "-outform", "der", stdin=public)
    digest = openssl("dgst", "-sha256", "-binary", stdin=der)
    expected = openssl("base64", stdin=digest).decode().strip()
    assert spki_sha256(pem) == expected
    assert venue_plan.outputs["enrollment"]["spkiPinsSha256"] == [expected]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_server_certificate_has_the_lan_ip_and_hostname_and_chains_to_the_ca(
    venue_plan: Plan, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text(venue_plan.named("venue-arena-tls-ca").outputs["certPem"])
    server = tmp_path / "server.crt"
    server.write_text(venue_plan.named("venue-arena-tls-server").outputs["certPem"])
    text = openssl("x509", "-in", str(server), "-noout", "-ext", "subjectAltName").decode()
    assert "IP Address:10.20.0.5" in text
    assert "DNS:bastion.arena.internal" in text
    for name in ("10.20.0.5", "bastion.arena.internal"):
        flag = "-verify_ip" if name[0].isdigit() else "-verify_hostname"
        checked = ["verify", "-purpose", "sslserver", flag, name, "-CAfile", str(ca), str(server)]
        assert openssl(*checked).decode().strip() == f"{server}: OK"


def test_enrollment_dates_are_the_certificates_own(venue_plan: Plan) -> None:
    enrollment = venue_plan.outputs["enrollment"]
    for field, name in (
        ("caNotAfter", "venue-arena-tls-ca"),
        ("serverNotAfter", "venue-arena-tls-server"),
    ):
        cert = x509.load_pem_x509_certificate(venue_plan.named(name).outputs["certPem"].encode())
        assert parse_time(enrollment[field]) == cert.not_valid_after_utc


def test_the_ca_is_protected_and_never_renewed_by_the_provider(venue_plan: Plan) -> None:
    for name in ("venue-arena-tls-ca", "venue-arena-tls-ca-key"):
        assert venue_plan.named(name).protect, name
    # A protected resource cannot be replaced: early renewal would fail every deploy in
    # its window, so the plan warns instead and the CA is rotated (next test).
    assert "earlyRenewalHours" not in venue_plan.named("venue-arena-tls-ca").inputs
    assert venue_plan.named("venue-arena-tls-server").inputs["earlyRenewalHours"] == 60 * 24
    assert not venue_plan.named("venue-arena-tls-server").protect


def test_ca_rotation_step_one_enrolls_the_next_ca_beside_the_current(
    capture: Callable[..., Plan],
) -> None:
    plan = capture(VENUE, venue_with(ca={"next": 2}))
    ca1, ca2 = plan.named("venue-arena-tls-ca"), plan.named("venue-arena-tls-ca-2")
    assert plan.named("venue-arena-tls-ca-2-key").protect and ca2.protect
    enrollment = plan.outputs["enrollment"]
    pems = [ca1.outputs["certPem"], ca2.outputs["certPem"]]
    assert pems[0] != pems[1]
    assert enrollment["trustedCaCertificates"] == pems
    assert enrollment["spkiPinsSha256"] == [spki_sha256(p) for p in pems]
    # The server certificate is still the current CA's: nothing changes for the handhelds.
    assert plan.named("venue-arena-tls-server").inputs["caCertPem"] == pems[0]
    assert enrollment["caCertificate"] == pems[0]


def test_ca_rotation_step_two_switches_the_server_certificate(
    capture: Callable[..., Plan],
) -> None:
    plan = capture(VENUE, venue_with(ca={"current": 2}))
    ca2 = plan.named("venue-arena-tls-ca-2")
    assert [r.name for r in plan if r.name.startswith("venue-arena-tls-ca")] == [
        "venue-arena-tls-ca-2-key",
        "venue-arena-tls-ca-2",
    ]
    assert plan.named("venue-arena-tls-server").inputs["caCertPem"] == ca2.outputs["certPem"]
    assert plan.outputs["enrollment"]["caCertificate"] == ca2.outputs["certPem"]


def test_next_ca_must_follow_the_current_one(capture: Callable[..., Plan]) -> None:
    with pytest.raises(ConfigError) as error:
        capture(VENUE, venue_with(ca={"current": 1, "next": 3}))
    assert str(error.value) == (
        "ticketing:venue.ca.next: the next CA generation is current + 1 (2), got 3"
    )


def test_expiry_warning_only_within_the_window() -> None:
    now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    assert expiry_warning("x", "2027-03-01T00:00:00Z", now, 60 * 24) is None
    assert expiry_warning("x", "2027-01-01T00:00:00Z", now, 60 * 24) == (
        "x expires on 2027-01-01T00:00:00Z (29 days left, within 60 days)"
    )
    assert expiry_warning("x", "2026-12-01T00:00:00Z", now, 60 * 24) == (
        "x expires on 2026-12-01T00:00:00Z (0 days left, within 60 days)"
    )


def test_plan_warns_when_a_certificate_is_within_its_renewal_window(
    capture: Callable[..., Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    today = fake_tls.issued_at()
    # Certificates issued so long ago that the server's has 20 days and the CA's 300 left.
    server_age = dt.timedelta(hours=SERVER_VALIDITY_HOURS) - dt.timedelta(days=20)
    monkeypatch.setattr(fake_tls, "issued_at", lambda: today - server_age)
    expires = (today + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert capture(VENUE).warnings == [
        f"the server certificate venue-arena-tls-server expires on {expires} (19 days left, "
        "within 60 days): this deploy renews it"
    ]
    ca_age = dt.timedelta(hours=CA_VALIDITY_HOURS) - dt.timedelta(days=300)
    monkeypatch.setattr(fake_tls, "issued_at", lambda: today - ca_age)
    warnings = capture(VENUE).warnings
    assert any(w.startswith("the venue CA generation 1 expires on") for w in warnings)
    assert any("rotate it: ticketing:venue.ca.next" in w for w in warnings)


def test_plan_is_quiet_about_fresh_certificates(venue_plan: Plan) -> None:
    assert venue_plan.warnings == []


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
