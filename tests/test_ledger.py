"""The revenue ledger: booking, reversing, the hash chain, the head file, tamper cases, payloads."""

from __future__ import annotations

import copy
import hashlib
import json
from decimal import Decimal

import jsonschema
import pytest

from cw.core import ledger as L
from cw.core.jsonout import dumps
from cw.model.errors import EXIT_REFUSED, LedgerError, NotFoundError, RefusedError, UsageError
from cw.shell.resources import schema

RUN = "run-1"
T0 = "2026-01-02T03:04:05Z"


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def rehash(entry: dict) -> dict:
    """What a tamperer who knows the format does after editing an entry."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    entry["hash"] = sha(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return entry


def book(doc, ref, amount="100.00", currency="USD", at=T0, recorded="2026-01-02T03:04:06Z", **kw):
    return L.book(
        doc,
        run_id=RUN,
        amount=amount,
        currency=currency,
        ref=ref,
        note=kw.get("note"),
        at=at,
        recorded_at=recorded,
        actor=kw.get("actor", "alice"),
    )


def three_entries():
    """rev-0001 booked 100.00 USD, rev-0002 booked 50.00 USD, rev-0003 reverses 40.00 of rev-0001."""
    doc, _ = book(None, "inv-1")
    doc, _ = book(doc, "inv-2", amount="50.00", at="2026-01-05T00:00:00Z")
    doc, _ = L.reverse(
        doc,
        entry_id="rev-0001",
        amount="40.00",
        reason="partial refund",
        recorded_at="2026-01-06T00:00:00Z",
        actor="bob",
    )
    return doc


# --------------------------------------------------------------------------- booking


def test_first_entry_hash_and_genesis_match_a_hand_built_canonical_form():
    doc, entry = book(None, "inv-1", recorded="2026-01-02T03:04:06.5Z")
    genesis = sha("cw-revenue-ledger:run-1")
    canonical = (
        '{"actor":"alice","amount":"100.00","at":"2026-01-02T03:04:05.000Z","currency":"USD",'
        '"id":"rev-0001","kind":"booked","prevHash":"' + genesis + '",'
        '"recordedAt":"2026-01-02T03:04:06.500Z","ref":"inv-1","runId":"run-1"}'
    )
    assert entry["prevHash"] == genesis == L.genesis_hash(RUN)
    assert entry["hash"] == sha(canonical)
    assert list(entry) == [
        "id",
        "kind",
        "amount",
        "currency",
        "ref",
        "at",
        "recordedAt",
        "actor",
        "runId",
        "prevHash",
        "hash",
    ]
    assert doc == {"schemaVersion": 1, "entries": [entry]}


def test_second_entry_links_to_the_first_and_keeps_the_documented_key_order():
    doc, first = book(None, "inv-1")
    doc, second = book(doc, "inv-2", amount="7.5", note="Zürich")
    assert second["id"] == "rev-0002"
    assert second["prevHash"] == first["hash"]
    assert second["amount"] == "7.50"
    assert list(second) == [
        "id",
        "kind",
        "amount",
        "currency",
        "ref",
        "note",
        "at",
        "recordedAt",
        "actor",
        "runId",
        "prevHash",
        "hash",
    ]
    body = {k: v for k, v in second.items() if k != "hash"}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert '"note":"Zürich"' in raw and second["hash"] == sha(raw)


def test_entries_and_head_match_their_schemas():
    doc = three_entries()
    for e in doc["entries"]:
        jsonschema.validate(e, schema("revenue-entry.schema.json"))
    jsonschema.validate(L.head_for(doc), schema("revenue-head.schema.json"))
    # the schema's per-kind rules hold too
    bad = dict(doc["entries"][0], reverses="rev-0001")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema("revenue-entry.schema.json"))


def test_schema_agrees_with_the_struct_on_fields():
    sch = schema("revenue-entry.schema.json")
    import msgspec

    gen = msgspec.json.schema(L.RevenueEntry)["$defs"]["RevenueEntry"]
    assert list(sch["properties"]) == list(gen["properties"])
    assert sorted(sch["required"]) == sorted(gen["required"])


def test_book_does_not_modify_its_input():
    doc, _ = book(None, "inv-1")
    before = copy.deepcopy(doc)
    book(doc, "inv-2")
    assert doc == before


def test_find_booking_by_external_ref():
    doc = three_entries()
    assert L.find_booking(doc, "inv-2")["id"] == "rev-0002"
    assert L.find_booking(doc, "partial refund") is None  # a reversal's reason is not a ref
    assert L.find_booking(None, "inv-1") is None


def test_a_second_booking_with_the_same_ref_is_refused_naming_the_first():
    doc, _ = book(None, "job-42")
    with pytest.raises(RefusedError) as exc:
        book(doc, "job-42", amount="999.00")
    assert "rev-0001" in exc.value.message and "job-42" in exc.value.message
    assert exc.value.exit_code == EXIT_REFUSED


@pytest.mark.parametrize(
    "kw,flag",
    [
        ({"amount": "0"}, "AMOUNT"),
        ({"amount": "-1"}, "AMOUNT"),
        ({"amount": "10.001"}, "AMOUNT"),
        ({"amount": "1e3"}, "AMOUNT"),
        ({"currency": "usd"}, "CURRENCY"),
        ({"currency": "ABC"}, "CURRENCY"),
        ({"ref": ""}, "--ref"),
        ({"ref": " x"}, "--ref"),
        ({"ref": "a\nb"}, "--ref"),
        ({"at": "yesterday"}, "--at"),
        ({"at": "2026-01-02"}, "--at"),
    ],
)
def test_book_refuses_bad_input(kw, flag):
    args = {"amount": "1.00", "currency": "USD", "ref": "inv-1", "at": T0}
    args.update(kw)
    with pytest.raises(UsageError) as exc:
        L.book(
            None,
            run_id=RUN,
            amount=args["amount"],
            currency=args["currency"],
            ref=args["ref"],
            at=args["at"],
            recorded_at=T0,
            actor="alice",
        )
    assert flag in exc.value.message


def test_book_accepts_a_decimal_at_the_currency_precision_only():
    _, e = L.book(None, run_id=RUN, amount=Decimal("3"), currency="JPY", ref="r", at=T0, recorded_at=T0, actor="a")
    assert e["amount"] == "3"
    with pytest.raises(UsageError):
        L.book(None, run_id=RUN, amount=Decimal("3.5"), currency="JPY", ref="r", at=T0, recorded_at=T0, actor="a")


def test_book_refuses_to_extend_a_broken_chain():
    doc = three_entries()
    doc["entries"][0]["amount"] = "1000.00"
    with pytest.raises(LedgerError, match="run-1"):
        book(doc, "inv-9")


# --------------------------------------------------------------------------- reversing


def test_reverse_defaults_to_the_full_remainder_and_happens_when_recorded():
    doc = three_entries()
    doc, e = L.reverse(doc, entry_id="rev-0001", reason="cancelled", recorded_at="2026-02-01T00:00:00Z", actor="bob")
    assert e["amount"] == "-60.00"  # 100.00 booked, 40.00 already reversed
    assert e["kind"] == "reversed" and e["reverses"] == "rev-0001" and "ref" not in e
    assert e["at"] == "2026-02-01T00:00:00.000Z" != doc["entries"][0]["at"]
    assert e["id"] == "rev-0004" and e["prevHash"] == doc["entries"][2]["hash"]
    assert L.net_by_entry(doc) == {"rev-0001": Decimal("0"), "rev-0002": Decimal("50.00")}
    jsonschema.validate(e, schema("revenue-entry.schema.json"))


def test_reverse_at_its_own_date_never_before_the_booking():
    doc = three_entries()
    booked_at = doc["entries"][0]["at"]
    with pytest.raises(UsageError, match="before the booking"):
        L.reverse(doc, entry_id="rev-0001", reason="x", recorded_at=T0, actor="b", at="2025-12-31T23:59:59Z")
    doc, e = L.reverse(doc, entry_id="rev-0001", reason="x", recorded_at=T0, actor="b", at="2026-03-01T10:00:00+01:00")
    assert e["at"] == "2026-03-01T09:00:00.000Z" and e["recordedAt"] != e["at"]
    assert L.verify(doc, L.head_for(doc, "run-1"), "run-1").ok
    # a re-hashed edit moving a reversal before its booking breaks a ledger rule
    bad = json.loads(json.dumps(doc))
    bad["entries"][-1]["at"] = "2025-01-01T00:00:00.000Z"
    rehash(bad["entries"][-1])
    res = L.verify(bad, L.head_for(bad, "run-1"), "run-1")
    assert not res.ok and "before rev-0001 was earned at " + booked_at in res.problem["what"]


def test_reverse_refuses_more_than_remains():
    doc = three_entries()
    with pytest.raises(RefusedError) as exc:
        L.reverse(doc, entry_id="rev-0001", amount="60.01", reason="x", recorded_at=T0, actor="bob")
    assert "60.00" in exc.value.message and "rev-0001" in exc.value.message


def test_reverse_refuses_a_reversal_an_unknown_entry_a_zero_and_a_spent_booking():
    doc = three_entries()
    with pytest.raises(RefusedError, match="itself a reversal"):
        L.reverse(doc, entry_id="rev-0003", reason="x", recorded_at=T0, actor="bob")
    with pytest.raises(NotFoundError, match="rev-0009"):
        L.reverse(doc, entry_id="rev-0009", reason="x", recorded_at=T0, actor="bob")
    with pytest.raises(UsageError, match="greater than zero"):
        L.reverse(doc, entry_id="rev-0002", amount="0.00", reason="x", recorded_at=T0, actor="bob")
    with pytest.raises(UsageError, match="--reason"):
        L.reverse(doc, entry_id="rev-0002", reason="", recorded_at=T0, actor="bob")
    doc, _ = L.reverse(doc, entry_id="rev-0002", reason="x", recorded_at="2026-01-07T00:00:00Z", actor="bob")
    with pytest.raises(RefusedError, match="fully reversed"):
        L.reverse(doc, entry_id="rev-0002", reason="again", recorded_at="2026-01-07T00:00:00Z", actor="bob")
    with pytest.raises(NotFoundError):
        L.reverse(None, entry_id="rev-0001", reason="x", recorded_at=T0, actor="bob")


def test_reverse_uses_the_booking_currency_precision():
    doc, _ = book(None, "inv-jpy", amount="1000", currency="JPY")
    with pytest.raises(UsageError, match="JPY"):
        L.reverse(doc, entry_id="rev-0001", amount="10.5", reason="x", recorded_at=T0, actor="a")
    doc, e = L.reverse(doc, entry_id="rev-0001", amount="10", reason="x", recorded_at=T0, actor="a")
    assert e["amount"] == "-10" and e["currency"] == "JPY"


def test_folds_per_entry_and_per_currency():
    doc = three_entries()
    doc, _ = book(doc, "inv-eur", amount="9.99", currency="EUR")
    assert L.net_by_entry(doc) == {
        "rev-0001": Decimal("60.00"),
        "rev-0002": Decimal("50.00"),
        "rev-0004": Decimal("9.99"),
    }
    assert L.revenue_total(doc) == {"EUR": Decimal("9.99"), "USD": Decimal("110.00")}
    assert list(L.revenue_total(doc)) == ["EUR", "USD"]


# --------------------------------------------------------------------------- verify: tamper cases


def test_an_untouched_ledger_verifies():
    doc = three_entries()
    res = L.verify(doc, L.head_for(doc), RUN)
    assert res.ok and res.entries == 3 and res.problem is None and res.note is None
    assert res.tip == doc["entries"][-1]["hash"]
    assert L.verify(None, None, RUN).ok


def test_editing_an_amount_is_detected_at_that_entry():
    doc = three_entries()
    head = L.head_for(doc)
    doc["entries"][1]["amount"] = "5000.00"
    res = L.verify(doc, head, RUN)
    assert not res.ok
    assert res.problem["index"] == 1 and res.problem["entryId"] == "rev-0002"
    assert "edited" in res.problem["what"]


def test_deleting_a_middle_entry_is_detected():
    doc = three_entries()
    head = L.head_for(doc)
    del doc["entries"][1]
    res = L.verify(doc, head, RUN)
    assert not res.ok
    assert res.problem["index"] == 1 and res.problem["entryId"] == "rev-0003"
    assert "rev-0002 should be" in res.problem["what"] and "deleted" in res.problem["what"]


def test_deleting_the_newest_entry_is_caught_by_the_head_file():
    doc = three_entries()
    head = L.head_for(doc)
    doc["entries"].pop()
    res = L.verify(doc, head, RUN)
    assert not res.ok
    assert res.problem["index"] == 2 and res.problem["entryId"] == "rev-0003"
    assert "deleted" in res.problem["what"]


def test_deleting_the_first_entry_is_detected():
    doc = three_entries()
    head = L.head_for(doc)
    del doc["entries"][0]
    res = L.verify(doc, head, RUN)
    assert res.problem["index"] == 0 and "genesis" in res.problem["what"]


def test_reordering_is_detected():
    doc = three_entries()
    head = L.head_for(doc)
    doc["entries"][1], doc["entries"][2] = doc["entries"][2], doc["entries"][1]
    res = L.verify(doc, head, RUN)
    assert not res.ok
    assert res.problem["index"] == 1 and res.problem["entryId"] == "rev-0003"
    assert "reordered" in res.problem["what"]


def test_a_middle_entry_edited_and_rehashed_is_named_when_its_successor_was_left_alone():
    doc = three_entries()
    head = L.head_for(doc)
    doc["entries"][1]["amount"] = "5000.00"
    rehash(doc["entries"][1])
    res = L.verify(doc, head, RUN)
    assert not res.ok
    assert res.problem["index"] == 1 and res.problem["entryId"] == "rev-0002"
    assert "re-hashed" in res.problem["what"]


def test_the_newest_entry_edited_and_rehashed_is_caught_by_the_head_file():
    doc = three_entries()
    head = L.head_for(doc)
    doc["entries"][2]["reason"] = "nothing to see"
    rehash(doc["entries"][2])
    assert L.verify(doc, None, RUN).ok is False  # no head with 3 entries: fails closed anyway
    res = L.verify(doc, head, RUN)
    assert not res.ok
    assert res.problem["index"] == 2 and "re-hashed" in res.problem["what"]


def test_a_rewritten_tail_with_an_updated_head_is_caught_when_it_breaks_a_ledger_rule():
    doc = three_entries()
    doc["entries"][2]["amount"] = "-140.00"  # reverses more than was booked
    rehash(doc["entries"][2])
    res = L.verify(doc, L.head_for(doc), RUN)
    assert not res.ok
    assert res.problem["entryId"] == "rev-0003" and "more than" in res.problem["what"]


def test_a_consistent_rewrite_of_state_and_head_is_a_documented_limit():
    """Re-hashing everything after an edit and rewriting the head file is not detectable."""
    doc = three_entries()
    doc["entries"][1]["amount"] = "55.00"
    prev = doc["entries"][0]["hash"]
    for e in doc["entries"][1:]:
        e["prevHash"] = prev
        prev = rehash(e)["hash"]
    assert L.verify(doc, L.head_for(doc), RUN).ok


def test_renumbered_ids_are_detected_even_when_rehashed():
    doc = three_entries()
    head = L.head_for(doc)
    del doc["entries"][1]
    e = doc["entries"][1]
    e["prevHash"] = doc["entries"][0]["hash"]
    rehash(e)  # link patched and re-hashed, id left as rev-0003
    res = L.verify(doc, head, RUN)
    assert not res.ok and res.problem["entryId"] == "rev-0003"
    assert "out of sequence" in res.problem["what"]


def test_a_ledger_copied_from_another_run_is_detected():
    doc = three_entries()
    res = L.verify(doc, None, "run-2")
    assert not res.ok and "belongs to run run-1" in res.problem["what"]


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda d: d["entries"][0].update(extra=1), "malformed"),
        (lambda d: d["entries"][0].pop("actor"), "malformed"),
        (lambda d: d.update(schemaVersion=2), "schemaVersion"),
        (lambda d: d.update(entries="x"), "array"),
        (lambda d: d.update(other=1), "unexpected key"),
    ],
)
def test_malformed_ledgers_do_not_verify(mutate, expect):
    doc = three_entries()
    head = L.head_for(doc)
    mutate(doc)
    res = L.verify(doc, head, RUN)
    assert not res.ok and expect in res.problem["what"]


@pytest.mark.parametrize(
    "field,value,expect",
    [
        ("amount", "100.0", "precision"),
        ("amount", "-100.00", "positive"),
        ("currency", "ZZZ", "currency"),
        ("at", "soon", "ISO 8601"),
    ],
)
def test_ledger_rules_catch_rehashed_edits(field, value, expect):
    doc, _ = book(None, "inv-1")
    doc["entries"][0][field] = value
    rehash(doc["entries"][0])
    res = L.verify(doc, L.head_for(doc), RUN)
    assert not res.ok and expect in res.problem["what"]


def test_a_duplicate_ref_smuggled_in_is_detected():
    doc, _ = book(None, "inv-1")
    doc, _ = book(doc, "inv-2")
    doc["entries"][1]["ref"] = "inv-1"
    rehash(doc["entries"][1])
    res = L.verify(doc, L.head_for(doc), RUN)
    assert not res.ok and "already booked as rev-0001" in res.problem["what"]


# --------------------------------------------------------------------------- verify: the head file


def test_a_head_one_entry_behind_is_an_interrupted_write():
    doc = three_entries()
    head = {"schemaVersion": 1, "runId": RUN, "entries": 2, "hash": doc["entries"][1]["hash"]}
    res = L.verify(doc, head, RUN)
    assert res.ok and res.problem is None
    assert "one entry behind" in res.note and "rev-0003" in res.note


def test_a_missing_head_is_tolerated_only_for_the_first_entry():
    doc, _ = book(None, "inv-1")
    res = L.verify(doc, None, RUN)
    assert res.ok and "interrupted first write" in res.note
    doc, _ = book(doc, "inv-2")
    res = L.verify(doc, None, RUN)
    assert not res.ok and "missing" in res.problem["what"]


def test_a_head_for_zero_entries_one_behind_the_first():
    doc, _ = book(None, "inv-1")
    head = {"schemaVersion": 1, "runId": RUN, "entries": 0, "hash": L.genesis_hash(RUN)}
    assert L.verify(doc, head, RUN).ok


def test_heads_that_are_not_tolerated():
    doc = three_entries()
    two_behind = {"schemaVersion": 1, "runId": RUN, "entries": 1, "hash": doc["entries"][0]["hash"]}
    res = L.verify(doc, two_behind, RUN)
    assert not res.ok and res.problem["entryId"] == "rev-0002" and "outside cw" in res.problem["what"]
    wrong_behind = {"schemaVersion": 1, "runId": RUN, "entries": 2, "hash": doc["entries"][0]["hash"]}
    assert not L.verify(doc, wrong_behind, RUN).ok
    ahead = {"schemaVersion": 1, "runId": RUN, "entries": 4, "hash": doc["entries"][2]["hash"]}
    res = L.verify(doc, ahead, RUN)
    assert not res.ok and res.problem["index"] == 3 and res.problem["entryId"] == "rev-0004"
    other_run = dict(L.head_for(doc), runId="run-2")
    assert "belongs to run run-2" in L.verify(doc, other_run, RUN).problem["what"]
    assert "malformed" in L.verify(doc, {"entries": 3}, RUN).problem["what"]
    assert not L.verify(
        None, {"schemaVersion": 1, "runId": RUN, "entries": 1, "hash": doc["entries"][0]["hash"]}, RUN
    ).ok


def test_ensure_verified_fails_closed_with_a_clear_message():
    doc = three_entries()
    head = L.head_for(doc)
    doc["entries"].pop()
    with pytest.raises(LedgerError) as exc:
        L.ensure_verified(doc, head, RUN)
    msg = exc.value.message
    assert "run-1" in msg and "rev-0003" in msg and "refused" in msg
    assert exc.value.exit_code == EXIT_REFUSED and exc.value.hint == "cw ledger verify"


def test_head_for_an_empty_ledger_needs_the_run_id():
    assert L.head_for({"schemaVersion": 1, "entries": []}, RUN) == {
        "schemaVersion": 1,
        "runId": RUN,
        "entries": 0,
        "hash": sha("cw-revenue-ledger:run-1"),
    }
    with pytest.raises(ValueError):
        L.head_for({"schemaVersion": 1, "entries": []})


# --------------------------------------------------------------------------- payloads


def test_verify_payload_lists_runs_sorted_and_matches_its_schema():
    good = three_entries()
    bad = copy.deepcopy(good)
    bad["entries"][0]["amount"] = "1.00"
    results = [
        ("run-b", "/r", L.verify(bad, L.head_for(good), "run-1")),
        ("run-a", "/r", L.verify(good, L.head_for(good), "run-1")),
    ]
    p = L.verify_payload(results, scope="repo", generated_at="2026-03-01T00:00:00.000Z")
    jsonschema.validate(json.loads(dumps(p)), schema("ledger-verify.schema.json"))
    assert list(p) == ["schemaVersion", "surface", "scope", "generatedAt", "ok", "runCount", "failedRuns", "runs"]
    assert [r["runId"] for r in p["runs"]] == ["run-a", "run-b"]
    assert p["ok"] is False and p["failedRuns"] == 1 and p["runs"][1]["tip"] is None
    text = L.render_verify_text(p)
    assert "ok      run-a (/r)  entries=3" in text
    assert "FAILED  run-b (/r)  rev-0001: content does not match its hash" in text


def test_revenue_list_payload_totals_and_fail_closed_runs():
    good = three_entries()
    bad, _ = book(None, "x")
    bad["entries"][0]["amount"] = "1.00"
    rows = [
        ("run-1", None, good, L.verify(good, L.head_for(good), "run-1")),
        ("run-0", None, bad, L.verify(bad, None, "run-1")),
    ]
    p = L.revenue_list_payload(rows, scope="repo", run_filter=None, generated_at="2026-03-01T00:00:00.000Z")
    jsonschema.validate(json.loads(dumps(p)), schema("revenue-list.schema.json"))
    assert p["entryCount"] == 3
    assert p["totals"] == [{"currency": "USD", "booked": 150, "reversed": 40, "net": 110}]
    first = p["entries"][0]
    assert list(first) == [
        "runId",
        "repo",
        "id",
        "kind",
        "amount",
        "currency",
        "ref",
        "at",
        "recordedAt",
        "actor",
        "net",
    ]
    assert first["amount"] == 100 and first["net"] == 60
    third = p["entries"][2]
    assert third["amount"] == Decimal("-40") and third["reverses"] == "rev-0001" and "net" not in third
    assert [u["runId"] for u in p["unverified"]] == ["run-0"]
    text = L.render_revenue_list_text(p)
    assert "rev-0003  reversed  -40.00 USD  reverses=rev-0001" in text
    assert "total USD: booked=150.00  reversed=40.00  net=110.00" in text
    assert "unverified run-0" in text


def test_a_reversal_dated_before_its_booking_is_detected_even_when_rehashed():
    doc = three_entries()
    doc["entries"][2]["at"] = "2026-01-01T00:00:00Z"  # rev-0001 was earned on 2026-01-02
    rehash(doc["entries"][2])
    res = L.verify(doc, L.head_for(doc), RUN)
    assert not res.ok and res.problem["index"] == 2 and "rev-0001" in res.problem["what"]


@pytest.mark.parametrize(("amount", "ok"), [("-60.00", True), ("-60.01", False)])
def test_a_reversal_one_minor_unit_over_what_remains_is_detected_even_when_rehashed(amount, ok):
    # rev-0001 booked 100.00 and rev-0003 reversed 40.00: 60.00 remain, so -60.00 is the most a reversal may take
    doc = three_entries()
    extra = dict(doc["entries"][2], id="rev-0004", amount=amount, prevHash=doc["entries"][2]["hash"])
    doc["entries"].append(rehash(extra))
    res = L.verify(doc, L.head_for(doc), RUN)
    assert res.ok is ok
    if not ok:
        assert res.problem["index"] == 3 and "more than the 60.00 left of rev-0001" in res.problem["what"]
