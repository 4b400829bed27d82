"""Writer processes for the reliability tests, and the plan they follow.

Run as a script, it is a cw *host*: it performs writes through the real CLI
(``cli.main([...], standalone_mode=False)`` in a loop, in one process) and
acknowledges each write on a line of its own only after cw returned success.
The tests then check every acknowledged write against the files on disk.

Modes::

    python reliability_worker.py mixed REPO PROC OPS RUN[,RUN...]
        One load-test process: units of work (see ``UNIT_OPS``) on runs shared
        with the other processes, OPS cw calls in all. Prints ``ack``/``fail``
        lines (JSON) on stdout and ``done`` at the end.

    python reliability_worker.py forkserver REPO
        Imports cw once, prints ``ready``, then reads one JSON command per
        line on stdin and forks a child for each (so a child starts writing
        within a millisecond and can be killed at a random point of a write).
        It answers ``{"pid": N}`` at once and ``{"pid": N, "code": C,
        "signal": S}`` when the child ended. Commands:
        ``{"units": {"prefix", "runs", "max_units", "with_new"}, "log": PATH}``
        runs the unit plan; ``{"argvs": [[...], ...], "log": PATH}`` runs
        those cw calls in order. Either may carry ``"kill_at": [N, "before"|
        "after"]``: the child kills itself with SIGKILL just before or just
        after its N-th ``os.fsync``/``os.replace`` call, which enumerates every
        point of cw's write sequence (temp written, synced, renamed, directory
        synced, side file written).

Imported by the tests, it provides the plan (``unit_argv``, ``expected_*``)
and ``check_acks``, which says which writes the files on disk show.

A unit of work on run R for key K (one cw call per step, in this order)::

    run-new             run new --id n-K            (only with ``with_new``)
    task-a, task-b      task add R a-K / b-K
    dispatch            dispatch R a-K b-K
    result              result R a-K inbox/K.md with usage
    worker-output       worker output R worker-b-K-0001 <its own result.md> with usage
    revenue-add         revenue add R <amount> USD --ref REF-K
    revenue-reverse     revenue reverse R <that entry> --amount 1.00 --reason REV-K
    candidate-register  candidate register R --task a-K --id c-K
    candidate-decide    candidate select (even units) or reject (odd units) R c-K
    feedback-open       feedback open R --message FB-K
    feedback-move       feedback resolve (even) or reject (odd) R <that feedback>
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNIT_OPS = (
    "run-new",
    "task-a",
    "task-b",
    "dispatch",
    "result",
    "worker-output",
    "revenue-add",
    "revenue-reverse",
    "candidate-register",
    "candidate-decide",
    "feedback-open",
    "feedback-move",
)


# ---------------------------------------------------------------------------
# the plan: what each step writes, computed from the key alone


def _n(key: str, salt: str) -> int:
    return zlib.crc32(f"{salt}:{key}".encode()) % 90000 + 1000


def expected_tokens(key: str, op: str) -> int:
    """Input tokens a ``result``/``worker-output`` step of unit ``key`` attests."""
    return _n(key, op)


def expected_amount(key: str) -> str:
    """The amount (USD, canonical text) the unit's booking records."""
    return f"{_n(key, 'amount') % 500 + 10}.{_n(key, 'cents') % 100:02d}"


def decides_select(unit: int) -> bool:
    return unit % 2 == 0


def result_text(key: str) -> str:
    return f"# result of {key}\n"


def unit_argv(op: str, key: str, unit: int, run: str, ctx: dict[str, Any]) -> list[str]:
    """The cw call of one step (``--json`` so the worker can read the ids cw assigned)."""
    if op == "run-new":
        return ["run", "new", "--id", f"n-{key}", "--app", "crash", "--json"]
    if op == "task-a":
        return ["task", "add", run, f"a-{key}", "--json"]
    if op == "task-b":
        return ["task", "add", run, f"b-{key}", "--json"]
    if op == "dispatch":
        return ["dispatch", run, f"a-{key}", f"b-{key}", "--json"]
    if op == "result":
        return [
            "result",
            run,
            f"a-{key}",
            f"inbox/{key}.md",
            "--usage-input-tokens",
            str(expected_tokens(key, op)),
            "--usage-output-tokens",
            "7",
            "--usage-model",
            "m-rel",
            "--json",
        ]
    if op == "worker-output":
        wid = f"worker-b-{key}-0001"
        return [
            "worker",
            "output",
            run,
            wid,
            f".cw/runs/{run}/workers/{wid}/result.md",
            "--usage-input-tokens",
            str(expected_tokens(key, op)),
            "--usage-output-tokens",
            "3",
            "--usage-model",
            "m-rel",
            "--json",
        ]
    if op == "revenue-add":
        return ["revenue", "add", run, expected_amount(key), "USD", "--ref", f"REF-{key}", "--json"]
    if op == "revenue-reverse":
        return ["revenue", "reverse", run, ctx["entry"], "--amount", "1.00", "--reason", f"REV-{key}", "--json"]
    if op == "candidate-register":
        return ["candidate", "register", run, "--task", f"a-{key}", "--id", f"c-{key}", "--json"]
    if op == "candidate-decide":
        if decides_select(unit):
            return ["candidate", "select", run, f"c-{key}", "--reason", f"pick-{key}", "--json"]
        return ["candidate", "reject", run, f"c-{key}", "--reason", f"drop-{key}", "--json"]
    if op == "feedback-open":
        return ["feedback", "open", run, "--message", f"FB-{key}", "--json"]
    if op == "feedback-move":
        if decides_select(unit):
            return ["feedback", "resolve", run, ctx["feedback"], "--node", f"n-{key}", "--json"]
        return ["feedback", "reject", run, ctx["feedback"], "--json"]
    raise ValueError(op)


def prepare_files(op: str, key: str, run: str) -> None:
    """What the host writes before a step (the result files cw reads)."""
    if op == "result":
        Path("inbox").mkdir(exist_ok=True)
        Path(f"inbox/{key}.md").write_text(result_text(key))
    elif op == "worker-output":
        d = Path(f".cw/runs/{run}/workers/worker-b-{key}-0001")
        d.mkdir(parents=True, exist_ok=True)
        (d / "result.md").write_text(result_text(key))


def remember(op: str, payload: Any, ctx: dict[str, Any]) -> dict[str, Any]:
    """Keep what later steps need; returns the extra fields of the ack line."""
    if op == "revenue-add":
        ctx["entry"] = payload["entry"]["id"]
        return {"entry": payload["entry"]["id"]}
    if op == "revenue-reverse":
        return {"entry": payload["entry"]["id"]}
    if op == "feedback-open":
        ctx["feedback"] = payload["id"]
        return {"feedback": payload["id"]}
    return {}


# ---------------------------------------------------------------------------
# running cw in-process


class OpFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def cw_call(argv: list[str]) -> Any:
    """One cw call in this process: its payload (parsed when ``--json`` is given), or OpFailed with cw's message."""
    import click

    from cw.surfaces.cli import cli

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main(argv, prog_name="cw", standalone_mode=False)
    except click.ClickException as exc:
        raise OpFailed(exc.exit_code, exc.format_message()) from None
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise OpFailed(int(exc.code), err.getvalue().strip()) from None
    text = out.getvalue()
    return json.loads(text) if "--json" in argv else text


def run_units(prefix: str, runs: list[str], max_ops: int, max_units: int, with_new: bool, emit) -> None:
    """Units ``<prefix>-u<N>`` round-robin over ``runs``; ``emit(line)`` after each start, ack and failure."""
    ops = UNIT_OPS if with_new else UNIT_OPS[1:]
    done = 0
    unit = 0
    while done < max_ops and unit < max_units:
        key = f"{prefix}-u{unit}"
        run = runs[unit % len(runs)]
        ctx: dict[str, Any] = {}
        for op in ops:
            if done >= max_ops:
                break
            prepare_files(op, key, run)
            emit({"start": key, "op": op, "run": run, "unit": unit})
            done += 1
            try:
                payload = cw_call(unit_argv(op, key, unit, run, ctx))
            except OpFailed as exc:
                emit({"fail": key, "op": op, "run": run, "code": exc.code, "message": exc.message})
                break
            emit({"ack": key, "op": op, "run": run, "unit": unit, **remember(op, payload, ctx)})
        unit += 1


# ---------------------------------------------------------------------------
# checking acknowledged writes against the files


@dataclass
class Ack:
    key: str
    op: str
    run: str
    unit: int
    extra: dict[str, Any] = field(default_factory=dict)


def parse_log(lines: Iterable[str]) -> tuple[list[Ack], list[dict[str, Any]], list[dict[str, Any]]]:
    """(acks, starts, failures) from worker output lines; other lines are ignored."""
    acks, starts, fails = [], [], []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        if "ack" in d:
            extra = {k: v for k, v in d.items() if k not in ("ack", "op", "run", "unit")}
            acks.append(Ack(d["ack"], d["op"], d["run"], d["unit"], extra))
        elif "start" in d:
            starts.append(d)
        elif "fail" in d:
            fails.append(d)
    return acks, starts, fails


def read_states(repo: Path) -> dict[str, dict[str, Any]]:
    """Every ``.cw/runs/<id>/state.json`` parsed as plain JSON (a torn file raises here)."""
    out = {}
    root = repo / ".cw" / "runs"
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        sp = d / "state.json"
        if sp.is_file():
            out[d.name] = json.loads(sp.read_bytes())
    return out


def _by_id(records: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records or []:
        if isinstance(r, dict):
            out.setdefault(r.get("id"), []).append(r)
    return out


def present_ops(repo: Path, states: dict[str, dict[str, Any]]) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Which unit steps the files show, keyed ``(key, op)``, and every duplicate found.

    Only records named by the plan are considered (``a-K``, ``REF-K``, ...).
    """
    seen: dict[tuple[str, str], Any] = {}
    dups: list[str] = []
    refs: dict[str, int] = {}
    reasons: dict[str, int] = {}
    messages: dict[str, int] = {}
    for rid, st in states.items():
        if rid.startswith("n-"):
            seen[(rid[2:], "run-new")] = st
        for what in ("tasks", "workers", "candidates", "feedback", "nodes", "dispatches"):
            for i, recs in _by_id(st.get(what)).items():
                if len(recs) > 1:
                    dups.append(f"{rid}: {what} id {i} appears {len(recs)} times")
        tasks = _by_id(st.get("tasks"))
        workers = _by_id(st.get("workers"))
        for tid, recs in tasks.items():
            t = recs[0]
            if not isinstance(tid, str) or tid[:2] not in ("a-", "b-"):
                continue
            key = tid[2:]
            seen[(key, "task-" + tid[0])] = (rid, t)
            if tid[0] == "a" and t.get("workerId"):
                seen[(key, "dispatch")] = (rid, t)
            if tid[0] == "a" and t.get("status") == "completed":
                seen[(key, "result")] = (rid, t, workers.get(t.get("workerId"), [None])[0])
            if tid[0] == "b":
                w = workers.get(f"worker-b-{key}-0001", [None])[0]
                if w is not None and w.get("output"):
                    seen[(key, "worker-output")] = (rid, w)
        for cid, recs in _by_id(st.get("candidates")).items():
            if isinstance(cid, str) and cid.startswith("c-"):
                seen[(cid[2:], "candidate-register")] = (rid, recs[0])
                if recs[0].get("status") != "registered":
                    seen[(cid[2:], "candidate-decide")] = (rid, recs[0])
        for fb in st.get("feedback") or []:
            msg = fb.get("message") if isinstance(fb, dict) else None
            if isinstance(msg, str) and msg.startswith("FB-"):
                messages[msg] = messages.get(msg, 0) + 1
                seen[(msg[3:], "feedback-open")] = (rid, fb)
                if fb.get("status") != "open":
                    seen[(msg[3:], "feedback-move")] = (rid, fb)
        for e in (st.get("revenue") or {}).get("entries") or []:
            if e.get("kind") == "booked" and str(e.get("ref", "")).startswith("REF-"):
                refs[e["ref"]] = refs.get(e["ref"], 0) + 1
                seen[(e["ref"][4:], "revenue-add")] = (rid, e)
            if e.get("kind") == "reversed" and str(e.get("reason", "")).startswith("REV-"):
                reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
                seen[(e["reason"][4:], "revenue-reverse")] = (rid, e)
    for name, counts in (("revenue ref", refs), ("reversal reason", reasons), ("feedback message", messages)):
        dups += [f"{name} {k} appears {n} times" for k, n in counts.items() if n > 1]
    return seen, dups


def ack_problems(repo: Path, ack: Ack, seen: dict[tuple[str, str], Any]) -> list[str]:
    """What is wrong with one acknowledged step on disk (empty when it is there, with its values)."""
    got = seen.get((ack.key, ack.op))
    where = f"acked {ack.op} of {ack.key} on {ack.run}"
    if got is None:
        return [f"{where}: not in the final state (an acknowledged write was lost)"]
    if ack.op == "run-new":
        return [] if got.get("id") == f"n-{ack.key}" else [f"{where}: state has id {got.get('id')}"]
    rid = got[0]
    if rid != ack.run:
        return [f"{where}: found on run {rid}"]
    rec = got[1]
    if ack.op == "result":
        usage, worker = rec.get("usage") or {}, got[2] or {}
        copy = repo / ".cw" / "runs" / rid / "workers" / rec["workerId"] / "result.md"
        probs = []
        if usage.get("inputTokens") != expected_tokens(ack.key, "result"):
            probs.append(f"{where}: task usage {usage}")
        if (worker.get("usage") or {}).get("inputTokens") != expected_tokens(ack.key, "result"):
            probs.append(f"{where}: worker usage {worker.get('usage')}")
        if not copy.is_file() or copy.read_text() != result_text(ack.key):
            probs.append(f"{where}: result copy {copy} missing or different")
        return probs
    if ack.op == "worker-output" and (rec.get("usage") or {}).get("inputTokens") != expected_tokens(
        ack.key, "worker-output"
    ):
        return [f"{where}: worker usage {rec.get('usage')}"]
    if ack.op == "revenue-add" and (rec["amount"] != expected_amount(ack.key) or rec["id"] != ack.extra.get("entry")):
        return [f"{where}: entry {rec}"]
    if ack.op == "revenue-reverse" and (rec["amount"] != "-1.00" or rec["id"] != ack.extra.get("entry")):
        return [f"{where}: entry {rec}"]
    if ack.op == "candidate-decide":
        want = ("selected", "verified") if decides_select(ack.unit) else ("rejected",)
        if rec.get("status") not in want:
            return [f"{where}: candidate status {rec.get('status')}"]
    if ack.op == "feedback-open" and rec.get("id") != ack.extra.get("feedback"):
        return [f"{where}: feedback {rec}"]
    if ack.op == "feedback-move":
        want = "resolved" if decides_select(ack.unit) else "rejected"
        if rec.get("status") != want:
            return [f"{where}: feedback status {rec.get('status')}"]
    return []


def check_acks(repo: Path, acks: list[Ack], in_flight: set[tuple[str, str]]) -> tuple[list[str], int]:
    """Problems with the final state, and how many unacknowledged steps it shows.

    Every acknowledged step must be on disk with its values, exactly once;
    a step on disk without an ack is allowed only if it is in ``in_flight``
    (the step a killed writer had started but not acknowledged).
    """
    states = read_states(repo)
    seen, problems = present_ops(repo, states)
    acked = {(a.key, a.op) for a in acks}
    for a in acks:
        problems += ack_problems(repo, a, seen)
    extra = [k for k in seen if k not in acked]
    problems += [
        f"{op} of {key} is on disk but was never acknowledged or in flight"
        for key, op in extra
        if (key, op) not in in_flight
    ]
    return problems, len(extra)


# ---------------------------------------------------------------------------
# repos built once per test module and copied for each test


def build_template(root: Path, build: Any) -> Path:
    """Run ``build(cw, repo)`` once in ``root/repo`` (with its own home under ``root``) and return the repo.

    A module-scoped fixture calls this, then each test copies the result with ``clone``: the same files as
    building it again, in a fraction of the time. The copies keep the absolute paths CW-format states record
    (``cwd``, ``paths``), as a moved repo does; cw reads and writes beside the state it found.
    """
    from conftest import Cli

    repo = root / "repo"
    repo.mkdir(parents=True)
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    os.environ.update(
        {
            "HOME": str(root / "home"),
            "XDG_STATE_HOME": str(root / "home" / "state"),
            "CW_HOME": str(root / "home" / "cw-home"),
        }
    )
    for var in (
        "CW_CRON_NAME",
        "WORKLOFT_CRON_JOB_NAME",
        "WORKLOFT_CRON_NAME",
        "CW_ACTOR",
        "CW_PARENT_RUN",
        "CW_LOCK_TIMEOUT",
        "CW_DETERMINISTIC_RUN_IDS",
    ):
        os.environ.pop(var, None)
    try:
        os.chdir(repo)
        build(Cli(), repo)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return repo


def clone(template: Path, repo: Path) -> Path:
    """Copy a built template's files into the (empty) test repo."""
    import shutil

    shutil.copytree(template, repo, symlinks=True, dirs_exist_ok=True)
    return repo


# ---------------------------------------------------------------------------
# the tests' side of the fork server


class ForkServer:
    """Drives ``reliability_worker.py forkserver`` from a test: start a child, kill it, wait for it."""

    def __init__(self, repo: Path) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, __file__, "forkserver", str(repo)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise RuntimeError(f"fork server did not start: {line!r}")

    def start(self, cmd: dict[str, Any]) -> int:
        """Fork a child for ``cmd``; returns its pid as soon as it runs."""
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def wait(self) -> dict[str, Any]:
        """``{"pid", "code", "signal"}`` of the child started last, once it has ended."""
        return json.loads(self.proc.stdout.readline())

    def run(self, cmd: dict[str, Any]) -> dict[str, Any]:
        self.start(cmd)
        return self.wait()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------
# process modes


def _mixed(repo: str, proc: int, ops: int, runs: str) -> None:
    os.chdir(repo)

    def emit(d: dict[str, Any]) -> None:
        if "start" not in d:
            print(json.dumps(d), flush=True)

    run_units(f"p{proc}", runs.split(","), ops, 10**9, False, emit)
    print("done", flush=True)


def _arm_kill(kill_at: list[Any] | None) -> None:
    """Kill this process with SIGKILL just before/after its N-th fsync or replace."""
    if not kill_at:
        return
    target, when = int(kill_at[0]), kill_at[1]
    count = [0]

    def wrap(real):
        def call(*a: Any, **k: Any) -> Any:
            count[0] += 1
            hit = count[0] == target
            if hit and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            out = real(*a, **k)
            if hit and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return out

        return call

    os.fsync = wrap(os.fsync)
    os.replace = wrap(os.replace)


def _child(cmd: dict[str, Any]) -> int:
    fd = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def emit(d: dict[str, Any]) -> None:
        os.write(fd, (json.dumps(d) + "\n").encode())

    _arm_kill(cmd.get("kill_at"))
    if "units" in cmd:
        u = cmd["units"]
        run_units(u["prefix"], u["runs"], 10**9, u["max_units"], u.get("with_new", False), emit)
        return 0
    for i, argv in enumerate(cmd["argvs"]):
        emit({"start": str(i)})
        try:
            cw_call(argv)
        except OpFailed as exc:
            emit({"fail": str(i), "code": exc.code, "message": exc.message})
            return 3
        emit({"done": str(i)})
    return 0


def _warm_up() -> None:
    """Import and cache everything a write touches, so a forked child starts writing at once."""
    import cw.capabilities.money
    import cw.capabilities.reports
    import cw.capabilities.runs
    import cw.surfaces.cli  # noqa: F401
    from cw.shell.fxpolicy import load_fx_policy
    from cw.shell.policies import load_pricing_policy

    load_pricing_policy("default", Path.cwd())
    load_fx_policy("default", Path.cwd())


def _forkserver(repo: str) -> None:
    os.chdir(repo)
    _warm_up()
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(cmd)
            except BaseException:  # reported in the log, so a test failure says what happened
                import traceback

                with open(cmd["log"], "a") as f:
                    f.write(json.dumps({"crash": traceback.format_exc()}) + "\n")
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        print(json.dumps({"pid": pid, "code": code, "signal": sig}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "mixed":
        _mixed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif mode == "forkserver":
        _forkserver(sys.argv[2])
    else:
        raise SystemExit(f"unknown mode {mode}")
