"""cw revenue import: Stripe's Payments and Balance history exports booked on the runs they name."""

from __future__ import annotations

import json
from datetime import date

import jsonschema
import pytest
from conftest import state_of, tree_bytes

from cw.shell.resources import schema

RUN_COL = "cw_run (metadata)"
PAYMENTS = (
    "id,Description,Created (UTC),Amount,Amount Refunded,Currency,Captured,Status,cw_run (metadata),buyer (metadata)\n"
    "ch_1,Plan,2026-11-02 10:00:00,120.00,0.00,usd,true,Paid,r1,\n"
    "ch_2,Plan,2026-11-03 11:30:05,50.00,20.00,eur,true,Partially refunded,r2,bob\n"
    "ch_3,Plan,2026-11-03 11:31:00,10.00,0.00,usd,false,Failed,r2,\n"
    'ch_4,"Yen, one-off",2026-11-04 09:00,1200,0,jpy,true,Paid,r1,\n'
)
BALANCE = (
    "id,Type,Source,Amount,Fee,Net,Currency,Created (UTC),Available On (UTC),Description,cw_run (metadata)\n"
    "txn_4,payout,po_1,-100.00,0.00,-100.00,usd,2026-11-06 06:00,2026-11-06 06:00,STRIPE PAYOUT,\n"
    "txn_3,refund,ch_1,-30.00,0.00,-30.00,usd,2026-11-05 14:03,2026-11-07 00:00,REFUND FOR CHARGE,r1\n"
    "txn_2,charge,ch_2,80.00,2.62,77.38,usd,2026-11-02 14:03,2026-11-04 00:00,Course,r1\n"
    "txn_1,charge,ch_1,120.00,3.78,116.22,usd,2026-11-01 14:03,2026-11-03 00:00,Course,r1\n"
)


@pytest.fixture
def runs(cw, repo):
    cw.ok("run", "new", "--id", "r1", "--actor", "alice")
    cw.ok("run", "new", "--id", "r2")
    return repo


def _import(cw, *args):
    return cw.json("revenue", "import", *args, "--run-column", RUN_COL)


def _entries(repo, run):
    return state_of(repo, run).get("revenue", {}).get("entries", [])


def test_payments_export_books_each_charge_and_its_refund(cw, runs):
    (runs / "p.csv").write_text(PAYMENTS)
    out = _import(cw, "p.csv", "--format", "stripe-payments", "--actor-column", "buyer (metadata)")
    jsonschema.validate(out, schema("revenue-import.output.schema.json"))
    r1 = _entries(runs, "r1")
    assert [(e["kind"], e["amount"], e["currency"], e["ref"], e["at"], e["actor"]) for e in r1] == [
        ("booked", "120.00", "USD", "ch_1", "2026-11-02T10:00:00.000Z", "alice"),
        ("booked", "1200", "JPY", "ch_4", "2026-11-04T09:00:00.000Z", "alice"),  # JPY has no minor unit
    ]
    r2 = _entries(runs, "r2")
    assert [(e["kind"], e["amount"], e.get("reverses"), e["actor"]) for e in r2] == [
        ("booked", "50.00", None, "bob"),
        ("reversed", "-20.00", "rev-0001", "bob"),
    ]
    assert [i["id"] for i in out["ignored"]] == ["ch_3"]
    assert [(b["line"], b["entryId"]) for b in out["booked"]] == [(2, "rev-0001"), (5, "rev-0002"), (3, "rev-0001")]
    assert cw.json("ledger", "verify")["ok"] is True


def test_reimporting_books_nothing_twice_and_a_later_refund_reverses_the_difference(cw, runs):
    (runs / "p.csv").write_text(PAYMENTS)
    _import(cw, "p.csv", "--format", "stripe-payments")
    before = tree_bytes(runs / ".cw")
    again = _import(cw, "p.csv", "--format", "stripe-payments")
    assert again["booked"] == [] and again["reversed"] == [] and len(again["unchanged"]) == 3
    assert tree_bytes(runs / ".cw") == before
    (runs / "p.csv").write_text(PAYMENTS.replace("50.00,20.00,eur", "50.00,35.00,eur"))
    later = _import(cw, "p.csv", "--format", "stripe-payments")
    assert [(r["runId"], r["amount"], r["reverses"]) for r in later["reversed"]] == [("r2", "-15.00", "rev-0001")]
    p = cw.json("revenue", "list", "--run", "r2")
    assert next(t for t in p["totals"] if t["currency"] == "EUR")["net"] in ("15.00", 15)


def test_balance_history_books_charges_reverses_refunds_and_ignores_the_rest(cw, runs):
    (runs / "b.csv").write_text(BALANCE)
    out = _import(cw, "b.csv", "--format", "stripe-balance")
    r1 = _entries(runs, "r1")
    assert [(e["kind"], e["amount"], e.get("ref"), e.get("reverses")) for e in r1] == [
        ("booked", "80.00", "txn_2", None),  # the file is newest first; rows are booked in file order
        ("booked", "120.00", "txn_1", None),
        ("reversed", "-30.00", None, "rev-0002"),  # the refund names ch_1, booked as txn_1
    ]
    assert [i["id"] for i in out["ignored"]] == ["txn_4"]
    again = _import(cw, "b.csv", "--format", "stripe-balance")
    assert again["booked"] == [] and again["reversed"] == [] and len(again["unchanged"]) == 3


def test_dry_run_writes_nothing(cw, runs):
    (runs / "p.csv").write_text(PAYMENTS)
    before = tree_bytes(runs / ".cw")
    out = _import(cw, "p.csv", "--format", "stripe-payments", "--dry-run")
    assert out["dryRun"] is True and len(out["booked"]) == 3 and all(b["entryId"] is None for b in out["booked"])
    assert tree_bytes(runs / ".cw") == before


def test_a_dry_run_shows_the_plan_with_the_rows_that_cannot_be_booked(cw, runs):
    # the refusal says "--dry-run shows the plan"; the dry run used to refuse with the same message
    (runs / "p.csv").write_text(PAYMENTS + "ch_9,Plan,2026-11-02 10:00:00,5.00,0.00,usd,true,Paid,r9,\n")
    before = tree_bytes(runs / ".cw")
    out = _import(cw, "p.csv", "--format", "stripe-payments", "--dry-run")
    jsonschema.validate(out, schema("revenue-import.output.schema.json"))
    assert [(s["line"], s["id"]) for s in out["skipped"]] == [(6, "ch_9")] and "unknown run r9" in out["skipped"][0][
        "what"
    ]
    assert sorted(b["ref"] for b in out["booked"]) == ["ch_1", "ch_2", "ch_4"]
    text = cw.ok("revenue", "import", "p.csv", "--format", "stripe-payments", "--run-column", RUN_COL, "--dry-run")
    assert "  ! line 6 (ch_9): cannot be booked: unknown run r9" in text.stdout
    assert "without --skip-bad nothing is booked" in text.stdout
    assert tree_bytes(runs / ".cw") == before


BAD_ROWS = [
    ("ch_9,Plan,2026-11-02 10:00:00,5.00,0.00,usd,true,Paid,,\n", "no run"),
    ("ch_9,Plan,2026-11-02 10:00:00,5.00,0.00,usd,true,Paid,r9,\n", "unknown run r9"),
    ("ch_9,Plan,2026-11-02 10:00:00,5.001,0.00,usd,true,Paid,r1,\n", 'bad Amount "5.001"'),
    ('ch_9,Plan,2026-11-02 10:00:00,"1,200.00",0.00,usd,true,Paid,r1,\n', 'bad Amount "1,200.00"'),
    ("ch_9,Plan,2026-11-02 10:00:00,12.5,0,jpy,true,Paid,r1,\n", 'bad Amount "12.5"'),
    ("ch_9,Plan,2026-11-02 10:00:00,5.00,6.00,usd,true,Paid,r1,\n", "bad Amount Refunded"),
    ("ch_9,Plan,11/02/2026 10:00,5.00,0.00,usd,true,Paid,r1,\n", "bad Created (UTC)"),
    ("ch_9,Plan,2026-11-02 10:00:00,5.00,0.00,usd,true,Paid,../x,\n", "is not a run id"),
]


@pytest.mark.parametrize("row,said", BAD_ROWS)
def test_a_row_that_cannot_be_placed_stops_the_whole_file_naming_its_line(cw, runs, row, said):
    (runs / "p.csv").write_text(PAYMENTS + row)
    before = tree_bytes(runs / ".cw")
    res = cw("revenue", "import", "p.csv", "--format", "stripe-payments", "--run-column", RUN_COL)
    assert res.exit_code == 2 and "line 6 (ch_9)" in res.stderr and said in res.stderr, res.stderr
    assert tree_bytes(runs / ".cw") == before
    out = _import(cw, "p.csv", "--format", "stripe-payments", "--skip-bad")
    assert [(s["line"], s["id"]) for s in out["skipped"]] == [(6, "ch_9")] and len(out["booked"]) == 3


def test_a_ref_booked_on_another_run_is_a_bad_row(cw, runs):
    cw.ok("revenue", "add", "r2", "1.00", "USD", "--ref", "ch_1")
    (runs / "p.csv").write_text(PAYMENTS)
    res = cw("revenue", "import", "p.csv", "--format", "stripe-payments", "--run-column", RUN_COL)
    assert res.exit_code == 2 and "line 2 (ch_1): ch_1 is already booked on run r2" in res.stderr


FILE_BAD = [
    ("", "stripe-payments", ":1: the file is empty"),
    ("id,Amount\nch_1,5\n", "stripe-payments", ":1: no 'Currency', 'Created (UTC)' column"),
    (BALANCE, "stripe-payments", "this is a Balance history export"),
    (PAYMENTS, "stripe-balance", "this is a Payments export"),
    (PAYMENTS + PAYMENTS.splitlines()[1] + "\n", "stripe-payments", ":6: the id ch_1 appears twice (also line 2)"),
    (PAYMENTS.replace(",usd,true,Paid,r1,\n", ",usd,true,Paid,r1\n", 1), "stripe-payments", ":2: 9 fields"),
    (PAYMENTS.replace(",eur,", ",xyz,"), "stripe-payments", ':3: the currency "xyz"'),
    (PAYMENTS + 'ch_9,"unterminated,2026-11-02 10:00:00\n', "stripe-payments", "malformed CSV"),
]


@pytest.mark.parametrize("text,fmt,said", FILE_BAD)
def test_a_bad_file_exits_2_naming_file_and_line_and_writes_nothing(cw, runs, text, fmt, said):
    (runs / "p.csv").write_text(text)
    before = tree_bytes(runs / ".cw")
    res = cw("revenue", "import", "p.csv", "--format", fmt, "--run-column", RUN_COL)
    assert res.exit_code == 2 and said in res.stderr, res.stderr
    assert str(runs / "p.csv") in res.stderr
    assert tree_bytes(runs / ".cw") == before


def test_unknown_columns_are_named(cw, runs):
    (runs / "p.csv").write_text(PAYMENTS)
    res = cw("revenue", "import", "p.csv", "--format", "stripe-payments", "--run-column", "run")
    assert res.exit_code == 2 and '--run-column "run" is not a column' in res.stderr and RUN_COL in res.stderr
    res = cw(
        "revenue", "import", "p.csv", "--format", "stripe-payments", "--run-column", RUN_COL, "--actor-column", "x"
    )
    assert res.exit_code == 2 and '--actor-column "x"' in res.stderr


def test_imported_revenue_shows_in_the_pnl(cw, runs):
    (runs / "p.csv").write_text(PAYMENTS)
    _import(cw, "p.csv", "--format", "stripe-payments")
    # the export has no refund date: the refund of ch_2 is a reversal dated when it was imported
    refund_at = next(e["at"] for e in _entries(runs, "r2") if e["kind"] == "reversed")
    refund_day = date.fromisoformat(refund_at[:10])
    p = cw.json("pnl", "--by", "run", "--currency", "USD", "--now", "2026-12-01T00:00:00Z")
    rows = {r["key"]: r for r in p["rows"]}
    # 120.00 USD, plus 1200 JPY at the bundled policy's newest fixing (2025-10-21: USD 1.1607, JPY 176.45),
    # which is 379 days older than the charge: converted, and said to be old; the EUR booking and its
    # reversal (dated at the import) are two amounts
    assert rows["r1"]["revenue"] == float(round(120 + 1200 * 1.1607 / 176.45, 2))
    assert p["fx"]["staleRates"] == [
        {
            "pair": "EUR->USD",
            "rateDate": "2025-10-21",
            "amounts": 2,
            "maxAgeDays": (refund_day - date(2025, 10, 21)).days,
            "newestAmountDate": refund_day.isoformat(),
        },
        {
            "pair": "JPY->USD",
            "rateDate": "2025-10-21",
            "amounts": 1,
            "maxAgeDays": 379,
            "newestAmountDate": "2026-11-04",
        },
    ]
    assert json.dumps(p).count("fx.staleRates") == 1


def test_an_import_killed_midway_leaves_a_ledger_that_verifies_and_a_rerun_books_the_rest(cw, runs, monkeypatch):
    """Each entry is its own write: a kill between one entry's state.json and its head leaves the head one entry
    behind (tolerated), never several; running the import again books what is missing, once."""
    import errno
    from pathlib import Path

    from cw.shell import store

    (runs / "p.csv").write_text(PAYMENTS)
    real = store.atomic_write

    def killed(path: Path, data: bytes) -> None:  # r1's second entry: its state.json lands, its head does not
        if path.name == "revenue.head.json" and path.parent.name == "r1" and json.loads(data)["entries"] == 2:
            raise OSError(errno.EIO, "killed")
        real(path, data)

    monkeypatch.setattr(store, "atomic_write", killed)
    res = cw("revenue", "import", "p.csv", "--format", "stripe-payments", "--run-column", RUN_COL)
    monkeypatch.setattr(store, "atomic_write", real)
    assert res.exit_code != 0 and len(_entries(runs, "r1")) == 2 and _entries(runs, "r2") == []
    verify = cw.json("ledger", "verify")
    assert verify["ok"] is True and any("one entry behind" in (r["note"] or "") for r in verify["runs"])
    again = _import(cw, "p.csv", "--format", "stripe-payments")
    assert [b["ref"] for b in again["booked"]] == ["ch_2"] and len(again["reversed"]) == 1
    assert [e["ref"] for e in _entries(runs, "r1")] == ["ch_1", "ch_4"]
    assert [(e["kind"], e["amount"]) for e in _entries(runs, "r2")] == [("booked", "50.00"), ("reversed", "-20.00")]
    verify = cw.json("ledger", "verify")  # r1's head stays one behind until its next revenue write
    assert verify["ok"] is True and [bool(r["note"]) for r in verify["runs"]] == [True, False]
