"""Bundled data: ``schemas/`` and ``manifest/``.

In a built wheel they live inside the package (``cw/_bundled/``); in a source
checkout they are the repo's top-level folders. This module is the one place
that knows both.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]  # cw/ (installed as plain files: no importlib.resources needed)


@cache
def _bundled_dir(name: str) -> Path:
    inside = _PACKAGE / "_bundled" / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name


def manifest_path(filename: str) -> Path:
    """Path of a bundled policy file, e.g. ``pricing.policy.json``."""
    return _bundled_dir("manifest") / filename


def schema_path(filename: str) -> Path:
    return _bundled_dir("schemas") / filename


@cache
def schema(filename: str) -> dict[str, Any]:
    """A bundled JSON Schema, parsed once."""
    return json.loads(schema_path(filename).read_text(encoding="utf-8"))


def schema_names() -> list[str]:
    return sorted(p.name for p in _bundled_dir("schemas").glob("*.schema.json"))
