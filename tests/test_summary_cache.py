"""The summary's warm path (metrics/summary-cache.json) gives exactly the bytes of the full derivation."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import copy_fixture_run

NOW = "2026-11-22T12:00:00.000Z"


def _workspace(cw, repo: Path) -> None:
    copy_fixture_run(repo, "fixture-run")
    copy_fixture_run(repo, "empty-run")
    cw.ok("run", "new", "--id", "a", "--app", "x", "--actor", "alice")
    for t in ("t1", "t2"):
        cw.ok("task", "add", "a", t, "--backend", "shell")
    cw.ok("dispatch", "a")
    (repo / "o.md").write_text("ok")
    cw.ok(
        "result",
        "a",
        "t1",
        "o.md",
        "--usage-input-tokens",
        "1000",
        "--usage-output-tokens",
        "10",
        "--usage-model",
        "claude-haiku-4-5",
    )
    cw.ok("revenue", "add", "a", "10.00", "USD", "--ref", "I-1")


def _summary(cw, *extra: str) -> str:
    return cw.ok("metrics", "summary", "--json", "--now", NOW, *extra).stdout


def _caches(repo: Path) -> list[Path]:
    return sorted(repo.glob(".cw/runs/*/metrics/summary-cache.json"))


def test_cached_summary_equals_the_full_derivation(cw, repo):
    _workspace(cw, repo)
    for rid in ("fixture-run", "empty-run", "a"):
        cw.ok("metrics", "show", rid, "--pricing", "default")
    assert len(_caches(repo)) == 3
    for args in ((), ("--pricing", "default"), ("--limit", "2", "--pricing", "default")):
        warm = _summary(cw, *args)
        for c in _caches(repo):
            c.rename(c.with_suffix(".off"))
        cold = _summary(cw, *args)
        for c in sorted(repo.glob(".cw/runs/*/metrics/summary-cache.off")):
            c.rename(c.with_suffix(".json"))
        assert warm == cold, args
    assert {r["freshness"] for r in json.loads(warm)["runs"]} == {"valid"}


def test_a_changed_run_is_never_served_from_the_cache(cw, repo):
    _workspace(cw, repo)
    cw.ok("metrics", "show", "a", "--pricing", "default")
    cw.ok("result", "a", "t2", "o.md", "--usage-input-tokens", "5000", "--usage-model", "claude-haiku-4-5")
    run = {r["runId"]: r for r in json.loads(_summary(cw, "--pricing", "default"))["runs"]}["a"]
    assert run["freshness"] == "stale" and run["usage"]["inputTokens"] == 6000
    # a hand edit of the state (same tool, new bytes) is seen too
    cw.ok("metrics", "show", "a", "--pricing", "default")
    p = repo / ".cw/runs/a/state.json"
    st = json.loads(p.read_text())
    st["tasks"][0]["status"] = "failed"
    p.write_text(json.dumps(st))
    run = {r["runId"]: r for r in json.loads(_summary(cw, "--pricing", "default"))["runs"]}["a"]
    assert run["freshness"] == "stale"


def test_a_tampered_ledger_is_never_served_from_the_cache(cw, repo):
    _workspace(cw, repo)
    cw.ok("metrics", "show", "a", "--pricing", "default")
    head = repo / ".cw/runs/a/revenue.head.json"
    head.unlink()
    head.write_text('{"schemaVersion": 1, "runId": "a", "entries": 5, "hash": "sha256:00"}')
    out = json.loads(_summary(cw, "--pricing", "default"))
    assert [u["runId"] for u in out["unreadable"]] == ["a"]


def test_another_pricing_policy_is_derived_not_cached(cw, repo):
    _workspace(cw, repo)
    cw.ok("metrics", "show", "a", "--pricing", "default")
    run = {r["runId"]: r for r in json.loads(_summary(cw, "--pricing", "none"))["runs"]}["a"]
    assert run["cost"]["state"] == "unpriced"  # no policy: not the cached, priced figure
