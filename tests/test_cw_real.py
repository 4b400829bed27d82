"""Against the real Cool Workflow (opt-in): ``CW_JS=/path/to/plugins/cool-workflow/scripts/cw.js``.

Skipped when ``CW_JS`` is unset (CI does not have CW). ``CW_JS_ROUNDS`` sets
how many rounds the concurrency test runs (default 8).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CW_JS = os.environ.get("CW_JS", "")
pytestmark = pytest.mark.skipif(not CW_JS, reason="set CW_JS=/path/to/cw.js to run the tests against the real CW")

RESULT = 'done\n```cw:result\n{"summary":"s","findings":[],"evidence":["README.md:1"]}\n```\n'


def cwjs(repo: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    node = shutil.which("node") or "node"
    p = subprocess.run([node, CW_JS, *argv], cwd=repo, capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"CW {' '.join(argv)}: {p.stderr or p.stdout}"
    return p


def cwjs_json(repo: Path, *argv: str) -> dict:
    return json.loads(cwjs(repo, *argv).stdout)


def _popen(argv: list[str], repo: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_real_cw_and_cw_writers_on_one_run_lose_no_acknowledged_write(repo):
    (repo / "README.md").write_text("readme\n")
    (repo / "res.md").write_text(RESULT)
    rounds = int(os.environ.get("CW_JS_ROUNDS", "8"))
    node = shutil.which("node") or "node"
    failures: list[str] = []
    for k in range(rounds):
        run = cwjs_json(repo, "plan", "architecture-review-fast", "--repo", str(repo), "--question", "q")["runId"]
        tasks = [t["id"] for t in cwjs_json(repo, "dispatch", run)["tasks"]]
        assert len(tasks) >= 2, tasks
        theirs, ours = tasks[0], tasks[1]
        procs = {
            "CW result": _popen(
                [
                    node,
                    CW_JS,
                    "result",
                    run,
                    theirs,
                    "res.md",
                    f"--usage-input-tokens={100 + k}",
                    "--usage-output-tokens=1",
                    "--usage-model=m",
                    "--usage-source=host-attested",
                ],
                repo,
            ),
            "cw result": _popen(
                [
                    sys.executable,
                    "-m",
                    "cw",
                    "result",
                    run,
                    ours,
                    "res.md",
                    "--usage-input-tokens",
                    str(200 + k),
                    "--usage-model",
                    "m",
                ],
                repo,
            ),
            "cw revenue add": _popen(
                [sys.executable, "-m", "cw", "revenue", "add", run, "5.00", "USD", "--ref", f"INV-{k}"], repo
            ),
        }
        acked = {}
        for name, p in procs.items():
            out, err = p.communicate(timeout=120)
            acked[name] = p.returncode == 0
            if p.returncode:
                failures.append(f"round {k}: {name} exited {p.returncode}: {err.strip() or out.strip()}")
        state = json.loads((repo / ".cw/runs" / run / "state.json").read_text())
        by_id = {t["id"]: t for t in state["tasks"]}
        if acked["CW result"]:
            t = by_id[theirs]
            assert t["status"] == "completed" and t["usage"]["inputTokens"] == 100 + k, f"round {k}: CW's write lost"
        if acked["cw result"]:
            t = by_id[ours]
            assert t["status"] == "completed" and t["usage"]["inputTokens"] == 200 + k, f"round {k}: cw's result lost"
        if acked["cw revenue add"]:
            refs = [e.get("ref") for e in state.get("revenue", {}).get("entries", [])]
            assert f"INV-{k}" in refs, f"round {k}: cw's revenue entry lost"
        assert not (repo / ".cw/runs" / run / "state.json.lock").exists(), "a lock was left behind"
    assert failures == [], "\n".join(failures)


def test_real_cw_verbs_work_on_a_cw_run_and_keep_cws_additions(cw, repo):
    """CW's result, worker output/fail, feedback, candidate verbs and state check on records cw created."""
    (repo / "README.md").write_text("readme\n")
    (repo / "res.md").write_text(RESULT)
    cw.ok("run", "new", "--id", "p")
    cw.ok(
        "run",
        "new",
        "--id",
        "r",
        "--parent",
        "p",
        "--actor",
        "alice",
        "--token-budget",
        "100000",
        "--cost-budget",
        "5.00",
        "USD",
    )
    for t in ("t1", "t2", "t3", "t4", "t5"):
        cw.ok("task", "add", "r", t)
    cw.ok("dispatch", "r")
    cw.ok("revenue", "add", "r", "12.50", "USD", "--ref", "INV-1")
    cw.ok("worker", "fail", "r", "worker-t4-0001", "cw saw it break")
    cw.ok("feedback", "open", "r", "--message", "look")
    cw.ok("feedback", "open", "r", "--message", "look again")
    cw.ok("member", "add", "r", "--agent", "a1")

    cwjs(
        repo,
        "result",
        "r",
        "t1",
        "res.md",
        "--usage-input-tokens=100",
        "--usage-output-tokens=5",
        "--usage-model=gpt-4.1",
        "--usage-source=host-attested",
    )
    own = repo / ".cw/runs/r/workers/worker-t2-0001/result.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text(RESULT)
    cwjs(repo, "worker", "output", "r", "worker-t2-0001", str(own))
    cwjs(repo, "worker", "fail", "r", "worker-t3-0001", "CW saw it break", "--code", "boom")
    cwjs(repo, "feedback", "task", "r", "feedback-0001", "--guidance", "retry")
    cwjs(repo, "feedback", "resolve", "r", "feedback-0002", "--node", "r:verifier:t1", "--message", "ok")
    cwjs(repo, "feedback", "resolve", "r", "feedback-0003", "--node", "r:verifier:t1", "--status", "rejected")
    cwjs(repo, "candidate", "register", "r", "--worker", "worker-t1-0001", "--id", "c1")
    cwjs(repo, "candidate", "score", "r", "c1", "--criterion", "quality=8", "--max", "10", "--evidence", "README.md:1")
    cwjs(repo, "candidate", "select", "r", "c1", "--reason", "best")
    cwjs(repo, "candidate", "register", "r", "--task", "t2", "--kind", "manual", "--id", "c2")
    cwjs(repo, "candidate", "reject", "r", "c2", "--reason", "worse")
    check = cwjs_json(repo, "state", "check", "r")
    assert check["writeRequired"] is False and check["errors"] == [], check

    st = json.loads((repo / ".cw/runs/r/state.json").read_text())
    assert st["actor"] == "alice" and st["parentRunIds"] == ["p"]
    assert st["workflow"]["limits"]["tokenBudget"] == 100000
    assert st["budget"] == {"costBudget": {"amount": "5.00", "currency": "USD"}}
    assert [e["ref"] for e in st["revenue"]["entries"]] == ["INV-1"]
    assert st["multiAgent"]["memberships"][0]["agentId"] == "a1"
    assert cw.json("ledger", "verify")["ok"]
    tasks = {t["id"]: t["status"] for t in st["tasks"]}
    assert tasks == {"t1": "completed", "t2": "completed", "t3": "failed", "t4": "failed", "t5": "running"}
    usage = cw.json("metrics", "show", "r")["usage"]
    assert (usage["units"], usage["attestedUnits"], usage["inputTokens"]) == (2, 1, 100)


def _cw_freshness(cw) -> dict[str, str]:
    return {r["runId"]: r["freshness"] for r in cw.json("metrics", "summary")["runs"]}


def _cwjs_freshness(repo: Path) -> dict[str, str]:
    return {r["runId"]: r["freshness"] for r in cwjs_json(repo, "metrics", "summary", "--json")["runs"]}


def test_snapshots_of_either_tool_read_alike_in_both(cw, repo):
    (repo / "README.md").write_text("readme\n")
    (repo / "res.md").write_text(RESULT)
    cw.ok("run", "new", "--id", "ours", "--actor", "alice")
    cw.ok("task", "add", "ours", "t1")
    cw.ok("dispatch", "ours")
    cw.ok("result", "ours", "t1", "res.md", "--usage-input-tokens", "10", "--usage-model", "gpt-4.1")
    cw.ok("revenue", "add", "ours", "3.00", "USD", "--ref", "INV-1")
    theirs = cwjs_json(repo, "plan", "end-to-end-golden-path", "--question", "q")["runId"]
    runs = ("ours", theirs)
    for writer in ("cw", "CW"):
        for run in runs:
            if writer == "cw":
                cw.ok("metrics", "show", run)
            else:
                cwjs(repo, "metrics", "show", run, "--json")
        want = dict.fromkeys(runs, "valid")
        assert _cw_freshness(cw) == want, f"cw on {writer}'s snapshots"
        assert _cwjs_freshness(repo) == want, f"CW on {writer}'s snapshots"
    cw.ok("revenue", "add", "ours", "1.00", "USD", "--ref", "INV-2")  # a write both can see (updatedAt)
    assert _cw_freshness(cw)["ours"] == "stale"
    assert _cwjs_freshness(repo)["ours"] == "stale"


def test_a_cw_run_with_usage_cw_would_refuse_still_loads(cw, repo):
    """CW stores --usage-input-tokens=1e21 and -5 as given; cw reports them as invalid units, never refuses."""
    (repo / "README.md").write_text("readme\n")
    (repo / "res.md").write_text(RESULT)
    run = cwjs_json(repo, "plan", "architecture-review-fast", "--repo", str(repo), "--question", "q")["runId"]
    a, b = (t["id"] for t in cwjs_json(repo, "dispatch", run)["tasks"][:2])
    cwjs(repo, "result", run, a, "res.md", "--usage-input-tokens=1e21", "--usage-model=gpt-4.1")
    cwjs(repo, "result", run, b, "res.md", "--usage-input-tokens=100", "--usage-output-tokens=-5", "--usage-model=m")
    r = cw.json("metrics", "show", run, "--pricing", "default")
    fields = sorted((x["field"], x["value"]) for x in r["usage"]["invalidUnits"])
    assert fields == [("usage.inputTokens", 1e21), ("usage.outputTokens", -5)]
    assert r["cost"]["state"] == "unpriced" and r["time"]["run"]["wallClockMs"] is not None
    s = cw.json("metrics", "summary")
    assert s["unreadableRuns"] == 0 and [x["runId"] for x in s["runs"]] == [run]
