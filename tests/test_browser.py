"""The workbench in a real browser (headless Chromium driven by Playwright).

What the browser shows must be what the command line prints: every tagged
value on every page equals the value at its path in the ``--json`` payload of
the same query, run through the CLI here; the rendered bars are as long as
their values say and name their value on hover; the controls (filters,
window, period, stack, currency, attribution, table sorting) change the URL
and the figures as the CLI says they should; the stylesheet and the sorting
script load under the page's Content-Security-Policy; the console stays
clean. Screenshots for the docs are written to a temporary directory, or to
the directory ``CW_SCREENSHOTS`` names (``CW_SCREENSHOTS=docs/screenshots``
refreshes the ones the docs show).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, require, require_module
from test_loops import FIXTURE_RUN, LOOP_FIXTURE
from test_workbench import NULL_WORDS, at, cli_argv, populate, running

from cw.capabilities import by_name

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRICING = "default"  # the workbench below runs with --pricing default; the CLI calls name it too

pytestmark = [pytest.mark.browser]

# Every element tagged with a payload path, with its block, exact value and what the browser renders.
COLLECT = """() => Array.from(document.querySelectorAll('[data-path]')).filter(e => e.tagName !== 'rect').map(e => {
  const block = e.closest('[data-payload]');
  return {path: e.dataset.path, value: e.dataset.value, text: e.textContent.trim(),
          name: block ? block.dataset.payload : null, args: block ? block.dataset.args : null,
          visible: !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)};
})"""
BARS = """() => Array.from(document.querySelectorAll('svg rect[data-value]')).map(e => {
  const block = e.closest('[data-payload]');
  const box = e.getBoundingClientRect();
  const title = e.querySelector('title');
  return {key: e.dataset.key, series: e.dataset.series, value: e.dataset.value, path: e.dataset.path,
          args: block ? block.dataset.args : null, width: box.width, height: box.height,
          title: title ? title.textContent : null, plot: e.ownerSVGElement.getBoundingClientRect().width};
})"""
ROW_KEYS = """sel => Array.from(document.querySelectorAll(sel + ' tbody tr')).map(r => r.cells[0].textContent.trim())"""


@pytest.fixture
def browser():
    require(
        CHROMIUM.exists(),
        "needs Debian's chromium at /usr/bin/chromium (`make test` installs it: apt-get install chromium)",
    )
    sync_api = require_module("playwright.sync_api", "the playwright package drives chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = os.environ.get("CW_SCREENSHOTS")
    out = (REPO_ROOT / target) if target and not Path(target).is_absolute() else Path(target or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def site(cw, repo, tmp_path):
    populate(cw, repo, tmp_path / "other")
    cw.ok("budget", "set", "--actor", "alice", "--period", "month", "--tokens", "2000000")
    cw.ok("budget", "set", "--actor", "bob", "--period", "week", "--cost", "10.00", "USD")
    loop_run = repo / ".cw" / "runs" / FIXTURE_RUN  # CW's two-round budget-target loop
    loop_run.mkdir(parents=True)
    (loop_run / "state.json").write_bytes(LOOP_FIXTURE.read_bytes())
    with running(pricing=PRICING) as server:
        yield server


def _open(browser, server, path: str, errors: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    res = page.goto(url)
    assert res is not None and res.status == 200, path
    return page


def cli_payload(cw, name: str, args: dict[str, Any], cache: dict[str, Any]) -> Any:
    """The ``--json`` payload of the CLI for a block's query (MCP argument names), with the workbench's pricing."""
    key = f"{name} {json.dumps(args, sort_keys=True)}"
    if key not in cache:
        cap = by_name(name)
        names = {p.mcp_key: p.name for p in cap.params}
        handler = {names[k]: v for k, v in args.items()}
        if any(p.name == "pricing" for p in cap.params):
            handler.setdefault("pricing", PRICING)
        cache[key] = cw.json(*cli_argv(cap, handler)[:-1])  # cli_argv ends in --json, which cw.json adds
    return cache[key]


def check_fields(cw, fields: list[dict[str, Any]], where: str, cache: dict[str, Any] | None = None) -> None:
    """Every tagged value equals the CLI's value at its path; a visible null reads as a blank word, never 0."""
    cache = {} if cache is None else cache
    assert fields, f"{where}: no tagged values"
    for f in fields:
        assert f["name"], f"{where}: {f['path']} outside a payload block"
        if f["path"] == "generatedAt":
            continue
        expected = at(cli_payload(cw, f["name"], json.loads(f["args"]), cache), f["path"])
        assert json.loads(f["value"]) == expected, f"{where}: {f['name']} {f['path']}"
        if f["visible"] and expected is None:
            assert f["text"] in NULL_WORDS, f"{where}: null {f['path']} renders as {f['text']!r}"
        if f["visible"] and isinstance(expected, (int, float)) and not isinstance(expected, bool):
            assert f["text"] not in NULL_WORDS, f"{where}: {f['path']} = {expected} renders as {f['text']!r}"


def money(value: Any, minor: int = 2) -> str:
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-minor)))


def test_every_page_shows_the_numbers_the_cli_prints(browser, site, cw):
    errors: list[str] = []
    for path in (
        "/summary",  # first: the CLI's metrics show below writes snapshots, which the summary reports on
        "/",
        "/?app=shop",
        "/pnl",
        "/pnl?by=app",
        "/pnl?by=run",
        "/pnl?by=model",
        "/pnl?period=week&since=2026-06-01&currency=EUR&attribution=linear",
        "/pnl?period=month&stack=model",
        "/budgets",
        "/run/fixture-run",
        "/run/build-1",
        "/run/build-2?currency=EUR",
        "/run/empty-run",
        f"/run/{FIXTURE_RUN}",
    ):
        page = _open(browser, site, path, errors)
        check_fields(cw, page.evaluate(COLLECT), path)
        # the stylesheet applied and the sorting script ran: the CSP let both in
        assert (
            page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") == "rgb(29, 35, 48)"
        ), path
        assert page.evaluate("document.querySelectorAll('table.sortable th button.sort').length") > 0, path
        page.close()
    assert errors == []


def test_rendered_figures_read_as_cw_compat_says(browser, site):
    """CW's fixture run, as cw-compat §3 and §11 state its figures, and the empty run's honest blanks."""
    errors: list[str] = []
    page = _open(browser, site, "/run/fixture-run", errors)
    text = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["name"] == "metrics.show"}
    assert text["rates.failure.rate"] == "50.0%" and text["rates.failure.count"] == "4"
    assert text["rates.failure.total"] == "8"
    assert text["rates.verifierPass.rate"] == "66.7%" and text["rates.verifierPass.total"] == "3"
    assert text["rates.candidateAcceptance.count"] == "1"
    assert text["time.run.wallClockMs"] == "600.0s" and text["time.activeTaskMs"] == "180.0s"
    assert text["usage.coverage"] == "67%" and text["usage.totalTokens"] == "1800"
    assert text["cost.state"] == "estimated"
    page.close()
    page = _open(browser, site, "/run/empty-run", errors)
    text = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["name"] == "metrics.show"}
    assert text["rates.verifierPass.rate"] == "n/a" and text["usage.coverage"] == "n/a"
    assert text["cost.attestedUsd"] == "unreported" and text["cost.state"] == "unreported"
    page.close()
    assert errors == []


def test_pnl_bars_are_as_long_as_their_values_and_name_them_on_hover(browser, site, cw, shots):
    errors: list[str] = []
    page = _open(browser, site, "/pnl", errors)
    pnl = cw.json("pnl", "--pricing", PRICING)
    bars = [b for b in page.evaluate(BARS) if json.loads(b["args"]) == {"by": "actor"}]
    by_series: dict[str, dict[str, dict[str, Any]]] = {}
    for b in bars:
        by_series.setdefault(b["series"], {})[b["key"]] = b
    assert set(by_series) == {"spend", "revenue", "net"}
    for series in ("spend", "revenue", "net"):
        assert list(by_series[series]) == [r["key"] for r in pnl["rows"]], series
        for r in pnl["rows"]:
            bar = by_series[series][r["key"]]
            assert json.loads(bar["value"]) == r[series]
            # the hover text names the row, the series and the amount at the currency's minor units
            assert bar["title"] == f"{r['key']} · {series}: {money(r[series])} USD"
    # one scale per chart: each rendered bar is |value| x (the longest bar's width / its |value|), to half a pixel
    for series_group in (("spend", "revenue"), ("net",)):
        group = [b for s in series_group for b in by_series[s].values()]
        longest = max(group, key=lambda b: abs(Decimal(b["value"])))
        assert Decimal(longest["value"]) != 0 and longest["width"] > 100, series_group
        px_per_unit = Decimal(str(longest["width"])) / abs(Decimal(longest["value"]))
        for b in group:
            want = abs(Decimal(b["value"])) * px_per_unit
            assert abs(Decimal(str(b["width"])) - want) <= Decimal("0.5"), (b["key"], b["series"], b["width"], want)
    # the table and the figures behind each chart show the same amounts at the currency's minor units
    cells = [f for f in page.evaluate(COLLECT) if f["name"] == "pnl" and json.loads(f["args"]) == {"by": "actor"}]
    for i, r in enumerate(pnl["rows"]):
        for col in ("spend", "revenue", "net"):
            shown = [f["text"] for f in cells if f["path"] == f"rows.{i}.{col}"]
            assert len(shown) >= 2, (r["key"], col)  # the table row and the chart's own table
            assert all(t in (money(r[col]), f"{money(r[col])} USD") for t in shown), (r["key"], col, shown)
    page.screenshot(path=str(shots / "workbench.png"), full_page=True)
    assert (shots / "workbench.png").stat().st_size > 10_000
    page.close()
    assert errors == []


def test_the_filter_form_and_links_work_in_the_browser(browser, site, cw):
    errors: list[str] = []
    page = _open(browser, site, "/", errors)
    page.select_option("select[name=app]", "shop")
    page.select_option("select[name=actor]", "bob")
    page.click("form.filters button")
    page.wait_for_load_state()
    assert "app=shop" in page.url and "actor=bob" in page.url
    shown = page.eval_on_selector_all("tr[data-run-id]", "rows => rows.map(r => r.dataset.runId)")
    expected = cw.json("run", "list", "--app", "shop", "--actor", "bob")
    assert shown == [r["runId"] for r in expected["runs"]] == ["build-2"]
    page.click("tr[data-run-id=build-2] a")
    page.wait_for_load_state()
    assert page.url.endswith("/run/build-2")
    assert page.inner_text("h1").startswith("Run build-2")
    page.close()
    assert errors == []


def _period_cells(page) -> dict[str, str]:
    return {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["path"].startswith("periods.")}


def test_the_pnl_controls_change_the_url_and_the_figures(browser, site, cw, shots):
    errors: list[str] = []
    page = _open(browser, site, "/pnl", errors)
    page.fill("form.pnl-controls input[name=since]", "2026-06-01")
    page.fill("form.pnl-controls input[name=until]", "2026-06-15")
    page.select_option("form.pnl-controls select[name=period]", "week")
    page.click("form.pnl-controls button")
    page.wait_for_load_state()
    assert "period=week" in page.url and "since=2026-06-01" in page.url and "until=2026-06-15" in page.url
    window = ("--since", "2026-06-01", "--until", "2026-06-15", "--period", "week", "--pricing", PRICING)
    usd = cw.json("pnl", *window)
    assert [p["period"] for p in usd["periods"]] == ["2026-W23", "2026-W24"]
    cells = _period_cells(page)
    for i, p in enumerate(usd["periods"]):
        for col in ("spend", "revenue", "net"):
            assert cells[f"periods.{i}.total.{col}"] == money(p["total"][col]), (p["period"], col)
    # currency: the same window in EUR; every amount changes to the CLI's EUR figure
    page.fill("form.pnl-controls input[name=currency]", "EUR")
    page.click("form.pnl-controls button")
    page.wait_for_load_state()
    assert "currency=EUR" in page.url and "period=week" in page.url
    eur = cw.json("pnl", *window, "--currency", "EUR")
    cells = _period_cells(page)
    assert eur["periods"][1]["total"]["revenue"] != usd["periods"][1]["total"]["revenue"]
    for i, p in enumerate(eur["periods"]):
        for col in ("spend", "revenue", "net"):
            assert cells[f"periods.{i}.total.{col}"] == money(p["total"][col]), (p["period"], col)
    check_fields(cw, page.evaluate(COLLECT), page.url)
    # stack: the per-period bars regroup by app, each segment the CLI's row of that period
    page.click('.stack-tabs a:text-is("app")')
    page.wait_for_load_state()
    assert "stack=app" in page.url and "currency=EUR" in page.url
    by_app = cw.json("pnl", *window, "--currency", "EUR", "--by", "app")
    segments = {
        (b["key"], b["series"]): json.loads(b["value"])
        for b in page.evaluate(BARS)
        if b["path"].startswith("periods.") and b["path"].endswith(".revenue")
    }
    assert segments == {
        (p["period"], str(r["key"])): r["revenue"] for p in by_app["periods"] for r in p["rows"] if r["revenue"] != 0
    }
    assert segments, "the window has revenue"
    check_fields(cw, page.evaluate(COLLECT), page.url)
    page.screenshot(path=str(shots / "workbench-periods.png"), full_page=True)
    assert (shots / "workbench-periods.png").stat().st_size > 10_000
    # attribution: linear shares build-2's revenue with its parent build-1
    page.select_option("form.pnl-controls select[name=attribution]", "linear")
    page.click("form.pnl-controls button")
    page.wait_for_load_state()
    assert "attribution=linear" in page.url and "stack=app" in page.url
    linear = cw.json("pnl", *window, "--currency", "EUR", "--attribution", "linear")
    rows = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["path"].startswith("rows.")}
    for i, r in enumerate(linear["rows"]):
        assert rows[f"rows.{i}.revenue"] == money(r["revenue"]), r["key"]
    # the period links: per day, the same window, currency, attribution and stack
    page.click('.period-tabs a:text-is("day")')
    page.wait_for_load_state()
    assert "period=day" in page.url and "stack=app" in page.url and "attribution=linear" in page.url
    daily = cw.json(
        "pnl", *window[:4], "--period", "day", "--pricing", PRICING, "--currency", "EUR", "--attribution", "linear"
    )
    cells = _period_cells(page)
    assert len(daily["periods"]) == 14
    for i, p in enumerate(daily["periods"]):
        assert cells[f"periods.{i}.total.net"] == money(p["total"]["net"]), p["period"]
    page.click('.period-tabs a:text-is("week")')
    page.wait_for_load_state()
    # a period row opens the P&L of just that period
    page.click('table.period-table a:text-is("2026-W24")')
    page.wait_for_load_state()
    assert "since=2026-06-08" in page.url and "until=2026-06-15" in page.url and "currency=EUR" in page.url
    page.close()
    assert errors == []


def test_tables_sort_on_header_click(browser, site, cw):
    errors: list[str] = []
    page = _open(browser, site, "/pnl?by=run", errors)
    pnl = cw.json("pnl", "--by", "run", "--pricing", PRICING)
    head = page.locator("table.pnl-table th", has_text="Net")
    head.locator("button").click()
    assert head.get_attribute("aria-sort") == "ascending"
    ascending = [r["key"] for r in sorted(pnl["rows"], key=lambda r: Decimal(str(r["net"])))]
    assert page.evaluate(ROW_KEYS, "table.pnl-table") == [*ascending, "total"]  # the total row stays last
    head.locator("button").click()
    assert head.get_attribute("aria-sort") == "descending"
    descending = [r["key"] for r in sorted(pnl["rows"], key=lambda r: -Decimal(str(r["net"])))]
    assert page.evaluate(ROW_KEYS, "table.pnl-table") == [*descending, "total"]
    # text columns sort by text; only one header is sorted at a time
    key_head = page.locator("table.pnl-table th").first  # the Run column
    key_head.locator("button").click()
    assert key_head.get_attribute("aria-sort") == "ascending" and head.get_attribute("aria-sort") is None
    assert page.evaluate(ROW_KEYS, "table.pnl-table") == [*sorted(r["key"] for r in pnl["rows"]), "total"]
    page.close()
    assert errors == []


def test_the_run_page_shows_the_pnl_row_of_its_run(browser, site, cw, shots):
    errors: list[str] = []
    page = _open(browser, site, "/pnl?by=run&currency=EUR&attribution=linear", errors)
    pnl = cw.json("pnl", "--by", "run", "--currency", "EUR", "--attribution", "linear", "--pricing", PRICING)
    listed = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["path"].startswith("rows.")}
    i = next(i for i, r in enumerate(pnl["rows"]) if r["key"] == "build-1")
    page.click('table.pnl-table a:text-is("build-1")')
    page.wait_for_load_state()
    assert "/run/build-1?" in page.url and "currency=EUR" in page.url and "attribution=linear" in page.url
    shown = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["name"] == "pnl"}
    for col in ("spend", "revenue", "net", "netComplete"):
        assert shown[f"rows.{i}.{col}"] == listed[f"rows.{i}.{col}"], col
    assert shown[f"rows.{i}.revenue"] == money(pnl["rows"][i]["revenue"])
    check_fields(cw, page.evaluate(COLLECT), page.url)
    page.screenshot(path=str(shots / "workbench-run.png"), full_page=True)
    page.close()
    page = _open(browser, site, f"/run/{FIXTURE_RUN}", errors)
    loops = cw.json("loop", "list", FIXTURE_RUN)
    text = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["name"] == "loop.list"}
    lp = loops["loops"][0]
    assert text["loops.0.maxRounds"] == str(lp["maxRounds"]) and text["loops.0.target"] == str(lp["target"])
    assert [text[f"loops.0.rounds.{j}.spent"] for j in range(len(lp["rounds"]))] == [
        str(r["spent"]) for r in lp["rounds"]
    ]
    assert text["loops.0.done"] == ("done" if lp["done"] else "open")
    page.locator("#loops").screenshot(path=str(shots / "workbench-loops.png"))
    page.close()
    page = _open(browser, site, "/budgets", errors)
    check_fields(cw, page.evaluate(COLLECT), "/budgets")
    page.screenshot(path=str(shots / "workbench-budgets.png"), full_page=True)
    page.close()
    assert errors == []
