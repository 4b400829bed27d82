"""``cw mcp``: tools rendered from the table, byte-identical to ``cw <verb> --json``, refusals as tool errors.

The server runs as a real subprocess (``python -m cw mcp``) and is driven by
the SDK's own client over stdio; the CLI runs as a subprocess too.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, require_module, state_of
from test_workbench import NOW, call_plan, cli_argv, mcp_args, parity_caps, populate, samples

from cw.capabilities import all_capabilities
from cw.capabilities.table import Capability

mcp = require_module("mcp", "the MCP SDK is the optional extra cw-runs[mcp]; `make test` installs it")
import anyio  # noqa: E402  (installed with the SDK)

MCP_CAPS = [c for c in all_capabilities() if c.mcp]
READ_ONLY = [c for c in MCP_CAPS if c.read_only]
PARITY = [c for c in parity_caps() if c.mcp]


def cli(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cw", *argv], cwd=repo, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def with_server(repo: Path, body: Callable[[Any], Awaitable[Any]], errlog: Path | None = None) -> Any:
    """Start ``python -m cw mcp`` in ``repo``, connect the SDK client over stdio, run ``body(client)``."""
    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "cw", "mcp"], env=dict(os.environ), cwd=str(repo)
    )
    log_path = errlog or repo.parent / "mcp-stderr.log"

    async def main() -> Any:
        with open(log_path, "w") as err:
            client_stdio = mcp.client.stdio.stdio_client(params, errlog=err)
            client = mcp.Client(client_stdio, read_timeout_seconds=120)
            async with client:
                return await body(client)

    return anyio.run(main)


def mcp_text_of_refusal(stderr: str) -> str:
    """What MCP must say for a CLI refusal: ``cw: <msg>[\\n  Try: <hint>]`` -> ``<msg>[\\nTry: <hint>]``."""
    assert stderr.startswith("cw: ") and stderr.endswith("\n"), stderr
    return stderr[len("cw: ") : -1].replace("\n  Try: ", "\nTry: ")


@pytest.fixture
def world(cw, repo: Path, tmp_path: Path) -> dict[str, Path]:
    other = tmp_path / "other"
    populate(cw, repo, other)
    return {"repo": repo, "other": other}


# ---------------------------------------------------------------------------
# parity


def test_every_read_only_tool_is_byte_identical_to_the_cli(world):
    repo = world["repo"]
    table = samples(repo, world["other"])
    plan = [(cap, args) for cap in PARITY for args in call_plan(cap, table)]
    assert {c.name for c in READ_ONLY} <= {cap.name for cap, _ in plan}, "every read-only tool is called"

    async def body(client) -> list[str]:
        done = []
        for cap, args in plan:
            argv = cli_argv(cap, args)
            # the CLI and the tool run back to back: a metrics snapshot written by one is seen by both
            out = await anyio.to_thread.run_sync(functools.partial(cli, repo, *argv))
            # a read verb that reports problems (ledger verify, pricing check) exits as its payload says
            want = cap.exit_code(json.loads(out.stdout)) if cap.exit_code and out.stdout else 0
            assert out.returncode == want, f"cw {' '.join(argv)}: {out.stderr}"
            res = await client.call_tool(cap.tool_name, mcp_args(cap, args))
            assert not res.is_error, f"{cap.tool_name} {args}: {res.content[0].text}"
            assert len(res.content) == 1 and res.content[0].type == "text"
            assert out.stdout == res.content[0].text + "\n", f"{cap.tool_name} {args} differs from cw {argv}"
            done.append(cap.tool_name)
        return done

    done = with_server(repo, body)
    assert sorted(set(done)) == sorted(c.tool_name for c in PARITY)
    assert len(done) == len(plan)


def test_numbers_reach_the_handler_as_the_cli_passes_them(world):
    """``limit: 2`` (a JSON number) behaves as ``--limit 2``; a run built through MCP tools equals the CLI's."""
    repo = world["repo"]
    summary = next((c for c in READ_ONLY if c.name == "metrics.summary"), None)
    assert summary is not None, "metrics.summary is declared"

    async def body(client):
        res = await client.call_tool("cw_metrics_summary", {"limit": 2, "now": NOW})
        await client.call_tool(
            "cw_run_new",
            {"id": "via-mcp", "app": "shop", "tokenBudget": 5000, "costBudget": ["2.50", "USD"], "actor": "dana"},
        )
        await client.call_tool("cw_task_add", {"runId": "via-mcp", "taskId": "t1"})
        await client.call_tool("cw_dispatch", {"runId": "via-mcp", "taskIds": ["t1"]})
        done = await client.call_tool(
            "cw_result",
            {
                "runId": "via-mcp",
                "taskId": "t1",
                "file": "res.md",
                "usageInputTokens": 1000,
                "usageOutputTokens": 250,
                "usageModel": "claude-haiku-4-5",
            },
        )
        assert not done.is_error, done.content[0].text
        return res.content[0].text

    expected = cli(repo, "metrics", "summary", "--limit", "2", "--now", NOW, "--json").stdout
    text = with_server(repo, body)
    assert text + "\n" == expected
    payload = json.loads(text)
    assert payload["runCount"] == 2 and payload["omittedRuns"] == 3
    st = state_of(repo, "via-mcp")
    assert st["workflow"]["limits"]["tokenBudget"] == 5000
    assert st["budget"] == {"costBudget": {"amount": "2.50", "currency": "USD"}}
    usage = next(t for t in st["tasks"] if t["id"] == "t1")["usage"]
    assert (usage["inputTokens"], usage["outputTokens"], usage["model"]) == (1000, 250, "claude-haiku-4-5")


# ---------------------------------------------------------------------------
# tools/list


def test_tools_list_is_the_table(world):
    async def body(client):
        return (await client.list_tools()).tools

    tools = with_server(world["repo"], body)
    assert [t.name for t in tools] == [c.tool_name for c in MCP_CAPS]
    assert all(t.name.startswith("cw_") for t in tools)
    for tool, cap in zip(tools, MCP_CAPS, strict=False):
        assert tool.input_schema == cap.input_schema(), cap.name
        assert tool.description.startswith(cap.summary)
        if cap.read_only:
            assert tool.annotations is not None and tool.annotations.read_only_hint is True, cap.name
        else:
            assert tool.annotations is None, cap.name
    show = next(t for t in tools if t.name == "cw_run_show")
    assert show.input_schema["required"] == ["runId"]
    assert show.input_schema["properties"]["runId"] == {"type": "string", "description": "the run's id"}
    for tool in tools:  # --json is the CLI's; a tool always answers in JSON
        assert "json" not in tool.input_schema["properties"], tool.name


# ---------------------------------------------------------------------------
# refusals: the CLI's message as a tool error


def test_refused_calls_carry_the_cli_message(world):
    repo = world["repo"]
    bad = repo / ".cw" / "runs" / "broken"
    bad.mkdir(parents=True)
    (bad / "state.json").write_text("{ not json")
    future = repo / ".cw" / "runs" / "future"
    future.mkdir(parents=True)
    (future / "state.json").write_text(json.dumps({"schemaVersion": 99, "id": "future"}))
    cases = [
        (("run", "show", "nope"), "cw_run_show", {"runId": "nope"}),
        (("run", "show", "../x"), "cw_run_show", {"runId": "../x"}),
        (("run", "show", "broken"), "cw_run_show", {"runId": "broken"}),
        (("run", "show", "future"), "cw_run_show", {"runId": "future"}),
        (("task", "add", "nope", "t9"), "cw_task_add", {"runId": "nope", "taskId": "t9"}),
        (("result", "build-1", "t9", "res.md"), "cw_result", {"runId": "build-1", "taskId": "t9", "file": "res.md"}),
        (
            ("result", "build-1", "t1", "missing.md"),
            "cw_result",
            {"runId": "build-1", "taskId": "t1", "file": "missing.md"},
        ),
        (
            ("result", "build-1", "t1", "res.md", "--usage-input-tokens=-5"),
            "cw_result",
            {"runId": "build-1", "taskId": "t1", "file": "res.md", "usageInputTokens": -5},
        ),
        (
            ("result", "build-1", "t1", "res.md", "--usage-input-tokens", "1.5"),
            "cw_result",
            {"runId": "build-1", "taskId": "t1", "file": "res.md", "usageInputTokens": 1.5},
        ),
        (("run", "new", "--id", "build-1"), "cw_run_new", {"id": "build-1"}),
    ]
    cases.append(
        (
            ("metrics", "show", "fixture-run", "--pricing", "no-such-policy.json"),
            "cw_metrics_show",
            {"runId": "fixture-run", "pricing": "no-such-policy.json"},
        )
    )
    cases.append(
        (
            ("metrics", "show", "nope", "--pricing", "no-such-policy.json"),
            "cw_metrics_show",
            {"runId": "nope", "pricing": "no-such-policy.json"},
        )
    )
    cases.append(
        (
            ("revenue", "add", "build-2", "10.001", "USD", "--ref", "x"),
            "cw_revenue_add",
            {"runId": "build-2", "amount": "10.001", "currency": "USD", "ref": "x"},
        )
    )
    cases.append(
        (
            ("revenue", "add", "build-1", "5.00", "USD", "--ref", "order-1"),
            "cw_revenue_add",
            {"runId": "build-1", "amount": "5.00", "currency": "USD", "ref": "order-1"},
        )
    )
    cases.append((("pnl", "--half-life", "7"), "cw_pnl", {"halfLife": "7"}))
    expected = []
    for argv, _, _ in cases:
        out = cli(repo, *argv)
        assert out.returncode in (1, 2) and out.stdout == "", (argv, out)
        expected.append(mcp_text_of_refusal(out.stderr))

    async def body(client):
        return [await client.call_tool(tool, args) for _, tool, args in cases]

    results = with_server(repo, body)
    for (argv, tool, _), want, res in zip(cases, expected, results, strict=False):
        assert res.is_error, (tool, res.content[0].text)
        assert res.content[0].text == want, argv
    assert expected[0] == "Run not found: nope\nTry: cw run list"


def test_argument_errors_are_clear_tool_errors(world, tmp_path):
    missing_dir = tmp_path / "no-such-dir"
    cases = {
        ("cw_run_show", json.dumps({})): "MCP tool cw_run_show missing required argument: runId",
        ("cw_run_show", json.dumps({"runId": None})): "MCP tool cw_run_show missing required argument: runId",
        (
            "cw_run_show",
            json.dumps({"runId": "build-1", "colour": "red"}),
        ): "MCP tool cw_run_show got an unknown argument: colour (it takes: runId, now, cwd)",
        (
            "cw_run_show",
            json.dumps({"runId": "build-1", "json": True}),
        ): "MCP tool cw_run_show got an unknown argument: json (it takes: runId, now, cwd)",
        (
            "cw_run_show",
            json.dumps({"runId": "build-1", "cwd": str(missing_dir)}),
        ): f"MCP cwd is not a directory: {missing_dir}",
        (
            "cw_run_show",
            json.dumps({"runId": "build-1", "cwd": "res.md"}),
        ): f"MCP cwd is not a directory: {world['repo'] / 'res.md'}",
        (
            "cw_run_list",
            json.dumps({"lifecycle": "sleeping"}),
        ): 'MCP tool cw_run_list argument lifecycle: "sleeping" is not one of open, completed, failed, empty.',
        (
            "cw_run_show",
            json.dumps({"runId": ["build-1"]}),
        ): "MCP tool cw_run_show argument runId must be a string, got array.",
        (
            "cw_run_show",
            json.dumps({"runId": True}),
        ): "MCP tool cw_run_show argument runId must be a string, got boolean.",
        (
            "cw_dispatch",
            json.dumps({"runId": "build-1", "taskIds": "t1"}),
        ): "MCP tool cw_dispatch argument taskIds must be an array, got string.",
        (
            "cw_dispatch",
            json.dumps({"runId": "build-1", "allowUnreported": "yes"}),
        ): "MCP tool cw_dispatch argument allowUnreported must be a boolean (true or false), got string.",
        (
            "cw_run_new",
            json.dumps({"costBudget": ["2.50"]}),
        ): "MCP tool cw_run_new argument costBudget must hold exactly 2 values, got 1.",
        ("cw_no_such_tool", json.dumps({})): "Unknown MCP tool: cw_no_such_tool\nTry: list the tools with tools/list",
    }

    async def body(client):
        return [(await client.call_tool(name, json.loads(args))) for name, args in cases]

    before = sorted(p.name for p in (world["repo"] / ".cw" / "runs").iterdir())
    results = with_server(world["repo"], body)
    for (key, want), res in zip(cases.items(), results, strict=False):
        assert res.is_error, key
        assert res.content[0].text == want, key
    assert sorted(p.name for p in (world["repo"] / ".cw" / "runs").iterdir()) == before


# ---------------------------------------------------------------------------
# stdout is the protocol's alone


def raw_session(repo: Path, msgs: list[dict[str, Any]], argv: list[str] | None = None) -> tuple[str, str, int]:
    """Speak newline-delimited JSON-RPC to a server subprocess by hand; returns (stdout, stderr, exit code).

    stdin stays open until every request has its reply, then closes (the server then exits).
    """
    wanted = sum(1 for m in msgs if "id" in m)
    err_path = repo.parent / "raw-stderr.log"
    with (
        open(err_path, "w") as err,
        subprocess.Popen(
            argv or [sys.executable, "-m", "cw", "mcp"],
            cwd=repo,
            env=dict(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        ) as proc,
    ):
        watchdog = threading.Timer(120, proc.kill)
        watchdog.start()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("".join(json.dumps(m) + "\n" for m in msgs))
            proc.stdin.flush()
            lines = []
            while sum(1 for line in lines if '"id"' in line) < wanted:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
            proc.stdin.close()
            lines.append(proc.stdout.read())
            code = proc.wait()
        finally:
            watchdog.cancel()
    return "".join(lines), err_path.read_text(), code


INIT = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]


def test_logs_go_to_stderr_and_stdout_carries_only_json_rpc(world):
    repo = world["repo"]
    msgs = [
        *INIT,
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "cw_run_show", "arguments": {"runId": "nope"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "cw_run_list", "arguments": {"now": NOW}},
        },
    ]
    stdout, stderr, code = raw_session(repo, msgs)
    assert code == 0, stderr
    replies = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert all(r.get("jsonrpc") == "2.0" for r in replies)
    by_id = {r["id"]: r for r in replies if "id" in r}
    assert set(by_id) == {1, 2, 3, 4}
    assert by_id[1]["result"]["serverInfo"]["name"] == "cw"
    wire = {t["name"]: t for t in by_id[2]["result"]["tools"]}
    assert list(wire) == [c.tool_name for c in MCP_CAPS]
    for cap in MCP_CAPS:
        if cap.read_only:
            assert wire[cap.tool_name]["annotations"] == {"readOnlyHint": True}
        else:
            assert "annotations" not in wire[cap.tool_name], cap.tool_name
        assert wire[cap.tool_name]["inputSchema"] == cap.input_schema()
    if "cw_metrics_show" in wire:
        assert "annotations" not in wire["cw_metrics_show"]  # it writes its snapshot, as in CW
    assert by_id[3]["result"]["isError"] is True
    assert by_id[3]["result"]["content"] == [{"type": "text", "text": "Run not found: nope\nTry: cw run list"}]
    assert by_id[4]["result"].get("isError", False) is False
    assert by_id[4]["result"]["content"][0]["text"] + "\n" == cli(repo, "run", "list", "--json", "--now", NOW).stdout
    # the logs are there, on stderr
    assert "cw mcp: INFO cw.mcp: serving" in stderr
    assert "cw_run_show refused: Run not found: nope" in stderr


def test_a_handler_printing_to_stdout_cannot_corrupt_the_protocol(world):
    """Stray prints inside a tool land on stderr, never between protocol messages."""
    repo = world["repo"]
    code = (
        "import msgspec, cw.capabilities as c, cw.capabilities.runs as r\n"
        "real = r.run_list\n"
        "def noisy(ws, a):\n"
        "    print('stray line from a handler')\n"
        "    return real(ws, a)\n"
        "r.CAPABILITIES = tuple(msgspec.structs.replace(x, entry=noisy) if x.name == 'run.list' else x\n"
        "                       for x in r.CAPABILITIES)\n"
        "c.all_capabilities.cache_clear()\n"
        "from cw.surfaces.mcp_server import serve\n"
        "serve()\n"
    )
    msgs = [
        *INIT,
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "cw_run_list", "arguments": {}}},
    ]
    stdout, stderr, code = raw_session(repo, msgs, [sys.executable, "-c", code])
    assert code == 0, stderr
    assert "stray line from a handler" not in stdout
    assert "stray line from a handler" in stderr
    replies = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert [r["id"] for r in replies] == [1, 2]
    assert replies[1]["result"]["content"][0]["text"].startswith("{")


# ---------------------------------------------------------------------------
# the optional extra


def test_cw_mcp_without_the_sdk_names_the_extra(world):
    code = "import sys; sys.modules['mcp'] = None\nfrom cw.surfaces.cli import main\nmain(['mcp'])\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=world["repo"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == "cw: the MCP server needs the optional extra: pip install 'cw-runs[mcp]'\n"


def test_the_cli_does_not_import_the_sdk():
    code = "import sys, cw.surfaces.cli, cw.surfaces.mcp_server; print('mcp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# argument mapping, in process


def _cap(name: str) -> Capability:
    return next(c for c in all_capabilities() if c.name == name)


def test_handler_args_mirror_what_the_cli_passes():
    from cw.model.errors import UsageError
    from cw.surfaces.mcp_server import handler_args

    assert handler_args(_cap("run.list"), {}, "t") == {"scope": "repo"}  # click fills the declared default
    assert handler_args(_cap("run.list"), {"scope": None, "app": "shop"}, "t") == {"scope": "repo", "app": "shop"}
    run_new = _cap("run.new")
    got = handler_args(run_new, {"tokenBudget": 5000, "parent": ["a", "b"], "costBudget": ["2.50", "USD"]}, "t")
    assert got == {"token_budget": "5000", "parent": ["a", "b"], "cost_budget": ["2.50", "USD"]}
    assert handler_args(run_new, {"tokenBudget": 5000.0}, "t") == {"token_budget": "5000"}
    assert handler_args(run_new, {"tokenBudget": 1.5}, "t") == {"token_budget": "1.5"}
    assert handler_args(run_new, {"tokenBudget": "12"}, "t") == {"token_budget": "12"}
    assert handler_args(run_new, {"parent": []}, "t") == {}
    dispatch = _cap("dispatch")
    assert handler_args(dispatch, {"runId": "r", "allowUnreported": True}, "t") == {
        "run_id": "r",
        "allow_unreported": True,
    }
    assert handler_args(dispatch, {"runId": "r", "allowUnreported": False}, "t") == {"run_id": "r"}
    assert (
        handler_args(_cap("result"), {"runId": "r", "taskId": "t", "file": "f", "usageInputTokens": 0}, "t")[
            "usage_input_tokens"
        ]
        == "0"
    )
    with pytest.raises(UsageError, match="^X missing required argument: runId$"):
        handler_args(_cap("run.show"), {"runId": None}, "X")
    with pytest.raises(UsageError, match="^X got an unknown argument: run_id"):
        handler_args(_cap("run.show"), {"run_id": "r"}, "X")


def test_docs_list_every_tool_from_the_table():
    from cw.surfaces.mcp_server import DOCS_BEGIN, DOCS_END, tools_markdown

    text = (REPO_ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")
    block = text.split(DOCS_BEGIN, 1)[1].split(DOCS_END, 1)[0].strip()
    assert block == tools_markdown(), "docs/mcp.md is stale: run python -m cw.surfaces.mcp_server --write-docs"
    for cap in MCP_CAPS:
        assert f"| `{cap.tool_name}` |" in block
