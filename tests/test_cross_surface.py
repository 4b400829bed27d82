"""One workspace, every surface: the same revenue, spend, cost state, coverage and net everywhere.

The workspace is built once for the module through the real verbs: two repos
registered in a home scope, four runs by three actors in three apps, revenue
in EUR (with a reversal), JPY (no minor unit) and USD, usage with cache read
and write tokens, a model priced by the policy's default (``estimated``), a
model the policy cannot price (``unpriced``) and results without usage
(``unreported``). The pricing policy is the bundled one (its model entries
unchanged) whose ``defaultPrice`` keeps only its input and output prices, set
in ``$CW_HOME/config.toml`` so that every surface reads it the same way; the
FX policy is the bundled one.

Then:

* the JSON payloads of ``metrics show``, ``metrics summary``, ``pnl`` (by run,
  actor, app and model), ``budget``, ``revenue list`` and ``ledger verify``
  agree with each other on the quantities they share, and with figures
  worked out by hand from the price table and the dated FX rates;
* the Python API, the MCP server and the workbench's ``/api/`` give exactly
  the CLI's payloads;
* the CLI's text views and the workbench's pages show the same figures.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from conftest import Cli, require_module
from test_workbench import cli_argv, get_ok, mcp_args, read_page, running

from cw.capabilities import by_name
from cw.core.jsonout import dumps

NOW = "2027-01-15T12:00:00.000Z"
ATTESTED_AT = "2026-11-10T09:00:00.000Z"
RESULT = "# result\n\ndone\n"
CLEARED = (
    "CW_CRON_NAME",
    "WORKLOFT_CRON_JOB_NAME",
    "WORKLOFT_CRON_NAME",
    "CW_ACTOR",
    "CW_PARENT_RUN",
    "CW_NO_CACHE",
    "CW_DETERMINISTIC_RUN_IDS",
)

# The bundled FX policy's fixing of 2025-10-21 (units per 1 EUR), in force for every amount dated here.
EUR_USD = Decimal("1.1607")
EUR_JPY = Decimal("176.45")
CENT = Decimal("0.01")


def per_million(tokens: int, price: str) -> Decimal:
    return Decimal(tokens) * Decimal(price) / Decimal(1_000_000)


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


# Hand-worked costs from the bundled price table (USD per million tokens).
# claude-sonnet-4-5: input 3, cache read 0.3, cache write 3.75, output 15; the prompt
# (50,000 + 120,000 + 20,000 = 190,000) stays under its 200,000-token long-context tier.
SONNET = per_million(50_000, "3") + per_million(120_000, "0.3") + per_million(20_000, "3.75") + per_million(8_000, "15")
# gpt-4o-mini counts cached tokens inside its input: 600,000 fresh at 0.15, 400,000 cache reads at 0.075, output 0.6.
MINI = per_million(600_000, "0.15") + per_million(400_000, "0.075") + per_million(50_000, "0.6")
# house-model-7 has no entry: the default's input 3 and output 15 price it, so it is estimated.
HOUSE = per_million(10_000, "3") + per_million(2_000, "15")
# claude-haiku-4-5: input 1, output 5.
HAIKU = per_million(20_000, "1") + per_million(4_000, "5")
# gpt-4o-mini, 33,330 input tokens: USD 0.0049995, which rounds to 0.00 once but to 0.01 through 0.005.
HALF_CENT = per_million(33_330, "0.15")
# Revenue in USD, each entry at its date's rate (JPY -> USD through EUR).
SHOP_REV = (Decimal("100.00") - Decimal("30.00")) * EUR_USD
TRIAGE_REV = Decimal(1500) / EUR_JPY * EUR_USD
BOB_REV = Decimal("50.00")

RUNS = ("a-shop-1", "a-triage-1", "b-shop-2", "b-docs-1", "b-cent-1")
# run -> (repo, app, actor, state, units, reported units, exact spend, exact revenue or None)
EXPECTED: dict[str, tuple[str, str, str, str, int, int, Decimal, Decimal | None]] = {
    "a-shop-1": ("alpha", "shop", "alice", "attested", 2, 1, SONNET, SHOP_REV),
    "a-triage-1": ("alpha", "triage", "cron:nightly", "estimated", 2, 2, MINI + HOUSE, TRIAGE_REV),
    "b-shop-2": ("beta", "shop", "bob", "unpriced", 2, 2, HAIKU, BOB_REV),
    "b-docs-1": ("beta", "docs", "alice", "unreported", 1, 0, Decimal(0), None),
    "b-cent-1": ("beta", "docs", "bob", "attested", 1, 1, HALF_CENT, Decimal("10.00")),
}
SPEND = sum((e[6] for e in EXPECTED.values()), Decimal(0))
REVENUE = sum((e[7] or Decimal(0) for e in EXPECTED.values()), Decimal(0))


def test_the_hand_worked_figures():
    """The independent expectations themselves, as the price table and the FX fixing give them."""
    assert Decimal("0.381") == SONNET
    assert Decimal("0.15") == MINI and Decimal("0.06") == HOUSE and Decimal("0.04") == HAIKU
    assert cents(SHOP_REV) == Decimal("81.25")  # 70 EUR x 1.1607 = 81.249
    assert cents(TRIAGE_REV) == Decimal("9.87")  # 1500 JPY / 176.45 x 1.1607 = 9.8671...
    assert Decimal("0.0049995") == HALF_CENT and cents(HALF_CENT) == 0
    assert cents(REVENUE) == Decimal("151.12") and cents(REVENUE - SPEND) == Decimal("150.48")


# ---------------------------------------------------------------------------
# the workspace


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "cw-home"
        self.alpha = root / "alpha"
        self.beta = root / "beta"
        self.env = {
            "HOME": str(root),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_CACHE_HOME": str(root / "cache"),
            "CW_HOME": str(self.home),
        }

    def repo_of(self, run_id: str) -> Path:
        return self.alpha if EXPECTED[run_id][0] == "alpha" else self.beta


def build(cw: Cli, w: World) -> None:
    for d in (w.home, w.alpha, w.beta):
        d.mkdir(parents=True)
    policy = json.loads((Path(__file__).resolve().parents[1] / "manifest" / "pricing.policy.json").read_text())
    policy["id"] = "bundled-prices-default-without-cache"
    policy["defaultPrice"] = {k: policy["defaultPrice"][k] for k in ("inputPerMillion", "outputPerMillion")}
    (w.home / "pricing.json").write_text(json.dumps(policy))
    (w.home / "config.toml").write_text('pricing = "pricing.json"\n')

    def run(rid: str, tasks: list[tuple[str, dict[str, Any] | None]], env: dict[str, str] | None = None, *new: str):
        repo = w.repo_of(rid)
        (repo / "res.md").write_text(RESULT)
        _, app, actor = EXPECTED[rid][:3]
        who = () if actor.startswith("cron:") else ("--actor", actor)
        cw.ok("run", "new", "--id", rid, "--app", app, *who, *new, "--cwd", repo, env=env)
        for task, _ in tasks:
            cw.ok("task", "add", rid, task, "--cwd", repo, env=env)
        cw.ok("dispatch", rid, "--cwd", repo, env=env)
        for task, usage in tasks:
            flags: list[str] = []
            for k, v in (usage or {}).items():
                flags += [f"--usage-{k}", str(v)]
            if usage:
                flags += ["--usage-attested-at", ATTESTED_AT]
            cw.ok("result", rid, task, str(repo / "res.md"), *flags, "--cwd", repo, env=env)

    sonnet = {"model": "claude-sonnet-4-5", "input-tokens": 50_000, "cache-read-tokens": 120_000}
    sonnet |= {"cache-write-tokens": 20_000, "output-tokens": 8_000}
    run("a-shop-1", [("t1", sonnet), ("t2", None)], None, "--cost-budget", "5.00", "USD")
    mini = {"model": "gpt-4o-mini", "input-tokens": 1_000_000, "cache-read-tokens": 400_000, "output-tokens": 50_000}
    house = {"model": "house-model-7", "input-tokens": 10_000, "output-tokens": 2_000}
    run("a-triage-1", [("t1", mini), ("t2", house)], {"CW_CRON_NAME": "nightly"}, "--token-budget", "2000000")
    mystery = {"model": "mystery-x", "input-tokens": 5_000, "cache-read-tokens": 3_000, "output-tokens": 1_000}
    haiku = {"model": "claude-haiku-4-5", "input-tokens": 20_000, "output-tokens": 4_000}
    run("b-shop-2", [("t1", mystery), ("t2", haiku)], None, "--cost-budget", "1.00", "USD")
    run("b-docs-1", [("t1", None)])
    run("b-cent-1", [("t1", {"model": "gpt-4o-mini", "input-tokens": 33_330, "output-tokens": 0})])
    a, b = str(w.alpha), str(w.beta)
    cw.ok(
        "revenue", "add", "a-shop-1", "100.00", "EUR", "--ref", "INV-1", "--at", "2026-11-10T10:00:00.000Z", "--cwd", a
    )
    cw.ok(
        "revenue", "reverse", "a-shop-1", "rev-0001", "--amount", "30.00", "--reason", "partial refund",
        "--at", "2026-11-12T10:00:00.000Z", "--cwd", a,
    )  # fmt: skip
    cw.ok(
        "revenue", "add", "a-triage-1", "1500", "JPY", "--ref", "INV-2", "--at", "2026-11-15T10:00:00.000Z", "--cwd", a
    )
    cw.ok(
        "revenue", "add", "b-shop-2", "50.00", "USD", "--ref", "INV-3", "--at", "2026-11-16T10:00:00.000Z", "--cwd", b
    )
    cw.ok(
        "revenue", "add", "b-cent-1", "10.00", "USD", "--ref", "INV-4", "--at", "2026-11-17T10:00:00.000Z", "--cwd", b
    )
    cw.ok("registry", "add", a)
    cw.ok("registry", "add", b)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("xsurface"))
    with pytest.MonkeyPatch.context() as mp:
        for k, v in w.env.items():
            mp.setenv(k, v)
        for k in CLEARED:
            mp.delenv(k, raising=False)
        mp.chdir(w.root)
        build(Cli(), w)
    yield w


@pytest.fixture(autouse=True)
def in_world(world: World, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in the module's workspace (after conftest's per-test home)."""
    for k, v in world.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(world.alpha)


# ---------------------------------------------------------------------------
# the calls every surface makes


def calls(w: World) -> list[tuple[str, dict[str, Any]]]:
    """(capability, handler arguments) for every payload the test compares."""
    out: list[tuple[str, dict[str, Any]]] = []
    for rid in RUNS:
        out.append(("metrics.show", {"run_id": rid, "now": NOW, "cwd": str(w.repo_of(rid))}))
        out.append(("budget", {"run_id": rid, "now": NOW, "cwd": str(w.repo_of(rid))}))
    out.append(("metrics.summary", {"scope": "home", "now": NOW}))
    for by in ("run", "actor", "app", "model"):
        out.append(("pnl", {"scope": "home", "by": by, "now": NOW}))
    out.append(("revenue.list", {"scope": "home", "now": NOW}))
    out.append(("ledger.verify", {"scope": "home", "now": NOW}))
    return out


def key(name: str, args: dict[str, Any]) -> str:
    return f"{name} {json.dumps(args, sort_keys=True)}"


@pytest.fixture(scope="module")
def cli_out(world: World) -> dict[str, str]:
    """The CLI's ``--json`` stdout for every call (metrics show runs first, so its snapshots exist)."""
    cw = Cli()
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in world.env.items():
            mp.setenv(k, v)
        mp.chdir(world.alpha)
        for name, args in calls(world):
            res = cw(*cli_argv(by_name(name), args))
            assert res.exit_code == 0, f"{name} {args}: {res.stderr}"
            out[key(name, args)] = res.stdout
    return out


@pytest.fixture(scope="module")
def payloads(cli_out: dict[str, str]) -> dict[str, Any]:
    return {k: json.loads(v, parse_float=Decimal) for k, v in cli_out.items()}


def P(payloads: dict[str, Any], name: str, **args: Any) -> Any:
    return payloads[key(name, {**args, "now": NOW})]


def show(payloads: dict[str, Any], world: World, rid: str) -> Any:
    return P(payloads, "metrics.show", run_id=rid, cwd=str(world.repo_of(rid)))


def rows(payload: dict[str, Any]) -> dict[str, Any]:
    return {r["key"]: r for r in payload["rows"]}


def dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


MILLIONTH = Decimal("0.000001")


def to_six(x: Decimal) -> Decimal:
    """The six-place form of an exact cost, as metrics payloads give ``attestedUsd`` / ``estimatedUsd`` (CW's)."""
    return x.quantize(MILLIONTH, rounding=ROUND_HALF_UP)


def six_place_sum(cost: dict[str, Any]) -> Decimal:
    return sum((dec(cost[k]) or Decimal(0) for k in ("attestedUsd", "estimatedUsd")), Decimal(0))


# ---------------------------------------------------------------------------
# the JSON payloads agree with each other and with the hand-worked figures


@pytest.mark.parametrize("rid", RUNS)
def test_each_run_reads_the_same_in_every_payload(world, payloads, rid):
    _, app, actor, state, units, reported, spend, revenue = EXPECTED[rid]
    m = show(payloads, world, rid)
    row = rows(P(payloads, "pnl", scope="home", by="run"))[rid]
    summary_run = next(r for r in P(payloads, "metrics.summary", scope="home")["runs"] if r["runId"] == rid)
    budget = P(payloads, "budget", run_id=rid, cwd=str(world.repo_of(rid)))
    cov = Decimal(reported) / Decimal(units)

    # state and coverage: the hand-worked ones, in metrics show, the summary's run entry and the P&L row
    for where, got_state, got_cov in (
        ("metrics show", m["cost"]["state"], m["usage"]["coverage"]),
        ("summary run", summary_run["cost"]["state"], summary_run["usage"]["coverage"]),
        ("pnl --by run", row["spendState"], row["coverage"]),
    ):
        assert got_state == state, f"{rid}: {where} says {got_state}"
        assert abs(dec(got_cov) - cov) <= Decimal("0.0000005"), f"{rid}: {where} coverage {got_cov}"
    assert (m["usage"]["units"], m["usage"]["attestedUnits"]) == (units, reported)
    assert row["units"]["total"] == units and units - row["units"]["unreported"] == reported
    assert summary_run["usage"]["units"] == units and summary_run["usage"]["attestedUnits"] == reported
    assert (budget["units"], budget["unreportedUnits"]) == (units, units - reported)
    assert summary_run["app"] == app and m["scope"]["app"] == app and budget["actor"] == actor

    # spend: exact in metrics show and the summary, rounded once in the P&L and metrics show's net
    exact = [dec(m["cost"][k]) for k in ("attestedUsd", "estimatedUsd") if m["cost"][k] is not None]
    if state == "unreported":
        assert exact == [] and summary_run["cost"]["attestedUsd"] is None
    else:
        assert abs(sum(exact) - spend) <= MILLIONTH and to_six(spend) in (sum(exact), *exact)
        assert six_place_sum(summary_run["cost"]) == sum(exact)
    assert dec(row["spend"]) == cents(spend)

    # the run's budgets count the same spend and tokens, and fail closed on the same gaps
    if budget["costBudget"] is not None:
        limit = dec(budget["costBudget"]["limit"])
        assert dec(budget["costBudget"]["spent"]) == spend and dec(budget["costBudget"]["remaining"]) == cents(
            limit - spend
        )
        assert len(budget["costBudget"]["unknownUnits"]) == row["units"]["unpriced"]
        assert budget["dispatch"]["allowed"] == (row["units"]["unpriced"] == 0 and reported == units)
    if budget["tokenBudget"] is not None:
        assert budget["tokenBudget"]["spent"] == m["usage"]["totalTokens"]
    has_budget = budget["costBudget"] is not None or budget["tokenBudget"] is not None
    assert has_budget == (rid in ("a-shop-1", "a-triage-1", "b-shop-2")), f"{rid}: the budgets set at run new"

    # revenue and net, in USD, at the dated rates
    if revenue is None:
        assert m.get("revenue") is None and dec(row["revenue"]) == 0
        return
    assert dec(m["net"]["revenue"]) == dec(row["revenue"]) == cents(revenue)
    assert dec(m["net"]["spend"]) == dec(row["spend"]) == cents(spend)
    assert dec(m["net"]["net"]) == dec(row["net"]) == cents(revenue - spend)
    assert m["net"]["complete"] == row["netComplete"] == (state in ("attested", "estimated") and reported == units)
    assert m["net"]["reasons"] == row["reasons"]  # the same words for the same gap
    assert m["net"]["currency"] == P(payloads, "pnl", scope="home", by="run")["currency"] == "USD"

    # the ledger's own view of the run: entries, per-currency nets, the chain
    listed = [e for e in P(payloads, "revenue.list", scope="home")["entries"] if e["runId"] == rid]
    assert len(listed) == m["revenue"]["entries"]
    for c in m["revenue"]["byCurrency"]:
        assert sum(dec(e["amount"]) for e in listed if e["currency"] == c["currency"]) == dec(c["net"])
    ledger = next(r for r in P(payloads, "ledger.verify", scope="home")["runs"] if r["runId"] == rid)
    assert ledger["ok"] and ledger["entries"] == m["revenue"]["entries"]


def test_the_reversal_and_the_currencies_are_booked_as_given(payloads):
    listing = P(payloads, "revenue.list", scope="home")
    totals = {t["currency"]: (dec(t["booked"]), dec(t["reversed"]), dec(t["net"])) for t in listing["totals"]}
    assert totals == {
        "EUR": (Decimal(100), Decimal(30), Decimal(70)),
        "JPY": (Decimal(1500), Decimal(0), Decimal(1500)),
        "USD": (Decimal(60), Decimal(0), Decimal(60)),
    }
    assert listing["entryCount"] == 5
    assert P(payloads, "ledger.verify", scope="home")["ok"] is True


def group_expectation(field: int, value: str) -> tuple[str, int, int, Decimal, Decimal]:
    """(state, units, reported, exact spend, exact revenue) of the runs whose EXPECTED[field] is value."""
    members = [e for e in EXPECTED.values() if e[field] == value]
    states = {e[3] for e in members}
    # the union of runs: unpriced if any is, else estimated, else attested; unreported only if every run is
    state = next((s for s in ("unpriced", "estimated", "attested") if s in states), "unreported")
    return (
        state,
        sum(e[4] for e in members),
        sum(e[5] for e in members),
        sum((e[6] for e in members), Decimal(0)),
        sum((e[7] or Decimal(0) for e in members), Decimal(0)),
    )


@pytest.mark.parametrize(
    ("by", "field", "value"),
    [
        ("actor", 2, "alice"),
        ("actor", 2, "bob"),
        ("actor", 2, "cron:nightly"),
        ("app", 1, "shop"),
        ("app", 1, "triage"),
        ("app", 1, "docs"),
    ],
)
def test_each_actor_and_app_reads_the_same_in_the_summary_and_the_pnl(payloads, by, field, value):
    state, units, reported, spend, revenue = group_expectation(field, value)
    row = rows(P(payloads, "pnl", scope="home", by=by))[value]
    summary = P(payloads, "metrics.summary", scope="home")
    group = next(g for g in summary["byActor" if by == "actor" else "byApp"] if g["key"] == value)
    assert row["spendState"] == group["cost"]["state"] == state
    assert group["usage"]["units"] == row["units"]["total"] == units
    assert group["usage"]["attestedUnits"] == units - row["units"]["unreported"] == reported
    assert dec(group["usage"]["coverage"]) == dec(row["coverage"])
    assert abs(dec(row["coverage"]) - Decimal(reported) / units) <= Decimal("0.0000005")
    assert abs(six_place_sum(group["cost"]) - spend) <= MILLIONTH and dec(row["spend"]) == cents(spend)
    assert dec(row["revenue"]) == cents(revenue)
    assert dec(row["net"]) == cents(revenue - spend)


def test_the_totals_and_the_model_rows_add_up(payloads):
    by_model = P(payloads, "pnl", scope="home", by="model")
    models = rows(by_model)
    assert models["claude-sonnet-4-5"]["spendState"] == "attested" and dec(
        models["claude-sonnet-4-5"]["spend"]
    ) == cents(SONNET)
    assert models["house-model-7"]["spendState"] == "estimated" and dec(models["house-model-7"]["spend"]) == cents(
        HOUSE
    )
    assert models["mystery-x"]["spendState"] == "unpriced"
    spend, revenue = SPEND, REVENUE
    units = sum(e[4] for e in EXPECTED.values())
    reported = sum(e[5] for e in EXPECTED.values())
    summary = P(payloads, "metrics.summary", scope="home")
    for by in ("run", "actor", "app", "model"):
        t = P(payloads, "pnl", scope="home", by=by)["totals"]
        assert t["spendState"] == summary["cost"]["state"] == "unpriced", by
        assert t["units"]["total"] == summary["usage"]["units"] == units, by
        assert t["units"]["total"] - t["units"]["unreported"] == summary["usage"]["attestedUnits"] == reported, by
        assert dec(t["spend"]) == cents(spend) and dec(t["revenue"]) == cents(revenue), by
        assert dec(t["net"]) == cents(revenue - spend), by
        assert t["netComplete"] is False
    assert abs(six_place_sum(summary["cost"]) - spend) <= MILLIONTH


# ---------------------------------------------------------------------------
# the other surfaces give the CLI's payloads exactly


def test_the_python_api_returns_the_cli_payloads(world, payloads):
    from cw.api import Workspace

    for name, args in calls(world):
        cap = by_name(name)
        repo = args.get("cwd") or str(world.alpha)
        ws = Workspace(repo, home=str(world.home))
        kwargs = {k: v for k, v in args.items() if k != "cwd"}
        got = getattr(ws, "_".join(cap.path))(**kwargs)
        assert got == payloads[key(name, args)], f"cw.api {name} {args} differs from the CLI"


def test_mcp_tools_return_the_cli_bytes(world, cli_out):
    mcp = require_module("mcp", "the MCP SDK is the optional extra cw-runs[mcp]; `make test` installs it")
    import anyio

    from cw.surfaces.mcp_server import build_server

    async def main() -> dict[str, str]:
        got = {}
        async with mcp.Client(build_server(), read_timeout_seconds=120) as client:
            for name, args in calls(world):
                cap = by_name(name)
                res = await client.call_tool(cap.tool_name, mcp_args(cap, args))
                assert not res.is_error, f"{cap.tool_name} {args}: {res.content[0].text}"
                got[key(name, args)] = res.content[0].text + "\n"
        return got

    got = anyio.run(main)
    for k, text in cli_out.items():
        assert got[k] == text, f"MCP {k} differs from the CLI"


def test_the_workbench_api_serves_the_cli_bytes(world, cli_out):
    with running(scope="home") as server:
        for name, args in calls(world):
            query = urlencode(mcp_args(by_name(name), args))
            assert get_ok(server, f"/api/{name}?{query}") == cli_out[key(name, args)], f"/api/{name} {args}"


# ---------------------------------------------------------------------------
# text and pages show the same figures


def money_text(v: Any) -> str:
    return format(cents(dec(v)), "f")


def pct_text(v: Any) -> str:
    return f"{(dec(v) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def cli_text(world: World, *argv: str) -> str:
    res = Cli()(*argv, "--now", NOW)
    assert res.exit_code == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize("rid", RUNS)
def test_metrics_show_text_shows_the_payload_figures(world, payloads, rid):
    m = show(payloads, world, rid)
    text = cli_text(world, "metrics", "show", rid, "--cwd", str(world.repo_of(rid)))
    usage = re.search(r"usage: attested=(\d+)/(\d+) units \(coverage (\d+%)\), unreported=(\d+)", text)
    assert usage, text
    u = m["usage"]
    assert usage.groups() == (
        str(u["attestedUnits"]),
        str(u["units"]),
        pct_text(u["coverage"]),
        str(u["unreportedUnits"]),
    )
    assert re.search(rf"cost:\s+state={m['cost']['state']}\b", text), text
    if m["cost"]["attestedUsd"] is not None:
        assert f"attested=USD {m['cost']['attestedUsd']}" in text
    if m.get("net"):
        n = m["net"]
        line = (
            f"net:   USD revenue={money_text(n['revenue'])} spend={money_text(n['spend'])} net={money_text(n['net'])}"
        )
        assert line in text, text
        assert ("  not complete" in text) == (not n["complete"])


def pnl_table(text: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("key "))
    out = {}
    for line in lines[head + 1 :]:
        if line.startswith("* ") or not line.strip():
            break
        cells = line.removesuffix(" *").split()  # " *": the row has reasons, listed below the table
        out[" ".join(cells[:-8])] = cells[-8:]  # a key may hold a space: "(no model)"
    return out


@pytest.mark.parametrize("by", ["run", "actor", "app", "model"])
def test_pnl_text_shows_the_payload_figures(world, payloads, by):
    payload = P(payloads, "pnl", scope="home", by=by)
    table = pnl_table(cli_text(world, "pnl", "--scope", "home", "--by", by))
    for row in [*payload["rows"], {"key": "total", **payload["totals"]}]:
        cells = table[row["key"]]
        runs, units, spend, state, cov, revenue, net, complete = cells[:8]
        assert (runs, units) == (str(row["runs"]), str(row["units"]["total"])), row["key"]
        # units of which none is priced: their spend (and so the net) is unknown, never shown as 0.00
        u = row["units"]
        sides = {x["side"] for r in (payload["rows"] if row["key"] == "total" else [row]) for x in r["unconverted"]}
        unknown = (u["total"] > 0 and u["attested"] + u["estimated"] == 0) or "spend" in sides
        assert spend == ("n/a" if unknown else money_text(row["spend"])) and state == row["spendState"], row["key"]
        assert cov == (pct_text(row["coverage"]) if row["coverage"] is not None else "n/a"), row["key"]
        assert revenue == ("n/a" if "revenue" in sides else money_text(row["revenue"])), row["key"]
        assert net == ("n/a" if unknown or "revenue" in sides else money_text(row["net"])), row["key"]
        assert complete == ("yes" if row["netComplete"] else "no"), row["key"]


def test_summary_and_revenue_text_show_the_payload_figures(world, payloads):
    summary = P(payloads, "metrics.summary", scope="home")
    text = cli_text(world, "metrics", "summary", "--scope", "home")
    for group, label in (("byApp", "app"), ("byActor", "actor")):
        for g in summary[group]:
            line = next(x for x in text.splitlines() if x.strip().startswith(f"{label} {g['key']}:"))
            assert f"cost=state={g['cost']['state']}" in line, line
            if g["cost"]["attestedUsd"] is not None:
                assert f"attested=USD {g['cost']['attestedUsd']}" in line, line
            if g["cost"]["estimatedUsd"] is not None:
                assert f"estimated=USD {g['cost']['estimatedUsd']}" in line, line
    listing = P(payloads, "revenue.list", scope="home")
    text = cli_text(world, "revenue", "list", "--scope", "home")
    for t in listing["totals"]:
        step = Decimal(1) if t["currency"] == "JPY" else CENT  # JPY has no minor unit
        booked, reversed_, net = (format(dec(t[k]).quantize(step), "f") for k in ("booked", "reversed", "net"))
        want = f"total {t['currency']}: booked={booked}  reversed={reversed_}  net={net}"
        assert want in text, text


def page_fields(server, path: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(payload name, data-path) -> field, for every value a page shows."""
    page = read_page(get_ok(server, path))
    return {(f["block"][0], f["path"]): f for f in page.fields if f["block"]}


def shows(field: dict[str, Any], value: Any) -> None:
    """The page element holds the payload value and shows its figure."""
    assert field["value"] == json.loads(dumps(value)), field
    text = " ".join(field["text"].split())
    if value is None:
        assert text in ("n/a", "unreported", "unpriced", "—"), field
    elif isinstance(value, str):
        assert value in text, field
    else:
        assert re.search(r"-?\d[\d,.]*", text), field
        shown = Decimal(re.search(r"-?\d[\d,]*(?:\.\d+)?", text).group(0).replace(",", ""))
        if "%" in text:
            assert shown == (dec(value) * 100).quantize(shown), field
        else:
            assert shown == dec(value).quantize(shown) if shown.as_tuple().exponent < 0 else shown == dec(value), field


def test_workbench_pages_show_the_payload_figures(world, payloads):
    with running(scope="home") as server:
        for rid in RUNS:
            m = show(payloads, world, rid)
            fields = page_fields(server, f"/run/{quote(rid)}?repo={quote(str(world.repo_of(rid)))}")
            for path, value in (
                ("cost.state", m["cost"]["state"]),
                ("usage.coverage", m["usage"]["coverage"]),
                ("usage.attestedUnits", m["usage"]["attestedUnits"]),
                ("usage.units", m["usage"]["units"]),
            ):
                assert ("metrics.show", path) in fields, f"/run/{rid} does not show {path}"
                shows(fields[("metrics.show", path)], value)
            # the run page's revenue and net cards are the run's row of the P&L by run
            row = rows(P(payloads, "pnl", scope="home", by="run"))[rid]
            shown = {
                p.split(".", 2)[2]: f for (name, p), f in fields.items() if name == "pnl" and p.startswith("rows.")
            }
            for part in ("revenue", "spend", "spendState", "coverage", "net", "netComplete"):
                assert part in shown, f"/run/{rid} does not show its P&L row's {part}"
                if part != "netComplete":
                    shows(shown[part], row[part])
            assert shown["netComplete"]["value"] == row["netComplete"]
        for by in ("run", "actor", "app"):
            payload = P(payloads, "pnl", scope="home", by=by)
            fields = page_fields(server, f"/pnl?by={by}&scope=home")
            for i, row in enumerate(payload["rows"]):
                for part in ("spend", "spendState", "coverage", "revenue", "net"):
                    f = fields.get(("pnl", f"rows.{i}.{part}"))
                    assert f is not None, f"/pnl?by={by} does not show rows.{i}.{part}"
                    shows(f, row[part])
        summary = P(payloads, "metrics.summary", scope="home")
        fields = page_fields(server, "/summary?scope=home")
        for group in ("byApp", "byActor"):
            for i, g in enumerate(summary[group]):
                f = fields.get(("metrics.summary", f"{group}.{i}.cost.state"))
                assert f is not None, f"/summary does not show {group}.{i}.cost.state"
                shows(f, g["cost"]["state"])


def test_nothing_in_the_workspace_is_left_unchecked(world):
    """The call plan covers every run on disk (a run added to the builder must be added to EXPECTED)."""
    on_disk = sorted(p.name for repo in (world.alpha, world.beta) for p in (repo / ".cw" / "runs").iterdir())
    assert on_disk == sorted(RUNS)
    assert os.environ["CW_HOME"] == str(world.home)


def test_the_configured_reporting_currency_is_every_nets_currency(world):
    """``currency = "EUR"`` in the config: metrics show's net and cw pnl's rows are both in EUR, and agree."""
    config = world.home / "config.toml"
    before = config.read_text()
    config.write_text(before + 'currency = "EUR"\n')
    try:
        cw = Cli()
        pnl = cw.json("pnl", "--scope", "home", "--by", "run", "--now", NOW)
        assert pnl["currency"] == "EUR"
        by_run = rows(pnl)
        for rid in RUNS:
            m = cw.json("metrics", "show", rid, "--cwd", str(world.repo_of(rid)), "--now", NOW)
            if m.get("net") is None:
                continue
            row = by_run[rid]
            assert m["net"]["currency"] == "EUR", rid
            for part in ("revenue", "spend", "net"):
                assert dec(m["net"][part]) == dec(row[part]), f"{rid} {part}"
            assert m["net"]["complete"] == row["netComplete"] and m["net"]["reasons"] == row["reasons"], rid
        # by hand: the EUR revenue stays as booked; USD spend and revenue convert at 1 EUR = 1.1607 USD
        assert dec(by_run["a-shop-1"]["revenue"]) == Decimal("70.00")
        assert dec(by_run["a-shop-1"]["spend"]) == cents(SONNET / EUR_USD) == Decimal("0.33")
        assert dec(by_run["a-shop-1"]["net"]) == cents(Decimal(70) - SONNET / EUR_USD) == Decimal("69.67")
        assert dec(by_run["b-shop-2"]["revenue"]) == cents(BOB_REV / EUR_USD) == Decimal("43.08")
    finally:
        config.write_text(before)


def test_per_actor_reports_group_as_documented_when_a_result_names_another_actor(tmp_path):
    """docs/actors.md: the P&L gives a unit's spend to the unit's actor (who caused it); the summary groups
    whole runs by the run's actor (who started it). Same spend, same state, each where its rule puts it."""
    repo = tmp_path / "mixed"
    repo.mkdir()
    (repo / "res.md").write_text(RESULT)
    cw, where = Cli(), ("--cwd", str(repo))
    cw.ok("run", "new", "--id", "mix-1", "--app", "docs", "--actor", "dana", *where)
    cw.ok("task", "add", "mix-1", "t1", *where)
    cw.ok("dispatch", "mix-1", *where)
    usage = ("--usage-model", "claude-haiku-4-5", "--usage-input-tokens", "1000000", "--usage-output-tokens", "0")
    cw.ok("result", "mix-1", "t1", str(repo / "res.md"), *usage, "--actor", "erin", *where)
    # claude-haiku-4-5: 1,000,000 input tokens at USD 1 per million, caused by erin in dana's run
    pnl = rows(cw.json("pnl", "--by", "actor", "--now", NOW, *where))
    assert pnl["dana"]["units"]["total"] == 0  # dana's run, none of its spend
    assert pnl["erin"]["spendState"] == "attested" and dec(pnl["erin"]["spend"]) == Decimal("1.00")
    summary = {g["key"]: g for g in cw.json("metrics", "summary", "--now", NOW, *where)["byActor"]}
    assert set(summary) == {"dana"}
    assert summary["dana"]["cost"]["state"] == "attested"
    assert dec(summary["dana"]["cost"]["attestedUsd"]) == Decimal(1)
