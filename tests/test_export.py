"""cw export: rows, figures and ids against hand-worked money, OTLP parsed by the official messages, FOCUS, DuckDB."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import stat
import sys
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from conftest import require_module, tree_bytes

NOW = "2026-11-30T12:00:00.000Z"
PRICES = {
    "schemaVersion": 1,
    "id": "export-test-prices",
    "currency": "USD",
    "models": [
        {
            "model": "model-a",
            "inputPerMillion": 2,
            "outputPerMillion": 10,
            "cacheReadPerMillion": 0.2,
            "cacheWritePerMillion": 2.5,
        },
        {"model": "model-b", "inputPerMillion": 1, "outputPerMillion": 4},
    ],
}
FX = {
    "schemaVersion": 1,
    "id": "export-test-fx",
    "source": "hand-made for the export tests",
    "base": "EUR",
    "maxRateAgeDays": 60,
    "rates": [{"date": "2026-11-01", "perBase": {"USD": "1.25"}}],
}
POLICIES = ("--pricing", "prices.json", "--fx", "fx.json", "--currency", "USD")
WINDOW = ("--since", "2026-11-01", "--until", "2026-11-30")


def _result(cw, run, task, *usage):
    cw.ok("result", run, task, "o.md", *usage)


@pytest.fixture
def ws(cw, repo):
    """Two runs, two actors, two priced models with cache tokens, an unreported and an unpriced unit, revenue in
    USD and EUR with a partial reversal, and a unit after the window."""
    (repo / "prices.json").write_text(json.dumps(PRICES))
    (repo / "fx.json").write_text(json.dumps(FX))
    (repo / "o.md").write_text("done")
    cw.ok("run", "new", "--id", "r1", "--app", "triage", "--actor", "alice")
    cw.ok("task", "add", "r1", "t1", "--backend", "claude-code")
    cw.ok("task", "add", "r1", "t2")
    cw.ok("task", "add", "r1", "t3")
    cw.ok("dispatch", "r1")
    # 1e6*2 + 2e5*10 + 5e5*0.2 + 1e5*2.5 per million = 2 + 2 + 0.1 + 0.25 = 4.35 USD
    _result(
        cw,
        "r1",
        "t1",
        *("--usage-input-tokens", "1000000", "--usage-output-tokens", "200000"),
        *("--usage-cache-read-tokens", "500000", "--usage-cache-write-tokens", "100000"),
        *("--usage-model", "model-a", "--usage-attested-at", "2026-11-10T10:00:00Z"),
    )
    _result(cw, "r1", "t2")  # no usage: unreported
    _result(
        cw,
        "r1",
        "t3",
        *("--usage-input-tokens", "1000", "--usage-output-tokens", "10", "--usage-model", "model-z"),
        *("--usage-attested-at", "2026-11-10T11:00:00Z"),
    )  # no entry, no default: unpriced
    cw.ok("run", "new", "--id", "r2", "--app", "triage", "--actor", "bob")
    cw.ok("task", "add", "r2", "t1")
    cw.ok("task", "add", "r2", "t2")
    cw.ok("dispatch", "r2")
    # 3e5*1 + 5e4*4 per million = 0.3 + 0.2 = 0.50 USD (reasoning is inside the output, no price of its own)
    _result(
        cw,
        "r2",
        "t1",
        *("--usage-input-tokens", "300000", "--usage-output-tokens", "50000", "--usage-reasoning-tokens", "10000"),
        *("--usage-model", "model-b", "--usage-attested-at", "2026-11-12T00:00:00Z"),
    )
    # 2.00 USD, after the window
    _result(
        cw,
        "r2",
        "t2",
        *("--usage-input-tokens", "1000000", "--usage-model", "model-a", "--usage-attested-at", "2026-12-05T00:00:00Z"),
    )
    cw.ok("revenue", "add", "r1", "100.00", "USD", "--ref", "INV-1", "--at", "2026-11-11T00:00:00Z")
    cw.ok("revenue", "add", "r2", "40.00", "EUR", "--ref", "INV-2", "--at", "2026-11-12T00:00:00Z")  # 50.00 USD
    cw.ok(
        "revenue",
        "reverse",
        "r2",
        "rev-0001",
        "--amount",
        "10.00",
        "--reason",
        "refund",
        "--at",
        "2026-11-13T00:00:00Z",
    )
    return repo


def _jsonl(cw, *args):
    out = cw.ok("export", "--format", "jsonl", *POLICIES, "--now", NOW, *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def _by(rows, **match):
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_jsonl_rows_carry_hand_worked_figures(cw, ws):
    rows = _jsonl(cw)
    assert [r["kind"] for r in rows].count("usage") == 5
    assert [r["kind"] for r in rows].count("revenue") == 3
    a = _by(rows, runId="r1", unit="worker-t1-0001")
    assert (a["costState"], a["amount"], a["currency"], a["reportAmount"]) == ("attested", "4.35", "USD", "4.35")
    assert (a["inputTokens"], a["outputTokens"], a["cacheReadTokens"], a["cacheWriteTokens"]) == (
        1000000,
        200000,
        500000,
        100000,
    )
    assert (a["actor"], a["app"], a["model"], a["backend"], a["at"]) == (
        "alice",
        "triage",
        "model-a",
        "claude-code",
        "2026-11-10T10:00:00Z",
    )
    b = _by(rows, runId="r2", unit="worker-t1-0001")
    assert (b["amount"], b["reasoningTokens"], b["actor"]) == ("0.5", 10000, "bob")
    # never a made-up zero: no cost, the state says why
    unreported = _by(rows, runId="r1", unit="worker-t2-0001")
    assert unreported["costState"] == "unreported"
    assert unreported["amount"] is None and unreported["reportAmount"] is None and unreported["inputTokens"] is None
    unpriced = _by(rows, runId="r1", unit="worker-t3-0001")
    assert (unpriced["costState"], unpriced["amount"], unpriced["inputTokens"]) == ("unpriced", None, 1000)
    usd = _by(rows, entryId="rev-0001", runId="r1")
    assert (usd["amount"], usd["currency"], usd["reportAmount"], usd["ref"]) == ("100", "USD", "100", "INV-1")
    eur = _by(rows, entryId="rev-0001", runId="r2")
    assert (eur["amount"], eur["currency"], eur["reportAmount"], eur["entryKind"]) == ("40", "EUR", "50", "booked")
    rev = _by(rows, entryId="rev-0002")
    assert (rev["amount"], rev["reportAmount"], rev["entryKind"], rev["ref"]) == ("-10", "-12.5", "reversed", "INV-2")


def test_a_window_keeps_what_pnl_keeps(cw, ws):
    rows = _jsonl(cw, *WINDOW)
    units = [r for r in rows if r["kind"] == "usage"]
    # the unit of 2026-12-05 and the unreported one (dated when its output was recorded, now) are outside
    assert sorted((r["runId"], r["unit"]) for r in units) == [
        ("r1", "worker-t1-0001"),
        ("r1", "worker-t3-0001"),
        ("r2", "worker-t1-0001"),
    ]
    assert len(rows) == 6
    summary = cw.json("export", "--format", "jsonl", *POLICIES, *WINDOW, "--now", NOW)
    assert (summary["rows"], summary["units"], summary["revenueEntries"], summary["file"]) == (6, 3, 3, None)
    assert [json.loads(x) for x in summary["content"].splitlines()] == rows


def test_csv_has_the_same_rows_with_empty_cells_for_no_value(cw, ws):
    text = cw.ok("export", "--format", "csv", *POLICIES, "--now", NOW).stdout
    table = list(csv.DictReader(io.StringIO(text)))
    rows = _jsonl(cw)
    assert [r["id"] for r in table] == [r["id"] for r in rows]
    a = next(r for r in table if r["runId"] == "r1" and r["unit"] == "worker-t1-0001")
    assert (a["amount"], a["inputTokens"], a["costState"]) == ("4.35", "1000000", "attested")
    unreported = next(r for r in table if r["costState"] == "unreported")
    assert unreported["amount"] == "" and unreported["reportAmount"] == ""


def test_ids_are_stable_across_exports_and_machines(cw, ws, tmp_path):
    first = _jsonl(cw)
    again = _jsonl(cw)
    assert [r["id"] for r in first] == [r["id"] for r in again]
    assert len({r["id"] for r in first}) == len(first)
    # the same runs in another folder (another machine's clone): the same ids, so merged exports deduplicate
    other = tmp_path / "elsewhere"
    shutil.copytree(ws, other)
    moved = _jsonl(cw, "--cwd", str(other))
    assert {r["id"] for r in moved} == {r["id"] for r in first}
    assert {r["repo"] for r in moved} == {str(other)}
    # a new unit adds one id and changes none
    cw.ok("task", "add", "r1", "t4")
    cw.ok("dispatch", "r1")
    _result(cw, "r1", "t4", "--usage-input-tokens", "5", "--usage-model", "model-b")
    grown = _jsonl(cw)
    assert {r["id"] for r in first} < {r["id"] for r in grown}
    assert len(grown) == len(first) + 1


def _parse_otlp_line(line: str):
    json_format = require_module("google.protobuf.json_format", "the OTLP test needs protobuf (opentelemetry-proto)")
    trace_service = require_module(
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2", "the OTLP test needs opentelemetry-proto"
    )
    doc = json.loads(line)
    # OTLP/JSON writes trace and span ids as hex; protobuf's own JSON mapping reads bytes as base64
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId"):
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.Parse(json.dumps(doc), trace_service.ExportTraceServiceRequest())


def _attributes(span) -> dict:
    out = {}
    for kv in span.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which)
    return out


def test_otlp_lines_parse_as_trace_requests_one_trace_per_run(cw, ws):
    text = cw.ok("export", "--format", "otlp", *POLICIES, "--now", NOW).stdout
    lines = text.splitlines()
    assert len(lines) == 2  # one per run
    spans = {}
    traces = set()
    for line in lines:
        req = _parse_otlp_line(line)
        (rs,) = req.resource_spans
        (ss,) = rs.scope_spans
        run_traces = {s.trace_id for s in ss.spans}
        assert len(run_traces) == 1
        traces |= run_traces
        for s in ss.spans:
            assert len(s.trace_id) == 16 and len(s.span_id) == 8
            a = _attributes(s)
            spans[(a["cw.run.id"], a.get("cw.unit") or a["cw.revenue.entry.id"])] = (s, a)
    assert len(traces) == 2
    assert len(spans) == 8
    span, a = spans[("r1", "worker-t1-0001")]
    assert a["gen_ai.usage.input_tokens"] == 1000000
    assert a["gen_ai.usage.output_tokens"] == 200000
    assert a["gen_ai.usage.cache_read.input_tokens"] == 500000
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 100000
    assert a["gen_ai.request.model"] == "model-a"
    assert a["gen_ai.agent.name"] == "claude-code"
    assert a["gen_ai.conversation.id"] == "r1/worker-t1-0001"
    assert (a["cw.actor"], a["cw.cost.state"], a["cw.cost.decimal"], a["cw.cost.currency"]) == (
        "alice",
        "attested",
        "4.35",
        "USD",
    )
    assert a["cw.cost.amount"] == pytest.approx(4.35)
    assert span.end_time_unix_nano == int(datetime(2026, 11, 10, 10, tzinfo=UTC).timestamp()) * 10**9
    _, b = spans[("r2", "worker-t1-0001")]
    assert b["gen_ai.usage.reasoning.output_tokens"] == 10000
    for unit, state in (("worker-t2-0001", "unreported"), ("worker-t3-0001", "unpriced")):
        _, u = spans[("r1", unit)]
        assert u["cw.cost.state"] == state
        assert "cw.cost.amount" not in u and "cw.cost.decimal" not in u
    assert "gen_ai.usage.input_tokens" not in spans[("r1", "worker-t2-0001")][1]
    # span ids are the row ids' first 16 hex digits
    ids = {r["id"][:16] for r in _jsonl(cw)}
    assert {s.span_id.hex() for s, _ in spans.values()} == ids


@pytest.mark.parametrize("at", ["1000-01-01T00:00:00.000Z", "2600-01-01T00:00:00.000Z", "9998-12-31T23:59:59.000Z"])
def test_otlp_times_outside_unsigned_nanoseconds_parse_undated_with_the_time_kept(cw, repo, at):
    (repo / "o.md").write_text("done")
    cw.ok("run", "new", "--id", "edge")
    cw.ok("revenue", "add", "edge", "5.00", "USD", "--ref", "r-edge", "--at", at)
    (line,) = cw.ok("export", "--format", "otlp", "--now", NOW).stdout.splitlines()
    (span,) = _parse_otlp_line(line).resource_spans[0].scope_spans[0].spans
    assert span.start_time_unix_nano == span.end_time_unix_nano == 0
    assert _attributes(span)["cw.at"] == at


def _focus(cw, *args):
    text = cw.ok("export", "--format", "focus", *POLICIES, "--now", NOW, *args).stdout
    return list(csv.DictReader(io.StringIO(text)))


def test_focus_rows_have_token_buckets_and_corrections(cw, ws):
    rows = _focus(cw)
    # 4 buckets + unreported + 2 unpriced buckets + 2 (r2 t1) + 1 (r2 t2) + 3 revenue
    assert len(rows) == 13
    for col in ("BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargeCategory", "ChargeClass"):
        assert col in rows[0]
    a = {r["x_CwBucket"]: r for r in rows if r["ResourceId"] == "r1/worker-t1-0001"}
    assert set(a) == {"input", "output", "cacheRead", "cacheWrite"}
    assert {b: (r["ConsumedQuantity"], r["BilledCost"]) for b, r in a.items()} == {
        "input": ("1000000", "2"),
        "output": ("200000", "2"),
        "cacheRead": ("500000", "0.1"),
        "cacheWrite": ("100000", "0.25"),
    }
    assert sum(Decimal(r["BilledCost"]) for r in a.values()) == Decimal("4.35")
    first = a["input"]
    assert (first["ConsumedUnit"], first["PricingQuantity"], first["PricingUnit"]) == ("Tokens", "1", "1M Tokens")
    assert (first["ChargeCategory"], first["ChargeClass"], first["BillingCurrency"]) == ("Usage", "", "USD")
    assert (first["ChargePeriodStart"], first["ChargePeriodEnd"]) == (
        "2026-11-10T10:00:00.000Z",
        "2026-11-10T11:00:00.000Z",
    )
    assert json.loads(first["Tags"])["cw.actor"] == "alice"
    unreported = [r for r in rows if r["x_CwCostState"] == "unreported"]
    assert len(unreported) == 1 and unreported[0]["BilledCost"] == "" and unreported[0]["ConsumedQuantity"] == ""
    unpriced = {r["x_CwBucket"]: r for r in rows if r["x_CwCostState"] == "unpriced"}
    assert {b: (r["ConsumedQuantity"], r["BilledCost"]) for b, r in unpriced.items()} == {
        "input": ("1000", ""),
        "output": ("10", ""),
    }
    corrections = [r for r in rows if r["ChargeClass"] == "Correction"]
    assert len(corrections) == 1
    # revenue is a negative cost (Credit); its reversal gives back a positive Correction, in its own currency
    assert (corrections[0]["BilledCost"], corrections[0]["BillingCurrency"]) == ("10", "EUR")
    credits = sorted(r["BilledCost"] for r in rows if r["ChargeCategory"] == "Credit" and not r["ChargeClass"])
    assert credits == ["-100", "-40"]
    assert len({r["x_CwId"] for r in rows}) == len(rows)
    assert [r["x_CwId"] for r in _focus(cw)] == [r["x_CwId"] for r in rows]


def test_parquet_totals_per_actor_equal_pnl(cw, ws):
    duckdb = require_module("duckdb", "the Parquet test needs DuckDB (pip install 'cw-runs[warehouse]')")
    out = ws / "usage.parquet"
    summary = cw.json("export", "--format", "parquet", "-o", str(out), *POLICIES, *WINDOW, "--now", NOW)
    assert (summary["file"], summary["rows"], summary["content"]) == (str(out), 6, None)
    con = duckdb.connect()
    got = con.execute(
        "SELECT actor, SUM(reportAmount) FILTER (WHERE kind = 'usage'), SUM(reportAmount) FILTER (WHERE kind = "
        "'revenue'), COUNT(*) FILTER (WHERE kind = 'usage'), COUNT(*) FILTER (WHERE costState = 'unpriced') "
        f"FROM read_parquet('{out}') GROUP BY actor ORDER BY actor"
    ).fetchall()
    cents = Decimal("0.01")
    sql = {a: (s.quantize(cents, ROUND_HALF_UP), r.quantize(cents, ROUND_HALF_UP), n, u) for a, s, r, n, u in got}
    assert sql == {
        "alice": (Decimal("4.35"), Decimal("100.00"), 2, 1),
        "bob": (Decimal("0.50"), Decimal("37.50"), 1, 0),
    }
    pnl = cw.json("pnl", "--by", "actor", *POLICIES, *WINDOW, "--now", NOW)
    from_pnl = {
        r["key"]: (Decimal(str(r["spend"])).quantize(cents), Decimal(str(r["revenue"])).quantize(cents))
        for r in pnl["rows"]
    }
    assert from_pnl == {a: v[:2] for a, v in sql.items()}
    # the Parquet rows are the JSON-lines rows
    ids = [x[0] for x in con.execute(f"SELECT id FROM read_parquet('{out}') ORDER BY id").fetchall()]
    assert ids == sorted(r["id"] for r in _jsonl(cw, *WINDOW))


def test_an_export_file_is_written_whole_and_replaced(cw, ws):
    out = ws / "out.jsonl"
    out.write_text("old\n")
    summary = cw.json("export", "--format", "jsonl", "-o", "out.jsonl", *POLICIES, "--now", NOW)
    assert summary["file"] == str(out) and summary["content"] is None
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [r["id"] for r in _jsonl(cw)]
    text = cw.ok("export", "--format", "csv", "-o", "out.csv", *POLICIES, "--now", NOW).stdout
    assert text.startswith(f"wrote 8 csv rows to {ws / 'out.csv'}")
    assert sorted(p.name for p in ws.iterdir() if p.name.startswith(".out")) == []


def test_parquet_without_duckdb_names_the_extra(cw, ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now raises ImportError
    res = cw.fails(2, "export", "--format", "parquet", "-o", "x.parquet")
    assert "pip install 'cw-runs[warehouse]'" in res.stderr
    assert not (ws / "x.parquet").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--format", "xml", "-o", "x.out"), "--format"),
        (("--format", "jsonl", "-o", ".cw/x.out"), "inside .cw/"),
        (("--format", "jsonl", "-o", "nowhere/x.out"), "does not exist"),
        (("--format", "parquet"), "-o FILE"),
        (("--format", "jsonl", "-o", "x.out", "--currency", "XYZ"), "--currency"),
        (("--format", "jsonl", "-o", "x.out", "--since", "last week"), "--since"),
        (("--format", "jsonl", "-o", "x.out", "--since", "2026-11-30", "--until", "2026-11-01"), "--since"),
        (("--format", "jsonl", "-o", "x.out", "--tz", "Mars/Base"), "--tz"),
        (("--format", "jsonl", "-o", "x.out", "--now", "yesterday"), "--now"),
        (("--format", "jsonl", "-o", "x.out", "--attribution", "everyone"), "--attribution"),
    ],
)
def test_bad_input_is_one_message_exit_2_and_nothing_written(cw, ws, args, needle):
    before = sorted(p.name for p in ws.rglob("*"))
    res = cw.fails(2, "export", *args)
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in ws.rglob("*")) == before


@pytest.mark.parametrize(
    ("flag", "name", "text", "needle"),
    [
        ("--pricing", "broken.json", "{not json", "Invalid JSON in"),
        (
            "--fx",
            "zero.json",
            json.dumps({**FX, "rates": [{"date": "2026-11-01", "perBase": {"USD": "0"}}]}),
            "positive",
        ),
    ],
)
def test_a_bad_policy_file_is_named_and_nothing_written(cw, ws, flag, name, text, needle):
    (ws / name).write_text(text)
    before = sorted(p.name for p in ws.rglob("*"))
    # a policy that cannot be used is refused as by every verb that reads policies (pnl too)
    res = cw.fails(1, "export", "--format", "jsonl", "-o", "x.out", flag, name)
    assert needle in res.stderr and name in res.stderr
    assert cw.fails(1, "pnl", flag, name).stderr == res.stderr
    assert sorted(p.name for p in ws.rglob("*")) == before


# --------------------------------------------------------------------------- FOCUS buckets add up, always


def _prices():
    from hypothesis import strategies as st

    money = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries(
        {"inputPerMillion": money, "outputPerMillion": money},
        optional={
            "cacheReadPerMillion": money,
            "cacheWritePerMillion": money,
            "cacheWrite1hPerMillion": money,
            "reasoningPerMillion": money,
            "inputIncludesCachedTokens": st.booleans(),
            "outputIncludesReasoningTokens": st.booleans(),
            "tiers": st.lists(
                st.fixed_dictionaries(
                    {"aboveInputTokens": st.integers(0, 10**6), "inputPerMillion": money},
                    optional={"outputPerMillion": money},
                ),
                max_size=1,
            ),
        },
    )


def _usage():
    from hypothesis import strategies as st

    n = st.integers(0, 10**7)
    return st.fixed_dictionaries(
        {"model": st.just("m")},
        optional={
            "inputTokens": n,
            "outputTokens": n,
            "cacheReadTokens": n,
            "cacheWriteTokens": n,
            "cacheWrite1hTokens": n,
            "reasoningTokens": n,
        },
    )


def test_bucket_costs_add_up_exactly_to_the_unit_cost():
    from hypothesis import given, settings

    from cw.core.pricing import price_unit, usage_cost_parts, validate_policy

    @settings(max_examples=150, deadline=None)
    @given(_prices(), _usage())
    def check(price, usage):
        doc = {"schemaVersion": 1, "id": "p", "currency": "USD", "models": [{"model": "m", **price}]}
        priced = price_unit(usage, validate_policy(doc, "p.json"))
        if priced.price is None:
            return
        parts = usage_cost_parts(usage, priced.price)
        assert sum((c for _, _, c in parts), Decimal(0)) == priced.cost
        assert all(t >= 0 and c >= 0 for _, t, c in parts)
        cached = ("cacheRead", "cacheWrite", "cacheWrite1h")
        assert sum(t for b, t, _ in parts if b in cached) == usage.get("cacheReadTokens", 0) + max(
            usage.get("cacheWriteTokens", 0), usage.get("cacheWrite1hTokens", 0)
        )

    check()


# --------------------------------------------------------------------------- odd data and several repos


def test_odd_values_cw_stored_export_in_every_format(cw, repo):
    from conftest import FIXTURES, copy_fixture_run

    d = copy_fixture_run(repo, "fixture-run")
    st = json.loads((d / "state.json").read_text())
    task = next(t for t in st["tasks"] if t["id"] == "t-attested")
    task["usage"]["inputTokens"] = 10**30  # CW stores it as given; no int64 holds it
    task["usage"]["outputTokens"] = -5
    (d / "state.json").write_text(json.dumps(st))
    pricing = ("--pricing", str(FIXTURES / "policy-default-price.json"), "--now", "2026-06-08T12:00:00.000Z")
    rows = [json.loads(x) for x in cw.ok("export", "--format", "jsonl", *pricing).stdout.splitlines()]
    odd = next(r for r in rows if r["unit"] == "t-attested")
    assert (odd["costState"], odd["amount"], odd["inputTokens"], odd["outputTokens"], odd["totalTokens"]) == (
        "unpriced",
        None,
        None,
        None,
        None,
    )
    for line in cw.ok("export", "--format", "otlp", *pricing).stdout.splitlines():
        _parse_otlp_line(line)
    cw.ok("export", "--format", "focus", *pricing)
    duckdb = require_module("duckdb", "the Parquet test needs DuckDB (pip install 'cw-runs[warehouse]')")
    cw.ok("export", "--format", "parquet", "-o", "odd.parquet", *pricing)
    n = duckdb.connect().execute("SELECT COUNT(*) FROM read_parquet('odd.parquet')").fetchone()[0]
    assert n == len(rows)


def test_a_run_present_in_two_registered_repos_keeps_unique_ids(cw, ws, tmp_path):
    other = tmp_path / "clone"
    shutil.copytree(ws, other)
    cw.ok("registry", "add", str(other))
    home = _jsonl(cw, "--scope", "home")
    here = _jsonl(cw)
    assert len({r["id"] for r in home}) == len(home)
    base = {r["id"] for r in here}
    assert {r["id"].split("-")[0] for r in home} == base
    usage = [r for r in home if r["kind"] == "usage"]
    assert len(usage) == 2 * 5
    assert sum(1 for r in usage if r["id"] not in base) == 5  # the copies: the same ids with -2
    # and the rows still add up to what pnl says for the same scope
    pnl = cw.json("pnl", "--scope", "home", *POLICIES, "--now", NOW)["totals"]
    assert pnl["units"]["total"] == len(usage)
    revenue = sum(Decimal(r["reportAmount"]) for r in home if r["kind"] == "revenue")
    spend = sum(Decimal(r["reportAmount"]) for r in usage if r["reportAmount"] is not None)
    assert (revenue, spend) == (Decimal(str(pnl["revenue"])), Decimal(str(pnl["spend"])))


def test_a_ledger_that_does_not_verify_exports_no_revenue_as_pnl_refuses_it(cw, ws):
    p = ws / ".cw/runs/r2/state.json"
    st = json.loads(p.read_text())
    st["revenue"]["entries"][0]["amount"] = "400.00"  # edited by hand: the hash chain no longer holds
    p.write_text(json.dumps(st))
    summary = cw.json("export", "--format", "jsonl", *POLICIES, "--now", NOW)
    rows = [json.loads(x) for x in summary["content"].splitlines()]
    assert [r["runId"] for r in rows if r["kind"] == "revenue"] == ["r1"]
    assert [r["runId"] for r in summary["refusedRevenue"]] == ["r2"]
    assert "does not verify" in summary["refusedRevenue"][0]["reason"]
    pnl = cw.json("pnl", *POLICIES, "--now", NOW)
    assert [r["runId"] for r in pnl["refusedRevenue"]] == ["r2"]
    assert Decimal(str(pnl["totals"]["revenue"])) == sum(
        Decimal(r["reportAmount"]) for r in rows if r["kind"] == "revenue"
    )
    text = cw.ok("export", "--format", "csv", "-o", "x.csv", *POLICIES, "--now", NOW).stdout
    assert "refused revenue r2" in text


@pytest.mark.parametrize(("by", "column"), [("app", "app"), ("run", "runId"), ("model", "model")])
def test_parquet_totals_per_app_run_and_model_equal_pnl(cw, ws, by, column):
    duckdb = require_module("duckdb", "the Parquet test needs DuckDB (pip install 'cw-runs[warehouse]')")
    out = ws / "usage.parquet"
    cw.ok("export", "--format", "parquet", "-o", str(out), *POLICIES, *WINDOW, "--now", NOW)
    kind = "usage" if by == "model" else "%"  # by model, pnl's rows are spend only (revenue has its own row)
    got = (
        duckdb.connect()
        .execute(
            f"SELECT {column}, SUM(reportAmount) FILTER (WHERE kind = 'usage'), "
            f"SUM(reportAmount) FILTER (WHERE kind = 'revenue') FROM read_parquet('{out}') "
            f"WHERE kind LIKE '{kind}' GROUP BY {column}"
        )
        .fetchall()
    )
    cents = Decimal("0.01")
    sql = {
        k: ((s or Decimal(0)).quantize(cents, ROUND_HALF_UP), (r or Decimal(0)).quantize(cents, ROUND_HALF_UP))
        for k, s, r in got
    }
    pnl = cw.json("pnl", "--by", by, *POLICIES, *WINDOW, "--now", NOW)
    from_pnl = {
        r["key"]: (Decimal(str(r["spend"])).quantize(cents), Decimal(str(r["revenue"])).quantize(cents))
        for r in pnl["rows"]
        if r["key"] != "(revenue)"
    }
    assert from_pnl == sql


@pytest.mark.parametrize("flag", ["--currency", "--pricing", "--fx", "--since", "--until", "--tz", "--now", "-o"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_value_is_refused_naming_the_flag_not_read_as_the_default(cw, ws, flag, value):
    # "" used to pass as "flag not given": --fx "" silently meant no FX policy, --currency "" the config's
    before = tree_bytes(ws)
    res = cw.fails(2, "export", "--format", "jsonl", flag, value)
    named = "--output" if flag == "-o" else flag
    assert res.stderr.startswith(f"cw: Invalid {named}: the value is empty") and res.stdout == ""
    assert tree_bytes(ws) == before


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_an_output_that_is_a_pipe_or_a_device_is_refused_and_left_in_place(cw, ws, tmp_path, kind):
    # the atomic replace would swap the pipe (or /dev/null) for a plain file holding the export
    if kind == "fifo":
        target = tmp_path / "pipe.jsonl"
        os.mkfifo(target)
        expected = "a named pipe (FIFO)"
    else:
        target = Path(os.devnull)
        expected = "a device or socket"
    mode = target.lstat().st_mode
    before = tree_bytes(ws)
    res = cw.fails(2, "export", "--format", "jsonl", "-o", str(target))
    assert f"Invalid -o {target}: it is {expected}, not a regular file" in res.stderr
    assert target.lstat().st_mode == mode and not stat.S_ISREG(mode)
    assert tree_bytes(ws) == before


@pytest.mark.parametrize(
    ("fmt", "example"), [("otlp", "usage.otlp.jsonl"), ("focus", "usage.csv"), ("jsonl", "usage.jsonl")]
)
def test_a_blank_output_over_mcp_names_a_file_of_the_format(ws, monkeypatch, fmt, example):
    # the message offered "-o policy.json", the import verbs' example, for an export
    from cw.shell.workspace import Workspace
    from cw.surfaces.mcp_server import call_tool

    monkeypatch.chdir(ws)
    text, is_error = call_tool("cw_export", {"format": fmt, "output": " "}, Workspace.from_process)
    assert is_error and f"Missing -o: name the file to write (e.g. -o {example})." in text
