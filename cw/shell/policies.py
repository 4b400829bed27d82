"""Loading policy files named by ``--pricing`` (cw-compat §6).

``load_pricing_policy(value, process_cwd)`` resolves the flag value, reads
and parses the file (JSON numbers straight to exact ``Decimal``), then
validates it with the core's field checks (``validate_policy``, whose
messages name the file and the field path). Those checks are at least as
strict as the published JSON Schema ``schemas/pricing-policy.schema.json``
(a property test holds them to it), so reading a policy needs no schema
validator; ``schema_problem`` runs the schema itself where cw writes a
policy (``cw pricing import``).
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from cw.core.fingerprint import js_string
from cw.core.pricing import PricingPolicy, validate_policy
from cw.core.state import JSON_ERRORS
from cw.model.errors import PolicyError
from cw.shell.paths import NotRegularFileError, check_path_text, read_regular
from cw.shell.policyfile import MAX_POLICY_BYTES, duplicate_problem
from cw.shell.resources import manifest_path, schema

BUNDLED_PRICING = "pricing.policy.json"
CW_EXAMPLE_PRICING = "pricing.cw-example.json"  # Cool Workflow 0.2.6's bundled example, unchanged
PRICING_SCHEMA = "pricing-policy.schema.json"

_decoder = msgspec.json.Decoder(float_hook=Decimal)


@cache
def _pricing_validator() -> Any:
    from jsonschema import Draft202012Validator  # imported on first use: it is most of cw's start-up time

    return Draft202012Validator(schema(PRICING_SCHEMA))


#: Policies chosen by name rather than by file (``none``: no policy, CW's default).
NAMED_PRICING = {"default": BUNDLED_PRICING, "bundled": BUNDLED_PRICING, "cw-example": CW_EXAMPLE_PRICING}
NO_POLICY = "none"


def resolve_pricing_path(value: str, process_cwd: Path) -> Path:
    """A policy name -> its bundled file; anything else resolved against ``process_cwd``."""
    if value in NAMED_PRICING:
        return manifest_path(NAMED_PRICING[value])
    check_path_text(value, "--pricing")
    return Path(os.path.normpath(os.path.join(process_cwd, value)))


def _json_path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def load_pricing_policy(value: Any, process_cwd: Path) -> PricingPolicy | None:
    """The policy ``--pricing <value>`` names, or None when no policy was asked for.

    ``None``, ``""`` or ``none`` -> no policy; a non-string value is read as JavaScript's
    ``String(value)`` would print it (a bare flag ``True`` is the path ``true``). Errors are ``PolicyError`` with CW's
    messages for a missing file, invalid JSON and a wrong top-level shape,
    and ``Invalid pricing policy <file>: <field> ...`` for a bad field.
    """
    if value is None or value == "" or value == NO_POLICY:
        return None
    path = resolve_pricing_path(value if isinstance(value, str) else js_string(value), process_cwd)
    shown = str(path)
    if not path.exists():
        raise PolicyError(f"Pricing policy file not found: {shown}")
    if path.is_dir():
        raise PolicyError(f"Pricing policy file not found: {shown} (that is a directory)")
    try:
        raw = read_regular(path, MAX_POLICY_BYTES)
    except NotRegularFileError as exc:
        raise PolicyError(f"Cannot read pricing policy: {exc.message}") from None
    except OSError as exc:
        raise PolicyError(f"Cannot read pricing policy {shown}: {exc.strerror or exc}") from None
    try:
        doc = _decoder.decode(raw)
    except JSON_ERRORS as exc:
        raise PolicyError(f"Invalid JSON in {shown}: {exc}") from None
    dup = duplicate_problem(raw)
    if dup is not None:
        raise PolicyError(
            f"Invalid pricing policy {shown}: {dup}.",
            hint="Fix the pricing policy file (see schemas/pricing-policy.schema.json).",
        )
    return validate_policy(doc, shown)


def schema_problem(doc: Any) -> str | None:
    """What the published pricing-policy schema finds wrong with ``doc`` (field path and message), or None."""
    from jsonschema.exceptions import best_match

    error = best_match(_pricing_validator().iter_errors(doc))
    return None if error is None else f"{_json_path(error.absolute_path)} {error.message}"
