"""Budget-target loops: rounds of tasks repeated until recorded spend reaches a target.

A loop is stored as CW stores it (cw-compat §10): the origin phase carries
``loop: {maxRounds, until}`` and ``loopRound: 1``; each later round is a
phase ``<origin>@r<n>`` with ``loopOrigin`` and ``loopRound``, holding clones
of round 1's tasks named ``<task>@r<n>``; every decided round boundary is a
``loop-control`` node ``<run>:loop-control:<origin>:r<n>``; a finished loop
has ``loopDone: true`` on its origin phase.

The spend is CW's recorded total (attested units only). cw adds three
fail-closed checks before it creates a round (§16 i): a round never starts
while completed work has no attested usage, never once a budget is reached
(the loop is then done, with CW's budget text as the reason), and never when
another round like the last one would pass the token or cost budget.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cw.core.budget import cost_budget, recorded_tokens, token_budget, token_budget_problem
from cw.core.currency import minor_units
from cw.core.fingerprint import js_truthy, object_records
from cw.core.fx import FxPolicy, convert
from cw.core.metrics import Unit, usage_units
from cw.core.numbers import as_int_if_integral, js_number, money_out, whole_number
from cw.core.pricing import PricingPolicy, price_unit
from cw.core.transitions import safe_file_name
from cw.core.tree import copy_tree
from cw.model.errors import NotFoundError, RefusedError, UsageError

UNTIL_KINDS = ("budget-target", "predicate")
ROUND_ENDED = ("completed", "failed")
_ROUND_SUFFIX = re.compile(r"@r\d+$")
# Per-run fields a clone must not inherit from its round-1 template (CW's list, plus cw's usage).
_NOT_CLONED = (
    "dispatchId",
    "dispatchedAt",
    "startedAt",
    "completedAt",
    "result",
    "stateNodeId",
    "resultNodeId",
    "verifierNodeId",
    "workerId",
    "workerManifestPath",
    "usage",
)


def loop_control_node_id(run_id: str, origin_id: str, round_no: int) -> str:
    return f"{run_id}:loop-control:{origin_id}:r{round_no}"


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _round(phase: dict[str, Any]) -> int:
    r = phase.get("loopRound")
    return r if type(r) is int and r >= 1 else 1


def _task_ids(phase: dict[str, Any]) -> list[str]:
    ids = phase.get("taskIds")
    return [t for t in ids if isinstance(t, str)] if isinstance(ids, list) else []


def find_phase(state: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """A phase by id, else by name."""
    phases = object_records(state.get("phases"))
    return next((p for p in phases if p.get("id") == ref), None) or next(
        (p for p in phases if p.get("name") == ref), None
    )


def origins(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every loop's origin phase, in phase order."""
    return [p for p in object_records(state.get("phases")) if isinstance(p.get("loop"), dict)]


def origin_of(state: dict[str, Any], phase: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(phase.get("loop"), dict):
        return phase
    origin_id = phase.get("loopOrigin")
    if not isinstance(origin_id, str):
        return None
    found = next((p for p in object_records(state.get("phases")) if p.get("id") == origin_id), None)
    return found if found is not None and isinstance(found.get("loop"), dict) else None


def rounds_of(state: dict[str, Any], origin: dict[str, Any]) -> list[dict[str, Any]]:
    """The loop's phases, round 1 first."""
    oid = origin.get("id")
    phases = [p for p in object_records(state.get("phases")) if p is origin or p.get("loopOrigin") == oid]
    return sorted(phases, key=_round)


def latest_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """CW's pick: the highest ``loopRound``, the later phase on a tie."""
    latest = rounds[0]
    for p in rounds[1:]:
        if _round(p) >= _round(latest):
            latest = p
    return latest


def _unit_task(u: Unit) -> Any:
    if u.kind == "task":
        return u.unit
    out = u.record.get("output")
    tid = out.get("taskId") if isinstance(out, dict) else None
    return tid if js_truthy(tid) else u.record.get("taskId")


def recorded_spend(units: list[Unit]) -> int | float:
    """CW's recorded-token total over the attested units (cw-compat §10)."""
    return as_int_if_integral(sum(recorded_tokens(u.usage) for u in units if u.attested))


def units_of(units: list[Unit], task_ids: list[str]) -> list[Unit]:
    wanted = set(task_ids)
    return [u for u in units if _unit_task(u) in wanted]


# --- declaring a loop ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Until:
    kind: str
    target: int | None = None
    ref: str | None = None

    def stored(self) -> dict[str, Any]:
        if self.kind == "budget-target":
            return {"kind": "budget-target", "target": self.target}
        return {"kind": "predicate", "ref": self.ref}


def parse_until(kind: str | None, target: Any, ref: Any) -> Until:
    """``--until`` with its companion flag, checked as CW's app loader checks a loop (§10)."""
    if kind not in UNTIL_KINDS:
        raise UsageError(f'Invalid --until "{kind}": expected budget-target or predicate.')
    if kind == "budget-target":
        if ref is not None:
            raise UsageError("--ref goes with --until predicate; a budget-target loop takes --target TOKENS.")
        if target is None:
            raise UsageError("Missing --target: a budget-target loop needs --target TOKENS (a positive whole number).")
        return Until(kind, target=positive_int(target, "--target"))
    if target is not None:
        raise UsageError("--target goes with --until budget-target; a predicate loop takes --ref NAME.")
    if not isinstance(ref, str) or not ref.strip():
        raise UsageError("Missing --ref: a predicate loop needs --ref NAME (the predicate CW evaluates).")
    return Until(kind, ref=ref)


def positive_int(value: Any, flag: str) -> int:
    n = whole_number(value)
    if not n:
        raise UsageError(f'Invalid {flag} "{value}": expected a positive whole number (e.g. {flag} 3).')
    return n


def _loop_holding(state: dict[str, Any], task_id: str) -> dict[str, Any] | None:
    for origin in origins(state):
        for p in rounds_of(state, origin):
            if task_id in _task_ids(p):
                return origin
    return None


def add_loop(
    state: dict[str, Any], *, phase_ref: str, task_ids: list[str], max_rounds: int, until: Until, now: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Make an existing phase of pending tasks round 1 of a loop."""
    run_id = state.get("id")
    if not task_ids:
        raise UsageError("Missing --task: name every task of the phase (repeat --task for each).")
    if len(set(task_ids)) != len(task_ids):
        dup = next(t for t in task_ids if task_ids.count(t) > 1)
        raise UsageError(f"--task {dup} is given twice; name each task once.")
    phase = find_phase(state, phase_ref)
    if phase is None:
        known = ", ".join(str(p.get("id")) for p in object_records(state.get("phases"))) or "none"
        raise NotFoundError(
            f"Unknown phase for run {run_id}: {phase_ref} (phases: {known}). "
            f"Add its tasks first with `cw task add {run_id} <task> --phase {phase_ref}`."
        )
    tasks = {t.get("id"): t for t in object_records(state.get("tasks"))}
    for tid in task_ids:
        if tid not in tasks:
            raise NotFoundError(f"Unknown task id for run {run_id}: {tid}")
        holder = _loop_holding(state, tid)
        if holder is not None:
            raise RefusedError(
                f"Task {tid} is already in loop {holder.get('id')} of run {run_id}; a task is in one loop."
            )
    pid = phase.get("id")
    if isinstance(phase.get("loop"), dict) or phase.get("loopOrigin") is not None:
        raise RefusedError(f"Phase {pid} of run {run_id} is already a loop; see `cw loop list {run_id}`.")
    in_phase = _task_ids(phase)
    for tid in task_ids:
        if tid not in in_phase:
            raise RefusedError(
                f"Task {tid} is not in phase {pid} (it is in {tasks[tid].get('phase')!s}); "
                f"a loop's round 1 is the whole phase. Add the task with --phase {pid}."
            )
    others = [t for t in in_phase if t not in task_ids]
    if others:
        raise RefusedError(
            f"Phase {pid} also holds {', '.join(others)}; a loop's round 1 is the whole phase, "
            "so name every task of it with --task."
        )
    for tid in task_ids:
        st = tasks[tid].get("status")
        if st != "pending":
            raise RefusedError(f"Task {tid} is {st}; a loop starts from pending tasks.")
    s = copy_tree(state)
    ph = find_phase(s, phase_ref)
    assert ph is not None
    ph.setdefault("name", ph.get("title") if isinstance(ph.get("title"), str) else pid)
    ph.setdefault("status", "pending")
    ph["loop"] = {"maxRounds": max_rounds, "until": until.stored()}
    ph["loopRound"] = 1
    s["updatedAt"] = now
    return s, {"runId": run_id, "phase": copy.deepcopy(ph)}


# --- describing loops ----------------------------------------------------------------------------


def _task_counts(state: dict[str, Any], ids: list[str]) -> dict[str, int]:
    counts = {"total": 0, "pending": 0, "running": 0, "completed": 0, "failed": 0}
    wanted = set(ids)
    for t in object_records(state.get("tasks")):
        if t.get("id") in wanted:
            counts["total"] += 1
            st = t.get("status")
            if isinstance(st, str) and st in counts:
                counts[st] += 1
    return counts


def _node(state: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    return next((n for n in object_records(state.get("nodes")) if n.get("id") == node_id), None)


def _decision(state: dict[str, Any], origin_id: str, round_no: int) -> dict[str, Any] | None:
    node = _node(state, loop_control_node_id(str(state.get("id")), origin_id, round_no))
    if node is None:
        return None
    out = _obj(node.get("outputs"))
    return {
        "nodeId": node.get("id"),
        "done": out.get("done") is True,
        "atCap": out.get("atCap") is True,
        "reason": out.get("reason") if isinstance(out.get("reason"), str) else None,
    }


def _target(origin: dict[str, Any]) -> Any:
    until = origin["loop"].get("until")
    return until.get("target") if isinstance(until, dict) and until.get("kind") == "budget-target" else None


def describe(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Each loop with its rounds, what each round spent and how each boundary was decided."""
    units = usage_units(state)
    out = []
    for origin in origins(state):
        oid = str(origin.get("id"))
        loop = origin["loop"]
        rounds = []
        for p in rounds_of(state, origin):
            ids = _task_ids(p)
            mine = units_of(units, ids)
            rounds.append(
                {
                    "round": _round(p),
                    "phaseId": p.get("id"),
                    "name": p.get("name"),
                    "status": p.get("status"),
                    "taskIds": ids,
                    "tasks": _task_counts(state, ids),
                    "spent": recorded_spend(mine),
                    "unreportedUnits": [str(u.unit) for u in mine if not u.attested],
                    "decision": _decision(state, oid, _round(p)),
                }
            )
        until = _obj(loop.get("until"))
        out.append(
            {
                "phaseId": oid,
                "name": origin.get("name"),
                "maxRounds": loop.get("maxRounds"),
                "until": until,
                "target": _target(origin),
                "done": origin.get("loopDone") is True,
                "rounds": rounds,
            }
        )
    return out


def list_payload(state: dict[str, Any], *, now: str) -> dict[str, Any]:
    units = usage_units(state)
    cb = cost_budget(state)
    return {
        "schemaVersion": 1,
        "surface": "loops",
        "runId": state.get("id"),
        "generatedAt": now,
        "spent": recorded_spend(units),
        "budget": token_budget(state),
        "costBudget": {"limit": money_out(cb[0]), "currency": cb[1]} if cb else None,
        "loops": describe(state),
    }


# --- advancing a loop ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policies:
    pricing: PricingPolicy | None
    fx: FxPolicy | None


def _cost_of(units: list[Unit], policies: Policies, currency: str) -> tuple[Decimal, list[str]]:
    """Priced spend of attested units in ``currency``, and the units cw could not price or convert."""
    total = Decimal(0)
    unknown: list[str] = []
    src = policies.pricing.report_currency if policies.pricing is not None else "USD"
    for u in units:
        if not u.attested:
            continue
        priced = price_unit(u.usage, policies.pricing)
        if priced.cost is None:
            unknown.append(f"{u.unit}: unpriced ({priced.model or 'no model'})")
            continue
        conv = convert(priced.cost, src, currency, u.usage.get("attestedAt"), policies.fx)
        if conv.amount is None:
            unknown.append(f"{u.unit}: {conv.reason}")
            continue
        total += conv.amount
    return total, unknown


def _budget_reason(spent: Any, budget: Any) -> str:
    return (
        f"token budget exhausted: {js_number(spent)} recorded tokens >= budget {js_number(budget)} "
        "— refusing to spawn further agents"
    )


def render_task(state: dict[str, Any], task: dict[str, Any]) -> str:
    """CW's task file (``renderTask``), so a round cw opens looks like one CW opened."""
    wf = _obj(state.get("workflow"))
    inputs = _obj(state.get("inputs"))

    def js(v: Any) -> str:
        return "undefined" if v is None else js_number(v) if not isinstance(v, str) else v

    inv = inputs.get("invariant")
    invariants = "; ".join(js(v) for v in inv) if isinstance(inv, list) else (js(inv) if js_truthy(inv) else "")
    repo = inputs.get("repo") if js_truthy(inputs.get("repo")) else state.get("cwd")
    question = inputs.get("question") if js_truthy(inputs.get("question")) else ""
    prompt = task.get("prompt")
    return "\n".join(
        [
            f"# {task['id']}",
            "",
            f"- Workflow: {js(wf.get('title'))}",
            f"- Run: {js(state.get('id'))}",
            f"- Phase: {js(task.get('phase'))}",
            f"- Kind: {js(task.get('kind'))}",
            "",
            "## Inputs",
            "",
            f"- Repository: {js(repo)}",
            f"- Question: {js(question)}",
            f"- Invariants: {invariants}",
            "",
            "## Task",
            "",
            "" if prompt is None else js(prompt),
            "",
            "## Output Contract",
            "",
            "- Return a concise Markdown summary.",
            "- Include concrete evidence paths and line numbers when applicable.",
            "- Separate real, conditional, non-issue, and unknown findings when reviewing risk.",
            "- For verification or verdict tasks, include a `cw:result` JSON fence with `findings` and `evidence`.",
            "- Do not edit files unless the parent agent session explicitly assigned implementation work.",
            "",
            "```cw:result",
            "{",
            '  "summary": "one sentence",',
            '  "findings": [',
            '    { "id": "finding-id", "classification": "real|conditional|non-issue|unknown", '
            '"severity": "P0|P1|P2|P3|none", "evidence": ["file-or-url:line"] }',
            "  ],",
            '  "evidence": ["file-or-url:line"]',
            "}",
            "```",
            "",
        ]
    )


def clone_task(
    template: dict[str, Any], *, round_no: int, phase_name: str, tasks_dir: str | None, now: str
) -> dict[str, Any]:
    """CW's ``cloneLoopRoundTasks`` for one task: the template's fields, reset for a fresh round."""
    new_id = _ROUND_SUFFIX.sub("", str(template["id"])) + f"@r{round_no}"
    task_path = f"{tasks_dir}/{safe_file_name(new_id)}.md" if tasks_dir else ""
    reset: dict[str, Any] = {
        "id": new_id,
        "phase": phase_name,
        "status": "pending",
        "loopStage": "interpret",
        "loopRound": round_no,
        "taskPath": task_path,
        "resultPath": "",
    }
    out: dict[str, Any] = {}
    for k, v in template.items():
        if k in _NOT_CLONED:
            continue
        if k in reset:
            out[k] = reset[k]
        elif k == "createdAt":
            out[k] = now
        else:
            out[k] = copy.deepcopy(v)
    for k, v in reset.items():
        out.setdefault(k, v)
    return out


def _phase_status(state: dict[str, Any], phase: dict[str, Any]) -> str:
    """CW's ``updatePhaseStatuses`` rule for one phase."""
    ids = set(_task_ids(phase))
    sts = [t.get("status") for t in object_records(state.get("tasks")) if t.get("id") in ids]
    if sts and all(st == "completed" for st in sts):
        return "completed"
    if any(st in ("running", "completed") for st in sts):
        return "running"
    return "pending"


def _control_node(
    run_id: str, origin: dict[str, Any], until: dict[str, Any], decision: dict[str, Any], now: str
) -> dict[str, Any]:
    """The ``loop-control`` node exactly as CW's ``createStateNode`` shapes it."""
    label = until.get("ref") if until.get("kind") == "predicate" else f"budget-target:{js_number(until.get('target'))}"
    return {
        "schemaVersion": 1,
        "id": loop_control_node_id(run_id, str(origin["id"]), decision["round"]),
        "kind": "loop-control",
        "status": "completed",
        "loopStage": "adjust",
        "createdAt": now,
        "updatedAt": now,
        "inputs": {},
        "outputs": dict(decision),
        "artifacts": [],
        "evidence": [],
        "errors": [],
        "parents": [],
        "children": [],
        "metadata": {"originPhaseId": origin["id"], "until": label, **decision},
    }


@dataclass
class Advance:
    """What ``loop next`` decided: the new state (None: nothing to write), the payload and task files."""

    state: dict[str, Any] | None
    payload: dict[str, Any]
    task_files: list[tuple[str, str]]


def _resolve_loop(state: dict[str, Any], phase_ref: str) -> dict[str, Any]:
    run_id = state.get("id")
    loops = origins(state)
    if not loops:
        raise RefusedError(
            f"Run {run_id} has no loop; declare one with `cw loop add {run_id} PHASE --task T ... "
            "--max-rounds N --until budget-target --target TOKENS`."
        )
    phase = find_phase(state, phase_ref)
    origin = origin_of(state, phase) if phase is not None else None
    if origin is None:
        known = ", ".join(str(o.get("id")) for o in loops)
        raise NotFoundError(
            f"Unknown loop for run {run_id}: {phase_ref} (loops: {known}).", hint=f"cw loop list {run_id}"
        )
    return origin


def advance(state: dict[str, Any], *, phase_ref: str, allow_unreported: bool, policies: Policies, now: str) -> Advance:
    """``cw loop next``: decide the latest round's boundary, then finish the loop or open the next round."""
    run_id = str(state.get("id"))
    origin = _resolve_loop(state, phase_ref)
    oid = str(origin["id"])
    loop = origin["loop"]
    until = _obj(loop.get("until"))
    rounds = rounds_of(state, origin)
    latest = latest_round(rounds)
    round_no = _round(latest)
    units = usage_units(state)
    spent = recorded_spend(units)
    tb = token_budget(state)
    cb = cost_budget(state)
    round_ids = _task_ids(latest)
    round_units = units_of(units, round_ids)
    base: dict[str, Any] = {
        "schemaVersion": 1,
        "surface": "loop-next",
        "runId": run_id,
        "phaseId": oid,
        "round": round_no,
        "done": False,
        "atCap": False,
        "reason": "",
        "spent": spent,
        "roundSpent": recorded_spend(round_units),
        "target": _target(origin),
        "maxRounds": loop.get("maxRounds"),
        "budget": tb,
        "costBudget": None,
        "blocked": None,
        "nodeId": loop_control_node_id(run_id, oid, round_no),
        "recorded": False,
        "nextPhase": None,
        "nextTasks": [],
    }

    if origin.get("loopDone") is True:
        prior = _decision(state, oid, round_no) or {}
        base.update(done=True, atCap=prior.get("atCap", False), reason=prior.get("reason") or "loop already done")
        return Advance(None, base, [])

    if until.get("kind") != "budget-target":
        raise RefusedError(
            f"Loop {oid} of run {run_id} ends on predicate {until.get('ref')!s}; cw records predicate loops but "
            "evaluates only budget-target ones (CW's drive evaluates predicates)."
        )
    problem = token_budget_problem(state)
    if problem:  # CW would read it as no budget; a budget nobody can read must not let rounds run on
        raise RefusedError(f"Refusing to advance loop {oid} of run {run_id}: {problem}.")
    tasks = {t.get("id"): t for t in object_records(state.get("tasks"))}
    present = [tid for tid in round_ids if tid in tasks]
    if not present:
        raise RefusedError(f"Round {round_no} of loop {oid} has no tasks in run {run_id}; nothing to decide.")
    unfinished = [
        f"{tid} ({tasks[tid].get('status')})" for tid in present if tasks[tid].get("status") not in ROUND_ENDED
    ]
    if unfinished:
        raise RefusedError(
            f"Round {round_no} of loop {oid} is not finished: {', '.join(unfinished)}. "
            "Record every task's result (or failure) first.",
            hint=f"cw loop list {run_id}",
        )

    target = base["target"]
    max_rounds = loop.get("maxRounds")
    reached = isinstance(target, (int, float)) and spent >= target
    at_cap = isinstance(max_rounds, (int, float)) and round_no >= max_rounds
    reason = f"budget-target: {js_number(spent)}/{js_number(target)} recorded tokens"
    blocked: dict[str, Any] | None = None

    open_more = not (reached or at_cap)
    if open_more and tb is not None and spent >= tb:
        blocked = {"kind": "token-budget", "reason": _budget_reason(spent, tb)}
    cost_spent: Decimal | None = None
    round_cost: Decimal | None = None
    if cb is not None:
        limit, cur = cb
        cost_spent, unknown = _cost_of(units, policies, cur)
        q = Decimal(1).scaleb(-minor_units(cur))
        base["costBudget"] = {
            "limit": money_out(limit),
            "currency": cur,
            "spent": money_out(cost_spent.quantize(Decimal("0.000001"))),
        }
        if open_more and blocked is None:
            if cost_spent >= limit:
                blocked = {
                    "kind": "cost-budget",
                    "reason": f"cost budget exhausted: {money_out(cost_spent.quantize(q))} {cur} recorded spend >= "
                    f"budget {money_out(limit)} {cur} — refusing to spawn further agents",
                }
            elif unknown:
                raise RefusedError(
                    f"Refusing to start round {round_no + 1} of loop {oid}: the cost budget cannot be checked, "
                    f"{len(unknown)} unit(s) have spend cw cannot price or convert ({'; '.join(unknown[:3])}). "
                    "Nothing was written.",
                    hint=f"cw budget {run_id}",
                )
            else:
                round_cost, _ = _cost_of(round_units, policies, cur)

    done = reached or at_cap or blocked is not None
    if not done:
        _check_before_round(
            state, units, oid, round_no, allow_unreported, spent, base["roundSpent"], tb, cb, cost_spent, round_cost
        )

    s = copy_tree(state)
    s_origin = next(p for p in object_records(s["phases"]) if p.get("id") == oid)
    decision = {
        "round": round_no,
        "done": done,
        "atCap": at_cap,
        "reason": blocked["reason"] if blocked is not None else reason,
    }
    node = _control_node(run_id, s_origin, until, decision, now)
    nodes = s.setdefault("nodes", [])
    idx = next((i for i, n in enumerate(nodes) if isinstance(n, dict) and n.get("id") == node["id"]), None)
    if idx is None:
        nodes.append(node)
    else:
        nodes[idx] = node
    base.update(decision, blocked=blocked, recorded=True)
    files: list[tuple[str, str]] = []
    if done:
        s_origin["loopDone"] = True
    else:
        nxt = round_no + 1
        name = f"{s_origin.get('name') if s_origin.get('name') is not None else oid} (round {nxt})"
        tasks_dir = _obj(s.get("paths")).get("tasksDir")
        tasks_dir = tasks_dir if isinstance(tasks_dir, str) and tasks_dir else None
        template_ids = set(_task_ids(s_origin))
        clones = [
            clone_task(t, round_no=nxt, phase_name=name, tasks_dir=tasks_dir, now=now)
            for t in object_records(s["tasks"])
            if t.get("id") in template_ids
        ]
        taken = {t.get("id") for t in object_records(s["tasks"])}
        clash = [c["id"] for c in clones if c["id"] in taken]
        if clash:
            raise RefusedError(
                f"Cannot open round {nxt} of loop {oid}: run {run_id} already has task(s) {', '.join(clash)}."
            )
        phase: dict[str, Any] = {
            "id": f"{oid}@r{nxt}",
            "name": name,
            "status": "pending",
            "taskIds": [c["id"] for c in clones],
        }
        if s_origin.get("mode"):
            phase["mode"] = s_origin["mode"]
        phase["loopOrigin"] = oid
        phase["loopRound"] = nxt
        at = next(i for i, p in enumerate(s["phases"]) if isinstance(p, dict) and p.get("id") == latest.get("id"))
        s["phases"].insert(at + 1, phase)
        s["tasks"].extend(clones)
        if tasks_dir:
            files = [(c["taskPath"], render_task(s, c)) for c in clones]
        base.update(nextPhase=phase["id"], nextTasks=[c["id"] for c in clones])
    for p in rounds_of(s, s_origin):
        p["status"] = _phase_status(s, p)
    s["updatedAt"] = now
    return Advance(s, base, files)


def _check_before_round(
    state: dict[str, Any],
    units: list[Unit],
    oid: str,
    round_no: int,
    allow_unreported: bool,
    spent: int | float,
    round_spent: int | float,
    tb: int | float | None,
    cb: tuple[Decimal, str] | None,
    cost_spent: Decimal | None,
    round_cost: Decimal | None,
) -> None:
    """cw's refusals before a new round (nothing is written): silence is not zero, no known overshoot."""
    run_id = state.get("id")
    nxt = round_no + 1
    silent = [str(u.unit) for u in units if not u.attested]
    if silent and not allow_unreported:
        raise RefusedError(
            f"Refusing to start round {nxt} of loop {oid}: {len(silent)} completed unit(s) have no attested "
            f"usage ({', '.join(silent[:5])}{', …' if len(silent) > 5 else ''}), so the spend is unknown; "
            "unreported usage is not zero. Record it with --usage-* on cw result / cw worker output, "
            "or pass --allow-unreported. Nothing was written.",
            hint=f"cw loop list {run_id}",
        )
    if tb is not None and spent + round_spent > tb:
        raise RefusedError(
            f"Refusing to start round {nxt} of loop {oid}: round {round_no} spent {js_number(round_spent)} recorded "
            f"tokens; another like it would bring the run to {js_number(spent + round_spent)}, past the token "
            f"budget {js_number(tb)} ({js_number(spent)} spent so far). Nothing was written.",
            hint=f"cw loop list {run_id}",
        )
    if cb is not None and cost_spent is not None and round_cost is not None and cost_spent + round_cost > cb[0]:
        limit, cur = cb
        raise RefusedError(
            f"Refusing to start round {nxt} of loop {oid}: round {round_no} cost {money_out(round_cost)} {cur}; "
            f"another like it would bring the run to {money_out(cost_spent + round_cost)} {cur}, past the cost "
            f"budget {money_out(limit)} {cur}. Nothing was written.",
            hint=f"cw budget {run_id}",
        )


__all__ = [
    "Advance",
    "Policies",
    "Until",
    "add_loop",
    "advance",
    "clone_task",
    "describe",
    "list_payload",
    "loop_control_node_id",
    "parse_until",
    "positive_int",
    "render_task",
]
