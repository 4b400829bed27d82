"""cw takes CW's file lock: writers of both tools shut each other out, and neither deletes a live lock.

The other side is ``tests/cw_lock.py``, an implementation of CW 0.2.6's
``withFileLock`` that shares no code with cw.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CW_LOCK_HELPER, CwLockHolder, state_of, tree_bytes

from cw.shell import locks

WRITER = """
import os, sys
from cw.surfaces.cli import cli
repo, run, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.chdir(repo)
for i in range(first, first + count):
    try:
        cli.main(["result", run, f"t{i}", "out.md", "--usage-input-tokens", str(i + 1), "--usage-model", "m"],
                 standalone_mode=False)
    except SystemExit as e:
        if e.code:
            raise
    print(f"ack t{i}", flush=True)
"""

BODY = re.compile(r"^(\d+)@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n$")


def _run_with_tasks(cw, repo: Path, n: int) -> Path:
    cw.ok("run", "new", "--id", "r")
    for i in range(n):
        cw.ok("task", "add", "r", f"t{i}")
    cw.ok("dispatch", "r")
    (repo / "out.md").write_text("ok\n")
    return repo / ".cw/runs/r/state.json"


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_eight_cw_writers_and_cw_protocol_writers_lose_no_update(cw, repo, heavy):
    per = 12 if heavy else 5
    state = _run_with_tasks(cw, repo, 8 * per)
    env = dict(os.environ, CW_LOCK_TIMEOUT="120")
    cws = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(repo), "r", str(k * per), str(per)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(8)
    ]
    others = [
        subprocess.Popen(
            [sys.executable, str(CW_LOCK_HELPER), "writer", str(state), f"cwjs{k}", str(per * 2)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    acks: set[str] = set()
    for p in cws + others:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err or out
        acks |= {line.split()[1] for line in out.splitlines() if line.startswith("ack ")}
    st = state_of(repo, "r")
    done = {t["id"]: t["usage"]["inputTokens"] for t in st["tasks"] if t["status"] == "completed"}
    assert done == {f"t{i}": i + 1 for i in range(8 * per)}
    assert {a for a in acks if a.startswith("t")} == set(done)
    assert sorted(st["cwProtocolLog"]) == sorted(a for a in acks if a.startswith("cwjs"))
    assert len(st["cwProtocolLog"]) == 4 * per * 2
    assert not Path(f"{state}.lock").exists(), "a writer left its lock behind"


def test_cw_waits_out_a_cw_protocol_holder_and_names_it(cw, repo):
    state = _run_with_tasks(cw, repo, 1)
    before = tree_bytes(repo)
    with CwLockHolder(state) as h:
        res = cw.fails(1, "task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "0.2"})
        assert f"{state}.lock" in res.stderr and f"pid {h.pid} (running)" in res.stderr, res.stderr
        assert tree_bytes(repo) == before
        assert h.release() == "released"
    cw.ok("task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "0"})


def test_cw_releases_by_removing_the_lock_so_cw_gets_in_at_once(cw, repo):
    state = _run_with_tasks(cw, repo, 1)
    cw.ok("task", "add", "r", "t9")
    assert not Path(f"{state}.lock").exists()
    with CwLockHolder(state) as h:  # CW's own acquire: link succeeds first try, no 30 s wait
        assert h.release() == "released"


def test_cw_lock_body_mode_and_link_create(repo):
    target = repo / "f.json"
    target.write_text("{}")
    with locks.held(target, 1):
        lock = Path(f"{target}.lock")
        body = lock.read_text()
        assert BODY.match(body) and int(BODY.match(body).group(1)) == os.getpid()
        assert lock.stat().st_mode & 0o777 == 0o600
        assert lock.stat().st_nlink == 1, "the per-attempt temp file was left linked"
        with locks.held(target, 0):  # re-entrant in the same thread
            assert lock.read_text() == body
        assert lock.exists()
    assert sorted(p.name for p in repo.iterdir()) == ["f.json"]


def test_a_killed_cw_protocol_holder_is_stolen_after_the_stale_window(cw, repo, monkeypatch):
    state = _run_with_tasks(cw, repo, 1)
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "0.5")
    h = CwLockHolder(state)
    h.kill()
    lock = Path(f"{state}.lock")
    assert lock.exists()
    _age(lock, 0.1)
    res = cw.fails(1, "task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "0"})
    assert f"pid {h.pid} (not running" in res.stderr, res.stderr
    cw.ok("task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "5"})  # waits until the lock is stale, then steals
    assert "t9" in {t["id"] for t in state_of(repo, "r")["tasks"]}
    assert not lock.exists() and not Path(f"{lock}.steal").exists()


def test_cw_never_steals_a_live_lock_inside_the_force_window(cw, repo, monkeypatch):
    state = _run_with_tasks(cw, repo, 1)
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "0.5")
    with CwLockHolder(state) as h:
        lock = Path(f"{state}.lock")
        body = lock.read_text()
        _age(lock, 2)  # stale, but its holder is alive and it is younger than ten windows
        cw.fails(1, "task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "0.3"})
        assert lock.read_text() == body
        assert h.release() == "released"


def test_a_live_lock_beyond_ten_windows_is_stolen_as_cw_does(cw, repo, monkeypatch):
    state = _run_with_tasks(cw, repo, 1)
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "0.5")
    with CwLockHolder(state) as h:
        _age(Path(f"{state}.lock"), 6)  # a recycled pid must not wedge the lock forever
        cw.ok("task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "1"})
        assert not Path(f"{state}.lock").exists()
        assert h.release() == "released"  # CW's release of a vanished lock is silent


def test_a_busy_steal_guard_blocks_stealing_and_a_stale_one_is_cleared(cw, repo, monkeypatch):
    state = _run_with_tasks(cw, repo, 1)
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "0.5")
    h = CwLockHolder(state)
    h.kill()
    lock = Path(f"{state}.lock")
    guard = Path(f"{lock}.steal")
    _age(lock, 2)
    guard.write_text(f"{os.getpid()}@2026-01-01T00:00:00.000Z\n")
    cw.fails(1, "task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "0.2"})  # another stealer is judging
    assert lock.exists()
    _age(guard, 2)  # that stealer died inside its guard
    cw.ok("task", "add", "r", "t9", env={"CW_LOCK_TIMEOUT": "1"})
    assert not lock.exists() and not guard.exists()


def test_cw_protocol_steals_a_killed_cw_writers_lock(cw, repo, tmp_path):
    """The other direction: a cw writer killed inside its lock leaves CW's lock file, which CW steals."""
    state = _run_with_tasks(cw, repo, 1)
    code = (
        "import os, sys\n"
        "from cw.shell import locks\n"
        "with locks.held(__import__('pathlib').Path(sys.argv[1]), 1):\n"
        "    print('held', flush=True); os.kill(os.getpid(), 9)\n"
    )
    p = subprocess.run([sys.executable, "-c", code, str(state)], capture_output=True, text=True)
    assert p.returncode == -9 and p.stdout.strip() == "held"
    lock = Path(f"{state}.lock")
    assert BODY.match(lock.read_text())
    _age(lock, 1)
    out = subprocess.run(
        [sys.executable, str(CW_LOCK_HELPER), "writer", str(state), "cwjs", "1", "--stale", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "ack cwjs-0", out.stderr
    assert json.loads(state.read_text())["cwProtocolLog"] == ["cwjs-0"]


def test_bad_stale_window_is_a_usage_error(cw, repo, monkeypatch):
    cw.ok("run", "new", "--id", "r")
    monkeypatch.setenv("CW_LOCK_STALE_SECONDS", "-1")
    assert "CW_LOCK_STALE_SECONDS" in cw.fails(2, "task", "add", "r", "t").stderr


@pytest.mark.parametrize("thief_body", ["999999@2026-01-01T00:00:00.000Z\n"])
def test_a_lock_taken_over_mid_write_is_left_to_its_new_holder(repo, thief_body):
    target = repo / "f.json"
    lock = Path(f"{target}.lock")
    with pytest.raises(Exception, match="taken over by another writer"), locks.held(target, 1):
        lock.unlink()
        lock.write_text(thief_body)
    assert lock.read_text() == thief_body
