"""Under load: 8 writer processes on the same runs lose no acknowledged write and duplicate nothing.

Each process is a host calling cw in-process in a loop (``reliability_worker.py
mixed``): tasks, dispatch, results and worker output with usage, revenue
bookings and reversals, candidate and feedback decisions, on three runs that
every process writes to. A process prints an ack line after each call cw
reported as successful. Afterwards every acked write must be in the final
state with its exact values, nothing may be there twice or without an ack,
every state must load, and every ledger must verify with its head file
current. The default run does 8 x 25 calls; ``--heavy`` does 8 x 200.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import state_of
from reliability_worker import UNIT_OPS, check_acks, parse_log

WORKER = str(Path(__file__).with_name("reliability_worker.py"))
RUNS = ("shared-0", "shared-1", "shared-2")
PROCS = 8


def test_eight_writer_processes_keep_every_acknowledged_write(cw, repo, heavy):
    per_proc = 200 if heavy else 25
    for r in RUNS:
        cw.ok("run", "new", "--id", r, "--actor", "load")
    env = dict(os.environ, CW_LOCK_TIMEOUT="120")
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, "mixed", str(repo), str(k), str(per_proc), ",".join(RUNS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCS)
    ]
    acks, fails = [], []
    for k, p in enumerate(procs):
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, f"process {k} exited {p.returncode}: {err[-2000:]}"
        assert out.rstrip().endswith("done"), f"process {k} stopped early: {out[-500:]}"
        a, _, f = parse_log(out.splitlines())
        acks += a
        fails += f
    elapsed = time.monotonic() - started

    assert fails == [], f"cw refused writes under load: {fails[:3]}"
    assert len(acks) == PROCS * per_proc
    assert len({(a.key, a.op) for a in acks}) == len(acks)

    problems, unacked = check_acks(repo, acks, in_flight=set())
    assert problems == [], "\n".join(problems[:20])
    assert unacked == 0

    # the writes spread over every shared run and every kind of step
    assert {a.run for a in acks} == set(RUNS)
    assert {a.op for a in acks} == set(UNIT_OPS[1:])
    # counts on disk equal the acks (nothing extra, nothing lost)
    states = {r: state_of(repo, r) for r in RUNS}
    n = {op: sum(1 for a in acks if a.op == op) for op in UNIT_OPS[1:]}
    assert sum(len(s["tasks"]) for s in states.values()) == n["task-a"] + n["task-b"]
    entries = [e for s in states.values() for e in (s.get("revenue") or {}).get("entries", [])]
    assert len(entries) == n["revenue-add"] + n["revenue-reverse"]
    assert sum(len(s["candidates"]) for s in states.values()) == n["candidate-register"]

    verify = cw("ledger", "verify", "--json")
    assert verify.exit_code == 0, verify.stdout
    report = json.loads(verify.stdout)
    assert report["ok"] is True and report["failedRuns"] == 0
    ledgers = {r["runId"]: r for r in report["runs"]}
    for r in RUNS:
        count = len((states[r].get("revenue") or {}).get("entries", []))
        if count:
            assert ledgers[r]["entries"] == count
            assert ledgers[r]["note"] is None, "the head file lags after writers that all finished"
            head = json.loads((repo / ".cw/runs" / r / "revenue.head.json").read_text())
            assert head["entries"] == count and head["hash"] == states[r]["revenue"]["entries"][-1]["hash"]

    listed = cw.json("run", "list")
    assert sorted(x["runId"] for x in listed["runs"]) == sorted(RUNS) and listed["unreadable"] == []
    summary = cw.json("metrics", "summary", "--pricing", "default")
    assert summary["runCount"] == len(RUNS) and summary["unreadable"] == []
    assert summary["usage"]["attestedUnits"] == n["result"] + n["worker-output"]
    leftovers = sorted(str(p.relative_to(repo)) for p in (repo / ".cw").rglob("*.tmp"))
    assert leftovers == [], "a finished writer left temp files"

    print(
        f"reliability: concurrency processes={PROCS} opsPerProcess={per_proc} acked={len(acks)} "
        f"runs={len(RUNS)} ledgerEntries={len(entries)} seconds={elapsed:.1f}"
    )


def test_the_ack_checker_notices_lost_changed_duplicated_and_unacknowledged_writes(cw, repo):
    """The check above can fail: each kind of damage to one unit's writes is reported."""
    import copy

    from reliability_worker import run_units

    cw.ok("run", "new", "--id", "solo")
    lines: list[dict] = []
    run_units("self", ["solo"], 100, 1, False, lines.append)
    acks, _, fails = parse_log(json.dumps(x) for x in lines)
    assert fails == [] and len(acks) == len(UNIT_OPS) - 1
    assert check_acks(repo, acks, set()) == ([], 0)

    path = repo / ".cw/runs/solo/state.json"
    good = json.loads(path.read_text())

    def damaged(change) -> list[str]:
        st = copy.deepcopy(good)
        change(st)
        path.write_text(json.dumps(st))
        return check_acks(repo, acks, set())[0]

    assert any("lost" in p and "revenue-reverse" in p for p in damaged(lambda s: s["revenue"]["entries"].pop()))
    assert any("task usage" in p for p in damaged(lambda s: s["tasks"][0]["usage"].update(inputTokens=1)))
    assert any("appears 2 times" in p for p in damaged(lambda s: s["tasks"].append(s["tasks"][0])))
    assert any("feedback status" in p for p in damaged(lambda s: s["feedback"][0].update(status="rejected")))
    path.write_text(json.dumps(good))
    assert any("never acknowledged" in p for p in check_acks(repo, acks[:-1], set())[0])
    assert check_acks(repo, acks[:-1], {(acks[-1].key, acks[-1].op)})[0] == []
