"""Where things live: the repo root, run directories, the home registry, containment checks."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cw.core.state import check_run_id
from cw.model.errors import RefusedError, UnsupportedStateError, UsageError


def undecodable_byte(value: Any) -> str | None:
    """The first byte of ``value`` that was not UTF-8 on the command line (``0xff``), or None.

    On POSIX Python decodes argv with ``surrogateescape``: each such byte arrives as a lone surrogate,
    which no file cw writes can hold (and no run id, path or note should). Every surface checks its text
    arguments with this before a handler runs."""
    for v in value if isinstance(value, (list, tuple)) else (value,):
        if isinstance(v, str) and not v.isascii():
            for ch in v:
                if 0xD800 <= ord(ch) <= 0xDFFF:
                    code = ord(ch)
                    return f"0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
    return None


def check_path_text(value: str, flag: str) -> str:
    """A path argument must be text the OS can take: no NUL byte."""
    if "\x00" in value:
        raise UsageError(f"Invalid {flag}: the path contains a NUL byte.")
    return value


def resolve_cwd(cwd: str | None, process_cwd: Path) -> Path:
    """``--cwd DIR`` resolved against the process directory; it must be an existing directory."""
    if cwd is None or cwd == "":
        return process_cwd
    check_path_text(cwd, "--cwd")
    p = (process_cwd / cwd).resolve()
    if not p.is_dir():
        raise UsageError(f"--cwd is not a directory: {p}")
    return p


def cw_home(env: Mapping[str, str]) -> Path:
    """``CW_HOME``, else ``$XDG_STATE_HOME/cool-workflow``, else ``~/.local/state/cool-workflow``."""
    home = env.get("CW_HOME", "").strip()
    if home:
        return Path(home).expanduser().resolve()
    xdg = env.get("XDG_STATE_HOME", "").strip()
    if xdg:
        return Path(xdg).expanduser().resolve() / "cool-workflow"
    return Path(env.get("HOME") or Path.home()).expanduser() / ".local" / "state" / "cool-workflow"


def runs_dir(repo: Path) -> Path:
    """``<repo>/.cw/runs``; a symlinked ``.cw`` or ``.cw/runs`` is refused, never followed out of the repo."""
    d = repo / ".cw" / "runs"
    refuse_symlinks(repo, d)
    return d


def refuse_symlinks(base: Path, target: Path) -> None:
    """Refuse when any component of ``target`` below ``base`` is a symbolic link."""
    rel = target.relative_to(base)
    p = base
    for part in rel.parts:
        p = p / part
        if p.is_symlink():
            raise RefusedError(
                f"Refusing {p}: it is a symbolic link; cw's run files must be real files and folders inside the repo."
            )


def run_dir(repo: Path, run_id: str) -> Path:
    """The run's directory, refusing ids that are not one safe segment or that escape via symlinks."""
    check_run_id(run_id)
    d = runs_dir(repo) / run_id
    refuse_symlinks(repo, d)
    return d


def contained_file(path_arg: str, repo: Path, process_cwd: Path, flag: str = "FILE") -> Path:
    """A file a verb reads, resolved (symlinks followed) and required to lie inside the repo."""
    check_path_text(path_arg, flag)
    raw = Path(path_arg)
    p = raw if raw.is_absolute() else process_cwd / raw
    real = Path(os.path.realpath(p))
    root = Path(os.path.realpath(repo))
    if real != root and root not in real.parents:
        raise RefusedError(
            f"Refusing {flag} {path_arg}: it resolves to {real}, outside the repo {root}. "
            "Copy the file into the repo first."
        )
    return real


#: The largest file cw reads whole (a state, a side file, a policy): far above any real one, and a bound on
#: what a file swapped for something huge can make a command read.
MAX_READ_BYTES = 256 * 1024 * 1024

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRegularFileError(RefusedError):
    """A path cw reads is there but is not a regular file (or is larger than cw reads)."""


def read_regular(path: Path, limit: int = MAX_READ_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), read without ever blocking.

    The file is opened with ``O_NONBLOCK`` (a FIFO then opens at once instead of waiting for a writer) and
    checked on the open descriptor, so nothing swapped in between can slip past: a directory, FIFO, socket
    or device, or a file over ``limit`` bytes, is ``NotRegularFileError`` naming the path. A missing file is
    ``FileNotFoundError``, as for ``Path.read_bytes``.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
            raise NotRegularFileError(
                f"Refusing to read {path}: it is {kind}, not a regular file. Replace it with the file cw expects "
                "there (or remove it)."
            )
        if st.st_size > limit:
            raise NotRegularFileError(
                f"Refusing to read {path}: it holds {st.st_size} bytes, more than cw reads ({limit} bytes)."
            )
        first = os.read(fd, st.st_size + 1)  # the whole file in one read (and one copy); a byte more sees growth
        chunks, total = [first], len(first)
        while total <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # grew while being read
            raise NotRegularFileError(f"Refusing to read {path}: it grew past {limit} bytes while being read.")
        return first if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


_SEGMENT = re.compile(r"[A-Za-z0-9._:@-]{1,255}")


def state_segment(value: Any, what: str, state_file: Path) -> str:
    """An id or name read from ``state.json`` that is about to become one path segment (a worker's folder,
    a task file): the same characters ids typed on the command line may have, never ``.``, ``..``, a slash or
    anything else that could lead out of the run. ``state.json`` is data; a crafted one is refused here."""
    if isinstance(value, str) and _SEGMENT.fullmatch(value) and value not in (".", ".."):
        return value
    shown = json.dumps(value if isinstance(value, str) else str(value), ensure_ascii=True)
    raise UnsupportedStateError(
        f"Refusing {what} {shown} in {state_file}: it is not a single safe path segment "
        "([A-Za-z0-9._:@-], not '.' or '..'), so cw will not use it as a file name. Nothing was written."
    )
