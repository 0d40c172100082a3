"""A service's RabbitMQ definitions: its own user, vhost and permissions. No Pulumi.

Each domain service runs its own RabbitMQ container, which imports this
document at boot (`BOOT_CONFIG`). Because a definitions file is configured, a
blank node never creates the default `guest` user, so the service's user is
the only one. The document carries a salted hash, never the password, but it
is still treated as sensitive (an SSM SecureString).
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
SALT_BYTES = 4

# Where a Fargate task writes its definitions at start (components/aws/task_definitions.py).
DEFINITIONS_PATH = "/etc/rabbitmq/definitions.json"
# On an app host the service's directory is mounted here read-only, not the file: the
# apply document replaces the file by rename, and a file mount would keep showing the
# container the old one (its inode), so a rotated password would never reach the broker.
HOST_DEFINITIONS_DIR = "/etc/rabbitmq/ticketing"
HOST_DEFINITIONS_PATH = f"{HOST_DEFINITIONS_DIR}/definitions.json"
# The memory alarm (publishers blocked) at this fraction of the container's limit: left to
# itself RabbitMQ takes a fraction of the host's memory, which a container limit far below
# it turns into an OOM kill instead of back-pressure. 0.4 leaves the Erlang VM room to
# collect garbage under the hard limit.
MEMORY_ALARM_FRACTION = 0.4


def boot_config(definitions_path: str, memory_limit_mb: int | None = None) -> str:
    """The node's `conf.d` file: import `definitions_path` at every boot (rotation included)
    and, with `memory_limit_mb`, raise the memory alarm at an absolute share of it."""
    lines = [
        "# Import this node's user, vhost and permissions on every boot (rotation included).",
        "definitions.import_backend = local_filesystem",
        f"definitions.local.path = {definitions_path}",
    ]
    if memory_limit_mb is not None:
        alarm = int(memory_limit_mb * 1024 * 1024 * MEMORY_ALARM_FRACTION)
        lines += [
            f"# Publishers wait at {MEMORY_ALARM_FRACTION:g} of the {memory_limit_mb} MiB limit.",
            f"vm_memory_high_watermark.absolute = {alarm}",
        ]
    return "\n".join(lines) + "\n"


BOOT_CONFIG = boot_config(DEFINITIONS_PATH)


def new_salt() -> bytes:
    """A fresh random salt for `render_definitions` (4 bytes, as RabbitMQ uses).

    Kept apart from the renderer so rendering stays pure; a Pulumi program should
    keep its salt in state (e.g. a `random.RandomId`) so the document is stable.
    """
    return os.urandom(SALT_BYTES)


def password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + utf8 password))."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def render_definitions(user: str, password: str, vhost: str, salt: bytes) -> dict[str, Any]:
    """The definitions document for one service's RabbitMQ node.

    Args:
        user: the service's AMQP user (no tags: not an administrator, no management access).
        password: its password; only the salted hash is written.
        vhost: the service's own virtual host; the user is permitted there and nowhere else.
        salt: 4 bytes (`new_salt()`); the same salt gives the same document.
    """
    if not user or not vhost:
        raise ValueError("user and vhost must not be empty")
    if not password:
        raise ValueError("password must not be empty")
    return {
        "users": [
            {
                "name": user,
                "password_hash": password_hash(password, salt),
                "hashing_algorithm": HASHING_ALGORITHM,
                "tags": [],
            }
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        ],
    }
