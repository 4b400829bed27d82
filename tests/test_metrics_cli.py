"""`cw metrics show` and `cw metrics summary` through the CLI, against CW's own outputs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_fixture_run, state_of, tree_bytes

NOW = "2026-06-08T12:00:00.000Z"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
POLICIES = {
    "fixture_nopolicy": None,
    "fixture_exact": FIXTURES / "policy-exact.json",
    "fixture_default": FIXTURES / "policy-default-price.json",
}


def _pinned(report: dict) -> dict:
    fp = report["sourceFingerprint"]
    return {**report, "freshness": {"status": "valid", "persistedFingerprint": fp, "currentFingerprint": fp}}


def _cw_additions(got: dict, policy: Path | None) -> dict:
    """cw names the pricing policy it used (a key CW does not have); checked here, then set aside."""
    header = got.pop("pricingPolicy")
    assert header == {
        "name": str(policy) if policy else "none",
        "id": json.loads(policy.read_text())["id"] if policy else None,
        "from": "flag",
    }
    return got


def _cw_differences(key: str, report: dict) -> dict:
    """cw-compat §16 h: under policy EXACT cw reports unpriced, with the unpriced note."""
    if key != "fixture_exact":
        return report
    cost = dict(
        report["cost"],
        state="unpriced",
        notes=["Attested usage present but no policy entry (and no default) priced it; cost is unpriced."],
    )
    return {**report, "cost": cost}


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_show_matches_cw(cw, repo, key):
    copy_fixture_run(repo, "fixture-run")
    args = ["metrics", "show", "fixture-run", "--json", "--now", NOW]
    args += ["--pricing", str(POLICIES[key]) if POLICIES[key] else "none"]  # none: CW's default
    res = cw.ok(*args)
    got = _cw_additions(json.loads(res.stdout), POLICIES[key])
    assert got == _cw_differences(key, _pinned(EXPECTED[key]))
    assert type(got["cost"]["pricedCoverage"]) is type(EXPECTED[key]["cost"]["pricedCoverage"])
    snap = repo / ".cw/runs/fixture-run/metrics/metrics-report.json"
    assert snap.read_text() == res.stdout, "the snapshot holds exactly the --json bytes"
    assert stat.S_IMODE(snap.stat().st_mode) == 0o600


def test_show_text_matches_cw(cw, repo):
    copy_fixture_run(repo, "fixture-run")
    policy = POLICIES["fixture_default"]
    out = cw.ok("metrics", "show", "fixture-run", "--now", NOW, "--pricing", str(policy)).stdout
    extra = f"  pricing: {policy} (id test-default, from flag)\n"  # cw's one added line, after the cost line
    assert extra in out
    assert out.replace(extra, "") == EXPECTED["fixture_default_text"].replace("[absent]", "[valid]") + "\n"


def test_empty_run_and_format_flag(cw, repo):
    copy_fixture_run(repo, "empty-run")
    res = cw.ok("metrics", "show", "empty-run", "--format", "json", "--now", NOW, "--pricing", "none")
    assert _cw_additions(json.loads(res.stdout), None) == _pinned(EXPECTED["empty"])


def test_show_never_writes_state(cw, repo):
    d = copy_fixture_run(repo, "fixture-run")
    before = (d / "state.json").read_bytes()
    cw.ok("metrics", "show", "fixture-run", "--pricing", "default")
    assert (d / "state.json").read_bytes() == before


def test_show_errors(cw, repo):
    assert cw.fails(1, "metrics", "show", "nope").stderr == "cw: Run not found: nope\n  Try: cw run list\n"
    assert "Missing run id." in cw.fails(2, "metrics", "show").stderr
    assert "Unsafe run id" in cw.fails(2, "metrics", "show", "../x").stderr
    copy_fixture_run(repo, "fixture-run")
    missing = repo / "nope.json"
    assert cw.fails(1, "metrics", "show", "fixture-run", "--pricing", str(missing)).stderr.startswith(
        f"cw: Pricing policy file not found: {missing}"
    )
    (repo / "bad.json").write_text("{not json")
    assert cw.fails(1, "metrics", "show", "fixture-run", "--pricing", "bad.json").stderr.startswith(
        f"cw: Invalid JSON in {repo / 'bad.json'}: "
    )
    (repo / "wrong.json").write_text('{"schemaVersion": 2, "models": []}')
    assert cw.fails(1, "metrics", "show", "fixture-run", "--pricing", "wrong.json").stderr.startswith(
        f"cw: Invalid pricing policy (expected schemaVersion 1 + models[]): {repo / 'wrong.json'}"
    )
    (repo / "neg.json").write_text(
        '{"schemaVersion": 1, "models": [{"model": "m", "inputPerMillion": -1, "outputPerMillion": 1}]}'
    )
    err = cw.fails(1, "metrics", "show", "fixture-run", "--pricing", "neg.json").stderr
    assert "neg.json" in err and "models[0].inputPerMillion" in err
    # a bad run id wins over a bad pricing file, and nothing is written by a failed show
    assert "Run not found" in cw.fails(1, "metrics", "show", "ghost", "--pricing", "bad.json").stderr
    assert not (repo / ".cw/runs/fixture-run/metrics").exists()


def test_summary_freshness_valid_stale_absent(cw, repo):
    copy_fixture_run(repo, "fixture-run")
    copy_fixture_run(repo, "empty-run")
    fresh = {r["runId"]: r["freshness"] for r in cw.json("metrics", "summary", "--now", NOW)["runs"]}
    assert fresh == {"empty-run": "absent", "fixture-run": "absent"}
    cw.ok("metrics", "show", "fixture-run", "--pricing", "default")
    fresh = {r["runId"]: r["freshness"] for r in cw.json("metrics", "summary", "--now", NOW)["runs"]}
    assert fresh["fixture-run"] == "valid"
    st = state_of(repo, "fixture-run")
    st["tasks"][0]["status"] = "failed"
    (repo / ".cw/runs/fixture-run/state.json").write_text(json.dumps(st))
    fresh = {r["runId"]: r["freshness"] for r in cw.json("metrics", "summary", "--now", NOW)["runs"]}
    assert fresh["fixture-run"] == "stale"
    st["tasks"][0]["status"] = "completed"
    (repo / ".cw/runs/fixture-run/state.json").write_text(json.dumps(st))
    fresh = {r["runId"]: r["freshness"] for r in cw.json("metrics", "summary", "--now", NOW)["runs"]}
    assert fresh["fixture-run"] == "valid", "reverting the change restores valid"


def test_a_snapshot_written_by_cw_tool_reads_valid(cw, repo):
    d = copy_fixture_run(repo, "fixture-run")
    snap = d / "metrics" / "metrics-report.json"
    snap.parent.mkdir()
    snap.write_text(json.dumps(_pinned(EXPECTED["fixture_default"]), indent=2) + "\n")
    runs = cw.json("metrics", "summary", "--now", NOW)["runs"]
    assert runs[0]["freshness"] == "valid"
    cw.ok("task", "add", "fixture-run", "t-new")  # any write moves updatedAt
    assert cw.json("metrics", "summary", "--now", NOW)["runs"][0]["freshness"] == "stale"


def test_summary_home_scope_lists_unreadable_and_writes_nothing(cw, repo, tmp_path, isolated_home):
    other = tmp_path / "other"
    other.mkdir()
    copy_fixture_run(repo, "fixture-run")
    copy_fixture_run(other, "empty-run")
    bad = other / ".cw/runs/broken"
    bad.mkdir(parents=True)
    (bad / "state.json").write_text('{"schemaVersion": 99}')
    cw.ok("registry", "add", str(other))
    assert [r["root"] for r in cw.json("registry", "list")["repos"]] == [str(other)]
    before = tree_bytes(tmp_path)
    home_before = tree_bytes(isolated_home)
    out = cw.json("metrics", "summary", "--scope", "home", "--now", NOW, "--pricing", "default")
    assert tree_bytes(tmp_path) == before and tree_bytes(isolated_home) == home_before
    assert out["runCount"] == 2 and out["unreadableRuns"] == 1
    assert out["unreadable"] == [
        {
            "runId": "broken",
            "repo": str(other),
            "reason": "Unsupported CW run state: Run state schemaVersion 99 is newer than this CW runtime (1).",
        }
    ]
    assert {r["runId"]: r["repo"] for r in out["runs"]} == {"fixture-run": str(repo), "empty-run": str(other)}
    text = cw.ok("metrics", "summary", "--scope", "home", "--now", NOW).stdout
    assert "runs=2 (+1 unreadable)" in text.splitlines()[0]
    assert f"  unreadable broken ({other}): Unsupported CW run state" in text
    # repo scope sees only this repo
    assert cw.json("metrics", "summary", "--now", NOW)["runCount"] == 1
    cw.ok("registry", "remove", str(other))
    assert cw.json("metrics", "summary", "--scope", "home", "--now", NOW)["runCount"] == 1


def test_corrupt_home_registry_fails_closed(cw, repo, isolated_home):
    f = isolated_home / "registry" / "repos.json"
    f.parent.mkdir(parents=True)
    f.write_text("{oops")
    assert cw.fails(1, "metrics", "summary", "--scope", "home").stderr.startswith(f"cw: Invalid JSON in {f}: ")
    f.write_text("[]")
    assert cw.fails(1, "metrics", "summary", "--scope", "home").stderr == (
        f"cw: Corrupt overlay {f}: expected a JSON object, got array\n"
    )


def _run_at(repo: Path, rid: str, created: str) -> None:
    d = repo / ".cw/runs" / rid
    d.mkdir(parents=True)
    (d / "state.json").write_text(
        json.dumps(
            {
                "schemaVersion": 1,
                "id": rid,
                "createdAt": created,
                "updatedAt": created,
                "workflow": {"id": "w"},
                "paths": {},
            }
        )
    )


def test_limit_keeps_the_newest(cw, repo):
    for i in range(5):
        _run_at(repo, f"r{i}", f"2026-06-0{i + 1}T00:00:00.000Z")
    out = cw.json("metrics", "summary", "--limit", "2")
    assert [r["runId"] for r in out["runs"]] == ["r3", "r4"] and out["omittedRuns"] == 3
    out = cw.json("metrics", "summary", "--limit", "0")
    assert [r["runId"] for r in out["runs"]] == ["r4"] and out["omittedRuns"] == 4
    out = cw.json("metrics", "summary", "--limit=2.7")
    assert out["runCount"] == 2
    assert cw.json("metrics", "summary")["omittedRuns"] == 0
    assert cw.fails(2, "metrics", "summary", "--limit", "abc").stderr.startswith(
        'cw: Invalid --limit "abc": expected a number (e.g. --limit 4)'
    )
    assert cw.fails(2, "metrics", "summary", "--limit=").stderr.startswith(
        "cw: Invalid --limit: the value is empty; give a value or leave the flag out."
    )


def test_zero_runs_is_not_an_error(cw, repo):
    out = cw.json("metrics", "summary", "--now", NOW)
    assert out["runCount"] == 0 and out["cost"]["state"] == "unreported" and out["usage"]["coverage"] is None
    assert out["rates"]["failure"] == {
        "metric": "failure",
        "state": "n/a",
        "count": None,
        "total": 0,
        "rate": None,
        "buckets": {},
    }
    assert not (repo / ".cw").exists()


def test_live_run_metrics(cw, repo):
    """CW's live check (§11 item 18), through cw's verbs."""
    cw.ok("run", "new", "--id", "live", "--app", "architecture-review")
    cw.ok("task", "add", "live", "t0")
    cw.ok("dispatch", "live")
    (repo / "r.md").write_text('```cw:result\n{"summary":"s","findings":[],"evidence":["x"]}\n```\n')
    cw.ok(
        "result",
        "live",
        "t0",
        "r.md",
        "--usage-input-tokens",
        "1000",
        "--usage-output-tokens",
        "200",
        "--usage-model",
        "claude-opus-4-8",
        "--usage-source",
        "host-attested",
    )
    m = cw.json("metrics", "show", "live", "--pricing", "none")
    assert m["usage"]["attestedUnits"] == 1 and m["usage"]["inputTokens"] == 1000
    assert m["cost"]["state"] == "unpriced"
    priced = cw.json("metrics", "show", "live", "--pricing", "default")
    # claude-opus-4-8 at the bundled 5/25: 1000*5e-6 + 200*25e-6
    assert priced["cost"]["state"] == "attested" and priced["cost"]["attestedUsd"] == 0.01
