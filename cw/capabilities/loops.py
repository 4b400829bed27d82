"""Loop verbs: declare a budget-target loop, list loops, advance a loop by one round boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cw.capabilities.table import CWD, NOW, RUN, Capability, Param
from cw.core import loops
from cw.core import transitions as tr
from cw.core.state import check_run_id
from cw.model.errors import UsageError
from cw.shell import paths
from cw.shell.store import LoadedRun, Update
from cw.shell.workspace import Workspace

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)
PHASE = Param(
    "phase",
    "the loop's phase (its id or name; a later round's phase names its loop too)",
    positional=True,
    required=True,
    metavar="PHASE",
)


def loop_add(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    now = ws.now()
    check_run_id(a["run_id"])
    task_ids = list(a.get("task") or [])
    for tid in task_ids:
        tr.check_item_id(tid, "task id")
    if "max_rounds" not in a:
        raise UsageError("Missing --max-rounds: say how many rounds the loop may run at most (e.g. --max-rounds 5).")
    max_rounds = loops.positive_int(a["max_rounds"], "--max-rounds")
    until = loops.parse_until(a.get("until") or "budget-target", a.get("target"), a.get("ref"))
    if not task_ids:
        raise UsageError("Missing --task: name every task of the phase (repeat --task for each).")

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        s, out = loops.add_loop(
            lr.state, phase_ref=a["phase"], task_ids=task_ids, max_rounds=max_rounds, until=until, now=now
        )
        return Update(s, out)

    return ws.store(a.get("cwd")).update(a["run_id"], fn)


def loop_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    check_run_id(a["run_id"])
    now = ws.now(a.get("now"))
    loaded = ws.store(a.get("cwd")).read(a["run_id"])
    return loops.list_payload(loaded.state, now=now)


def _task_file(run_dir: Path, stored: str) -> Path | None:
    """Where to write a round's task file: only inside the run directory actually read."""
    target = Path(stored)
    if target.parent != run_dir / "tasks" and target.parent.resolve() != (run_dir / "tasks").resolve():
        return None  # the run was moved: CW's stored path points elsewhere, never write there
    return run_dir / "tasks" / paths.state_segment(target.name, "task file", run_dir / "state.json")


def loop_next(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.capabilities.money import dispatch_gate

    now = ws.now()
    check_run_id(a["run_id"])
    pricing, fx = dispatch_gate.policy(ws, a)

    def fn(lr: LoadedRun) -> Update[dict[str, Any]]:
        adv = loops.advance(
            lr.state,
            phase_ref=a["phase"],
            allow_unreported=bool(a.get("allow_unreported")),
            policies=loops.Policies(pricing, fx),
            now=now,
        )
        before = []
        for stored, text in adv.task_files:
            target = _task_file(lr.dir, stored)
            if target is not None:
                paths.refuse_symlinks(lr.dir, target)
                before.append((target, text.encode("utf-8")))
        return Update(adv.state, adv.payload, before=before)

    return ws.store(a.get("cwd")).update(a["run_id"], fn)


# --- text renderings -------------------------------------------------------------------------


def _n(v: Any) -> str:
    return "—" if v is None else str(v)


def _text_add(p: dict[str, Any]) -> str:
    ph = p["phase"]
    until = ph["loop"]["until"]
    goal = f"target {until['target']} tokens" if until["kind"] == "budget-target" else f"predicate {until['ref']}"
    return (
        f"loop {ph['id']} on {p['runId']}: round 1 = {', '.join(ph['taskIds'])}; "
        f"at most {ph['loop']['maxRounds']} rounds, {goal}"
    )


def _text_list(p: dict[str, Any]) -> str:
    budget = f" of budget {p['budget']}" if p["budget"] is not None else " (no token budget)"
    lines = [f"loops {p['runId']}  recorded tokens {p['spent']}{budget}"]
    for lp in p["loops"]:
        until = lp["until"]
        goal = f"target {_n(lp['target'])}" if until.get("kind") == "budget-target" else f"predicate {until.get('ref')}"
        state = "done" if lp["done"] else "open"
        lines.append(
            f"  {lp['phaseId']}  [{state}]  {goal}  max {_n(lp['maxRounds'])} rounds  "
            f"spent {p['spent']}/{_n(lp['target'])}"
        )
        for r in lp["rounds"]:
            t = r["tasks"]
            d = r["decision"]
            verdict = f"  -> {d['reason']}{' (done)' if d['done'] else ''}" if d else ""
            silent = f"  unreported: {', '.join(r['unreportedUnits'])}" if r["unreportedUnits"] else ""
            lines.append(
                f"    round {r['round']} {r['phaseId']}: {t['completed']}/{t['total']} completed, "
                f"{t['failed']} failed, spent {r['spent']}{silent}{verdict}"
            )
    if not p["loops"]:
        lines.append("  (no loops; declare one with `cw loop add`)")
    return "\n".join(lines)


def _text_next(p: dict[str, Any]) -> str:
    head = f"loop {p['phaseId']} round {p['round']}: {p['reason']}"
    if p["blocked"]:
        return f"{head}\n  blocked: no further round ({p['blocked']['kind']})"
    if p["done"]:
        return f"{head}\n  done{' at the round cap' if p['atCap'] else ''}"
    return f"{head}\n  opened {p['nextPhase']}: {', '.join(p['nextTasks'])}"


CAPABILITIES = (
    Capability(
        "loop.add",
        ("loop", "add"),
        "Make a phase of pending tasks round 1 of a budget-target loop.",
        (
            RUN,
            PHASE,
            Param("task", "a task of the phase; name every one", multiple=True, metavar="TASK"),
            Param("max_rounds", "the most rounds the loop may run", type="integer", metavar="N"),
            Param("until", "when the loop ends", choices=loops.UNTIL_KINDS, default="budget-target"),
            Param("target", "budget-target: stop once recorded tokens reach TOKENS", type="integer", metavar="TOKENS"),
            Param(
                "ref", "predicate: the predicate's name (recorded for CW; cw evaluates budget-target)", metavar="NAME"
            ),
            CWD,
            JSON_OUT,
        ),
        loop_add,
        read_only=False,
        text=_text_add,
        description=(
            "Stored as CW stores a loop: the phase gets loop {maxRounds, until} and loopRound 1. "
            "Every named task must be pending and in the phase, and the phase must hold no other task."
        ),
        examples=("cw loop add RUN sample --task sample:a --task sample:b --max-rounds 5 --target 500000",),
    ),
    Capability(
        "loop.list",
        ("loop", "list"),
        "Show a run's loops: rounds, spend against target and budget.",
        (RUN, NOW, CWD, JSON_OUT),
        loop_list,
        read_only=True,
        text=_text_list,
    ),
    Capability(
        "loop.next",
        ("loop", "next"),
        "Decide a finished round: end the loop or open the next round.",
        (
            RUN,
            PHASE,
            Param(
                "allow_unreported",
                "open a round although completed work has no attested usage (it then counts 0)",
                type="boolean",
            ),
            Param("pricing", "pricing policy for a cost budget (default: the bundled one)", metavar="PATH|default"),
            Param(
                "fx",
                "FX policy for a cost budget in another currency (default: the bundled one)",
                metavar="PATH|default",
            ),
            CWD,
            JSON_OUT,
        ),
        loop_next,
        read_only=False,
        text=_text_next,
        description=(
            "Refuses (exit 1) while a task of the latest round is pending or running. Otherwise records the "
            "loop-control node and either marks the loop done (recorded tokens reached the target, the round cap, "
            "or a budget is exhausted: then 'blocked' says which) or clones round 1's tasks into the next round. "
            "Before a new round cw also refuses (exit 1, nothing written) when completed work has no attested "
            "usage, or when another round like the last would pass the token or cost budget."
        ),
        examples=("while cw loop next RUN sample --json | jq -e '.done|not' >/dev/null; do ...; done",),
    ),
)
