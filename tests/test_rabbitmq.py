"""RabbitMQ definitions: the password hash RabbitMQ verifies, and a user confined to its vhost."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from components.host import rabbitmq

SALT = bytes([0x90, 0x8D, 0xC6, 0x0A])


def documented_sha256_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's passwords guide step by step: salt, concatenate, SHA-256, salt again, base64."""
    assert len(salt) == 4  # "generate a random 32 bit salt"
    salted = salt + password.encode("utf-8")  # "concatenate that with the UTF-8 password"
    digest = hashlib.sha256(salted).digest()  # "take the SHA-256 hash"
    return base64.b64encode(salt + digest).decode()  # "concatenate the salt again; base64"


def test_reproduces_the_hash_rabbitmq_documents_for_guest() -> None:
    # The definitions guide's sample user: "guest" with this rabbit_password_hashing_sha256 hash.
    documented = "9/1i+jKFRpbTRV1PtRnzFFYibT3cEpP92JeZ8YKGtflf4e/u"
    salt = base64.b64decode(documented)[:4]
    assert rabbitmq.password_hash("guest", salt) == documented


@pytest.mark.parametrize("password", ["s3cret", "päss wörd", "x" * 64, "'\"$%"])
def test_hash_matches_the_documented_algorithm(password: str) -> None:
    assert rabbitmq.password_hash(password, SALT) == documented_sha256_hash(password, SALT)


def test_hash_depends_on_salt_and_password() -> None:
    base = rabbitmq.password_hash("pw", SALT)
    assert rabbitmq.password_hash("pw", b"\x00\x00\x00\x01") != base
    assert rabbitmq.password_hash("pw2", SALT) != base


@pytest.mark.parametrize("salt", [b"", b"abc", b"abcde"])
def test_salt_must_be_four_bytes(salt: bytes) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        rabbitmq.password_hash("pw", salt)


def test_definitions_hold_one_user_without_tags_and_its_vhost() -> None:
    doc = rabbitmq.render_definitions("payments", "pw", "payments", SALT)
    assert doc["users"] == [
        {
            "name": "payments",
            "password_hash": documented_sha256_hash("pw", SALT),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": [],
        }
    ]
    assert doc["vhosts"] == [{"name": "payments"}]


def test_user_is_permitted_on_its_own_vhost_only() -> None:
    doc = rabbitmq.render_definitions("ticketing-app", "pw", "ticketing", SALT)
    assert doc["permissions"] == [
        {
            "user": "ticketing-app",
            "vhost": "ticketing",
            "configure": ".*",
            "write": ".*",
            "read": ".*",
        }
    ]
    assert {p["vhost"] for p in doc["permissions"]} == {v["name"] for v in doc["vhosts"]}


def test_definitions_never_contain_the_password() -> None:
    password = "very-distinctive-password-42"
    text = json.dumps(rabbitmq.render_definitions("u", password, "v", SALT))
    assert password not in text
    assert "guest" not in text


def test_same_salt_same_document_and_new_salt_new_hash() -> None:
    first = rabbitmq.render_definitions("u", "pw", "v", SALT)
    assert rabbitmq.render_definitions("u", "pw", "v", SALT) == first
    other = rabbitmq.render_definitions("u", "pw", "v", b"\x01\x02\x03\x04")
    assert other["users"][0]["password_hash"] != first["users"][0]["password_hash"]


def test_new_salt_is_four_random_bytes() -> None:
    salts = {rabbitmq.new_salt() for _ in range(16)}
    assert all(len(s) == 4 for s in salts)
    assert len(salts) > 1


@pytest.mark.parametrize(
    ("user", "password", "vhost"), [("", "pw", "v"), ("u", "", "v"), ("u", "pw", "")]
)
def test_empty_user_password_or_vhost_is_refused(user: str, password: str, vhost: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        rabbitmq.render_definitions(user, password, vhost, SALT)


def test_boot_config_imports_the_mounted_definitions_file() -> None:
    settings: dict[str, str] = {}
    for line in rabbitmq.BOOT_CONFIG.splitlines():
        if " = " in line:
            key, value = line.split(" = ", 1)
            settings[key] = value
    assert settings == {
        "definitions.import_backend": "local_filesystem",
        "definitions.local.path": rabbitmq.DEFINITIONS_PATH,
    }
