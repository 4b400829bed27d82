"""CW's file lock, so cw and Cool Workflow shut each other out of the files both write.

A file ``F`` is locked by the sidecar ``F.lock``: its existence is the lock.
It is created by ``link(2)`` from a per-attempt temp file whose body is
``<pid>@<ISO time>\\n`` (single winner: ``link`` fails with EEXIST when the
lock exists), its mtime is refreshed right after acquiring, and it is removed
on release only if its body still names this process. A lock older than the
stale window (30 s) whose pid is not alive, or older than ten windows
whatever its pid, is judged and removed only while holding the single-winner
guard ``F.lock.steal``. Locks are re-entrant within a thread.

This is CW 0.2.6's ``withFileLock`` protocol; only the waiting differs: cw
waits ``CW_LOCK_TIMEOUT`` seconds and its message names the lock and the
holder. ``CW_LOCK_STALE_SECONDS`` changes the stale window (for tests: any
value but 30 breaks the agreement with CW).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cw.model.errors import LockTimeoutError, RefusedError, UsageError

T = TypeVar("T")

STALE_SECONDS = 30.0
FORCE_FACTOR = 10  # a lock this many windows old is stolen even if its pid looks alive (recycled pid)
BACKOFF_BASE = 0.001
BACKOFF_MAX = 0.050

_attempts = itertools.count()
_held: dict[str, int] = {}  # lock path -> thread that holds it
_held_guard = threading.Lock()
_BODY = re.compile(r"^(\d+)@")


def _jitter() -> float:
    """A uniform fraction in [0, 1) for retry backoff (``random`` would cost a write a millisecond to import)."""
    return int.from_bytes(os.urandom(7), "big") / (1 << 56)


def stale_seconds() -> float:
    raw = os.environ.get("CW_LOCK_STALE_SECONDS", "").strip()
    if not raw:
        return STALE_SECONDS
    try:
        v = float(raw)
    except ValueError:
        v = -1.0
    if not (0 < v <= 3600):
        raise UsageError(f'Invalid CW_LOCK_STALE_SECONDS "{raw}": expected seconds between 0 and 3600 (CW uses 30).')
    return v


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _body() -> str:
    return f"{os.getpid()}@{_iso_now()}\n"


def _link_create(target: Path) -> bool:
    """Create ``target`` with our body via a linked temp file; False when it already exists."""
    tmp = Path(f"{target}.{os.getpid()}.{next(_attempts)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, _body().encode())
    finally:
        os.close(fd)
    try:
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, not ours: never wrongly steal
    except OSError:
        return False
    return True


def _owner_alive(body: str) -> bool:
    m = _BODY.match(body)
    return m is not None and int(m.group(1)) > 0 and pid_alive(int(m.group(1)))


def _is_ours(body: str | None) -> bool:
    return body is not None and body.startswith(f"{os.getpid()}@")


def _steal_under_guard(lock: Path, stale: float) -> bool:
    """Judge and maybe remove a stale lock while holding ``<lock>.steal``; True when the lock is gone.

    CW retries at once after any verdict; cw retries at once only when the lock
    is gone and otherwise backs off, so a live stale lock is not hot-spun on.
    """
    guard = Path(f"{lock}.steal")
    with contextlib.suppress(OSError):
        if time.time() - guard.stat().st_mtime > stale:  # a stealer died inside the guard
            guard.unlink()
    if not _link_create(guard):
        return False
    try:
        judged = lock.stat()
        age = time.time() - judged.st_mtime
        if age <= stale:
            return False
        body = _read(lock) or ""
        if age <= stale * FORCE_FACTOR and _owner_alive(body):
            return False
        current = lock.stat()
        # the verdict holds only for the exact file judged: a re-acquired lock is a new inode
        if current.st_ino == judged.st_ino and current.st_mtime_ns == judged.st_mtime_ns:
            lock.unlink()
            return True
    except FileNotFoundError:
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            guard.unlink()
    return False


def holder(lock: Path) -> str:
    """Who holds ``lock``, for messages: ``pid 123 (running) for 4.2s``."""
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return "a writer that has just released it"
    body = _read(lock) or ""
    m = _BODY.match(body)
    if not m:
        return f"an unknown holder (lock body {body.strip()[:40]!r}) for {age:.1f}s"
    state = "running" if pid_alive(int(m.group(1))) else "not running; it is stolen once stale"
    return f"pid {m.group(1)} ({state}) for {age:.1f}s"


def _acquire(lock: Path, timeout: float) -> None:
    stale = stale_seconds()
    deadline = time.monotonic() + timeout
    backoff = BACKOFF_BASE
    while True:
        if _link_create(lock):
            return
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:
            backoff = BACKOFF_BASE  # released between the link and the stat: try at once
            continue
        if age > stale and _steal_under_guard(lock, stale):
            backoff = BACKOFF_BASE
            continue
        if time.monotonic() >= deadline:
            raise LockTimeoutError(
                f"Timed out after {timeout:g}s waiting for the lock {lock}: held by {holder(lock)}. "
                "Nothing was written; retry, or raise CW_LOCK_TIMEOUT (seconds)."
            )
        time.sleep(BACKOFF_BASE + _jitter() * (backoff - BACKOFF_BASE))
        backoff = min(backoff * 2, BACKOFF_MAX)


@contextlib.contextmanager
def held(target: Path, timeout: float) -> Iterator[None]:
    """Hold CW's lock on ``target`` (the lock file is ``<target>.lock``)."""
    lock = Path(f"{target}.lock")
    key = os.path.abspath(lock)
    me = threading.get_ident()
    with _held_guard:
        reentrant = _held.get(key) == me
    if reentrant:
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    _acquire(lock, timeout)
    with _held_guard:
        _held[key] = me
    with contextlib.suppress(OSError):
        os.utime(lock)
    ok = False
    try:
        yield
        ok = True
    finally:
        with _held_guard:
            _held.pop(key, None)
        body = _read(lock)
        if _is_ours(body):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
        elif ok and body is not None:
            raise RefusedError(
                f"The lock {lock} was taken over by another writer while this command held it "
                f"(now held by {holder(lock)}): this command's write was made but may have raced that "
                "writer. Check the file; the stale window (30s) was too short for this write."
            )


def with_lock(target: Path, timeout: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` holding CW's lock on ``target``; a timeout is a refusal naming the lock and its holder."""
    with held(target, timeout):
        return fn()
