"""P&L: spend and attributed revenue per actor, app or run, in one reporting currency.

Inputs (plain values; the shell gathers them from run state):

* spend items, one per usage unit: ``{runId, app, actor, at, state, amount,
  currency}`` where ``state`` is ``attested`` | ``estimated`` (priced, with a
  Decimal ``amount``), ``unpriced`` (attested usage no policy entry priced) or
  ``unreported`` (work without attested usage); ``at`` is when the spend
  happened (``cw.core.timeline.unit_at``).
* revenue items, one per attributed share of a booking (``revenue_items``
  builds them from verified ledgers and an ``AttributionModel``):
  ``{runId, app, actor, at, amount, currency, entryId, bookedRunId}``. A
  booking and each of its reversals are items of their own, dated at their
  own ``at``; over all of them each run receives exactly its share of what
  remains of the booking after reversals.

Each row (``key`` = the actor, app, run id or model; missing actor ->
``unattributed``, missing app -> ``unknown``; by model, spend rows are the
usage's model (``(no model)`` for units without one) and revenue, which no
model earns, has its own ``(revenue)`` row):

* ``runs``: distinct runs contributing units or revenue to the row (the
  totals row counts distinct runs overall, so rows can add up to more);
* ``units``: ``{total, attested, estimated, unpriced, unreported}``;
* ``spend``: priced units converted to the reporting currency;
  ``spendState`` and ``coverage``: the cost state and coverage of the row's
  units by the rules of ``cw.core.coststate`` (the same words and rules as
  ``metrics``: ``unreported`` when no unit has recorded usage, a row
  without units included; coverage = reported units / units, null without
  units);
* ``revenue``: attributed net revenue (booked − reversed), converted;
* ``net`` = revenue − spend, over what could be converted;
* ``netComplete``: false when any unit is unreported or unpriced or any
  amount could not be converted. Such a net is still shown as a number, with
  ``reasons`` saying what it leaves out and ``unconverted`` listing, per side
  and original currency, the amounts left out.

Conversion (``cw.core.fx``) uses each amount's own date; a missing rate is
never guessed. The header lists the FX figures actually used, with dates.

Rounding: everything is exact ``Decimal`` until presented. Each money figure
in the payload is its exact value rounded once to the reporting currency's
minor unit, half away from zero. Totals are the exact sums rounded once, not
sums of rounded rows, so rows may not add up to the totals exactly;
``totals.roundingDifference`` gives, per column, totals minus the sum of the
row figures shown. ``net`` is likewise the exact net rounded, so in a row it
can differ from ``revenue − spend`` as shown by one minor unit.

Row order (text and JSON alike): by exact net, highest first; equal nets by
key in code point order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cw.core.attribution import AttributionModel, RunNode, attribute
from cw.core.coststate import UNIT_STATES, cost_state, coverage, incomplete_reasons
from cw.core.currency import format_money, minor_units, parse_currency, round_money
from cw.core.fx import FxPolicy, StaleRates, convert, policy_header
from cw.core.ledger import bookings
from cw.core.numbers import money_out, to_fixed
from cw.core.render import format_policy
from cw.core.timeline import WEEKDAYS, Window, bucket, event_at, iso_z, window_periods
from cw.model.errors import UsageError

SPEND_STATES = UNIT_STATES
GROUPINGS = ("actor", "app", "run", "model")
_PRICED = ("attested", "estimated")


def revenue_items(
    ledgers: Mapping[str, Any], runs: Mapping[str, RunNode], model: AttributionModel
) -> list[dict[str, Any]]:
    """Attributed revenue shares from ledgers that already verified (``runId -> ledger document``).

    Each booking's remaining net (booked − reversed) is attributed once over
    the booking run's chain; fully reversed bookings contribute nothing.
    Shares go to the receiving run's actor and app (``runs``); the booking
    run falls back to the booking entry's actor when it has no node.
    """
    out: list[dict[str, Any]] = []
    for booked_on in sorted(ledgers):
        doc = ledgers[booked_on]
        if doc is None:
            continue
        for b in bookings(doc):
            # Each entry (booking, then reversals) is dated on its own; its shares are the change in the
            # shares of the running remainder, so over all dates a run gets exactly its share of the net.
            before: dict[str, Decimal] = {}
            running = Decimal(0)
            for entry_id, at, amount in b["events"]:
                running += amount
                after = dict(attribute(running, b["currency"], booked_on, runs, model, b["at"])) if running else {}
                for rid in [*after, *(r for r in before if r not in after)]:
                    share = after.get(rid, Decimal(0)) - before.get(rid, Decimal(0))
                    if share == 0:
                        continue
                    node = runs.get(rid)
                    actor = node.actor if node and node.actor else (b["actor"] if rid == booked_on else None)
                    out.append(
                        {
                            "runId": rid,
                            "app": node.app if node else None,
                            "actor": actor,
                            "at": at,
                            "amount": share,
                            "currency": b["currency"],
                            "entryId": entry_id,
                            "bookedRunId": booked_on,
                        }
                    )
                before = after
    return out


@dataclass
class _Acc:
    """Exact running figures of one row (or of the totals)."""

    run_ids: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPEND_STATES, 0))
    spend: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)
    priced_tokens: int | float | None = 0  # None once a priced item came without a token count
    # (side, currency) -> [original amount, {reasons}]
    unconverted: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    @property
    def net(self) -> Decimal:
        return self.revenue - self.spend

    def left_out(self, side: str, currency: str, amount: Decimal, reason: str) -> None:
        slot = self.unconverted.setdefault((side, currency), [Decimal(0), set()])
        slot[0] += amount
        slot[1].add(reason)


def _key(item: Mapping[str, Any], by: str) -> str:
    if by == "run":
        return str(item["runId"])
    if by == "app":
        return item.get("app") or "unknown"
    if by == "model":
        if "entryId" in item:
            return "(revenue)"
        return str(item.get("model") or "(no model)")
    return item.get("actor") or "unattributed"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _row_fields(acc: _Acc, currency: str) -> dict[str, Any]:
    counts = acc.counts
    total_units = sum(counts.values())
    state = cost_state(counts, priced_tokens=acc.priced_tokens)
    reasons = incomplete_reasons(counts, state)
    unconverted = []
    for (side, cur), (amount, why) in sorted(acc.unconverted.items()):
        because = "; ".join(sorted(why))
        reasons.append(f"{side} of {format(amount, 'f')} {cur} not converted to {currency}: {because}")
        unconverted.append({"side": side, "currency": cur, "amount": money_out(amount), "reason": because})
    return {
        "runs": len(acc.run_ids),
        "units": {"total": total_units, **counts},
        "spend": money_out(round_money(acc.spend, currency)),
        "spendState": state,
        "coverage": coverage(counts),
        "revenue": money_out(round_money(acc.revenue, currency)),
        "net": money_out(round_money(acc.net, currency)),
        "netComplete": not reasons,
        "reasons": reasons,
        "unconverted": unconverted,
    }


def _build_pnl(
    spend_items: Iterable[Mapping[str, Any]],
    revenue_items: Iterable[Mapping[str, Any]],
    *,
    by: str,
    currency: str,
    fx_policy: FxPolicy | None,
    pricing_policy_id: str | None,
    attribution: AttributionModel,
    now: str,
    runs: Iterable[Mapping[str, Any]] | None = None,
    refused: Iterable[Mapping[str, Any]] = (),
    unreadable: Iterable[Mapping[str, Any]] = (),
    pricing: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], _Acc]:
    """The P&L payload (``schemas/pnl.schema.json``).

    Keys: ``schemaVersion, surface, generatedAt, by, currency, minorUnits,
    pricingPolicyId, fx {policyId, base, ratesUsed [{date, currency,
    perBase}]}, attribution {model, halfLifeDays?}, rows, totals, notes``.
    ``runs`` (optional ``{runId, app, actor}`` mappings) makes runs without
    units or revenue appear and count too. ``refused`` lists runs whose ledger
    does not verify (``{runId, repo, actor, app, reason}``): their revenue is
    left out (fail closed), and their row and the totals are marked not
    complete. ``pricing`` is the header naming the pricing policy used
    (``{name, id, from}``). ``unreadable`` lists runs that could not be read at all
    (``{runId, repo, reason}``); both lists end the payload. ``revenue_items`` must come from
    ``revenue_items()`` with the same ``attribution`` model.
    """
    if by not in GROUPINGS:
        raise UsageError(f'Invalid --by "{by}": expected one of {", ".join(GROUPINGS)}.')
    cur = parse_currency(currency, flag="--currency")
    rows: dict[str, _Acc] = {}
    total = _Acc()
    legs: list[tuple[str, str, Decimal]] = []
    stale = StaleRates()

    def accs(item: Mapping[str, Any]) -> tuple[_Acc, _Acc]:
        acc = rows.setdefault(_key(item, by), _Acc())
        acc.run_ids.add(str(item["runId"]))
        total.run_ids.add(str(item["runId"]))
        return acc, total

    for run in runs if by != "model" and runs is not None else ():  # a run is not a model
        accs(run)
    for item in spend_items:
        state = item["state"]
        if state not in SPEND_STATES:
            raise ValueError(f"unknown spend state {state!r}")
        pair = accs(item)
        tokens = item.get("tokens")
        for acc in pair:
            acc.counts[state] += 1
            if state in _PRICED:
                acc.priced_tokens = None if tokens is None or acc.priced_tokens is None else acc.priced_tokens + tokens
        if state not in _PRICED:
            continue
        amount = item["amount"]
        if not isinstance(amount, Decimal):
            raise ValueError(f"a {state} unit needs a Decimal amount")
        src = item.get("currency") or "USD"
        conv = convert(amount, src, cur, item.get("at"), fx_policy)
        legs.extend(conv.legs)
        stale.note(conv, src, item.get("at"), fx_policy)
        for acc in pair:
            if conv.amount is None:
                acc.left_out("spend", src, amount, conv.reason or "")
            else:
                acc.spend += conv.amount
    for item in revenue_items:
        amount = item["amount"]
        src = item["currency"]
        conv = convert(amount, src, cur, item.get("at"), fx_policy)
        legs.extend(conv.legs)
        stale.note(conv, src, item.get("at"), fx_policy)
        for acc in accs(item):
            if conv.amount is None:
                acc.left_out("revenue", src, amount, conv.reason or "")
            else:
                acc.revenue += conv.amount

    ordered = sorted(rows.items(), key=lambda kv: (-kv[1].net, kv[0]))
    row_payloads = [{"key": key, **_row_fields(acc, cur)} for key, acc in ordered]
    totals = _row_fields(total, cur)
    shown = {col: sum((Decimal(str(r[col])) for r in row_payloads), Decimal(0)) for col in ("spend", "revenue", "net")}
    totals["roundingDifference"] = {
        col: money_out(Decimal(str(totals[col])) - shown[col]) for col in ("spend", "revenue", "net")
    }
    places = minor_units(cur)
    notes = [
        f"Amounts are exact until shown: each figure is rounded once to {cur}'s {places} "
        "decimal place" + ("" if places == 1 else "s") + " (half away from zero); totals are "
        "the exact sums rounded once, so rows can differ from them by rounding "
        "(totals.roundingDifference)."
    ]
    if not totals["netComplete"]:
        notes.append(
            "Rows with netComplete false leave out usage that was never reported or "
            f"priced, or amounts that could not be converted to {cur}: their net is not "
            "a complete figure (see reasons)."
        )
    refused = list(refused)
    unreadable = [{"runId": u["runId"], "repo": u["repo"], "reason": u["reason"]} for u in unreadable]
    by_key = {r["key"]: r for r in row_payloads}
    for r in refused:
        key = {
            "actor": r.get("actor") or "unattributed",
            "app": r.get("app") or "unknown",
            "run": r.get("key") or r["runId"],
            "model": "(revenue)",
        }[by]
        why = f"revenue of run {r['runId']} refused: {r['reason']}"
        for target in (by_key.get(key), totals):
            if target is not None:
                target["netComplete"] = False
                target["reasons"].append(why)
    if refused:
        notes.append(
            f"Revenue of {len(refused)} run(s) was refused because their ledger does not verify "
            "(see refusedRevenue); their spend is included."
        )
    if unreadable:
        notes.append(f"{len(unreadable)} run(s) could not be read and are not in these figures; see unreadable.")
    stale_rates = stale.payload()
    if stale_rates and fx_policy is not None:
        n = sum(s["amounts"] for s in stale_rates)
        worst = max(s["maxAgeDays"] for s in stale_rates)
        notes.append(
            f"{n} amount(s) were converted at FX rates more than {fx_policy.max_rate_age_days} days older than "
            f"the amount (up to {worst} days; see fx.staleRates): the FX policy may need newer rates."
        )
    return {
        "schemaVersion": 1,
        "surface": "pnl",
        "generatedAt": now,
        "by": by,
        "currency": cur,
        "minorUnits": places,
        "pricingPolicyId": pricing_policy_id,
        "pricingPolicy": dict(pricing)
        if pricing is not None
        else {"name": pricing_policy_id or "none", "id": pricing_policy_id, "from": "caller"},
        "fx": policy_header(fx_policy, legs, stale),
        "attribution": attribution.header(),
        "rows": row_payloads,
        "totals": totals,
        "notes": notes,
        "refusedRevenue": [{"runId": r["runId"], "repo": r["repo"], "reason": r["reason"]} for r in refused],
        "unreadable": unreadable,
    }, total


def build_pnl(
    spend_items: Iterable[Mapping[str, Any]],
    revenue_items: Iterable[Mapping[str, Any]],
    *,
    by: str,
    currency: str,
    fx_policy: FxPolicy | None,
    pricing_policy_id: str | None,
    attribution: AttributionModel,
    now: str,
    runs: Iterable[Mapping[str, Any]] | None = None,
    refused: Iterable[Mapping[str, Any]] = (),
    unreadable: Iterable[Mapping[str, Any]] = (),
    pricing: Mapping[str, Any] | None = None,
    window: Window | None = None,
    period: str | None = None,
    week_start: int = 0,
) -> dict[str, Any]:
    """The P&L payload over ``window`` (default: all time), with ``periods`` when ``period`` is given.

    A spend or revenue item counts when its ``at`` is in the window. With a
    bounded window or a period, an undated unit cannot be placed: it is left
    out, counted in ``window.undatedUnits`` and the totals say the net is
    not complete. ``runs`` (with ``createdAt``) are the runs created in the
    window or period. Each period is ``{period, start, end, rows, total}``;
    ``total`` has the totals row shape, and its money figures are rounded so
    that the periods add up exactly to the window's totals: a period shows
    round(sum through it) − round(sum before it), which is within one minor
    unit of its exact figure.
    """
    w = window or Window()
    spend = list(spend_items)
    revenue = list(revenue_items)
    run_list = list(runs) if runs is not None else None
    placed = bool(period) or w.bounded
    undated = [i for i in spend if event_at(i.get("at")) is None] if placed else []
    spend_in = [i for i in spend if (event_at(i.get("at")) is not None or not placed) and w.contains_text(i.get("at"))]
    revenue_in = [i for i in revenue if w.contains_text(i.get("at"))]
    runs_in = (
        None if run_list is None else [r for r in run_list if not w.bounded or w.contains_text(r.get("createdAt"))]
    )
    common: dict[str, Any] = {
        "by": by,
        "currency": currency,
        "fx_policy": fx_policy,
        "pricing_policy_id": pricing_policy_id,
        "pricing": pricing,
        "attribution": attribution,
        "now": now,
    }
    payload, _ = _build_pnl(spend_in, revenue_in, runs=runs_in, refused=refused, unreadable=unreadable, **common)
    head = {**w.header(), "undatedUnits": len(undated)}
    if undated:
        why = (
            f"{_plural(len(undated), 'unit')} without a date (no attestedAt, recordedAt or completedAt) "
            "left out of this window"
        )
        payload["totals"]["netComplete"] = False
        payload["totals"]["reasons"].append(why)
        payload["notes"].append(why.capitalize() + ".")
    payload = _insert_after(payload, "by", "window", head)
    if not period:
        return payload
    latest = event_at(now)
    if latest is None:
        raise UsageError(f'Invalid --now "{now}": expected an ISO 8601 time with a zone, e.g. 2026-11-30T09:00:00Z.')
    dated = [event_at(i.get("at")) for i in [*spend_in, *revenue_in]]
    plist = window_periods(w, period, dated, latest, week_start)
    groups: list[tuple[list[Any], list[Any], list[Any] | None]] = [
        ([], [], None if runs_in is None else []) for _ in plist
    ]
    for i in spend_in:
        k = bucket(event_at(i.get("at")), plist)
        if k is not None:
            groups[k][0].append(i)
    for i in revenue_in:
        k = bucket(event_at(i.get("at")), plist)
        if k is not None:
            groups[k][1].append(i)
    for r in runs_in or ():
        k = bucket(event_at(r.get("createdAt")), plist)
        if k is not None:
            groups[k][2].append(r)  # type: ignore[union-attr]
    cur = payload["currency"]
    cum = {"spend": Decimal(0), "revenue": Decimal(0), "net": Decimal(0)}
    periods = []
    for p, (sp, rv, rn) in zip(plist, groups, strict=True):
        part, acc = _build_pnl(sp, rv, runs=rn, **common)
        tot = part["totals"]
        for col, exact in (("spend", acc.spend), ("revenue", acc.revenue), ("net", acc.net)):
            before = round_money(cum[col], cur)
            cum[col] += exact
            tot[col] = money_out(round_money(cum[col], cur) - before)
        shown = {c: sum((Decimal(str(r[c])) for r in part["rows"]), Decimal(0)) for c in ("spend", "revenue", "net")}
        tot["roundingDifference"] = {c: money_out(Decimal(str(tot[c])) - shown[c]) for c in shown}
        periods.append(
            {"period": p.label, "start": iso_z(p.start), "end": iso_z(p.end), "rows": part["rows"], "total": tot}
        )
    head.update(period=period, weekStart=WEEKDAYS[week_start])
    payload["periods"] = periods
    return payload


def _insert_after(d: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out[k] = v
        if k == after:
            out[key] = value
    return out


# ---------------------------------------------------------------------------
# text


def _money(value: Any, currency: str) -> str:
    return format_money(value, currency)


def _unconverted_sides(r: Mapping[str, Any]) -> set[str]:
    return {str(u.get("side")) for u in r.get("unconverted") or ()}


def _cells(key: str, r: Mapping[str, Any], currency: str, unconverted: set[str]) -> list[str]:
    """One table row; a figure cw cannot know reads n/a (the JSON says why in spendState, reasons, unconverted)."""
    coverage = "n/a" if r["coverage"] is None else f"{to_fixed(r['coverage'] * 100, 0)}%"
    units = r["units"]
    # units of which none is priced, or spend not converted to the reporting currency: unknown, not zero
    spend_unknown = (units["total"] > 0 and units["attested"] + units["estimated"] == 0) or "spend" in unconverted
    revenue_unknown = "revenue" in unconverted
    return [
        key,
        str(r["runs"]),
        str(units["total"]),
        "n/a" if spend_unknown else _money(r["spend"], currency),
        r["spendState"],
        coverage,
        "n/a" if revenue_unknown else _money(r["revenue"], currency),
        "n/a" if spend_unknown or revenue_unknown else _money(r["net"], currency),
        "yes" if r["netComplete"] else "no *",
    ]


def _half_life_text(days: Any) -> str:
    """``7d``, ``1.5d`` or ``1h`` (under a day, whole hours read as hours), never 28 digits of a day."""
    d = Decimal(str(days))
    hours = (d * 24).quantize(Decimal("0.000001"))
    if d < 1 and hours == hours.to_integral_value():
        return f"{int(hours)}h"
    return f"{d.quantize(Decimal('0.000001')).normalize():f}d"


def render_pnl_text(payload: Mapping[str, Any]) -> str:
    """A readable, aligned table of a ``build_pnl`` payload (no trailing newline)."""
    cur = payload["currency"]
    att = payload["attribution"]
    model = att["model"] + (f" (half-life {_half_life_text(att['halfLifeDays'])})" if "halfLifeDays" in att else "")
    pricing = (
        format_policy(payload["pricingPolicy"]) if "pricingPolicy" in payload else payload["pricingPolicyId"] or "-"
    )
    lines = [f"pnl by {payload['by']}  currency={cur}  pricing={pricing}  attribution={model}"]
    fx = payload["fx"]
    rates = ", ".join(f"{r['date']} {r['currency']} {r['perBase']}" for r in fx["ratesUsed"])
    if fx["policyId"]:
        lines.append(f"fx: policy {fx['policyId']} (per 1 {fx['base']}): {rates or 'no rates needed'}")
    else:
        lines.append("fx: no policy")
    for st in fx.get("staleRates") or ():
        lines.append(
            f"fx: old rate: {st['pair']} at the {st['rateDate']} rate for {st['amounts']} amount(s), "
            f"up to {st['maxAgeDays']} days older than the amount (limit {fx['maxRateAgeDays']})"
        )
    w = payload.get("window")
    if w and (w["since"] or w["until"] or "period" in w):
        span = f"[{w['since'] or 'start'}, {w['until'] or 'no end'})"
        per = ""
        if "period" in w:
            per = f"  per {w['period']}" + (f" (weeks start {w['weekStart']})" if w["period"] == "week" else "")
        lines.append(f"window: {span}  tz={w['tz']}" + per)
    previous: Mapping[str, Any] | None = None
    for p in payload.get("periods", ()):
        lines.append("")
        lines.append(f"{p['period']}  [{p['start']}, {p['end']})")
        lines += _table(p["rows"], p["total"], cur, "period total")
        lines += _rounding_note(p["rows"], p["total"], cur)
        lines.append("  " + _change(p["total"], previous, cur))
        previous = p
    if "periods" in payload:
        lines.append("")
        lines.append("window total")
    lines += _table(payload["rows"], payload["totals"], cur, "total")
    lines += _rounding_note(payload["rows"], payload["totals"], cur)
    for r in payload["rows"]:
        for reason in r["reasons"]:
            lines.append(f"* {r['key']}: {reason}")
    return "\n".join(lines)


def _table(rows: Iterable[Mapping[str, Any]], total: Mapping[str, Any], cur: str, label: str) -> list[str]:
    header = ["key", "runs", "units", "spend", "state", "coverage", "revenue", "net", "complete"]
    rows = list(rows)
    seen = [r["key"] for r in rows]
    # by-run rows carry their repo: name it where two repos hold runs of one name
    table = [header] + [
        _cells(
            f"{r['key']} ({r['repo']})" if "repo" in r and seen.count(r["key"]) > 1 else r["key"],
            r,
            cur,
            _unconverted_sides(r),
        )
        for r in rows
    ]
    table.append(_cells(label, total, cur, set().union(*(_unconverted_sides(r) for r in rows))))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = {1, 2, 3, 5, 6, 7}
    out = []
    for row in table:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
    return out


def _rounding_note(rows: Iterable[Mapping[str, Any]], total: Mapping[str, Any], cur: str) -> list[str]:
    """When the rows as shown do not add up to the total, say by how much and why (``roundingDifference``)."""
    diff = total.get("roundingDifference") or {}
    off = [(col, Decimal(str(diff[col]))) for col in ("spend", "revenue", "net") if Decimal(str(diff.get(col, 0))) != 0]
    if not off:
        return []
    said = ", ".join(f"{col} {'+' if d > 0 else ''}{format_money(d, cur)}" for col, d in off)
    return [
        f"rounding: the rows add up to the total except {said} ({cur}, total minus the sum of the rows shown): "
        "each figure is rounded once from its exact value, and the total is the exact sum rounded once"
    ]


def _change(total: Mapping[str, Any], previous: Mapping[str, Any] | None, cur: str) -> str:
    """``vs <previous>: spend +1.00, revenue -2.00, net -3.00`` (n/a for the first period)."""
    if previous is None:
        return "change vs previous period: n/a (no previous period in the window)"
    parts = []
    for col in ("spend", "revenue", "net"):
        delta = round_money(Decimal(str(total[col])) - Decimal(str(previous["total"][col])), cur)
        parts.append(f"{col} {'+' if delta >= 0 else ''}{format(delta, 'f')}")
    return f"change vs {previous['period']}: " + ", ".join(parts)
