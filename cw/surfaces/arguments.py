"""Values from a surface (MCP's JSON, the Python API's keyword arguments) -> the dictionary the CLI hands an entry.

The CLI passes every option as a string, a flag as ``True``, repeatable and
multi-value options as lists, fills declared defaults and omits what is
absent. Every other surface goes through ``entry_args`` so an entry cannot
tell which surface called it, and the checks click makes (required, choices,
arity) are made once, with one set of messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from cw.capabilities.table import Capability, Param
from cw.core.numbers import js_number
from cw.model.errors import UsageError
from cw.shell.paths import undecodable_byte


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def _scalar(value: Any, p: Param, key: str, label: str) -> Any:
    """One value as the CLI passes it: strings stay, numbers print as JavaScript prints them."""
    if p.type == "boolean":
        if not isinstance(value, bool):
            raise UsageError(f"{label} argument {key} must be a boolean (true or false), got {json_type(value)}.")
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise UsageError(
            f"{label} argument {key} must be {'an' if p.type[0] in 'aeiou' else 'a'} {p.type}, got {json_type(value)}."
        )
    # a Decimal keeps its digits (money stays exact); a float prints as its shortest form, as JSON would
    text = value if isinstance(value, str) else str(value) if isinstance(value, Decimal) else js_number(value)
    bad = undecodable_byte(text)
    if bad is not None:
        raise UsageError(
            f"{label} argument {key} is not valid UTF-8 (the byte {bad}); nothing was read or written. "
            "Pass the value as UTF-8 text."
        )
    if p.choices and text not in p.choices:
        raise UsageError(f'{label} argument {key}: "{text}" is not one of {", ".join(p.choices)}.')
    return text


def entry_args(
    cap: Capability,
    given: Mapping[str, Any] | None,
    label: str,
    *,
    params: Iterable[Param],
    key: Callable[[Param], str],
    required: Callable[[Param], bool],
) -> dict[str, Any]:
    """Turn ``given`` (keys spelled by ``key``) into the entry's dictionary, as the CLI builds it.

    ``null``/``None`` counts as absent. An unknown key, a missing required
    argument, a value of the wrong type or outside the declared choices is a
    ``UsageError`` that starts with ``label``; nothing is read or written
    before these checks pass.
    """
    values = dict(given or {})
    params = list(params)
    known = {key(p) for p in params}
    unknown = sorted(k for k in values if k not in known)
    if unknown:
        takes = ", ".join(key(p) for p in params) or "no arguments"
        raise UsageError(f"{label} got an unknown argument: {unknown[0]} (it takes: {takes})")
    out: dict[str, Any] = {}
    for p in params:
        k = key(p)
        value = values.get(k)
        if value is None or (value is False and p.type == "boolean"):
            if required(p):
                raise UsageError(f"{label} missing required argument: {k}")
            if p.default is not None and p.type != "boolean":
                out[p.name] = p.default
            continue
        if p.multiple or p.nargs > 1:
            if not isinstance(value, (list, tuple)):
                raise UsageError(f"{label} argument {k} must be an array, got {json_type(value)}.")
            if p.nargs > 1 and len(value) != p.nargs:
                raise UsageError(f"{label} argument {k} must hold exactly {p.nargs} values, got {len(value)}.")
            items = [_scalar(v, p, k, label) for v in value]
            if not items:
                if required(p):
                    raise UsageError(f"{label} missing required argument: {k}")
                continue
            out[p.name] = items
        else:
            out[p.name] = _scalar(value, p, k, label)
    return out
