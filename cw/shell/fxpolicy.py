"""Loading an FX policy file (the checking itself is ``cw.core.fx.validate_fx_policy``).

Value resolution, as for pricing policies: ``None``, ``""`` or ``none`` -> no policy;
``default`` or ``bundled`` -> the policy bundled with cw
(``manifest/fx.policy.json``), from any working directory; anything else ->
a path resolved against the process working directory.

Messages name the absolute file: ``FX policy file not found: <abs>``,
``Invalid JSON in <abs>: <parser message>`` (also for duplicate keys, which
JSON parsers would otherwise resolve silently, and for NaN/Infinity), and the
validator's ``Invalid FX policy <abs>: <field path>: <what>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cw.core.fx import FxPolicy, validate_fx_policy
from cw.model.errors import PolicyError
from cw.shell.paths import NotRegularFileError, check_path_text, read_regular
from cw.shell.policyfile import MAX_POLICY_BYTES, duplicate_problem
from cw.shell.resources import manifest_path

BUNDLED_NAMES = ("default", "bundled")


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def resolve_fx_policy_path(value: str, process_cwd: str | os.PathLike[str]) -> Path:
    """The absolute file a ``--fx`` value names."""
    if value in BUNDLED_NAMES:
        return manifest_path("fx.policy.json").resolve()
    check_path_text(value, "--fx")
    return (Path(process_cwd) / value).resolve()


def load_fx_policy(value: str | None, process_cwd: str | os.PathLike[str]) -> FxPolicy | None:
    """Load and validate the FX policy ``value`` names, or None when no policy was asked for."""
    if value is None or value == "" or value == "none":
        return None
    path = resolve_fx_policy_path(value, process_cwd)
    if path.is_dir():
        raise PolicyError(f"FX policy path is a directory, not a file: {path}")
    try:
        raw = read_regular(path, MAX_POLICY_BYTES)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise PolicyError(f"FX policy file not found: {path}") from None
    except NotRegularFileError as exc:
        raise PolicyError(f"Cannot read FX policy: {exc.message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"Cannot read FX policy {path}: {exc}") from None
    try:
        doc = json.loads(text, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:
        raise PolicyError(f"Invalid JSON in {path}: {exc}") from None
    dup = duplicate_problem(raw)
    if dup is not None:
        raise PolicyError(f"Invalid JSON in {path}: {dup}.")
    return validate_fx_policy(doc, str(path))
