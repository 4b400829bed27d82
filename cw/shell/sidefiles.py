"""Files kept beside a run's state.json: the metrics snapshot, the telemetry ledger, the revenue head.

Readers here never raise for a missing or damaged side file: they return what
the derivation needs to report it honestly (absent, unverified, malformed).
One thing is refused instead: something that is not a regular file (a FIFO, a
folder, a device) where a side file belongs. It is read with ``read_regular``,
so it never blocks, and the refusal names the path; the run is then listed as
unreadable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from cw.core.jsonout import dumps
from cw.core.metrics import TELEMETRY_MISSING
from cw.core.state import JSON_ERRORS
from cw.model.errors import RefusedError
from cw.shell.paths import read_regular
from cw.shell.store import LoadedRun, Update, atomic_write

SNAPSHOT = Path("metrics") / "metrics-report.json"
TELEMETRY = "telemetry.json"
REVENUE_HEAD = "revenue.head.json"


class _Fingerprint(msgspec.Struct):
    sourceFingerprint: str | None = None
    cwFingerprint: str | None = None


_fp_decoder = msgspec.json.Decoder(_Fingerprint)


def has_ledger(run_dir: Path, state: dict[str, Any]) -> bool:
    """Whether the run keeps a revenue ledger (entries in the state, or a head file beside it)."""
    return "revenue" in state or head_path(run_dir).exists()


def snapshot_path(run_dir: Path) -> Path:
    return run_dir / SNAPSHOT


def read_snapshot(run_dir: Path) -> dict[str, Any] | None:
    """The snapshot as a dict, or None when missing or unreadable (refused when not a regular file)."""
    try:
        doc = msgspec.json.decode(read_regular(snapshot_path(run_dir)))
    except (OSError, *JSON_ERRORS):
        return None
    return doc if isinstance(doc, dict) else None


def persisted_fingerprint(run_dir: Path) -> str | None:
    """The snapshot's ``sourceFingerprint``; None when the file is missing, unreadable or lacks one."""
    return persisted_fingerprints(run_dir)[0]


def persisted_fingerprints(run_dir: Path) -> tuple[str | None, str | None]:
    """The snapshot's ``sourceFingerprint`` and ``cwFingerprint`` (None for each one missing)."""
    try:
        doc = _fp_decoder.decode(read_regular(snapshot_path(run_dir)))
    except (OSError, msgspec.ValidationError, *JSON_ERRORS):
        return None, None
    fp, cw = doc.sourceFingerprint, doc.cwFingerprint
    if not (isinstance(fp, str) and fp):
        return None, None
    return fp, cw if isinstance(cw, str) and cw else None


def write_snapshot(run_dir: Path, text: str, lock_timeout: float, then: Callable[[], None] | None = None) -> Path:
    """Write the snapshot (the exact ``--json`` bytes) like every cw write: sidecar lock, temp file, fsync,
    atomic replace, mode 0600. A symlinked ``metrics/`` or snapshot is refused, never followed."""
    target = snapshot_path(run_dir)
    for p in (target.parent, target):
        if p.is_symlink():
            raise RefusedError(
                f"Refusing to write the snapshot through the symbolic link {p}; remove it "
                "(snapshots are rebuilt by cw metrics show)."
            )
    target.parent.mkdir(parents=True, exist_ok=True)

    def go() -> None:
        atomic_write(target, text.encode("utf-8"), mode=0o600)
        if then is not None:  # what else is derived from this snapshot (the summary cache), in the same lock
            then()

    from cw.shell.locks import with_lock

    with_lock(target, lock_timeout, go)
    return target


def read_telemetry(run_dir: Path) -> Any:
    """The parsed telemetry ledger, TELEMETRY_MISSING when absent, or a marker string when unparseable."""
    p = run_dir / TELEMETRY
    try:
        raw = read_regular(p)
    except FileNotFoundError:
        return TELEMETRY_MISSING
    except OSError:
        return "unreadable"
    try:
        return msgspec.json.decode(raw)
    except JSON_ERRORS:
        return "unparseable"


def head_path(run_dir: Path) -> Path:
    return run_dir / REVENUE_HEAD


def read_head(run_dir: Path) -> Any:
    """The revenue head document; None when absent; the raw text when it is not JSON (reported as malformed)."""
    try:
        raw = read_regular(head_path(run_dir))
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(raw)
    except JSON_ERRORS:
        return raw.decode("utf-8", errors="replace")


T = TypeVar("T")


def ledger_update(lr: LoadedRun, doc: Any, result: T, now: str) -> Update[T]:
    """The state with the new ledger ``doc``, then its head file.

    A head a killed writer left one entry behind (or missing) is first brought up to date, before
    state.json is written: a kill between this write's state.json and its head then leaves the head one
    entry behind again, never two (which reads as tampering). Callers add one entry per update.
    """
    from cw.core import ledger  # here: readers of side files (metrics show) need no ledger code

    path = head_path(lr.dir)
    before = []
    old = lr.state.get("revenue")
    current = ledger.head_for(old, lr.run_id) if old is not None else None
    if current is not None and current["entries"] > 0 and read_head(lr.dir) != current:
        before.append((path, (dumps(current) + "\n").encode()))
    return Update(
        {**lr.state, "revenue": doc, "updatedAt": now},
        result,
        before=before,
        after=[(path, (dumps(ledger.head_for(doc, lr.run_id)) + "\n").encode())],
    )
