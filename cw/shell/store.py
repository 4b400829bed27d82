"""The store: the only code that reads and writes run files.

Every write takes the sidecar lock ``state.json.lock`` (CW's protocol, see
``cw.shell.locks``), reads and decodes the current state inside the lock,
applies a pure transition, writes a temp file in the same directory, fsyncs
it and atomically replaces the target. Readers never take the lock; atomic
replace means they always see a whole file. A lock left by a killed process
is stolen once it is older than the stale window, as CW does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from cw.core import jsonout
from cw.core.state import load_state
from cw.model.errors import NotFoundError, RefusedError
from cw.shell import paths

T = TypeVar("T")
DEFAULT_LOCK_TIMEOUT = 10.0


class LoadedRun(msgspec.Struct):
    run_id: str
    dir: Path
    state: dict[str, Any]

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"


def temp_beside(path: Path) -> tuple[int, str]:
    """A new file ``.<name>.<random>.tmp`` next to ``path``, as ``tempfile.mkstemp`` makes one (0600,
    never an existing name), without importing ``tempfile`` (and the archive modules it loads) per write."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"No unused temporary name next to {path}")


def atomic_write(path: Path, data: bytes, *, fsync: bool = True, mode: int = 0o644) -> None:
    """Temp file in the same directory, fsync, ``os.replace``; a crash leaves the old whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def encode_state(state: dict[str, Any]) -> bytes:
    return (jsonout.dumps(state) + "\n").encode("utf-8")


_NO_FILE = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # what pathlib's is_file reads as "no file"


def _dir_has_content(d: Path) -> bool:
    for sub in ("tasks", "commits"):
        p = d / sub
        if p.is_dir() and any(not n.startswith(".") for n in os.listdir(p)):
            return True
    audit = d / "audit" / "events.jsonl"
    return audit.is_file() and audit.stat().st_size > 0


def read_run_dir(d: Path) -> dict[str, Any]:
    """Read and normalize ``<d>/state.json`` (no lock)."""
    sp = d / "state.json"
    try:
        raw = paths.read_regular(sp)
    except FileNotFoundError:
        raise NotFoundError(f"Run not found: {d.name}") from None
    return load_state(raw, label=str(sp), run_dir=str(d), dir_name=d.name, dir_has_content=_dir_has_content(d))


class Store:
    """Run files under one repo root."""

    def __init__(self, repo: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.repo = repo
        self.lock_timeout = lock_timeout

    def run_dir(self, run_id: str) -> Path:
        return paths.run_dir(self.repo, run_id)

    def read(self, run_id: str, reader: Callable[[Path], dict[str, Any]] = read_run_dir) -> LoadedRun:
        """The run, read by ``reader`` (a lean reader refuses exactly as ``read_run_dir`` does)."""
        d = self.run_dir(run_id)
        if not (d / "state.json").exists():  # a FIFO or folder there is refused by name when read, not hidden
            raise NotFoundError(f"Run not found: {run_id}")
        return LoadedRun(run_id, d, reader(d))

    def iter_run_dirs(self, seen: dict[str, os.stat_result] | None = None) -> Iterator[Path]:
        """Run directories holding a state.json, in name order (temp files are never state).

        With ``seen``, the ``lstat`` of each listed ``state.json`` that is a plain file is kept in it,
        by path: a reader that needs the file's identity takes it from there instead of asking again.
        """
        root = paths.runs_dir(self.repo)
        try:
            with os.scandir(root) as it:  # the entries say which are symlinks without a stat each
                names = sorted(e.name for e in it if not e.is_symlink())
        except (FileNotFoundError, NotADirectoryError):
            return
        base = str(root)
        for name in names:
            p = f"{base}/{name}/state.json"
            try:
                st = os.lstat(p)
            except OSError as exc:
                if exc.errno in _NO_FILE:
                    continue
                raise
            if stat.S_ISREG(st.st_mode):
                if seen is not None:
                    seen[p] = st
                yield root / name
            elif not stat.S_ISLNK(st.st_mode) or os.path.exists(p):
                # a link to something, a FIFO or a folder: listed, so the reader refuses it by name (never hidden)
                yield root / name

    def locked(self, d: Path, fn: Callable[[], T]) -> T:
        from cw.shell.locks import with_lock  # imported by writers only, as the start-up test pins

        return with_lock(d / "state.json", self.lock_timeout, fn)

    def create(self, run_id: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Create a new run directory and its state; refuses an existing run."""
        d = self.run_dir(run_id)
        d.mkdir(parents=True, exist_ok=True)

        def go() -> dict[str, Any]:
            if (d / "state.json").exists():
                raise RefusedError(f"Run {run_id} already exists ({d / 'state.json'}); choose another --id.")
            state = build(d)
            atomic_write(d / "state.json", encode_state(state))
            return state

        return self.locked(d, go)

    def update(self, run_id: str, fn: Callable[[LoadedRun], Update[T]]) -> T:
        """Lock, read, apply ``fn`` (a pure transition plus what to write), write, unlock.

        Files in ``Update.before`` (a result copy) are written before state.json,
        files in ``Update.after`` (the ledger head) after it, all inside the lock.
        """
        d = self.run_dir(run_id)
        if not (d / "state.json").exists():  # a FIFO or folder there is refused by name when read, not hidden
            raise NotFoundError(f"Run not found: {run_id}")

        def go() -> T:
            up = fn(LoadedRun(run_id, d, read_run_dir(d)))
            for path, data in up.before:
                atomic_write(path, data)
            if up.state is not None:
                atomic_write(d / "state.json", encode_state(up.state))
            for path, data in up.after:
                atomic_write(path, data)
            return up.result

        return self.locked(d, go)


class Update(msgspec.Struct, Generic[T]):
    """What one locked update writes: the new state (None = unchanged) and side files."""

    state: dict[str, Any] | None
    result: T
    before: list[tuple[Path, bytes]] = msgspec.field(default_factory=list)
    after: list[tuple[Path, bytes]] = msgspec.field(default_factory=list)
