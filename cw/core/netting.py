"""Revenue and net for one run's metrics payload (added keys; CW's keys are unchanged).

``revenue``: the run's own bookings, per currency (booked, reversed, net), or
``state: "refused"`` with the reason when the ledger does not verify.
``net``: revenue minus spend in the reporting currency (the config's, else
USD): the figures of the run's row in ``cw pnl --by run``. Amounts in another
currency are converted by the FX policy with ``cw pnl``'s rule: each entry (a
booking, a reversal) at the rate in force on its own ``at``, each unit's cost
at its own date; ``fx`` lists the rates used with their dates, and
``conversions`` each converted entry. When any entry cannot be converted,
``revenue`` and ``net`` are null and the reasons say why: never a zero for
money that is there. Figures are rounded once to the currency's minor unit,
from exact sums, as ``cw pnl`` rounds them. Attribution across parent runs is
``cw pnl``'s job: here a run shows what it booked itself (what last-touch
attribution gives it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from cw.core.coststate import PRICED_STATES, empty_counts, incomplete_reasons
from cw.core.currency import round_money
from cw.core.fx import FxPolicy, StaleRates, convert, policy_header
from cw.core.ledger import VerifyResult, revenue_total
from cw.core.numbers import money_out


def revenue_and_net(
    ledger_doc: Any,
    verified: VerifyResult,
    cost: dict[str, Any],
    fx: FxPolicy | None,
    spend_items: Iterable[Mapping[str, Any]],
    currency: str,
) -> dict[str, Any]:
    """``{"revenue": ..., "net": ...}`` to append to a metrics report (``net`` absent when refused).

    ``spend_items``: the run's units as ``cw pnl`` reads them (``state``, exact ``amount``,
    ``currency``, ``at``); ``currency``: the reporting currency. Spend is converted unit by unit
    at each unit's date and, like revenue, rounded once, as ``cw pnl`` does.
    """
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
    revenue = Decimal(0)
    legs: list[tuple[str, str, Decimal]] = []
    stale = StaleRates()
    counts = empty_counts()
    spend = Decimal(0)
    spend_left_out: dict[str, list[Any]] = {}  # currency -> [amount, {reasons}]
    for item in spend_items:
        counts[item["state"]] += 1
        if item["state"] not in PRICED_STATES:
            continue
        src = str(item.get("currency") or "USD")
        conv = convert(item["amount"], src, currency, item.get("at"), fx)
        if conv.amount is None:
            slot = spend_left_out.setdefault(src, [Decimal(0), set()])
            slot[0] += item["amount"]
            slot[1].add(conv.reason or "")
            continue
        spend += conv.amount
        legs.extend(conv.legs)
        stale.note(conv, src, item.get("at"), fx)
    conversions: list[dict[str, Any]] = []
    left_out: dict[str, list[Any]] = {}  # currency -> [amount, {reasons}]
    for e in entries:
        amt, src = Decimal(e["amount"]), e["currency"]
        conv = convert(amt, src, currency, e.get("at"), fx)
        if conv.amount is None:
            slot = left_out.setdefault(src, [Decimal(0), set()])
            slot[0] += amt
            slot[1].add(conv.reason or "")
            continue
        revenue += conv.amount
        if src != currency:
            legs.extend(conv.legs)
            stale.note(conv, src, e.get("at"), fx)
            conversions.append(
                {
                    "entryId": e.get("id"),
                    "currency": src,
                    "amount": money_out(amt),
                    "at": e.get("at"),
                    "rateDate": conv.legs[0][0] if conv.legs else None,
                    "converted": money_out(round_money(conv.amount, currency)),
                }
            )
    reasons = incomplete_reasons(counts, cost.get("state"))
    for src, (amount, why) in sorted(spend_left_out.items()):
        reasons.append(f"spend of {format(amount, 'f')} {src} not converted to {currency}: {'; '.join(sorted(why))}")
    for src, (amount, why) in sorted(left_out.items()):
        reasons.append(
            f"revenue of {format(amount, 'f')} {src} not converted to {currency}: {'; '.join(sorted(why))}; "
            "revenue and net are unknown"
        )
    known = not left_out
    return {
        "revenue": {"state": "ok", "entries": len(entries), "byCurrency": by_currency},
        "net": {
            "currency": currency,
            "revenue": money_out(round_money(revenue, currency)) if known else None,
            "spend": money_out(round_money(spend, currency)),
            "net": money_out(round_money(revenue - spend, currency)) if known else None,
            "complete": not reasons,
            "reasons": reasons,
            "fx": policy_header(fx, legs, stale),
            "conversions": conversions,
        },
    }
