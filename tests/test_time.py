"""When things happened, windows and periods: the core rules, the P&L over periods, and the CLI flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from conftest import tree_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from cw.core.attribution import AttributionModel
from cw.core.pnl import build_pnl
from cw.core.timeline import (
    Window,
    bucket,
    make_window,
    parse_bound,
    period_of,
    unit_at,
    window_periods,
)
from cw.model.errors import UsageError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LAST_TOUCH = AttributionModel("last-touch")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- dates


def test_a_unit_happens_at_attested_else_recorded_else_completed():
    task = {"id": "t1", "status": "completed", "completedAt": "2026-11-03T00:00:00Z"}
    worker = {"id": "w1", "taskId": "t1", "output": {"taskId": "t1", "recordedAt": "2026-11-02T00:00:00Z"}}
    run = {"tasks": [task], "workers": [worker]}
    usage = {"attestedAt": "2026-11-01T00:00:00Z"}
    assert unit_at(run, "worker", worker, usage) == "2026-11-01T00:00:00Z"
    assert unit_at(run, "worker", worker, None) == "2026-11-02T00:00:00Z"
    bare = {"id": "w1", "taskId": "t1", "output": {"taskId": "t1"}}
    assert unit_at(run, "worker", bare, {"attestedAt": "not a time"}) == "2026-11-03T00:00:00Z"
    assert unit_at(run, "task", task, None) == "2026-11-03T00:00:00Z"
    assert unit_at({"tasks": []}, "worker", bare, None) is None


def test_bounds_are_local_midnights_or_times():
    assert parse_bound("2026-11-23", UTC, "--since") == utc("2026-11-23T00:00:00Z")
    assert parse_bound("2026-11-23", BERLIN, "--since") == utc("2026-11-22T23:00:00Z")  # CET is UTC+1
    assert parse_bound("2026-07-01", BERLIN, "--since") == utc("2026-06-30T22:00:00Z")  # CEST is UTC+2
    assert parse_bound("2026-11-23T09:30:00", BERLIN, "--since") == utc("2026-11-23T08:30:00Z")
    assert parse_bound("2026-11-23T09:30:00Z", BERLIN, "--since") == utc("2026-11-23T09:30:00Z")


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "2026-11-23 09:00", "", "2026-02-30"])
def test_a_bad_bound_names_its_flag(text):
    with pytest.raises(UsageError, match="--until"):
        parse_bound(text, UTC, "--until")


def test_since_must_be_before_until():
    with pytest.raises(UsageError, match="not before --until"):
        make_window("2026-11-23", "2026-11-23", UTC, "UTC")
    w = make_window("2026-11-23", "2026-11-24", UTC, "UTC")
    assert w.contains(utc("2026-11-23T00:00:00Z")) and not w.contains(utc("2026-11-24T00:00:00Z"))
    assert not w.contains(None) and Window().contains(None)


# --------------------------------------------------------------------------- periods


def test_period_labels_day_iso_week_and_month():
    at = utc("2026-11-25T12:00:00Z")  # a Wednesday
    assert period_of(at, "day", UTC).label == "2026-11-25"
    week = period_of(at, "week", UTC)
    assert week.label == "2026-W48" and week.start == utc("2026-11-23T00:00:00Z")
    assert week.end - week.start == timedelta(days=7)
    assert period_of(at, "month", UTC) == ("2026-11", utc("2026-11-01T00:00:00Z"), utc("2026-12-01T00:00:00Z"))
    assert period_of(utc("2026-12-31T23:00:00Z"), "month", UTC).end == utc("2027-01-01T00:00:00Z")
    # 2027-01-01 is a Friday: its ISO week is 2026-W53
    assert period_of(utc("2027-01-01T12:00:00Z"), "week", UTC).label == "2026-W53"
    # weeks starting Sunday: Sun 22 Nov - Sat 28 Nov, labelled by their fourth day (Wed 25: W48)
    sunday = period_of(at, "week", UTC, week_start=6)
    assert sunday.start == utc("2026-11-22T00:00:00Z") and sunday.label == "2026-W48"


def test_days_across_dst_are_23_and_25_hours():
    spring = period_of(utc("2026-03-29T12:00:00Z"), "day", BERLIN)
    autumn = period_of(utc("2026-10-25T12:00:00Z"), "day", BERLIN)
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)
    assert spring.start == utc("2026-03-28T23:00:00Z") and spring.end == utc("2026-03-29T22:00:00Z")


def test_a_local_evening_belongs_to_its_local_day():
    late = utc("2026-11-24T03:00:00Z")  # 22:00 on the 23rd in New York
    assert period_of(late, "day", NEW_YORK).label == "2026-11-23"
    assert period_of(late, "day", UTC).label == "2026-11-24"


def test_window_periods_list_empty_periods_and_clip_to_bounds():
    w = make_window("2026-11-10", "2026-12-02", UTC, "UTC")
    ps = window_periods(w, "week", [utc("2026-11-11T00:00:00Z")], utc("2026-12-15T00:00:00Z"))
    assert [p.label for p in ps] == ["2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert ps[0].start == utc("2026-11-10T00:00:00Z") and ps[-1].end == utc("2026-12-02T00:00:00Z")
    assert all(a.end == b.start for a, b in pairwise(ps))
    assert bucket(utc("2026-11-30T00:00:00Z"), ps) == 3 and bucket(utc("2026-12-02T00:00:00Z"), ps) is None


# --------------------------------------------------------------------------- the P&L over periods


def spend(at, amount, actor="alice", state="attested", currency="USD"):
    return {
        "runId": f"r-{actor}",
        "app": "site",
        "actor": actor,
        "at": at,
        "state": state,
        "amount": None if amount is None else Decimal(amount),
        "currency": currency,
    }


def revenue(at, amount, actor="alice", currency="USD"):
    return {
        "runId": f"r-{actor}",
        "app": "site",
        "actor": actor,
        "at": at,
        "amount": Decimal(amount),
        "currency": currency,
        "entryId": "rev-0001",
        "bookedRunId": f"r-{actor}",
    }


def pnl(sp, rv, **kw):
    return build_pnl(
        sp,
        rv,
        by="actor",
        currency=kw.pop("currency", "USD"),
        fx_policy=None,
        pricing_policy_id="p",
        attribution=LAST_TOUCH,
        now=kw.pop("now", "2026-12-01T00:00:00.000Z"),
        **kw,
    )


def test_weekly_pnl_hand_worked():
    sp = [
        spend("2026-11-17T10:00:00Z", "0.004"),  # W47
        spend("2026-11-18T10:00:00Z", "0.004"),  # W47: 0.008 -> 0.01
        spend("2026-11-24T10:00:00Z", "0.004"),  # W48 (rounds to 0.00 alone)
        spend("2026-11-25T10:00:00Z", None, state="unreported"),
    ]
    rv = [revenue("2026-11-18T00:00:00Z", "10.00"), revenue("2026-11-26T00:00:00Z", "-3.00")]
    w = make_window("2026-11-16", "2026-12-07", UTC, "UTC")
    p = pnl(sp, rv, window=w, period="week")
    assert [x["period"] for x in p["periods"]] == ["2026-W47", "2026-W48", "2026-W49"]
    totals = [x["total"] for x in p["periods"]]
    # window spend 0.012 -> 0.01; periods show round(0.008)=0.01, then round(0.012)-round(0.008)=0.00
    assert p["totals"]["spend"] == Decimal("0.01")
    assert [t["spend"] for t in totals] == [Decimal("0.01"), Decimal("0.00"), Decimal("0.00")]
    assert [t["revenue"] for t in totals] == [Decimal("10.00"), Decimal("-3.00"), Decimal("0.00")]
    assert [t["units"]["total"] for t in totals] == [2, 2, 0]
    assert totals[1]["netComplete"] is False and totals[0]["netComplete"] is True
    assert totals[2]["coverage"] is None and totals[2]["spendState"] == "unreported" and p["periods"][2]["rows"] == []
    assert p["window"] == {
        "since": "2026-11-16T00:00:00.000Z",
        "until": "2026-12-07T00:00:00.000Z",
        "tz": "UTC",
        "undatedUnits": 0,
        "period": "week",
        "weekStart": "monday",
    }


def test_a_window_leaves_out_what_happened_outside_and_says_what_it_cannot_place():
    sp = [spend("2026-11-01T00:00:00Z", "1.00"), spend("2026-11-10T00:00:00Z", "2.00"), spend(None, "5.00")]
    rv = [revenue("2026-10-31T23:59:59Z", "7.00"), revenue("2026-11-10T00:00:00Z", "4.00")]
    p = pnl(sp, rv, window=make_window("2026-11-01", "2026-11-10", UTC, "UTC"))
    assert p["totals"]["spend"] == Decimal("1.00") and p["totals"]["revenue"] == Decimal("0.00")
    assert p["window"]["undatedUnits"] == 1 and p["totals"]["netComplete"] is False
    assert any("without a date" in r for r in p["totals"]["reasons"])
    everything = pnl(sp, rv)
    assert everything["totals"]["spend"] == Decimal("8.00") and everything["window"]["undatedUnits"] == 0


ZONES = [UTC, BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata")]
START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def ledgerish(draw):
    n = draw(st.integers(0, 25))
    items = []
    for _ in range(n):
        at = START + timedelta(minutes=draw(st.integers(0, 400 * 24 * 60)))
        cents = draw(st.integers(-50000, 50000))
        milli = draw(st.integers(0, 99999))
        items.append((at.strftime("%Y-%m-%dT%H:%M:%SZ"), cents, milli, draw(st.sampled_from(["a", "b", "c"]))))
    return items


@settings(max_examples=60, deadline=None)
@given(
    items=ledgerish(),
    zone=st.sampled_from(ZONES),
    period=st.sampled_from(["day", "week", "month"]),
    week_start=st.integers(0, 6),
    bounds=st.tuples(st.integers(0, 200), st.integers(1, 300)),
)
def test_period_totals_add_up_exactly_to_the_window(items, zone, period, week_start, bounds):
    sp = [spend(at, Decimal(milli).scaleb(-5), actor=who) for at, _, milli, who in items]
    rv = [revenue(at, Decimal(cents).scaleb(-2), actor=who) for at, cents, _, who in items]
    lo = (START + timedelta(days=bounds[0])).date().isoformat()
    hi = (START + timedelta(days=bounds[0] + bounds[1])).date().isoformat()
    w = make_window(lo, hi, zone, "zone")
    p = pnl(sp, rv, window=w, period=period, week_start=week_start if period == "week" else 0)
    periods = p["periods"]
    assert periods[0]["start"] == p["window"]["since"] and periods[-1]["end"] == p["window"]["until"]
    assert all(a["end"] == b["start"] for a, b in pairwise(periods))
    for col in ("spend", "revenue", "net"):
        assert sum((x["total"][col] for x in periods), Decimal(0)) == p["totals"][col]
    assert sum(x["total"]["units"]["total"] for x in periods) == p["totals"]["units"]["total"]
    inside = [at for at, *_ in items if w.contains(utc(at))]
    assert p["totals"]["units"]["total"] == len(inside)
    # each period's figure is within one cent of its exact sum
    for x in periods:
        lo_p, hi_p = utc(x["start"]), utc(x["end"])
        exact = sum((i["amount"] for i in sp if lo_p <= utc(i["at"]) < hi_p), Decimal(0))
        assert abs(x["total"]["spend"] - exact) <= Decimal("0.01")


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def weeks(cw, repo):
    """One run with usage in two weeks and revenue with a reversal a week later."""
    cw.ok("run", "new", "--id", "r1", "--app", "site", "--actor", "alice")
    for t in ("t1", "t2"):
        cw.ok("task", "add", "r1", t)
    cw.ok("dispatch", "r1")
    (repo / "o.md").write_text("done")
    # 100000*3e-6 + 20000*15e-6 = 0.60 USD; 200000*3e-6 + 20000*15e-6 = 0.90 USD (bundled sonnet prices)
    for t, tokens, at in (("t1", "100000", "2026-11-20T10:00:00Z"), ("t2", "200000", "2026-11-26T10:00:00Z")):
        cw.ok(
            "result",
            "r1",
            t,
            "o.md",
            "--usage-input-tokens",
            tokens,
            "--usage-output-tokens",
            "20000",
            "--usage-model",
            "claude-sonnet-4-5",
            "--usage-attested-at",
            at,
        )
    cw.ok("revenue", "add", "r1", "10.00", "USD", "--ref", "A", "--at", "2026-11-21T00:00:00Z")
    cw.ok("revenue", "reverse", "r1", "rev-0001", "--amount", "3.00", "--reason", "x", "--at", "2026-12-01T07:00:00Z")
    return repo


NOW = "2026-12-02T00:00:00.000Z"


def test_pnl_week_by_week_through_the_cli(cw, weeks):
    p = cw.json("pnl", "--period", "week", "--since", "2026-11-16", "--until", "2026-12-07", "--now", NOW)
    got = [(x["period"], x["total"]["spend"], x["total"]["revenue"], x["total"]["net"]) for x in p["periods"]]
    assert got == [("2026-W47", 0.6, 10, 9.4), ("2026-W48", 0.9, 0, -0.9), ("2026-W49", 0, -3, -3)]
    assert (p["totals"]["spend"], p["totals"]["revenue"], p["totals"]["net"]) == (1.5, 7, 5.5)
    text = cw.ok("pnl", "--period", "week", "--since", "2026-11-16", "--until", "2026-12-07", "--now", NOW).stdout
    assert text.index("2026-W47") < text.index("2026-W48") < text.index("2026-W49")
    assert "change vs 2026-W48: spend -0.90, revenue -3.00, net -2.10" in text


def test_a_window_nets_the_reversal_at_its_own_date(cw, weeks):
    nov = cw.json("pnl", "--since", "2026-11-01", "--until", "2026-12-01", "--now", NOW)
    assert (nov["totals"]["spend"], nov["totals"]["revenue"]) == (1.5, 10)
    # 07:00 UTC on 1 December is 23:00 on 30 November in Los Angeles
    la = cw.json("pnl", "--since", "2026-11-01", "--until", "2026-12-01", "--tz", "America/Los_Angeles", "--now", NOW)
    assert la["totals"]["revenue"] == 7 and la["window"]["tz"] == "America/Los_Angeles"
    listed = cw.json("revenue", "list", "--since", "2026-12-01", "--now", NOW)
    assert [e["kind"] for e in listed["entries"]] == ["reversed"] and listed["totals"][0]["net"] == -3
    assert cw.json("run", "list", "--until", "2026-01-01", "--now", NOW)["runCount"] == 0
    assert cw.json("ledger", "verify", "--since", "2027-01-01", "--now", NOW)["runs"] == []
    assert [r["runId"] for r in cw.json("ledger", "verify", "--since", "2026-12-01", "--now", NOW)["runs"]] == ["r1"]


def test_metrics_summary_periods_group_runs_by_creation(cw, weeks):
    s = cw.json("metrics", "summary", "--period", "day", "--since", "2020-01-01", "--until", "2020-01-03", "--now", NOW)
    assert s["runCount"] == 0 and [x["period"] for x in s["periods"]] == ["2020-01-01", "2020-01-02"]
    assert all(x["total"]["runCount"] == 0 and x["total"]["rates"]["failure"]["state"] == "n/a" for x in s["periods"])
    everything = cw.json("metrics", "summary", "--period", "month", "--now", "2099-01-01T00:00:00Z")
    assert sum(x["total"]["runCount"] for x in everything["periods"]) == everything["runCount"] == 1
    assert sum(x["total"]["usage"]["totalTokens"] for x in everything["periods"]) == everything["usage"]["totalTokens"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (("pnl", "--tz", "Mars/Olympus"), "Unknown time zone --tz"),
        (("pnl", "--since", "2026-12-01", "--until", "2026-11-01"), "not before --until"),
        (("pnl", "--period", "year"), "--period"),
        (("pnl", "--since", "last week"), "--since"),
        (("metrics", "summary", "--week-start", "sunday"), "--week-start"),
        (("run", "list", "--until", "2026-02-31"), "--until"),
        (
            ("revenue", "reverse", "r1", "rev-0001", "--reason", "x", "--at", "2026-01-01T00:00:00Z"),
            "before the booking",
        ),
    ],
)
def test_bad_time_input_is_one_usage_message_and_writes_nothing(cw, weeks, args, needle):
    before = tree_bytes(weeks)
    res = cw.fails(2, *args)
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert tree_bytes(weeks) == before
