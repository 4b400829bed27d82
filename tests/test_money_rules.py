"""Money rules that must hold in every command: converted or unknown revenue (never 0), unknown spend,
one booking per ref per repo, runs keyed by repo and directory, and P&L rows that reconcile with totals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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

# Each process loads cw and the booking code first, says it is ready, then waits for the signal:
# the bookings start together, so their checks and writes interleave.
_RACER = """
import os, sys, time
import cw.capabilities.money, cw.core.ledger, cw.shell.locks, cw.shell.store
from cw.surfaces.entry import main
go, ready = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.0005)
main(sys.argv[3:])
"""


def test_same_ref_booked_concurrently_on_eight_runs_books_exactly_once(cw, repo):
    import os
    import subprocess
    import sys
    import time

    runs = [f"r{k}" for k in range(8)]
    for r in runs:
        cw.ok("run", "new", "--id", r)
    go = repo / "go"
    env = dict(os.environ, CW_LOCK_TIMEOUT="120")
    booking, amount = ("revenue", "add"), ("10.00", "USD", "--ref", "INV-SAME")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(go), str(repo / f"ready-{r}"), *booking, r, *amount],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in runs
    ]
    for _ in range(60_000):  # every process loaded (at most a minute)
        if all((repo / f"ready-{r}").exists() for r in runs):
            break
        time.sleep(0.001)
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


# --- a second intake for a unit is refused unless --replace, which keeps the previous record -------------


def _usage(inp: str, out: str) -> list[str]:
    return ["--usage-input-tokens", inp, "--usage-output-tokens", out, "--usage-model", "claude-sonnet-4-5"]


def test_second_result_is_refused_without_replace(cw, priced):
    before = tree_bytes(priced)
    err = cw.fails(1, "result", "r1", "t1", "o.md", *_usage("50000", "10000")).stderr
    assert "t1" in err and "worker-t1-0001" in err and "--replace" in err
    assert tree_bytes(priced) == before
    # worker output on the same unit is the same intake
    own = priced / ".cw/runs/r1/workers/worker-t1-0001/result.md"
    err = cw.fails(1, "worker", "output", "r1", "worker-t1-0001", str(own), *_usage("1", "1")).stderr
    assert "worker-t1-0001" in err and "--replace" in err
    assert tree_bytes(priced) == before


def test_replace_keeps_the_previous_record_and_metrics_count_only_the_current(cw, priced):
    first = state_of(priced, "r1")
    w0 = next(w for w in first["workers"] if w["id"] == "worker-t1-0001")
    t0 = next(t for t in first["tasks"] if t["id"] == "t1")
    (priced / "o2.md").write_text("better")
    out = cw.json("result", "r1", "t1", "o2.md", *_usage("50000", "10000"), "--replace", "--actor", "bob")
    assert out["replaced"]["replacedBy"] == "bob"
    st = state_of(priced, "r1")
    w = next(w for w in st["workers"] if w["id"] == "worker-t1-0001")
    (prev,) = w["replaced"]
    assert prev["output"] == w0["output"] and prev["usage"] == w0["usage"]
    assert prev["completedAt"] == t0["completedAt"] and prev["outputDigest"] == w0["outputDigest"]
    assert prev["replacedBy"] == "bob" and prev["replacedAt"] == w["output"]["recordedAt"]
    assert w["usage"]["inputTokens"] == 50000
    # only the current record counts: 50000 x 3/M + 10000 x 15/M = 0.15 + 0.15 = 0.30 USD (was 0.60)
    report = cw.json("metrics", "show", "r1", "--now", NOW)
    assert report["usage"]["units"] == 1 and report["usage"]["inputTokens"] == 50000
    assert report["cost"]["attestedUsd"] == 0.3
    # a second replacement appends: history is never lost
    cw.ok("result", "r1", "t1", "o.md", "--replace")
    again = next(w for w in state_of(priced, "r1")["workers"] if w["id"] == "worker-t1-0001")
    assert [r["usage"]["inputTokens"] for r in again["replaced"]] == [100000, 50000]
    assert again["usage"]["inputTokens"] == 50000  # a replacement without usage flags keeps the usage (CW's rule)
    text = cw.ok("result", "r1", "t1", "o.md", "--replace").stdout
    assert "replaced the result recorded at" in text


# --- unknown spend is shown as unknown -------------------------------------------------------------------


def test_budget_with_an_unreported_unit_shows_a_lower_bound_not_a_figure(cw, repo, fx_file):
    cw.ok("run", "new", "--id", "b1", "--cost-budget", "20.00", "EUR")
    cw.ok("task", "add", "b1", "t1")
    cw.ok("task", "add", "b1", "t2")
    cw.ok("dispatch", "b1")
    (repo / "o.md").write_text("x")
    # 100000 in x 3/M + 20000 out x 15/M = 0.60 USD; at 1.20 USD per EUR (2026-10-08 fixing) = 0.50 EUR
    cw.ok("result", "b1", "t1", "o.md", *_usage("100000", "20000"), "--usage-attested-at", "2026-10-09T10:00:00Z")
    cw.ok("result", "b1", "t2", "o.md")  # no usage: its spend is unknown
    status = cw.json("budget", "b1", "--fx", str(fx_file), "--now", NOW)
    cb = status["costBudget"]
    assert cb["spent"] == 0.5 and cb["complete"] is False and cb["missingUnits"] == 1
    text = cw.ok("budget", "b1", "--fx", str(fx_file), "--now", NOW).stdout
    assert "spent=≥0.50 of 20.00 EUR  remaining=≤19.50 EUR  (1 unit unreported)" in text
    assert cw.ok("budget", "show", "b1", "--fx", str(fx_file), "--now", NOW).stdout == text


def test_budget_with_no_reported_unit_says_unknown(cw, repo):
    cw.ok("run", "new", "--id", "b2", "--cost-budget", "20.00", "EUR", "--token-budget", "5000")
    cw.ok("task", "add", "b2", "t1")
    cw.ok("dispatch", "b2")
    (repo / "o.md").write_text("x")
    cw.ok("result", "b2", "t1", "o.md")
    text = cw.ok("budget", "b2", "--now", NOW).stdout
    assert "tokens: spent=unknown of 5000  remaining=≤5000  (1 unit unreported)" in text
    assert "cost:   spent=unknown of 20.00 EUR  remaining=≤20.00 EUR  (1 unit unreported)" in text
    assert "spent=0" not in text


def test_budget_with_every_unit_reported_shows_the_figure(cw, priced):
    cw.ok("run", "new", "--id", "b3", "--cost-budget", "1.00", "USD")
    cw.ok("task", "add", "b3", "t1")
    cw.ok("dispatch", "b3")
    cw.ok("result", "b3", "t1", "o.md", *_usage("100000", "20000"))
    text = cw.ok("budget", "b3", "--now", NOW).stdout
    assert "cost:   spent=0.60 of 1.00 USD  remaining=0.40 USD\n" in text


def test_budget_list_says_period_spend_as_budget_show_does(cw, repo, priced):
    """Per-period budgets read the same in `budget list` and `budget RUN`: known, a bound, or unknown."""
    cw.ok("budget", "set", "--actor", "alice", "--period", "month", "--cost", "5", "USD", "--tokens", "1000000")
    now = "2026-10-20T12:00:00.000Z"
    listed = cw.ok("budget", "list", "--now", now).stdout
    assert "2026-10: tokens spent=120000 of 1000000  remaining=880000; cost spent=0.60 of 5.00 USD" in listed
    # this month: one priced unit and one without usage (dated by the clock), so the spend is a lower bound
    today = datetime.now(UTC)
    month = today.strftime("%Y-%m")
    cw.ok("run", "new", "--id", "r2", "--actor", "alice")
    cw.ok("task", "add", "r2", "t1")
    cw.ok("task", "add", "r2", "t2")
    cw.ok("dispatch", "r2")
    cw.ok("result", "r2", "t1", "o.md", *_usage("100000", "20000"), "--usage-attested-at", today.isoformat())
    cw.ok("result", "r2", "t2", "o.md")
    now = (today + timedelta(seconds=5)).isoformat()
    listed = cw.ok("budget", "list", "--now", now).stdout
    assert (
        f"{month}: tokens spent=≥120000 of 1000000  remaining=≤880000  (1 unit unreported); cost spent=≥0.60 of 5.00 USD  remaining=≤4.40 USD  (1 unit unreported)"
        in listed
    )
    shown = cw.ok("budget", "r2", "--now", now).stdout
    assert (
        f"alice per month (repo, {month}): cost spent=≥0.60 of 5.00 USD  remaining=≤4.40 USD  (1 unit unreported)"
        in shown
    )


def test_pnl_text_says_n_a_for_spend_and_revenue_it_cannot_know(cw, repo):
    """No priced unit, or amounts with no rate to the reporting currency: n/a in the text, never 0.00."""
    cw.ok("run", "new", "--id", "u1", "--actor", "bob")
    cw.ok("task", "add", "u1", "t1")
    cw.ok("dispatch", "u1")
    (repo / "o.md").write_text("x")
    cw.ok("result", "u1", "t1", "o.md")  # unreported
    text = cw.ok("pnl", "--now", NOW).stdout
    (bob,) = [line.split() for line in text.splitlines() if line.startswith("bob ")]
    assert bob[:9] == ["bob", "1", "1", "n/a", "unreported", "0%", "0.00", "n/a", "no"]
    cw.ok("revenue", "add", "u1", "80.00", "USD", "--ref", "inv-1")
    text = cw.ok("pnl", "--fx", "none", "--currency", "EUR", "--now", NOW).stdout
    (bob,) = [line.split() for line in text.splitlines() if line.startswith("bob ")]
    assert bob[3] == "n/a" and bob[6] == "n/a" and bob[7] == "n/a"
    assert "revenue of 80.00 USD not converted to EUR" in text
    payload = cw.json("pnl", "--fx", "none", "--currency", "EUR", "--now", NOW)
    assert payload["rows"][0]["netComplete"] is False  # the JSON keeps its figures and says why they are partial


# --- P&L rows and totals reconcile, in the text too ------------------------------------------------------


def test_pnl_text_says_how_rounding_makes_rows_differ_from_the_total(cw, repo, fx_file):
    # 1 JPY = 1.25 / 160 = 0.0078125 USD (fixing 2026-10-01): each row shows 0.01, the exact total
    # 3 x 0.0078125 = 0.0234375 shows 0.02, so the rows add up to one cent more than the total.
    for who in ("a", "b", "c"):
        cw.ok("run", "new", "--id", f"run-{who}", "--actor", who)
        cw.ok("revenue", "add", f"run-{who}", "1", "JPY", "--ref", f"jp-{who}", "--at", "2026-10-05T00:00:00Z")
    p = cw.json("pnl", "--fx", str(fx_file), "--now", NOW)
    assert [r["revenue"] for r in p["rows"]] == [0.01, 0.01, 0.01] and p["totals"]["revenue"] == 0.02
    assert p["totals"]["roundingDifference"] == {"spend": 0, "revenue": -0.01, "net": -0.01}
    text = cw.ok("pnl", "--fx", str(fx_file), "--now", NOW).stdout
    assert "rounding: the rows add up to the total except revenue -0.01, net -0.01 (USD" in text


def test_pnl_text_has_no_rounding_line_when_rows_add_up(cw, repo):
    cw.ok("run", "new", "--id", "u1", "--actor", "a")
    cw.ok("revenue", "add", "u1", "2.50", "USD", "--ref", "us-1")
    assert "rounding:" not in cw.ok("pnl", "--now", NOW).stdout


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from(["USD", "EUR", "JPY"]),
            st.integers(min_value=-500, max_value=100_000),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["USD", "EUR", "JPY"]),
)
@settings(max_examples=200, deadline=None)
def test_rows_plus_the_rounding_note_always_reconcile_with_the_total(items, currency):
    from decimal import Decimal

    from cw.core.attribution import parse_attribution_model
    from cw.core.currency import minor_units
    from cw.core.fx import validate_fx_policy
    from cw.core.pnl import build_pnl, render_pnl_text

    fx = validate_fx_policy(FX, "fx.json")
    spend, revenue = [], []
    for i, (actor, cur, minor, is_spend) in enumerate(items):
        amount = Decimal(minor).scaleb(-minor_units(cur) - 1)  # a tenth of a minor unit: rounding always bites
        base = {"runId": f"r{i}", "app": None, "actor": actor, "at": "2026-10-09T00:00:00Z", "currency": cur}
        if is_spend:
            spend.append(
                {**base, "unit": f"w{i}", "model": "m", "state": "attested", "amount": abs(amount), "tokens": 1}
            )
        elif amount:
            revenue.append({**base, "amount": amount, "entryId": f"rev-{i}", "bookedRunId": f"r{i}"})
    p = build_pnl(
        spend,
        revenue,
        by="actor",
        currency=currency,
        fx_policy=fx,
        pricing_policy_id=None,
        attribution=parse_attribution_model(None, None),
        now=NOW,
    )
    text = render_pnl_text(p)
    any_off = False
    for col in ("spend", "revenue", "net"):
        rows = sum((Decimal(str(r[col])) for r in p["rows"]), Decimal(0))
        diff = Decimal(str(p["totals"]["roundingDifference"][col]))
        assert rows + diff == Decimal(str(p["totals"][col]))
        any_off = any_off or diff != 0
        if diff != 0:
            assert f"{col} {'+' if diff > 0 else ''}{diff.quantize(Decimal(1).scaleb(-minor_units(currency)))}" in text
    assert ("rounding:" in text) == any_off


# --- runs keyed by repo and directory: nothing merged, dropped or double counted -------------------------


@pytest.fixture
def two_repos(cw, tmp_path: Path) -> tuple[Path, Path]:
    """Repos A and B, both registered, each with a run r1 (alice booked 10.00 USD in A, bob 20.00 USD in B)."""
    a, b = tmp_path / "A", tmp_path / "B"
    for root, who, amount, ref in ((a, "alice", "10.00", "a-1"), (b, "bob", "20.00", "b-1")):
        root.mkdir()
        cw.ok("run", "new", "--id", "r1", "--actor", who, "--cwd", str(root))
        cw.ok("revenue", "add", "r1", amount, "USD", "--ref", ref, "--cwd", str(root))
        cw.ok("registry", "add", str(root))
    return a, b


def test_same_run_id_in_two_repos_is_two_runs_in_every_report(cw, two_repos):
    a, b = two_repos
    p = cw.json("pnl", "--scope", "home", "--by", "run", "--cwd", str(a), "--now", NOW)
    assert sorted((r["key"], r["repo"], r["revenue"]) for r in p["rows"]) == [("r1", str(a), 10), ("r1", str(b), 20)]
    assert p["totals"]["revenue"] == 30 and p["totals"]["runs"] == 2
    by_actor = cw.json("pnl", "--scope", "home", "--cwd", str(a), "--now", NOW)
    assert sorted((r["key"], r["revenue"]) for r in by_actor["rows"]) == [("alice", 10), ("bob", 20)]
    listed = cw.json("revenue", "list", "--scope", "home", "--cwd", str(a), "--now", NOW)
    assert listed["totals"][0]["net"] == 30 and sorted(e["repo"] for e in listed["entries"]) == [str(a), str(b)]
    verified = cw.json("ledger", "verify", "--scope", "home", "--cwd", str(a), "--now", NOW)
    assert sorted((r["runId"], r["repo"]) for r in verified["runs"]) == [("r1", str(a)), ("r1", str(b))]
    summary = cw.json("metrics", "summary", "--scope", "home", "--cwd", str(a), "--now", NOW)
    assert sorted((r["runId"], r["repo"]) for r in summary["runs"]) == [("r1", str(a)), ("r1", str(b))]
    text = cw.ok("pnl", "--scope", "home", "--by", "run", "--cwd", str(a), "--now", NOW).stdout
    assert f"r1 ({a})" in text and f"r1 ({b})" in text


def test_attribution_follows_parents_inside_their_own_repo(cw, two_repos):
    a, b = two_repos
    cw.ok("run", "new", "--id", "c1", "--parent", "r1", "--actor", "bob", "--cwd", str(b))
    cw.ok("revenue", "add", "c1", "8.00", "USD", "--ref", "b-2", "--cwd", str(b))
    p = cw.json("pnl", "--scope", "home", "--by", "run", "--attribution", "linear", "--cwd", str(a), "--now", NOW)
    got = {(r["key"], r["repo"]): r["revenue"] for r in p["rows"]}
    # linear over B's chain r1 -> c1: 4.00 each; A's r1 keeps only its own 10.00
    assert got == {("r1", str(a)): 10, ("r1", str(b)): 24, ("c1", str(b)): 4}


def test_a_copied_run_is_listed_under_its_directory_and_never_counted_twice(cw, two_repos):
    import shutil

    _, b = two_repos
    shutil.copytree(b / ".cw/runs/r1", b / ".cw/runs/r1-copy")
    p = cw.json("pnl", "--by", "run", "--cwd", str(b), "--now", NOW)
    rows = {r["key"]: r for r in p["rows"]}
    assert set(rows) == {"r1", "r1-copy"}
    assert rows["r1"]["revenue"] == 20 and rows["r1-copy"]["revenue"] == 0 and not rows["r1-copy"]["netComplete"]
    assert p["totals"]["revenue"] == 20  # the copied booking of b-1 is not counted again
    assert [r["runId"] for r in p["refusedRevenue"]] == ["r1-copy"]
    assert any("r1-copy holds run id r1" in n for n in p["notes"])
    listed = cw.json("revenue", "list", "--cwd", str(b), "--now", NOW)
    assert listed["totals"][0]["net"] == 20 and [u["runId"] for u in listed["unverified"]] == ["r1-copy"]
    res = cw("ledger", "verify", "--cwd", str(b))
    assert res.exit_code == 1 and "r1-copy holds run id r1" in res.stdout
    shown = cw.json("metrics", "show", "r1-copy", "--cwd", str(b), "--now", NOW)
    assert shown["revenue"]["state"] == "refused" and "r1-copy holds run id r1" in shown["revenue"]["reason"]


def test_a_copied_run_without_revenue_is_listed_apart_in_the_summary(cw, repo):
    import shutil

    cw.ok("run", "new", "--id", "s1")
    shutil.copytree(repo / ".cw/runs/s1", repo / ".cw/runs/s1-copy")
    summary = cw.json("metrics", "summary", "--now", NOW, "--no-cache")
    assert summary["runCount"] == 2
    assert sorted((r["runId"], r.get("runDir", "")) for r in summary["runs"]) == [("s1", ""), ("s1", "s1-copy")]
    text = cw.ok("metrics", "summary", "--now", NOW).stdout
    assert "note: run directory s1-copy" in text and "holds run id s1" in text
    p = cw.json("pnl", "--by", "run", "--now", NOW)
    assert sorted(r["key"] for r in p["rows"]) == ["s1", "s1-copy"]
    assert any("s1-copy holds run id s1" in n for n in p["notes"])
