"""Bad input gets one clear message, exit 2 (1 for a refused file), and nothing is written.

One test group per rule, each checked against hand-worked expectations or as a
property over generated input (hypothesis):

* ``--now`` on every verb that takes it, and the calendar every timestamp
  parser shares (years 1000 to 9998 UTC, offsets included);
* command-line arguments that were not valid UTF-8;
* prices and FX rates that are huge, tiny, not finite or not exactly a
  double, and keys repeated in a pricing, FX or budget file;
* ids read from ``state.json`` that would become a path;
* side files, states and policies that are not regular files (FIFOs,
  folders, devices);
* files named by workbench queries and MCP arguments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import state_of, tree_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reliability_containment import FILL
from test_workbench import request, running

from cw.capabilities import all_capabilities
from cw.capabilities.table import Capability
from cw.core.numbers import (
    CALENDAR_END_MS,
    CALENDAR_MIN_MS,
    PRICE_MAX,
    PRICE_MIN,
    RATE_MAX,
    RATE_MIN,
    is_iso_timestamp,
    iso_from_ms,
    parse_iso_ms,
)
from cw.model.errors import CwError

PROPERTY = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NOW = "2026-12-01T00:00:00Z"


@pytest.fixture
def run_r(cw, repo: Path) -> Path:
    """Run ``r`` with a dispatched task, a result file in the repo, and a booking."""
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "t1")
    cw.ok("dispatch", "r")
    (repo / "res.md").write_text("inside result\n")
    cw.ok("revenue", "add", "r", "10.00", "USD", "--ref", "INV-0")
    return repo


def _refused(res: Any, code: int) -> None:
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    assert res.stdout == "" and res.stderr.startswith("cw: "), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr


_MORE_FILL = {"output": "out.json", "from": "genai-prices", "phase": "p", "actor": "a", "run_column": "run"}


def _argv(cap: Capability, **given: str) -> list[str]:
    """A command line for ``cap`` with every required parameter filled (``given`` overrides by name)."""
    argv = list(cap.path)
    for p in cap.params:
        if not p.cli:
            continue
        value = given.get(p.name, {**FILL, **_MORE_FILL}.get(p.name) if p.required or p.positional else None)
        if value is None and p.required and p.choices:
            value = p.choices[0]
        if value is None:
            continue
        argv += [value] if p.positional else [p.flag, value]
    return argv


# ---------------------------------------------------------------------------
# --now and the calendar

NOW_VERBS = [c for c in all_capabilities() if any(p.name == "now" for p in c.params)]


def test_every_verb_refuses_a_now_that_is_not_an_iso_time(cw, run_r):
    assert len(NOW_VERBS) >= 10  # every read verb takes --now
    before = tree_bytes(run_r)
    for cap in NOW_VERBS:
        for bad in ("tomorrow", "2026-12-01", "2026-12-01T10:00:00", "0999-12-31T23:59:59Z", "9999-01-01T00:00:00Z"):
            res = cw(*_argv(cap, now=bad))
            _refused(res, 2)
            assert "--now" in res.stderr and "ISO 8601" in res.stderr and "1000 and 9998" in res.stderr, (
                cap.name,
                res.stderr,
            )
    assert tree_bytes(run_r) == before


_OFFSETS = st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59))


def _iso(dt: datetime, off: tuple[str, int, int] | None) -> str:
    base = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    return base + ("Z" if off is None else f"{off[0]}{off[1]:02d}:{off[2]:02d}")


def _utc_ms(dt: datetime, off: tuple[str, int, int] | None) -> int:
    """Epoch ms worked out by hand: the wall time in UTC, minus the offset (no datetime arithmetic past 9999)."""
    days = (datetime(dt.year, dt.month, dt.day) - datetime(1970, 1, 1)).days
    ms = ((days * 24 + dt.hour) * 60 + dt.minute) * 60_000 + dt.second * 1000
    if off is not None:
        ms -= (1 if off[0] == "+" else -1) * (off[1] * 60 + off[2]) * 60_000
    return ms


@given(dt=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
       off=st.none() | _OFFSETS)  # fmt: skip
@settings(max_examples=400, deadline=None, database=None)
def test_any_iso_time_parses_inside_the_calendar_or_not_at_all(dt, off):
    text = _iso(dt.replace(microsecond=0), off)
    expected = _utc_ms(dt.replace(microsecond=0), off)
    inside = CALENDAR_MIN_MS <= expected < CALENDAR_END_MS
    assert parse_iso_ms(text) == (expected if inside else None)
    assert is_iso_timestamp(text) is inside
    if inside:  # what a booking stores reads back as the same instant, with a four-digit year
        stored = iso_from_ms(expected)
        assert len(stored) == 24 and parse_iso_ms(stored) == expected


@given(dt=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
       off=st.none() | _OFFSETS)  # fmt: skip
@PROPERTY
def test_now_is_echoed_when_inside_the_calendar_and_refused_outside(cw, run_r, dt, off):
    text = _iso(dt.replace(microsecond=0), off)
    inside = CALENDAR_MIN_MS <= _utc_ms(dt.replace(microsecond=0), off) < CALENDAR_END_MS
    res = cw("run", "show", "r", "--json", "--now", text)
    if inside:
        assert res.exit_code == 0, res.stderr
        assert json.loads(res.stdout)["generatedAt"] == text
    else:
        _refused(res, 2)
        assert "--now" in res.stderr


@pytest.mark.parametrize(
    "at,stored",
    [
        ("9999-12-31T23:00:00-05:00", None),  # past year 9999 once the offset is applied
        ("0001-01-01T00:30:00+01:00", None),  # before year 1
        ("0999-06-01T00:00:00Z", None),
        ("9999-01-01T00:00:00Z", None),
        ("1000-01-01T00:00:00Z", "1000-01-01T00:00:00.000Z"),
        ("1000-01-01T00:30:00+01:00", None),  # 0999-12-31T23:30Z
        ("9998-12-31T23:59:59.999Z", "9998-12-31T23:59:59.999Z"),
        ("9998-12-31T20:00:00-03:59", "9998-12-31T23:59:00.000Z"),
    ],
)
def test_a_booking_at_the_edge_of_the_calendar_is_refused_or_verifies(cw, run_r, at, stored):
    before = tree_bytes(run_r)
    res = cw("revenue", "add", "r", "1.00", "USD", "--ref", "EDGE", "--at", at)
    if stored is None:
        _refused(res, 2)
        assert "--at" in res.stderr and "1000 and 9998" in res.stderr
        assert tree_bytes(run_r) == before
    else:
        assert res.exit_code == 0, res.stderr
        entry = state_of(run_r, "r")["revenue"]["entries"][-1]
        assert entry["at"] == stored
    assert cw.json("ledger", "verify")["ok"] is True


@pytest.mark.parametrize(
    "args",
    [
        ("pnl", "--since", "9999-12-31"),
        ("pnl", "--until", "0999-12-31"),
        ("run", "list", "--since", "0001-01-01", "--tz", "America/New_York"),
        ("metrics", "summary", "--until", "9999-12-31T23:00:00-05:00"),
        ("revenue", "list", "--since", "9999-12-31T23:30:00", "--tz", "Pacific/Kiritimati"),
        ("ledger", "verify", "--since", "10000-01-01"),
    ],
)
def test_window_bounds_outside_the_calendar_are_usage_errors(cw, run_r, args):
    res = cw(*args, "--now", NOW)
    _refused(res, 2)
    assert "Invalid --since" in res.stderr or "Invalid --until" in res.stderr


def test_state_times_at_the_calendar_edges_never_break_a_reader(cw, run_r):
    """Times in state.json past the calendar (by themselves or by their offset) read as unparseable: every
    reader answers, nothing exits 70, nothing is priced or dated with them."""
    res_file = run_r / "res.md"
    cw.ok("result", "r", "t1", str(res_file), "--usage-input-tokens", "10", "--usage-output-tokens", "1",
          "--usage-model", "claude-sonnet-4-5", "--usage-source", "host-attested")  # fmt: skip
    p = run_r / ".cw" / "runs" / "r" / "state.json"
    s = json.loads(p.read_text())
    s["tasks"][0]["completedAt"] = "9999-12-31T23:00:00-05:00"
    s["workers"][0]["usage"]["attestedAt"] = "0001-01-01T00:30:00+01:00"
    s["tasks"][0]["usage"]["attestedAt"] = "9999-12-31T20:00:00-04:00"
    s["createdAt"] = "9999-12-31T23:59:59+00:00"
    p.write_text(json.dumps(s))
    for args in (
        ("metrics", "show", "r"),
        ("metrics", "summary", "--period", "month", "--tz", "Pacific/Kiritimati"),
        ("pnl", "--period", "week", "--tz", "America/New_York"),
        ("run", "list", "--since", "2026-01-01"),
        ("budget", "r"),
    ):
        res = cw(*args, "--json", "--now", "9998-12-31T23:00:00Z")
        assert res.exit_code == 0, (args, res.stderr)


def test_pnl_text_over_a_window_without_periods(cw, run_r):
    out = cw.ok("pnl", "--since", "2026-01-01", "--now", NOW).stdout
    assert "window: [2026-01-01T00:00:00.000Z, no end)  tz=UTC" in out


# ---------------------------------------------------------------------------
# arguments that are not valid UTF-8

_TEXT_PARAMS = [
    (cap, p)
    for cap in all_capabilities()
    for p in cap.params
    if p.cli and p.type == "string" and not p.choices and p.nargs == 1
]


@given(
    pick=st.sampled_from(_TEXT_PARAMS),
    head=st.text(alphabet="abc1_", max_size=5),  # not "-": a leading dash makes it an option
    byte=st.integers(0x80, 0xFF),
    tail=st.text(max_size=5).filter(lambda t: "\x00" not in t),
)
@PROPERTY
def test_an_argument_that_was_not_utf8_is_a_usage_error_and_writes_nothing(cw, run_r, pick, head, byte, tail):
    cap, p = pick
    value = head + chr(0xDC00 + byte) + tail  # what Python's surrogateescape makes of the byte
    before = tree_bytes(run_r.parent)
    res = cw(*_argv(cap, **{p.name: value}))
    _refused(res, 2)
    label = p.metavar or p.name.upper() if p.positional else p.flag
    assert f"Invalid {label}: not valid UTF-8 (the byte 0x{byte:02x})" in res.stderr, res.stderr
    assert tree_bytes(run_r.parent) == before


@pytest.mark.parametrize(
    "argv",
    [
        [b"run", b"new", b"--id", b"r\xff"],
        [b"result", b"r", b"t1", b"res\xfe.md"],
        [b"result", b"r", b"t1", b"res.md", b"--usage-note", b"\xe2\x82"],
        [b"revenue", b"add", b"r", b"1.00", b"USD", b"--ref", b"\xc3"],
        [b"metrics", b"show", b"r", b"--now", b"2026-12-01T00:00:00Z\xff"],
    ],
)
def test_real_non_utf8_bytes_on_the_command_line(run_r, argv):
    """The executable itself, given raw bytes: exit 2, the flag named, no file changed."""
    before = tree_bytes(run_r.parent)
    res = subprocess.run(
        [sys.executable, "-m", "cw", *argv], cwd=run_r, capture_output=True, env=dict(os.environ), timeout=120
    )
    assert res.returncode == 2, res.stderr
    assert res.stdout == b"" and res.stderr.startswith(b"cw: Invalid ") and b"not valid UTF-8" in res.stderr
    assert tree_bytes(run_r.parent) == before


# ---------------------------------------------------------------------------
# prices, rates and repeated keys


def _policy(price: str) -> str:
    return (
        '{"schemaVersion": 1, "id": "p", "models": [{"model": "m", "inputPerMillion": 3, "outputPerMillion": 15},'
        f' {{"model": "n", "inputPerMillion": 1, "outputPerMillion": {price}}}]}}'
    )


@pytest.mark.parametrize("price", ["1e25", "1e400", "-1e400", "1e-30", "1000000.5", "0.10000000000000001", "1e-13"])
def test_prices_outside_the_bound_are_refused_naming_file_and_field(cw, run_r, price):
    (run_r / "p.json").write_text(_policy(price))
    res = cw("metrics", "show", "r", "--pricing", "p.json")
    _refused(res, 1)
    assert f"Invalid pricing policy {run_r / 'p.json'}: models[1].outputPerMillion " in res.stderr, res.stderr


def _is_double(d: Decimal) -> bool:
    return Decimal(repr(float(d))) == d


@given(
    digits=st.integers(1, 10**17),
    exp=st.integers(-40, 30),
)
@PROPERTY
def test_a_price_is_accepted_exactly_when_inside_the_bound(cw, run_r, digits, exp):
    price = Decimal(digits).scaleb(exp)
    (run_r / "p.json").write_text(_policy(str(price)))
    res = cw("metrics", "show", "r", "--pricing", "p.json", "--json")
    ok = PRICE_MIN <= price <= PRICE_MAX and _is_double(price)
    assert (res.exit_code == 0) is ok, (price, res.stderr)
    if not ok:
        _refused(res, 1)
        assert "models[1].outputPerMillion" in res.stderr


def _fx(rate: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 1,
            "id": "fx",
            "source": "test",
            "base": "EUR",
            "rates": [{"date": "2026-11-30", "perBase": {"USD": "1.1", "JPY": rate}}],
        }
    )


@given(digits=st.integers(1, 10**17), exp=st.integers(-40, 30))
@PROPERTY
def test_an_fx_rate_is_accepted_exactly_when_inside_the_bound(cw, run_r, digits, exp):
    rate = Decimal(digits).scaleb(exp)
    (run_r / "fx.json").write_text(_fx(format(rate, "f")))
    res = cw("pnl", "--fx", "fx.json", "--json", "--now", NOW)
    ok = RATE_MIN <= rate <= RATE_MAX and _is_double(rate)
    assert (res.exit_code == 0) is ok, (rate, res.stderr)
    if not ok:
        _refused(res, 1)
        assert f"Invalid FX policy {run_r / 'fx.json'}: rates[0].perBase.JPY" in res.stderr


@pytest.mark.parametrize(
    "file,args,text,needle",
    [
        (
            "p.json",
            ("metrics", "show", "r", "--pricing", "p.json"),
            '{"schemaVersion": 1, "models": [{"model": "m", "inputPerMillion": 3, "outputPerMillion": 15},'
            ' {"model": "n", "inputPerMillion": 1, "outputPerMillion": 2, "inputPerMillion": 100}]}',
            "duplicate key 'inputPerMillion' in models[1]",
        ),
        (
            "p.json",
            ("metrics", "show", "r", "--pricing", "p.json"),
            '{"schemaVersion": 1, "models": [], "models": [{"model": "m", "inputPerMillion": 3, "outputPerMillion": 1}]}',
            "duplicate key 'models' in (top level)",
        ),
        (
            "fx.json",
            ("pnl", "--fx", "fx.json"),
            '{"schemaVersion": 1, "id": "fx", "source": "t", "base": "EUR",'
            ' "rates": [{"date": "2026-11-30", "perBase": {"USD": "1.1", "USD": "0.5"}}]}',
            "duplicate key 'USD' in rates[0].perBase",
        ),
    ],
)
def test_a_policy_repeating_a_key_is_refused_naming_key_path_and_file(cw, run_r, file, args, text, needle):
    (run_r / file).write_text(text)
    res = cw(*args)
    _refused(res, 1)
    assert str(run_r / file) in res.stderr and needle in res.stderr, res.stderr


def test_a_budget_file_repeating_a_key_is_refused(cw, run_r):
    cw.ok("budget", "set", "--actor", "a", "--period", "month", "--tokens", "1000")
    f = run_r / ".cw" / "budgets.json"
    text = f.read_text()
    f.write_text(text.replace('"actor":', '"period": "day", "actor":', 1))
    res = cw("budget", "list", "--now", NOW)
    _refused(res, 1)
    assert str(f) in res.stderr and "duplicate key 'period'" in res.stderr, res.stderr


# ---------------------------------------------------------------------------
# ids from state.json


@pytest.mark.parametrize("wid", ["../../../../escaped", "..", "/tmp/abs", "a/b", "x\ny", ""])
def test_a_crafted_worker_id_never_leads_a_write_out_of_the_run(cw, run_r, wid):
    p = run_r / ".cw" / "runs" / "r" / "state.json"
    s = json.loads(p.read_text())
    for t in s["tasks"]:
        t["workerId"] = wid
    for w in s["workers"]:
        w["id"] = wid
    p.write_text(json.dumps(s))
    top = run_r.parent
    before = tree_bytes(top)
    res = cw("result", "r", "t1", "res.md")
    assert res.exit_code != 0 and "internal error" not in res.stderr, res.stderr
    if wid:
        assert "Refusing workerId" in res.stderr and "single safe path segment" in res.stderr
    assert tree_bytes(top) == before


@given(st.text(max_size=12))
@settings(max_examples=500, deadline=None, database=None)
def test_a_state_segment_is_one_folder_inside_its_parent_or_refused(value):
    from cw.shell.paths import state_segment

    base = Path("/run-dir")
    try:
        seg = state_segment(value, "workerId", base / "state.json")
    except CwError as err:
        assert err.exit_code == 1 and "Refusing workerId" in err.message
        return
    assert seg == value and "/" not in value and "\x00" not in value and value not in ("", ".", "..")
    assert Path(os.path.normpath(base / seg)).parent == base


# ---------------------------------------------------------------------------
# side files that are not regular files

_SIDE = {
    "revenue.head.json": Path("revenue.head.json"),
    "telemetry.json": Path("telemetry.json"),
    "snapshot": Path("metrics") / "metrics-report.json",
    "state.json": Path("state.json"),
}


def _cw_subprocess(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # a separate process, so a regression that blocks on a FIFO fails this test instead of hanging the suite
    return subprocess.run(
        [sys.executable, "-m", "cw", *args], cwd=repo, capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


@pytest.mark.parametrize("kind", ["fifo", "dir"])
@pytest.mark.parametrize("side", sorted(_SIDE))
def test_a_side_file_that_is_not_a_regular_file_is_refused_by_name(cw, run_r, side, kind):
    cw.ok("metrics", "show", "r")
    cw.ok("run", "new", "--id", "fine")
    target = run_r / ".cw" / "runs" / "r" / _SIDE[side]
    target.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    kind_text = "named pipe (FIFO)" if kind == "fifo" else "directory"
    refusal = f"Refusing to read {target}: it is a {kind_text}, not a regular file"
    if side != "telemetry.json":  # the summary reads no telemetry
        res = _cw_subprocess(run_r, "metrics", "summary", "--json", "--no-cache")
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert [u["runId"] for u in doc["unreadable"]] == ["r"] and refusal in doc["unreadable"][0]["reason"]
        assert [x["runId"] for x in doc["runs"]] == ["fine"]
    if side in ("state.json", "revenue.head.json"):
        res = _cw_subprocess(run_r, "ledger", "verify", "--json")
        assert res.returncode == 1
        rows = {x["runId"]: x for x in json.loads(res.stdout)["runs"]}
        assert rows["r"]["ok"] is False and refusal in json.dumps(rows["r"])
    if side == "state.json":
        res = _cw_subprocess(run_r, "run", "list", "--json")
        assert res.returncode == 0 and refusal in res.stdout
    if side != "snapshot":  # metrics show replaces a snapshot, whatever was there
        res = _cw_subprocess(run_r, "metrics", "show", "r")
        assert res.returncode == 1 and res.stderr.startswith("cw: ") and refusal in res.stderr, res.stderr


@pytest.mark.parametrize("flag", ["--pricing", "--fx"])
@pytest.mark.parametrize("what", ["fifo", "/dev/zero", "dir"])
def test_a_policy_that_is_not_a_regular_file_is_refused(cw, run_r, flag, what):
    path = str(run_r / "pol")
    if what == "fifo":
        os.mkfifo(path)
    elif what == "dir":
        os.mkdir(path)
    else:
        path = "/dev/zero"
    res = _cw_subprocess(run_r, "pnl", flag, path, "--now", NOW)
    assert res.returncode == 1 and res.stderr.startswith("cw: ") and path in res.stderr, res.stderr
    assert "internal error" not in res.stderr


# ---------------------------------------------------------------------------
# workbench queries and MCP arguments naming files


def _regular_tree(root: Path) -> dict[str, bytes]:
    """``tree_bytes`` without opening the FIFO these tests plant (reading it would wait for a writer)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if f != "pipe.json" and not f.endswith(".lock"):
                out[str(p.relative_to(root))] = p.read_bytes()
    return out


@pytest.fixture
def policies(run_r: Path, tmp_path: Path) -> dict[str, Path]:
    inside = run_r / "prices.json"
    shutil.copy(Path(__file__).parents[1] / "manifest" / "pricing.cw-example.json", inside)
    outside = tmp_path / "elsewhere.json"
    shutil.copy(inside, outside)
    fifo = run_r / "pipe.json"
    os.mkfifo(fifo)
    return {"inside": inside, "outside": outside, "fifo": fifo}


def test_workbench_queries_name_only_policies_or_files_of_its_scope(run_r, policies):
    with running() as server:
        for query in ("pricing=default", "pricing=none", "fx=default", f"pricing={policies['inside']}"):
            status, _, body = request(server, f"/api/pnl?{query}&now={NOW}")
            assert status == 200, (query, body[:300])
        for query, needle in (
            (f"pricing={policies['outside']}", b"outside the repos served here"),
            ("pricing=/dev/zero", b"outside the repos served here"),
            (f"pricing={policies['fifo']}", b"not a regular file"),
            ("fx=/dev/zero", b"outside the repos served here"),
            (f"fx={policies['fifo']}", b"not a regular file"),
        ):
            path = "/api/pnl" if query.startswith("fx") else "/api/metrics.summary"
            status, _, body = request(server, f"{path}?{query}&now={NOW}")
            assert status in (400, 403), (query, status)
            assert needle in body, (query, body[:300])


def test_mcp_arguments_name_only_policies_or_files_of_the_served_repos(run_r, policies):
    from cw.surfaces.mcp_server import call_tool

    ok, err = call_tool("cw_metrics_summary", {"pricing": str(policies["inside"]), "now": NOW})
    assert err is False, ok
    assert json.loads(ok)["pricingPolicy"]["id"] == "bundled-example-v1"
    for tool, args, needle in (
        ("cw_metrics_summary", {"pricing": str(policies["outside"])}, "outside the repos served here"),
        ("cw_pnl", {"fx": "/dev/zero"}, "outside the repos served here"),
        ("cw_pnl", {"fx": str(policies["fifo"])}, "not a regular file"),
        ("cw_metrics_summary", {"pricing": "../elsewhere.json"}, "outside the repos served here"),
        ("cw_run_show", {"runId": "r", "now": "tomorrow"}, "Invalid --now"),
        ("cw_run_new", {"id": "r\udcff"}, "argument id is not valid UTF-8 (the byte 0xff)"),
    ):
        before = _regular_tree(run_r.parent)
        text, err = call_tool(tool, args)
        assert err is True and needle in text, (tool, args, text)
        assert _regular_tree(run_r.parent) == before


def test_mcp_accepts_a_policy_in_a_registered_repo(cw, run_r, tmp_path):
    from cw.surfaces.mcp_server import call_tool

    other = tmp_path / "other"
    other.mkdir()
    cw.ok("registry", "add", str(other))
    shutil.copy(Path(__file__).parents[1] / "manifest" / "pricing.cw-example.json", other / "p.json")
    text, err = call_tool("cw_metrics_summary", {"pricing": str(other / "p.json"), "now": NOW})
    assert err is False, text


def test_the_cli_keeps_reading_a_policy_from_anywhere(cw, run_r, policies):
    """Only the served surfaces are confined: whoever types a path on the command line can read it anyway."""
    p = cw.json("metrics", "summary", "--pricing", str(policies["outside"]), "--now", NOW)
    assert p["pricingPolicy"]["id"] == "bundled-example-v1"


def test_the_calendar_constants_are_the_dates_they_name():
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert (datetime(1000, 1, 1, tzinfo=UTC) - epoch) // timedelta(milliseconds=1) == CALENDAR_MIN_MS
    assert (datetime(9999, 1, 1, tzinfo=UTC) - epoch) // timedelta(milliseconds=1) == CALENDAR_END_MS
