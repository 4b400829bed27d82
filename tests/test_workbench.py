"""The read-only workbench: pages show the CLI's payloads, nothing is written, only local GETs are served.

This module also holds what the MCP and browser tests share: a repo
populated with the real verbs and CW's fixture runs (``populate``) and the
per-capability call plan (``call_plan``, ``cli_argv``, ``mcp_args``) that
covers every read-only capability of the table.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from conftest import FIXTURES, copy_fixture_run, tree_bytes

from cw.capabilities import all_capabilities, by_name
from cw.capabilities.table import Capability
from cw.core.jsonout import dumps

NOW = "2026-06-08T12:00:00.000Z"
RESULT_TEXT = '# result\n\n```cw:result\n{"summary": "done", "findings": [], "evidence": ["README.md:1"]}\n```\n'
NULL_WORDS = {"n/a", "unreported", "unpriced", "—", "none"}


# ---------------------------------------------------------------------------
# a repo built with the real verbs (shared with test_mcp.py and test_browser.py)


def populate(cw, repo: Path, other: Path) -> None:
    """Fill ``repo`` (the process cwd) and ``other`` with runs, through the real verbs and CW's fixtures.

    repo: fixture-run and empty-run (CW's fixtures), build-1 (alice, app shop,
    a title with markup, one task with priced usage, one without usage, one
    failed worker), build-2 (bob, child of build-1, usage of an unknown model,
    revenue booked), nightly-1 (actor cron:nightly: priced usage, no revenue, one
    task still pending). build-1 books revenue too, partly reversed.
    other: another copy of empty-run (one id, two repos) and one run of carol.
    Both repos are registered for the home scope. A pricing policy lies in repo: the served surfaces read
    policy files only from the repos they serve.
    """
    (repo / "policy-exact.json").write_bytes((FIXTURES / "policy-exact.json").read_bytes())
    copy_fixture_run(repo, "fixture-run")
    copy_fixture_run(repo, "empty-run")
    (repo / "res.md").write_text(RESULT_TEXT)
    cw.ok(
        "run",
        "new",
        "--id",
        "build-1",
        "--app",
        "shop",
        "--title",
        "Checkout <b>flow</b> & co",
        "--actor",
        "alice",
        "--token-budget",
        "100000",
    )
    for task in ("t1", "t2", "t3"):
        cw.ok("task", "add", "build-1", task, *(("--backend", "shell") if task == "t3" else ()))
    cw.ok("dispatch", "build-1")
    cw.ok(
        "result",
        "build-1",
        "t1",
        "res.md",
        "--usage-input-tokens",
        "1200000",
        "--usage-output-tokens",
        "300000",
        "--usage-model",
        "claude-sonnet-4-6",
        "--actor",
        "alice",
    )
    cw.ok("result", "build-1", "t2", "res.md")
    cw.ok("worker", "fail", "build-1", "worker-t3-0001", "the sandbox ran out of disk")
    cw.ok("run", "new", "--id", "build-2", "--app", "shop", "--actor", "bob", "--parent", "build-1")
    cw.ok("task", "add", "build-2", "t1")
    cw.ok("dispatch", "build-2")
    cw.ok(
        "result",
        "build-2",
        "t1",
        "res.md",
        "--usage-input-tokens",
        "2000000",
        "--usage-output-tokens",
        "400000",
        "--usage-model",
        "mystery-model-x",
        "--actor",
        "bob",
    )
    cw.ok("candidate", "register", "build-2", "--worker", "worker-t1-0001")
    cron = {"CW_CRON_NAME": "nightly"}
    cw.ok("run", "new", "--id", "nightly-1", "--app", "triage", env=cron)
    cw.ok("task", "add", "nightly-1", "t1", env=cron)
    cw.ok("task", "add", "nightly-1", "t2", env=cron)
    cw.ok("dispatch", "nightly-1", "t1", env=cron)
    cw.ok(
        "result",
        "nightly-1",
        "t1",
        "res.md",
        "--usage-input-tokens",
        "3000000",
        "--usage-output-tokens",
        "500000",
        "--usage-model",
        "claude-sonnet-4-6",
        env=cron,
    )
    cw.ok("revenue", "add", "build-2", "120.00", "USD", "--ref", "order-1", "--at", "2026-06-08T11:00:00.000Z")
    cw.ok("revenue", "add", "build-1", "80.00", "USD", "--ref", "order-2", "--at", "2026-06-08T11:30:00.000Z")
    listed = cw.json("revenue", "list", "--run", "build-1")
    cw.ok(
        "revenue", "reverse", "build-1", listed["entries"][0]["id"], "--amount", "20.00", "--reason", "partial refund"
    )
    other.mkdir(exist_ok=True)
    copy_fixture_run(other, "empty-run")  # the same run id in two repos
    cw.ok("run", "new", "--id", "carol-1", "--app", "triage", "--actor", "carol", "--cwd", str(other))
    cw.ok("registry", "add", str(repo))
    cw.ok("registry", "add", str(other))


# ---------------------------------------------------------------------------
# the call plan: every read-only capability, every parameter exercised


def samples(repo: Path, other: Path) -> dict[str, list[Any]]:
    """Values to try per handler parameter name (choices and flags are tried from the table itself)."""
    return {
        "run_id": ["fixture-run", "build-1", "empty-run"],
        "run": ["build-2"],
        "now": [NOW],
        "cwd": [str(repo)],
        "pricing": ["default", str(repo / "policy-exact.json")],
        "app": ["shop"],
        "actor": ["alice"],
        "limit": [2],
        "currency": ["USD", "EUR"],
        "fx": ["default"],
        "half_life": ["7"],
        "max_age": ["30"],
        "since": ["2026-01-01", "2026-06-08T00:00:00Z"],
        "until": ["2026-12-01"],
        "tz": ["Europe/Berlin"],
        "week_start": ["sunday"],
    }


# Parameters that only make sense together with another value.
COMPANIONS = {"half_life": {"attribution": "time-decay"}, "week_start": {"period": "week"}}


def _values(p, table: dict[str, list[Any]]) -> list[Any]:
    if p.name in table:
        return table[p.name]
    if p.choices:
        return list(p.choices)
    if p.type == "boolean":
        return [True]
    raise AssertionError(f"parameter {p.name} has no sample value: add one to samples() in tests/test_workbench.py")


def call_plan(cap: Capability, table: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Argument sets (handler names -> values) for ``cap``.

    The first holds the required and positional parameters and ``now``; then
    one set per value of each parameter (with its companions, if any).
    """
    params = [p for p in cap.params if p.mcp]
    base: dict[str, Any] = {}
    for p in params:
        if p.required or p.positional or p.name == "now":  # metrics.show checks its run id itself
            values = _values(p, table)
            assert values, f"{cap.name}: no value for required parameter {p.name}"
            base[p.name] = values[0]
    plans = [base]
    for p in params:
        for v in _values(p, table):
            variant = {**base, **COMPANIONS.get(p.name, {}), p.name: v}
            if variant not in plans:
                plans.append(variant)
    return plans


def cli_argv(cap: Capability, args: dict[str, Any]) -> list[str]:
    """The ``cw`` command line for these arguments (with ``--json`` when the verb has it)."""
    argv = list(cap.path)
    for p in cap.params:
        if p.positional and p.name in args:
            v = args[p.name]
            argv += [str(x) for x in v] if isinstance(v, list) else [str(v)]
    for p in cap.params:
        if p.positional or p.name not in args:
            continue
        v = args[p.name]
        if p.type == "boolean":
            argv += [p.flag] if v else []
        elif p.multiple:
            for x in v:
                argv += [p.flag, str(x)]
        elif p.nargs > 1:
            argv += [p.flag, *map(str, v)]
        else:
            argv += [f"{p.flag}={v}"]
    if any(p.name == "json" for p in cap.params):
        argv.append("--json")
    else:
        assert cap.text is None, f"{cap.name} prints text and has no --json flag"
    return argv


def mcp_args(cap: Capability, args: dict[str, Any]) -> dict[str, Any]:
    keys = {p.name: p.mcp_key for p in cap.params}
    return {keys[k]: v for k, v in args.items()}


def read_only_caps() -> list[Capability]:
    return [c for c in all_capabilities() if c.read_only]


def parity_caps() -> list[Capability]:
    """What must match the CLI byte for byte: every read-only capability, plus ``metrics.show``.

    ``metrics.show`` writes its snapshot (so it is not read-only), but its
    freshness is pinned precisely so that two surfaces agree (cw-compat §8.4).
    """
    return [c for c in all_capabilities() if c.read_only or c.name == "metrics.show"]


# ---------------------------------------------------------------------------
# a workbench in a thread, a raw HTTP client, and a page reader


@contextmanager
def running(scope: str = "repo", cwd: str | None = None, pricing: str | None = None) -> Iterator[Any]:
    from cw.shell.workspace import Workspace
    from cw.surfaces.workbench import make_server

    lines: list[str] = []
    server = make_server(Workspace.from_process(), "127.0.0.1", 0, scope, cwd, pricing, log=lines.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def request(
    server, path: str, method: str = "GET", host: str | None = "default", body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host == "default":
            conn.putheader("Host", f"127.0.0.1:{port}")
        elif host is not None:
            conn.putheader("Host", host)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def get_ok(server, path: str) -> str:
    status, _, body = request(server, path)
    assert status == 200, f"GET {path}: {status} {body[:500]!r}"
    return body.decode("utf-8")


class PageReader(HTMLParser):
    """Collects every ``data-path`` element with its payload block, exact JSON value and visible text."""

    VOID: ClassVar[set[str]] = {"br", "img", "meta", "link", "input", "hr", "line", "rect"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.fields: list[dict[str, Any]] = []
        self.open: list[dict[str, Any]] = []
        self.bars: list[dict[str, Any]] = []

    def _block(self) -> tuple[str, dict[str, Any]] | None:
        for _, attrs in reversed(self.stack):
            if attrs.get("data-payload"):
                return attrs["data-payload"], json.loads(attrs["data-args"] or "{}")
        return None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        if tag == "rect" and "data-value" in attrs:
            self.bars.append({**attrs, "block": self._block()})
        if tag in self.VOID:
            return
        self.stack.append((tag, attrs))
        if "data-path" in attrs and tag != "rect":
            field = {
                "path": attrs["data-path"],
                "value": json.loads(attrs["data-value"] or "null"),
                "block": self._block(),
                "text": "",
                "class": attrs.get("class") or "",
            }
            self.fields.append(field)
            self.open.append(field)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        while self.stack:
            t, attrs = self.stack.pop()
            if "data-path" in attrs and self.open and t != "rect":
                self.open.pop()
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        for f in self.open:
            f["text"] += data


def read_page(text: str) -> PageReader:
    reader = PageReader()
    reader.feed(text)
    reader.close()
    return reader


def at(payload: Any, path: str) -> Any:
    for part in path.split("."):
        payload = payload[int(part)] if isinstance(payload, list) else payload[part]
    return payload


def check_page_against_api(server, path: str) -> PageReader:
    """Every shown value equals the value at its path in ``/api/<block>?<args>``; nulls never print as 0."""
    page = read_page(get_ok(server, path))
    assert page.fields, f"{path} shows no payload values"
    cache: dict[str, Any] = {}
    for f in page.fields:
        assert f["block"] is not None, f"{path}: {f['path']} is outside a data-payload block"
        name, args = f["block"]
        url = f"/api/{name}?{urlencode(args)}"
        if url not in cache:
            cache[url] = json.loads(get_ok(server, url))
        expected = at(cache[url], f["path"])
        assert f["value"] == expected, f"{path}: {name} {f['path']} shows {f['value']!r}, payload has {expected!r}"
        if expected is None:
            assert f["text"].strip() in NULL_WORDS, f"{path}: null {f['path']} printed as {f['text']!r}"
    return page


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture
def world(cw, repo: Path, tmp_path: Path) -> dict[str, Path]:
    other = tmp_path / "other"
    populate(cw, repo, other)
    return {"repo": repo, "other": other}


# ---------------------------------------------------------------------------
# /api: the CLI's bytes


def test_api_serves_every_read_only_capability_exactly_as_the_cli_prints_it(cw, world):
    table = samples(world["repo"], world["other"])
    with running() as server:
        checked = 0
        for cap in parity_caps():
            for args in call_plan(cap, table):
                cli = cw(*cli_argv(cap, args))
                want = cap.exit_code(json.loads(cli.stdout)) if cap.exit_code and cli.stdout else 0
                assert cli.exit_code == want, f"cw {' '.join(cli_argv(cap, args))}: {cli.stderr}"
                query = []
                for k, v in mcp_args(cap, args).items():
                    for item in v if isinstance(v, list) else [v]:
                        query.append((k, "true" if item is True else str(item)))
                status, headers, body = request(server, f"/api/{cap.name}?{urlencode(query)}")
                assert status == 200, f"/api/{cap.name} {args}: {body!r}"
                assert headers["content-type"] == "application/json; charset=utf-8"
                assert body.decode("utf-8") == cli.stdout, f"/api/{cap.name} {args} differs from the CLI"
                checked += 1
    assert checked >= len(parity_caps())


def test_api_index_lists_the_served_capabilities(world):
    with running() as server:
        index = json.loads(get_ok(server, "/api"))
    assert [c["name"] for c in index["capabilities"]] == [c.name for c in parity_caps()]
    show = next(c for c in index["capabilities"] if c["name"] == "run.show")
    assert {"name": "runId", "type": "string", "required": True, "help": "the run's id"} in show["arguments"]


def test_api_refusals_carry_the_cli_message_and_a_status(cw, world):
    cli = cw("run", "show", "nope")
    assert cli.exit_code == 1
    with running() as server:
        status, _, body = request(server, "/api/run.show?runId=nope")
        assert status == 404
        assert json.loads(body) == {"error": "Run not found: nope", "hint": "cw run list"}
        assert cli.stderr == "cw: Run not found: nope\n  Try: cw run list\n"
        status, _, body = request(server, "/api/run.show")
        assert (status, json.loads(body)["error"]) == (400, "/api/run.show missing required argument: runId")
        status, _, body = request(server, "/api/run.list?colour=red")
        assert status == 400 and json.loads(body)["error"].startswith("/api/run.list got an unknown argument: colour")
        status, _, body = request(server, "/api/run.list?lifecycle=sleeping")
        assert status == 400 and '"sleeping" is not one of open, completed, failed, empty' in json.loads(body)["error"]
        for writer in ("run.new", "result", "registry.add"):
            status, _, body = request(server, f"/api/{writer}?runId=build-1")
            assert status == 404 and "only serves read-only" in json.loads(body)["error"], writer
        status, _, _ = request(server, "/api/no.such.verb")
        assert status == 404


# ---------------------------------------------------------------------------
# pages: numbers come from the payloads


def test_runs_page_shows_the_run_list_payload_and_filters_it(cw, world):
    with running() as server:
        page = check_page_against_api(server, "/")
        ids = [f["value"] for f in page.fields if re.fullmatch(r"runs\.\d+\.app", f["path"])]
        assert len(ids) == cw.json("run", "list")["runCount"] == 5
        for query in (
            {"app": "shop"},
            {"actor": "alice"},
            {"lifecycle": "open"},
            {"app": "shop", "actor": "bob", "lifecycle": "completed"},
        ):
            text = get_ok(server, "/?" + urlencode(query))
            expected = cw.json("run", "list", *[x for k, v in query.items() for x in (f"--{k}", v)])
            shown_ids = re.findall(r'<tr data-run-id="([^"]+)"', text)
            assert shown_ids == [r["runId"] for r in expected["runs"]], query
            check_page_against_api(server, "/?" + urlencode(query))
        assert re.findall(r'<tr data-run-id="([^"]+)"', get_ok(server, "/?actor=cron%3Anightly")) == ["nightly-1"]


def test_run_page_shows_metrics_revenue_and_raw_payloads(cw, world):
    with running(pricing="default") as server:
        for rid in ("fixture-run", "build-1", "build-2", "empty-run", "nightly-1"):
            page = check_page_against_api(server, f"/run/{rid}")
            blocks = {f["block"][0] for f in page.fields}
            assert {"run.show", "metrics.show"} <= blocks, rid
            paths = {f["path"] for f in page.fields if f["block"][0] == "metrics.show"}
            for needed in (
                "time.run.wallClockMs",
                "rates.failure.rate",
                "rates.failure.count",
                "rates.verifierPass.total",
                "rates.candidateAcceptance.rate",
                "usage.coverage",
                "usage.totalTokens",
                "cost.state",
                "cost.attestedUsd",
            ):
                assert needed in paths, (rid, needed)
        text = get_ok(server, "/run/fixture-run")
        report = json.loads(cw("metrics", "show", "fixture-run", "--pricing", "default", "--json", "--now", NOW).stdout)
        # CW's fixture figures, as cw-compat §3 states them
        assert report["rates"]["verifierPass"]["count"] == 2 and report["rates"]["verifierPass"]["total"] == 3
        assert 'data-path="rates.verifierPass.rate" data-value="0.666667">66.7%<' in text
        assert 'data-path="time.activeTaskMs" data-value="180000">180.0s<' in text
        assert 'data-path="cost.state" data-value="&#34;estimated&#34;"' in text
        rev = check_page_against_api(server, "/run/build-2")
        revenue = {f["path"]: f for f in rev.fields if f["block"][0] == "revenue.list"}
        assert (revenue["entries.0.amount"]["value"], revenue["entries.0.amount"]["text"]) == (120, "120.00")
        # the run's revenue and net are its row of the P&L by run: build-2 booked 120.00 USD
        net = {f["path"].split(".")[-1]: f["text"] for f in rev.fields if f["block"] == ("pnl", {"by": "run"})}
        assert net["revenue"] == "120.00" and net["currency"] == "USD"
        ledger = {f["path"]: f["text"] for f in rev.fields if f["block"][0] == "ledger.verify"}
        assert ledger == {"runs.0.ok": "verifies", "runs.0.entries": "1"}
        budget = {
            f["path"]: f["text"]
            for f in check_page_against_api(server, "/run/build-1").fields
            if f["block"][0] == "budget"
        }
        assert budget["tokenBudget.limit"] == "100000" and budget["tokenBudget.spent"] == "1500000"


def test_empty_run_shows_n_a_and_unreported_never_zero(world):
    with running() as server:
        page = check_page_against_api(server, "/run/empty-run")
    by_path = {f["path"]: f for f in page.fields if f["block"][0] == "metrics.show"}
    assert by_path["rates.failure.rate"]["text"] == "n/a"
    assert by_path["rates.failure.count"]["text"] == "n/a"
    assert by_path["usage.coverage"]["text"] == "n/a"
    assert by_path["cost.state"]["text"] == "unreported"
    assert by_path["cost.attestedUsd"]["text"] == "unreported"
    assert by_path["cost.estimatedUsd"]["text"] == "unreported"


def test_unpriced_cost_is_shown_as_unpriced(world):
    with running(pricing="none") as server:  # no pricing policy: attested usage is unpriced
        page = check_page_against_api(server, "/run/build-1")
        assert "pricing=none (id -, from flag)" in get_ok(server, "/")  # the header names what the pages use
    by_path = {f["path"]: f for f in page.fields if f["block"][0] == "metrics.show"}
    assert by_path["cost.state"]["text"] == "unpriced"
    assert by_path["cost.attestedUsd"]["text"] == "unpriced"


def test_summary_page_matches_the_summary_payload(world):
    with running(pricing="default") as server:
        page = check_page_against_api(server, "/summary")
        paths = {f["path"] for f in page.fields}
        assert {
            "runCount",
            "rates.failure.rate",
            "usage.coverage",
            "cost.state",
            "byApp.0.runCount",
            "byBackend.0.runCount",
            "byActor.0.runCount",
            "byActor.0.cost.attestedUsd",
            "runs.0.rates.failure.rate",
        } <= paths
    with running(scope="home", pricing="default") as server:
        page = check_page_against_api(server, "/summary")
        assert next(f["value"] for f in page.fields if f["path"] == "runCount") == 7
        text = get_ok(server, "/summary")
        assert f"/run/carol-1?{urlencode({'repo': str(world['other'])})}".replace("&", "&amp;") in text


def test_pnl_page_table_and_charts_match_the_pnl_payload(world):
    with running(pricing="default") as server:
        page = check_page_against_api(server, "/pnl")
        pnl = json.loads(get_ok(server, "/api/pnl"))
        rows = pnl["rows"]
        assert rows, "the P&L has rows"
        spend_bars = {
            b["data-key"]: b for b in page.bars if b["data-series"] == "spend" and b["block"][1] == {"by": "actor"}
        }
        revenue_bars = {b["data-key"]: b for b in page.bars if b["data-series"] == "revenue"}
        net_bars = {b["data-key"]: b for b in page.bars if b["data-series"] == "net"}
        assert list(spend_bars) == [r["key"] for r in rows]
        for r in rows:
            assert json.loads(spend_bars[r["key"]]["data-value"]) == r["spend"]
            assert json.loads(revenue_bars[r["key"]]["data-value"]) == r["revenue"]
            assert json.loads(net_bars[r["key"]]["data-value"]) == r["net"]
            assert ("bar-neg" in net_bars[r["key"]]["class"]) == (Decimal(str(r["net"])) < 0)
        # bar lengths are proportional to the values (one scale per chart)
        values = [Decimal(str(v)) for r in rows for v in (r["spend"], r["revenue"])]
        span = max([*values, Decimal(0)]) - min([*values, Decimal(0)])
        for bar in list(spend_bars.values()) + list(revenue_bars.values()):
            v = abs(Decimal(bar["data-value"]))
            assert abs(Decimal(bar["width"]) - v / span * 330) <= Decimal("0.1")
        for by in ("app", "run"):
            check_page_against_api(server, f"/pnl?by={by}")
        status, _, _ = request(server, "/pnl?by=colour")
        assert status == 400


def test_pnl_controls_reach_the_payload_and_periods_match_it(world, cw):
    query = "currency=EUR&attribution=linear&period=day&since=2026-06-01&until=2026-06-15&tz=Europe/Berlin"
    with running(pricing="default") as server:
        page = check_page_against_api(server, f"/pnl?{query}")
        pnl = json.loads(get_ok(server, f"/api/pnl?{query}&by=actor"))
        assert pnl["currency"] == "EUR" and pnl["attribution"]["model"] == "linear"
        assert [p["period"] for p in pnl["periods"]][:2] == ["2026-06-01", "2026-06-02"] and len(pnl["periods"]) == 14
        shown = {f["path"] for f in page.fields}
        assert {f"periods.{i}.total.net" for i in range(14)} <= shown
        text = get_ok(server, f"/pnl?{query}")
        assert "Per day" in text and 'name="currency" value="EUR"' in text
        # the same query through the CLI gives the same numbers
        cli = cw.json(
            "pnl",
            "--currency",
            "EUR",
            "--attribution",
            "linear",
            "--period",
            "day",
            "--since",
            "2026-06-01",
            "--until",
            "2026-06-15",
            "--tz",
            "Europe/Berlin",
            "--pricing",
            "default",
            "--cwd",
            str(world["repo"]),
            "--now",
            pnl["generatedAt"],
        )
        assert cli["periods"] == pnl["periods"] and cli["totals"] == pnl["totals"]
        # a period row links to the P&L of just that period; an actor row to the runs it started
        assert "since=2026-06-08T" in text.replace("%3A", ":") or "since=2026-06-07T22" in text.replace("%3A", ":")
        assert '<a href="/?actor=' in text


def test_budgets_page_shows_each_actors_use_from_the_payload(world, cw):
    cw.ok("budget", "set", "--actor", "alice", "--period", "month", "--tokens", "1", "--cwd", str(world["repo"]))
    cw.ok("budget", "set", "--actor", "bob", "--period", "week", "--cost", "500.00", "USD", "--cwd", str(world["repo"]))
    with running(pricing="default") as server:
        page = check_page_against_api(server, "/budgets?now=2026-06-08T12:00:00Z")
        listed = json.loads(get_ok(server, "/api/budget.list?now=2026-06-08T12:00:00Z"))
        assert [(b["actor"], b["status"]["current"]["period"]) for b in listed["budgets"]] == [
            ("alice", "2026-06"),
            ("bob", "2026-W24"),
        ]
        assert {f["path"] for f in page.fields} >= {"budgets.0.status.tokens.spent", "budgets.1.status.cost.remaining"}
        text = get_ok(server, "/budgets?now=2026-06-08T12:00:00Z")
        n_exceeded = sum(len(b["status"]["exceeded"]) for b in listed["budgets"])
        assert text.count('badge incomplete">exceeded') == n_exceeded
        assert '<a href="/?actor=bob">' in text


def _pnl_cells(page: PageReader, block: tuple[str, dict[str, Any]]) -> dict[str, str]:
    return {f["path"]: f["text"] for f in page.fields if f["block"] == block}


def test_the_run_page_shows_the_pnl_row_of_its_run(world, cw):
    """Revenue and net on a run's page are its row of the P&L by run, with the same currency and attribution."""
    for query in ({}, {"currency": "EUR"}, {"attribution": "linear"}):
        with running(pricing="default") as server:
            pnl_path = "/pnl?" + urlencode({"by": "run", **query})
            listing = check_page_against_api(server, pnl_path)
            text = get_ok(server, pnl_path)
            cli = cw.json(
                "pnl", "--by", "run", "--pricing", "default", *[x for k, v in query.items() for x in (f"--{k}", v)]
            )
            table = _pnl_cells(listing, ("pnl", {"by": "run", **query}))
            for i, row in enumerate(cli["rows"]):
                # the row links to the run's page with the same controls, and that page shows the same figures
                link = f'href="/run/{row["key"]}{"?" + urlencode(query) if query else ""}"'.replace("&", "&amp;")
                assert link in text, (query, row["key"])
                run = check_page_against_api(server, f"/run/{row['key']}?{urlencode(query)}")
                cells = {
                    f["path"]: f["text"]
                    for f in run.fields
                    if f["block"] == ("pnl", {"by": "run", **query}) and f["path"].startswith("rows.")
                }
                for col in ("spend", "revenue", "net", "netComplete"):
                    assert cells[f"rows.{i}.{col}"] == table[f"rows.{i}.{col}"], (query, row["key"], col)
                    assert Decimal(cells[f"rows.{i}.spend"]) == Decimal(str(row["spend"])).quantize(Decimal("0.01"))
    # hand-worked: build-1 booked 80.00 and reversed 20.00; build-2 (its child) booked 120.00
    with running(pricing="default") as server:

        def revenue(run: str, **q: str) -> str:
            page = read_page(get_ok(server, f"/run/{run}?{urlencode(q)}"))
            return next(f["text"] for f in page.fields if f["block"][0] == "pnl" and f["path"].endswith(".revenue"))

        assert revenue("build-1") == "60.00" and revenue("build-2") == "120.00"  # last touch: each keeps its own
        assert revenue("build-1", attribution="linear") == "120.00"  # 60.00 + half of build-2's 120.00
        assert revenue("build-2", attribution="linear") == "60.00"
        eur = json.loads(get_ok(server, "/api/pnl?by=run&currency=EUR"))
        (rate,) = [Decimal(str(r["perBase"])) for r in eur["fx"]["ratesUsed"] if r["currency"] == "USD"]
        assert revenue("build-2", currency="EUR") == str((Decimal(120) / rate).quantize(Decimal("0.01")))


def test_pnl_periods_stack_by_actor_app_or_model(world, cw):
    with running(pricing="default") as server:
        for stack in ("actor", "app", "model"):
            path = f"/pnl?by=actor&period=month&stack={stack}"
            page = check_page_against_api(server, path)
            cli = cw.json("pnl", "--by", stack, "--period", "month", "--pricing", "default")
            block = ("pnl", {"by": stack, "period": "month"})
            bars = [b for b in page.bars if b["block"] == block and b["data-path"].startswith("periods.")]
            for series in ("spend", "revenue"):
                drawn = {b["data-path"]: json.loads(b["data-value"]) for b in bars if b["data-path"].endswith(series)}
                want = {
                    f"periods.{i}.rows.{j}.{series}": r[series]
                    for i, p in enumerate(cli["periods"])
                    for j, r in enumerate(p["rows"])
                    if r[series] != 0
                }
                assert drawn == want, (stack, series)
                # each period's segments add up to the period's total (the payload's own sums)
                for i, p in enumerate(cli["periods"]):
                    segs = [Decimal(str(v)) for k, v in drawn.items() if k.startswith(f"periods.{i}.")]
                    assert sum(segs, Decimal(0)) == Decimal(str(p["total"][series])), (stack, series, p["period"])
            nets = [b for b in bars if b["data-series"] == "net"]
            assert [json.loads(b["data-value"]) for b in nets] == [
                p["total"]["net"] for p in cli["periods"] if p["total"]["net"] != 0
            ]
            text = get_ok(server, path)
            assert '<strong aria-current="true">' + stack + "</strong>" in text
        assert request(server, "/pnl?period=month&stack=colour")[0] == 400
        # without a period there is no per-period section
        assert "periods." not in " ".join(f["path"] for f in read_page(get_ok(server, "/pnl")).fields)


def test_the_run_page_shows_its_loops(cw, world):
    from test_loops import FIXTURE_RUN, LOOP_FIXTURE

    d = world["repo"] / ".cw" / "runs" / FIXTURE_RUN
    d.mkdir(parents=True)
    d.joinpath("state.json").write_bytes(LOOP_FIXTURE.read_bytes())
    with running() as server:
        page = check_page_against_api(server, f"/run/{FIXTURE_RUN}")
        loops = {f["path"]: f["text"] for f in page.fields if f["block"][0] == "loop.list"}
        # CW drove this loop two rounds: 29543 then 19000 recorded tokens against a 30000 target, at most 4 rounds
        assert loops["loops.0.phaseId"] == "scale" and loops["loops.0.done"] == "done"
        assert loops["loops.0.rounds.1.round"] == "2" and loops["loops.0.maxRounds"] == "4"
        assert loops["loops.0.target"] == "30000" and loops["spent"] == "48543" and loops["budget"] == "none"
        assert loops["loops.0.rounds.0.spent"] == "29543" and loops["loops.0.rounds.1.spent"] == "19000"
        assert loops["loops.0.rounds.1.decision.done"] == "done"
        text = get_ok(server, f"/run/{FIXTURE_RUN}")
        assert "budget-target: 48543/30000 recorded tokens" in text
        # a run without loops says so
        assert "No loops on this run" in get_ok(server, "/run/build-1")


def test_markup_in_ids_apps_and_actors_renders_as_text(cw, world):
    evil = "<script>alert(1)</script>"
    cw.ok("run", "new", "--id", "evil-1", "--app", "shop", "--actor", "dave", "--title", evil)
    cw.ok("revenue", "add", "evil-1", "5.00", "USD", "--ref", evil, "--at", "2026-06-08T11:00:00.000Z")
    # cw refuses such an app id, but a state file written by another tool is data: its fields may hold anything
    path = world["repo"] / ".cw" / "runs" / "evil-1" / "state.json"
    state = json.loads(path.read_text())
    state["actor"] = evil
    state["workflow"]["app"] = {"id": evil}
    path.write_text(json.dumps(state))
    with running(pricing="default") as server:
        for path in (
            "/",
            "/run/evil-1",
            "/summary",
            "/pnl",
            "/pnl?by=app",
            "/pnl?by=run",
            "/pnl?period=month&stack=app",
        ):
            text = get_ok(server, path)
            assert "<script>alert" not in text, path
            if path != "/pnl?by=run":  # rows keyed by run id: the app and actor do not show there
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
            # the only script is the sorting asset, loaded from the workbench itself
            assert re.findall(r"<script[^>]*>", text) == ['<script src="/assets/workbench.js" defer>'], path
            check_page_against_api(server, path)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/pnl?currency=%3Cscript%3E", "--currency"),
        ("/pnl?since=notadate", "--since"),
        ("/pnl?period=year", "period"),
        ("/pnl?attribution=time-decay&halfLife=-1", "half-life"),
        ("/pnl?stack=run&period=week", "Invalid stack"),
        ("/run/build-1?currency=ZZZ", "--currency"),
        ("/run/build-1?attribution=nope", "attribution"),
        ("/budgets?now=yesterday", "--now"),
    ],
)
def test_bad_page_controls_get_one_clear_message(world, path, needle):
    with running(pricing="default") as server:
        status, headers, body = request(server, path)
    text = body.decode("utf-8")
    assert status == 400, (path, status, text[:300])
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert needle.lower() in text.lower() and "Traceback" not in text and "<script>" not in text, path


def test_home_scope_run_rows_link_to_the_run_in_its_repo(world):
    with running(scope="home", pricing="default") as server:
        text = get_ok(server, "/pnl?by=run")
        carol = f"/run/carol-1?{urlencode({'repo': str(world['other'])})}".replace("&", "&amp;")
        assert f'href="{carol}"' in text
        assert 'href="/run/empty-run"' in text  # one id in two repos: the link names no repo
        check_page_against_api(server, f"/run/carol-1?{urlencode({'repo': str(world['other'])})}")


def test_templates_autoescape_and_ship_with_the_package():
    from importlib import resources

    from cw.surfaces.workbench import environment

    env = environment()
    assert env.from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"
    for name in ("base.html", "runs.html", "run.html", "pnl.html", "summary.html", "budgets.html", "macros.html"):
        assert env.get_template(name).render is not None
        assert resources.files("cw.surfaces").joinpath(f"workbench_templates/{name}").is_file(), name
    for name in ("workbench.css", "workbench.js"):
        assert resources.files("cw.surfaces").joinpath(f"workbench_assets/{name}").is_file(), name


# ---------------------------------------------------------------------------
# safety: read-only, GET only, local Host only


def test_nothing_is_written_not_even_the_metrics_snapshot(cw, world, isolated_home):
    roots = [world["repo"], world["other"], isolated_home]
    before = [tree_bytes(r) for r in roots]
    snapshot = world["repo"] / ".cw" / "runs" / "fixture-run" / "metrics" / "metrics-report.json"
    with running(scope="home", pricing="default") as server:
        for path in (
            "/",
            "/summary",
            "/pnl",
            "/run/fixture-run",
            "/run/build-1",
            "/api/metrics.show?runId=fixture-run",
            "/api/metrics.summary",
            "/api/ledger.verify",
            f"/run/carol-1?{urlencode({'repo': str(world['other'])})}",
        ):
            get_ok(server, path)
    assert [tree_bytes(r) for r in roots] == before
    assert not snapshot.exists()
    cw.ok("metrics", "show", "fixture-run")  # the CLI does write it: the check above can fail
    assert snapshot.exists()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_only_get_is_served(world, method):
    with running() as server:
        status, headers, _body = request(server, "/api/run.list", method=method, body=b"{}")
        assert status == 405
        assert headers["allow"] == "GET"
        assert request(server, "/api/run.list")[0] == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "127.0.0.1.evil.example",
        "localhost.evil.example:80",
        "10.0.0.7",
        "127.0.0.2",
        "localhost:1",
        None,
        "",
    ],
)
def test_requests_to_a_non_local_host_are_forbidden(world, host):
    with running() as server:
        status, _, body = request(server, "/", host=host)
        assert status == 403, host
        assert b"run.list" not in body
        status, _, _ = request(server, "/api/run.show?runId=build-1", host=host)
        assert status == 403


def test_local_host_names_are_served(world):
    with running() as server:
        port = server.server_address[1]
        for host in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            f"LOCALHOST:{port}",
            f"[::1]:{port}",
            "localhost",
            "127.0.0.1",
        ):
            assert request(server, "/", host=host)[0] == 200, host


def test_all_text_is_escaped(world):
    with running() as server:
        listing = get_ok(server, "/")
        page = get_ok(server, "/run/build-1")
    for text in (listing, page):
        assert "Checkout <b>" not in text
    assert "Checkout &lt;b&gt;flow&lt;/b&gt; &amp; co" in listing
    assert "&#34;Checkout &lt;b&gt;flow&lt;/b&gt; &amp; co&#34;" in page  # inside the raw payload


def test_security_headers_and_unknown_pages(world):
    with running() as server:
        status, headers, _ = request(server, "/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert request(server, "/nowhere")[0] == 404
        assert request(server, "/run/no-such-run")[0] == 404
        assert request(server, "/run/build-1?" + urlencode({"repo": "/etc"}))[0] == 404
        status, headers, css = request(server, "/assets/workbench.css")
        assert status == 200 and headers["content-type"].startswith("text/css") and b".badge" in css
        assert "script-src 'self'" in headers["content-security-policy"]
        status, headers, js = request(server, "/assets/workbench.js")
        assert status == 200 and headers["content-type"].startswith("text/javascript") and b"aria-sort" in js
        for path in ("/assets/", "/assets/nope.js", "/assets/../workbench.py", "/assets/%2e%2e/workbench.py"):
            assert request(server, path)[0] == 404, path


def test_make_server_listens_on_loopback_only(world):
    from cw.model.errors import UsageError
    from cw.shell.workspace import Workspace
    from cw.surfaces.workbench import make_server

    for host in ("0.0.0.0", "192.168.1.10", "::"):
        with pytest.raises(UsageError, match="loopback only"):
            make_server(Workspace.from_process(), host, 0, "repo", None, None)


@pytest.mark.parametrize("pricing", ["nope.json", "."])
def test_a_pricing_that_does_not_load_stops_the_workbench_at_start(cw, world, pricing):
    # it used to serve, every page's header saying "unusable", every money figure refused
    res = cw.fails(1, "workbench", "--port", "0", "--pricing", pricing, "--cwd", str(world["repo"]))
    assert res.stderr.startswith("cw: Pricing policy file not found: ") and "serving" not in res.stderr


def test_cw_workbench_prints_its_url_and_stops_on_ctrl_c(world):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cw", "workbench", "--port", "0"],
        cwd=world["repo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        first = proc.stderr.readline()
        m = re.match(r"cw workbench: serving http://127\.0\.0\.1:(\d+)/ \(read-only, scope=repo\)", first)
        assert m, first
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=20)
        conn.request("GET", "/api/run.list")
        res = conn.getresponse()
        assert res.status == 200 and json.loads(res.read())["runCount"] == 5
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == ""
    assert "Traceback" not in err and err.rstrip().endswith("cw workbench: stopped")


def test_home_scope_lists_runs_of_every_registered_repo(world):
    with running(scope="home") as server:
        listing = json.loads(get_ok(server, "/api/run.list"))
        assert {(r["runId"], r["repo"]) for r in listing["runs"]} >= {
            ("carol-1", str(world["other"])),
            ("empty-run", str(world["other"])),
            ("empty-run", str(world["repo"])),
        }
        text = get_ok(server, "/")
        assert "carol-1" in text and str(world["other"]) in text
        check_page_against_api(server, f"/run/carol-1?{urlencode({'repo': str(world['other'])})}")


def test_the_page_dump_is_the_payload(world):
    with running(pricing="default") as server:
        text = get_ok(server, "/run/fixture-run")
        raw = re.search(r"<summary>Raw payload \(metrics\.show\)</summary><pre>(.*?)</pre>", text, re.S).group(1)
        import html as _html

        shown = json.loads(_html.unescape(raw))
        api = json.loads(get_ok(server, "/api/metrics.show?runId=fixture-run"))
        shown.pop("generatedAt"), api.pop("generatedAt")
        assert shown == api
    assert dumps(shown) == dumps(api)


def test_the_workbench_reads_through_the_table_and_needs_no_mcp_sdk():
    from cw.surfaces import workbench

    for name in ("run.list", "run.show", "metrics.summary", "pnl", "revenue.list", "ledger.verify"):
        assert by_name(name).read_only, name
    assert not by_name("metrics.show").read_only  # served as a projection: the read-only workspace skips its write
    assert workbench.served_capabilities() == tuple(parity_caps())
    code = "import sys, cw.surfaces.workbench; print('mcp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
