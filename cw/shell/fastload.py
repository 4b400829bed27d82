"""Lean readers of ``state.json`` for the summary: decode only what the summary reads.

``read_summary_state(d)`` returns the run as the store's ``read_run_dir(d)``
would, except that tasks, workers, nodes, candidates, feedback and memberships
keep only the keys the summary derivation reads (``derive_summary_report``,
``run_entry``, the revenue ledger check), and the arrays and objects it never
reads (``phases``, ``dispatches``, ``paths``, ``inputs``, ...) are checked for
their JSON type and left empty. ``read_state_header(d)`` goes further: it
keeps the top-level scalars, ``workflow``, ``actor`` and ``revenue`` and
leaves every record list empty, which is all ``--limit`` needs to rank a run
(``createdAt``, id) and to know that it is readable.

msgspec skips undeclared keys without building them, and most of a run's
bytes are such keys (prompts, paths, node bodies), which is where a summary
over thousands of runs otherwise spends most of its time.

Neither reader decides on its own that a run is unreadable: whenever the lean
decode does not fit (invalid JSON, invalid UTF-8, a top level that is not an
object, a record that is not an object, an ``output`` that is not an object,
a scalar where an array or object belongs, a refusal by the normalizer), the
run is read again with ``read_run_dir``, so every refusal and every message
is exactly the store's. The runs the lean readers accept go through the same
``normalize_state`` (refusals, defaults), so the values the summary reads are
the same values.

One difference remains, by design: a JSON number too large for a double
(``1e999``) inside a key the summary never reads is skipped here, while the
store's full decode refuses the file (``Invalid JSON ... Number out of
range``). Neither CW nor cw can write such a number (both write a non-finite
number as ``null``), and finding one in skipped bytes would cost a full decode
of every file, the very cost these readers exist to avoid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from cw.core.state import normalize_state
from cw.model.errors import CwError
from cw.shell.store import _dir_has_content, read_run_dir

# ---------------------------------------------------------------------------
# The shapes decoded
# ---------------------------------------------------------------------------


class _Output(Struct):
    recordedAt: Any = UNSET
    taskId: Any = UNSET


class _Task(Struct):
    id: Any = UNSET
    status: Any = UNSET
    dispatchedAt: Any = UNSET
    completedAt: Any = UNSET
    workerId: Any = UNSET
    backendId: Any = UNSET
    usage: Any = UNSET


class _Worker(Struct):
    id: Any = UNSET
    status: Any = UNSET
    taskId: Any = UNSET
    backendId: Any = UNSET
    output: _Output | None | UnsetType = UNSET
    usage: Any = UNSET
    outputSizeBytes: Any = UNSET


class _Node(Struct):
    id: Any = UNSET
    kind: Any = UNSET
    status: Any = UNSET


class _Record(Struct):
    id: Any = UNSET
    status: Any = UNSET


class _MultiAgentHeader(Struct):
    schemaVersion: Any = UNSET
    runs: Raw | UnsetType = UNSET
    roles: Raw | UnsetType = UNSET
    groups: Raw | UnsetType = UNSET
    memberships: Raw | UnsetType = UNSET
    fanouts: Raw | UnsetType = UNSET
    fanins: Raw | UnsetType = UNSET


class _MultiAgent(_MultiAgentHeader):
    memberships: list[_Record] | UnsetType = UNSET


class _Header(Struct):
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
    tasks: Raw | UnsetType = UNSET
    workers: Raw | UnsetType = UNSET
    nodes: Raw | UnsetType = UNSET
    candidates: Raw | UnsetType = UNSET
    feedback: Raw | UnsetType = UNSET
    multiAgent: _MultiAgentHeader | UnsetType = UNSET
    inputs: Raw | UnsetType = UNSET
    phases: Raw | UnsetType = UNSET
    dispatches: Raw | UnsetType = UNSET
    commits: Raw | UnsetType = UNSET
    paths: Raw | UnsetType = UNSET
    contracts: Raw | UnsetType = UNSET
    sandboxProfiles: Raw | UnsetType = UNSET
    candidateSelections: Raw | UnsetType = UNSET
    blackboard: Raw | UnsetType = UNSET
    topologies: Raw | UnsetType = UNSET
    collaboration: Raw | UnsetType = UNSET


class _Run(_Header):
    """The header plus the record fields the summary derivation reads."""

    tasks: list[_Task] | UnsetType = UNSET
    workers: list[_Worker] | UnsetType = UNSET
    nodes: list[_Node] | UnsetType = UNSET
    candidates: list[_Record] | UnsetType = UNSET
    feedback: list[_Record] | UnsetType = UNSET
    multiAgent: _MultiAgent | UnsetType = UNSET


_header_decoder = msgspec.json.Decoder(_Header)
_run_decoder = msgspec.json.Decoder(_Run)


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


def _read_lean(d: Path, decoder: msgspec.json.Decoder) -> dict[str, Any]:
    try:
        raw = (d / "state.json").read_bytes()
        if not raw.isascii():
            raw.decode("utf-8")  # skipped strings are not checked by the lean decode; the full one fails on them
        doc = _plain(decoder.decode(raw))
        has_core = "workflow" in doc and "paths" in doc
        return normalize_state(doc, run_dir=str(d), dir_name=d.name,
                               dir_has_content=False if has_core else _dir_has_content(d))
    except (OSError, ValueError, _NoFit, CwError):  # ValueError: msgspec's and UTF-8 decode errors
        return read_run_dir(d)


def read_summary_state(d: Path) -> dict[str, Any]:
    """``read_run_dir(d)`` restricted to what the summary derivation reads (see the module docstring).

    Raises exactly what ``read_run_dir`` raises for the same directory.
    """
    return _read_lean(d, _run_decoder)


def read_state_header(d: Path) -> dict[str, Any]:
    """``read_run_dir(d)`` with every record list left empty: enough to rank the run and know it is readable.

    Raises exactly what ``read_run_dir`` raises for the same directory.
    """
    return _read_lean(d, _header_decoder)
