"""The derived-results cache ($XDG_CACHE_HOME/cw): same bytes as a full derivation, never a stale answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, copy_fixture_run, tree_bytes

from cw.capabilities import reports
from cw.shell import derived_cache, fastload

NOW = "2026-11-22T12:00:00.000Z"


@pytest.fixture(autouse=True)
def no_fresh_window(monkeypatch):
    """Files written by the test are milliseconds old; the same-tick guard would keep every result out."""
    monkeypatch.setattr(derived_cache, "FRESH_NS", 0)


@pytest.fixture
def reads(monkeypatch) -> dict[str, int]:
    """How many times the summary read each run's state.json."""
    counts: dict[str, int] = {}
    real = fastload.read_summary_state_core

    def counting(d: Path):
        counts[d.name] = counts.get(d.name, 0) + 1
        return real(d)

    monkeypatch.setattr(reports, "read_summary_state_core", counting)
    return counts


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


def _cache_dir() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "cw"


def _drop_pooled() -> None:
    """Remove the pooled payloads, so a summary goes to the per-run records."""
    for p in _cache_dir().rglob("*.payload"):
        p.unlink()


def _runs(text: str) -> dict[str, dict]:
    return {r["runId"]: r for r in json.loads(text)["runs"]}


ARGS = ((), ("--pricing", "default"), ("--limit", "2", "--pricing", "default"), ("--limit", "1"))


def test_warm_summaries_equal_the_full_derivation_and_read_nothing(cw, repo, reads):
    _workspace(cw, repo)
    cw.ok("metrics", "show", "fixture-run", "--pricing", "default")  # one valid snapshot among absent ones
    for args in ARGS:
        cold = _summary(cw, "--no-cache", *args)
        assert not (_cache_dir() / "summary-v1").exists() or args != ARGS[0], "--no-cache writes nothing"
        first = _summary(cw, *args)
        reads.clear()
        warm = _summary(cw, *args)
        assert warm == first == cold, args
        assert reads == {}, f"a repeat summary read no run again ({args})"
    shutil.rmtree(_cache_dir())
    assert _summary(cw, "--pricing", "default") == _summary(cw, "--pricing", "default", "--no-cache")


def test_the_summary_writes_nothing_inside_the_repo(cw, repo):
    _workspace(cw, repo)
    before = tree_bytes(repo)
    _summary(cw, "--pricing", "default")
    _summary(cw, "--pricing", "default")
    assert tree_bytes(repo) == before
    packs = list(_cache_dir().rglob("*.pack"))
    assert packs and all(".cw" not in p.parts for p in packs)


def test_no_cache_neither_reads_nor_writes(cw, repo, reads):
    _workspace(cw, repo)
    _summary(cw)
    packs = {p: p.read_bytes() for p in _cache_dir().rglob("*.pack")}
    reads.clear()
    _summary(cw, "--no-cache")
    assert set(reads) == {"a", "fixture-run", "empty-run"}
    assert {p: p.read_bytes() for p in _cache_dir().rglob("*.pack")} == packs


def test_a_changed_run_is_derived_again(cw, repo, reads):
    _workspace(cw, repo)
    _summary(cw, "--pricing", "default")
    cw.ok("result", "a", "t2", "o.md", "--usage-input-tokens", "5000", "--usage-model", "claude-haiku-4-5")
    reads.clear()
    out = _summary(cw, "--pricing", "default")
    assert reads == {"a": 1}
    assert _runs(out)["a"]["usage"]["inputTokens"] == 6000
    assert out == _summary(cw, "--pricing", "default", "--no-cache")


def test_a_replaced_or_touched_state_is_derived_again(cw, repo, reads):
    _workspace(cw, repo)
    _summary(cw)
    p = repo / ".cw/runs/a/state.json"
    data = p.read_bytes()
    tmp = p.with_name("copy")
    tmp.write_bytes(data)
    os.replace(tmp, p)  # the same bytes under a new inode
    reads.clear()
    _summary(cw)
    assert reads == {"a": 1}
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # touched: same bytes, same inode
    reads.clear()
    _summary(cw)
    assert reads == {"a": 1}
    # an edit that keeps the size, in place (same inode), is seen through mtime and ctime
    text = data.replace(b'"status": "completed"', b'"status": "failed   "', 1)
    assert len(text) == len(data) and text != data
    with open(p, "r+b") as f:
        f.write(text)
    reads.clear()
    out = _summary(cw)
    assert reads == {"a": 1}
    assert out == _summary(cw, "--no-cache")


def test_a_snapshot_written_by_show_is_seen(cw, repo):
    _workspace(cw, repo)
    assert _runs(_summary(cw, "--pricing", "default"))["a"]["freshness"] == "absent"
    cw.ok("metrics", "show", "a", "--pricing", "default")
    assert _runs(_summary(cw, "--pricing", "default"))["a"]["freshness"] == "valid"


def test_another_policy_is_never_served_from_the_cache(cw, repo, tmp_path):
    _workspace(cw, repo)
    default = _summary(cw, "--pricing", "default")
    assert _runs(_summary(cw, "--pricing", "none"))["a"]["cost"]["state"] == "unpriced"  # not the cached, priced figure
    bundled = REPO_ROOT / "manifest" / "pricing.policy.json"
    pol = json.loads(bundled.read_text())
    (haiku,) = [m for m in pol["models"] if m["model"] == "claude-haiku-4-5"]
    haiku["inputPerMillion"] = 7
    other = tmp_path / "other.json"
    other.write_text(json.dumps(pol))
    got = _summary(cw, "--pricing", str(other))
    assert got == _summary(cw, "--pricing", str(other), "--no-cache")
    assert _runs(got)["a"]["cost"] != _runs(default)["a"]["cost"]


def test_a_tampered_ledger_is_never_served_from_the_cache(cw, repo):
    _workspace(cw, repo)
    assert json.loads(_summary(cw, "--pricing", "default"))["unreadable"] == []
    head = repo / ".cw/runs/a/revenue.head.json"
    head.unlink()
    head.write_text('{"schemaVersion": 1, "runId": "a", "entries": 5, "hash": "sha256:00"}')
    out = json.loads(_summary(cw, "--pricing", "default"))
    assert [u["runId"] for u in out["unreadable"]] == ["a"]
    head.unlink()  # the head gone: whatever the full derivation says, not what was cached
    assert _summary(cw, "--pricing", "default") == _summary(cw, "--pricing", "default", "--no-cache")


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\x82\xa4repo\xa1x\xa4runs\x80"])
def test_a_damaged_pack_is_ignored_and_rewritten(cw, repo, reads, damage):
    _workspace(cw, repo)
    want = _summary(cw, "--pricing", "default")
    (pack,) = _cache_dir().rglob("*.pack")
    pack.write_bytes(damage)
    _drop_pooled()
    reads.clear()
    assert _summary(cw, "--pricing", "default") == want
    assert len(reads) == 3
    _drop_pooled()
    reads.clear()
    assert _summary(cw, "--pricing", "default") == want
    assert reads == {}, "the pack was rewritten"


def test_a_damaged_record_is_derived_again(cw, repo, reads):
    _workspace(cw, repo)
    want = _summary(cw, "--pricing", "default")
    (pack,) = _cache_dir().rglob("*.pack")
    doc = derived_cache._pack_decoder.decode(pack.read_bytes())
    doc.runs["a"] = derived_cache.msgspec.Raw(derived_cache._encoder.encode(["not", "a", "record"]))
    pack.write_bytes(derived_cache._encoder.encode(doc))
    _drop_pooled()
    reads.clear()
    assert _summary(cw, "--pricing", "default") == want
    assert reads == {"a": 1}


def test_a_pooled_payload_serves_only_the_same_runs_at_any_now(cw, repo, reads):
    _workspace(cw, repo)
    _summary(cw, "--pricing", "default")
    assert len(list(_cache_dir().rglob("*.payload"))) == 1
    reads.clear()
    later = cw.ok("metrics", "summary", "--json", "--now", "2027-01-01T00:00:00.000Z", "--pricing", "default").stdout
    assert reads == {}
    assert (
        later
        == cw.ok(
            "metrics", "summary", "--json", "--now", "2027-01-01T00:00:00.000Z", "--pricing", "default", "--no-cache"
        ).stdout
    )
    copy_fixture_run(repo, "fixture-run", "new-run")  # one more run: another set of runs
    reads.clear()
    out = _summary(cw, "--pricing", "default")
    assert reads == {"new-run": 1}
    assert out == _summary(cw, "--pricing", "default", "--no-cache")
    assert _summary(cw, "--pricing", "default", "--limit", "1") == _summary(
        cw, "--pricing", "default", "--limit", "1", "--no-cache"
    )


def test_runs_read_in_forked_processes_are_kept_and_served_back(cw, repo, reads, monkeypatch):
    """Results derived in forked processes are kept and served back exactly."""
    _workspace(cw, repo)
    for i in range(6):
        copy_fixture_run(repo, "fixture-run", f"copy-{i}")
    want = _summary(cw, "--pricing", "default", "--no-cache")
    monkeypatch.setattr(reports, "_processes", lambda n: 2)
    assert _summary(cw, "--pricing", "default") == want  # derived in two processes, then kept
    monkeypatch.setattr(reports, "_processes", lambda n: 1)
    reads.clear()
    assert _summary(cw, "--pricing", "default") == want and reads == {}  # the pooled payload
    _drop_pooled()
    assert _summary(cw, "--pricing", "default") == want and reads == {}  # each run's record


def test_a_limited_summary_is_reused_until_a_run_it_read_or_ranked_changes(cw, repo, reads):
    """With --limit leaving runs out, the pooled payload rests on every listed state.json (ranking) and on
    every file of the runs read whole (a kept run's snapshot, say), and on nothing of the runs left out."""
    _workspace(cw, repo)
    copy_fixture_run(repo, "fixture-run", "old-run")
    args = ("--pricing", "default", "--limit", "1")
    first = _summary(cw, *args)
    (kept,) = _runs(first)
    assert kept == "a" and json.loads(first)["omittedRuns"] == 3
    reads.clear()
    assert _summary(cw, *args) == first and reads == {}
    cw.ok("metrics", "show", "fixture-run", "--pricing", "default")  # a snapshot for a run left out: no change
    reads.clear()
    assert _summary(cw, *args) == first and reads == {}
    cw.ok("metrics", "show", "a", "--pricing", "default")  # the kept run's snapshot: its freshness moves
    out = _summary(cw, *args)
    assert _runs(out)["a"]["freshness"] == "valid" and out == _summary(cw, *args, "--no-cache")
    p = repo / ".cw/runs/old-run/state.json"  # a run left out now opens with a newer createdAt: it ranks first
    doc = json.loads(p.read_text())
    doc["createdAt"] = "2099-01-01T00:00:00.000Z"
    p.write_text(json.dumps(doc, indent=2))
    out = _summary(cw, *args)
    assert [r.get("runDir") for r in json.loads(out)["runs"]] == ["old-run"]
    assert out == _summary(cw, *args, "--no-cache")


@pytest.mark.parametrize("damage", [b"", b"\x93\xa1x\xa1y\x80", b"\x00"])
def test_a_damaged_payload_is_ignored_and_rewritten(cw, repo, damage):
    _workspace(cw, repo)
    want = _summary(cw, "--pricing", "default")
    (p,) = _cache_dir().rglob("*.payload")
    p.write_bytes(damage)
    assert _summary(cw, "--pricing", "default") == want
    assert p.read_bytes() != damage


def test_a_run_whose_verdict_needs_other_files_keeps_nothing_pooled(cw, repo, reads):
    _workspace(cw, repo)
    bare = repo / ".cw" / "runs" / "bare"
    bare.mkdir()
    (bare / "state.json").write_text(json.dumps({"schemaVersion": 1, "id": "bare", "tasks": []}))
    (bare / "tasks").mkdir()
    first = _summary(cw)
    assert not list(_cache_dir().rglob("*.payload"))
    reads.clear()
    assert _summary(cw) == first
    assert reads == {"bare": 1}, "read again: the data-loss guard looks at its directories"
    (bare / "tasks" / "t.json").write_text("{}")  # now the guard refuses it
    out = _summary(cw)
    assert out != first and out == _summary(cw, "--no-cache")
    assert [u["runId"] for u in json.loads(out)["unreadable"]] == ["bare"]


def test_the_cache_stays_bounded(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    for i in range(12):
        p = root / f"{i:02d}.pack"
        p.write_bytes(b"x" * 100)
        os.utime(p, ns=(i * 10**9, i * 10**9))
    derived_cache.prune(root, max_packs=5, max_bytes=10**6)
    assert sorted(p.name for p in root.iterdir()) == [f"{i:02d}.pack" for i in range(7, 12)]
    derived_cache.prune(root, max_packs=50, max_bytes=250)
    assert sorted(p.name for p in root.iterdir()) == ["10.pack", "11.pack"]


def test_where_the_cache_lives():
    root = derived_cache.cache_root
    assert root({"XDG_CACHE_HOME": "/x/cache", "HOME": "/h"}) == Path("/x/cache/cw")
    assert root({"HOME": "/h"}) == Path("/h/.cache/cw")
    assert root({"XDG_CACHE_HOME": "relative", "HOME": "/h"}) == Path("/h/.cache/cw")
    assert root({"XDG_CACHE_HOME": "/r/.cw/cache", "HOME": "/h"}) is None  # never inside a repo's .cw/
    assert root({"HOME": "/h", "CW_NO_CACHE": "1"}) is None
    assert root({}) is None


def test_files_written_within_the_same_tick_are_not_kept(cw, repo, reads, monkeypatch):
    monkeypatch.setattr(derived_cache, "FRESH_NS", 3600 * 10**9)
    _workspace(cw, repo)
    _summary(cw)
    reads.clear()
    _summary(cw)
    assert set(reads) == {"a", "fixture-run", "empty-run"}


def test_concurrent_summaries_agree(cw, repo):
    """Several summaries at once, cold and warm: the same bytes each time, and a pack that still decodes."""
    _workspace(cw, repo)
    for i in range(6):
        copy_fixture_run(repo, "fixture-run", f"copy-{i}")
    want = _summary(cw, "--pricing", "default", "--no-cache")
    time.sleep(2.1)  # past the same-tick guard, which the children keep
    cmd = [sys.executable, "-m", "cw", "metrics", "summary", "--json", "--now", NOW, "--pricing", "default"]
    for _ in range(2):
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=repo) for _ in range(4)]
        outs = [p.communicate()[0].decode() for p in procs]
        assert all(p.returncode == 0 for p in procs)
        assert outs == [want] * 4
    (pack,) = _cache_dir().rglob("*.pack")
    assert len(derived_cache._pack_decoder.decode(pack.read_bytes()).runs) == 9
    assert not list(_cache_dir().rglob("*.tmp"))


def _policy_load(policy: str, cwd: Path) -> tuple[int, bool, str]:
    """Load ``policy`` in a fresh interpreter: (exit code, whether jsonschema was imported, stderr)."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from cw.model.errors import CwError\n"
        "from cw.shell.policies import load_pricing_policy\n"
        "try:\n"
        f"    load_pricing_policy({policy!r}, Path('.'))\n"
        "    rc = 0\n"
        "except CwError as exc:\n"
        "    print(exc.message, file=sys.stderr)\n"
        "    rc = 1\n"
        "print('jsonschema' in sys.modules)\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)
    return out.returncode, out.stdout.strip() == "True", out.stderr


def test_reading_a_policy_needs_no_schema_validator(tmp_path):
    """The core's checks are as strict as the schema (tests/test_pricing.py): no jsonschema, nothing cached."""
    pol = json.loads((REPO_ROOT / "manifest" / "pricing.policy.json").read_text())
    (tmp_path / "p.json").write_text(json.dumps(pol))
    assert _policy_load("p.json", tmp_path)[:2] == (0, False)
    assert _policy_load("p.json", tmp_path)[:2] == (0, False)
    assert not _cache_dir().exists() or not list(_cache_dir().iterdir())


def test_a_policy_the_schema_refuses_is_refused_by_the_core_every_time(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"schemaVersion": 1, "id": "p", "models": [], "description": 5}))
    first = _policy_load("p.json", tmp_path)
    assert first[:2] == (1, False) and "Invalid pricing policy" in first[2] and "description" in first[2]
    assert _policy_load("p.json", tmp_path) == first
