"""Host-attested usage intake: strict validation into CW's UsageRecord shape.

CW accepts anything here and silently coerces typos into numbers; cw refuses
(cw-compat §16 a): token counts are non-negative integers, the model is a
non-empty string, the source is one of two values, ``attestedAt`` is ISO
8601. A bad value is a ``UsageError`` (exit 2) naming the flag, raised before
anything is touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from cw.core.numbers import is_iso_timestamp
from cw.model.errors import UsageError

SOURCES = ("host-attested", "operator-recorded")

# (input key, CLI flag, record key); the order is the record's key order.
TOKEN_FIELDS = (
    ("input_tokens", "--usage-input-tokens", "inputTokens"),
    ("output_tokens", "--usage-output-tokens", "outputTokens"),
    ("total_tokens", "--usage-total-tokens", "totalTokens"),
    ("cache_read_tokens", "--usage-cache-read-tokens", "cacheReadTokens"),
    ("cache_write_tokens", "--usage-cache-write-tokens", "cacheWriteTokens"),
    ("cache_write_1h_tokens", "--usage-cache-write-1h-tokens", "cacheWrite1hTokens"),
    ("reasoning_tokens", "--usage-reasoning-tokens", "reasoningTokens"),
)
OTHER_FIELDS = (
    ("model", "--usage-model"),
    ("source", "--usage-source"),
    ("attested_at", "--usage-attested-at"),
    ("note", "--usage-note"),
)
USAGE_INPUT_KEYS = tuple(k for k, _, _ in TOKEN_FIELDS) + tuple(k for k, _ in OTHER_FIELDS)

_DIGITS = re.compile(r"^[0-9]+$")
MAX_TOKENS = 10**15


class UsageInput(msgspec.Struct, frozen=True):
    """Validated usage flags; ``record`` builds the stored UsageRecord."""

    tokens: tuple[tuple[str, int], ...]
    model: str | None
    source: str
    attested_at: str | None
    note: str | None

    def creates_record(self) -> bool:
        """CW rule 1: a record exists only with input/output/total tokens or a model."""
        keys = {k for k, _ in self.tokens}
        return bool(keys & {"inputTokens", "outputTokens", "totalTokens"}) or self.model is not None

    def record(self, *, now: str, actor: str, claimed_actor: str | None) -> dict[str, Any] | None:
        """The UsageRecord in CW's key order, plus cw's ``reasoningTokens``/``actor``/``claimedActor``."""
        if not self.creates_record():
            return None
        toks = dict(self.tokens)
        rec: dict[str, Any] = {"schemaVersion": 1, "source": self.source, "attestedAt": self.attested_at or now}
        if self.model is not None:
            rec["model"] = self.model
        for _, _, key in TOKEN_FIELDS:
            if key in toks:
                rec[key] = toks[key]
        if self.note is not None:
            rec["note"] = self.note
        rec["actor"] = actor
        if claimed_actor is not None:
            rec["claimedActor"] = claimed_actor
        return rec


def _token_count(value: Any, flag: str) -> int:
    if isinstance(value, bool):
        raise UsageError(f"Invalid {flag} {value!r}: expected a non-negative whole number of tokens.")
    if isinstance(value, int):
        n = value
    elif (isinstance(value, float) and value.is_integer()) or (isinstance(value, str) and _DIGITS.fullmatch(value)):
        n = int(value)
    else:
        shown = value if isinstance(value, str) else repr(value)
        raise UsageError(
            f'Invalid {flag} "{shown}": expected a non-negative whole number of tokens (e.g. {flag} 1200).'
        )
    if n < 0 or n > MAX_TOKENS:
        raise UsageError(
            f'Invalid {flag} "{value}": expected a non-negative whole number of tokens no larger than {MAX_TOKENS}.'
        )
    return n


def parse_usage(values: Mapping[str, Any]) -> UsageInput:
    """Validate usage inputs keyed by ``USAGE_INPUT_KEYS`` (None = not given)."""
    tokens = []
    for key, flag, rec_key in TOKEN_FIELDS:
        v = values.get(key)
        if v is not None:
            tokens.append((rec_key, _token_count(v, flag)))
    counts = {key: n for key, n in tokens}
    if "cacheWrite1hTokens" in counts:
        writes = counts.get("cacheWriteTokens")
        if writes is None:
            raise UsageError(
                "--usage-cache-write-1h-tokens needs --usage-cache-write-tokens: the one-hour writes are "
                "part of all cache writes (e.g. --usage-cache-write-tokens 5000 --usage-cache-write-1h-tokens 2000)."
            )
        if counts["cacheWrite1hTokens"] > writes:
            raise UsageError(
                f'Invalid --usage-cache-write-1h-tokens "{counts["cacheWrite1hTokens"]}": more than the '
                f"{writes} cache-write tokens it is part of (--usage-cache-write-tokens)."
            )
    total = counts.get("totalTokens")
    if total is not None and total < counts.get("inputTokens", 0) + counts.get("outputTokens", 0):
        # budgets count the total when there is one: a smaller total would hide the tokens it leaves out
        raise UsageError(
            f'Invalid --usage-total-tokens "{total}": less than the {counts.get("inputTokens", 0)} input + '
            f"{counts.get('outputTokens', 0)} output tokens given; give the host's total or leave the flag out."
        )
    model = values.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise UsageError("Invalid --usage-model: expected a non-empty model id (e.g. --usage-model claude-sonnet-4-5).")
    source = values.get("source")
    if source is None:
        source = "host-attested"
    elif source not in SOURCES:
        raise UsageError(f'Invalid --usage-source "{source}": expected host-attested or operator-recorded.')
    attested_at = values.get("attested_at")
    if attested_at is not None and not is_iso_timestamp(attested_at):
        raise UsageError(
            f'Invalid --usage-attested-at "{attested_at}": expected an ISO 8601 time with a '
            "zone, e.g. 2026-06-08T10:03:00.000Z."
        )
    note = values.get("note")
    if note is not None and not isinstance(note, str):
        raise UsageError("Invalid --usage-note: expected text.")
    if note == "":
        note = None
    return UsageInput(tuple(tokens), model, source, attested_at, note)
