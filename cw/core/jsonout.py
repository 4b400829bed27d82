"""Canonical JSON rendering of payloads: 2-space indent, raw UTF-8, key order as built.

Every surface prints payloads through ``dumps``; the CLI adds one trailing
newline, MCP returns the text as is, the workbench serves it under /api/.
Decimals are written as JSON numbers (never strings, never floats).
"""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(decimal_format="number")


def dumps(payload: Any) -> str:
    """Pretty (2-space) JSON text without a trailing newline."""
    return msgspec.json.format(_encoder.encode(payload), indent=2).decode("utf-8")


def dumps_compact(payload: Any) -> bytes:
    """Compact JSON bytes (used for hashing and state files)."""
    return _encoder.encode(payload)
