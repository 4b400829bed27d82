"""The home registry ``$CW_HOME/registry/repos.json``: which repos the home scope reads.

The file is CW's (``{schemaVersion: 1, repos: [{root, addedAt}]}``); cw reads
and writes it the same way, under a sidecar lock with atomic replace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cw.core.numbers import cu_key
from cw.core.state import decode_json
from cw.model.errors import NotFoundError, RefusedError, UnsupportedStateError
from cw.shell import paths
from cw.shell.store import atomic_write, encode_state


def repos_file(home: Path) -> Path:
    return home / "registry" / "repos.json"


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, list):
        return "array"
    return type(v).__name__ if not isinstance(v, str) else "string"


def read_repos(home: Path) -> list[dict[str, Any]]:
    """Registered repos; a missing file is an empty registry, a corrupt one fails closed."""
    f = repos_file(home)
    try:
        raw = paths.read_regular(f)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RefusedError(f"Cannot read {f}: {exc.strerror}") from None
    doc = decode_json(raw, str(f))
    if not isinstance(doc, dict):
        raise UnsupportedStateError(f"Corrupt overlay {f}: expected a JSON object, got {_kind(doc)}")
    repos = doc.get("repos", [])
    if not isinstance(repos, list) or not all(isinstance(r, dict) and isinstance(r.get("root"), str) for r in repos):
        raise UnsupportedStateError(f"Corrupt overlay {f}: repos must be an array of {{root, addedAt}} objects")
    return repos


def repo_roots(home: Path) -> list[str]:
    return sorted({r["root"] for r in read_repos(home)}, key=cu_key)


def _write(home: Path, fn, lock_timeout: float) -> Any:
    f = repos_file(home)
    f.parent.mkdir(parents=True, exist_ok=True)

    def go() -> Any:
        new, out = fn(read_repos(home))
        atomic_write(f, encode_state({"schemaVersion": 1, "repos": new}))
        return out

    from cw.shell.locks import with_lock

    return with_lock(f, lock_timeout, go)


def add_repo(home: Path, root: Path, now: str, lock_timeout: float) -> dict[str, Any]:
    def fn(repos: list[dict[str, Any]]):
        for r in repos:
            if r["root"] == str(root):
                return repos, {"root": r["root"], "addedAt": r.get("addedAt"), "added": False}
        entry = {"root": str(root), "addedAt": now}
        return [*repos, entry], {**entry, "added": True}

    return _write(home, fn, lock_timeout)


def remove_repo(home: Path, root: Path, lock_timeout: float) -> dict[str, Any]:
    def fn(repos: list[dict[str, Any]]):
        kept = [r for r in repos if r["root"] != str(root)]
        if len(kept) == len(repos):
            raise NotFoundError(f"Repo not in the home registry: {root}", hint="cw registry list")
        return kept, {"root": str(root), "removed": True}

    return _write(home, fn, lock_timeout)
