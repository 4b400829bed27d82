"""Export rows: one per usage unit and per revenue share, with ids that stay the same on every export.

The shell hands in the same per-unit and per-entry figures ``cw pnl`` nets
(``spend_items`` and ``revenue_items``), enriched with what a unit or entry
says about itself; this module keeps the ones the window holds (by pnl's
rule), converts each amount to the reporting currency (``cw.core.fx``, at
the amount's own date) and renders the rows as JSON lines, CSV, OTLP/JSON
trace lines or FinOps FOCUS rows. Nothing here prices or attributes again.

Stable ids (``ID_VERSION``): the first 32 hex digits of the SHA-256 of the
parts joined by U+001F: ``cw-export-1``, the kind, the row's run id (for a
revenue share, the run receiving it), that run's ``createdAt`` and, for a
usage unit, its unit id; for a revenue share, the booking run and the entry
id. FOCUS rows hash ``focus``, the row id and the token bucket. The repo's path is left out on purpose, so the same run exported on
two machines gets the same ids; a second row with an id already given in one
export (a copied run in two registered repos) gets ``-2``, ``-3`` … appended.
A run's trace id is the SHA-256 of ``cw-trace-1``, run id and ``createdAt``
(32 hex digits); a span id is the row id's first 16 hex digits.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from cw.core.fx import FxPolicy, convert
from cw.core.pricing import MAX_PLAUSIBLE_TOKENS, implausible_usage
from cw.core.timeline import Window, event_at, iso_z

FORMATS = ("jsonl", "csv", "otlp", "focus", "parquet")
ID_VERSION = "cw-export-1"
TRACE_VERSION = "cw-trace-1"

#: The row columns of jsonl, csv and parquet, in order.
COLUMNS = (
    "id",
    "kind",
    "at",
    "runId",
    "runCreatedAt",
    "repo",
    "app",
    "actor",
    "unit",
    "unitKind",
    "backend",
    "model",
    "provider",
    "usageSource",
    "inputTokens",
    "outputTokens",
    "cacheReadTokens",
    "cacheWriteTokens",
    "reasoningTokens",
    "totalTokens",
    "costState",
    "entryId",
    "entryKind",
    "bookedRunId",
    "ref",
    "amount",
    "currency",
    "reportAmount",
    "reportCurrency",
    "reportNote",
)
TOKEN_COLUMNS = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "reasoningTokens", "totalTokens")
MONEY_COLUMNS = ("amount", "reportAmount")

#: Model id prefixes -> OpenTelemetry's ``gen_ai.provider.name`` values; other models carry no provider.
PROVIDER_PREFIXES = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("codex", "openai"),
    ("gemini", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("grok", "x_ai"),
    ("deepseek", "deepseek"),
)


def provider_of(model: Any) -> str | None:
    if not isinstance(model, str):
        return None
    m = model.lower()
    for prefix, name in PROVIDER_PREFIXES:
        if m.startswith(prefix):
            return name
    return None


def stable_id(*parts: Any) -> str:
    text = "\x1f".join([ID_VERSION, *(p if isinstance(p, str) else _key_text(p) for p in parts)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def trace_id(run_id: Any, created_at: Any) -> str:
    text = "\x1f".join([TRACE_VERSION, _key_text(run_id), _key_text(created_at)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _key_text(v: Any) -> str:
    """An id part read from state (data, any JSON value) as text; strings stay as they are."""
    if isinstance(v, str):
        return v
    try:
        return msgspec.json.encode(v).decode("utf-8")
    except (TypeError, msgspec.EncodeError):
        return repr(v)


def _run_columns(item: Mapping[str, Any], at: Any) -> dict[str, Any]:
    """The columns a usage row and a revenue row share: when, and the run they belong to."""
    return {
        "at": at,
        "runId": _key_text(item["runId"]),
        "runCreatedAt": _text(item.get("runCreatedAt")),
        "repo": item.get("repo"),
        "app": item.get("app"),
        "actor": item.get("actor") or "unattributed",
    }


def _count(v: Any) -> int | None:
    """A plausible token count (a whole number from 0 to 2^53, as pricing reads them), else None."""
    if type(v) is float and v.is_integer():
        v = int(v)
    return v if type(v) is int and 0 <= v <= MAX_PLAUSIBLE_TOKENS else None


def _tokens(usage: Any, key: str) -> int | None:
    return _count(usage.get(key)) if isinstance(usage, dict) else None


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


# ---------------------------------------------------------------------------
# rows


def build_rows(
    units: Iterable[Mapping[str, Any]],
    revenue: Iterable[Mapping[str, Any]],
    *,
    window: Window,
    currency: str,
    fx_policy: FxPolicy | None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows (``COLUMNS`` plus ``_parts``/``_startAt`` for FOCUS and OTLP) and counts ``{units, revenue, undated}``.

    ``units``: pnl's spend items plus ``runCreatedAt, repo, unitKind, backend, usage, startAt, parts``
    (``parts``: ``(bucket, tokens, cost)`` for a priced unit, see ``cw.core.pricing.usage_cost_parts``).
    ``revenue``: pnl's revenue items plus ``runCreatedAt, repo, entryKind, ref``. A window keeps what
    ``cw pnl`` keeps: dated items inside it; a bounded window leaves undated units out (counted).
    """
    rows: list[dict[str, Any]] = []
    undated = 0
    for u in units:
        at = u.get("at")
        if window.bounded and event_at(at) is None:
            undated += 1
            continue
        if not window.contains_text(at):
            continue
        raw = u.get("usage")
        usage: dict[str, Any] = raw if isinstance(raw, dict) else {}
        state = u["state"]
        reported = state != "unreported"
        amount = u.get("amount") if state in ("attested", "estimated") else None
        row = {
            "id": stable_id("usage", u["runId"], u.get("runCreatedAt"), u["unit"]),
            "kind": "usage",
            **_run_columns(u, at),
            "unit": _key_text(u["unit"]),
            "unitKind": u.get("unitKind"),
            "backend": _text(u.get("backend")),
            "model": u.get("model"),
            "provider": provider_of(u.get("model")),
            "usageSource": _text(usage.get("source")) if reported else None,
            "inputTokens": _tokens(usage, "inputTokens") if reported else None,
            "outputTokens": _tokens(usage, "outputTokens") if reported else None,
            "cacheReadTokens": _tokens(usage, "cacheReadTokens") if reported else None,
            "cacheWriteTokens": _tokens(usage, "cacheWriteTokens") if reported else None,
            "reasoningTokens": _tokens(usage, "reasoningTokens") if reported else None,
            "totalTokens": _count(u.get("tokens")) if reported and not implausible_usage(usage) else None,
            "costState": state,
            "entryId": None,
            "entryKind": None,
            "bookedRunId": None,
            "ref": None,
            "amount": amount,
            "currency": u.get("currency") if amount is not None else None,
            **_report(amount, u.get("currency"), at, currency, fx_policy, state),
            "_parts": u.get("parts") if amount is not None else None,
            "_startAt": u.get("startAt"),
        }
        rows.append(row)
    n_units = len(rows)
    for r in revenue:
        at = r.get("at")
        if not window.contains_text(at):
            continue
        amount = r["amount"]
        rows.append(
            {
                "id": stable_id("revenue", r["runId"], r.get("runCreatedAt"), r["bookedRunId"], r["entryId"]),
                "kind": "revenue",
                **_run_columns(r, at),
                **dict.fromkeys(COLUMNS[8:21]),
                "entryId": r["entryId"],
                "entryKind": r.get("entryKind"),
                "bookedRunId": r["bookedRunId"],
                "ref": r.get("ref"),
                "amount": amount,
                "currency": r["currency"],
                **_report(amount, r["currency"], at, currency, fx_policy, None),
                "_parts": None,
                "_startAt": None,
            }
        )
    rows.sort(key=lambda row: (event_at(row["at"]) or datetime.max.replace(tzinfo=UTC), row["id"]))
    _unique_ids(rows)
    return rows, {"units": n_units, "revenue": len(rows) - n_units, "undated": undated}


def _report(
    amount: Decimal | None, src: Any, at: Any, currency: str, fx: FxPolicy | None, state: str | None
) -> dict[str, Any]:
    if amount is None:
        why = {
            "unreported": "usage was never attested: the cost is unknown",
            "unpriced": "no pricing policy entry (and no default) prices this usage",
        }.get(str(state), "no amount")
        return {"reportAmount": None, "reportCurrency": currency, "reportNote": why}
    conv = convert(amount, str(src or "USD"), currency, at, fx)
    return {"reportAmount": conv.amount, "reportCurrency": currency, "reportNote": conv.reason}


def _unique_ids(rows: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        n = seen.get(row["id"], 0) + 1
        seen[row["id"]] = n
        if n > 1:
            row["id"] = f"{row['id']}-{n}"


# ---------------------------------------------------------------------------
# values


def decimal_text(d: Decimal) -> str:
    """An exact Decimal as plain digits (no exponent, no trailing zeros after the point)."""
    if d == d.to_integral_value():
        return format(d.quantize(Decimal(1)), "f")
    return format(d.normalize(), "f")


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: decimal_text(row[k]) if isinstance(row[k], Decimal) else row[k] for k in COLUMNS}


def to_jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
    return "".join(msgspec.json.encode(_plain(r)).decode("utf-8") + "\n" for r in rows)


def _csv(header: tuple[str, ...], records: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for rec in records:
        w.writerow(["" if rec[k] is None else rec[k] for k in header])
    return buf.getvalue()


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    return _csv(COLUMNS, (_plain(r) for r in rows))


# ---------------------------------------------------------------------------
# OTLP/JSON traces


def _unix_nano(at: Any) -> str:
    dt = event_at(at)
    if dt is None:
        return "0"
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    nanos = (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    # OTLP times are unsigned 64-bit nanoseconds (1970 to 2554); outside that the span is undated
    # and the time travels only as the cw.at attribute.
    return str(nanos) if 0 <= nanos < 2**64 else "0"


def _attr(key: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, Decimal):
        return {"key": key, "value": {"doubleValue": float(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _attrs(pairs: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [a for k, v in pairs if (a := _attr(k, v)) is not None]


def _span(row: Mapping[str, Any], trace: str) -> dict[str, Any]:
    end = _unix_nano(row["at"])
    start = _unix_nano(row.get("_startAt"))
    if start == "0" or end == "0" or int(start) > int(end):
        start = end
    common = [
        ("cw.id", row["id"]),
        ("cw.run.id", row["runId"]),
        ("cw.actor", row["actor"]),
        ("cw.app", row["app"]),
        ("cw.at", row["at"]),
    ]
    if row["kind"] == "usage":
        name = "invoke_agent" + (f" {row['backend']}" if row["backend"] else "")
        amount = row["amount"]
        attrs = _attrs(
            [
                ("gen_ai.operation.name", "invoke_agent"),
                ("gen_ai.request.model", row["model"]),
                ("gen_ai.provider.name", row["provider"]),
                ("gen_ai.agent.name", row["backend"]),
                ("gen_ai.conversation.id", f"{row['runId']}/{row['unit']}"),
                ("gen_ai.usage.input_tokens", row["inputTokens"]),
                ("gen_ai.usage.output_tokens", row["outputTokens"]),
                ("gen_ai.usage.cache_read.input_tokens", row["cacheReadTokens"]),
                ("gen_ai.usage.cache_creation.input_tokens", row["cacheWriteTokens"]),
                ("gen_ai.usage.reasoning.output_tokens", row["reasoningTokens"]),
                ("cw.kind", "usage"),
                *common,
                ("cw.unit", row["unit"]),
                ("cw.cost.state", row["costState"]),
                ("cw.cost.amount", amount),
                ("cw.cost.decimal", decimal_text(amount) if amount is not None else None),
                ("cw.cost.currency", row["currency"]),
            ]
        )
    else:
        name = f"cw.revenue {row['entryKind'] or 'entry'}"
        amount = row["amount"]
        attrs = _attrs(
            [
                ("cw.kind", "revenue"),
                *common,
                ("cw.revenue.entry.id", row["entryId"]),
                ("cw.revenue.entry.kind", row["entryKind"]),
                ("cw.revenue.booked_run.id", row["bookedRunId"]),
                ("cw.revenue.ref", row["ref"]),
                ("cw.revenue.amount", amount),
                ("cw.revenue.decimal", decimal_text(amount)),
                ("cw.revenue.currency", row["currency"]),
            ]
        )
    return {
        "traceId": trace,
        "spanId": row["id"][:16],
        "name": name,
        "kind": 1,  # SPAN_KIND_INTERNAL
        "startTimeUnixNano": start,
        "endTimeUnixNano": end,
        "attributes": attrs,
    }


def to_otlp(rows: Iterable[Mapping[str, Any]], *, version: str) -> str:
    """One ``{"resourceSpans": [...]}`` line per run (one trace), spans in row order."""
    runs: dict[tuple[str, Any], list[Mapping[str, Any]]] = {}
    for r in rows:
        runs.setdefault((r["runId"], r["runCreatedAt"]), []).append(r)
    lines = []
    for (run_id, created), items in runs.items():
        trace = trace_id(run_id, created)
        resource = _attrs([("service.name", "cw"), ("service.version", version), ("cw.run.id", run_id)])
        doc = {
            "resourceSpans": [
                {
                    "resource": {"attributes": resource},
                    "scopeSpans": [
                        {"scope": {"name": "cw", "version": version}, "spans": [_span(r, trace) for r in items]}
                    ],
                }
            ]
        }
        lines.append(msgspec.json.encode(doc).decode("utf-8") + "\n")
    return "".join(lines)


# ---------------------------------------------------------------------------
# FinOps FOCUS

FOCUS_COLUMNS = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceName",
    "ServiceCategory",
    "SkuId",
    "ResourceId",
    "ResourceName",
    "SubAccountId",
    "Tags",
    "x_CwId",
    "x_CwRowId",
    "x_CwKind",
    "x_CwCostState",
    "x_CwBucket",
)

#: Buckets of an unpriced unit, read straight from its usage (reasoning is part of the output there).
_RAW_BUCKETS = (
    ("input", "inputTokens"),
    ("cacheRead", "cacheReadTokens"),
    ("cacheWrite", "cacheWriteTokens"),
    ("output", "outputTokens"),
)
_MILLION = Decimal(1_000_000)


def _hour(at: Any) -> tuple[str | None, str | None, str | None, str | None]:
    dt = event_at(at)
    if dt is None:
        return None, None, None, None
    start = dt.replace(minute=0, second=0, microsecond=0)
    month = start.replace(day=1, hour=0)
    nxt = month.replace(year=month.year + (month.month == 12), month=month.month % 12 + 1)
    return iso_z(start), iso_z(start + timedelta(hours=1)), iso_z(month), iso_z(nxt)


def _focus_row(row: Mapping[str, Any], bucket: str | None, tokens: Any, cost: Decimal | None) -> dict[str, Any]:
    cps, cpe, bps, bpe = _hour(row["at"])
    usage = row["kind"] == "usage"
    tags = {
        k: v
        for k, v in (
            ("cw.run.id", row["runId"]),
            ("cw.actor", row["actor"]),
            ("cw.app", row["app"]),
            ("cw.unit", row["unit"]),
            ("cw.backend", row["backend"]),
            ("cw.cost.state", row["costState"]),
            ("cw.revenue.entry.id", row["entryId"]),
            ("cw.revenue.booked_run.id", row["bookedRunId"]),
            ("cw.revenue.ref", row["ref"]),
        )
        if v is not None
    }
    model = row["model"] or "(no model)"
    return {
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ContractedCost": cost,
        "BillingCurrency": row["currency"] or (row["reportCurrency"] if usage else None),
        "BillingPeriodStart": bps,
        "BillingPeriodEnd": bpe,
        "ChargeCategory": "Usage" if usage else "Credit",
        "ChargeClass": "Correction" if row["entryKind"] == "reversed" else None,
        "ChargeDescription": (
            f"{model} {bucket} tokens"
            if usage and bucket
            else "unreported usage"
            if usage
            else f"revenue {row['entryKind']}"
        ),
        "ChargeFrequency": "Usage-Based" if usage else "One-Time",
        "ChargePeriodStart": cps,
        "ChargePeriodEnd": cpe,
        "ConsumedQuantity": tokens,
        "ConsumedUnit": "Tokens" if tokens is not None else None,
        "PricingQuantity": (Decimal(tokens) / _MILLION) if tokens is not None else None,
        "PricingUnit": "1M Tokens" if tokens is not None else None,
        "ProviderName": row["provider"] if usage else "cw",
        "PublisherName": row["provider"] if usage else "cw",
        "InvoiceIssuerName": row["provider"] if usage else "cw",
        "ServiceName": model if usage else "cw revenue",
        "ServiceCategory": "AI and Machine Learning" if usage else "Other",
        "SkuId": f"{model}/{bucket}" if usage and bucket else None,
        "ResourceId": f"{row['runId']}/{row['unit']}" if usage else f"{row['bookedRunId']}/{row['entryId']}",
        "ResourceName": row["unit"] if usage else row["entryId"],
        "SubAccountId": row["app"],
        "Tags": msgspec.json.encode(tags).decode("utf-8"),
        "x_CwId": stable_id("focus", row["id"], bucket or "-"),
        "x_CwRowId": row["id"],
        "x_CwKind": row["kind"],
        "x_CwCostState": row["costState"],
        "x_CwBucket": bucket,
    }


def focus_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FOCUS rows: per usage unit one per token bucket with tokens (costs adding up to the unit's), per revenue
    share one ``Credit`` row (a negative cost; a reversal is a positive ``Correction``)."""
    out = []
    for row in rows:
        if row["kind"] == "revenue":
            out.append(_focus_row(row, None, None, -row["amount"]))
            continue
        parts = row.get("_parts")
        if parts is not None:
            kept = [(b, t, c) for b, t, c in parts if t] or [parts[0]]
            for b, t, c in kept:
                out.append(_focus_row(row, b, int(t), c))
        elif row["costState"] == "unpriced":
            raw = [(b, row[k]) for b, k in _RAW_BUCKETS if row[k]]
            for b, t in raw or [("input", row["inputTokens"])]:
                out.append(_focus_row(row, b, t, None))
        else:
            out.append(_focus_row(row, None, None, None))
    _unique_focus(out)
    return out


def _unique_focus(rows: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        n = seen.get(row["x_CwId"], 0) + 1
        seen[row["x_CwId"]] = n
        if n > 1:
            row["x_CwId"] = f"{row['x_CwId']}-{n}"


def to_focus_csv(rows: list[dict[str, Any]]) -> str:
    plain = ({k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows)
    return _csv(FOCUS_COLUMNS, plain)


__all__ = [
    "COLUMNS",
    "FOCUS_COLUMNS",
    "FORMATS",
    "ID_VERSION",
    "build_rows",
    "decimal_text",
    "focus_rows",
    "provider_of",
    "stable_id",
    "to_csv",
    "to_focus_csv",
    "to_jsonl",
    "to_otlp",
    "trace_id",
]
