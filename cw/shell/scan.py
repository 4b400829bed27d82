"""Discovering runs for a scope, one at a time, never holding more than one state in memory."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from cw.core.numbers import cu_key
from cw.model.errors import CwError
from cw.shell import registry
from cw.shell.store import Store, read_run_dir
from cw.shell.workspace import Workspace


class ScannedRun(msgspec.Struct):
    repo: Path
    run_id: str
    dir: Path
    state: dict[str, Any] | None
    error: str | None


def scope_repos(ws: Workspace, scope: str, cwd: str | None) -> list[Path]:
    """``repo``: the cwd; ``home``: the cwd plus every registered repo, in code-unit order."""
    here = ws.repo(cwd)
    if scope != "home":
        return [here]
    roots = {str(here)} | set(registry.repo_roots(ws.home))
    return [Path(r) for r in sorted(roots, key=cu_key)]


def iter_run_dirs(
    ws: Workspace, scope: str, cwd: str | None, seen: dict[str, os.stat_result] | None = None
) -> Iterator[tuple[Path, Path]]:
    """``(repo, run dir)`` over the scope; ``seen`` as ``Store.iter_run_dirs`` fills it."""
    for repo in scope_repos(ws, scope, cwd):
        for d in Store(repo).iter_run_dirs(seen):
            yield repo, d


def load_scanned(repo: Path, d: Path, reader: Callable[[Path], dict[str, Any]] = read_run_dir) -> ScannedRun:
    """One run read by ``reader`` (the store's ``read_run_dir`` unless told), or why it cannot be read."""
    try:
        return ScannedRun(repo, d.name, d, reader(d), None)
    except CwError as exc:
        return ScannedRun(repo, d.name, d, None, exc.message)
    except OSError as exc:
        return ScannedRun(repo, d.name, d, None, f"Cannot read {d / 'state.json'}: {exc.strerror}")


# How ``--limit`` ranks runs without reading them whole: the ``id`` and ``createdAt`` members that open a
# state.json. CW and cw write them first, before any object or array; a head that is anything else
# (another order, escapes, a nested value first, a cut member) gives no key and the run is read whole.
HEAD_BYTES = 1024
_WS = rb"[ \t\n\r]*"
_TEXT = rb'"([^"\\\x00-\x1f]*)"'  # a JSON string with no escapes: its bytes are its value
_OPEN = re.compile(_WS + rb"\{")
_MEMBER = re.compile(
    _WS + _TEXT + _WS + rb":" + _WS + rb"(?:" + _TEXT + rb"|-?[0-9][0-9.eE+-]*|true|false|null)" + _WS + rb"([,}])"
)


def head_key(state_path: str) -> tuple[str, str] | None:
    """``(createdAt, id)`` read from the first bytes of a regular ``state.json``, or None when its head does
    not say them plainly (then only a whole read can tell)."""
    try:
        fd = os.open(state_path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:  # non-blocking: a FIFO or device swapped in reads as nothing or fails; a folder fails
        head = os.read(fd, HEAD_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    m = _OPEN.match(head)
    if m is None:
        return None
    pos, found = m.end(), {}
    while (m := _MEMBER.match(head, pos)) is not None:
        if m.group(1) in (b"id", b"createdAt"):
            found[m.group(1)] = m.group(2)  # None when the value is not a string; a repeated key: the last wins
        if m.group(3) == b"}":
            break
        pos = m.end()
    created, run_id = found.get(b"createdAt"), found.get(b"id")
    if created is None or run_id is None:
        return None
    try:
        return created.decode("utf-8"), run_id.decode("utf-8")
    except UnicodeDecodeError:
        return None


def iter_runs(ws: Workspace, scope: str, cwd: str | None) -> Iterator[ScannedRun]:
    for repo, d in iter_run_dirs(ws, scope, cwd):
        yield load_scanned(repo, d)
