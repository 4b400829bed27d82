"""P&L rows: spend, attributed revenue, FX, completeness flags, rounding, order, text."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest

from cw.core import ledger as L
from cw.core.attribution import AttributionModel, RunNode, parse_attribution_model
from cw.core.fx import validate_fx_policy
from cw.core.jsonout import dumps
from cw.core.pnl import build_pnl, render_pnl_text, revenue_items
from cw.model.errors import UsageError
from cw.shell.resources import schema

NOW = "2026-03-01T00:00:00.000Z"
FX = validate_fx_policy(
    {
        "schemaVersion": 1,
        "id": "test-fx",
        "source": "tests",
        "base": "EUR",
        "rates": [{"date": "2026-01-05", "perBase": {"USD": "1.1000", "GBP": "0.8500"}}],
    },
    "test-fx.json",
)
RUNS = {
    "a": RunNode("2026-01-01T00:00:00.000Z", (), "alice", "site"),
    "b": RunNode("2026-01-02T00:00:00.000Z", ("a",), "cron:nightly", "site"),
    "c": RunNode("2026-01-03T00:00:00.000Z", (), "alice", "api"),
}
LINEAR = AttributionModel("linear")


def unit(run, state, amount=None, currency="USD", at="2026-01-10T00:00:00.000Z"):
    node = RUNS[run]
    return {
        "runId": run,
        "app": node.app,
        "actor": node.actor,
        "at": at,
        "state": state,
        "amount": None if amount is None else Decimal(amount),
        "currency": currency,
    }


def ledgers():
    b, _ = L.book(
        None,
        run_id="b",
        amount="100.00",
        currency="EUR",
        ref="inv-1",
        at="2026-01-10T00:00:00Z",
        recorded_at=NOW,
        actor="cron:nightly",
    )
    b, _ = L.book(
        b,
        run_id="b",
        amount="30.00",
        currency="USD",
        ref="inv-2",
        at="2026-01-11T00:00:00Z",
        recorded_at=NOW,
        actor="cron:nightly",
    )
    b, _ = L.reverse(b, entry_id="rev-0002", amount="10.00", reason="discount", recorded_at=NOW, actor="cron:nightly")
    c, _ = L.book(
        None,
        run_id="c",
        amount="20.00",
        currency="GBP",
        ref="inv-3",
        at="2026-01-01T00:00:00Z",
        recorded_at=NOW,
        actor="alice",
    )  # before any fixing
    return {"b": b, "c": c}


SPEND = [
    unit("a", "attested", "1.50"),
    unit("b", "estimated", "2.00", "EUR"),  # 2.20 USD at 1.1000
    unit("b", "unreported", at=None),
    unit("c", "unpriced", at=None),
    unit("c", "attested", "3.00"),
]


def pnl(by="actor", spend=SPEND, revenue=None, **kw):
    items = revenue_items(ledgers(), RUNS, LINEAR) if revenue is None else revenue
    return build_pnl(
        spend,
        items,
        by=by,
        currency=kw.pop("currency", "USD"),
        fx_policy=kw.pop("fx_policy", FX),
        pricing_policy_id="p1",
        attribution=LINEAR,
        now=NOW,
        **kw,
    )


def validated(payload):
    doc = json.loads(dumps(payload))
    jsonschema.validate(doc, schema("pnl.schema.json"))
    return doc


def test_revenue_items_date_each_entry_and_net_to_what_remains():
    items = revenue_items(ledgers(), RUNS, LINEAR)
    got = [(i["bookedRunId"], i["entryId"], i["runId"], i["actor"], i["amount"], i["currency"]) for i in items]
    assert got == [
        ("b", "rev-0001", "a", "alice", Decimal("50.00"), "EUR"),
        ("b", "rev-0001", "b", "cron:nightly", Decimal("50.00"), "EUR"),
        ("b", "rev-0002", "a", "alice", Decimal("15.00"), "USD"),  # the 30.00 booking, split in two
        ("b", "rev-0002", "b", "cron:nightly", Decimal("15.00"), "USD"),
        ("b", "rev-0003", "a", "alice", Decimal("-5.00"), "USD"),  # the 10.00 reversal, split in two
        ("b", "rev-0003", "b", "cron:nightly", Decimal("-5.00"), "USD"),
        ("c", "rev-0001", "c", "alice", Decimal("20.00"), "GBP"),
    ]
    assert items[0]["app"] == "site" and items[0]["at"] == "2026-01-10T00:00:00.000Z"
    # the reversal is dated when it was made (no --at: its recording time), not at the booking's date
    assert items[4]["at"] == L.iso_from_ms(L.parse_iso_ms(NOW))


def test_odd_reversal_shares_still_net_to_the_share_of_what_remains():
    # 10.01 split in two is 5.01 + 5.00; reversing 0.03 leaves 9.98 = 4.99 + 4.99, so the reversal
    # takes 0.02 from one run and 0.01 from the other, whatever its own split would have been.
    b, _ = L.book(None, run_id="b", amount="10.01", currency="USD", ref="x", at=NOW, recorded_at=NOW, actor="z")
    b, _ = L.reverse(b, entry_id="rev-0001", amount="0.03", reason="fix", recorded_at=NOW, actor="z")
    items = revenue_items({"b": b}, RUNS, LINEAR)
    per_run: dict[str, Decimal] = {}
    for i in items:
        per_run[i["runId"]] = per_run.get(i["runId"], Decimal(0)) + i["amount"]
    assert per_run == {"a": Decimal("4.99"), "b": Decimal("4.99")}
    assert sorted(i["amount"] for i in items if i["entryId"] == "rev-0002") == [Decimal("-0.02"), Decimal("-0.01")]


def test_fully_reversed_bookings_net_to_nothing():
    b, _ = L.book(None, run_id="b", amount="5.00", currency="USD", ref="x", at=NOW, recorded_at=NOW, actor="z")
    b, _ = L.reverse(b, entry_id="rev-0001", reason="void", recorded_at=NOW, actor="z")
    items = revenue_items({"b": b, "a": None}, RUNS, LINEAR)
    assert sum(i["amount"] for i in items) == 0
    assert {i["entryId"] for i in items if i["amount"] < 0} == {"rev-0002"}


def test_pnl_by_actor_hand_computed():
    p = validated(pnl())
    assert list(p) == [
        "schemaVersion",
        "surface",
        "generatedAt",
        "by",
        "window",
        "currency",
        "minorUnits",
        "pricingPolicyId",
        "pricingPolicy",
        "fx",
        "attribution",
        "rows",
        "totals",
        "notes",
        "refusedRevenue",
        "unreadable",
    ]
    assert p["fx"] == {
        "policyId": "test-fx",
        "base": "EUR",
        "ratesUsed": [{"date": "2026-01-05", "currency": "USD", "perBase": 1.1}],
        "maxRateAgeDays": 7,
        "staleRates": [],
    }
    assert p["attribution"] == {"model": "linear"}
    assert [r["key"] for r in p["rows"]] == ["cron:nightly", "alice"]  # net 62.80 before 60.50
    cron, alice = p["rows"]
    assert cron == {
        "key": "cron:nightly",
        "runs": 1,
        "units": {"total": 2, "attested": 0, "estimated": 1, "unpriced": 0, "unreported": 1},
        "spend": 2.2,
        "spendState": "estimated",  # the priced unit was default-priced; coverage says one is missing
        "coverage": 0.5,
        "revenue": 65,
        "net": 62.8,
        "netComplete": False,
        "reasons": ["1 unit unreported: usage was never attested, so the cost is unknown and left out"],
        "unconverted": [],
    }
    assert alice["runs"] == 2 and alice["units"]["total"] == 3
    assert (alice["spend"], alice["spendState"], alice["coverage"]) == (
        4.5,
        "unpriced",
        1,
    )  # all 3 reported, one unpriced
    assert (alice["revenue"], alice["net"], alice["netComplete"]) == (65, 60.5, False)
    assert alice["unconverted"] == [
        {
            "side": "revenue",
            "currency": "GBP",
            "amount": 20,
            "reason": "FX policy test-fx has no GBP->USD rate dated on or before 2026-01-01",
        }
    ]
    assert len(alice["reasons"]) == 2 and "unpriced" in alice["reasons"][0]
    assert "revenue of 20.00 GBP not converted to USD" in alice["reasons"][1]
    t = p["totals"]
    assert (t["runs"], t["spend"], t["revenue"], t["net"], t["coverage"]) == (
        3,
        6.7,
        130,
        123.3,
        0.8,
    )  # 4 of 5 reported
    assert t["units"] == {"total": 5, "attested": 2, "estimated": 1, "unpriced": 1, "unreported": 1}
    assert t["netComplete"] is False and t["spendState"] == "unpriced"
    assert t["roundingDifference"] == {"spend": 0, "revenue": 0, "net": 0}
    assert any("not a complete figure" in n for n in p["notes"])
    with pytest.raises(jsonschema.ValidationError):  # the schema is closed: no stray keys in rows
        jsonschema.validate(dict(p, rows=[dict(cron, extra=1)]), schema("pnl.schema.json"))


def test_pnl_by_app_and_by_run():
    by_app = validated(pnl("app"))
    assert [(r["key"], r["runs"], r["net"]) for r in by_app["rows"]] == [("site", 2, 126.3), ("api", 1, -3)]
    by_run = validated(pnl("run"))
    assert [(r["key"], r["revenue"], r["spend"]) for r in by_run["rows"]] == [
        ("a", 65, 1.5),
        ("b", 65, 2.2),
        ("c", 0, 3),
    ]
    assert by_run["rows"][2]["netComplete"] is False  # c's GBP revenue is unconverted


def test_a_complete_net_when_everything_is_attested_and_converts():
    spend = [unit("a", "attested", "1.50"), unit("b", "attested", "2.00", "EUR")]
    b, _ = L.book(
        None, run_id="b", amount="10.00", currency="USD", ref="x", at="2026-01-10T00:00:00Z", recorded_at=NOW, actor="z"
    )
    p = validated(pnl("run", spend=spend, revenue=revenue_items({"b": b}, RUNS, AttributionModel())))
    assert all(r["netComplete"] for r in p["rows"]) and p["totals"]["netComplete"]
    assert all(r["reasons"] == [] and r["spendState"] == "attested" for r in p["rows"])
    assert [(r["key"], r["net"]) for r in p["rows"]] == [("b", 7.8), ("a", -1.5)]
    assert len(p["notes"]) == 1


def test_without_an_fx_policy_foreign_amounts_stay_unconverted():
    p = validated(pnl("run", fx_policy=None))
    b = next(r for r in p["rows"] if r["key"] == "b")
    assert b["spend"] == 0 and b["revenue"] == 10  # only the USD booking's share
    assert {(u["side"], u["currency"], u["amount"]) for u in b["unconverted"]} == {
        ("spend", "EUR", 2),
        ("revenue", "EUR", 50),
    }
    assert all(u["reason"] == "no FX policy supplied to convert EUR->USD" for u in b["unconverted"])
    assert p["fx"] == {"policyId": None, "base": None, "ratesUsed": [], "maxRateAgeDays": None, "staleRates": []}


def test_reporting_in_the_base_currency_divides_by_the_quote():
    spend = [unit("a", "attested", "1.10")]
    p = validated(pnl("run", spend=spend, revenue=[], currency="EUR"))
    assert p["rows"][0]["spend"] == 1 and p["currency"] == "EUR"


def test_rounding_happens_once_and_the_remainder_is_reported():
    spend = [dict(unit("a", "attested", "0.005"), actor=name) for name in ("x", "y", "z")]
    p = validated(pnl(spend=spend, revenue=[]))
    assert [r["spend"] for r in p["rows"]] == [0.01, 0.01, 0.01]
    assert [r["net"] for r in p["rows"]] == [-0.01, -0.01, -0.01]
    assert p["totals"]["spend"] == 0.02 and p["totals"]["net"] == -0.02  # exact 0.015, rounded once
    assert p["totals"]["roundingDifference"] == {"spend": -0.01, "revenue": 0, "net": 0.01}


def test_rows_sort_by_net_descending_then_key():
    spend = [dict(unit("a", "attested", "1.00"), actor=name) for name in ("b-team", "a-team")]
    spend.append(dict(unit("a", "attested", "0.50"), actor="c-team"))
    p = pnl(spend=spend, revenue=[])
    assert [r["key"] for r in p["rows"]] == ["c-team", "a-team", "b-team"]


def test_missing_actor_and_app_and_runs_without_activity():
    spend = [dict(unit("a", "attested", "1.00"), actor=None, app=None)]
    p = validated(pnl(spend=spend, revenue=[], runs=[{"runId": "idle", "actor": "dora", "app": "site"}]))
    assert [(r["key"], r["spendState"], r["coverage"], r["runs"]) for r in p["rows"]] == [
        ("dora", "unreported", None, 1),  # no units: nothing reported, coverage n/a
        ("unattributed", "attested", 1, 1),
    ]
    assert validated(pnl("app", spend=spend, revenue=[]))["rows"][0]["key"] == "unknown"


def test_time_decay_is_named_with_its_half_life():
    p = build_pnl(
        [],
        [],
        by="actor",
        currency="USD",
        fx_policy=None,
        pricing_policy_id=None,
        attribution=AttributionModel("time-decay"),
        now=NOW,
    )
    assert validated(p)["attribution"] == {"model": "time-decay", "halfLifeDays": 7}
    assert p["rows"] == [] and p["totals"]["spendState"] == "unreported" and p["totals"]["netComplete"]


@pytest.mark.parametrize(
    ("given", "shown"), [("1h", "1h"), ("7h", "7h"), ("36h", "1.5d"), ("0.1", "0.1d"), ("7", "7d")]
)
def test_the_text_names_the_half_life_as_typed_not_in_28_digits(given, shown):
    # 1h is 1/24 day: a Decimal of 28 digits in the header, and the JSON float differs from it
    model = parse_attribution_model("time-decay", given)
    p = build_pnl(
        [], [], by="actor", currency="USD", fx_policy=None, pricing_policy_id=None, attribution=model, now=NOW
    )
    assert f"attribution=time-decay (half-life {shown})" in render_pnl_text(p).splitlines()[0]
    assert f"(half-life {shown})" in render_pnl_text(json.loads(dumps(p))).splitlines()[0]


def test_bad_grouping_or_currency_is_a_usage_error():
    with pytest.raises(UsageError, match="--by"):
        pnl("team")
    with pytest.raises(UsageError, match="--currency"):
        pnl(currency="dollars")


def test_text_is_an_aligned_table():
    b, _ = L.book(
        None,
        run_id="a",
        amount="10.00",
        currency="USD",
        ref="x",
        at="2026-01-10T00:00:00Z",
        recorded_at=NOW,
        actor="alice",
    )
    p = build_pnl(
        [unit("a", "attested", "1.50")],
        revenue_items({"a": b}, RUNS, AttributionModel()),
        by="actor",
        currency="USD",
        fx_policy=None,
        pricing_policy_id="p1",
        attribution=AttributionModel(),
        now=NOW,
    )
    assert render_pnl_text(p) == "\n".join(
        [
            "pnl by actor  currency=USD  pricing=p1 (id p1, from caller)  attribution=last-touch",
            "fx: no policy",
            "key    runs  units  spend  state     coverage  revenue   net  complete",
            "alice     1      1   1.50  attested      100%    10.00  8.50  yes",
            "total     1      1   1.50  attested      100%    10.00  8.50  yes",
        ]
    )


def test_text_flags_incomplete_rows_and_shows_rates():
    text = render_pnl_text(pnl())
    lines = text.splitlines()
    assert lines[1] == "fx: policy test-fx (per 1 EUR): 2026-01-05 USD 1.1"
    assert lines[3].startswith("cron:nightly") and lines[3].endswith("no *")
    assert "* alice: revenue of 20.00 GBP not converted to USD" in text
    last_column = lines[2].index("complete")
    assert [line.index("no *") for line in lines[3:6]] == [last_column] * 3


def test_refused_revenue_marks_the_row_and_totals_incomplete():
    spend = [
        {
            "runId": "r",
            "app": "a",
            "actor": "bob",
            "at": NOW,
            "state": "attested",
            "amount": Decimal("1"),
            "currency": "USD",
        }
    ]
    p = build_pnl(
        spend,
        [],
        by="actor",
        currency="USD",
        fx_policy=None,
        pricing_policy_id="p",
        attribution=AttributionModel(),
        now=NOW,
        refused=[{"runId": "r", "repo": "/x", "actor": "bob", "app": "a", "reason": "rev-0002: bad hash"}],
        unreadable=[{"runId": "q", "repo": "/x", "reason": "Invalid JSON"}],
    )
    (row,) = p["rows"]
    assert row["netComplete"] is False and p["totals"]["netComplete"] is False
    assert row["reasons"][-1] == "revenue of run r refused: rev-0002: bad hash"
    assert p["refusedRevenue"] == [{"runId": "r", "repo": "/x", "reason": "rev-0002: bad hash"}]
    assert p["unreadable"] == [{"runId": "q", "repo": "/x", "reason": "Invalid JSON"}]
