"""The summary's warm path: a small cache ``metrics show`` writes beside its snapshot.

``metrics/summary-cache.json`` holds the run's summary entry (its RunRef under
the pricing policy ``show`` used, and the few facts pooling needs), keyed by
the ``stat`` of the files it was derived from: ``state.json``, the revenue
head file and the snapshot itself. Every cw write replaces ``state.json``
(a new inode), and any other change moves its size, mtime or ctime, so a
cache whose recorded stats all still match describes exactly the bytes on
disk — the same heuristic git's index uses. The summary then skips reading
and decoding the state. Anything else (a stat differs, another pricing
policy, a missing or unreadable cache) falls back to the full derivation,
which gives the same bytes (a test compares the two).
"""

from __future__ import annotations

import hashlib
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from cw.core.jsonout import dumps_compact
from cw.core.state import JSON_ERRORS
from cw.core.summary import RunEntry
from cw.shell import sidefiles
from cw.shell.store import atomic_write

CACHE = Path("metrics") / "summary-cache.json"
_MONEY_KEYS = ("attestedUsd", "estimatedUsd")
VERSION = 1


def cache_path(run_dir: Path) -> Path:
    return run_dir / CACHE


def _stat(p: Path) -> list[int] | None:
    try:
        st = os.stat(p, follow_symlinks=False)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _stats(run_dir: Path) -> list[list[int] | None]:
    return [_stat(run_dir / "state.json"), _stat(sidefiles.head_path(run_dir)), _stat(sidefiles.snapshot_path(run_dir))]


def policy_digest(policy: Any) -> str:
    """What a cached cost depends on: every price of the policy (or the absence of one)."""
    if policy is None:
        return "none"
    doc = [policy.id, policy.currency, list(policy.models), policy.default_price]
    return hashlib.sha256(msgspec.json.encode(doc, enc_hook=str)).hexdigest()


def write_cache(run_dir: Path, entry: RunEntry, policy: Any, ledger_error: str | None) -> None:
    """Record ``entry`` (derived from the state just read) with the stats of the files it came from.

    Called by ``metrics show`` right after its snapshot, inside the snapshot's lock.
    """
    doc = {
        "version": VERSION,
        "stats": _stats(run_dir),
        "policy": policy_digest(policy),
        "ledgerError": ledger_error,
        "ref": entry.ref,
        "runId": entry.run_id,
        "createdAt": entry.created_at,
        "actor": entry.actor,
        "backendBytes": [list(b) for b in entry.backend_bytes],
        "outputBytes": entry.output_bytes,
    }
    atomic_write(cache_path(run_dir), dumps_compact(doc), mode=0o600)


def lookup(run_dir: Path, repo: str, policy: Any) -> RunEntry | dict[str, Any] | None:
    """The cached entry (or unreadable row) when every recorded stat still matches, else None."""
    try:
        doc = msgspec.json.decode(cache_path(run_dir).read_bytes())
    except (OSError, *JSON_ERRORS):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or doc.get("stats") != _stats(run_dir):
        return None
    if doc.get("ledgerError"):
        return {"runId": run_dir.name, "repo": repo, "reason": doc["ledgerError"]}
    if doc.get("policy") != policy_digest(policy):
        return None
    ref = {k: (repo if k == "repo" else v) for k, v in doc["ref"].items()}
    cost = ref.get("cost")
    if isinstance(cost, dict):  # money is Decimal in memory: JSON gave its shortest float back
        ref["cost"] = {
            k: (Decimal(repr(v)) if k in _MONEY_KEYS and isinstance(v, float) else v) for k, v in cost.items()
        }
    return RunEntry(
        ref,
        doc["runId"],
        repo,
        doc["createdAt"],
        tuple(tuple(b) for b in doc["backendBytes"]),
        doc["outputBytes"],
        doc["actor"],
    )
