"""Pure state transitions for the intake verbs.

Each function takes the current state dict (never modified), the event's
arguments and ``now`` (ISO string), and returns the new state plus the
payload the verb prints. Field names, statuses and timestamps follow CW
(cw-compat §1.3, §2.2, §13).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from cw.core import cwshape
from cw.core.state import check_run_id, normalize_state
from cw.core.tree import copy_tree
from cw.model.errors import NotFoundError, RefusedError, UsageError

NODE_STATUSES = ("verified", "completed", "committed", "failed", "rejected", "blocked", "pending", "running")
MEMBER_STATUSES = ("assigned", "running", "reported", "verified", "failed", "rejected")
CANDIDATE_KINDS = ("manual", "result", "worker-output")


_TASK_ID_RE = re.compile(r"[A-Za-z0-9._:@-]+")
_UNSAFE_FILE = re.compile(r"[^a-zA-Z0-9_.:-]+")


def check_item_id(value: Any, what: str) -> str:
    """Task, worker, candidate and feedback ids are single safe path segments too.

    Task ids may also hold ``@``: CW names a loop round's tasks ``<task>@r<n>``.
    """
    if what == "task id" and isinstance(value, str) and _TASK_ID_RE.fullmatch(value) and value not in (".", ".."):
        return value
    return check_run_id(value, what)


def safe_file_name(value: str) -> str:
    """CW's ``safeFileName``: each run of other characters becomes ``_`` (worker ids, task files)."""
    return _UNSAFE_FILE.sub("_", value)


def _next_id(prefix: str, existing: list[dict[str, Any]]) -> str:
    taken = {r.get("id") for r in existing if isinstance(r, dict)}
    n = len(existing) + 1
    while f"{prefix}-{n:04d}" in taken:
        n += 1
    return f"{prefix}-{n:04d}"


def _find(records: list[Any], rid: Any) -> dict[str, Any] | None:
    for r in records:
        if isinstance(r, dict) and r.get("id") == rid:
            return r
    return None


def _upsert(records: list[Any], rec: dict[str, Any]) -> None:
    for i, r in enumerate(records):
        if isinstance(r, dict) and r.get("id") == rec["id"]:
            records[i] = {**r, **rec}
            return
    records.append(rec)


def _touch(state: dict[str, Any], now: str) -> None:
    state["updatedAt"] = now


def new_run(
    *,
    run_id: str,
    app: str,
    title: str | None,
    parents: list[str],
    token_budget: int | None,
    cost_budget: tuple[str, str] | None,
    actor: str,
    claimed_actor: str | None,
    now: str,
    run_dir: str,
) -> dict[str, Any]:
    """A fresh run in CW's format (schemaVersion 1 with every required key) plus cw's provenance."""
    limits: dict[str, Any] = {"maxAgents": 8, "maxConcurrentAgents": 4}
    if token_budget is not None:
        limits["tokenBudget"] = token_budget
    doc: dict[str, Any] = {
        "schemaVersion": 1,
        "id": run_id,
        "createdAt": now,
        "updatedAt": now,
        "cwd": run_dir.rsplit("/", 3)[0],
        "workflow": {"id": app, "title": title or app, "summary": "", "limits": limits, "app": {"id": app}},
        "inputs": {},
        "loopStage": "interpret",
        "phases": [],
        "tasks": [],
        "dispatches": [],
        "commits": [],
        "paths": {},
    }
    state = normalize_state(doc, run_dir=run_dir, dir_name=run_id, dir_has_content=False)
    state["blackboard"] = cwshape.empty_blackboard()
    state["actor"] = actor
    if claimed_actor is not None:
        state["claimedActor"] = claimed_actor
    if parents:
        state["parentRunIds"] = list(parents)
    if cost_budget is not None:
        state["budget"] = {"costBudget": {"amount": cost_budget[0], "currency": cost_budget[1]}}
    return state


def add_task(
    state: dict[str, Any], *, task_id: str, backend: str | None, kind: str | None, phase: str | None, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    check_item_id(task_id, "task id")
    if _find(state["tasks"], task_id) is not None:
        raise RefusedError(f"Task {task_id} already exists in run {state['id']}; task ids are unique per run.")
    s = copy_tree(state)
    tasks_dir = s["paths"].get("tasksDir") or f"{s['paths'].get('runDir', '')}/tasks"
    task: dict[str, Any] = {
        "id": task_id,
        "kind": kind or "task",
        "phase": phase or "main",
        "status": "pending",
        "loopStage": "interpret",
        "requiresEvidence": False,
        "sandboxProfileId": cwshape.SANDBOX_PROFILE_ID,
        "prompt": "",
        "taskPath": f"{tasks_dir}/{task_id}.md",
        "resultPath": "",
        "stateNodeId": cwshape.task_node_id(s["id"], task_id),
        "createdAt": now,
    }
    if backend:
        task["backendId"] = backend
    s["tasks"].append(task)
    ph = _find(s["phases"], task["phase"])
    if ph is None:
        s["phases"].append({"id": task["phase"], "title": task["phase"], "taskIds": [task_id]})
    elif isinstance(ph.get("taskIds"), list):
        ph["taskIds"].append(task_id)
    _touch(s, now)
    return s, task


def pending_task_ids(state: dict[str, Any]) -> list[str]:
    return [t["id"] for t in state["tasks"] if isinstance(t, dict) and t.get("status") == "pending"]


def dispatch(
    state: dict[str, Any], *, task_ids: list[str], backend: str | None, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move tasks (all pending ones when none are named) to running and create their workers.

    A failed task may be dispatched again: it gets the next worker number.
    """
    s = copy_tree(state)
    run_id = s["id"]
    ids = task_ids or pending_task_ids(s)
    if not ids:
        raise RefusedError(
            f"Run {run_id} has no pending tasks to dispatch; add one with `cw task add {run_id} <task-id>`."
        )
    dispatch_id = _next_id("dispatch", s["dispatches"])
    run_dir = s["paths"].get("runDir", "")
    manifest_tasks = []
    for tid in ids:
        task = _find(s["tasks"], tid)
        if task is None:
            raise NotFoundError(f"Unknown task id for run {run_id}: {tid}")
        if task.get("status") not in ("pending", "failed"):
            raise RefusedError(f"Task {tid} is {task.get('status')}; only pending or failed tasks can be dispatched.")
        n = 1
        while _find(s["workers"], f"worker-{safe_file_name(tid)}-{n:04d}") is not None:
            n += 1
        wid = f"worker-{safe_file_name(tid)}-{n:04d}"
        be = backend or task.get("backendId") or "node"
        wp = cwshape.worker_paths(run_dir, wid)
        worker_dir = wp["workerDir"]
        policy = cwshape.sandbox_policy(s.get("cwd", ""), run_dir, wid, now)
        profile = task.get("sandboxProfileId") if isinstance(task.get("sandboxProfileId"), str) else None
        s["workers"].append(
            {
                "schemaVersion": 1,
                "id": wid,
                "runId": run_id,
                "taskId": tid,
                "dispatchId": dispatch_id,
                "createdAt": now,
                "updatedAt": now,
                "status": "running",
                **wp,
                "allowedPaths": [wp["resultPath"], wp["artifactsDir"], wp["logsDir"]],
                "sandboxProfileId": profile or cwshape.SANDBOX_PROFILE_ID,
                "sandboxPolicy": policy,
                "backendId": be,
                "backendAttestation": cwshape.backend_attestation(be, now),
                "stateNodeId": cwshape.task_node_id(run_id, tid),
                "feedbackIds": [],
                "errors": [],
                "metadata": {"dispatchId": dispatch_id, "phase": task.get("phase")},
                "retryCount": n - 1,
            }
        )
        task.update(
            {
                "status": "running",
                "dispatchedAt": now,
                "workerId": wid,
                "backendId": be,
                "dispatchId": dispatch_id,
                "sandboxProfileId": profile or cwshape.SANDBOX_PROFILE_ID,
                "sandboxPolicy": policy,
                "backendAttestation": cwshape.backend_attestation(be, now),
                "workerManifestPath": f"{worker_dir}/manifest.json",
            }
        )
        task.pop("completedAt", None)
        manifest_tasks.append(
            {"id": tid, "workerId": wid, "backendId": be, "workerResultPath": f"{worker_dir}/result.md"}
        )
    first = _find(s["tasks"], ids[0]) or {}
    dispatches_dir = s["paths"].get("dispatchesDir") or f"{run_dir}/dispatches"
    s["dispatches"].append(
        {
            "id": dispatch_id,
            "phase": first.get("phase"),
            "taskIds": list(ids),
            "manifestPath": f"{dispatches_dir}/{dispatch_id}.json",
            "createdAt": now,
            "stateNodeId": f"{run_id}:dispatch:{dispatch_id}",
            "workerIds": [m["workerId"] for m in manifest_tasks],
            "sandboxProfileId": cwshape.DISPATCH_SANDBOX_PROFILE_ID,
            "backendId": backend or manifest_tasks[0]["backendId"],
        }
    )
    s["loopStage"] = "dispatch"
    _touch(s, now)
    return s, {"dispatchId": dispatch_id, "runId": run_id, "tasks": manifest_tasks}


_FENCE = re.compile(r"```cw:result\s*\n(.*?)\n```", re.S)
_URL = re.compile(r"^https?://\S+$")
_PATH_LIKE = re.compile(r"^[\w.\-/]+(?::\d+(?:-\d+)?)?$")
_NAMESPACED = re.compile(r"^[A-Za-z][\w.-]*:\S+$")


def _grounded(locator: object) -> bool:
    """A path-like locator (with a ``/`` or a ``.``), a URL, or a ``namespace:value`` token."""
    if not isinstance(locator, str) or not locator.strip():
        return False
    if _URL.match(locator) or _NAMESPACED.match(locator):
        return True
    return bool(_PATH_LIKE.match(locator)) and ("/" in locator or "." in locator)


def evidence_problem(task: dict[str, Any], text: str) -> str | None:
    """CW's grounded-evidence check, applied only to tasks marked ``requiresEvidence``."""
    if not task.get("requiresEvidence"):
        return None
    msg = (
        f"Task {task['id']} requires grounded cw:result evidence (a path-like locator, URL, or "
        "namespace:value token — not free text)"
    )
    m = _FENCE.search(text)
    if not m:
        return msg
    try:
        envelope = json.loads(m.group(1))
    except (ValueError, RecursionError):
        return msg
    evidence = envelope.get("evidence") if isinstance(envelope, dict) else None
    if not isinstance(evidence, list) or not evidence or not all(_grounded(e) for e in evidence):
        return msg
    return None


def _open_feedback(
    s: dict[str, Any], *, source: str, code: str, message: str, task_id: str | None, worker_id: str | None, now: str
) -> dict[str, Any]:
    classification = cwshape.classify_feedback(code, source)
    fb: dict[str, Any] = {
        "schemaVersion": 1,
        "id": _next_id("feedback", s["feedback"]),
        "runId": s["id"],
        "createdAt": now,
        "updatedAt": now,
        "status": "open",
        "severity": cwshape.feedback_severity(classification),
        "classification": classification,
        "source": source,
        "code": code,
        "message": message,
    }
    if task_id:
        fb["taskId"] = task_id
    fb.update({"retryable": False, "evidence": [], "artifacts": [], "metadata": {}})
    if worker_id:
        fb["workerId"] = worker_id
        fb["metadata"]["workerId"] = worker_id
    s["feedback"].append(fb)
    return fb


def _fail_worker(
    s: dict[str, Any], worker: dict[str, Any], *, code: str, message: str, now: str, status: str
) -> dict[str, Any]:
    worker["status"] = status
    worker["updatedAt"] = now
    worker.setdefault("errors", []).append({"code": code, "message": message, "at": now, "retryable": False})
    task = _find(s["tasks"], worker.get("taskId"))
    if task is not None:
        task["status"] = "failed"
    fb = _open_feedback(
        s, source="worker", code=code, message=message, task_id=worker.get("taskId"), worker_id=worker["id"], now=now
    )
    worker.setdefault("feedbackIds", []).append(fb["id"])
    return fb


def _accept(
    s: dict[str, Any],
    worker: dict[str, Any],
    task: dict[str, Any] | None,
    *,
    result_path: str,
    size: int,
    usage: dict[str, Any] | None,
    now: str,
    text: str = "",
) -> dict[str, Any]:
    run_id = s["id"]
    tid = worker.get("taskId")
    result_node = f"{run_id}:result:{tid}"
    verifier_node = f"{run_id}:verifier:{tid}"
    envelope = _result_envelope(text)
    output = {
        "workerId": worker["id"],
        "taskId": tid,
        "resultPath": result_path,
        "recordedAt": now,
        "stateNodeId": result_node,
        "verifierNodeId": verifier_node,
        "auditEventIds": [],
    }
    worker.update(
        {
            "status": "verified",
            "updatedAt": now,
            "output": output,
            "outputSizeBytes": size,
            "outputDigest": "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "stateNodeId": result_node,
            "resultNodeId": result_node,
        }
    )
    if usage is not None:
        worker["usage"] = usage
    if task is not None:
        task.update(
            {
                "status": "completed",
                "completedAt": now,
                "resultPath": result_path,
                "resultNodeId": result_node,
                "verifierNodeId": verifier_node,
                "loopStage": "observe",
            }
        )
        if envelope is not None:
            task["result"] = envelope
        if usage is not None:
            task["usage"] = usage
    evidence = _evidence(envelope, run_id=run_id, worker_id=worker["id"], task_id=tid, result_node=result_node)
    rnode = _node(result_node, "result", "completed", now, {"taskId": tid, "workerId": worker["id"]})
    rnode.update(
        {
            "outputs": envelope or {},
            "evidence": evidence,
            "artifacts": [{"id": "worker-result", "kind": "markdown", "path": result_path}],
            "children": [verifier_node],
        }
    )
    if worker.get("dispatchId"):
        rnode["parents"] = [f"{run_id}:dispatch:{worker['dispatchId']}"]
    vnode = _node(verifier_node, "verifier", "verified", now, {"taskId": tid})
    vnode.update(
        {
            "loopStage": "adjust",
            "outputs": {"accepted": True, "workerId": worker["id"]},
            "evidence": copy.deepcopy(evidence),
            "parents": [result_node],
        }
    )
    _upsert(s["nodes"], rnode)
    _upsert(s["nodes"], vnode)
    s["loopStage"] = "observe"
    _touch(s, now)
    return output


def _result_envelope(text: str) -> dict[str, Any] | None:
    """The ``cw:result`` JSON block of a result, which CW keeps on the task as ``result``."""
    m = _FENCE.search(text)
    if not m:
        return None
    try:
        doc = json.loads(m.group(1))
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _evidence(
    envelope: dict[str, Any] | None, *, run_id: str, worker_id: str, task_id: Any, result_node: str
) -> list[dict[str, Any]]:
    """CW's evidence entries for the locators of a ``cw:result`` block (CW's verifier gate reads them)."""
    locators = envelope.get("evidence") if envelope else None
    if not isinstance(locators, list):
        return []
    out = []
    for i, loc in enumerate(x for x in locators if isinstance(x, str)):
        out.append(
            {
                "id": f"result:{i + 1}",
                "source": "cw:result",
                "locator": loc,
                "summary": loc,
                "confidence": "grounded" if _grounded(loc) else "ungrounded",
                "provenance": {
                    "schemaVersion": 1,
                    "runId": run_id,
                    "source": "cw-validated",
                    "workerId": worker_id,
                    "taskId": task_id,
                    "resultNodeId": result_node,
                    "parentEvidenceIds": [],
                    "auditEventIds": [],
                },
            }
        )
    return out


def _node(node_id: str, kind: str, status: str, now: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "id": node_id,
        "kind": kind,
        "status": status,
        "loopStage": "verify" if kind == "verifier" else "observe",
        "createdAt": now,
        "updatedAt": now,
        "inputs": inputs,
        "outputs": {},
        "artifacts": [],
        "evidence": [],
        "errors": [],
        "parents": [],
        "children": [],
        "contractId": cwshape.CONTRACT_ID,
        "metadata": {},
    }


Outcome = tuple[dict[str, Any], dict[str, Any], RefusedError | None]


def _keep_previous_intake(
    s: dict[str, Any], worker: dict[str, Any], task: dict[str, Any] | None, *, replace: bool, actor: str, now: str
) -> dict[str, Any] | None:
    """Refuse a second intake for a worker that already has output, unless ``replace``; with it, append the
    previous record to ``worker.replaced`` (a key CW does not read) and return it, so history is never lost."""
    out = worker.get("output")
    if not isinstance(out, dict):
        return None
    tid = worker.get("taskId")
    if not replace:
        has_usage = " and usage" if worker.get("usage") or (task or {}).get("usage") else ""
        raise RefusedError(
            f"Task {tid} of run {s['id']} already has a result{has_usage} from worker {worker['id']} "
            f"(recorded {out.get('recordedAt')}); a second intake is refused unless --replace is given "
            "(the previous record is then kept). Nothing was written.",
            hint=f"cw run show {s['id']}",
        )
    previous: dict[str, Any] = {
        "output": copy.deepcopy(out),
        "usage": copy.deepcopy(worker.get("usage")),
        "outputDigest": worker.get("outputDigest"),
        "outputSizeBytes": worker.get("outputSizeBytes"),
        "completedAt": (task or {}).get("completedAt"),
        "replacedAt": now,
        "replacedBy": actor,
    }
    history = worker.get("replaced")
    worker["replaced"] = [*(history if isinstance(history, list) else []), previous]
    return previous


def record_result(
    state: dict[str, Any],
    *,
    task_id: str,
    text: str,
    size: int,
    result_path: str,
    usage: dict[str, Any] | None,
    now: str,
    replace: bool = False,
    actor: str = "unattributed",
) -> Outcome:
    """``cw result``: accept a result for a dispatched task (or reject it when evidence is missing).

    Returns ``(state, payload, refusal)``; a refusal is raised by the caller
    after the state (with the failed worker and open feedback) is saved. A
    task whose worker already has a result is refused (RefusedError, nothing
    changed) unless ``replace``; then the previous record is kept under the
    worker's ``replaced`` and the payload's ``replaced`` shows it.
    """
    s = copy_tree(state)
    task = _find(s["tasks"], task_id)
    if task is None or not task.get("workerId"):
        raise NotFoundError(
            f"Unknown task id for run {s['id']}: {task_id}", hint=f"dispatch it first: cw dispatch {s['id']} {task_id}"
        )
    worker = _find(s["workers"], task["workerId"])
    if worker is None:
        raise NotFoundError(f"Worker {task['workerId']} of task {task_id} is missing from run {s['id']}.")
    previous = _keep_previous_intake(s, worker, task, replace=replace, actor=actor, now=now)
    problem = evidence_problem(task, text)
    if problem:
        fb = _fail_worker(s, worker, code="evidence-missing", message=problem, now=now, status="rejected")
        _touch(s, now)
        return (
            s,
            {"workerId": worker["id"], "taskId": task_id, "status": "rejected", "feedbackId": fb["id"]},
            RefusedError(problem),
        )
    out = _accept(s, worker, task, result_path=result_path, size=size, usage=usage, now=now, text=text)
    return s, _with_replaced(out, previous), None


def _with_replaced(out: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    return out if previous is None else {**out, "replaced": previous}


def worker_output(
    state: dict[str, Any],
    *,
    worker_id: str,
    text: str,
    size: int,
    result_path: str,
    inside_boundary: bool,
    usage: dict[str, Any] | None,
    now: str,
    replace: bool = False,
    actor: str = "unattributed",
) -> Outcome:
    """``cw worker output``: the worker's own result file, with optional usage (§16 b); a second output
    for the worker is refused unless ``replace`` (as for ``record_result``)."""
    s = copy_tree(state)
    worker = _find(s["workers"], worker_id)
    if worker is None:
        raise NotFoundError(f"Unknown worker id for run {s['id']}: {worker_id}", hint=f"cw run show {s['id']}")
    task = _find(s["tasks"], worker.get("taskId"))
    previous = _keep_previous_intake(s, worker, task, replace=replace, actor=actor, now=now)
    if not inside_boundary:
        msg = (
            f"Worker output for {worker_id} must be its own result file "
            f"(.cw/runs/{s['id']}/workers/{worker_id}/result.md); the file given is outside that "
            "boundary."
        )
        fb = _fail_worker(s, worker, code="sandbox-write-denied", message=msg, now=now, status="rejected")
        _touch(s, now)
        return s, {"workerId": worker_id, "status": "rejected", "feedbackId": fb["id"]}, RefusedError(msg)
    if task is not None:
        problem = evidence_problem(task, text)
        if problem:
            fb = _fail_worker(s, worker, code="evidence-missing", message=problem, now=now, status="rejected")
            _touch(s, now)
            return s, {"workerId": worker_id, "status": "rejected", "feedbackId": fb["id"]}, RefusedError(problem)
    out = _accept(s, worker, task, result_path=result_path, size=size, usage=usage, now=now, text=text)
    return s, _with_replaced(out, previous), None


def worker_fail(
    state: dict[str, Any], *, worker_id: str, message: str, code: str | None, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    s = copy_tree(state)
    worker = _find(s["workers"], worker_id)
    if worker is None:
        raise NotFoundError(f"Unknown worker id for run {s['id']}: {worker_id}", hint=f"cw run show {s['id']}")
    if not message.strip():
        raise UsageError("Missing MESSAGE: say why the worker failed.")
    code = code or "worker-failed"
    status = "rejected" if code == "worker-boundary-violation" or code.startswith("sandbox-") else "failed"
    fb = _fail_worker(s, worker, code=code, message=message, now=now, status=status)
    _touch(s, now)
    return s, {"workerId": worker_id, "taskId": worker.get("taskId"), "status": status, "feedbackId": fb["id"]}


def verify(state: dict[str, Any], *, target: str, status: str, now: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set a verifier node's status; ``target`` is a node id or a task id."""
    if status not in NODE_STATUSES:
        raise UsageError(f'Invalid --status "{status}": expected one of {", ".join(NODE_STATUSES)}.')
    s = copy_tree(state)
    node = _find(s["nodes"], target)
    if node is None:
        task = _find(s["tasks"], target)
        if task is None:
            raise NotFoundError(
                f"Unknown task or verifier node for run {s['id']}: {target}", hint=f"cw run show {s['id']}"
            )
        node_id = f"{s['id']}:verifier:{target}"
        node = _find(s["nodes"], node_id)
        if node is None:
            node = _node(node_id, "verifier", status, now, {"taskId": target})
            s["nodes"].append(node)
    elif node.get("kind") != "verifier":
        raise RefusedError(f"Node {target} is a {node.get('kind')} node, not a verifier node.")
    node["status"] = status
    node["updatedAt"] = now
    _touch(s, now)
    return s, {"nodeId": node["id"], "status": status}


def candidate_register(
    state: dict[str, Any],
    *,
    worker_id: str | None,
    task_id: str | None,
    kind: str | None,
    candidate_id: str | None,
    now: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    s = copy_tree(state)
    if bool(worker_id) == bool(task_id):
        raise UsageError("Give exactly one of --worker WORKER-ID or --task TASK-ID.")
    if kind is not None and kind not in CANDIDATE_KINDS:
        raise UsageError(f'Invalid --kind "{kind}": expected one of {", ".join(CANDIDATE_KINDS)}.')
    if worker_id:
        worker = _find(s["workers"], worker_id)
        if worker is None:
            raise NotFoundError(f"Unknown worker id for run {s['id']}: {worker_id}")
        task_id = worker.get("taskId")
        kind = kind or "worker-output"
    else:
        if _find(s["tasks"], task_id) is None:
            raise NotFoundError(f"Unknown task id for run {s['id']}: {task_id}")
        kind = kind or "result"
    cid = candidate_id or _next_id("candidate", s["candidates"])
    check_item_id(cid, "candidate id")
    if _find(s["candidates"], cid) is not None:
        raise RefusedError(f"Candidate {cid} already exists in run {s['id']}.")
    cand: dict[str, Any] = {
        "schemaVersion": 1,
        "id": cid,
        "runId": s["id"],
        "status": "registered",
        "kind": kind,
        "taskId": task_id,
        "createdAt": now,
        "updatedAt": now,
        "verifierNodeId": f"{s['id']}:verifier:{task_id}",
    }
    if worker_id:
        cand["workerId"] = worker_id
        source = _find(s["workers"], worker_id) or {}
        for key in ("resultNodeId", "resultPath"):
            if isinstance(source.get(key), str):
                cand[key] = source[key]
    cand.update({"scores": [], "evidence": [], "artifacts": [], "feedbackIds": []})
    s["candidates"].append(cand)
    _touch(s, now)
    return s, cand


def _candidate(s: dict[str, Any], cid: str) -> dict[str, Any]:
    cand = _find(s["candidates"], cid)
    if cand is None:
        raise NotFoundError(f"Unknown candidate id for run {s['id']}: {cid}", hint=f"cw run show {s['id']}")
    if cand.get("status") in ("selected", "verified", "rejected"):
        raise RefusedError(f"Candidate {cid} is already {cand.get('status')}; decisions are final.")
    return cand


def candidate_select(
    state: dict[str, Any], *, candidate_id: str, reason: str | None, by: str | None, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    s = copy_tree(state)
    cand = _candidate(s, candidate_id)
    node = _find(s["nodes"], cand.get("verifierNodeId") or "")
    cand["status"] = "verified" if node is not None and node.get("status") == "verified" else "selected"
    cand["updatedAt"] = now
    cand["selectedAt"] = now
    sel: dict[str, Any] = {
        "schemaVersion": 1,
        "id": _next_id("selection", s["candidateSelections"]),
        "runId": s["id"],
        "candidateId": candidate_id,
        "selectedAt": now,
        "selectedBy": by or "operator",
        "verifierNodeId": cand.get("verifierNodeId"),
    }
    if reason:
        sel["reason"] = reason
    sel.update({"evidence": [], "artifacts": [], "feedbackIds": [], "metadata": {}})
    if by:
        sel["by"] = by
    s["candidateSelections"].append(sel)
    _touch(s, now)
    return s, {"candidate": cand, "selection": sel}


def candidate_reject(
    state: dict[str, Any], *, candidate_id: str, reason: str, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not reason or not reason.strip():
        raise UsageError("Missing --reason: say why the candidate is rejected.")
    s = copy_tree(state)
    cand = _candidate(s, candidate_id)
    cand["status"] = "rejected"
    cand["updatedAt"] = now
    cand["rejectedAt"] = now
    fb = _open_feedback(
        s,
        source="verifier",
        code="candidate-rejected",
        message=reason,
        task_id=cand.get("taskId"),
        worker_id=cand.get("workerId"),
        now=now,
    )
    _touch(s, now)
    return s, {"candidate": cand, "feedback": fb}


FEEDBACK_MOVES = {"task": "tasked", "resolve": "resolved", "reject": "rejected"}


def feedback_open(
    state: dict[str, Any], *, message: str, task_id: str | None, code: str | None, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    if not message.strip():
        raise UsageError("Missing --message: say what needs attention.")
    s = copy_tree(state)
    if task_id and _find(s["tasks"], task_id) is None:
        raise NotFoundError(f"Unknown task id for run {s['id']}: {task_id}")
    fb = _open_feedback(
        s, source="operator", code=code or "operator-note", message=message, task_id=task_id, worker_id=None, now=now
    )
    _touch(s, now)
    return s, fb


def feedback_move(
    state: dict[str, Any], *, feedback_id: str, move: str, node: str | None, message: str | None, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``task`` -> tasked, ``resolve`` -> resolved (a node id is required), ``reject`` -> rejected."""
    s = copy_tree(state)
    fb = _find(s["feedback"], feedback_id)
    if fb is None:
        raise NotFoundError(f"Unknown feedback id for run {s['id']}: {feedback_id}", hint=f"cw run show {s['id']}")
    if fb.get("status") in ("resolved", "rejected"):
        raise RefusedError(f"Feedback {feedback_id} is already {fb.get('status')}.")
    if move == "resolve":
        if not node:
            raise UsageError("Missing --node: name the state node that resolves this feedback.")
        fb["resolvedBy"] = node
        fb["resolvedByNodeId"] = node  # CW's name for it
        fb["resolvedAt"] = now
    if move == "task":
        fb["correctionTaskId"] = f"feedback:{feedback_id}"
    fb["status"] = FEEDBACK_MOVES[move]
    fb["updatedAt"] = now
    if message:
        fb["resolution"] = message
        fb["resolutionNote"] = message
    _touch(s, now)
    return s, fb


def member_add(
    state: dict[str, Any], *, member_id: str | None, agent: str, role: str | None, status: str, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    if status not in MEMBER_STATUSES:
        raise UsageError(f'Invalid --status "{status}": expected one of {", ".join(MEMBER_STATUSES)}.')
    s = copy_tree(state)
    members = s["multiAgent"]["memberships"]
    mid = member_id or _next_id("membership", members)
    check_item_id(mid, "membership id")
    if _find(members, mid) is not None:
        raise RefusedError(f"Membership {mid} already exists in run {s['id']}.")
    m = {
        "schemaVersion": 1,
        "id": mid,
        "runId": s["id"],
        "agentId": agent,
        "role": role or "worker",
        "createdAt": now,
        "updatedAt": now,
        "status": status,
        "lifecycle": [{"at": now, "to": status, "actor": "cw", "reason": "assigned"}],
        "evidenceRefs": [],
        "artifactPaths": [],
        "topicIds": [],
        "blackboardMessageIds": [],
        "blackboardArtifactRefIds": [],
        "metadata": {},
    }
    members.append(m)
    _touch(s, now)
    return s, m


def member_set(
    state: dict[str, Any], *, member_id: str, status: str, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    if status not in MEMBER_STATUSES:
        raise UsageError(f'Invalid --status "{status}": expected one of {", ".join(MEMBER_STATUSES)}.')
    s = copy_tree(state)
    m = _find(s["multiAgent"]["memberships"], member_id)
    if m is None:
        raise NotFoundError(f"Unknown membership id for run {s['id']}: {member_id}")
    if isinstance(m.get("lifecycle"), list):
        m["lifecycle"].append({"at": now, "from": m.get("status"), "to": status, "actor": "cw"})
    m["status"] = status
    m["updatedAt"] = now
    _touch(s, now)
    return s, m
