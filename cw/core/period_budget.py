"""Per-period budgets: an actor's spend in the current day, week or month against a limit, failing closed.

A budget ``{actor, period, tokens?, cost? {amount, currency}, tz, weekStart}``
covers the calendar period of its zone that holds "now". Its spend is every
usage unit of that actor dated in the period (``cw.core.timeline.unit_at``):
tokens by cw-compat §10, cost priced by the pricing policy and converted to
the budget's currency at the unit's date. Dispatch is refused when spend
reached a limit, when part of the cost cannot be priced or converted (its
spend is then unknown), and, unless the caller allows it, while units of the
actor in the period have no attested usage or no date (silence is not zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from cw.core.coststate import missing_text, spent_text
from cw.core.currency import format_money, round_money
from cw.core.fx import FxPolicy, convert
from cw.core.numbers import js_number, money_out
from cw.core.timeline import WEEKDAYS, event_at, iso_z, period_of


def budget_key(b: Mapping[str, Any]) -> tuple[str, str]:
    return str(b["actor"]), str(b["period"])


def period_status(
    budget: Mapping[str, Any],
    scope: str,
    items: Iterable[Mapping[str, Any]],
    *,
    zone: tzinfo,
    now: str,
    fx: FxPolicy | None,
    allow_unreported: bool = False,
) -> dict[str, Any]:
    """One budget's state for the period holding ``now``.

    ``items`` are spend items (``cw.capabilities.money.spend_items``) with
    ``tokens`` (attested units); only the budget actor's count.
    """
    at_now = event_at(now)
    if at_now is None:
        raise ValueError(f"now is not an ISO time: {now!r}")
    week_start = WEEKDAYS.index(str(budget.get("weekStart") or "monday"))
    p = period_of(at_now, str(budget["period"]), zone, week_start)
    actor = str(budget["actor"])
    tokens: int | float = 0
    units = unreported = undated = 0
    spent = Decimal(0)
    unknown: list[str] = []
    cost = budget.get("cost")
    cur = str(cost["currency"]) if cost else None
    for it in items:
        if it.get("actor") != actor:
            continue
        at = event_at(it.get("at"))
        if at is None:
            if it.get("state") != "unreported":
                undated += 1
            else:
                unreported += 1
            continue
        if not (p.start <= at < p.end):
            continue
        units += 1
        state = it.get("state")
        if state == "unreported":
            unreported += 1
            continue
        tokens += it.get("tokens") or 0
        if cur is None:
            continue
        if it.get("amount") is None:
            unknown.append(f"{it.get('runId')}/{it.get('unit')}: unpriced ({it.get('model') or 'no model'})")
            continue
        conv = convert(it["amount"], str(it.get("currency") or "USD"), cur, it.get("at"), fx)
        if conv.amount is None:
            unknown.append(f"{it.get('runId')}/{it.get('unit')}: {conv.reason}")
            continue
        spent += conv.amount
    reasons: list[str] = []
    exceeded: list[str] = []
    where = f"{actor}'s {budget['period']} budget ({scope}, {p.label})"
    out: dict[str, Any] = {
        "actor": actor,
        "period": budget["period"],
        "scope": scope,
        "tz": budget.get("tz") or "UTC",
        "weekStart": budget.get("weekStart") or "monday",
        "current": {"period": p.label, "start": iso_z(p.start), "end": iso_z(p.end)},
        "units": units,
        "unreportedUnits": unreported,
        "undatedUnits": undated,
    }
    limit_tokens = budget.get("tokens")
    if limit_tokens is not None:
        out["tokens"] = {
            "limit": limit_tokens,
            "spent": tokens,
            "remaining": max(limit_tokens - tokens, 0),
            "complete": unreported + undated == 0,
            "missingUnits": unreported + undated,
        }
        if tokens >= limit_tokens:
            exceeded.append("tokens")
            reasons.append(
                f"{where} reached: {js_number(tokens)} tokens spent of {js_number(limit_tokens)} in {p.label}"
            )
    else:
        out["tokens"] = None
    if cost and cur is not None:
        limit = Decimal(str(cost["amount"]))
        missing = unreported + undated + len(unknown)
        out["cost"] = {
            "limit": money_out(limit),
            "currency": cur,
            "spent": money_out(round_money(spent, cur)),
            "remaining": money_out(round_money(max(limit - spent, Decimal(0)), cur)),
            "unknownUnits": unknown,
            "complete": missing == 0,
            "missingUnits": missing,
        }
        if spent >= limit:
            exceeded.append("cost")
            reasons.append(
                f"{where} reached: {format_money(spent, cur)} {cur} spent of {format_money(limit, cur)} {cur}"
            )
        if unknown:
            reasons.append(
                f"{where} cannot be checked: {len(unknown)} unit(s) have spend cw cannot price or convert to {cur} "
                f"({'; '.join(unknown[:3])}{'; …' if len(unknown) > 3 else ''})"
            )
    else:
        out["cost"] = None
    if (unreported or undated) and not allow_unreported:
        what = []
        if unreported:
            what.append(f"{unreported} unit(s) without attested usage in {p.label}")
        if undated:
            what.append(f"{undated} unit(s) without a date")
        reasons.append(
            f"{where}: {' and '.join(what)}; unreported usage is not zero. Record it with --usage-* on "
            "cw result / cw worker output, or pass --allow-unreported"
        )
    out["exceeded"] = exceeded
    out["dispatch"] = {"allowed": not reasons, "reasons": reasons}
    return out


def _bound(block: Mapping[str, Any], figure: str) -> str:
    """What is left over incomplete spend is an upper bound."""
    return figure if block.get("complete", True) else "≤" + figure


def usage_texts(status: Mapping[str, Any]) -> list[str]:
    """What a period budget has used, as every text view says it: ``tokens spent=… of …  remaining=…`` and
    ``cost spent=… of … USD  remaining=… USD``, with ``≥``/``≤``/``unknown`` over units without known spend."""
    seen = status["units"] + status["undatedUnits"]
    detail = [(status["unreportedUnits"], "unreported"), (status["undatedUnits"], "undated")]
    out = []
    if status["tokens"]:
        t = status["tokens"]
        said = missing_text(detail) if t.get("missingUnits") else ""
        out.append(
            f"tokens spent={spent_text(str(t['spent']), seen, int(t.get('missingUnits') or 0))} of {t['limit']}  "
            f"remaining={_bound(t, str(t['remaining']))}" + (f"  ({said})" if said else "")
        )
    if status["cost"]:
        c = status["cost"]
        cur = c["currency"]
        cdetail = [*detail, (len(c["unknownUnits"]), "unpriced or not converted")]
        said = missing_text(cdetail) if c.get("missingUnits") else ""
        spent = spent_text(format_money(c["spent"], cur), seen, int(c.get("missingUnits") or 0))
        out.append(
            f"cost spent={spent} of {format_money(c['limit'], cur)} {cur}  "
            f"remaining={_bound(c, format_money(c['remaining'], cur))} {cur}" + (f"  ({said})" if said else "")
        )
    return out


__all__ = ["budget_key", "period_status", "usage_texts"]
