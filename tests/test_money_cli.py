"""Revenue, ledger verify, P&L, budgets and parent links through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import state_of, tree_bytes

NOW = "2026-11-01T00:00:00.000Z"


@pytest.fixture
def shop(cw, repo: Path) -> Path:
    """Two runs by two actors, one with priced usage."""
    cw.ok("run", "new", "--id", "lead", "--app", "growth", "--actor", "alice")
    cw.ok("run", "new", "--id", "deal", "--app", "sales", "--parent", "lead", env={"CW_CRON_NAME": "closer"})
    cw.ok("task", "add", "deal", "t1")
    cw.ok("dispatch", "deal")
    (repo / "o.md").write_text("done")
    # claude-sonnet-4-5 at 3/15 per million in the bundled policy: 100000*3e-6 + 20000*15e-6 = 0.6 USD
    cw.ok(
        "result",
        "deal",
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
        env={"CW_CRON_NAME": "closer"},
    )
    return repo


def test_book_reverse_list(cw, shop):
    e1 = cw.json("revenue", "add", "deal", "120.00", "USD", "--ref", "INV-1", "--at", "2026-10-09T12:00:00Z")
    assert e1["entry"]["id"] == "rev-0001" and e1["entry"]["actor"] == "cron:closer"
    assert e1["entry"]["amount"] == "120.00"
    cw.ok("revenue", "reverse", "deal", "rev-0001", "--amount", "20.00", "--reason", "partial refund")
    listed = cw.json("revenue", "list", "--now", NOW)
    assert listed["totals"] == [{"currency": "USD", "booked": 120, "reversed": 20, "net": 100}]
    assert [e["kind"] for e in listed["entries"]] == ["booked", "reversed"]
    assert cw.json("revenue", "list", "--run", "lead", "--now", NOW)["entries"] == []
    assert "Run not found" in cw.fails(1, "revenue", "list", "--run", "ghost").stderr
    head = json.loads((shop / ".cw/runs/deal/revenue.head.json").read_text())
    assert head["hash"] == state_of(shop, "deal")["revenue"]["entries"][-1]["hash"]


@pytest.mark.parametrize(
    "amount,currency,needle",
    [
        ("0", "USD", "AMOUNT"),
        ("-5.00", "USD", "AMOUNT"),
        ("1e3", "USD", "AMOUNT"),
        ("10.001", "USD", "AMOUNT"),
        ("12.5", "JPY", "AMOUNT"),
        ("1,000", "USD", "AMOUNT"),
        ("abc", "USD", "AMOUNT"),
        ("10.00", "XYZ", "CURRENCY"),
        ("10.00", "usd", "CURRENCY"),
    ],
)
def test_bad_amounts_and_currencies_are_usage_errors(cw, shop, amount, currency, needle):
    before = tree_bytes(shop)
    res = cw.fails(2, "revenue", "add", "deal", f"--ref=R-{amount}", "--", amount, currency)
    assert needle in res.stderr
    assert tree_bytes(shop) == before


def test_double_booking_and_over_reversal_refused(cw, shop):
    cw.ok("revenue", "add", "deal", "50.00", "USD", "--ref", "INV-9")
    before = tree_bytes(shop)
    assert "already booked" in cw.fails(1, "revenue", "add", "deal", "50.00", "USD", "--ref", "INV-9").stderr
    assert "already booked" in cw.fails(1, "revenue", "add", "lead", "50.00", "USD", "--ref", "INV-9").stderr
    res = cw.fails(1, "revenue", "reverse", "deal", "rev-0001", "--amount", "50.01", "--reason", "x")
    assert "remain" in res.stderr
    assert "rev-0042" in cw.fails(1, "revenue", "reverse", "deal", "rev-0042", "--reason", "x").stderr
    assert tree_bytes(shop) == before
    cw.ok("revenue", "reverse", "deal", "rev-0001", "--reason", "cancelled")
    assert "rev-0001" in cw.fails(1, "revenue", "reverse", "deal", "rev-0001", "--reason", "again").stderr


def test_ledger_verify_detects_an_edit_and_revenue_fails_closed(cw, shop):
    cw.ok("revenue", "add", "deal", "100.00", "USD", "--ref", "A")
    cw.ok("revenue", "add", "deal", "5.00", "USD", "--ref", "B")
    assert cw.json("ledger", "verify")["ok"] is True
    p = shop / ".cw/runs/deal/state.json"
    st = json.loads(p.read_text())
    st["revenue"]["entries"][0]["amount"] = "1000.00"
    p.write_text(json.dumps(st))
    res = cw("ledger", "verify", "--json")
    assert res.exit_code == 1
    bad = json.loads(res.stdout)["runs"][0]
    assert not bad["ok"] and bad["problem"]["entryId"] == "rev-0001"
    assert "does not verify" in cw.fails(1, "revenue", "add", "deal", "1.00", "USD", "--ref", "C").stderr
    m = cw.json("metrics", "show", "deal")
    assert m["revenue"]["state"] == "refused" and "net" not in m
    pnl = cw.json("pnl", "--now", NOW)
    assert [r["runId"] for r in pnl["refusedRevenue"]] == ["deal"]
    assert pnl["totals"]["revenue"] == 0 and pnl["totals"]["netComplete"] is False
    summary = cw.json("metrics", "summary", "--now", NOW)
    assert [u["runId"] for u in summary["unreadable"]] == ["deal"]


def test_deleting_the_newest_entry_is_detected(cw, shop):
    cw.ok("revenue", "add", "deal", "100.00", "USD", "--ref", "A")
    cw.ok("revenue", "add", "deal", "5.00", "USD", "--ref", "B")
    p = shop / ".cw/runs/deal/state.json"
    st = json.loads(p.read_text())
    st["revenue"]["entries"].pop()
    p.write_text(json.dumps(st))
    assert cw("ledger", "verify").exit_code == 1


def test_pnl_per_actor_with_attribution(cw, shop):
    cw.ok("revenue", "add", "deal", "100.00", "USD", "--ref", "INV-1", "--at", "2026-10-09T12:00:00Z")
    last = cw.json("pnl", "--now", NOW)
    rows = {r["key"]: r for r in last["rows"]}
    assert rows["cron:closer"]["spend"] == 0.6 and rows["cron:closer"]["revenue"] == 100
    assert rows["cron:closer"]["net"] == 99.4 and rows["cron:closer"]["netComplete"] is True
    assert rows["alice"]["revenue"] == 0
    assert last["attribution"] == {"model": "last-touch"} and last["pricingPolicyId"]
    linear = cw.json("pnl", "--attribution", "linear", "--now", NOW)
    rows = {r["key"]: r for r in linear["rows"]}
    assert rows["alice"]["revenue"] == 50 and rows["cron:closer"]["revenue"] == 50
    assert linear["totals"]["revenue"] == 100
    by_app = {r["key"]: r for r in cw.json("pnl", "--by", "app", "--now", NOW)["rows"]}
    assert set(by_app) == {"growth", "sales"}
    text = cw.ok("pnl", "--now", NOW).stdout
    assert "cron:closer" in text and "99.40" in text


def test_pnl_converts_with_rate_shown(cw, shop):
    cw.ok("revenue", "add", "deal", "100.00", "EUR", "--ref", "INV-E", "--at", "2026-10-09T12:00:00Z")
    out = cw.json("pnl", "--now", NOW)
    assert out["fx"]["ratesUsed"], "the rate used is shown"
    row = {r["key"]: r for r in out["rows"]}["cron:closer"]
    assert row["revenue"] > 100  # EUR was worth more than a USD on that date in the bundled policy
    eur = cw.json("pnl", "--currency", "EUR", "--now", NOW)
    assert {r["key"]: r for r in eur["rows"]}["cron:closer"]["revenue"] == 100


def test_unreported_spend_makes_net_incomplete(cw, shop):
    cw.ok("task", "add", "deal", "t2")
    cw.ok("dispatch", "deal", "t2")
    cw.ok("result", "deal", "t2", "o.md")  # no usage: unreported, never zero
    row = {r["key"]: r for r in cw.json("pnl", "--now", NOW)["rows"]}["cron:closer"]
    # the reported unit is priced exactly; the silent one lowers coverage and completeness, as in metrics
    assert (row["spendState"], row["coverage"], row["netComplete"]) == ("attested", 0.5, False)
    show = cw.json("metrics", "show", "deal", "--now", NOW)
    assert (show["cost"]["state"], show["usage"]["coverage"]) == ("attested", 0.5)
    text = cw.ok("pnl", "--now", NOW).stdout
    assert "1 unit unreported" in text


def test_metrics_net_reads_na_when_no_unit_is_priced(cw, repo):
    # one silent unit and 10.00 USD booked: the spend is unknown, so neither spend nor net is 0.00 / 10.00
    cw.ok("run", "new", "--id", "quiet")
    cw.ok("task", "add", "quiet", "t1")
    cw.ok("dispatch", "quiet")
    (repo / "o.md").write_text("done")
    cw.ok("result", "quiet", "t1", "o.md")
    cw.ok("revenue", "add", "quiet", "10.00", "USD", "--ref", "INV-Q", "--at", "2026-10-09T12:00:00Z")
    show = cw.json("metrics", "show", "quiet", "--now", NOW)
    assert (show["cost"]["state"], show["net"]["complete"]) == ("unreported", False)
    net_line = next(ln for ln in cw.ok("metrics", "show", "quiet", "--now", NOW).stdout.splitlines() if "net:" in ln)
    assert "revenue=10.00 spend=n/a net=n/a  not complete" in net_line
    pnl_row = next(ln for ln in cw.ok("pnl", "--by", "run", "--now", NOW).stdout.splitlines() if ln.startswith("quiet"))
    assert pnl_row.split()[3] == "n/a" and pnl_row.split()[7] == "n/a"


def test_a_window_without_until_is_labelled_open_not_now(cw, shop):
    # booked after --now: a window without --until still counts it, so the text must not say it ends at now
    cw.ok("revenue", "add", "deal", "50.00", "USD", "--ref", "INV-F", "--at", "2026-12-20T00:00:00Z")
    args = ("pnl", "--since", "2026-10-01", "--period", "month", "--now", NOW)
    p = cw.json(*args)
    assert p["window"]["until"] is None and p["totals"]["revenue"] == 50
    assert [x["period"] for x in p["periods"]] == ["2026-10", "2026-11", "2026-12"]
    text = cw.ok(*args).stdout
    assert "window: [2026-10-01T00:00:00.000Z, no end)" in text and "now)" not in text


def test_budgets_fail_closed(cw, repo):
    cw.ok("run", "new", "--id", "b", "--token-budget", "1000")
    for t in ("t1", "t2", "t3"):
        cw.ok("task", "add", "b", t)
    cw.ok("dispatch", "b", "t1")
    (repo / "o.md").write_text("x")
    cw.ok("result", "b", "t1", "o.md")  # completed without usage
    res = cw.fails(1, "dispatch", "b", "t2")
    assert "no attested usage" in res.stderr and "--allow-unreported" in res.stderr
    cw.ok("dispatch", "b", "t2", "--allow-unreported")
    cw.ok("result", "b", "t2", "o.md", "--usage-input-tokens", "900", "--usage-output-tokens", "100")
    status = cw.json("budget", "b", "--now", NOW)
    # t1 completed without usage: 1000 tokens is what was recorded, a lower bound
    assert status["tokenBudget"] == {"limit": 1000, "spent": 1000, "remaining": 0, "complete": False, "missingUnits": 1}
    assert not status["dispatch"]["allowed"]
    res = cw.fails(1, "dispatch", "b", "t3", "--allow-unreported")
    assert "token budget exhausted: 1000 recorded tokens >= budget 1000" in res.stderr


def test_cost_budget(cw, repo):
    cw.ok("run", "new", "--id", "c", "--cost-budget", "0.50", "USD")
    assert state_of(repo, "c")["budget"] == {"costBudget": {"amount": "0.50", "currency": "USD"}}
    cw.ok("task", "add", "c", "t1")
    cw.ok("task", "add", "c", "t2")
    cw.ok("dispatch", "c", "t1")
    (repo / "o.md").write_text("x")
    cw.ok(
        "result",
        "c",
        "t1",
        "o.md",
        "--usage-input-tokens",
        "100000",
        "--usage-output-tokens",
        "20000",
        "--usage-model",
        "claude-sonnet-4-5",
    )  # 0.60 USD
    status = cw.json("budget", "c", "--now", NOW)
    assert status["costBudget"]["spent"] == 0.6 and status["costBudget"]["remaining"] == 0
    assert "cost budget exhausted" in cw.fails(1, "dispatch", "c", "t2").stderr
    assert "--cost-budget" in cw.fails(2, "run", "new", "--id", "d", "--cost-budget", "0.001", "USD").stderr


def test_parent_links_refuse_cycles(cw, repo):
    cw.ok("run", "new", "--id", "a")
    cw.ok("run", "new", "--id", "b", "--parent", "a")
    cw.ok("run", "new", "--id", "c", "--parent", "b")
    before = tree_bytes(repo)
    assert "cycle" in cw.fails(1, "run", "link", "a", "--parent", "c").stderr
    assert tree_bytes(repo) == before
    cw.ok("run", "new", "--id", "d")
    cw.ok("run", "link", "c", "--parent", "d")
    assert state_of(repo, "c")["parentRunIds"] == ["b", "d"]


def test_pnl_by_model(cw, shop):
    cw.ok("revenue", "add", "deal", "100.00", "USD", "--ref", "INV-1")
    rows = {r["key"]: r for r in cw.json("pnl", "--by", "model", "--now", NOW)["rows"]}
    assert set(rows) == {"claude-sonnet-4-5", "(revenue)"}
    assert rows["claude-sonnet-4-5"]["spend"] == 0.6 and rows["claude-sonnet-4-5"]["revenue"] == 0
    assert rows["(revenue)"]["revenue"] == 100 and rows["(revenue)"]["spend"] == 0
