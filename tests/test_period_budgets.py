"""Per-period budgets per actor: the file, the verbs, and dispatch failing closed."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from conftest import tree_bytes

from cw.core.period_budget import period_status

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def schema(name):
    return json.loads((SCHEMAS / name).read_text())


def item(at, tokens=0, amount=None, actor="cron:nightly", state="attested"):
    return {
        "runId": "r",
        "unit": "t",
        "actor": actor,
        "at": at,
        "state": state,
        "tokens": tokens,
        "amount": None if amount is None else Decimal(amount),
        "currency": "USD",
        "model": "m",
    }


def test_period_status_counts_only_the_actor_in_the_current_period():
    b = {"actor": "cron:nightly", "period": "week", "tokens": 1000, "cost": {"amount": "1.00", "currency": "USD"}}
    items = [
        item("2026-11-23T00:00:00Z", 600, "0.50"),  # Monday of W48
        item("2026-11-29T23:59:59Z", 300, "0.30"),  # Sunday of W48
        item("2026-11-22T23:59:59Z", 5000, "9.00"),  # W47: not counted
        item("2026-11-24T00:00:00Z", 5000, "9.00", actor="alice"),  # someone else
    ]
    st = period_status(b, "repo", items, zone=UTC, now="2026-11-25T12:00:00Z", fx=None)
    assert st["current"] == {
        "period": "2026-W48",
        "start": "2026-11-23T00:00:00.000Z",
        "end": "2026-11-30T00:00:00.000Z",
    }
    assert st["tokens"] == {"limit": 1000, "spent": 900, "remaining": 100, "complete": True, "missingUnits": 0}
    assert st["cost"]["spent"] == Decimal("0.80") and st["cost"]["remaining"] == Decimal("0.20")
    assert st["dispatch"]["allowed"] and st["exceeded"] == []
    more = [*items, item("2026-11-25T00:00:00Z", 100, "0.10")]
    st = period_status(b, "repo", more, zone=UTC, now="2026-11-25T12:00:00Z", fx=None)
    assert st["exceeded"] == ["tokens"] and not st["dispatch"]["allowed"]
    assert "1000 tokens spent of 1000 in 2026-W48" in st["dispatch"]["reasons"][0]


def test_unreported_unpriced_or_foreign_spend_fails_closed():
    b = {"actor": "cron:nightly", "period": "month", "cost": {"amount": "5.00", "currency": "EUR"}}
    unreported = [item("2026-11-02T00:00:00Z", state="unreported")]
    st = period_status(b, "repo", unreported, zone=UTC, now="2026-11-25T00:00:00Z", fx=None)
    assert not st["dispatch"]["allowed"] and "--allow-unreported" in st["dispatch"]["reasons"][0]
    st = period_status(b, "repo", unreported, zone=UTC, now="2026-11-25T00:00:00Z", fx=None, allow_unreported=True)
    assert st["dispatch"]["allowed"]
    # USD spend with no FX policy cannot be counted in EUR: refused even with --allow-unreported
    st = period_status(
        b,
        "repo",
        [item("2026-11-02T00:00:00Z", 10, "0.10")],
        zone=UTC,
        now="2026-11-25T00:00:00Z",
        fx=None,
        allow_unreported=True,
    )
    assert not st["dispatch"]["allowed"] and "cannot be checked" in st["dispatch"]["reasons"][0]


@pytest.fixture
def nightly(cw, repo):
    """A nightly cron run with 0.60 USD of priced usage this month (bundled sonnet prices)."""
    env = {"CW_CRON_NAME": "nightly"}
    cw.ok("run", "new", "--id", "n1", "--app", "triage", env=env)
    cw.ok("task", "add", "n1", "t1")
    cw.ok("dispatch", "n1")
    (repo / "o.md").write_text("done")
    cw.ok(
        "result",
        "n1",
        "t1",
        "o.md",
        "--usage-input-tokens",
        "100000",
        "--usage-output-tokens",
        "20000",
        "--usage-model",
        "claude-sonnet-4-5",
        env=env,
    )  # attested now: in the current day, week and month
    cw.ok("task", "add", "n1", "t2")
    return repo


def test_set_list_remove_and_the_file_follows_its_schema(cw, nightly):
    out = cw.json("budget", "set", "--actor", "cron:nightly", "--period", "month", "--cost", "50.00", "USD")
    assert out["action"] == "set" and not out["replaced"]
    again = cw.json("budget", "set", "--actor", "cron:nightly", "--period", "month", "--tokens", "500000")
    assert again["replaced"] and "cost" not in again["budget"]
    cw.ok(
        "budget",
        "set",
        "--actor",
        "alice",
        "--period",
        "week",
        "--week-start",
        "sunday",
        "--tokens",
        "9",
        "--scope",
        "home",
    )
    doc = json.loads((nightly / ".cw" / "budgets.json").read_text())
    jsonschema.validate(doc, schema("budgets.schema.json"))
    listed = cw.json("budget", "list", "--now", "2026-11-01T00:00:00Z")
    assert [(b["scope"], b["actor"], b["period"]) for b in listed["budgets"]] == [
        ("repo", "cron:nightly", "month"),
        ("home", "alice", "week"),
    ]
    assert listed["budgets"][1]["weekStart"] == "sunday"
    cw.ok("budget", "remove", "--actor", "cron:nightly", "--period", "month")
    assert cw.json("budget", "list", "--only", "repo")["budgets"] == []
    assert "No month budget" in cw.fails(1, "budget", "remove", "--actor", "cron:nightly", "--period", "month").stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        ((), "needs a limit"),
        (("--tokens", "-5"), "--tokens"),
        (("--tokens", "1.5"), "--tokens"),
        (("--tokens", "lots"), "--tokens"),
        (("--tokens", "\u00b2"), "--tokens"),
        (("--tokens", "\u0663"), "--tokens"),
        (("--tokens", str(2**53 + 1)), "--tokens"),
        (("--cost", "-1.00", "USD"), "--cost AMOUNT"),
        (("--cost", "ten", "USD"), "--cost AMOUNT"),
        (("--cost", "1.00", "usd"), "--cost CURRENCY"),
        (("--tokens", "5", "--tz", "Nowhere/Land"), "Unknown time zone"),
        (("--tokens", "5", "--week-start", "monday"), "--week-start"),
    ],
)
def test_bad_budgets_are_usage_errors_that_write_nothing(cw, nightly, args, needle):
    before = tree_bytes(nightly)
    res = cw.fails(2, "budget", "set", "--actor", "cron:nightly", "--period", "month", *args)
    assert needle in res.stderr and res.stderr.count("cw:") == 1
    assert tree_bytes(nightly) == before


def test_an_unsupported_period_is_a_usage_error(cw, nightly):
    res = cw.fails(2, "budget", "set", "--actor", "cron:nightly", "--period", "year", "--tokens", "5")
    assert "--period" in res.stderr


def test_dispatch_refuses_once_the_actor_reached_its_monthly_budget(cw, nightly):
    cw.ok("budget", "set", "--actor", "cron:nightly", "--period", "month", "--cost", "0.60", "USD")
    before = tree_bytes(nightly)
    res = cw.fails(1, "dispatch", "n1", env={"CW_CRON_NAME": "nightly"})
    assert "cron:nightly's month budget (repo, " in res.stderr and "0.60 USD spent of 0.60 USD" in res.stderr
    assert tree_bytes(nightly) == before
    shown = cw.json("budget", "show", "n1")
    jsonschema.validate(shown, schema("budget.schema.json"))
    assert shown["actor"] == "cron:nightly" and not shown["dispatch"]["allowed"]
    (pb,) = shown["periodBudgets"]
    assert pb["cost"]["spent"] == 0.6 and pb["cost"]["remaining"] == 0 and pb["exceeded"] == ["cost"]
    plain = cw.json("budget", "n1")  # `cw budget RUN` is `cw budget show RUN`
    assert {**plain, "generatedAt": None} == {**shown, "generatedAt": None}
    cw.ok("budget", "set", "--actor", "cron:nightly", "--period", "month", "--cost", "0.61", "USD")
    cw.ok("dispatch", "n1", env={"CW_CRON_NAME": "nightly"})


def test_intake_over_a_budget_is_recorded_and_says_so(cw, nightly):
    env = {"CW_CRON_NAME": "nightly"}
    cw.ok("budget", "set", "--actor", "cron:nightly", "--period", "day", "--tokens", "150000")
    cw.ok("dispatch", "n1", env=env)
    old = cw.json(
        "result",
        "n1",
        "t2",
        "o.md",
        "--usage-input-tokens",
        "100000",
        "--usage-model",
        "claude-sonnet-4-5",
        "--usage-attested-at",
        "2020-01-01T00:00:00Z",
        env=env,
    )  # long ago: not today's spend
    assert "budgetExceeded" not in old
    assert cw.json("budget", "n1")["periodBudgets"][0]["tokens"]["spent"] == 120000
    cw.ok("task", "add", "n1", "t3")
    cw.ok("dispatch", "n1", env=env)
    out = cw.json(
        "result", "n1", "t3", "o.md", "--usage-input-tokens", "100000", "--usage-model", "claude-sonnet-4-5", env=env
    )
    jsonschema.validate(out, schema("worker-output-record.schema.json"))
    assert out["budgetExceeded"] and "cron:nightly day tokens" in out["budgetExceeded"][0]
    state = json.loads((nightly / ".cw/runs/n1/state.json").read_text())
    assert any(t["id"] == "t3" and t["status"] == "completed" for t in state["tasks"])  # still recorded
    shown = cw.json("budget", "n1")
    assert shown["periodBudgets"][0]["tokens"] == {
        "limit": 150000,
        "spent": 220000,
        "remaining": 0,
        "complete": True,
        "missingUnits": 0,
    }
    assert "EXCEEDED: tokens" in cw.ok("budget", "n1").stdout


def test_unreported_spend_in_the_period_blocks_unless_allowed(cw, nightly):
    cw.ok("budget", "set", "--actor", "cron:nightly", "--period", "month", "--tokens", "10000000")
    cw.ok("dispatch", "n1", env={"CW_CRON_NAME": "nightly"})
    cw.ok("result", "n1", "t2", "o.md", env={"CW_CRON_NAME": "nightly"})  # no usage: unreported
    cw.ok("task", "add", "n1", "t3")
    assert "--allow-unreported" in cw.fails(1, "dispatch", "n1").stderr
    cw.ok("dispatch", "n1", "--allow-unreported")


def test_a_corrupt_budget_file_fails_closed(cw, nightly):
    (nightly / ".cw" / "budgets.json").write_text('{"schemaVersion": 1, "budgets": [{"actor": "x"}]}')
    before = tree_bytes(nightly)
    res = cw.fails(1, "dispatch", "n1")  # refused: a budget cw cannot read cannot be checked
    assert "Corrupt budget file" in res.stderr and "$.budgets[0]" in res.stderr
    assert tree_bytes(nightly) == before
