"""The Python API (cw.api): the CLI's payloads, errors, validation and actor rules, from the same table."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, require_module, state_of, tree_bytes

from cw.api import CwError, RefusedError, UsageError, Workspace
from cw.capabilities import all_capabilities

NOW = "2026-11-22T19:04:18.602Z"
READ_NOW = "2026-11-23T08:00:00.000Z"


def cli_payload(cw, *args: str, env: dict[str, str] | None = None) -> Any:
    res = cw.ok(*args, "--json", env=env)
    return json.loads(res.stdout, parse_float=Decimal)


@pytest.fixture
def pinned_cli_clock(monkeypatch):
    """The CLI's writes record NOW, as the API's do with Workspace(now=NOW); the rest of the CLI runs as it is."""
    from cw.shell.workspace import Workspace as ShellWorkspace

    def from_process(cls):
        return cls(Path(os.getcwd()), dict(os.environ), clock=lambda: NOW)

    monkeypatch.setattr(ShellWorkspace, "from_process", classmethod(from_process))


def write_outputs(root: Path) -> None:
    (root / "out").mkdir()
    (root / "out" / "classify.md").write_text("label: billing\n")


def worker_file(dispatched: dict[str, Any]) -> tuple[str, str]:
    """The one dispatched worker and its result file, written as the host would (it must be the worker's own)."""
    (task,) = dispatched["tasks"]
    path = Path(task["workerResultPath"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("sample a\n")
    return task["workerId"], str(path)


def cli_sequence(cw) -> list[Any]:
    out: list[Any] = []

    def j(*args: str) -> Any:
        out.append(cli_payload(cw, *args))
        return out[-1]

    j("run", "new", "--id", "par-1", "--app", "shop", "--token-budget", "600000", "--cost-budget", "5.00", "USD")
    j("task", "add", "par-1", "classify", "--backend", "claude-code")
    j("task", "add", "par-1", "sample:a", "--phase", "sample", "--backend", "codex")
    j("loop", "add", "par-1", "sample", "--task", "sample:a", "--max-rounds", "3", "--target", "20000")
    j("dispatch", "par-1", "classify")
    j(
        "result", "par-1", "classify", "out/classify.md", "--usage-input-tokens", "12000",
        "--usage-output-tokens", "1800", "--usage-model", "claude-sonnet-4-5", "--usage-source", "host-attested",
    )  # fmt: skip
    worker, path = worker_file(j("dispatch", "par-1"))
    j(
        "worker", "output", "par-1", worker, path, "--usage-input-tokens", "3000",
        "--usage-output-tokens", "500", "--usage-model", "claude-sonnet-4-5", "--actor", "reviewer",
    )  # fmt: skip
    j("loop", "next", "par-1", "sample")
    j("loop", "list", "par-1", "--now", READ_NOW)
    j("revenue", "add", "par-1", "25.00", "USD", "--ref", "INV-1", "--note", "first order")
    j("revenue", "reverse", "par-1", "rev-0001", "--amount", "5.00", "--reason", "partial refund")
    j("revenue", "list", "--now", READ_NOW)
    j("metrics", "show", "par-1", "--pricing", "default", "--now", READ_NOW)
    j("metrics", "summary", "--now", READ_NOW)
    j("pnl", "--now", READ_NOW)
    j("pnl", "--by", "model", "--now", READ_NOW)
    j("budget", "par-1", "--now", READ_NOW)
    j("budget", "set", "--actor", "host-bot", "--period", "month", "--cost", "50.00", "USD")
    j("budget", "list", "--now", READ_NOW)
    j("ledger", "verify", "--now", READ_NOW)
    j("run", "show", "par-1", "--now", READ_NOW)
    j("run", "list", "--now", READ_NOW)
    return out


def api_sequence(ws: Workspace) -> list[Any]:
    out: list[Any] = []

    def j(payload: Any) -> Any:
        out.append(payload)
        return payload

    j(ws.run_new(id="par-1", app="shop", token_budget=600000, cost_budget=("5.00", "USD")))
    j(ws.task_add("par-1", "classify", backend="claude-code"))
    j(ws.task_add("par-1", task_id="sample:a", phase="sample", backend="codex"))
    j(ws.loop_add("par-1", "sample", task=["sample:a"], max_rounds=3, target="20000"))
    j(ws.dispatch("par-1", ["classify"]))
    j(
        ws.result(
            "par-1",
            "classify",
            "out/classify.md",
            usage_input_tokens=12000,
            usage_output_tokens=1800,
            usage_model="claude-sonnet-4-5",
            usage_source="host-attested",
        )
    )
    worker, path = worker_file(j(ws.dispatch(run_id="par-1")))
    j(
        ws.worker_output(
            "par-1",
            worker,
            path,
            usage_input_tokens=3000,
            usage_output_tokens=500,
            usage_model="claude-sonnet-4-5",
            actor="reviewer",
        )
    )
    j(ws.loop_next("par-1", "sample"))
    j(ws.loop_list("par-1", now=READ_NOW))
    j(ws.revenue_add("par-1", Decimal("25.00"), "USD", ref="INV-1", note="first order"))
    j(ws.revenue_reverse("par-1", "rev-0001", amount="5.00", reason="partial refund"))
    j(ws.revenue_list(now=READ_NOW))
    j(ws.metrics_show("par-1", pricing="default", now=READ_NOW))
    j(ws.metrics_summary(now=READ_NOW))
    j(ws.pnl(now=READ_NOW))
    j(ws.pnl(by="model", now=datetime(2026, 11, 23, 8, tzinfo=UTC)))
    j(ws.budget("par-1", now=READ_NOW))
    j(ws.budget_set(actor="host-bot", period="month", cost=["50.00", "USD"]))
    j(ws.budget_list(now=READ_NOW))
    j(ws.ledger_verify(now=READ_NOW))
    j(ws.run_show("par-1", now=READ_NOW))
    j(ws.run_list(now=READ_NOW))
    return out


def test_the_api_gives_the_cli_payloads_and_writes_the_same_files(tmp_path, cw, monkeypatch, pinned_cli_clock):
    # Both passes run in the same directory (payloads name paths), one after the other: the CLI's, moved
    # aside, then the API's. The actor comes from CW_ACTOR in both, as the CLI resolves it.
    ws_dir, home = tmp_path / "ws", tmp_path / "home"
    monkeypatch.setenv("CW_ACTOR", "host-bot")
    monkeypatch.setenv("CW_HOME", str(home))

    ws_dir.mkdir()
    write_outputs(ws_dir)
    monkeypatch.chdir(ws_dir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-cli"))
    from_cli = cli_sequence(cw)
    monkeypatch.chdir(tmp_path)
    ws_dir.rename(tmp_path / "ws-cli")

    ws_dir.mkdir()
    write_outputs(ws_dir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-api"))
    from_api = api_sequence(Workspace(ws_dir, now=NOW))

    assert len(from_api) == len(from_cli)
    for i, (a, c) in enumerate(zip(from_api, from_cli, strict=True)):
        assert a == c, f"step {i}: the API's payload differs from the CLI's"
    assert tree_bytes(ws_dir) == tree_bytes(tmp_path / "ws-cli")

    # the sequence did what it says, by hand: the run's actor from CW_ACTOR, the output's from --actor,
    # 12000+1800+3000+500 = 17300 tokens < 20000 opens round 2, and 25.00 - 5.00 of revenue
    assert from_api[0]["actor"] == "host-bot"
    loop_next = from_api[8]
    assert (loop_next["spent"], loop_next["done"], loop_next["nextTasks"]) == (17300, False, ["sample:a@r2"])
    pnl = from_api[15]
    # spend: 12000 x 3 + 1800 x 15 + 3000 x 3 + 500 x 15 per million = USD 0.0795, shown to the cent
    assert (pnl["totals"]["revenue"], pnl["totals"]["spend"], pnl["totals"]["net"]) == (
        20,
        Decimal("0.08"),
        Decimal("19.92"),
    )
    assert from_api[-3]["ok"] is True


def test_reads_on_one_workspace_agree_with_the_cli(repo, cw):
    # writes by the CLI, read by both
    write_outputs(repo)
    cw.ok("run", "new", "--id", "r-1", "--actor", "alice")
    cw.ok("task", "add", "r-1", "classify")
    cw.ok("dispatch", "r-1")
    cw.ok("result", "r-1", "classify", "out/classify.md", "--usage-input-tokens", "100", "--usage-output-tokens", "7")
    ws = Workspace(repo, now=READ_NOW)
    for args, call in [
        (["run", "show", "r-1"], lambda: ws.run_show("r-1")),
        (["metrics", "summary", "--scope", "repo"], lambda: ws.metrics_summary(scope="repo")),
        (["pnl", "--by", "run", "--attribution", "linear"], lambda: ws.pnl(by="run", attribution="linear")),
        (["ledger", "verify"], lambda: ws.ledger_verify()),
        (["loop", "list", "r-1"], lambda: ws.loop_list("r-1")),
    ]:
        assert call() == cli_payload(cw, *args, "--now", READ_NOW), args
    exported = ws.export(format="jsonl")
    assert exported == cli_payload(cw, "export", "--format", "jsonl", "--now", READ_NOW)
    assert [json.loads(line)["runId"] for line in exported["content"].splitlines()] == ["r-1"]


def test_a_usage_error_is_the_clis_and_writes_nothing(repo, cw):
    write_outputs(repo)
    cw.ok("run", "new", "--id", "r-1")
    cw.ok("task", "add", "r-1", "classify")
    cw.ok("dispatch", "r-1")
    before = tree_bytes(repo)
    res = cw.fails(2, "result", "r-1", "classify", "out/classify.md", "--usage-input-tokens", "-5")
    with pytest.raises(UsageError) as caught:
        Workspace(repo).result("r-1", "classify", "out/classify.md", usage_input_tokens=-5)
    err = caught.value
    assert isinstance(err, CwError) and not isinstance(err, RefusedError)
    assert err.exit_code == res.exit_code == 2
    assert res.stderr.splitlines()[0] == f"cw: {err.message}"
    assert "--usage-input-tokens" in err.message and "-5" in err.message
    assert tree_bytes(repo) == before


def test_a_refusal_is_the_clis_with_its_hint(repo, cw):
    cw.ok("run", "new", "--id", "r-1")
    cw.ok("revenue", "add", "r-1", "10.00", "EUR", "--ref", "INV-9")
    before = tree_bytes(repo)
    ws = Workspace(repo)
    for args, call in [
        (["revenue", "add", "r-1", "10.00", "EUR", "--ref", "INV-9"], lambda: ws.revenue_add("r-1", "10.00", "EUR", ref="INV-9")),
        (["run", "show", "no-such-run"], lambda: ws.run_show("no-such-run")),
    ]:  # fmt: skip
        res = cw.fails(1, *args)
        with pytest.raises(RefusedError) as caught:
            call()
        err = caught.value
        assert err.exit_code == res.exit_code == 1
        lines = res.stderr.splitlines()
        assert lines[0] == f"cw: {err.message}"
        assert lines[1:] == ([f"  Try: {err.hint}"] if err.hint else [])
    assert tree_bytes(repo) == before
    # a missing run is a NotFoundError, which is a RefusedError; its hint is CW's
    assert err.hint == "cw run list"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ws: ws.revenue_add("r-1", "1.00", "USD"), "Workspace.revenue_add() missing required argument: ref"),
        (lambda ws: ws.task_add("r-1"), "Workspace.task_add() missing required argument: task_id"),
        (lambda ws: ws.run_new(idd="x"), "Workspace.run_new() got an unknown argument: idd (it takes: id, "),
        (lambda ws: ws.run_new(json=True), "Workspace.run_new() got an unknown argument: json"),
        (lambda ws: ws.run_new(cwd="."), "Workspace.run_new() got an unknown argument: cwd"),
        (lambda ws: ws.run_new(now=NOW), "Workspace.run_new() got an unknown argument: now"),
        (lambda ws: ws.pnl(by="team"), 'Workspace.pnl() argument by: "team" is not one of actor, app, run, model.'),
        (lambda ws: ws.run_new(token_budget=[5]), "Workspace.run_new() argument token_budget must be an integer, got array."),
        (lambda ws: ws.run_new(cost_budget=["5.00"]), "Workspace.run_new() argument cost_budget must hold exactly 2 values, got 1."),
        (lambda ws: ws.run_new(parent="r-0"), "Workspace.run_new() argument parent must be an array, got string."),
        (lambda ws: ws.dispatch("r-1", allow_unreported="yes"), "Workspace.dispatch() argument allow_unreported must be a boolean"),
        (lambda ws: ws.task_add("r-1", "t", "x"), "Workspace.task_add() takes 2 positional argument(s) (run_id, task_id), got 3"),
        (lambda ws: ws.task_add("r-1", run_id="r-2"), "Workspace.task_add() got two values for argument run_id."),
        (lambda ws: ws.revenue_add("r-1", "1,00", "USD", ref="A"), 'Invalid AMOUNT "1,00"'),
        (lambda ws: ws.run_list(now="tomorrow"), 'Invalid --now "tomorrow"'),
        (lambda ws: ws.run_new(app="shop\udcff"), "Workspace.run_new() argument app is not valid UTF-8 (the byte 0xff)"),
        # as the CLI refuses --tz "": an empty option is not "use the default"
        (lambda ws: ws.pnl(tz=""), "Workspace.pnl() argument tz is empty; give a value or leave it out."),
        (lambda ws: ws.export(format="jsonl", currency="  "), "Workspace.export() argument currency is empty"),
        (lambda ws: ws.budget_set(actor="a", period="month", cost=["", "USD"]), "Workspace.budget_set() argument cost is empty"),
    ],
)  # fmt: skip
def test_argument_mistakes_are_usage_errors_before_anything_is_touched(repo, cw, call, message):
    cw.ok("run", "new", "--id", "r-1")
    before = tree_bytes(repo)
    with pytest.raises(UsageError) as caught:
        call(Workspace(repo))
    assert caught.value.message.startswith(message)
    assert caught.value.exit_code == 2
    assert tree_bytes(repo) == before


def test_every_capability_has_a_method_with_the_clis_arguments():
    caps = all_capabilities()
    assert len(caps) >= 40
    for cap in caps:
        name = "_".join(w.replace("-", "_") for w in cap.path)
        method = getattr(Workspace, name)
        sig = inspect.signature(method)
        params = list(sig.parameters.values())[1:]
        # positionals in table order, then every long option but --cwd and --json, in snake_case
        mine = [p for p in cap.params if p.name not in ("cwd", "json")]
        assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == [
            _arg(p) for p in mine if p.positional
        ], cap.name
        assert [p.name for p in params if p.kind is p.KEYWORD_ONLY] == [_arg(p) for p in mine if not p.positional]
        assert len(params) == len(mine)
        for p in mine:  # what the CLI requires has no default
            required = p.required and not (p.positional and p.multiple)
            assert (sig.parameters[_arg(p)].default is inspect.Parameter.empty) == required, (cap.name, p.name)
        doc = inspect.getdoc(method) or ""
        assert doc.startswith(cap.summary) and f"cw {' '.join(cap.path)} --json" in doc
        for p in params:
            assert f"    {p.name}: " in doc, (cap.name, p.name)
    assert Workspace.metrics_show.__module__ == "cw.api"
    assert "run_id" in (Workspace.metrics_show.__doc__ or "")


def _arg(p) -> str:
    if p.positional:
        return p.name
    n = (p.cli_flag or "--" + p.name.replace("_", "-"))[2:].replace("-", "_")
    return n + "_" if n == "from" else n


def test_a_verb_added_to_the_table_becomes_a_method(tmp_path):
    # a fresh interpreter whose table gains one read verb: the generator picks it up with nothing else changed
    code = """
import dataclasses, json, sys
import cw.capabilities as caps
from cw.capabilities.table import Capability, Param
def entry(ws, a):
    return {"echo": a, "repo": str(ws.process_cwd), "at": ws.now(a.get("now"))}
extra = Capability("x.echo", ("x", "echo-back"), "Echo.", (Param("word", "w", positional=True, required=True),
    Param("times", "t", type="integer"), Param("now", "n")), entry, True)
base = caps.all_capabilities()
caps.all_capabilities = lambda: (*base, extra)
from cw.api import Workspace
print(json.dumps(Workspace(sys.argv[1], now="2026-01-02T03:04:05Z").x_echo_back("hi", times=3)))
"""
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {
        "echo": {"word": "hi", "times": "3", "now": "2026-01-02T03:04:05Z"},
        "repo": str(tmp_path.resolve()),
        "at": "2026-01-02T03:04:05Z",
    }


def test_importing_the_api_does_not_import_click():
    code = "import sys, json; import cw.api; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout))
    assert "cw.api" in mods and "cw.surfaces.python_api" in mods
    assert not {m for m in mods if m == "click" or m.startswith("click.")}
    assert "cw.surfaces.cli" not in mods and "mcp" not in mods


def test_home_is_the_workspaces_and_the_environment_is_left_alone(tmp_path, repo, cw, isolated_home):
    other = tmp_path / "other-home"
    before = dict(os.environ)
    ws = Workspace(repo, home=other, now=NOW)
    assert ws.home == other.resolve()
    assert ws.registry_add()["root"] == str(repo.resolve())
    assert (other / "registry" / "repos.json").is_file()
    assert dict(os.environ) == before
    assert not isolated_home.exists() or not any(isolated_home.rglob("*"))  # the process's CW_HOME untouched
    ws.run_new(id="h-1")
    env = {"CW_HOME": str(other)}
    assert ws.registry_list(now=READ_NOW) == cli_payload(cw, "registry", "list", "--now", READ_NOW, env=env)
    got = ws.metrics_summary(scope="home", now=READ_NOW)
    assert got == cli_payload(cw, "metrics", "summary", "--scope", "home", "--now", READ_NOW, env=env)
    assert [r["runId"] for r in got["runs"]] == ["h-1"]
    # without home, the home scope is the environment's, as for the CLI
    plain = Workspace(repo)
    assert plain.registry_list(now=READ_NOW) == cli_payload(cw, "registry", "list", "--now", READ_NOW)
    assert plain.registry_list(now=READ_NOW)["repos"] == []


def test_the_actor_rules_are_the_clis(repo, cw, monkeypatch):
    ws = Workspace(repo, now=NOW)
    monkeypatch.setenv("CW_ACTOR", "env-bot")
    assert ws.run_new(id="a-1")["actor"] == "env-bot"
    assert ws.run_new(id="a-2", actor="alice")["actor"] == "alice"
    monkeypatch.setenv("CW_CRON_NAME", "nightly")
    assert ws.run_new(id="a-3", actor="alice")["actor"] == "cron:nightly"  # the scheduler is the ground truth
    cw.ok("run", "new", "--id", "a-4", "--actor", "alice")
    cli_state, api_state = state_of(repo, "a-4"), state_of(repo, "a-3")
    assert api_state["actor"] == cli_state["actor"] == "cron:nightly"
    assert api_state.get("claimedActor") == cli_state.get("claimedActor")
    with pytest.raises(UsageError, match="Invalid --actor 'two words'"):
        ws.run_new(id="a-5", actor="two words")
    assert not (repo / ".cw" / "runs" / "a-5").exists()


def test_now_pins_the_clock_and_is_validated(repo, cw):
    offset = timezone(timedelta(hours=1))
    ws = Workspace(repo, now=datetime(2026, 11, 22, 20, 4, 18, 602999, tzinfo=offset))
    assert ws.now == NOW  # the instant, in CW's form, to the millisecond
    assert ws.run_new(id="n-1")["createdAt"] == NOW
    # an ISO string with an offset: writes record the instant in CW's form, reads see it as --now, verbatim
    given = "2026-11-22T20:04:18.602+01:00"
    ws = Workspace(repo, now=given)
    assert ws.run_new(id="n-2")["createdAt"] == NOW
    assert ws.run_list() == cli_payload(cw, "run", "list", "--now", given)
    assert ws.run_list()["generatedAt"] == given
    assert ws.run_list(now=READ_NOW)["generatedAt"] == READ_NOW  # a call's own now wins
    for bad in ("2026-11-22", "2026-11-22T19:04:18", "soon", 1764000000, datetime(2026, 11, 22, 19, 4)):
        with pytest.raises(UsageError, match="now"):
            Workspace(repo, now=bad)  # type: ignore[arg-type]


def test_repo_dir_must_be_a_directory(tmp_path):
    with pytest.raises(UsageError, match="repo_dir is not a directory"):
        Workspace(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="repo_dir is not a directory"):
        Workspace(tmp_path / "f")
    with pytest.raises(UsageError, match="NUL"):
        Workspace("a\x00b")


def test_the_stub_is_current_and_names_every_method():
    res = subprocess.run(
        [sys.executable, "-m", "cw.surfaces.python_api", "--check"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    tree = ast.parse((REPO_ROOT / "cw" / "api.pyi").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Workspace"]
    stubbed = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)} - {"__init__"}
    assert stubbed == {"_".join(w.replace("-", "_") for w in c.path) for c in all_capabilities()}


def test_mypy_sees_the_methods_through_the_stub(tmp_path):
    api = require_module("mypy.api", "mypy (the lint extra) type-checks a host's use of cw.api")
    (tmp_path / "host.py").write_text(
        "from cw.api import Workspace\n"
        "ws = Workspace('.')\n"
        "ok: dict = ws.metrics_show('r', now='2026-01-01T00:00:00Z')\n"
        "ws.metrics_shw('r')\n"
        "ws.pnl(by='team')\n"
        "ws.revenue_add('r', '1.00', 'USD')\n"
    )
    out, _, _ = api.run(["--no-incremental", "--cache-dir", os.devnull, str(tmp_path / "host.py")])
    errors = sorted({int(m.group(1)) for m in re.finditer(r"host\.py:(\d+): error", out)})
    assert errors == [4, 5, 6], out


def test_the_docs_example_runs(tmp_path):
    text = (REPO_ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "docs/api.md has a python example"
    (tmp_path / "example.py").write_text(blocks[0])
    res = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    # 25.00 of revenue less 0.063 of spend, which P&L shows to the cent
    assert lines[0] == "net 24.94 USD"
    assert lines[1].startswith('1 Revenue ref "INV-1042" is already booked on run triage-1')
    assert lines[2].startswith('2 Invalid --usage-input-tokens "-5"')
    assert (tmp_path / ".cw" / "runs" / "triage-1" / "state.json").is_file()


def test_every_surface_refuses_text_that_was_not_utf8(repo):
    # the CLI gets the raw byte on its command line; MCP and the API get the lone surrogate Python makes of it
    res = subprocess.run(
        [sys.executable, "-m", "cw", "run", "new", "--id", "u-1", "--app", b"shop\xff"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.startswith("cw: Invalid --app: not valid UTF-8 (the byte 0xff); nothing was read or written.")
    from cw.capabilities import by_name
    from cw.surfaces.mcp_server import handler_args

    with pytest.raises(UsageError, match=r"argument app is not valid UTF-8 \(the byte 0xff\)"):
        handler_args(by_name("run.new"), {"app": "shop\udcff"}, "MCP tool cw_run_new")
    with pytest.raises(UsageError, match=r"argument parent is not valid UTF-8 \(the byte 0xfe\)"):
        Workspace(repo).run_new(parent=["ok", "r\udcfe"])
    assert not (repo / ".cw").exists()
