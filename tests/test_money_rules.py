"""Money rules that must hold in every command: converted or unknown revenue (never 0), unknown spend,
one booking per ref per repo, runs keyed by repo and directory, and P&L rows that reconcile with totals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import state_of, tree_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from cw.model.errors import RefusedError

NOW = "2026-11-01T00:00:00.000Z"

# 1 EUR = 1.25 USD from 2026-10-01, 1.20 USD from 2026-10-08 (hand-picked so the sums are easy).
FX = {
    "schemaVersion": 1,
    "id": "test-rates",
    "source": "hand-written for the tests",
    "base": "EUR",
    "maxRateAgeDays": 30,
    "rates": [
        {"date": "2026-10-01", "perBase": {"USD": "1.25", "JPY": "160"}},
        {"date": "2026-10-08", "perBase": {"USD": "1.20", "JPY": "150"}},
    ],
}


@pytest.fixture
def fx_file(repo: Path) -> Path:
    p = repo / "fx.json"
    p.write_text(json.dumps(FX))
    return p


@pytest.fixture
def priced(cw, repo: Path) -> Path:
    """Run r1 with one unit priced at 0.60 USD: 100000 in x 3/M + 20000 out x 15/M (claude-sonnet-4-5)."""
    cw.ok("run", "new", "--id", "r1", "--actor", "alice")
    cw.ok("task", "add", "r1", "t1")
    cw.ok("dispatch", "r1")
    (repo / "o.md").write_text("done")
    cw.ok(
        "result",
        "r1",
        "t1",
        "o.md",
        "--usage-input-tokens",
        "100000",
        "--usage-output-tokens",
        "20000",
        "--usage-model",
        "claude-sonnet-4-5",
        "--usage-attested-at",
        "2026-10-09T10:00:00.000Z",
    )
    return repo


# --- revenue in another currency: converted with rate and date, or unknown -------------------------------


def test_metrics_net_converts_foreign_revenue_like_pnl(cw, priced, fx_file):
    cw.ok("revenue", "add", "r1", "1000.00", "EUR", "--ref", "x1", "--at", "2026-10-05T12:00:00Z")
    cw.ok(
        "revenue",
        "reverse",
        "r1",
        "rev-0001",
        "--amount",
        "100.00",
        "--reason",
        "refund",
        "--at",
        "2026-10-10T00:00:00Z",
    )
    report = cw.json("metrics", "show", "r1", "--fx", str(fx_file), "--now", NOW)
    net = report["net"]
    # 1000 EUR x 1.25 (fixing 2026-10-01) - 100 EUR x 1.20 (fixing 2026-10-08) = 1250 - 120 = 1130 USD
    assert net["currency"] == "USD" and net["revenue"] == 1130
    assert net["spend"] == 0.6 and net["net"] == 1129.4 and net["complete"] is True
    assert net["fx"]["policyId"] == "test-rates"
    assert net["fx"]["ratesUsed"] == [
        {"date": "2026-10-01", "currency": "USD", "perBase": 1.25},
        {"date": "2026-10-08", "currency": "USD", "perBase": 1.2},
    ]
    assert [(c["entryId"], c["rateDate"], c["converted"]) for c in net["conversions"]] == [
        ("rev-0001", "2026-10-01", 1250),
        ("rev-0002", "2026-10-08", -120),
    ]
    # the same rule as cw pnl: its row for the run shows the same revenue and net
    row = cw.json("pnl", "--by", "run", "--fx", str(fx_file), "--now", NOW)["rows"][0]
    assert (row["revenue"], row["net"]) == (net["revenue"], net["net"])
    text = cw.ok("metrics", "show", "r1", "--fx", str(fx_file), "--now", NOW).stdout
    assert "net:   USD revenue=1130.00 spend=0.60 net=1129.40  complete" in text
    assert "fx: policy test-rates (per 1 EUR): 2026-10-01 USD 1.25, 2026-10-08 USD 1.2" in text


def test_metrics_net_is_unknown_not_zero_without_a_rate(cw, priced, fx_file):
    cw.ok("revenue", "add", "r1", "1000.00", "EUR", "--ref", "x1", "--at", "2026-09-01T12:00:00Z")  # before any rate
    net = cw.json("metrics", "show", "r1", "--fx", str(fx_file), "--now", NOW)["net"]
    assert net["revenue"] is None and net["net"] is None and net["complete"] is False
    assert any("1000.00 EUR not converted to USD" in r and "2026-09-01" in r for r in net["reasons"])
    none = cw.json("metrics", "show", "r1", "--fx", "none", "--now", NOW)["net"]
    assert none["revenue"] is None and any("no FX policy" in r for r in none["reasons"])
    assert "revenue=unknown" in cw.ok("metrics", "show", "r1", "--fx", "none", "--now", NOW).stdout


def test_metrics_net_counts_unreported_units_as_incomplete(cw, priced):
    cw.ok("task", "add", "r1", "t2")
    cw.ok("dispatch", "r1")
    (priced / "p.md").write_text("x")
    cw.ok("result", "r1", "t2", "p.md")  # no usage: its cost is unknown
    cw.ok("revenue", "add", "r1", "5.00", "USD", "--ref", "u1")
    net = cw.json("metrics", "show", "r1", "--now", NOW)["net"]
    assert net["revenue"] == 5 and net["complete"] is False
    assert any(r.startswith("1 unit unreported: ") for r in net["reasons"])


# --- one booking per ref per repo, sequential or concurrent, after normalisation ------------------------

_RACER = """
import os, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.001)
from cw.surfaces.entry import main
main(sys.argv[2:])
"""


def test_same_ref_booked_concurrently_on_eight_runs_books_exactly_once(cw, repo):
    import os
    import subprocess
    import sys

    runs = [f"r{k}" for k in range(8)]
    for r in runs:
        cw.ok("run", "new", "--id", r)
    go = repo / "go"
    env = dict(os.environ, CW_LOCK_TIMEOUT="120")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(go), "revenue", "add", r, "10.00", "USD", "--ref", "INV-SAME"],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in runs
    ]
    go.write_text("")
    outputs = [p.communicate(timeout=300) for p in procs]
    results = [(r, p.returncode, out, err) for r, p, (out, err) in zip(runs, procs, outputs, strict=True)]
    winners = [r for r, code, _, _ in results if code == 0]
    assert len(winners) == 1, results
    (winner,) = winners
    for r, code, out, err in results:
        if r != winner:
            assert code == 1 and out == ""
            assert f"already booked on run {winner} as rev-0001" in err, err
    booked = [r for r in runs if (state_of(repo, r).get("revenue") or {}).get("entries")]
    assert booked == [winner]
    assert cw.json("revenue", "list", "--now", NOW)["totals"] == [
        {"currency": "USD", "booked": 10, "reversed": 0, "net": 10}
    ]
    assert cw.ok("ledger", "verify").exit_code == 0
    assert not (repo / ".cw" / "revenue-refs.lock").exists()  # released


@pytest.mark.parametrize(
    "first,second",
    [
        ("INV-1", "INV\u200b-1"),  # zero-width space
        ("INV-1", "\ufeffINV-1"),  # byte-order mark
        ("Caf\u00e9-7", "Cafe\u0301-7"),  # composed and decomposed é
        ("INV\u2060-2", "INV-2\u200d"),  # word joiner, zero-width joiner
    ],
)
def test_look_alike_refs_cannot_book_twice(cw, repo, first, second):
    cw.ok("run", "new", "--id", "a")
    cw.ok("run", "new", "--id", "b")
    cw.ok("revenue", "add", "a", "5.00", "USD", "--ref", first)
    before = tree_bytes(repo)
    same_run = cw.fails(1, "revenue", "add", "a", "5.00", "USD", "--ref", second).stderr
    other_run = cw.fails(1, "revenue", "add", "b", "5.00", "USD", "--ref", second).stderr
    assert "already booked on run a as rev-0001" in same_run and "already booked on run a as rev-0001" in other_run
    assert tree_bytes(repo) == before
    assert state_of(repo, "a")["revenue"]["entries"][0]["ref"] == first  # stored as typed


def test_a_ref_of_only_invisible_characters_is_refused(cw, repo):
    cw.ok("run", "new", "--id", "a")
    before = tree_bytes(repo)
    assert "--ref" in cw.fails(2, "revenue", "add", "a", "5.00", "USD", "--ref", "\u200b\u200b").stderr
    assert tree_bytes(repo) == before


_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"


@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")),
        min_size=1,
        max_size=50,
    ),
    st.lists(st.sampled_from(_INVISIBLE), max_size=4),
    st.randoms(use_true_random=False),
)
@settings(max_examples=300, deadline=None)
def test_nfc_equivalent_refs_always_collide(ref, invisible, rnd):
    import unicodedata

    from cw.core import ledger

    # Some spelling of the same ref: another normal form, with invisible characters slipped in anywhere.
    other = list(unicodedata.normalize(rnd.choice(["NFC", "NFD"]), ref))
    for ch in invisible:
        other.insert(rnd.randint(0, len(other)), ch)
    variant = "".join(other)
    doc, _ = ledger.book(
        None, run_id="a", amount="1.00", currency="USD", ref=ref, at=NOW, recorded_at=NOW, actor="alice"
    )
    assert ledger.find_booking(doc, variant)["id"] == "rev-0001"
    with pytest.raises(RefusedError, match="already booked on run a as rev-0001"):
        ledger.book(doc, run_id="a", amount="1.00", currency="USD", ref=variant, at=NOW, recorded_at=NOW, actor="b")
    assert ledger.ref_key(variant) == ledger.ref_key(ref)
