"""Lean readers of ``state.json`` for the summary and ``metrics show``: decode only what they read and the loader checks.

``read_summary_state(d)`` returns the run as the store's ``read_run_dir(d)``
would, except that each record (tasks, workers, nodes, candidates, feedback,
memberships, dispatches, selections) keeps only the keys the summary reads
(``derive_summary_report``, ``run_entry``, the revenue ledger check) and the
keys the normalizer checks (``RECORD_KEYS``), and that the arrays and objects
neither reads (``phases``, ``paths``, ``inputs``, ...) are checked for their
JSON type and left empty. msgspec skips undeclared keys without building them,
and most of a run's bytes are such keys (prompts, paths, node bodies): that is
where a summary over thousands of runs otherwise spends most of its time.
``read_show_state(d)`` does the same for ``metrics show``, with the keys its
full report reads on top.

It never decides on its own that a run is unreadable: whenever the lean decode
does not fit (invalid JSON, invalid UTF-8, a top level that is not an object,
a record that is not an object, an ``output`` that is not an object, a scalar
where an array or object belongs, a refusal by the normalizer), the run is
read again with ``read_run_dir``, so every refusal and every message is
exactly the store's. The runs it accepts go through the same
``normalize_state`` (checks, defaults), so the values the summary reads are
the same values.

One difference remains, by design: a JSON number too large for a double
(``1e999``) inside a key that is neither read nor checked is skipped here,
while the store's full decode refuses the file (``Invalid JSON ... Number out
of range``). Neither CW nor cw can write such a number (both write a
non-finite number as ``null``; CW reads one as ``Infinity``), and finding one
in skipped bytes would take a full decode of every file, the very cost this
reader exists to avoid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from cw.core.state import normalize_state
from cw.model.errors import CwError
from cw.shell.paths import read_regular
from cw.shell.store import _dir_has_content, read_run_dir

# ---------------------------------------------------------------------------
# The shapes decoded: per record, the keys the summary derivation reads and the
# keys the normalizer checks (``cw.core.state``: record field types, token counts)
# ---------------------------------------------------------------------------


class _Output(Struct, gc=False):
    recordedAt: Any = UNSET
    taskId: Any = UNSET


class _Task(Struct, gc=False):
    id: Any = UNSET
    status: Any = UNSET
    dispatchedAt: Any = UNSET
    completedAt: Any = UNSET
    workerId: Any = UNSET
    backendId: Any = UNSET
    usage: Any = UNSET


class _Worker(Struct, gc=False):
    id: Any = UNSET
    status: Any = UNSET
    taskId: Any = UNSET
    createdAt: Any = UNSET
    updatedAt: Any = UNSET
    backendId: Any = UNSET
    output: _Output | UnsetType | None = UNSET
    usage: Any = UNSET
    outputSizeBytes: Any = UNSET
    feedbackIds: Any = UNSET
    errors: Any = UNSET


class _Node(Struct, gc=False):
    id: Any = UNSET
    kind: Any = UNSET
    status: Any = UNSET


class _Record(Struct, gc=False):
    id: Any = UNSET
    status: Any = UNSET


class _Ident(Struct, gc=False):
    id: Any = UNSET


class _MultiAgent(Struct, gc=False):
    schemaVersion: Any = UNSET
    memberships: list[_Record] | UnsetType = UNSET
    runs: Raw | UnsetType = UNSET
    roles: Raw | UnsetType = UNSET
    groups: Raw | UnsetType = UNSET
    fanouts: Raw | UnsetType = UNSET
    fanins: Raw | UnsetType = UNSET


class _Run(Struct, gc=False):
    """Every top-level key the normalizer checks; ``Raw`` ones are only checked for their JSON type."""

    schemaVersion: Any = UNSET
    id: Any = UNSET
    createdAt: Any = UNSET
    updatedAt: Any = UNSET
    cwd: Any = UNSET
    loopStage: Any = UNSET
    workflow: Any = UNSET
    workflowId: Any = UNSET
    actor: Any = UNSET
    claimedActor: Any = UNSET
    parentRunIds: Any = UNSET
    budget: Any = UNSET
    revenue: Any = UNSET
    tasks: list[_Task] | UnsetType = UNSET
    workers: list[_Worker] | UnsetType = UNSET
    nodes: list[_Node] | UnsetType = UNSET
    candidates: list[_Record] | UnsetType = UNSET
    feedback: list[_Record] | UnsetType = UNSET
    dispatches: list[_Ident] | UnsetType = UNSET
    candidateSelections: list[_Ident] | UnsetType = UNSET
    multiAgent: _MultiAgent | UnsetType = UNSET
    inputs: Raw | UnsetType = UNSET
    phases: Raw | UnsetType = UNSET
    commits: Raw | UnsetType = UNSET
    paths: Raw | UnsetType = UNSET
    contracts: Raw | UnsetType = UNSET
    sandboxProfiles: Raw | UnsetType = UNSET
    blackboard: Raw | UnsetType = UNSET
    topologies: Raw | UnsetType = UNSET
    collaboration: Raw | UnsetType = UNSET


class _Candidate(Struct, gc=False):
    id: Any = UNSET
    status: Any = UNSET
    createdAt: Any = UNSET


class _Commit(Struct, gc=False):
    id: Any = UNSET
    createdAt: Any = UNSET


class _Selection(Struct, gc=False):
    id: Any = UNSET
    selectedAt: Any = UNSET


class _ShowRun(_Run, gc=False):
    """What ``metrics show`` reads besides the summary's keys: collaboration and the times it looks up."""

    candidates: list[_Candidate] | UnsetType = UNSET  # type: ignore[assignment]
    commits: list[_Commit] | UnsetType = UNSET  # type: ignore[assignment]
    candidateSelections: list[_Selection] | UnsetType = UNSET  # type: ignore[assignment]
    collaboration: Any = UNSET


#: Per record list, the keys decoded (a test checks they cover every key the normalizer checks).
RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "tasks": _Task.__struct_fields__,
    "workers": _Worker.__struct_fields__,
    "nodes": _Node.__struct_fields__,
    "candidates": _Record.__struct_fields__,
    "feedback": _Record.__struct_fields__,
    "dispatches": _Ident.__struct_fields__,
    "candidateSelections": _Ident.__struct_fields__,
    "multiAgent.memberships": _Record.__struct_fields__,
}
_run_decoder = msgspec.json.Decoder(_Run)
_show_decoder = msgspec.json.Decoder(_ShowRun)


class _NoFit(Exception):
    """The lean decode does not fit this file; read it the store's way."""


def _plain(v: Any) -> Any:
    """A decoded field as the full decode would give it; ``Raw`` becomes an empty value of its JSON type."""
    t = type(v)
    if t is Raw:
        first = bytes(memoryview(v)[:1])
        if first == b"[":
            return []
        if first == b"{":
            return {}
        raise _NoFit  # a scalar where an array or object belongs: the store words the refusal
    if t is list:
        return msgspec.to_builtins(v) if v and isinstance(v[0], Struct) else v
    if isinstance(v, Struct):
        return {k: _plain(x) for k in v.__struct_fields__ if (x := getattr(v, k)) is not UNSET}
    return v


def read_summary_state(d: Path) -> dict[str, Any]:
    """``read_run_dir(d)`` restricted to what the summary reads (see the module docstring).

    Raises exactly what ``read_run_dir`` raises for the same directory.
    """
    return read_summary_state_core(d)[0]


def refusal_rests_on_state(d: Path) -> bool:
    """Whether the store's refusal of ``d`` follows from ``state.json``'s bytes alone.

    It does unless the file is a JSON object lacking a core key: only then does
    the data-loss guard look at the run's other directories.
    """
    try:
        raw = read_regular(d / "state.json")
    except (OSError, CwError):
        return False
    try:
        doc = msgspec.json.decode(raw)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8): refused for its bytes
        return True
    return not isinstance(doc, dict) or ("workflow" in doc and "paths" in doc)


def read_show_state(d: Path) -> dict[str, Any]:
    """``read_run_dir(d)`` restricted to what ``derive_report`` and the ledger check read.

    The same contract as ``read_summary_state``, with the keys ``metrics show``
    reads on top (``collaboration``, and the ``createdAt`` / ``selectedAt`` of
    candidates, commits and selections that time to approval looks up).
    """
    return read_summary_state_core(d, _show_decoder)[0]


def read_summary_state_core(d: Path, decoder: msgspec.json.Decoder[Any] = _run_decoder) -> tuple[dict[str, Any], bool]:
    """``read_summary_state(d)``, and whether the verdict rests on ``state.json`` alone.

    False when the state lacks a core key (the data-loss guard then looks at the
    run's other directories) or when the store's reader had to decide.
    """
    try:
        raw = read_regular(d / "state.json")
        if not raw.isascii():
            raw.decode("utf-8")  # skipped strings are not checked by the lean decode; the full one fails on them
        doc = _plain(decoder.decode(raw))
        has_core = "workflow" in doc and "paths" in doc
        state = normalize_state(
            doc, run_dir=str(d), dir_name=d.name, dir_has_content=False if has_core else _dir_has_content(d)
        )
        return state, has_core
    except (OSError, ValueError, RecursionError, _NoFit, CwError):  # ValueError: msgspec's and UTF-8 errors
        return read_run_dir(d), False
