"""Generate realistic cw runs for the benchmarks: many repos, thousands of runs, one very large run.

Each run is shaped like the runs cw's own verbs write (``cw run new``,
``dispatch``, ``result`` with usage, ``worker fail``, ``candidate``,
``feedback``, ``revenue add``; compare a run made by ``make demo``): tasks with
their dispatch, worker and node ids and result paths, workers with output
records, sizes, errors and usage records, a result node and a verifier node
per accepted task, candidates and selections, feedback, multi-agent
memberships, the 16 ``paths`` keys, and on some runs parent links, a cost
budget and a hash-chained revenue ledger (built with ``cw.core.ledger``, with
its ``revenue.head.json``, so it verifies). The state is encoded with the
store's own encoder (2-space JSON, as ``cw`` writes it), so a typical run is
about 220 KB (14 tasks, 6 workers).

A few runs per thousand are unreadable on purpose (invalid JSON, a future
``schemaVersion``) so that the summary's refusal path is part of the work.

Everything is seeded: the same arguments give the same bytes.

Usage as a script::

    python benchmarks/gen_runs.py OUT_DIR --repos 10 --runs-per-repo 500 [--big-run 1000]

It prints where the repos and the home registry are. ``summary_bench.py``
imports ``build_workspace`` and ``write_big_run`` instead.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cw.core import ledger
from cw.core.numbers import iso_from_ms, parse_iso_ms
from cw.shell.store import encode_state

BASE_MS = parse_iso_ms("2026-09-01T00:00:00.000Z") or 0
DAY_MS = 86_400_000

APPS = ("triage", "research", "code-review", "lead-scan", "outreach", "release-notes")
BACKENDS = ("codex", "claude-code", "shell", "node")
ACTORS = ("cron:nightly-triage", "cron:weekly-growth", "alice", "bob", "unattributed")
# Models of the bundled pricing policy (exact prices), plus two it does not know (priced by its default).
MODELS = (
    "claude-opus-4-8",
    "claude-sonnet-5-5",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "gpt-5",
    "gpt-5-mini",
    "gemini-2.5-pro",
    "in-house-llm",
    "mystery-model-x",
)
MODEL_WEIGHTS = (3, 6, 4, 5, 4, 3, 2, 1, 1)
PATH_KEYS = (
    ("runDir", ""),
    ("state", "state.json"),
    ("report", "report.md"),
    ("tasksDir", "tasks"),
    ("resultsDir", "results"),
    ("dispatchesDir", "dispatches"),
    ("artifactsDir", "artifacts"),
    ("commitsDir", "commits"),
    ("stateNodesDir", "nodes"),
    ("feedbackDir", "feedback"),
    ("auditDir", "audit"),
    ("workersDir", "workers"),
    ("candidatesDir", "candidates"),
    ("multiAgentDir", "multi-agent"),
    ("blackboardDir", "blackboard"),
    ("topologiesDir", "topologies"),
)
PROMPT = (
    "Review the change set against the checklist in the task file, cite every finding with a file "
    "and line, and report in a cw:result block. "
)
# Hosts paste the task's context into its prompt: that is most of a real run's bytes (and none of what
# the summary reads). These sizes give runs of about 220 KB with 14 tasks and 6 workers, and 13.7 MB
# for the run with 1,000 tasks and 1,000 workers.
PROMPT_BYTES = 13_700
BIG_PROMPT_BYTES = 10_300
CONTEXT = "Context: the diff hunk, the surrounding functions and the reviewer notes follow. " * 200


@dataclass
class Workspace:
    """What ``build_workspace`` made: the repo roots (in order), the home of each size, all run dirs."""

    root: Path
    repos: list[Path]
    run_dirs: list[Path]


def _iso(ms: int) -> str:
    return iso_from_ms(ms)


def _usage(rng: random.Random, at_ms: int, actor: str) -> dict[str, Any]:
    """A usage record in the key order ``cw result`` writes, sometimes with the optional fields."""
    model = rng.choices(MODELS, MODEL_WEIGHTS)[0]
    inp = rng.randint(2_000, 180_000)
    out = rng.randint(300, 24_000)
    u: dict[str, Any] = {
        "schemaVersion": 1,
        "source": "host-attested" if rng.random() < 0.9 else "operator-recorded",
        "attestedAt": _iso(at_ms),
        "model": model,
        "inputTokens": inp,
        "outputTokens": out,
    }
    if rng.random() < 0.3:
        u["totalTokens"] = inp + out
    if rng.random() < 0.35:
        u["cacheReadTokens"] = rng.randint(0, inp)
        u["cacheWriteTokens"] = rng.randint(0, 8_000)
    if rng.random() < 0.2:
        u["reasoningTokens"] = rng.randint(0, out)
    if rng.random() < 0.1:
        u["note"] = "usage reported by the host at intake"
    u["actor"] = actor
    return u


def _node(rid: str, kind: str, task_id: str, status: str, at: str, worker_id: str | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {"taskId": task_id}
    if worker_id:
        inputs["workerId"] = worker_id
    return {
        "id": f"{rid}:{kind}:{task_id}",
        "kind": kind,
        "status": status,
        "loopStage": "verify" if kind == "verifier" else "observe",
        "createdAt": at,
        "updatedAt": at,
        "inputs": inputs,
        "outputs": {},
        "artifacts": [],
        "evidence": [],
        "errors": [],
        "parents": [],
        "children": [],
    }


def build_state(
    run_id: str,
    repo: Path,
    rng: random.Random,
    *,
    n_tasks: int,
    created_ms: int,
    n_workers: int | None = None,
    prompt_bytes: int = PROMPT_BYTES,
) -> dict[str, Any]:
    """One run's state document, as cw's verbs leave it after a busy day.

    ``n_workers`` defaults to one worker per dispatched task plus a few
    retries; give it to pin the worker count (the large ``show`` run).
    """
    run_dir = f"{repo}/.cw/runs/{run_id}"
    app = rng.choice(APPS)
    actor = rng.choice(ACTORS)
    backends = rng.sample(BACKENDS, rng.randint(1, 2))
    t = created_ms
    tasks: list[dict[str, Any]] = []
    workers: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    dispatches: list[dict[str, Any]] = []
    task_width = max(2, len(str(n_tasks)))
    want_workers = n_workers
    for i in range(n_tasks):
        tid = f"task-{i + 1:0{task_width}d}"
        t += rng.randint(200, 4_000)
        roll = rng.random()
        status = "completed" if roll < 0.82 else "failed" if roll < 0.9 else "running" if roll < 0.95 else "pending"
        backend = rng.choice(backends)
        task: dict[str, Any] = {
            "id": tid,
            "status": status,
            "kind": "task",
            "phase": "main",
            "createdAt": _iso(created_ms + i),
            "backendId": backend,
            "prompt": (PROMPT + f"Scope: module {i % 17}. " + CONTEXT)[: max(prompt_bytes, len(PROMPT))],
        }
        if want_workers is not None and len(workers) >= want_workers:
            status = task["status"] = "pending"  # no worker left to run it
        if status == "pending":
            tasks.append(task)
            continue
        dispatch_id = f"dispatch-{len(dispatches) + 1:04d}"
        dispatches.append({"id": dispatch_id, "createdAt": _iso(t), "taskIds": [tid]})
        tries = 2 if status == "completed" and rng.random() < 0.06 else 1
        dispatched = t
        wid = f"worker-{tid}-0001"
        last_worker: dict[str, Any] | None = None
        for k in range(tries):
            if want_workers is not None and len(workers) >= want_workers:
                break
            wid = f"worker-{tid}-{k + 1:04d}"
            w_start = t
            t += rng.randint(5_000, 240_000)
            wdir = f"{run_dir}/workers/{wid}"
            last = k == tries - 1
            w_status = (
                "verified"
                if status == "completed" and last
                else "running"
                if status == "running"
                else "rejected"
                if rng.random() < 0.3
                else "failed"
            )
            worker: dict[str, Any] = {
                "schemaVersion": 1,
                "id": wid,
                "runId": run_id,
                "taskId": tid,
                "dispatchId": dispatch_id,
                "status": w_status,
                "createdAt": _iso(w_start),
                "updatedAt": _iso(t),
                "backendId": backend,
                "workerDir": wdir,
                "inputPath": f"{wdir}/input.json",
                "resultPath": f"{wdir}/result.md",
                "artifactsDir": f"{wdir}/artifacts",
                "logsDir": f"{wdir}/logs",
                "allowedPaths": [f"{wdir}/result.md", f"{wdir}/artifacts"],
                "sandboxProfileId": "readonly",
                "feedbackIds": [],
                "errors": [],
                "retryCount": k,
            }
            if w_status == "verified":
                worker["output"] = {
                    "workerId": wid,
                    "taskId": tid,
                    "resultPath": f"{wdir}/result.md",
                    "recordedAt": _iso(t),
                    "stateNodeId": f"{run_id}:result:{tid}",
                    "verifierNodeId": f"{run_id}:verifier:{tid}",
                    "auditEventIds": [],
                }
                worker["outputSizeBytes"] = rng.randint(800, 40_000)
                worker["outputDigest"] = "sha256:" + f"{rng.getrandbits(256):064x}"
                worker["stateNodeId"] = f"{run_id}:result:{tid}"
                if rng.random() < 0.85:
                    worker["usage"] = _usage(rng, t, actor)
            elif w_status in ("failed", "rejected"):
                code = "sandbox-write-denied" if w_status == "rejected" else "worker-timeout"
                fb_id = f"feedback-{len(feedback) + 1:04d}"
                worker["errors"] = [
                    {
                        "code": code,
                        "message": f"{wid}: {code.replace('-', ' ')}",
                        "at": _iso(t),
                        "retryable": w_status == "failed",
                    }
                ]
                worker["feedbackIds"] = [fb_id]
                feedback.append(
                    {
                        "id": fb_id,
                        "status": rng.choice(("open", "tasked", "resolved", "resolved")),
                        "source": "worker",
                        "code": code,
                        "message": f"worker {wid} {w_status}",
                        "createdAt": _iso(t),
                        "updatedAt": _iso(t),
                        "taskId": tid,
                        "workerId": wid,
                    }
                )
            workers.append(worker)
            last_worker = worker
        task.update(dispatchedAt=_iso(dispatched), workerId=wid, dispatchId=dispatch_id)
        if status == "completed":
            task.update(
                completedAt=_iso(t),
                resultPath=f"{run_dir}/workers/{wid}/result.md",
                resultNodeId=f"{run_id}:result:{tid}",
                verifierNodeId=f"{run_id}:verifier:{tid}",
            )
            if last_worker is not None and "usage" in last_worker:
                task["usage"] = last_worker["usage"]
            nodes.append(_node(run_id, "result", tid, "completed", _iso(t), wid))
            v_status = "verified" if rng.random() < 0.92 else rng.choice(("rejected", "failed", "pending"))
            nodes.append(_node(run_id, "verifier", tid, v_status, _iso(t), None))
        elif status == "failed":
            task["completedAt"] = _iso(t) if rng.random() < 0.5 else None
            if task["completedAt"] is None:
                del task["completedAt"]
        tasks.append(task)
    if want_workers is not None:  # top up to the exact count with idle allocated workers
        while len(workers) < want_workers:
            j = len(workers)
            workers.append(
                {
                    "schemaVersion": 1,
                    "id": f"worker-spare-{j:05d}",
                    "runId": run_id,
                    "taskId": tasks[j % len(tasks)]["id"],
                    "status": "allocated",
                    "createdAt": _iso(t),
                    "updatedAt": _iso(t),
                    "backendId": backends[0],
                    "feedbackIds": [],
                    "errors": [],
                    "retryCount": 0,
                }
            )
    accepted = [tk for tk in tasks if tk["status"] == "completed"]
    candidates: list[dict[str, Any]] = []
    selections: list[dict[str, Any]] = []
    for j, tk in enumerate(rng.sample(accepted, min(len(accepted), rng.randint(2, 6)))):
        c_status = rng.choice(("registered", "scored", "verified", "rejected", "selected"))
        cand = {
            "id": f"cand-{j + 1}",
            "status": c_status,
            "kind": "worker-output",
            "taskId": tk["id"],
            "createdAt": _iso(t),
            "updatedAt": _iso(t + 1000),
            "verifierNodeId": tk.get("verifierNodeId"),
            "workerId": tk["workerId"],
            "artifacts": [],
            "evidence": [f"README.md:{j + 1}"],
            "scores": [{"criterion": "quality", "value": rng.randint(4, 10), "max": 10}],
            "feedbackIds": [],
        }
        candidates.append(cand)
        if c_status in ("verified", "selected"):
            selections.append(
                {
                    "id": f"selection-{len(selections) + 1:04d}",
                    "candidateId": cand["id"],
                    "selectedAt": _iso(t + 2000),
                    "by": actor,
                }
            )
    memberships = [
        {
            "id": f"m-{j}",
            "agentId": f"reviewer-{j}",
            "role": "worker",
            "status": rng.choice(("assigned", "reported", "verified", "verified", "failed", "rejected")),
            "createdAt": _iso(created_ms),
            "updatedAt": _iso(t),
        }
        for j in range(rng.choice((0, 0, 2, 3)))
    ]
    phase_ids = [tk["id"] for tk in tasks]
    state: dict[str, Any] = {
        "schemaVersion": 1,
        "id": run_id,
        "createdAt": _iso(created_ms),
        "updatedAt": _iso(t + 3000),
        "cwd": str(repo),
        "workflow": {
            "id": app,
            "title": app.replace("-", " ").title(),
            "summary": "",
            "limits": {"maxAgents": 8, "maxConcurrentAgents": 4, "tokenBudget": 5_000_000},
            "app": {"id": app},
        },
        "inputs": {"ticket": f"OPS-{rng.randint(1000, 9999)}"},
        "loopStage": "observe",
        "phases": [{"id": "main", "title": "main", "taskIds": phase_ids}],
        "tasks": tasks,
        "dispatches": dispatches,
        "commits": [],
        "paths": {k: run_dir if not rel else f"{run_dir}/{rel}" for k, rel in PATH_KEYS},
        "nodes": nodes,
        "contracts": [],
        "feedback": feedback,
        "workers": workers,
        "sandboxProfiles": [],
        "candidates": candidates,
        "candidateSelections": selections,
        "audit": {"schemaVersion": 1, "events": []},
        "multiAgent": {
            "schemaVersion": 1,
            "runs": [],
            "roles": [],
            "groups": [],
            "memberships": memberships,
            "fanouts": [],
            "fanins": [],
        },
        "blackboard": {"schemaVersion": 1, "entries": []},
        "topologies": {"schemaVersion": 1, "runs": []},
        "actor": actor,
    }
    return state


def _add_money(state: dict[str, Any], rng: random.Random, earlier: list[str]) -> bytes | None:
    """Parent links, a cost budget and a revenue ledger on some runs; returns the head file bytes."""
    if earlier and rng.random() < 0.2:
        state["parentRunIds"] = rng.sample(earlier, min(len(earlier), rng.randint(1, 2)))
    if rng.random() < 0.1:
        state["budget"] = {"costBudget": {"amount": f"{rng.randint(5, 500)}.00", "currency": "USD"}}
    if rng.random() >= 0.1:
        return None
    rid, at = state["id"], state["updatedAt"]
    doc, first = ledger.book(
        None,
        run_id=rid,
        amount=f"{rng.randint(100, 5000)}.00",
        currency=rng.choice(("USD", "EUR")),
        ref=f"INV-{rid}",
        at=at,
        recorded_at=at,
        actor=state["actor"],
    )
    if rng.random() < 0.3:
        doc, _ = ledger.reverse(
            doc,
            entry_id=first["id"],
            amount="10.00",
            reason="credit note",
            recorded_at=at,
            actor=state["actor"],
            run_id=rid,
        )
    state["revenue"] = doc
    return (json.dumps(ledger.head_for(doc, rid), indent=2) + "\n").encode()


def write_run(repo: Path, state: dict[str, Any], head: bytes | None = None, raw: bytes | None = None) -> Path:
    """Write one run directory (state.json, and the revenue head when there is a ledger)."""
    d = repo / ".cw" / "runs" / state["id"]
    d.mkdir(parents=True, exist_ok=True)
    (d / "state.json").write_bytes(raw if raw is not None else encode_state(state))
    if head is not None:
        (d / "revenue.head.json").write_bytes(head)
    return d


def build_workspace(
    root: Path,
    *,
    repos: int,
    runs_per_repo: int,
    seed: int = 7,
    min_tasks: int = 14,
    max_tasks: int = 14,
    workers: int | None = 6,
    prompt_bytes: int = PROMPT_BYTES,
) -> Workspace:
    """``repos`` repos under ``root`` with ``runs_per_repo`` runs each (about 220 KB of state per run).

    By default every run has 14 tasks and 6 workers (``workers=None``: one per dispatched task plus retries).
    """
    rng = random.Random(seed)
    repo_paths: list[Path] = []
    run_dirs: list[Path] = []
    for r in range(repos):
        repo = root / f"repo-{r:02d}"
        repo_paths.append(repo)
        earlier: list[str] = []
        for i in range(runs_per_repo):
            created = BASE_MS + (i * 37 + r * 11) * 600_000 + rng.randint(0, 599_999)
            rid = f"{rng.choice(APPS)}-{r:02d}-{i:05d}"
            n_tasks = rng.randint(min_tasks, max_tasks)
            state = build_state(
                rid, repo, rng, n_tasks=n_tasks, created_ms=created, n_workers=workers, prompt_bytes=prompt_bytes
            )
            head = _add_money(state, rng, earlier)
            raw = None
            if i % 500 == 250:  # an interrupted copy: not JSON
                raw = encode_state(state)[:-4096]
            elif i % 500 == 499:  # written by a newer CW
                raw = encode_state({**state, "schemaVersion": 2})
            run_dirs.append(write_run(repo, state, head, raw))
            earlier.append(rid)
    return Workspace(root, repo_paths, run_dirs)


def register(home: Path, repos: list[Path], added_at: str = "2026-09-01T00:00:00.000Z") -> Path:
    """Write ``<home>/registry/repos.json`` listing ``repos`` (CW's format)."""
    f = home / "registry" / "repos.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(encode_state({"schemaVersion": 1, "repos": [{"root": str(p), "addedAt": added_at} for p in repos]}))
    return f


def write_big_run(repo: Path, *, tasks: int = 1000, workers: int = 1000, seed: int = 11) -> Path:
    """One run with ``tasks`` tasks and exactly ``workers`` workers (for ``cw metrics show``)."""
    rng = random.Random(seed)
    state = build_state(
        "big-run", repo, rng, n_tasks=tasks, created_ms=BASE_MS, n_workers=workers, prompt_bytes=BIG_PROMPT_BYTES
    )
    return write_run(repo, state)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="directory to create the repos in")
    ap.add_argument("--repos", type=int, default=10)
    ap.add_argument("--runs-per-repo", type=int, default=500)
    ap.add_argument(
        "--big-run",
        type=int,
        default=0,
        metavar="N",
        help="also write run big-run with N tasks and N workers into the first repo",
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    ws = build_workspace(args.out, repos=args.repos, runs_per_repo=args.runs_per_repo, seed=args.seed)
    home = args.out / "cw-home"
    register(home, ws.repos)
    if args.big_run:
        write_big_run(ws.repos[0], tasks=args.big_run, workers=args.big_run)
    size = sum((d / "state.json").stat().st_size for d in ws.run_dirs)
    print(
        f"{len(ws.run_dirs)} runs in {len(ws.repos)} repos under {args.out} "
        f"({size / len(ws.run_dirs) / 1024:.0f} KB of state per run on average)"
    )
    print(f"CW_HOME={home}")


if __name__ == "__main__":
    main()
