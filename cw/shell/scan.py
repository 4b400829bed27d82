"""Discovering runs for a scope, one at a time, never holding more than one state in memory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cw.core.numbers import cu_key
from cw.model.errors import CwError
from cw.shell import registry
from cw.shell.store import Store, read_run_dir
from cw.shell.workspace import Workspace


@dataclass
class ScannedRun:
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


def iter_runs(ws: Workspace, scope: str, cwd: str | None) -> Iterator[ScannedRun]:
    for repo, d in iter_run_dirs(ws, scope, cwd):
        yield load_scanned(repo, d)
