"""Budget-target loops: declared, listed and advanced as CW does, with cw's fail-closed checks on top."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, state_of, tree_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cw.core import loops
from cw.core import transitions as tr

LOOP_FIXTURE = FIXTURES / "loop" / "budget-target-loop.state.json"
FIXTURE_RUN = "budget-target-only-20261201T175930Z-0604e3"
BUDGET_TEXT = "token budget exhausted: {} recorded tokens >= budget {} — refusing to spawn further agents"


def make_loop(cw, run: str, *, tasks=("a", "b"), max_rounds=5, target=18, budget=None, extra=()) -> None:
    cw.ok("run", "new", "--id", run, *(("--token-budget", str(budget)) if budget else ()), *extra)
    for t in tasks:
        cw.ok("task", "add", run, t, "--phase", "scale")
    args = [x for t in tasks for x in ("--task", t)]
    cw.ok("loop", "add", run, "scale", *args, "--max-rounds", str(max_rounds), "--target", str(target))


def running(repo: Path, run: str) -> list[str]:
    return [t["id"] for t in state_of(repo, run)["tasks"] if t["status"] == "running"]


def work_round(cw, repo: Path, run: str, *, tokens=(2, 1), usage_args=None, skip_usage=()) -> None:
    """Dispatch every pending task and record a result for each: 2 tasks x (2 in + 1 out) = 6 tokens."""
    cw.ok("dispatch", run)
    (repo / "res.md").write_text("done\n")
    for tid in running(repo, run):
        usage = [] if tid in skip_usage else (usage_args or [])
        if not usage and tid not in skip_usage:
            usage = ["--usage-input-tokens", str(tokens[0]), "--usage-output-tokens", str(tokens[1])]
        cw.ok("result", run, tid, "res.md", *usage)


def drive(cw, repo: Path, run: str, **kw: Any) -> list[dict[str, Any]]:
    """The host loop: work a round, ask `loop next`, stop when it says done (or refuses)."""
    decisions = []
    for _ in range(20):
        work_round(cw, repo, run, **kw)
        res = cw("loop", "next", run, "scale", "--json")
        if res.exit_code != 0:
            decisions.append({"refused": res.exit_code, "stderr": res.stderr})
            break
        d = json.loads(res.stdout)
        decisions.append(d)
        if d["done"]:
            break
    return decisions


def loop_phases(state: dict[str, Any]) -> list[str]:
    return [p["id"] for p in state["phases"] if p["id"] == "scale" or p.get("loopOrigin") == "scale"]


# --- CW's checks ---------------------------------------------------------------------------------


def test_target_18_at_6_per_round_runs_exactly_3_rounds(cw, repo):
    make_loop(cw, "r", target=18, max_rounds=10)
    decisions = drive(cw, repo, "r")
    assert [(d["round"], d["spent"], d["done"]) for d in decisions] == [(1, 6, False), (2, 12, False), (3, 18, True)]
    assert decisions[0]["nextTasks"] == ["a@r2", "b@r2"] and decisions[0]["nextPhase"] == "scale@r2"
    assert decisions[-1]["reason"] == "budget-target: 18/18 recorded tokens" and not decisions[-1]["atCap"]
    s = state_of(repo, "r")
    assert loop_phases(s) == ["scale", "scale@r2", "scale@r3"]
    assert s["phases"][0]["loopDone"] is True
    controls = [n for n in s["nodes"] if n["kind"] == "loop-control"]
    assert [n["id"] for n in controls] == [f"r:loop-control:scale:r{i}" for i in (1, 2, 3)]
    assert [n["outputs"] for n in controls][1] == {
        "round": 2,
        "done": False,
        "atCap": False,
        "reason": "budget-target: 12/18 recorded tokens",
    }
    assert controls[2]["metadata"] == {
        "originPhaseId": "scale",
        "until": "budget-target:18",
        "round": 3,
        "done": True,
        "atCap": False,
        "reason": "budget-target: 18/18 recorded tokens",
    }
    # metrics count every round's units
    report = cw.json("metrics", "show", "r")
    assert report["usage"]["units"] == 6 and report["usage"]["totalTokens"] == 18
    # and so does the summary (fresh derivation, no cache)
    summary = cw.json("metrics", "summary", "--no-cache")
    assert summary["usage"]["units"] == 6 and summary["usage"]["totalTokens"] == 18
    # asking again changes nothing and still says done
    before = tree_bytes(repo)
    again = cw.json("loop", "next", "r", "scale")
    assert again["done"] and again["recorded"] is False and again["round"] == 3
    assert tree_bytes(repo) == before


def test_max_rounds_2_ends_at_the_cap(cw, repo):
    make_loop(cw, "r", target=1000, max_rounds=2)
    decisions = drive(cw, repo, "r")
    assert [(d["round"], d["done"], d["atCap"]) for d in decisions] == [(1, False, False), (2, True, True)]
    assert decisions[-1]["reason"] == "budget-target: 12/1000 recorded tokens"
    assert loop_phases(state_of(repo, "r")) == ["scale", "scale@r2"]


def test_token_budget_12_at_6_per_round_blocks_after_2_rounds(cw, repo):
    make_loop(cw, "r", target=100, max_rounds=10, budget=12)
    decisions = drive(cw, repo, "r")
    assert len(decisions) == 2
    last = decisions[-1]
    assert last["done"] is True and last["nextTasks"] == [] and last["budget"] == 12
    assert last["blocked"] == {"kind": "token-budget", "reason": BUDGET_TEXT.format(12, 12)}
    s = state_of(repo, "r")
    assert loop_phases(s) == ["scale", "scale@r2"]  # never a third
    assert s["nodes"][-1]["outputs"]["reason"] == BUDGET_TEXT.format(12, 12)
    assert cw("loop", "next", "r", "scale", "--json").exit_code == 0  # decided: done, nothing new
    assert loop_phases(state_of(repo, "r")) == ["scale", "scale@r2"]


def test_a_round_that_would_pass_the_budget_is_refused_with_the_projection(cw, repo):
    make_loop(cw, "r", target=100, max_rounds=10, budget=15)
    decisions = drive(cw, repo, "r")
    assert decisions[0]["nextPhase"] == "scale@r2"
    refused = decisions[-1]
    assert refused["refused"] == 1
    # round 2 spent 6, the run 12: another round would reach 18 > 15
    assert "round 2 spent 6" in refused["stderr"] and "to 18, past the token budget 15" in refused["stderr"]
    assert loop_phases(state_of(repo, "r")) == ["scale", "scale@r2"]
    assert not any(n["id"].endswith(":r2") for n in state_of(repo, "r")["nodes"] if n["kind"] == "loop-control")


def test_an_unreported_unit_blocks_the_next_round_unless_allowed(cw, repo):
    make_loop(cw, "r", target=100, max_rounds=3)
    work_round(cw, repo, "r", skip_usage=("b",))
    before = tree_bytes(repo)
    res = cw.fails(1, "loop", "next", "r", "scale", "--json")
    assert "worker-b-0001" in res.stderr and "--allow-unreported" in res.stderr
    assert tree_bytes(repo) == before
    opened = cw.json("loop", "next", "r", "scale", "--allow-unreported")
    assert opened["nextTasks"] == ["a@r2", "b@r2"] and opened["spent"] == 3
    listed = cw.json("loop", "list", "r")
    assert listed["loops"][0]["rounds"][0]["unreportedUnits"] == ["worker-b-0001"]


def test_an_unfinished_round_is_refused_naming_its_tasks(cw, repo):
    make_loop(cw, "r")
    cw.ok("dispatch", "r", "a")
    before = tree_bytes(repo)
    res = cw.fails(1, "loop", "next", "r", "scale")
    assert "a (running), b (pending)" in res.stderr
    assert tree_bytes(repo) == before


def test_a_failed_task_ends_its_round(cw, repo):
    make_loop(cw, "r", target=100, max_rounds=2)
    cw.ok("dispatch", "r")
    (repo / "res.md").write_text("x")
    cw.ok("result", "r", "a", "res.md", "--usage-input-tokens", "5")
    cw.ok("worker", "fail", "r", "worker-b-0001", "crashed")
    d = cw.json("loop", "next", "r", "scale")
    assert d["spent"] == 5 and d["nextTasks"] == ["a@r2", "b@r2"]
    s = state_of(repo, "r")
    assert {t["id"]: t["status"] for t in s["tasks"]}["b@r2"] == "pending"


def test_cost_budget_blocks_with_its_own_reason(cw, repo):
    # claude-sonnet-4-5 at 3 USD per million input tokens: 2 tasks x 50000 = 0.30 USD a round
    make_loop(cw, "r", target=10**9, max_rounds=10, extra=("--cost-budget", "0.60", "USD"))
    usage = ["--usage-input-tokens", "50000", "--usage-model", "claude-sonnet-4-5"]
    usage += ["--usage-attested-at", "2026-10-09T10:00:00.000Z"]
    decisions = drive(cw, repo, "r", usage_args=usage)
    assert len(decisions) == 2
    assert decisions[0]["costBudget"] == {"limit": 0.6, "currency": "USD", "spent": 0.3}
    assert decisions[-1]["blocked"] == {
        "kind": "cost-budget",
        "reason": "cost budget exhausted: 0.6 USD recorded spend >= budget 0.6 USD — refusing to spawn further agents",
    }


# --- what is stored, compared with what CW stored -------------------------------------------------


def _rewind_fixture_to_round_1() -> dict[str, Any]:
    """CW's fixture as it stood when round 1's last result was accepted (before CW decided)."""
    s = json.loads(LOOP_FIXTURE.read_text())
    cut = next(i for i, n in enumerate(s["nodes"]) if n["kind"] == "loop-control")
    s["nodes"] = s["nodes"][:cut]
    s["phases"] = [p for p in s["phases"] if p["id"] == "scale"]
    s["phases"][0].pop("loopDone")
    s["tasks"] = [t for t in s["tasks"] if "@r" not in t["id"]]
    s["workers"] = [w for w in s["workers"] if "_r2" not in w["id"]]
    return s


def test_cw_decides_round_1_of_the_fixture_as_cw_did():
    cw_state = json.loads(LOOP_FIXTURE.read_text())
    adv = loops.advance(
        _rewind_fixture_to_round_1(),
        phase_ref="scale",
        allow_unreported=False,
        policies=loops.Policies(None, None),
        now="2026-12-01T17:59:31.376Z",
    )
    assert adv.state is not None
    node = adv.state["nodes"][-1]
    assert node == next(n for n in cw_state["nodes"] if n["id"].endswith(":loop-control:scale:r1"))
    assert list(node) == list(next(n for n in cw_state["nodes"] if n["kind"] == "loop-control"))
    cw_r2 = cw_state["phases"][1]
    ours = adv.state["phases"][1]
    assert {**ours, "status": cw_r2["status"]} == cw_r2 and ours["status"] == "pending"
    assert adv.state["phases"][0]["status"] == "completed"
    # clones: CW's fields for a round-2 task before dispatch (dispatch adds the rest)
    dispatch_fields = {
        "dispatchId",
        "dispatchedAt",
        "workerId",
        "workerManifestPath",
        "completedAt",
        "result",
        "resultNodeId",
        "verifierNodeId",
        "stateNodeId",
    }
    for theirs in cw_state["tasks"][3:]:
        mine = next(t for t in adv.state["tasks"] if t["id"] == theirs["id"])
        assert mine["status"] == "pending" and mine["loopStage"] == "interpret" and mine["resultPath"] == ""
        assert set(mine) == set(theirs) - dispatch_fields
        for k in ("id", "kind", "phase", "requiresEvidence", "sandboxProfileId", "prompt", "taskPath", "backendId"):
            assert mine[k] == theirs[k], k
        assert mine["loopRound"] == theirs["loopRound"] == 2
    assert adv.payload["nextTasks"] == ["scale:a@r2", "scale:b@r2", "scale:c@r2"]
    # the fixture's paths point at the machine CW ran on: no task file is written there
    assert all(path.startswith("/srv/") for path, _ in adv.task_files)


def test_the_fixture_loads_and_lists_its_two_rounds(cw, repo):
    d = repo / ".cw" / "runs" / FIXTURE_RUN
    d.mkdir(parents=True)
    shutil.copy(LOOP_FIXTURE, d / "state.json")
    p = cw.json("loop", "list", FIXTURE_RUN, "--now", "2026-12-02T00:00:00.000Z")
    assert p["spent"] == 48543 and p["budget"] is None and p["generatedAt"] == "2026-12-02T00:00:00.000Z"
    (lp,) = p["loops"]
    assert (lp["phaseId"], lp["target"], lp["maxRounds"], lp["done"]) == ("scale", 30000, 4, True)
    assert [(r["round"], r["phaseId"], r["spent"]) for r in lp["rounds"]] == [
        (1, "scale", 29543),
        (2, "scale@r2", 19000),
    ]
    assert [r["decision"]["reason"] for r in lp["rounds"]] == [
        "budget-target: 29543/30000 recorded tokens",
        "budget-target: 48543/30000 recorded tokens",
    ]
    text = cw.ok("loop", "list", FIXTURE_RUN).stdout
    assert "spent 48543/30000" in text and "round 2 scale@r2" in text
    report = cw.json("metrics", "show", FIXTURE_RUN)
    assert report["usage"]["units"] == 6 and report["usage"]["totalTokens"] == 48543
    before = tree_bytes(repo)
    assert cw.json("loop", "next", FIXTURE_RUN, "Scale")["done"] is True  # by name; already done
    assert tree_bytes(repo) == before


def test_clones_keep_the_template_fields_and_drop_the_run_fields():
    template = {
        "id": "t@r2",
        "kind": "agent",
        "phase": "main",
        "status": "completed",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "backendId": "shell",
        "usage": {"inputTokens": 3},
        "workerId": "worker-t-0001",
        "completedAt": "2026-01-01T00:00:01.000Z",
    }
    c = loops.clone_task(template, round_no=3, phase_name="Main (round 3)", tasks_dir="/r/tasks", now="N")
    assert c == {
        "id": "t@r3",
        "kind": "agent",
        "phase": "Main (round 3)",
        "status": "pending",
        "createdAt": "N",
        "backendId": "shell",
        "loopStage": "interpret",
        "loopRound": 3,
        "taskPath": "/r/tasks/t_r3.md",
        "resultPath": "",
    }


def test_loop_add_stores_the_phase_as_cw_does(cw, repo):
    make_loop(cw, "r", max_rounds=4, target=30000)
    ph = state_of(repo, "r")["phases"][0]
    assert ph["loop"] == {"maxRounds": 4, "until": {"kind": "budget-target", "target": 30000}}
    assert ph["loopRound"] == 1 and ph["name"] == "scale" and ph["status"] == "pending"
    assert ph["taskIds"] == ["a", "b"]
    cw.ok("run", "new", "--id", "p")
    cw.ok("task", "add", "p", "x", "--phase", "judge")
    out = cw.json(
        "loop",
        "add",
        "p",
        "judge",
        "--task",
        "x",
        "--max-rounds",
        "3",
        "--until",
        "predicate",
        "--ref",
        "no-new-findings",
    )
    assert out["phase"]["loop"] == {"maxRounds": 3, "until": {"kind": "predicate", "ref": "no-new-findings"}}
    cw.ok("dispatch", "p")
    (repo / "res.md").write_text("x")
    cw.ok("result", "p", "x", "res.md", "--usage-input-tokens", "1")
    assert "evaluates only budget-target" in cw.fails(1, "loop", "next", "p", "judge").stderr


# --- bad input: one message, nothing written ------------------------------------------------------


@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target", "0"], 2, "--target"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target=-5"], 2, "--target"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target", "1.5"], 2, "--target"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target", "lots"], 2, "--target"),
        (["--task", "a", "--task", "b", "--max-rounds", "0", "--target", "9"], 2, "--max-rounds"),
        (["--task", "a", "--task", "b", "--max-rounds", "two", "--target", "9"], 2, "--max-rounds"),
        # a superscript passed str.isdigit and then broke int(); other scripts' digits were stored as numbers
        (["--task", "a", "--task", "b", "--max-rounds", "\u00b2", "--target", "9"], 2, "--max-rounds"),
        (["--task", "a", "--task", "b", "--max-rounds", "\u0663", "--target", "9"], 2, "--max-rounds"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target", "\u00b3"], 2, "--target"),
        # past 2**53 CW's JavaScript numbers no longer hold the count exactly
        (["--task", "a", "--task", "b", "--max-rounds", "99999999999999999999", "--target", "9"], 2, "--max-rounds"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target", str(2**53 + 1)], 2, "--target"),
        (["--task", "a", "--task", "b", "--target", "9"], 2, "--max-rounds"),
        (["--task", "a", "--task", "b", "--max-rounds", "3"], 2, "--target"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--until", "predicate"], 2, "--ref"),
        (["--task", "a", "--task", "b", "--max-rounds", "3", "--target", "9", "--ref", "x"], 2, "--ref"),
        (["--max-rounds", "3", "--target", "9"], 2, "--task"),
        (["--task", "a", "--task", "a", "--max-rounds", "3", "--target", "9"], 2, "twice"),
        (["--task", "a", "--task", "ghost", "--max-rounds", "3", "--target", "9"], 1, "Unknown task id"),
        (["--task", "a", "--max-rounds", "3", "--target", "9"], 1, "also holds b"),
        (["--task", "a", "--task", "b", "--task", "c", "--max-rounds", "3", "--target", "9"], 1, "not in phase"),
    ],
)
def test_bad_loop_add_is_refused_and_writes_nothing(cw, repo, args, code, needle):
    cw.ok("run", "new", "--id", "r")
    for t in ("a", "b"):
        cw.ok("task", "add", "r", t, "--phase", "scale")
    cw.ok("task", "add", "r", "c", "--phase", "other")
    before = tree_bytes(repo)
    res = cw.fails(code, "loop", "add", "r", "scale", *args)
    assert needle in res.stderr and res.stderr.count("cw: ") == 1 and "Traceback" not in res.stderr
    assert tree_bytes(repo) == before


def test_other_loop_refusals(cw, repo):
    make_loop(cw, "r", target=100)
    cw.ok("run", "new", "--id", "plain")
    cw.ok("task", "add", "plain", "t")
    before = tree_bytes(repo)
    assert (
        "Unknown phase"
        in cw.fails(1, "loop", "add", "r", "ghost", "--task", "a", "--max-rounds", "2", "--target", "5").stderr
    )
    assert (
        "already in loop scale"
        in cw.fails(
            1, "loop", "add", "r", "scale", "--task", "a", "--task", "b", "--max-rounds", "2", "--target", "5"
        ).stderr
    )
    assert "has no loop" in cw.fails(1, "loop", "next", "plain", "main").stderr
    assert "Unknown loop" in cw.fails(1, "loop", "next", "r", "ghost").stderr
    assert "Run not found" in cw.fails(1, "loop", "next", "nope", "scale").stderr
    assert "--now" in cw.fails(2, "loop", "list", "r", "--now", "yesterday").stderr
    assert tree_bytes(repo) == before
    # a round's tasks belong to their loop: they cannot start another one
    drive(cw, repo, "r")
    cw.ok("task", "add", "r", "z", "--phase", "scale@r2")
    before = tree_bytes(repo)
    res = cw.fails(1, "loop", "add", "r", "scale@r2", "--task", "a@r2", "--max-rounds", "2", "--target", "5")
    assert "already in loop scale" in res.stderr
    assert tree_bytes(repo) == before


def test_a_started_task_cannot_open_a_loop(cw, repo):
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "a", "--phase", "scale")
    cw.ok("dispatch", "r")
    res = cw.fails(1, "loop", "add", "r", "scale", "--task", "a", "--max-rounds", "2", "--target", "5")
    assert "a is running" in res.stderr


# --- the rule, against an independent model -------------------------------------------------------


def _expected_rounds(per_round: int, target: int, max_rounds: int, budget: int | None) -> tuple[int, str]:
    """Rounds a loop runs and how it ends, worked out from the rules as written (not from the code)."""
    n = 1
    while True:
        spent = n * per_round
        if spent >= target:
            return n, "target"
        if n >= max_rounds:
            return n, "cap"
        if budget is not None and spent >= budget:
            return n, "budget"
        if budget is not None and spent + per_round > budget:
            return n, "projection"
        n += 1


def _core_round(s: dict[str, Any], per_task: int, now: str) -> dict[str, Any]:
    s, _ = tr.dispatch(s, task_ids=[], backend=None, now=now)
    for t in [t for t in s["tasks"] if t["status"] == "running"]:
        usage = {"schemaVersion": 1, "source": "host-attested", "attestedAt": now, "totalTokens": per_task}
        s, _, _ = tr.record_result(s, task_id=t["id"], text="ok", size=2, result_path="/x", usage=usage, now=now)
    return s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    per_task=st.integers(1, 9),
    n_tasks=st.integers(1, 3),
    target=st.integers(1, 120),
    max_rounds=st.integers(1, 6),
    budget=st.one_of(st.none(), st.integers(1, 120)),
)
def test_rounds_follow_the_rules(per_task, n_tasks, target, max_rounds, budget):
    now = "2026-06-01T00:00:00.000Z"
    s = tr.new_run(
        run_id="h",
        app="x",
        title=None,
        parents=[],
        token_budget=budget,
        cost_budget=None,
        actor="a",
        claimed_actor=None,
        now=now,
        run_dir="/r/.cw/runs/h",
    )
    for i in range(n_tasks):
        s, _ = tr.add_task(s, task_id=f"t{i}", backend=None, kind=None, phase="p", now=now)
    s, _ = loops.add_loop(
        s,
        phase_ref="p",
        task_ids=[f"t{i}" for i in range(n_tasks)],
        max_rounds=max_rounds,
        until=loops.Until("budget-target", target=target),
        now=now,
    )
    want_rounds, how = _expected_rounds(per_task * n_tasks, target, max_rounds, budget)
    for r in range(1, 50):
        s = _core_round(s, per_task, now)
        try:
            adv = loops.advance(s, phase_ref="p", allow_unreported=False, policies=loops.Policies(None, None), now=now)
        except Exception as exc:  # a refusal: only the projection refuses here
            assert how == "projection" and "past the token budget" in str(exc)
            break
        assert adv.state is not None
        s = adv.state
        if adv.payload["done"]:
            assert {"target": True, "cap": True, "budget": True}[how]
            assert adv.payload["atCap"] == (r >= max_rounds)
            assert (adv.payload["blocked"] is not None) == (how == "budget")
            break
    assert r == want_rounds
    assert len([p for p in s["phases"] if p["id"] == "p" or p.get("loopOrigin") == "p"]) == want_rounds


# --- the real CW reads a loop cw advanced (opt-in: CW_JS=/path/to/cw.js) ---------------------------


@pytest.mark.skipif(not os.environ.get("CW_JS"), reason="set CW_JS to CW's scripts/cw.js to run against the real CW")
def test_real_cw_reads_a_loop_cw_advanced(cw, repo):
    make_loop(cw, "r", target=18, max_rounds=5)
    drive(cw, repo, "r")

    def cwjs(*args: str) -> dict[str, Any]:
        out = subprocess.run(["node", os.environ["CW_JS"], *args, "--json"], cwd=repo, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    status = cwjs("status", "r")
    assert [p["id"] for p in status["phases"]] == ["scale", "scale@r2", "scale@r3"]
    assert status["phases"][0]["loopDone"] is True
    theirs = cwjs("metrics", "show", "r")
    ours = cw.json("metrics", "show", "r")
    assert theirs["usage"] == ours["usage"] and theirs["usage"]["totalTokens"] == 18
    # rows are the same; their order differs by design (CW sorts them by locale, cw by code point)
    for rows in ("tasks", "workers"):
        assert sorted(theirs["time"][rows], key=lambda r: r["id"]) == sorted(ours["time"][rows], key=lambda r: r["id"])
    assert theirs["time"]["run"] == ours["time"]["run"]
