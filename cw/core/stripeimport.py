"""Revenue from Stripe's dashboard exports (``cw revenue import``): reading the CSV and planning the entries.

Two exports:

* ``stripe-payments``: the Payments export, one row per charge, with
  ``id`` (``ch_…``/``py_…``), ``Created (UTC)`` (newer exports:
  ``Created date (UTC)``), ``Amount`` and ``Amount Refunded`` in major units
  (``120.00``), ``Currency`` (``usd``), ``Status``, ``Captured`` and one
  ``<key> (metadata)`` column per metadata key. A row books ``Amount`` on
  its run with ``--ref`` = the charge id; ``Amount Refunded`` becomes a
  reversal of that booking, and a later export showing more refunded
  reverses only the difference. Rows with Status failed, canceled or
  uncaptured, or Captured false, earned nothing and are ignored.
* ``stripe-balance``: the Balance history export, one row per balance
  transaction: ``id`` (``txn_…``), ``Type``, ``Source``, ``Amount``,
  ``Fee``, ``Net``, ``Currency``, ``Created (UTC)`` and metadata columns.
  ``charge`` and ``payment`` rows book ``Amount`` (gross, before fees) with
  ``--ref`` = the balance transaction id; ``refund`` and ``payment_refund``
  rows reverse a booking of the same run: the one booked from the refunded
  charge when the export names it (its ``Source``), else the newest one in
  that currency with enough left. Every other type (payouts, fees,
  transfers, adjustments) is not revenue and is ignored.

The run is the value of ``--run-column`` (a column name, e.g.
``cw_run (metadata)``); ``--actor-column`` names the one whose value, when
set, is recorded as the entry's actor. Re-importing the same file books
nothing twice: a booking's ref is already in the run's ledger, and a
reversal's reason names the refund it came from.

File problems (not UTF-8, malformed CSV, the wrong export, a missing
column, a currency cw does not know, an id twice) are a ``UsageError``
naming the file and line. Row problems (no run, an unknown run, a bad amount
or date, a ref booked on another run, a refund with nothing to reverse) are
collected with their line numbers; the shell books nothing while there are
any, unless told to skip them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cw.core.currency import format_amount, is_currency, minor_units
from cw.core.ledger import net_by_entry, ref_key
from cw.core.state import check_run_id
from cw.model.errors import CwError, UsageError

FORMATS = ("stripe-payments", "stripe-balance")
_CREATED = ("Created (UTC)", "Created date (UTC)")
_REQUIRED = {
    "stripe-payments": ("id", "Amount", "Currency"),
    "stripe-balance": ("id", "Type", "Source", "Amount", "Currency"),
}
_NOT_EARNED = {"failed", "canceled", "cancelled", "uncaptured"}
_BOOK_TYPES = {"charge", "payment"}
_REFUND_TYPES = {"refund", "payment_refund"}
_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2})(:[0-9]{2})?(?:\.[0-9]+)?Z?")
_AMOUNT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_HINT = "cw revenue import reads Stripe's Payments export (--format stripe-payments) or Balance history export (--format stripe-balance) as CSV."


@dataclass
class Row:
    line: int
    id: str
    kind: str  # "book", "refund", "ignore"
    run: str | None
    actor: str | None
    currency: str
    amount: Decimal | None
    refunded: Decimal | None  # payments export: Amount Refunded
    at: str | None
    source: str | None
    why: str | None = None  # for "ignore", or the problem with the row


@dataclass
class Plan:
    """What an import would write, run by run, and what it leaves aside."""

    books: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # run -> [{line, ref, amount, currency, at, actor, note}]
    reversals: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # run -> [{line, ref?, target, amount, reason, actor}]
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)


def _file_error(name: str, line: int | None, what: str) -> UsageError:
    return UsageError(f"Invalid Stripe export {name}{f':{line}' if line else ''}: {what}", hint=_HINT)


def _stamp(text: str) -> str | None:
    m = _TIME.fullmatch(text.strip())
    if not m:
        return None
    return f"{m.group(1)}T{m.group(2)}{m.group(3) or ':00'}Z"


def _amount(text: str, currency: str) -> Decimal | None:
    t = text.strip()
    if not _AMOUNT.fullmatch(t):
        return None
    d = Decimal(t)
    places = minor_units(currency, withdrawn_ok=True)
    return d if d == d.quantize(Decimal(1).scaleb(-places)) else None


def read_export(data: bytes, name: str, fmt: str, run_column: str, actor_column: str | None) -> list[Row]:
    """Rows of a Stripe export (file-level problems raise; row-level ones are in ``Row.why``)."""
    if fmt not in FORMATS:
        raise UsageError(f'Invalid --format "{fmt}": expected {" or ".join(FORMATS)}.')
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(name, data[: exc.start].count(b"\n") + 1, "not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise _file_error(name, 1, "the file is empty") from None
    except csv.Error as exc:
        raise _file_error(name, 1, f"malformed CSV ({exc})") from None
    cols = {h: i for i, h in enumerate(header)}
    if len(cols) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise _file_error(name, 1, f'the column "{dup}" appears twice')
    created = next((c for c in _CREATED if c in cols), None)
    missing = [c for c in _REQUIRED[fmt] if c not in cols] + ([] if created else [_CREATED[0]])
    if fmt == "stripe-payments" and "Type" in cols and "Source" in cols and "Net" in cols:
        raise _file_error(name, 1, "this is a Balance history export: use --format stripe-balance")
    if fmt == "stripe-balance" and "Amount Refunded" in cols:
        raise _file_error(name, 1, "this is a Payments export: use --format stripe-payments")
    if missing:
        raise _file_error(name, 1, f"no {', '.join(repr(c) for c in missing)} column: not a Stripe {fmt[7:]} export")
    for flag, col in (("--run-column", run_column), ("--actor-column", actor_column)):
        if col is not None and col not in cols:
            meta = [h for h in header if h.endswith(" (metadata)")]
            raise UsageError(
                f'{flag} "{col}" is not a column of {name}'
                + (f" (its metadata columns: {', '.join(meta)})." if meta else " (it has no metadata columns).")
            )
    rows: list[Row] = []
    seen: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise _file_error(name, line, f"{len(record)} fields where the header has {len(header)}")
            get: Mapping[str, str] = {h: record[i] for h, i in cols.items()}
            rid = get["id"].strip()
            if not rid:
                raise _file_error(name, line, "the id is empty")
            if rid in seen:
                raise _file_error(name, line, f"the id {rid} appears twice (also line {seen[rid]})")
            seen[rid] = line
            code = get["Currency"].strip().upper()
            if not is_currency(code):
                raise _file_error(name, line, f'the currency "{get["Currency"]}" is not an ISO 4217 code cw knows')
            rows.append(_row(fmt, line, rid, code, get, created, run_column, actor_column))  # type: ignore[arg-type]
    except csv.Error as exc:
        raise _file_error(name, reader.line_num, f"malformed CSV ({exc})") from None
    return rows


def _row(
    fmt: str,
    line: int,
    rid: str,
    code: str,
    get: Mapping[str, str],
    created: str,
    run_column: str,
    actor_column: str | None,
) -> Row:
    run = get[run_column].strip() or None
    actor = (get[actor_column].strip() or None) if actor_column else None
    row = Row(
        line, rid, "book", run, actor, code, None, None, _stamp(get[created]), get.get("Source", "").strip() or None
    )
    if fmt == "stripe-payments":
        status = get.get("Status", "").strip().lower()
        if status in _NOT_EARNED or get.get("Captured", "").strip().lower() == "false":
            row.kind, row.why = (
                "ignore",
                f"not earned (Status {get.get('Status', '').strip() or '-'}, Captured {get.get('Captured', '').strip() or '-'})",
            )
            return row
    else:
        kind = get["Type"].strip().lower()
        if kind in _REFUND_TYPES:
            row.kind = "refund"
        elif kind not in _BOOK_TYPES:
            row.kind, row.why = "ignore", f"type {kind or '-'} is not revenue"
            return row
    amount = _amount(get["Amount"], code)
    if amount is None:
        row.why = f'bad Amount "{get["Amount"]}": expected a plain decimal at {code}\'s precision (e.g. 120.00)'
        return row
    if row.kind == "refund":
        amount = -amount
    if amount <= 0:
        row.why = f"bad Amount {get['Amount']}: a {'refund' if row.kind == 'refund' else 'charge'} must move money"
        return row
    row.amount = amount
    if fmt == "stripe-payments" and get.get("Amount Refunded", "").strip():
        refunded = _amount(get["Amount Refunded"], code)
        if refunded is None or refunded < 0 or refunded > amount:
            row.why = (
                f'bad Amount Refunded "{get["Amount Refunded"]}": expected 0 up to the Amount, at {code}\'s precision'
            )
            return row
        row.refunded = refunded
    if row.at is None:
        row.why = f'bad {created} "{get[created]}": expected YYYY-MM-DD HH:MM[:SS] (UTC)'
        return row
    if run is None:
        row.why = f"no run: the {run_column} column is empty"
        return row
    try:
        check_run_id(run)
    except CwError:
        row.why = f'"{run}" in {run_column} is not a run id'
    return row


def _booking_for(entries: list[dict[str, Any]], ref: str) -> dict[str, Any] | None:
    key = ref_key(ref)
    return next((e for e in entries if e.get("kind") == "booked" and ref_key(str(e.get("ref"))) == key), None)


def plan_import(
    rows: list[Row],
    *,
    fmt: str,
    file_label: str,
    runs: Mapping[str, list[dict[str, Any]]],
    refs_elsewhere: Mapping[str, str],
) -> Plan:
    """What to write: ``runs`` maps every existing run id to its (verified) ledger entries;
    ``refs_elsewhere`` maps every booked ref of the scope, by ``ref_key``, to the run holding it."""
    plan = Plan()
    pending_net: dict[tuple[str, str], Decimal] = {}  # (run, target id or ref) -> what would remain
    planned_refs: dict[str, dict[str, Any]] = {}

    def bad(row: Row, what: str) -> None:
        plan.bad.append({"line": row.line, "id": row.id, "runId": row.run, "what": what})

    for row in rows:
        if row.kind == "ignore":
            plan.ignored.append({"line": row.line, "id": row.id, "why": row.why})
            continue
        if row.why is not None:
            bad(row, row.why)
            continue
        assert row.run is not None and row.amount is not None and row.at is not None
        if row.run not in runs:
            bad(row, f"unknown run {row.run}")
            continue
        if row.kind != "book":
            continue
        entries = runs[row.run]
        other = refs_elsewhere.get(ref_key(row.id))
        if other is not None and other != row.run:
            bad(row, f"{row.id} is already booked on run {other}")
            continue
        existing = _booking_for(entries, row.id)
        amount_text = format_amount(row.amount, row.currency)
        if existing is not None:
            if existing["amount"] != amount_text or existing["currency"] != row.currency:
                bad(
                    row,
                    f"{row.id} is booked as {existing['amount']} {existing['currency']} ({existing['id']}), not {amount_text} {row.currency}",
                )
                continue
            plan.unchanged.append(
                {"line": row.line, "id": row.id, "runId": row.run, "why": f"already booked as {existing['id']}"}
            )
            remaining = net_by_entry({"schemaVersion": 1, "entries": entries})[existing["id"]]
            pending_net[(row.run, existing["id"])] = remaining
        else:
            note = f"Stripe {'charge' if fmt == 'stripe-payments' else 'balance transaction'} {row.id}"
            if row.source and fmt == "stripe-balance":
                note += f" (source {row.source})"
            item = {
                "line": row.line,
                "ref": row.id,
                "amount": row.amount,
                "currency": row.currency,
                "at": row.at,
                "actor": row.actor,
                "note": note + f", imported from {file_label}",
            }
            plan.books.setdefault(row.run, []).append(item)
            planned_refs[row.id] = item
            pending_net[(row.run, row.id)] = row.amount
        if fmt == "stripe-payments" and row.refunded:
            key = (row.run, existing["id"] if existing else row.id)
            already = row.amount - pending_net[key]
            more = row.refunded - already
            if more < 0:
                bad(
                    row,
                    f"Amount Refunded {format_amount(row.refunded, row.currency)} is less than the {format_amount(already, row.currency)} already reversed",
                )
                continue
            if more > 0:
                plan.reversals.setdefault(row.run, []).append(
                    {
                        "line": row.line,
                        "target": key[1],
                        "planned": existing is None,
                        "amount": more,
                        "currency": row.currency,
                        "reason": f"Stripe refund of {row.id}: {format_amount(row.refunded, row.currency)} "
                        "refunded in all (payments export)",
                        "actor": row.actor,
                    }
                )
                pending_net[key] -= more
    if fmt == "stripe-balance":
        for row in rows:
            if row.kind != "refund" or row.why is not None or row.run not in runs:
                continue
            assert row.run is not None and row.amount is not None
            entries = runs[row.run]
            reason = f"Stripe refund {row.id} (balance history)"
            if any(e.get("kind") == "reversed" and str(e.get("reason", "")).startswith(reason) for e in entries):
                plan.unchanged.append(
                    {"line": row.line, "id": row.id, "runId": row.run, "why": "refund already reversed"}
                )
                continue
            found = _refund_target(row, entries, plan.books.get(row.run, []), pending_net)
            if found is None:
                shown = format_amount(row.amount, row.currency)
                bad(row, f"nothing booked on run {row.run} in {row.currency} has {shown} left to reverse")
                continue
            target, planned = found
            pending_net[(row.run, target)] = _left(pending_net, entries, row.run, target) - row.amount
            plan.reversals.setdefault(row.run, []).append(
                {
                    "line": row.line,
                    "target": target,
                    "planned": planned,
                    "amount": row.amount,
                    "currency": row.currency,
                    "reason": reason,
                    "actor": row.actor,
                }
            )
    return plan


def _left(pending: Mapping[tuple[str, str], Decimal], entries: list[dict[str, Any]], run: str, key: str) -> Decimal:
    if (run, key) in pending:
        return pending[(run, key)]
    nets = net_by_entry({"schemaVersion": 1, "entries": entries}) if entries else {}
    return nets.get(key, Decimal(0))


def _refund_target(
    row: Row, entries: list[dict[str, Any]], planned: list[dict[str, Any]], pending: Mapping[tuple[str, str], Decimal]
) -> tuple[str, bool] | None:
    """The booking a balance-history refund reverses: the refunded charge's, else the newest with enough left.

    Returns (entry id, False) for a booking already in the ledger, (ref, True) for one this import plans.
    """
    assert row.run is not None and row.amount is not None
    candidates: list[tuple[str, bool, str, str]] = []  # (key, planned, note, currency), oldest first
    for e in entries:
        if e.get("kind") == "booked":
            candidates.append((e["id"], False, str(e.get("note", "")), e["currency"]))
    for item in planned:
        candidates.append((item["ref"], True, item["note"], item["currency"]))
    fitting = [c for c in candidates if c[3] == row.currency and _left(pending, entries, row.run, c[0]) >= row.amount]
    if row.source:
        named = [c for c in fitting if f"(source {row.source})" in c[2]]
        if named:
            return named[-1][0], named[-1][1]
    return (fitting[-1][0], fitting[-1][1]) if fitting else None
