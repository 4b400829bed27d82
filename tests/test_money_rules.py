"""Money rules that must hold in every command: converted or unknown revenue (never 0), unknown spend,
one booking per ref per repo, runs keyed by repo and directory, and P&L rows that reconcile with totals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    assert any("1 unit(s) unreported" in r for r in net["reasons"])
