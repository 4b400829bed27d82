"""Revenue and net for one run's metrics payload (added keys; CW's keys are unchanged).

``revenue``: the run's own bookings, per currency (booked, reversed, net), or
``state: "refused"`` with the reason when the ledger does not verify.
``net``: revenue minus spend in the cost's currency. It is complete only when
the cost is fully priced (``attested`` or ``estimated``) and every booking is in
that currency; other currencies are left out and named (``cw pnl`` converts
them with an FX policy). Attribution across parent runs is ``cw pnl``'s job:
here a run shows what it booked itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cw.core.ledger import VerifyResult, revenue_total
from cw.core.numbers import money_out


def revenue_and_net(ledger_doc: Any, verified: VerifyResult, cost: dict[str, Any]) -> dict[str, Any]:
    """``{"revenue": ..., "net": ...}`` to append to a metrics report (``net`` absent when refused)."""
    if not verified.ok:
        p = verified.problem or {}
        where = f"{p['entryId']}: " if p.get("entryId") else ""
        return {
            "revenue": {
                "state": "refused",
                "entries": verified.entries,
                "reason": f"revenue ledger does not verify ({where}{p.get('what')}); its revenue is not reported",
            }
        }
    entries = ledger_doc.get("entries", []) if isinstance(ledger_doc, dict) else []
    booked: dict[str, Decimal] = {}
    reversed_: dict[str, Decimal] = {}
    for e in entries:
        amt = Decimal(e["amount"])
        target = booked if amt > 0 else reversed_
        target[e["currency"]] = target.get(e["currency"], Decimal(0)) + abs(amt)
    nets = revenue_total(ledger_doc)
    by_currency = [
        {
            "currency": c,
            "booked": money_out(booked.get(c, Decimal(0))),
            "reversed": money_out(reversed_.get(c, Decimal(0))),
            "net": money_out(nets.get(c, Decimal(0))),
        }
        for c in sorted(set(booked) | set(reversed_))
    ]
    currency = cost.get("currency") or "USD"
    spend = sum(
        (Decimal(str(v)) for v in (cost.get("attestedUsd"), cost.get("estimatedUsd")) if v is not None), Decimal(0)
    )
    revenue = nets.get(currency, Decimal(0))
    reasons = []
    if cost.get("state") not in ("attested", "estimated"):
        reasons.append(f"spend is {cost.get('state')}")
    others = sorted(c for c in nets if c != currency and nets[c] != 0)
    if others:
        reasons.append(f"revenue in {', '.join(others)} is not converted here (use cw pnl)")
    return {
        "revenue": {"state": "ok", "entries": len(entries), "byCurrency": by_currency},
        "net": {
            "currency": currency,
            "revenue": money_out(revenue),
            "spend": money_out(spend),
            "net": money_out(revenue - spend),
            "complete": not reasons,
            "reasons": reasons,
        },
    }
