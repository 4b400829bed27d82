"""The workbench in a real browser (headless Chromium driven by Playwright).

What the browser shows must be the payload: every tagged value on every page
equals ``/api/<capability>``'s value, the rendered bars are as long as their
values say, the filter form filters, the stylesheet loads under the page's
Content-Security-Policy, and the console stays clean. The P&L page is saved
as docs/screenshots/workbench.png.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import REPO_ROOT, require, require_module
from test_workbench import NULL_WORDS, at, get_ok, populate, running

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
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "workbench.png"

pytestmark = [pytest.mark.browser]

# Every element tagged with a payload path, with its block, exact value and what the browser renders.
COLLECT = """() => Array.from(document.querySelectorAll('[data-path]')).filter(e => e.tagName !== 'rect').map(e => {
  const block = e.closest('[data-payload]');
  return {path: e.dataset.path, value: e.dataset.value, text: e.innerText.trim(),
          name: block ? block.dataset.payload : null, args: block ? block.dataset.args : null,
          visible: !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)};
})"""
BARS = """() => Array.from(document.querySelectorAll('svg rect[data-value]')).map(e => {
  const block = e.closest('[data-payload]');
  const box = e.getBoundingClientRect();
  return {key: e.dataset.key, series: e.dataset.series, value: e.dataset.value, path: e.dataset.path,
          args: block ? block.dataset.args : null, width: box.width,
          plot: e.ownerSVGElement.getBoundingClientRect().width};
})"""


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
def site(cw, repo, tmp_path):
    populate(cw, repo, tmp_path / "other")
    with running(pricing="default") as server:
        yield server


def _open(browser, server, path: str, errors: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    res = page.goto(url)
    assert res is not None and res.status == 200, path
    return page


def _payload(server, name: str, args: dict[str, Any], cache: dict[str, Any]) -> Any:
    url = f"/api/{name}?{urlencode(args)}"
    if url not in cache:
        cache[url] = json.loads(get_ok(server, url))
    return cache[url]


def _check_fields(server, fields: list[dict[str, Any]], where: str) -> None:
    cache: dict[str, Any] = {}
    assert fields, f"{where}: no tagged values"
    for f in fields:
        assert f["name"], f"{where}: {f['path']} outside a payload block"
        expected = at(_payload(server, f["name"], json.loads(f["args"]), cache), f["path"])
        assert json.loads(f["value"]) == expected, f"{where}: {f['name']} {f['path']}"
        if f["visible"] and expected is None:
            assert f["text"] in NULL_WORDS, f"{where}: null {f['path']} renders as {f['text']!r}"
        if f["visible"] and isinstance(expected, (int, float)) and not isinstance(expected, bool):
            assert f["text"] not in NULL_WORDS, f"{where}: {f['path']} = {expected} renders as {f['text']!r}"


def test_pages_in_chromium_show_the_payload_numbers(browser, site):
    errors: list[str] = []
    for path in (
        "/",
        "/?app=shop",
        "/run/fixture-run",
        "/run/build-1",
        "/run/build-2",
        "/run/empty-run",
        "/summary",
        "/pnl",
        "/pnl?by=app",
        "/pnl?by=run",
        "/pnl?period=week&since=2026-06-01&currency=EUR&attribution=linear",
        "/budgets",
    ):
        page = _open(browser, site, path, errors)
        _check_fields(site, page.evaluate(COLLECT), path)
        # the stylesheet applied: the page is styled, so the CSP let it in
        assert (
            page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") == "rgb(29, 35, 48)"
        ), path
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


def test_pnl_bars_are_as_long_as_their_values(browser, site):
    errors: list[str] = []
    page = _open(browser, site, "/pnl", errors)
    pnl = json.loads(get_ok(site, "/api/pnl"))
    bars = [b for b in page.evaluate(BARS) if json.loads(b["args"]) == {"by": "actor"}]
    by_series: dict[str, dict[str, dict[str, Any]]] = {}
    for b in bars:
        by_series.setdefault(b["series"], {})[b["key"]] = b
    assert set(by_series) == {"spend", "revenue", "net"}
    for series in ("spend", "revenue", "net"):
        assert list(by_series[series]) == [r["key"] for r in pnl["rows"]], series
        for r in pnl["rows"]:
            assert json.loads(by_series[series][r["key"]]["value"]) == r[series]
    # one scale per chart: each rendered bar is |value| x (the longest bar's width / its |value|), to half a pixel
    for series_group in (("spend", "revenue"), ("net",)):
        group = [b for s in series_group for b in by_series[s].values()]
        longest = max(group, key=lambda b: abs(Decimal(b["value"])))
        assert Decimal(longest["value"]) != 0 and longest["width"] > 100, series_group
        px_per_unit = Decimal(str(longest["width"])) / abs(Decimal(longest["value"]))
        for b in group:
            want = abs(Decimal(b["value"])) * px_per_unit
            assert abs(Decimal(str(b["width"])) - want) <= Decimal("0.5"), (b["key"], b["series"], b["width"], want)
    # the table shows the same amounts at the currency's minor units
    cells = {
        f["path"]: f["text"]
        for f in page.evaluate(COLLECT)
        if f["name"] == "pnl" and json.loads(f["args"]) == {"by": "actor"}
    }
    for i, r in enumerate(pnl["rows"]):
        for col in ("spend", "revenue", "net"):
            assert Decimal(cells[f"rows.{i}.{col}"]) == Decimal(str(r[col])), (r["key"], col)
            assert len(cells[f"rows.{i}.{col}"].split(".")[1]) == pnl["minorUnits"]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
    assert SCREENSHOT.stat().st_size > 10_000
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


def test_the_pnl_controls_work_in_the_browser(browser, site, cw):
    errors: list[str] = []
    page = _open(browser, site, "/pnl", errors)
    page.fill("form.pnl-controls input[name=since]", "2026-06-01")
    page.fill("form.pnl-controls input[name=until]", "2026-06-15")
    page.select_option("form.pnl-controls select[name=period]", "week")
    page.fill("form.pnl-controls input[name=currency]", "EUR")
    page.click("form.pnl-controls button")
    page.wait_for_load_state()
    assert "period=week" in page.url and "currency=EUR" in page.url
    _check_fields(site, page.evaluate(COLLECT), page.url)
    cells = {f["path"]: f["text"] for f in page.evaluate(COLLECT) if f["path"].startswith("periods.")}
    expected = cw.json(
        "pnl",
        "--since",
        "2026-06-01",
        "--until",
        "2026-06-15",
        "--period",
        "week",
        "--currency",
        "EUR",
        "--pricing",
        "default",
    )
    assert [p["period"] for p in expected["periods"]] == ["2026-W23", "2026-W24"]
    for i, p in enumerate(expected["periods"]):
        for col in ("spend", "revenue", "net"):
            assert Decimal(cells[f"periods.{i}.total.{col}"]) == Decimal(str(p["total"][col])), (p["period"], col)
    shot = SCREENSHOT.with_name("workbench-periods.png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.click('table a:text-is("2026-W24")')  # a period row opens the P&L of that period
    page.wait_for_load_state()
    assert "since=2026-06-08" in page.url and "until=2026-06-15" in page.url
    page.close()
    assert errors == []
