"""Run-state verbs: create runs, add and dispatch tasks, record results and outcomes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cw.capabilities.table import CWD, NOW, RUN, WINDOW, Capability, Param
from cw.core import transitions as tr
from cw.core.actor import UNATTRIBUTED
from cw.core.numbers import whole_number
from cw.core.state import check_run_id
from cw.core.usage import parse_usage
from cw.model.errors import NotFoundError, RefusedError, UsageError
from cw.shell import paths
from cw.shell.store import LoadedRun, Update
from cw.shell.workspace import Workspace

SYSTEM_DIRS = (
    "/etc",
    "/bin",
    "/sbin",
    "/usr",
    "/Library",
    "/System",
    "/Applications",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/root",
    "/var/log",
    "/var/run",
)

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)
ACTOR = Param("actor", "who caused this work (a cron job's name overrides it; see docs/actors.md)", metavar="ID")

USAGE_PARAMS = (
    Param("usage_input_tokens", "input tokens the host attests", type="integer", metavar="N"),
    Param("usage_output_tokens", "output tokens the host attests", type="integer", metavar="N"),
    Param("usage_total_tokens", "total tokens, when the host reports one", type="integer", metavar="N"),
    Param("usage_cache_read_tokens", "cache-read tokens", type="integer", metavar="N"),
    Param(
        "usage_cache_write_tokens",
        "cache-write tokens (all of them, whatever their lifetime)",
        type="integer",
        metavar="N",
    ),
    Param(
        "usage_cache_write_1h_tokens",
        "the part of the cache-write tokens written with a one-hour lifetime",
        type="integer",
        metavar="N",
    ),
    Param("usage_reasoning_tokens", "reasoning tokens", type="integer", metavar="N"),
    Param("usage_model", "the model id used (matched exactly against the pricing policy)", metavar="ID"),
    Param("usage_source", "who attests the usage", choices=("host-attested", "operator-recorded")),
    Param("usage_attested_at", "when the usage was attested (ISO 8601; default now)", metavar="ISO"),
    Param("usage_note", "a free-text note stored with the usage", metavar="TEXT"),
)


REPLACE = Param(
    "replace",
    "replace a result already recorded for this unit; the previous record (output, usage, when, by whom) is "
    "kept under the worker's replaced list",
    type="boolean",
)


def usage_from_args(ws: Workspace, a: dict[str, Any], now: str) -> dict[str, Any] | None:
    """Validate the ``usage_*`` arguments (exit 2 on a bad value) and build the record."""
    parsed = parse_usage({k[len("usage_") :]: a.get(k) for k in (p.name for p in USAGE_PARAMS)})
    actor, claimed = ws.actor(a.get("actor"))
    return parsed.record(now=now, actor=actor, claimed_actor=claimed)


def inherit_run_actor(usage: dict[str, Any] | None, state: dict[str, Any]) -> dict[str, Any] | None:
    """Usage nobody attributed (no cron, --actor or CW_ACTOR) belongs to whoever started the run."""
    if usage is None or usage.get("actor") != UNATTRIBUTED or "claimedActor" in usage:
        return usage
    run_actor = state.get("actor")
    if isinstance(run_actor, str) and run_actor and run_actor != UNATTRIBUTED:
        return {**usage, "actor": run_actor}
    return usage


_MINT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def mint_run_id(ws: Workspace, app: str, now: str) -> str:
    stamp = now[:19].replace("-", "").replace(":", "") + "Z"
    base = _MINT_SAFE.sub("-", app).strip("-") or "run"
    if ws.env.get("CW_DETERMINISTIC_RUN_IDS", "").strip().lower() in ("1", "true", "yes", "on"):
        return f"{base}-{ws.token(3)}"
    return f"{base}-{stamp}-{ws.token(3)}"


def _positive_int(value: Any, flag: str) -> int | None:
    if value is None:
        return None
    n = whole_number(value)
    if not n:
        raise UsageError(f'Invalid {flag} "{value}": expected a positive whole number (e.g. {flag} 200000).')
    return n


def run_new(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.capabilities.money import check_cost_budget, link_parents_checked

    now = ws.now()
    app = a.get("app", "adhoc")
    check_run_id(app, "app id")
    token_budget = _positive_int(a.get("token_budget"), "--token-budget")
    cost_budget = check_cost_budget(a.get("cost_budget"))
    actor, claimed = ws.actor(a.get("actor"))
    store = ws.store(a.get("cwd"))
    run_id = a["id"] if "id" in a else mint_run_id(ws, app, now)
    check_run_id(run_id)
    parents = list(a.get("parent") or [])
    env_parent = ws.env.get("CW_PARENT_RUN", "").strip()
    if env_parent and env_parent not in parents:
        parents.append(env_parent)
    parents = link_parents_checked(store, run_id, parents)

    def build(d: Path) -> dict[str, Any]:
        return tr.new_run(
            run_id=run_id,
            app=app,
            title=a.get("title"),
            parents=parents,
            token_budget=token_budget,
            cost_budget=cost_budget,
            actor=actor,
            claimed_actor=claimed,
            now=now,
            run_dir=str(d),
        )

    state = store.create(run_id, build)
    return {
        "runId": run_id,
        "app": app,
        "actor": actor,
        "createdAt": state["createdAt"],
        "statePath": str(store.run_dir(run_id) / "state.json"),
        "parentRunIds": parents,
    }


def _task_counts(state: dict[str, Any]) -> dict[str, int]:
    counts = {"total": 0, "pending": 0, "running": 0, "completed": 0, "failed": 0}
    for t in state.get("tasks", []):
        counts["total"] += 1
        st = t.get("status") if isinstance(t, dict) else None
        if st in counts:
            counts[st] += 1
    return counts


def lifecycle(state: dict[str, Any]) -> str:
    """A derived run status: open (pending/running tasks), failed, completed, or empty."""
    c = _task_counts(state)
    if c["total"] == 0:
        return "empty"
    if c["pending"] or c["running"]:
        return "open"
    return "failed" if c["failed"] else "completed"


def run_ref(state: dict[str, Any]) -> dict[str, Any]:
    wf = state.get("workflow") or {}
    app = (wf.get("app") or {}).get("id") if isinstance(wf.get("app"), dict) else None
    return {
        "runId": state["id"],
        "app": app or wf.get("id"),
        "title": wf.get("title"),
        "actor": state.get("actor", "unattributed"),
        "createdAt": state.get("createdAt"),
        "updatedAt": state.get("updatedAt"),
        "lifecycle": lifecycle(state),
        "tasks": _task_counts(state),
        "workers": len(state.get("workers", [])),
        "parentRunIds": list(state.get("parentRunIds", [])),
    }


def run_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.shell.scan import iter_runs
    from cw.shell.zones import window_from_args

    window = window_from_args(a, ws)
    runs, unreadable = [], []
    for item in iter_runs(ws, a.get("scope") or "repo", a.get("cwd")):
        if item.error is not None:
            unreadable.append({"runId": item.run_id, "repo": str(item.repo), "reason": item.error})
            continue
        assert item.state is not None  # a readable run has its state
        ref = run_ref(item.state)
        if (
            (a.get("app") and ref["app"] != a["app"])
            or (a.get("actor") and ref["actor"] != a["actor"])
            or (a.get("lifecycle") and ref["lifecycle"] != a["lifecycle"])
            or not window.contains_text(ref["createdAt"])
        ):
            continue
        runs.append({**ref, "repo": str(item.repo)})
    runs.sort(key=lambda r: (r["createdAt"] or "", r["runId"]))
    return {
        "schemaVersion": 1,
        "surface": "runs",
        "scope": a.get("scope") or "repo",
        "generatedAt": ws.now(a.get("now")),
        "window": window.header(),
        "runCount": len(runs),
        "runs": runs,
        "unreadable": unreadable,
    }


def run_show(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    loaded = ws.store(a.get("cwd")).read(a["run_id"])
    return {
        "schemaVersion": 1,
        "surface": "run",
        "runId": loaded.run_id,
        "generatedAt": ws.now(a.get("now")),
        "statePath": str(loaded.state_path),
        "summary": run_ref(loaded.state),
        "state": loaded.state,
    }


def _update(ws: Workspace, a: dict[str, Any], fn) -> Any:
    return ws.store(a.get("cwd")).update(a["run_id"], fn)


def task_add(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    now = ws.now()
    tr.check_item_id(a["task_id"], "task id")

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        s, task = tr.add_task(
            lr.state, task_id=a["task_id"], backend=a.get("backend"), kind=a.get("kind"), phase=a.get("phase"), now=now
        )
        return Update(s, {"runId": lr.run_id, "task": task})

    return _update(ws, a, fn)


def dispatch(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.capabilities.money import dispatch_gate

    now = ws.now()
    for tid in a.get("task_ids") or []:
        tr.check_item_id(tid, "task id")
    policy = dispatch_gate.policy(ws, a)

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        dispatch_gate.check(lr.state, policy, bool(a.get("allow_unreported")), now, ws, a.get("cwd"))
        s, manifest = tr.dispatch(lr.state, task_ids=list(a.get("task_ids") or []), backend=a.get("backend"), now=now)
        return Update(s, manifest)

    return _update(ws, a, fn)


def _check_system_path(real: Path) -> None:
    s = str(real)
    for d in SYSTEM_DIRS:
        if s == d or s.startswith(d + "/"):
            raise RefusedError(f"Result path must not be a system directory: {s}")


def _read_result_file(ws: Workspace, a: dict[str, Any], repo: Path) -> tuple[Path, bytes]:
    given = paths.check_path_text(a["file"], "FILE")
    raw = Path(given) if Path(given).is_absolute() else ws.process_cwd / given
    _check_system_path(Path(raw).resolve())
    real = paths.contained_file(given, repo, ws.process_cwd, "result file")
    if not real.is_file():
        raise NotFoundError(f"Result file does not exist: {given}")
    return real, paths.read_regular(real)


def result(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    now = ws.now()
    usage = usage_from_args(ws, a, now)
    tr.check_item_id(a["task_id"], "task id")
    store = ws.store(a.get("cwd"))
    store.run_dir(a["run_id"])
    _, data = _read_result_file(ws, a, store.repo)
    text = data.decode("utf-8", errors="replace")
    replaced_by = ws.actor(a.get("actor"))[0]

    def fn(lr: LoadedRun) -> Update[Any]:
        task = next((t for t in lr.state["tasks"] if isinstance(t, dict) and t.get("id") == a["task_id"]), None)
        wid = task.get("workerId") if task else None
        folder = paths.state_segment(wid, "workerId", lr.dir / "state.json") if wid else "_"
        target = lr.dir / "workers" / folder / "result.md"
        paths.refuse_symlinks(lr.dir, target)
        s, out, refusal = tr.record_result(
            lr.state,
            task_id=a["task_id"],
            text=text,
            size=len(data),
            result_path=str(target),
            usage=inherit_run_actor(usage, lr.state),
            now=now,
            replace=bool(a.get("replace")),
            actor=replaced_by,
        )
        written.append(s)
        return Update(s, (out, refusal), before=[] if refusal else [(target, data)])

    written: list[dict[str, Any] | None] = []
    out, refusal = store.update(a["run_id"], fn)
    if refusal is not None:
        raise refusal
    return _with_budget_notice(ws, a, out, written[-1])


def _replaced_text(p: dict[str, Any]) -> str:
    r = p.get("replaced")
    if not r:
        return ""
    return (
        f"\n  replaced the result recorded at {r['output'].get('recordedAt')} "
        f"(kept in {p['workerId']}'s replaced list, by {r['replacedBy']})"
    )


def _exceeded_text(p: dict[str, Any]) -> str:
    if not p.get("budgetExceeded"):
        return ""
    return "\n  budget exceeded: " + ", ".join(p["budgetExceeded"]) + " (recorded; dispatch is refused until it resets)"


def _budgets_may_apply(ws: Workspace, cwd: str | None, state: dict[str, Any] | None) -> bool:
    """Whether a budget could cover this run: its own fields, or a budgets file of the repo or the home.

    A superset of what ``intake_exceeded`` checks, read from the state just written and two ``stat``
    calls, so intake without budgets loads no money code and reads the run once.
    """
    if state is None:
        return True
    workflow = state.get("workflow")
    limits = workflow.get("limits") if isinstance(workflow, dict) else None
    if "budget" in state or (isinstance(limits, dict) and "tokenBudget" in limits):
        return True
    from cw.shell.budgets import budgets_file

    return any(budgets_file(scope, ws.repo(cwd), ws.home).exists() for scope in ("repo", "home"))


def _with_budget_notice(
    ws: Workspace, a: dict[str, Any], out: dict[str, Any], state: dict[str, Any] | None
) -> dict[str, Any]:
    """Intake over a budget is recorded (the work happened); the output says which budgets it used up."""
    if not _budgets_may_apply(ws, a.get("cwd"), state):
        return out
    from cw.capabilities.money import intake_exceeded

    exceeded = intake_exceeded(ws, a.get("cwd"), a["run_id"])
    return {**out, "budgetExceeded": exceeded} if exceeded else out


def worker_output(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    now = ws.now()
    usage = usage_from_args(ws, a, now)
    tr.check_item_id(a["worker_id"], "worker id")
    store = ws.store(a.get("cwd"))
    d = store.run_dir(a["run_id"])
    real, data = _read_result_file(ws, a, store.repo)
    own = (d / "workers" / a["worker_id"] / "result.md").resolve()
    text = data.decode("utf-8", errors="replace")
    replaced_by = ws.actor(a.get("actor"))[0]

    def fn(lr: LoadedRun) -> Update[Any]:
        s, out, refusal = tr.worker_output(
            lr.state,
            worker_id=a["worker_id"],
            text=text,
            size=len(data),
            result_path=str(own),
            inside_boundary=real == own,
            usage=inherit_run_actor(usage, lr.state),
            now=now,
            replace=bool(a.get("replace")),
            actor=replaced_by,
        )
        written.append(s)
        return Update(s, (out, refusal))

    written: list[dict[str, Any] | None] = []
    out, refusal = store.update(a["run_id"], fn)
    if refusal is not None:
        raise refusal
    return _with_budget_notice(ws, a, out, written[-1])


def worker_fail(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    now = ws.now()
    tr.check_item_id(a["worker_id"], "worker id")

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        s, out = tr.worker_fail(lr.state, worker_id=a["worker_id"], message=a["message"], code=a.get("code"), now=now)
        return Update(s, out)

    return _update(ws, a, fn)


def verify(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    now = ws.now()

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        s, out = tr.verify(lr.state, target=a["target"], status=a["status"], now=now)
        return Update(s, out)

    return _update(ws, a, fn)


def candidate(ws: Workspace, a: dict[str, Any], action: str) -> dict[str, Any]:
    now = ws.now()

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        if action == "register":
            s, out = tr.candidate_register(
                lr.state,
                worker_id=a.get("worker"),
                task_id=a.get("task"),
                kind=a.get("kind"),
                candidate_id=a.get("id"),
                now=now,
            )
        elif action == "select":
            s, out = tr.candidate_select(
                lr.state, candidate_id=a["candidate_id"], reason=a.get("reason"), by=a.get("by"), now=now
            )
        else:
            s, out = tr.candidate_reject(
                lr.state, candidate_id=a["candidate_id"], reason=a.get("reason") or "", now=now
            )
        return Update(s, out)

    return _update(ws, a, fn)


def feedback(ws: Workspace, a: dict[str, Any], move: str) -> dict[str, Any]:
    now = ws.now()

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        if move == "open":
            s, out = tr.feedback_open(
                lr.state, message=a.get("message") or "", task_id=a.get("task"), code=a.get("code"), now=now
            )
        else:
            s, out = tr.feedback_move(
                lr.state, feedback_id=a["feedback_id"], move=move, node=a.get("node"), message=a.get("message"), now=now
            )
        return Update(s, out)

    return _update(ws, a, fn)


def member(ws: Workspace, a: dict[str, Any], action: str) -> dict[str, Any]:
    now = ws.now()

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        if action == "add":
            s, out = tr.member_add(
                lr.state,
                member_id=a.get("id"),
                agent=a["agent"],
                role=a.get("role"),
                status=a.get("status") or "assigned",
                now=now,
            )
        else:
            s, out = tr.member_set(lr.state, member_id=a["member_id"], status=a["status"], now=now)
        return Update(s, out)

    return _update(ws, a, fn)


# --- text renderings -------------------------------------------------------------------------


def _text_run_new(p: dict[str, Any]) -> str:
    return f"created run {p['runId']}  app={p['app']}  actor={p['actor']}\n  state: {p['statePath']}"


def _text_runs(p: dict[str, Any]) -> str:
    lines = [f"runs  scope={p['scope']}  count={p['runCount']}"]
    for r in p["runs"]:
        t = r["tasks"]
        lines.append(
            f"  {r['runId']}  app={r['app']}  actor={r['actor']}  {r['lifecycle']}  "
            f"tasks={t['completed']}/{t['total']} done, {t['failed']} failed  created={r['createdAt']}"
        )
    for u in p["unreadable"]:
        lines.append(f"  unreadable {u['runId']} ({u['repo']}): {u['reason']}")
    if not p["runs"] and not p["unreadable"]:
        lines.append("  (no runs; create one with `cw run new`)")
    return "\n".join(lines)


def _text_run_show(p: dict[str, Any]) -> str:
    r = p["summary"]
    t = r["tasks"]
    st = p["state"]
    lines = [
        f"run {r['runId']}  [{r['lifecycle']}]  app={r['app']}  actor={r['actor']}",
        f"  created={r['createdAt']}  updated={r['updatedAt']}",
        f"  tasks: {t['total']} (pending {t['pending']}, running {t['running']}, completed {t['completed']}, "
        f"failed {t['failed']})  workers: {r['workers']}",
    ]
    if r["parentRunIds"]:
        lines.append(f"  parents: {', '.join(r['parentRunIds'])}")
    for task in st.get("tasks", []):
        if isinstance(task, dict):
            lines.append(
                f"  task {task.get('id')}: {task.get('status')}"
                + (f"  worker={task['workerId']}" if task.get("workerId") else "")
            )
    lines.append(f"  state: {p['statePath']}")
    return "\n".join(lines)


TASK_ID = Param("task_id", "the task's id", positional=True, required=True, metavar="TASK", mcp_name="taskId")
WORKER_ID = Param("worker_id", "the worker's id", positional=True, required=True, metavar="WORKER", mcp_name="workerId")
FILE = Param("file", "the result file (inside the repo)", positional=True, required=True, metavar="FILE")

CAPABILITIES = (
    Capability(
        "run.new",
        ("run", "new"),
        "Create a run in CW's format.",
        (
            Param("id", "the run id (default: <app>-<timestamp>-<hex>)", metavar="ID"),
            Param("app", "the app (workflow) this run belongs to", metavar="APP"),
            Param("title", "a human title", metavar="TEXT"),
            Param(
                "parent",
                "a parent run; revenue can be attributed along parents",
                multiple=True,
                metavar="RUN",
            ),
            Param("token_budget", "refuse dispatch once recorded tokens reach N", type="integer", metavar="N"),
            Param(
                "cost_budget",
                "refuse dispatch once priced spend reaches AMOUNT CURRENCY",
                nargs=2,
                metavar="AMOUNT CURRENCY",
            ),
            ACTOR,
            CWD,
            JSON_OUT,
        ),
        run_new,
        read_only=False,
        text=_text_run_new,
    ),
    Capability(
        "run.list",
        ("run", "list"),
        "List runs with their derived lifecycle.",
        (
            Param("scope", "which repos to read", choices=("repo", "home"), default="repo"),
            Param("app", "only runs of this app", metavar="APP"),
            Param("actor", "only runs started by this actor", metavar="ID"),
            Param("lifecycle", "only runs in this lifecycle", choices=("open", "completed", "failed", "empty")),
            *WINDOW,
            NOW,
            CWD,
            JSON_OUT,
        ),
        run_list,
        read_only=True,
        text=_text_runs,
        description="A window (--since inclusive, --until exclusive, read in --tz) keeps the runs created in it.",
    ),
    Capability(
        "run.show",
        ("run", "show"),
        "Show one run's state.",
        (RUN, NOW, CWD, JSON_OUT),
        run_show,
        read_only=True,
        text=_text_run_show,
    ),
    Capability(
        "task.add",
        ("task", "add"),
        "Add a pending task to a run.",
        (
            RUN,
            TASK_ID,
            Param("backend", "the backend that will run it (default node)", metavar="ID"),
            Param("kind", "the task's kind", metavar="KIND"),
            Param("phase", "the phase (default main)", metavar="NAME"),
            CWD,
            JSON_OUT,
        ),
        task_add,
        read_only=False,
        text=lambda p: f"added task {p['task']['id']} to {p['runId']}",
    ),
    Capability(
        "dispatch",
        ("dispatch",),
        "Move pending tasks to running and create their workers.",
        (
            RUN,
            Param(
                "task_ids",
                "tasks to dispatch (default: every pending task)",
                positional=True,
                multiple=True,
                metavar="TASK...",
                mcp_name="taskIds",
            ),
            Param("backend", "record this backend on the workers", metavar="ID"),
            Param(
                "allow_unreported",
                "dispatch although completed work has no attested usage (budgeted runs)",
                type="boolean",
            ),
            Param(
                "pricing",
                "pricing policy for a cost budget (default: the config's, else the bundled one)",
                metavar="NAME|FILE",
            ),
            Param(
                "fx",
                "FX policy for a cost budget in another currency (default: the config's, else the bundled one)",
                metavar="NAME|FILE",
            ),
            CWD,
            JSON_OUT,
        ),
        dispatch,
        read_only=False,
        text=lambda p: "\n".join(
            [f"dispatched {len(p['tasks'])} task(s) as {p['dispatchId']}"]
            + [f"  {t['id']} -> {t['workerId']} ({t['backendId']})" for t in p["tasks"]]
        ),
    ),
    Capability(
        "result",
        ("result",),
        "Record a task's result file, with host-attested usage.",
        (RUN, TASK_ID, FILE, *USAGE_PARAMS, ACTOR, REPLACE, CWD, JSON_OUT),
        result,
        read_only=False,
        text=lambda p: (
            f"recorded result of {p['taskId']} ({p['workerId']}) at {p['recordedAt']}"
            + _replaced_text(p)
            + _exceeded_text(p)
        ),
    ),
    Capability(
        "worker.output",
        ("worker", "output"),
        "Record a worker's own result file, with usage.",
        (RUN, WORKER_ID, FILE, *USAGE_PARAMS, ACTOR, REPLACE, CWD, JSON_OUT),
        worker_output,
        read_only=False,
        text=lambda p: (
            f"recorded output of {p['workerId']} at {p['recordedAt']}" + _replaced_text(p) + _exceeded_text(p)
        ),
    ),
    Capability(
        "worker.fail",
        ("worker", "fail"),
        "Mark a worker failed (its task fails, feedback opens).",
        (
            RUN,
            WORKER_ID,
            Param("message", "why it failed", positional=True, required=True, metavar="MESSAGE"),
            Param("code", "an error code (sandbox-* and worker-boundary-violation mean rejected)", metavar="CODE"),
            CWD,
            JSON_OUT,
        ),
        worker_fail,
        read_only=False,
        text=lambda p: f"worker {p['workerId']} {p['status']}; feedback {p['feedbackId']} opened",
    ),
    Capability(
        "verify",
        ("verify",),
        "Record a verifier decision on a task or verifier node.",
        (
            RUN,
            Param("target", "a task id or a verifier node id", positional=True, required=True, metavar="TARGET"),
            Param("status", "the decision", required=True, choices=tr.NODE_STATUSES),
            CWD,
            JSON_OUT,
        ),
        verify,
        read_only=False,
        text=lambda p: f"verifier {p['nodeId']}: {p['status']}",
    ),
    Capability(
        "candidate.register",
        ("candidate", "register"),
        "Register a candidate from a worker or task.",
        (
            RUN,
            Param("worker", "the worker whose output is the candidate", metavar="WORKER"),
            Param("task", "the task whose result is the candidate", metavar="TASK"),
            Param("kind", "candidate kind", choices=tr.CANDIDATE_KINDS),
            Param("id", "candidate id", metavar="ID"),
            CWD,
            JSON_OUT,
        ),
        lambda ws, a: candidate(ws, a, "register"),
        read_only=False,
        text=lambda p: f"registered candidate {p['id']}",
    ),
    Capability(
        "candidate.select",
        ("candidate", "select"),
        "Select (accept) a candidate.",
        (
            RUN,
            Param(
                "candidate_id",
                "the candidate",
                positional=True,
                required=True,
                metavar="CANDIDATE",
                mcp_name="candidateId",
            ),
            Param("reason", "why", metavar="TEXT"),
            Param("by", "who decided", metavar="ID"),
            CWD,
            JSON_OUT,
        ),
        lambda ws, a: candidate(ws, a, "select"),
        read_only=False,
        text=lambda p: f"candidate {p['candidate']['id']}: {p['candidate']['status']}",
    ),
    Capability(
        "candidate.reject",
        ("candidate", "reject"),
        "Reject a candidate (opens feedback).",
        (
            RUN,
            Param(
                "candidate_id",
                "the candidate",
                positional=True,
                required=True,
                metavar="CANDIDATE",
                mcp_name="candidateId",
            ),
            Param("reason", "why", required=True, metavar="TEXT"),
            CWD,
            JSON_OUT,
        ),
        lambda ws, a: candidate(ws, a, "reject"),
        read_only=False,
        text=lambda p: f"candidate {p['candidate']['id']}: rejected; feedback {p['feedback']['id']} opened",
    ),
    Capability(
        "feedback.open",
        ("feedback", "open"),
        "Open a feedback item.",
        (
            RUN,
            Param("message", "what needs attention", required=True, metavar="TEXT"),
            Param("task", "the task it concerns", metavar="TASK"),
            Param("code", "a code", metavar="CODE"),
            CWD,
            JSON_OUT,
        ),
        lambda ws, a: feedback(ws, a, "open"),
        read_only=False,
        text=lambda p: f"feedback {p['id']}: open",
    ),
    *(
        Capability(
            f"feedback.{move}",
            ("feedback", move),
            doc,
            (
                RUN,
                Param(
                    "feedback_id",
                    "the feedback item",
                    positional=True,
                    required=True,
                    metavar="FEEDBACK",
                    mcp_name="feedbackId",
                ),
                *(
                    (Param("node", "the state node that resolves it", required=True, metavar="NODE"),)
                    if move == "resolve"
                    else ()
                ),
                Param("message", "a note", metavar="TEXT"),
                CWD,
                JSON_OUT,
            ),
            (lambda m: lambda ws, a: feedback(ws, a, m))(move),
            read_only=False,
            text=lambda p: f"feedback {p['id']}: {p['status']}",
        )
        for move, doc in (
            ("task", "Mark feedback as tasked."),
            ("resolve", "Resolve feedback with a node."),
            ("reject", "Reject feedback."),
        )
    ),
    Capability(
        "member.add",
        ("member", "add"),
        "Add a multi-agent membership.",
        (
            RUN,
            Param("agent", "the agent's id", required=True, metavar="ID"),
            Param("id", "membership id", metavar="ID"),
            Param("role", "the agent's role", metavar="ROLE"),
            Param("status", "initial status", choices=tr.MEMBER_STATUSES, default="assigned"),
            CWD,
            JSON_OUT,
        ),
        lambda ws, a: member(ws, a, "add"),
        read_only=False,
        text=lambda p: f"membership {p['id']}: {p['status']}",
    ),
    Capability(
        "member.set",
        ("member", "set"),
        "Set a membership's status.",
        (
            RUN,
            Param("member_id", "the membership", positional=True, required=True, metavar="MEMBER", mcp_name="memberId"),
            Param("status", "new status", required=True, choices=tr.MEMBER_STATUSES),
            CWD,
            JSON_OUT,
        ),
        lambda ws, a: member(ws, a, "set"),
        read_only=False,
        text=lambda p: f"membership {p['id']}: {p['status']}",
    ),
)
