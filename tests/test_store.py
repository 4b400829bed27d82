"""The store's promises: no lost update under concurrent writers, whole files after a kill, clear lock timeouts."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import CwLockHolder, state_of, tree_bytes

from cw.shell.store import atomic_write

WRITER = textwrap.dedent("""
    import os, sys
    from cw.surfaces.cli import cli
    repo, run, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.chdir(repo)
    for i in range(first, first + count):
        try:
            cli.main(["result", run, f"t{i}", "out.md", "--usage-input-tokens", str(i), "--usage-output-tokens", "1",
                      "--usage-model", "m"], standalone_mode=False)
        except SystemExit as e:
            if e.code:
                raise
        print(f"ack t{i}", flush=True)
""")


def _make_run(cw, repo: Path, n: int) -> None:
    cw.ok("run", "new", "--id", "r")
    for i in range(n):
        cw.ok("task", "add", "r", f"t{i}")
    cw.ok("dispatch", "r")
    (repo / "out.md").write_text("ok")


def test_eight_concurrent_writers_lose_no_update(cw, repo, heavy):
    per = 25 if heavy else 8
    procs = 8
    _make_run(cw, repo, procs * per)
    env = dict(os.environ, CW_LOCK_TIMEOUT="60")
    ps = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(repo), "r", str(k * per), str(per)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(procs)
    ]
    acks = set()
    for p in ps:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        acks |= {line.split()[1] for line in out.splitlines() if line.startswith("ack ")}
    assert len(acks) == procs * per
    st = state_of(repo, "r")
    done = {t["id"]: t for t in st["tasks"] if t["status"] == "completed"}
    assert set(done) == acks
    for tid, t in done.items():
        assert t["usage"]["inputTokens"] == int(tid[1:])


def test_killed_writer_leaves_a_whole_file(cw, repo, heavy):
    n = 200
    _make_run(cw, repo, n)
    rounds = 40 if heavy else 8
    first = 0
    env = dict(os.environ, CW_LOCK_STALE_SECONDS="0.5", CW_LOCK_TIMEOUT="30")  # a killed holder's lock is stolen
    for _ in range(rounds):
        p = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(repo), "r", str(first), "25"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        time.sleep(random.uniform(0.3, 0.9))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate()
        acked = [line.split()[1] for line in out.splitlines() if line.startswith("ack ")]
        st = state_of(repo, "r")  # parses: never a torn file
        done = {t["id"] for t in st["tasks"] if t["status"] == "completed"}
        assert set(acked) <= done, "an acknowledged write was lost"
        first = (first + 25) % n
    listed = cw.json("run", "list")
    assert [r["runId"] for r in listed["runs"]] == ["r"] and listed["unreadable"] == []


def test_failed_write_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_bytes(b'{"old": true}')

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, b'{"new": true}')
    assert target.read_bytes() == b'{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_lock_timeout_names_the_lock_and_changes_nothing(cw, repo):
    cw.ok("run", "new", "--id", "r")
    lock_path = repo / ".cw/runs/r/state.json.lock"
    before = tree_bytes(repo)
    with CwLockHolder(repo / ".cw/runs/r/state.json"):
        res = cw.fails(1, "task", "add", "r", "t1", env={"CW_LOCK_TIMEOUT": "0.2"})
    assert str(lock_path) in res.stderr and "Nothing was written" in res.stderr
    assert tree_bytes(repo) == before


def test_lock_of_a_killed_process_is_stolen_once_stale(cw, repo, monkeypatch):
    cw.ok("run", "new", "--id", "r")
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "0.5")
    CwLockHolder(repo / ".cw/runs/r/state.json").kill()
    assert (repo / ".cw/runs/r/state.json.lock").exists()
    cw.ok("task", "add", "r", "t1", env={"CW_LOCK_TIMEOUT": "5"})
    assert [t["id"] for t in state_of(repo, "r")["tasks"]] == ["t1"]


def test_bad_lock_timeout_is_a_usage_error(cw, repo):
    cw.ok("run", "new", "--id", "r")
    assert "CW_LOCK_TIMEOUT" in cw.fails(2, "task", "add", "r", "t", env={"CW_LOCK_TIMEOUT": "soon"}).stderr


def test_progress_is_shown_only_on_a_terminal_for_long_work():
    import io

    from cw.shell.workspace import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    p = Progress("reading runs", 300, tty)
    for _ in range(300):
        p.advance()
    p.close()
    assert "cw: reading runs 300/300" in tty.getvalue() and tty.getvalue().endswith("\r\x1b[K")
    pipe = io.StringIO()
    p = Progress("reading runs", 300, pipe)
    p.advance(300)
    p.close()
    assert pipe.getvalue() == ""
    short = Tty()
    Progress("reading runs", 5, short).advance(5)
    assert short.getvalue() == ""
