"""How a bad config value reaches people: one line naming the key, what is wrong and the value.

ticketing:network.cidr: not a valid IPv4 CIDR block, got "10.0.0.0/33"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast, get_args, get_origin

import pulumi
from pydantic import BaseModel

NAMESPACE = "ticketing"


class ConfigError(pulumi.RunError):
    """A config value is wrong. Its message is the single line a person sees.

    `pulumi.RunError` makes the CLI print the message without a stack trace.
    """


class FieldError(ValueError):
    """A rule that spans fields, raised at a specific nested key."""

    def __init__(self, loc: tuple[str, ...], message: str, value: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.value = value


def at(loc: tuple[str, ...], message: str, value: Any) -> FieldError:
    return FieldError(loc, message, value)


def require_exact_keys(value: object, known: tuple[str, ...], what: str) -> object:
    """Every catalog entry present, nothing else (a dict of the wrong type is reported later)."""
    if not isinstance(value, dict):
        return value
    given = cast(dict[str, Any], value)
    for key in given:
        if key not in known:
            raise at((key,), f"unknown {what}, expected one of {', '.join(known)}", given[key])
    for key in known:
        if key not in given:
            raise at((key,), f"every {what} needs an entry", None)
    return given


def show(value: Any) -> str:
    if value is None:
        return "nothing"
    return json.dumps(value, sort_keys=True, default=str)


_MESSAGES = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "string_type": "expected a string",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "missing": "a value is required",
}


def error_line(model: type[BaseModel], error: Mapping[str, Any]) -> str:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    kind: str = error["type"]
    value: Any = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldError):
        loc, message, value = (*loc, *cause.loc), cause.message, cause.value
    elif kind == "extra_forbidden":
        section = _model_at(model, loc[:-1])
        allowed = [f.alias or n for n, f in section.model_fields.items()] if section else []
        message = "unknown key" + (f", expected one of {', '.join(allowed)}" if allowed else "")
    elif kind == "literal_error":
        message = f"expected one of {ctx.get('expected', '')}".replace("'", "")
    elif kind in ("greater_than_equal", "less_than_equal"):
        bounds = _bounds(model, loc)
        message = f"expected a number from {bounds[0]} to {bounds[1]}" if bounds else error["msg"]
    elif kind == "string_pattern_mismatch":
        message = f"does not match {ctx.get('pattern')}"
    elif kind == "value_error" and cause is not None:
        message = str(cause)
    else:
        message = _MESSAGES.get(kind, str(error["msg"]).lower())
    if kind == "missing":
        value = None
    key = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
    return f"{NAMESPACE}:{key}: {message}, got {show(value)}"


def _bounds(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Any, Any] | None:
    parent = _model_at(model, loc[:-1])
    if parent is None:
        return None
    fields = {f.alias or n: f for n, f in parent.model_fields.items()}
    field = fields.get(str(loc[-1]))
    if field is None:
        return None
    lo = hi = None
    for meta in field.metadata:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    return (lo, hi) if lo is not None and hi is not None else None


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The config section model at `loc` (dict entries such as `services.payments` walk through)."""
    current: Any = model
    dict_key_next = False
    for part in loc:
        if dict_key_next:
            dict_key_next = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        field = fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        if get_origin(current) is dict:
            current, dict_key_next = get_args(current)[1], True
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None
