"""Loading: `pulumi.Config` values -> validated settings, or one ConfigError line."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from components.settings.bootstrap import BootstrapSettings
from components.settings.cloud import DEFAULT_ROLE, CloudSettings
from components.settings.errors import NAMESPACE, ConfigError, FieldError, error_line, show
from components.settings.profiles import PROFILES, deep_merge
from components.settings.venue import DOCKER_TLS_KEYS, VenueSettings, VenueStackSettings

# Config keys that hold secrets: read with `secret`, never modelled in plain.
SECRET_KEYS = frozenset(DOCKER_TLS_KEYS)

Settings = CloudSettings | VenueStackSettings | BootstrapSettings


def _require_secret_keys(raw: Mapping[str, Any], secret_keys: Collection[str]) -> None:
    """Key material is set with `pulumi config set --secret`, never as plain config."""
    for key in DOCKER_TLS_KEYS:
        if key in raw and key not in secret_keys:
            raise ConfigError(
                f"{NAMESPACE}:{key}: key material must be a config secret "
                f"(pulumi config set --secret {NAMESPACE}:{key}), got a plain value"
            )


def _require_docker_tls(venue: VenueSettings, raw: Mapping[str, Any]) -> None:
    """A tcp:// Docker host is reached with client TLS, whose material is config secrets."""
    if venue.docker_host.startswith("tcp://"):
        for key in DOCKER_TLS_KEYS:
            if not raw.get(key):
                raise ConfigError(
                    f"{NAMESPACE}:{key}: required as a secret when venue.dockerHost is tcp://, "
                    "got nothing"
                )


def parse(raw: Mapping[str, Any], secret_keys: Collection[str] = frozenset()) -> Settings:
    """Validate raw `ticketing:*` values (keys without namespace, objects decoded);
    `secret_keys` are the keys among them set as config secrets.

    Raises ConfigError with exactly one line on the first problem.
    """
    role = raw.get("role", DEFAULT_ROLE)
    model: type[CloudSettings] | type[VenueStackSettings] | type[BootstrapSettings]
    if role == "cloud":
        model = CloudSettings
    elif role == "venue":
        model = VenueStackSettings
    elif role == "bootstrap":
        model = BootstrapSettings
    else:
        raise ConfigError(
            f"{NAMESPACE}:role: expected one of cloud, venue, bootstrap, got {show(role)}"
        )
    _require_secret_keys(raw, secret_keys)
    values = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    values.setdefault("role", role)
    environment = values.get("environment")
    if role == "cloud" and isinstance(environment, str) and environment in PROFILES:
        values = deep_merge(PROFILES[environment], values)
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise ConfigError(error_line(model, errors[0])) from None
    except FieldError as exc:
        raise ConfigError(
            f"{NAMESPACE}:{'.'.join(exc.loc)}: {exc.message}, got {show(exc.value)}"
        ) from None
    if isinstance(parsed, VenueStackSettings):
        _require_docker_tls(parsed.venue, raw)
    return parsed


def raw_config() -> dict[str, Any]:
    """Every `ticketing:*` key the engine passed in, objects JSON-decoded."""
    from pulumi.runtime.config import CONFIG, get_config_env

    merged: dict[str, Any] = {**get_config_env(), **CONFIG.get()}
    raw: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, text in merged.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        raw[key] = _decode(key, text)
    return raw


def _decode(key: str, text: Any) -> Any:
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            raise ConfigError(f"{NAMESPACE}:{key}: not valid JSON, got {show(text)}") from None
    return text


def load() -> Settings:
    """Load and validate this stack's settings from `pulumi.Config` (once per program)."""
    return parse(raw_config(), secret_config_keys())


def secret_config_keys() -> frozenset[str]:
    """The declared secret keys (`SECRET_KEYS`) this stack sets as config secrets.

    The language host (and the Automation API, and the offline plan) hand the engine's
    list of secret keys to `pulumi.runtime.set_all_config`; `is_config_secret` reads it.
    """
    from pulumi.runtime.config import is_config_secret

    return frozenset(key for key in SECRET_KEYS if is_config_secret(f"{NAMESPACE}:{key}"))


def secret(key: str) -> pulumi.Output[str] | None:
    """A secret config value (`pulumi config set --secret`), or None when unset."""
    if key not in SECRET_KEYS:
        raise KeyError(f"{key} is not a declared secret config key")
    return pulumi.Config(NAMESPACE).get_secret(key)
