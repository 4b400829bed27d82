"""Per-period budget files: ``<repo>/.cw/budgets.json`` and ``$CW_HOME/budgets.json`` (schemas/budgets.schema.json).

Read without a lock (writes are atomic replaces); written under the sidecar
lock ``budgets.json.lock`` with a temp file, fsync and atomic replace. A file
that does not match its schema fails closed: dispatch cannot check a budget
it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from cw.core.state import decode_json
from cw.model import documents
from cw.model.errors import UnsupportedStateError
from cw.shell import paths
from cw.shell.policyfile import duplicate_problem
from cw.shell.store import atomic_write, encode_state


def budgets_file(scope: str, repo: Path, home: Path) -> Path:
    if scope == "home":
        return home / "budgets.json"
    d = repo / ".cw"
    paths.refuse_symlinks(repo, d)
    return d / "budgets.json"


def read_budgets(f: Path) -> list[dict[str, Any]]:
    """The budgets in ``f`` (none when it does not exist); a corrupt file is refused, naming it."""
    try:
        raw = paths.read_regular(f)
    except FileNotFoundError:
        return []
    doc = decode_json(raw, str(f))
    dup = duplicate_problem(raw)
    if dup is not None:
        raise UnsupportedStateError(f"Corrupt budget file {f}: {dup}.")
    try:
        msgspec.convert(doc, documents.PeriodBudgets)
    except msgspec.ValidationError as exc:
        raise UnsupportedStateError(
            f"Corrupt budget file {f}: {exc} (see schemas/budgets.schema.json). Fix or remove it; "
            "until then dispatch for budgeted actors cannot be checked."
        ) from None
    return list(doc["budgets"])


def update_budgets(
    f: Path, lock_timeout: float, fn: Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], Any]]
) -> Any:
    """Lock, read, apply ``fn`` (returns the new list and a result), write atomically, unlock."""
    f.parent.mkdir(parents=True, exist_ok=True)

    def go() -> Any:
        new, out = fn(read_budgets(f))
        doc = {"schemaVersion": 1, "budgets": new}
        msgspec.convert(doc, documents.PeriodBudgets)  # the shape we write is the shape we read
        atomic_write(f, encode_state(doc))
        return out

    from cw.shell.locks import with_lock  # imported by writers only

    return with_lock(f, lock_timeout, go)
