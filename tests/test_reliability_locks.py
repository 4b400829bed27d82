"""Locks: a writer that cannot get its lock in time refuses cleanly; a dead writer's lock is stolen once stale.

* every kind of writer verb, facing a held lock and ``CW_LOCK_TIMEOUT``, exits
  1 with a message naming the lock file and writes nothing; once the lock is
  free the very same command succeeds (so the refusal was the lock's doing);
* a writer waits for a lock released within its timeout;
* readers never take the writer lock;
* a lock left behind by a writer killed (SIGKILL) while holding it is stolen
  by the next writer of any kind once it is older than the stale window (CW's
  rule; the window is shortened here with ``CW_LOCK_STALE_SECONDS``).

The held locks are taken by ``tests/cw_lock.py``, which locks as CW does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import CwLockHolder, tree_bytes
from reliability_worker import ForkServer, build_template, clone

RUN_LOCK = ".cw/runs/r/state.json.lock"
SNAPSHOT_LOCK = ".cw/runs/r/metrics/metrics-report.json.lock"


def _target(lock: Path) -> Path:
    return lock.with_name(lock.name.removesuffix(".lock"))


def _build_busy(cw, repo: Path) -> None:
    """Run ``r`` with something for every writer verb to act on, and a parent run ``p``."""
    cw.ok("run", "new", "--id", "p")
    cw.ok("run", "new", "--id", "r")
    for t in ("t1", "t2", "t3", "t4"):
        cw.ok("task", "add", "r", t)
    cw.ok("dispatch", "r", "t1", "t3", "t4")
    (repo / "res.md").write_text("result\n")
    (repo / "pay.csv").write_text(
        "id,Created (UTC),Amount,Currency,Status,cw_run (metadata)\nch_9,2026-11-20 10:00:00,4.00,usd,Paid,r\n"
    )
    cw.ok("result", "r", "t1", "res.md")
    own = repo / ".cw/runs/r/workers/worker-t4-0001"
    own.mkdir(parents=True, exist_ok=True)
    (own / "result.md").write_text("own result\n")
    cw.ok("candidate", "register", "r", "--task", "t1", "--id", "c1")
    cw.ok("candidate", "register", "r", "--task", "t1", "--id", "c2")
    for m in ("one", "two", "three"):
        cw.ok("feedback", "open", "r", "--message", m)
    cw.ok("member", "add", "r", "--agent", "a1")
    cw.ok("revenue", "add", "r", "10.00", "USD", "--ref", "INV-1")
    cw.ok("task", "add", "r", "l1", "--phase", "lp")
    cw.ok("task", "add", "r", "q1", "--phase", "lq")
    cw.ok("loop", "add", "r", "lq", "--task", "q1", "--max-rounds", "3", "--target", "100")
    cw.ok("dispatch", "r", "q1")
    cw.ok("result", "r", "q1", "res.md", "--usage-input-tokens", "3")
    cw.ok("budget", "set", "--actor", "old", "--period", "day", "--tokens", "1")


@pytest.fixture(scope="module")
def busy_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("busy"), _build_busy)


@pytest.fixture
def busy(busy_template: Path, repo: Path) -> Path:
    """A copy of the busy repo (see ``_build_busy``) as the test's repo and working directory."""
    return clone(busy_template, repo)


# (verb, argv, the lock it needs)
WRITERS = [
    ("run new", ["run", "new", "--id", "r9"], ".cw/runs/r9/state.json.lock"),
    ("task add", ["task", "add", "r", "t9"], RUN_LOCK),
    ("dispatch", ["dispatch", "r", "t2"], RUN_LOCK),
    (
        "result",
        ["result", "r", "t1", "res.md", "--usage-input-tokens", "3", "--usage-model", "m", "--replace"],
        RUN_LOCK,
    ),
    (
        "worker output",
        ["worker", "output", "r", "worker-t4-0001", ".cw/runs/r/workers/worker-t4-0001/result.md"],
        RUN_LOCK,
    ),
    ("worker fail", ["worker", "fail", "r", "worker-t3-0001", "it broke"], RUN_LOCK),
    ("verify", ["verify", "r", "t1", "--status", "verified"], RUN_LOCK),
    ("candidate register", ["candidate", "register", "r", "--task", "t1", "--id", "c9"], RUN_LOCK),
    ("candidate select", ["candidate", "select", "r", "c1"], RUN_LOCK),
    ("candidate reject", ["candidate", "reject", "r", "c2", "--reason", "worse"], RUN_LOCK),
    ("feedback open", ["feedback", "open", "r", "--message", "look"], RUN_LOCK),
    ("feedback task", ["feedback", "task", "r", "feedback-0001"], RUN_LOCK),
    ("feedback resolve", ["feedback", "resolve", "r", "feedback-0002", "--node", "n1"], RUN_LOCK),
    ("feedback reject", ["feedback", "reject", "r", "feedback-0003"], RUN_LOCK),
    ("member add", ["member", "add", "r", "--agent", "a2"], RUN_LOCK),
    ("member set", ["member", "set", "r", "membership-0001", "--status", "running"], RUN_LOCK),
    ("revenue add", ["revenue", "add", "r", "5.00", "USD", "--ref", "INV-2"], RUN_LOCK),
    ("revenue reverse", ["revenue", "reverse", "r", "rev-0001", "--amount", "1.00", "--reason", "refund"], RUN_LOCK),
    ("run link", ["run", "link", "r", "--parent", "p"], RUN_LOCK),
    ("loop add", ["loop", "add", "r", "lp", "--task", "l1", "--max-rounds", "2", "--target", "5"], RUN_LOCK),
    ("loop next", ["loop", "next", "r", "lq", "--allow-unreported"], RUN_LOCK),
    (
        "revenue import",
        ["revenue", "import", "pay.csv", "--format", "stripe-payments", "--run-column", "cw_run (metadata)"],
        RUN_LOCK,
    ),
    ("budget set", ["budget", "set", "--actor", "a", "--period", "month", "--tokens", "5"], ".cw/budgets.json.lock"),
    ("budget remove", ["budget", "remove", "--actor", "old", "--period", "day"], ".cw/budgets.json.lock"),
]


def test_every_writer_verb_is_covered():
    """The list above names every capability that writes run state (so a new writer verb is not missed)."""
    from cw.capabilities import all_capabilities

    writers = {" ".join(c.path) for c in all_capabilities() if not c.read_only}
    # pricing import, fx import and export write a file the user names, never run state
    covered = {name for name, _, _ in WRITERS} | {
        "metrics show",
        "registry add",
        "registry remove",
        "pricing import",
        "fx import",
        "export",
    }
    assert writers <= covered, f"writer verbs without a lock test: {sorted(writers - covered)}"


@pytest.mark.parametrize("verb,argv,lock", WRITERS, ids=[w[0] for w in WRITERS])
def test_a_writer_facing_a_held_lock_fails_cleanly_and_writes_nothing(cw, busy, isolated_home, verb, argv, lock):
    lock_path = busy / lock
    lock_path.parent.mkdir(parents=True, exist_ok=True)

    def home() -> dict[str, bytes]:  # cw's derived-results cache is not state (a policy check may be remembered)
        return {k: v for k, v in tree_bytes(isolated_home.parent).items() if not k.startswith(".cache/cw/")}

    before = tree_bytes(busy), home()
    with CwLockHolder(_target(lock_path)) as h:
        res = cw.fails(1, *argv, env={"CW_LOCK_TIMEOUT": "0.1"})
    assert f"held by pid {h.pid} (running)" in res.stderr, res.stderr
    assert res.stderr.startswith("cw: Timed out after 0.1s waiting for the lock "), res.stderr
    assert str(lock_path) in res.stderr and "Nothing was written" in res.stderr
    assert "CW_LOCK_TIMEOUT" in res.stderr
    assert (tree_bytes(busy), home()) == before
    cw.ok(*argv, env={"CW_LOCK_TIMEOUT": "0.1"})  # the lock was the only obstacle
    assert tree_bytes(busy) != before[0]


def _cw_process(repo: Path, *argv: str, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, CW_LOCK_TIMEOUT="0.2")
    try:
        return subprocess.run(
            [sys.executable, "-m", "cw", *argv], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"cw {' '.join(argv)} still waited after {timeout}s with CW_LOCK_TIMEOUT=0.2")


def test_metrics_show_honours_the_lock_timeout_for_its_snapshot(cw, busy):
    lock = busy / SNAPSHOT_LOCK
    lock.parent.mkdir(parents=True, exist_ok=True)
    before = tree_bytes(busy)
    with CwLockHolder(_target(lock)):
        res = _cw_process(busy, "metrics", "show", "r", timeout=8)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("cw: Timed out after 0.2s waiting for the lock ") and str(lock) in res.stderr
    assert tree_bytes(busy) == before


def test_registry_writers_honour_the_lock_timeout(cw, repo, isolated_home):
    lock = isolated_home / "registry" / "repos.json.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with CwLockHolder(_target(lock)):
        res = _cw_process(repo, "registry", "add", timeout=8)
    assert res.returncode == 1
    assert res.stderr.startswith("cw: Timed out after 0.2s waiting for the lock ") and str(lock) in res.stderr
    assert not (isolated_home / "registry" / "repos.json").exists()


def test_a_writer_waits_for_a_lock_freed_within_its_timeout(cw, busy):
    h = CwLockHolder(_target(busy / RUN_LOCK))
    releaser = threading.Timer(0.3, h.release)
    releaser.start()
    try:
        cw.ok("task", "add", "r", "t-late", env={"CW_LOCK_TIMEOUT": "10"})
    finally:
        releaser.join()
    assert not (busy / RUN_LOCK).exists()


READERS = [
    ["run", "show", "r"],
    ["run", "list"],
    ["metrics", "summary"],
    ["ledger", "verify"],
    ["pnl"],
    ["revenue", "list"],
    ["budget", "r"],
    ["loop", "list", "r"],
    ["metrics", "show", "r"],
]


@pytest.mark.parametrize("argv", READERS, ids=[" ".join(a) for a in READERS])
def test_readers_never_wait_for_the_writer_lock(cw, busy, argv):
    with CwLockHolder(_target(busy / RUN_LOCK)):
        cw.ok(*argv, env={"CW_LOCK_TIMEOUT": "0"})


def test_a_lock_left_by_a_killed_writer_is_stolen_by_the_next_writer(cw, busy, tmp_path, monkeypatch):
    """Kill each kind of writer while it holds its lock, then every kind of writer must still get through."""
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "0.3")
    deaths = 0
    with ForkServer(busy) as fs:
        for verb, argv, lock in WRITERS:
            # kill_at [1, before]: dead just before the first fsync, i.e. inside the lock
            end = fs.run({"argvs": [argv], "log": str(tmp_path / "log"), "kill_at": [1, "before"]})
            assert end["signal"] == 9, f"{verb}: the writer was not killed inside its lock ({end})"
            deaths += 1
            assert (busy / lock).exists(), f"{verb}: no lock file was left to test against"
            res = cw(*argv, env={"CW_LOCK_TIMEOUT": "5"})
            assert res.exit_code == 0, f"{verb} after a killed {verb}: {res.stderr}"
        end = fs.run({"argvs": [["metrics", "show", "r"]], "log": str(tmp_path / "log"), "kill_at": [1, "before"]})
        assert end["signal"] == 9 and (busy / SNAPSHOT_LOCK).exists()
        deaths += 1
    started = time.monotonic()
    cw.ok("metrics", "show", "r", env={"CW_LOCK_TIMEOUT": "5"})
    cw.ok("task", "add", "r", "t-final", env={"CW_LOCK_TIMEOUT": "5"})
    print(f"reliability: locks killedHolders={deaths} followUpSeconds={time.monotonic() - started:.2f}")
