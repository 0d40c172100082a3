"""The README's config reference lists every key the settings accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from components.settings import CloudSettings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    found: list[str] = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation: Any = field.annotation
        if get_origin(annotation) is dict:
            value = get_args(annotation)[1]
            found += keys(value, f"{key}.<name>.") if issubclass(value, BaseModel) else [key]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += keys(annotation, f"{key}.")
        else:
            found.append(key)
    return found


def documented(key: str) -> bool:
    """`a.b.c` is documented as `a.b.c`, or grouped as `a.b.x` / `.c`."""
    if f"`{key}`" in README:
        return True
    parent, _, leaf = key.rpartition(".")
    return f"`.{leaf}`" in README and f"`{parent}." in README


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [
        ["make", "plan"],
        ["make", "test"],
    ]


def test_every_cloud_config_key_is_documented() -> None:
    generic = {
        ".rateLimits.identity.": ".rateLimits.<service>.",
        ".rateLimits.payments.": ".rateLimits.<service>.",
    }
    missing: list[str] = []
    for key in keys(CloudSettings):
        for specific, placeholder in generic.items():
            key = key.replace(specific, placeholder)
        if not documented(key):
            missing.append(key)
    assert missing == []
