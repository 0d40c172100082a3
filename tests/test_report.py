"""How outputs read to people: secrets masked at any depth, long values cut."""

from __future__ import annotations

from plan.model import Secret
from plan.report import SHOWN_CHARS, show


def test_secret_is_masked_at_any_depth() -> None:
    shown = show({"arena": {"syncUrl": "https://api.example.com/sync", "credential": Secret("x")}})
    assert shown.splitlines() == [
        "arena:",
        "  credential: [secret]",
        "  syncUrl: https://api.example.com/sync",
    ]


def test_long_values_are_cut_with_their_length() -> None:
    pem = "-----BEGIN CERTIFICATE-----\n" + "A" * 500
    shown = show(pem)
    assert shown.startswith("-----BEGIN CERTIFICATE-----\\n")
    assert shown.endswith(f"… ({len(pem) + 1} chars)")  # the newline shows as \n
    assert len(shown) < SHOWN_CHARS + 20


def test_short_values_and_lists_read_plainly() -> None:
    assert show("vpc-123") == "vpc-123"
    assert show(["198.51.100.7"]) == '["198.51.100.7"]'
    assert show([Secret("x")]) == '["[secret]"]'
