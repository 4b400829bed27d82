"""Snapshots both tools agree on: CW's fingerprint in ``sourceFingerprint``, cw's additions in ``cwFingerprint``.

Fixtures (``tests/fixtures/cw/snapshots``, see the README there): a run cw
wrote and the snapshot the real CW's ``metrics show`` wrote for it, and CW's
snapshot of a run CW wrote. CW judges a snapshot by comparing its
``sourceFingerprint`` with the one it computes, so a cw snapshot carrying the
value CW wrote for the same state is one CW reads as valid.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURES

SNAPS = FIXTURES / "snapshots"


def _place(repo: Path, run_id: str, state: Path, snapshot: Path | None, head: Path | None = None) -> Path:
    d = repo / ".cw" / "runs" / run_id
    (d / "metrics").mkdir(parents=True)
    shutil.copy(state, d / "state.json")
    if head is not None:
        shutil.copy(head, d / "revenue.head.json")
    if snapshot is not None:
        shutil.copy(snapshot, d / "metrics" / "metrics-report.json")
    return d


def _freshness(cw) -> dict[str, str]:
    return {r["runId"]: r["freshness"] for r in cw.json("metrics", "summary")["runs"]}


def _edit(d: Path, fn) -> None:
    st = json.loads((d / "state.json").read_text())
    fn(st)
    (d / "state.json").write_text(json.dumps(st, indent=2) + "\n")


def _cw_run(repo: Path, with_cw_snapshot: bool = True) -> Path:
    return _place(
        repo,
        "cw-run",
        SNAPS / "cw-run.state.json",
        SNAPS / "cw-run.metrics-report.json" if with_cw_snapshot else None,
        SNAPS / "cw-run.revenue.head.json",
    )


def test_a_snapshot_cw_wrote_on_cws_run_reads_valid_in_cw(cw, repo):
    _cw_run(repo)
    assert _freshness(cw) == {"cw-run": "valid"}


def test_cws_snapshot_carries_cws_fingerprint_so_cw_reads_it_valid(cw, repo):
    d = _cw_run(repo)
    cw_written = json.loads((SNAPS / "cw-run.metrics-report.json").read_text())
    shown = cw.json("metrics", "show", "cw-run")
    ours = json.loads((d / "metrics" / "metrics-report.json").read_text())
    assert ours["sourceFingerprint"] == shown["sourceFingerprint"] == cw_written["sourceFingerprint"]
    assert ours["cwFingerprint"].startswith("sha256:") and ours["cwFingerprint"] != ours["sourceFingerprint"]
    assert _freshness(cw) == {"cw-run": "valid"}


def test_a_change_only_cw_sees_makes_cws_snapshot_stale_and_leaves_cws_fingerprint(cw, repo):
    d = _cw_run(repo)
    cw.ok("metrics", "show", "cw-run")
    before = json.loads((d / "metrics" / "metrics-report.json").read_text())
    _edit(d, lambda st: st.update(actor="mallory"))  # no updatedAt stamp: only cw's additions moved
    assert _freshness(cw) == {"cw-run": "stale"}
    after = cw.json("metrics", "show", "cw-run")
    assert after["sourceFingerprint"] == before["sourceFingerprint"]  # what CW computes is unchanged: valid in CW
    assert after["cwFingerprint"] != before["cwFingerprint"]


def test_a_snapshot_cw_wrote_is_judged_by_cws_fingerprint_alone(cw, repo):
    d = _cw_run(repo)
    _edit(d, lambda st: st.update(actor="mallory"))
    assert _freshness(cw) == {"cw-run": "valid"}  # it has no cwFingerprint: both tools agree


def test_a_change_cw_sees_makes_both_snapshots_stale(cw, repo):
    for writer in ("CW", "cw"):
        shutil.rmtree(repo / ".cw", ignore_errors=True)
        d = _cw_run(repo)
        if writer == "cw":
            cw.ok("metrics", "show", "cw-run")
        _edit(d, lambda st: st["tasks"][1].update(status="failed"))
        assert _freshness(cw) == {"cw-run": "stale"}, writer


def test_cws_snapshot_of_a_cw_run_equals_cws(cw, repo):
    cw_written = json.loads((SNAPS / "review.metrics-report.json").read_text())
    run_id = cw_written["runId"]
    d = _place(repo, run_id, FIXTURES / "cw-written" / "review.state.json", SNAPS / "review.metrics-report.json")
    assert _freshness(cw) == {run_id: "valid"}
    shown = cw.json("metrics", "show", run_id)
    assert shown["sourceFingerprint"] == cw_written["sourceFingerprint"]
    assert "cwFingerprint" not in shown  # no cw additions on CW's run
    assert (
        json.loads((d / "metrics" / "metrics-report.json").read_text())["sourceFingerprint"]
        == shown["sourceFingerprint"]
    )
    assert _freshness(cw) == {run_id: "valid"}
