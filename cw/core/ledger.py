"""The revenue ledger: append-only, hash-chained entries on the run that earned them.

A run's ledger lives in its ``state.json`` under ``revenue``::

    {"schemaVersion": 1, "entries": [<entry>, ...]}

Entry (``RevenueEntry``; ``schemas/revenue-entry.schema.json``), keys in this order::

    id          "rev-0001", "rev-0002", ... (position in the chain, 1-based)
    kind        "booked" | "reversed"
    amount      decimal text with every minor-unit digit of the currency,
                positive when booked, negative when reversed ("100.00", "-40.00")
    currency    ISO 4217 code
    ref         booked only: the external id (invoice, payment); unique per ledger
    reverses    reversed only: id of the booked entry it corrects
    reason      reversed only: why
    note        optional free text
    at          when the revenue was earned; for a reversal, when it was reversed
                (never before its booking), so a window nets each entry at its date
    recordedAt  when cw wrote the entry
    actor       who booked it (the run's actor, resolved by the shell)
    runId       the run the ledger belongs to
    prevHash    hash of the previous entry; for the first entry the genesis value
                "sha256:" + hex(sha256("cw-revenue-ledger:<runId>"))
    hash        "sha256:" + hex(sha256(canonical JSON of every other field))

Canonical JSON: keys sorted, no whitespace (``","`` and ``":"``), non-ASCII
characters written as UTF-8, hashed as UTF-8 bytes. cw never edits or deletes
an entry: a correction is a ``reversed`` entry, never more than what remains
of the booking it points at.

The **head file** (``head_for``) records, outside ``state.json``, how many
entries the ledger has and the newest entry's hash
(``schemas/revenue-head.schema.json``). The shell writes it after
``state.json``, under the same lock.

What ``verify`` checks, entry by entry, and what each check catches:

1. shape (types, patterns, no unknown keys): hand edits that break the format;
2. ``runId`` is this run's: a ledger copied from another run;
3. the entry's own hash: any edit to an entry that did not recompute its hash;
4. ``prevHash`` links to the previous entry (genesis for the first): deletion,
   insertion and reordering; and an entry edited *and re-hashed* while its
   successor was left alone (the successor no longer links to it; the edited
   entry is named as the first bad one);
5. ids run ``rev-0001, rev-0002, ...`` without gaps: a deletion even when the
   next entry's link was patched and re-hashed (unless every id was renumbered);
6. ledger rules: canonical amount text at the currency's precision, the sign
   matching the kind, fields present for the kind, refs unique, a reversal
   pointing at an earlier booking of the same currency and not dated before it, never
   reversing more than remains. These catch re-hashed edits that produce a
   ledger cw could never have written (for example a reversal raised above its
   booking);
7. the head file: a head recording more entries than the ledger means the
   newest entries were deleted; the same count with a different hash means the
   tail was rewritten and re-hashed; fewer entries means entries were added
   outside cw.

Crash tolerance: a head exactly one entry behind, whose hash is the hash of
the entry before the newest (or genesis), is what an interrupted write leaves
(``state.json`` saved, head not yet); it verifies ok with a note. A missing
head with exactly one entry is the same case for the first booking. A head
ahead of the ledger, two or more behind, or missing with two or more entries,
does not verify. (A booking on a lagging head brings the head up to date before
it writes ``state.json``, so repeated kills never leave it two behind.)

Limits, honestly: the chain is tamper-*evident* against edits made without
recomputing hashes, and against rewrites that forget the head file. It is not
a signature: SHA-256 needs no secret, so someone who rewrites ``state.json``
and the head file consistently (re-hashing every later entry and keeping ids
and ledger rules intact) is not detected. Deleting the head file together with
every entry after the first also looks like an interrupted first write. For
evidence against such a writer, copy the ``tip`` hash that ``cw ledger verify
--json`` prints to somewhere that writer cannot change (a commit, a ticket, an
export) and compare later. ``recordedAt`` order is not checked, since clocks
can step backwards.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from cw.core.currency import (
    canonical_amount_pattern,
    format_amount,
    format_money,
    is_currency,
    parse_amount,
    parse_currency,
    quantum,
)
from cw.core.numbers import CALENDAR_TEXT, is_iso_timestamp, iso_from_ms, money_out, parse_iso_ms
from cw.model.errors import LedgerError, NotFoundError, RefusedError, UsageError

SCHEMA_VERSION = 1
GENESIS_PREFIX = "cw-revenue-ledger:"
_ID_RE = r"^rev-[0-9]{4,}$"
_HASH_RE = r"^sha256:[0-9a-f]{64}$"
_MAX_REF = 200
_MAX_TEXT = 2000

_Id = Annotated[str, msgspec.Meta(pattern=_ID_RE)]
_Hash = Annotated[str, msgspec.Meta(pattern=_HASH_RE)]
_Text = Annotated[str, msgspec.Meta(min_length=1)]


class RevenueEntry(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One ledger entry, as stored (see the module docstring for each field)."""

    id: _Id
    kind: Literal["booked", "reversed"]
    amount: Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    ref: _Text | None = None
    reverses: _Id | None = None
    reason: _Text | None = None
    note: str | None = None
    at: str
    recordedAt: str
    actor: _Text
    runId: _Text
    prevHash: _Hash
    hash: _Hash


class RevenueHead(msgspec.Struct, forbid_unknown_fields=True):
    """The head file: entry count and newest hash, kept beside ``state.json``."""

    schemaVersion: Literal[1]
    runId: _Text
    entries: Annotated[int, msgspec.Meta(ge=0)]
    hash: _Hash


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify``.

    ``problem`` is ``{index, entryId, what}`` for the first bad entry (``index``
    is 0-based; for entries missing at the end it is the first missing
    position; ``index`` and ``entryId`` are None for whole-ledger problems).
    ``tip`` is the newest entry's hash (genesis when empty); None when the
    chain itself is broken.
    """

    ok: bool
    entries: int
    problem: dict[str, Any] | None = None
    note: str | None = None
    tip: str | None = None


# ---------------------------------------------------------------------------
# hashing


def entry_id(index: int) -> str:
    """Id of the entry at 0-based ``index``: ``rev-0001`` for 0."""
    return f"rev-{index + 1:04d}"


_id_at = entry_id  # for functions whose ``entry_id`` parameter shadows the name


def genesis_hash(run_id: str) -> str:
    """``prevHash`` of a run's first entry."""
    return "sha256:" + hashlib.sha256((GENESIS_PREFIX + run_id).encode("utf-8")).hexdigest()


def canonical_bytes(entry: Mapping[str, Any]) -> bytes:
    """What an entry's hash covers: every field except ``hash``, as canonical JSON in UTF-8."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """``"sha256:" + hex digest`` of ``canonical_bytes(entry)``."""
    return "sha256:" + hashlib.sha256(canonical_bytes(entry)).hexdigest()


# ---------------------------------------------------------------------------
# verification


def _problem(index: int | None, eid: str | None, what: str) -> dict[str, Any]:
    return {"index": index, "entryId": eid, "what": what}


def _doc_entries(doc: Any) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """The entry list of a ledger document, or a whole-ledger problem."""
    if doc is None:
        return [], None
    if not isinstance(doc, dict):
        return None, _problem(None, None, "revenue must be an object {schemaVersion: 1, entries: [...]}")
    extra = sorted(k for k in doc if k not in ("schemaVersion", "entries"))
    if extra:
        return None, _problem(None, None, f"revenue has unexpected key {extra[0]!r}")
    version = doc.get("schemaVersion")
    if type(version) is not int or version != SCHEMA_VERSION:
        return None, _problem(None, None, f"revenue.schemaVersion must be {SCHEMA_VERSION}, got {version!r}")
    entries = doc.get("entries")
    if not isinstance(entries, list):
        return None, _problem(None, None, "revenue.entries must be an array")
    return entries, None


@dataclass
class _Booking:
    currency: str
    amount: Decimal
    remaining: Decimal
    at: str


def _check_chain(doc: Any, run_id: str) -> tuple[list[Any], dict[str, Any] | None, list[str]]:
    """Checks 1-6 of the module docstring. Returns (entries, first problem, hashes read)."""
    entries, problem = _doc_entries(doc)
    if problem is not None or entries is None:
        return [], problem, []
    prev = genesis_hash(run_id)
    hashes: list[str] = []
    bookings: dict[str, _Booking] = {}
    refs: dict[str, str] = {}
    for i, raw in enumerate(entries):
        expected = entry_id(i)
        if not isinstance(raw, dict):
            return entries, _problem(i, expected, "is not an object"), hashes
        eid = raw["id"] if isinstance(raw.get("id"), str) else expected
        try:
            entry = msgspec.convert(raw, RevenueEntry)
        except msgspec.ValidationError as exc:
            return entries, _problem(i, eid, f"malformed entry: {exc}"), hashes
        if entry.runId != run_id:
            return entries, _problem(i, eid, f"belongs to run {entry.runId}, not {run_id}"), hashes
        if entry_hash(raw) != entry.hash:
            return entries, _problem(i, eid, "content does not match its hash: the entry was edited"), hashes
        if entry.prevHash != prev:
            if i == 0:
                what = (
                    "does not link to this run's genesis hash: earlier entries were deleted"
                    if entry.id != expected
                    else "does not link to this run's genesis hash: it was replaced, or the chain rewritten"
                )
                return entries, _problem(0, eid, what), hashes
            before = entry_id(i - 1)
            if entry.id != expected:
                what = (
                    f"found where {expected} should be, and does not link to {before}: "
                    "entries were deleted, inserted or reordered"
                )
                return entries, _problem(i, eid, what), hashes
            what = f"its hash is not the one {eid} recorded as prevHash: {before} was edited and re-hashed, or replaced"
            return entries, _problem(i - 1, before, what), hashes
        if entry.id != expected:
            return entries, _problem(i, eid, f"id out of sequence: expected {expected}"), hashes
        rule = _rule_problem(entry, bookings, refs)
        if rule is not None:
            return entries, _problem(i, eid, rule), hashes
        prev = entry.hash
        hashes.append(entry.hash)
    return entries, None, hashes


def _rule_problem(e: RevenueEntry, bookings: dict[str, _Booking], refs: dict[str, str]) -> str | None:
    """Ledger rules of check 6; updates ``bookings`` and ``refs`` when the entry passes."""
    if not is_currency(e.currency, withdrawn_ok=True):
        return f"unknown currency {e.currency}"
    if not canonical_amount_pattern(e.currency).fullmatch(e.amount):
        return f"amount {e.amount} is not written at {e.currency}'s precision"
    amount = Decimal(e.amount)
    for name, value in (("at", e.at), ("recordedAt", e.recordedAt)):
        if not is_iso_timestamp(value):
            return f"{name} {value!r} is not an ISO 8601 timestamp"
    if e.kind == "booked":
        if amount <= 0:
            return f"a booking must be positive, got {e.amount}"
        if e.ref is None or e.reverses is not None or e.reason is not None:
            return "a booking must have ref and no reverses or reason"
        if e.ref in refs:
            return f"ref {e.ref!r} is already booked as {refs[e.ref]}"
        refs[e.ref] = e.id
        bookings[e.id] = _Booking(e.currency, amount, amount, e.at)
        return None
    if amount >= 0:
        return f"a reversal must be negative, got {e.amount}"
    if e.reverses is None or e.reason is None or e.ref is not None:
        return "a reversal must have reverses and reason and no ref"
    target = bookings.get(e.reverses)
    if target is None:
        return f"reverses {e.reverses}, which is not an earlier booking"
    if target.currency != e.currency:
        return f"reverses {e.reverses} in {e.currency}, but it was booked in {target.currency}"
    if (parse_iso_ms(e.at) or 0) < (parse_iso_ms(target.at) or 0):
        return f"happens at {e.at}, before {e.reverses} was earned at {target.at}"
    if -amount > target.remaining:
        return f"reverses {-amount} {e.currency}, more than the {target.remaining} left of {e.reverses}"
    target.remaining += amount
    return None


def _head_problem(head: Any, run_id: str, n: int, hashes: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """Check 7: the head file against a chain that passed checks 1-6. Returns (problem, note)."""
    newest = entry_id(n - 1) if n else None
    if head is None:
        if n == 0:
            return None, None
        if n == 1:
            return None, (
                "no head file yet; rev-0001 chains correctly, so this is an "
                "interrupted first write (the next revenue write creates the head file)"
            )
        return _problem(
            None,
            None,
            f"the head file is missing, so deleting the newest of the {n} "
            "entries could not be detected; restore it from a backup",
        ), None
    try:
        h = msgspec.convert(head, RevenueHead)
    except msgspec.ValidationError as exc:
        return _problem(None, None, f"the head file is malformed: {exc}"), None
    if h.runId != run_id:
        return _problem(None, None, f"the head file belongs to run {h.runId}, not {run_id}"), None

    def hash_at(count: int) -> str:
        return hashes[count - 1] if count else genesis_hash(run_id)

    if h.entries > n:
        missing = entry_id(n)
        return _problem(
            n,
            missing,
            f"the head file records {h.entries} entries but the ledger has {n}: "
            f"the newest entries (from {missing}) were deleted",
        ), None
    if h.entries == n:
        if h.hash == hash_at(n):
            return None, None
        if n == 0:
            return _problem(None, None, "the head file's hash is not this run's genesis hash"), None
        return _problem(
            n - 1,
            newest,
            f"{newest}'s hash differs from the one in the head file: the ledger was rewritten and re-hashed",
        ), None
    if h.entries == n - 1:
        if h.hash == hash_at(h.entries):
            return None, (
                f"the head file is one entry behind ({newest} is not in it yet); "
                f"{newest} chains correctly, so a write was interrupted after state.json "
                "was saved (the next revenue write updates the head file)"
            )
        at = h.entries - 1 if h.entries else None
        return _problem(
            at,
            entry_id(at) if at is not None else None,
            "the head file's hash does not match the ledger: it was rewritten and re-hashed",
        ), None
    first_new = entry_id(h.entries)
    return _problem(
        h.entries,
        first_new,
        f"the head file records {h.entries} entries but the ledger has {n}: "
        f"entries from {first_new} were added outside cw (only one entry behind is "
        "tolerated, as an interrupted write)",
    ), None


def verify(ledger_doc: Any, head: Any, run_id: str) -> VerifyResult:
    """Verify a run's ledger against its head file (None when the file is absent)."""
    entries, problem, hashes = _check_chain(ledger_doc, run_id)
    tip = hashes[-1] if hashes else genesis_hash(run_id)
    if problem is not None:
        return VerifyResult(False, len(entries), problem, None, None)
    head_problem, note = _head_problem(head, run_id, len(entries), hashes)
    return VerifyResult(head_problem is None, len(entries), head_problem, note, tip)


def _refusal(run_id: str, problem: Mapping[str, Any]) -> LedgerError:
    where = f"{problem['entryId']}: " if problem.get("entryId") else ""
    return LedgerError(
        f"Revenue ledger of run {run_id} does not verify ({where}{problem['what']}); "
        "its revenue is refused until the ledger is restored.",
        hint="cw ledger verify",
    )


def ensure_verified(ledger_doc: Any, head: Any, run_id: str) -> VerifyResult:
    """``verify``, raising ``LedgerError`` when the ledger does not verify (fail closed)."""
    result = verify(ledger_doc, head, run_id)
    if not result.ok:
        raise _refusal(run_id, result.problem or {"what": "unknown problem"})
    return result


def _verified_entries(ledger_doc: Any, run_id: str) -> list[dict[str, Any]]:
    entries, problem, _ = _check_chain(ledger_doc, run_id)
    if problem is not None:
        raise _refusal(run_id, problem)
    return entries


def head_for(ledger_doc: Any, run_id: str | None = None) -> dict[str, Any]:
    """The head file document for a ledger: ``{schemaVersion, runId, entries, hash}``."""
    entries, problem = _doc_entries(ledger_doc)
    if problem is not None or entries is None:
        raise ValueError(problem["what"] if problem else "bad ledger")
    rid = run_id or (entries[-1]["runId"] if entries else None)
    if not rid:
        raise ValueError("head_for needs run_id for an empty ledger")
    tip = entries[-1]["hash"] if entries else genesis_hash(rid)
    return {"schemaVersion": SCHEMA_VERSION, "runId": rid, "entries": len(entries), "hash": tip}


# ---------------------------------------------------------------------------
# writing (pure: a new document and the new entry)


def _amount_arg(amount: Any, currency: str, flag: str) -> Decimal:
    if not isinstance(amount, Decimal):
        return parse_amount(amount, currency, flag=flag)
    if not amount.is_finite() or amount <= 0:
        raise UsageError(f"Invalid {flag} {amount}: must be a positive amount.")
    if amount != amount.quantize(quantum(currency)):
        raise UsageError(f"Invalid {flag} {amount}: too precise for {currency}.")
    return amount


def _text_arg(value: Any, flag: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"Missing {flag}: expected a non-empty value.")
    if value != value.strip():
        raise UsageError(f'Invalid {flag} "{value}": remove the leading or trailing spaces.')
    if len(value) > limit:
        raise UsageError(f"Invalid {flag}: longer than {limit} characters.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UsageError(f"Invalid {flag}: control characters are not allowed.")
    return value


def _timestamp_arg(value: Any, flag: str) -> str:
    if not is_iso_timestamp(value):
        raise UsageError(
            f'Invalid {flag} "{value}": expected an ISO 8601 timestamp such as 2026-01-15T09:30:00Z, {CALENDAR_TEXT}.'
        )
    return iso_from_ms(parse_iso_ms(value))  # type: ignore[arg-type]


def _sealed(body: dict[str, Any]) -> dict[str, Any]:
    body["hash"] = entry_hash(body)
    msgspec.convert(body, RevenueEntry)  # the shape we write is the shape we verify
    return body


def ref_key(ref: str) -> str:
    """What two refs are compared by: the text without invisible format characters (Unicode category
    Cf: zero-width spaces and joiners, U+FEFF, direction marks), then in NFC. So ``INV-1``, ``INV\u200b-1``
    and a decomposed ``Café`` against a composed one are each the same ref; the stored ref keeps what was typed."""
    visible = "".join(ch for ch in ref if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", visible)


def shown_ref(ref: str) -> str:
    """A ref for a message: invisible characters written as ``\\u200b`` so a reader sees them."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cf" else ch for ch in ref)


def _same_ref_note(stored: str, given: str) -> str:
    if stored == given:
        return ""
    return (
        f'(stored as "{shown_ref(stored)}", given as "{shown_ref(given)}": the same ref once invisible characters '
        "are removed and Unicode is normalised to NFC) "
    )


def find_booking(ledger_doc: Any, ref: str) -> dict[str, Any] | None:
    """The booked entry whose external id is ``ref`` (compared by ``ref_key``), or None."""
    entries, _ = _doc_entries(ledger_doc)
    key = ref_key(ref)
    for e in entries or []:
        if (
            isinstance(e, dict)
            and e.get("kind") == "booked"
            and isinstance(e.get("ref"), str)
            and ref_key(e["ref"]) == key
        ):
            return e
    return None


def book(
    ledger_doc: Any,
    *,
    run_id: str,
    amount: Decimal | str,
    currency: str,
    ref: str,
    note: str | None = None,
    at: str,
    recorded_at: str,
    actor: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Append a booking. Returns ``(new ledger document, new entry)``; the input is not modified.

    Refuses: a malformed amount, currency, ref, note or timestamp (UsageError);
    a ref already booked in this ledger (RefusedError naming that entry); a
    ledger whose chain does not verify (LedgerError). The shell must also call
    ``ensure_verified`` with the head file first, since only it can see the
    head file. Timestamps are stored in UTC with milliseconds and ``Z``.
    Refs are unique per ledger; a shell that wants them unique across runs
    can ask ``find_booking`` of every other ledger first.
    """
    cur = parse_currency(currency, flag="CURRENCY")
    value = _amount_arg(amount, cur, "AMOUNT")
    ref = _text_arg(ref, "--ref", _MAX_REF)
    if not ref_key(ref).strip():
        raise UsageError(f"Invalid --ref {ref!r}: it holds only invisible characters; give the external id.")
    clean_note = _text_arg(note, "--note", _MAX_TEXT) if note not in (None, "") else None
    at_iso = _timestamp_arg(at, "--at")
    recorded = _timestamp_arg(recorded_at, "recordedAt")
    actor = _text_arg(actor, "actor", _MAX_REF)
    entries = _verified_entries(ledger_doc, run_id)
    e = find_booking(ledger_doc, ref)
    if e is not None:
        raise RefusedError(
            f'Revenue ref "{shown_ref(ref)}" is already booked on run {run_id} as {e["id"]} '
            + _same_ref_note(e["ref"], ref)
            + f"({e['amount']} {e['currency']}, earned {e['at']}); a retried job books once. "
            "Nothing was written."
        )
    body: dict[str, Any] = {
        "id": entry_id(len(entries)),
        "kind": "booked",
        "amount": format_amount(value, cur),
        "currency": cur,
        "ref": ref,
    }
    if clean_note is not None:
        body["note"] = clean_note
    body.update(
        {
            "at": at_iso,
            "recordedAt": recorded,
            "actor": actor,
            "runId": run_id,
            "prevHash": entries[-1]["hash"] if entries else genesis_hash(run_id),
        }
    )
    entry = _sealed(body)
    return {"schemaVersion": SCHEMA_VERSION, "entries": [*entries, entry]}, entry


def reverse(
    ledger_doc: Any,
    *,
    entry_id: str,
    amount: Decimal | str | None = None,
    reason: str,
    recorded_at: str,
    actor: str,
    run_id: str | None = None,
    at: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Append a reversal of booking ``entry_id``: the full remainder by default, or ``amount`` of it.

    The reversal happens at ``at`` (default: ``recorded_at``), never before the booking it corrects.

    Refuses an unknown entry (NotFoundError), reversing a reversal, a booking
    with nothing left, or more than remains (RefusedError), a zero or
    malformed amount or empty reason (UsageError), and a ledger whose chain
    does not verify (LedgerError). ``run_id`` defaults to the ledger's own.
    """
    target_id = entry_id
    entries0, problem = _doc_entries(ledger_doc)
    rid = run_id or next((e.get("runId") for e in entries0 or [] if isinstance(e, dict)), None)
    if not rid:
        if problem is not None:
            raise LedgerError(f"Revenue ledger does not verify ({problem['what']}).", hint="cw ledger verify")
        raise NotFoundError(f"No revenue entry {target_id}: the run has no revenue entries.")
    entries = _verified_entries(ledger_doc, rid)
    target = next((e for e in entries if e["id"] == target_id), None)
    if target is None:
        raise NotFoundError(f"No revenue entry {target_id} on run {rid}.", hint=f"cw revenue list --run {rid}")
    if target["kind"] != "booked":
        raise RefusedError(
            f"{target_id} is itself a reversal (of {target['reverses']}); "
            f"reverse the booking {target['reverses']} instead."
        )
    cur = target["currency"]
    remaining = net_by_entry({"schemaVersion": SCHEMA_VERSION, "entries": entries})[target_id]
    if remaining == 0:
        raise RefusedError(
            f"{target_id} ({target['amount']} {cur}) is already fully reversed; nothing remains to reverse."
        )
    value = remaining if amount is None else _amount_arg(amount, cur, "--amount")
    if value > remaining:
        raise RefusedError(
            f"Cannot reverse {format_amount(value, cur)} {cur} of {target_id}: only "
            f"{format_amount(remaining, cur)} {cur} of its {target['amount']} {cur} remains."
        )
    why = _text_arg(reason, "--reason", _MAX_TEXT)
    recorded = _timestamp_arg(recorded_at, "recordedAt")
    actor = _text_arg(actor, "actor", _MAX_REF)
    when = recorded if at is None else _timestamp_arg(at, "--at")
    if (parse_iso_ms(when) or 0) < (parse_iso_ms(target["at"]) or 0):
        raise UsageError(
            f'Invalid --at "{when}": a reversal cannot happen before the booking it corrects '
            f"({target_id} at {target['at']})."
        )
    body: dict[str, Any] = {
        "id": _id_at(len(entries)),
        "kind": "reversed",
        "amount": format_amount(-value, cur),
        "currency": cur,
        "reverses": target_id,
        "reason": why,
        "at": when,
        "recordedAt": recorded,
        "actor": actor,
        "runId": rid,
        "prevHash": entries[-1]["hash"],
    }
    entry = _sealed(body)
    return {"schemaVersion": SCHEMA_VERSION, "entries": [*entries, entry]}, entry


# ---------------------------------------------------------------------------
# folds


def _entries_of(ledger_doc: Any) -> list[dict[str, Any]]:
    entries, problem = _doc_entries(ledger_doc)
    if problem is not None or entries is None:
        raise ValueError(problem["what"] if problem else "bad ledger")
    return entries


def net_by_entry(ledger_doc: Any) -> dict[str, Decimal]:
    """For each booked entry (in ledger order): its amount minus everything reversed against it."""
    out: dict[str, Decimal] = {}
    for e in _entries_of(ledger_doc):
        if e["kind"] == "booked":
            out[e["id"]] = Decimal(e["amount"])
        elif e.get("reverses") in out:
            out[e["reverses"]] += Decimal(e["amount"])
    return out


def revenue_total(ledger_doc: Any) -> dict[str, Decimal]:
    """Net revenue (booked − reversed) per currency, currencies in code order."""
    totals: dict[str, Decimal] = {}
    for e in _entries_of(ledger_doc):
        totals[e["currency"]] = totals.get(e["currency"], Decimal(0)) + Decimal(e["amount"])
    return dict(sorted(totals.items()))


def bookings(ledger_doc: Any) -> list[dict[str, Any]]:
    """Each booked entry with what remains of it: ``{entryId, runId, actor, at, currency, booked, reversed, net,
    events}``; ``events`` is ``[(entry id, at, signed amount)]`` in ledger order, the booking first, then
    each reversal at its own date."""
    nets = net_by_entry(ledger_doc)
    out = []
    by_id: dict[str, dict[str, Any]] = {}
    for e in _entries_of(ledger_doc):
        if e["kind"] == "booked":
            booked = Decimal(e["amount"])
            b = {
                "entryId": e["id"],
                "runId": e["runId"],
                "actor": e["actor"],
                "at": e["at"],
                "currency": e["currency"],
                "booked": booked,
                "reversed": booked - nets[e["id"]],
                "net": nets[e["id"]],
                "events": [(e["id"], e["at"], booked)],
            }
            by_id[e["id"]] = b
            out.append(b)
        elif e.get("reverses") in by_id:
            by_id[e["reverses"]]["events"].append((e["id"], e["at"], Decimal(e["amount"])))
    return out


def has_entry_in(ledger_doc: Any, inside: Any) -> bool:
    """Whether any entry's ``at`` passes ``inside`` (a predicate on the text)."""
    entries, _ = _doc_entries(ledger_doc)
    return any(isinstance(e, dict) and inside(e.get("at")) for e in entries or ())


# ---------------------------------------------------------------------------
# payloads (schemas/ledger-verify.schema.json, schemas/revenue-list.schema.json)


def _run_sort_key(run_id: str, repo: str | None) -> tuple[str, str]:
    return (run_id, repo or "")


def verify_payload(
    results: Iterable[tuple[str, str | None, VerifyResult]], *, scope: str, generated_at: str
) -> dict[str, Any]:
    """The ``cw ledger verify --json`` payload.

    Keys: ``schemaVersion, surface, scope, generatedAt, ok, runCount, failedRuns,
    runs``; each run ``{runId, repo, ok, entries, tip, problem, note}``, sorted
    by run id then repo (code point order).
    """
    rows = sorted(results, key=lambda r: _run_sort_key(r[0], r[1]))
    runs = [
        {
            "runId": rid,
            "repo": repo,
            "ok": res.ok,
            "entries": res.entries,
            "tip": res.tip,
            "problem": res.problem,
            "note": res.note,
        }
        for rid, repo, res in rows
    ]
    failed = sum(1 for r in runs if not r["ok"])
    return {
        "schemaVersion": 1,
        "surface": "ledger-verify",
        "scope": scope,
        "generatedAt": generated_at,
        "ok": failed == 0,
        "runCount": len(runs),
        "failedRuns": failed,
        "runs": runs,
    }


def revenue_list_payload(
    ledgers: Iterable[tuple[str, str | None, Any, VerifyResult]],
    *,
    scope: str,
    run_filter: str | None,
    generated_at: str,
    window: Any = None,
) -> dict[str, Any]:
    """The ``cw revenue list --json`` payload.

    ``window`` (a ``cw.core.timeline.Window``) keeps the entries whose ``at``
    is in it; totals are over the entries kept, ``window`` is its header.

    ``ledgers`` gives ``(runId, repo, ledger document, verify result)`` per run.
    Runs whose ledger does not verify contribute no entries (fail closed) and
    are listed under ``unverified`` instead, never dropped silently.

    Keys: ``schemaVersion, surface, scope, runId (the --run filter or null),
    generatedAt, entryCount, totals, entries, unverified``. ``totals`` has one
    ``{currency, booked, reversed, net}`` per currency (code order; ``reversed``
    is positive). ``entries`` are sorted by run id, repo, then ledger order,
    each ``{runId, repo, id, kind, amount, currency, ref | reverses + reason,
    note?, at, recordedAt, actor, net?}``, where ``net`` (bookings only) is
    what remains after reversals. Amounts are JSON numbers.
    """
    entries_out: list[dict[str, Any]] = []
    unverified: list[dict[str, Any]] = []
    sums: dict[str, list[Decimal]] = {}
    for rid, repo, doc, res in sorted(ledgers, key=lambda r: _run_sort_key(r[0], r[1])):
        if not res.ok:
            unverified.append({"runId": rid, "repo": repo, "problem": res.problem})
            continue
        nets = net_by_entry(doc) if doc is not None else {}
        for e in _entries_of(doc):
            if window is not None and not window.contains_text(e["at"]):
                continue
            amount = Decimal(e["amount"])
            item: dict[str, Any] = {
                "runId": rid,
                "repo": repo,
                "id": e["id"],
                "kind": e["kind"],
                "amount": money_out(amount),
                "currency": e["currency"],
            }
            for key in ("ref", "reverses", "reason", "note"):
                if key in e:
                    item[key] = e[key]
            item.update({"at": e["at"], "recordedAt": e["recordedAt"], "actor": e["actor"]})
            if e["kind"] == "booked":
                item["net"] = money_out(nets[e["id"]])
            entries_out.append(item)
            acc = sums.setdefault(e["currency"], [Decimal(0), Decimal(0)])
            acc[0 if amount > 0 else 1] += abs(amount)
    totals = [
        {"currency": c, "booked": money_out(b), "reversed": money_out(r), "net": money_out(b - r)}
        for c, (b, r) in sorted(sums.items())
    ]
    return {
        "schemaVersion": 1,
        "surface": "revenue-list",
        "scope": scope,
        "runId": run_filter,
        "generatedAt": generated_at,
        **({"window": window.header()} if window is not None else {}),
        "entryCount": len(entries_out),
        "totals": totals,
        "entries": entries_out,
        "unverified": unverified,
    }


# ---------------------------------------------------------------------------
# text


def _money_text(value: Any, currency: str) -> str:
    return format_money(value, currency)


def render_verify_text(payload: Mapping[str, Any]) -> str:
    """Human text for a ``verify_payload`` (no trailing newline)."""
    lines = [f"ledger verify  scope={payload['scope']}  runs={payload['runCount']}  failed={payload['failedRuns']}"]
    for r in payload["runs"]:
        where = f" ({r['repo']})" if r["repo"] else ""
        if r["ok"]:
            line = f"  ok      {r['runId']}{where}  entries={r['entries']}"
            if r["note"]:
                line += f"  note: {r['note']}"
        else:
            p = r["problem"] or {}
            at = f"{p['entryId']}: " if p.get("entryId") else ""
            line = f"  FAILED  {r['runId']}{where}  {at}{p.get('what', '')}"
        lines.append(line)
    return "\n".join(lines)


def render_revenue_list_text(payload: Mapping[str, Any]) -> str:
    """Human text for a ``revenue_list_payload`` (no trailing newline)."""
    head = f"revenue  scope={payload['scope']}"
    if payload["runId"]:
        head += f"  run={payload['runId']}"
    lines = [head + f"  entries={payload['entryCount']}"]
    repos = {e.get("repo") for e in payload["entries"]} | {u.get("repo") for u in payload["unverified"]}
    for e in payload["entries"]:
        where = f" ({e['repo']})" if len(repos) > 1 and e.get("repo") else ""
        amount = f"{_money_text(e['amount'], e['currency'])} {e['currency']}"
        if e["kind"] == "booked":
            detail = f"ref={e['ref']}  net={_money_text(e['net'], e['currency'])}"
        else:
            detail = f"reverses={e['reverses']}  reason={json.dumps(e['reason'], ensure_ascii=False)}"
        note = f"  note={json.dumps(e['note'], ensure_ascii=False)}" if "note" in e else ""
        lines.append(
            f"  {e['runId']}{where}  {e['id']}  {e['kind']:<8}  {amount}  {detail}  at={e['at']}  actor={e['actor']}{note}"
        )
    for t in payload["totals"]:
        c = t["currency"]
        lines.append(
            f"  total {c}: booked={_money_text(t['booked'], c)}  "
            f"reversed={_money_text(t['reversed'], c)}  net={_money_text(t['net'], c)}"
        )
    for u in payload["unverified"]:
        p = u["problem"] or {}
        at = f"{p['entryId']}: " if p.get("entryId") else ""
        where = f" ({u['repo']})" if len(repos) > 1 and u.get("repo") else ""
        lines.append(f"  unverified {u['runId']}{where}: {at}{p.get('what', '')} (its revenue is left out)")
    return "\n".join(lines)
