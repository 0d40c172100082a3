"""EdgeCertificate: one certificate for the public hostnames, validated through Cloudflare."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from components.aws.certificate import validation_field
from plan import fakes
from plan.model import Plan
from plan.resource_types import CERTIFICATE, CERTIFICATE_VALIDATION


def validation_records(plan: Plan) -> dict[str, Any]:
    return {
        r.name.removeprefix("tls-validation-"): r
        for r in plan.children(tls_urn(plan))
        if r.type.startswith("cloudflare:")
    }


def tls_urn(plan: Plan) -> str:
    (component,) = plan.of_type("ticketing:aws:EdgeCertificate")
    return component.urn


def test_certificate_covers_every_public_hostname(dev_plan: Plan) -> None:
    (certificate,) = dev_plan.of_type(CERTIFICATE)
    hosts = dev_plan.outputs["publicHostnames"]
    names = [certificate.inputs["domainName"], *certificate.inputs["subjectAlternativeNames"]]
    assert sorted(names) == sorted(hosts.values())
    assert certificate.inputs["validationMethod"] == "DNS"


def test_validation_records_match_options_by_domain_not_index(
    capture: Callable[..., Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fakes.STATE[CERTIFICATE]

    def reordered(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
        state = real(name, inputs, region)
        state["domainValidationOptions"] = list(reversed(state["domainValidationOptions"]))
        return state

    monkeypatch.setitem(fakes.STATE, CERTIFICATE, reordered)
    plan = capture("dev")
    (certificate,) = plan.of_type(CERTIFICATE)
    options = {o["domainName"]: o for o in certificate.outputs["domainValidationOptions"]}
    assert list(options) != [
        certificate.inputs["domainName"],
        *certificate.inputs["subjectAlternativeNames"],
    ]
    records = validation_records(plan)
    hosts = plan.outputs["publicHostnames"]
    assert sorted(records) == sorted(hosts)
    for key, record in records.items():
        option = options[hosts[key]]
        assert record.inputs["name"] == option["resourceRecordName"].rstrip(".")
        assert record.inputs["content"] == option["resourceRecordValue"].rstrip(".")
        assert record.inputs["type"] == option["resourceRecordType"]


def test_validation_records_are_not_proxied(dev_plan: Plan) -> None:
    records = validation_records(dev_plan).values()
    assert records and all(r.inputs["proxied"] is False for r in records)


def test_validation_waits_for_every_record(dev_plan: Plan) -> None:
    (validation,) = dev_plan.of_type(CERTIFICATE_VALIDATION)
    (certificate,) = dev_plan.of_type(CERTIFICATE)
    records = validation_records(dev_plan).values()
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
    assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(
        r.inputs["name"] for r in records
    )


def test_certificate_arn_export_is_the_validated_arn(dev_plan: Plan) -> None:
    (validation,) = dev_plan.of_type(CERTIFICATE_VALIDATION)
    assert dev_plan.outputs["certificateArn"] == validation.outputs["certificateArn"]


def test_validation_field_names_the_missing_domain() -> None:
    options = [{"domain_name": "a.example.com", "resource_record_name": "_x.a.example.com."}]
    assert validation_field(options, "a.example.com", "resource_record_name") == "_x.a.example.com"
    with pytest.raises(ValueError, match=r"b\.example\.com"):
        validation_field(options, "b.example.com", "resource_record_name")
