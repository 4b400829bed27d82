"""Every record cw writes carries every key CW's own writer gives the same record, so CW's verbs can act on it.

The expected keys come from runs the real CW wrote (``tests/fixtures/cw/cw-written``,
see its README): for each kind of record and status, the keys every CW record
of that kind and status has. cw builds the same records with its own verbs and
must have at least those keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, state_of

CW_RUNS = [json.loads(p.read_text()) for p in sorted((FIXTURES / "cw-written").glob("*.state.json"))]
RESULT = 'done\n```cw:result\n{"summary":"s","findings":[],"evidence":["README.md:1"]}\n```\n'

# Keys CW writes only in circumstances cw never has, with why.
NOT_EXPECTED = {
    # from the app's task definition (architecture-review-fast has them, end-to-end-golden-path has not)
    "tasks": {"label", "resultCache", "reviewsRepo"},
    # from `cw candidate score`, a verb cw does not have
    "candidateSelections": {"scoreId", "rankingPath", "acceptanceRationale"},
    # the id of CW's error state node for a worker failure; cw records no error nodes
    "feedback": {"nodeId"},
}


def _groups(records: list[Any], by_kind: bool) -> dict[tuple[Any, ...], list[set[str]]]:
    out: dict[tuple[Any, ...], list[set[str]]] = {}
    for r in records:
        key = (r.get("kind"), r.get("status")) if by_kind else (r.get("status"),)
        out.setdefault(key, []).append(set(r))
    return out


def expected_keys(collection: str, by_kind: bool = False) -> dict[tuple[Any, ...], set[str]]:
    """For each status (and kind), the keys every CW-written record of that status has."""
    found: dict[tuple[Any, ...], list[set[str]]] = {}
    for run in CW_RUNS:
        for key, sets in _groups(_records(run, collection), by_kind).items():
            found.setdefault(key, []).extend(sets)
    return {k: set.intersection(*v) - NOT_EXPECTED.get(collection, set()) for k, v in found.items()}


def _records(run: dict[str, Any], collection: str) -> list[Any]:
    if collection == "memberships":
        return run["multiAgent"]["memberships"]
    return run[collection]


@pytest.fixture
def cw_built(cw, repo: Path) -> dict[str, Any]:
    """A cw run with every kind of record, built with cw's verbs as §13 builds one with CW's."""
    (repo / "README.md").write_text("readme\n")
    (repo / "res.md").write_text(RESULT)
    cw.ok("run", "new", "--id", "r")
    for t in ("t1", "t2", "t3", "t4"):
        cw.ok("task", "add", "r", t)
    cw.ok("dispatch", "r", "t1", "t2", "t3")
    cw.ok("result", "r", "t1", "res.md", "--usage-input-tokens", "120", "--usage-model", "gpt-4.1")
    cw.ok("worker", "fail", "r", "worker-t2-0001", "it broke", "--code", "boom")
    own = repo / ".cw/runs/r/workers/worker-t3-0001"
    own.mkdir(parents=True, exist_ok=True)
    (own / "result.md").write_text(RESULT)
    cw.ok("worker", "output", "r", "worker-t3-0001", str(own / "result.md"))
    cw.ok("candidate", "register", "r", "--worker", "worker-t1-0001", "--id", "cand-a")
    cw.ok("candidate", "select", "r", "cand-a", "--reason", "best")
    cw.ok("candidate", "register", "r", "--task", "t1", "--kind", "manual", "--id", "cand-b")
    cw.ok("candidate", "reject", "r", "cand-b", "--reason", "worse")
    cw.ok("feedback", "task", "r", "feedback-0001")
    cw.ok("feedback", "resolve", "r", "feedback-0002", "--node", "r:verifier:t1", "--message", "fixed")
    cw.ok("member", "add", "r", "--agent", "a1")
    return state_of(repo, "r")


def test_the_fixture_has_every_kind_of_record():
    kinds = {c: set(expected_keys(c)) for c in ("tasks", "workers", "feedback", "candidates", "dispatches")}
    assert {("completed",), ("failed",), ("pending",)} <= kinds["tasks"]
    assert {("verified",), ("failed",)} <= kinds["workers"]
    assert {("tasked",), ("resolved",)} <= kinds["feedback"]
    assert {("verified",), ("rejected",)} <= kinds["candidates"]
    assert {("result", "completed"), ("verifier", "verified")} <= set(expected_keys("nodes", by_kind=True))


@pytest.mark.parametrize(
    "collection,by_kind",
    [
        ("tasks", False),
        ("workers", False),
        ("feedback", False),
        ("nodes", True),
        ("candidates", False),
        ("candidateSelections", False),
        ("dispatches", False),
    ],
)
def test_cw_records_carry_every_key_cw_gives_them(cw_built, collection, by_kind):
    expected = expected_keys(collection, by_kind)
    compared = 0
    for key, keys in _groups(_records(cw_built, collection), by_kind).items():
        if key not in expected:
            continue  # no CW record of that status to compare with
        for have in keys:
            missing = expected[key] - have
            assert not missing, f"cw's {collection} {key} lacks CW's keys {sorted(missing)}"
            compared += 1
    assert compared, f"no cw {collection} record had a CW counterpart"


def test_cw_runs_carry_every_top_level_key_and_cws_blackboard_and_multi_agent_shapes(cw_built):
    expected = set.intersection(*(set(r) for r in CW_RUNS))
    assert expected - set(cw_built) == set()
    for key in ("blackboard", "multiAgent", "topologies"):
        want = set.intersection(*(set(r[key]) for r in CW_RUNS))
        assert set(cw_built[key]) >= want, key
        for sub in want - {"schemaVersion"}:
            assert isinstance(cw_built[key][sub], list), f"{key}.{sub}"


def test_cw_memberships_carry_cws_list_fields(cw_built):
    """CW's memberships belong to groups and roles cw does not model; the fields CW reads as lists are there."""
    (m,) = cw_built["multiAgent"]["memberships"]
    for key in ("lifecycle", "evidenceRefs", "artifactPaths", "topicIds", "blackboardMessageIds"):
        assert isinstance(m[key], list), key
    assert m["schemaVersion"] == 1 and m["runId"] == "r" and isinstance(m["metadata"], dict)


def test_cw_defaults_are_cws(cw_built):
    """Values CW gives when nothing else is known: compared with the CW-written failed worker."""
    cw_worker = next(w for r in CW_RUNS for w in r["workers"] if w["status"] == "failed")
    ours = next(w for w in cw_built["workers"] if w["status"] == "failed")
    assert ours["sandboxProfileId"] == cw_worker["sandboxProfileId"] == "readonly"

    def without_paths(policy: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in policy.items() if k not in ("readPaths", "resolvedAt", "metadata")}

    assert without_paths(ours["sandboxPolicy"]) == without_paths(cw_worker["sandboxPolicy"])
    strip = ("recordedAt",)
    assert {k: v for k, v in ours["backendAttestation"].items() if k not in strip} == {
        k: v for k, v in cw_worker["backendAttestation"].items() if k not in strip
    }
    d = ours["workerDir"]
    assert ours["allowedPaths"] == [f"{d}/result.md", f"{d}/artifacts", f"{d}/logs"]
    fb = {f["code"]: f for f in cw_built["feedback"]}
    cw_fb = {f["code"]: f for r in CW_RUNS for f in r["feedback"]}
    for code in ("boom", "candidate-rejected"):  # CW's classification and severity for the same codes
        assert (fb[code]["classification"], fb[code]["severity"]) == (
            cw_fb[code]["classification"],
            cw_fb[code]["severity"],
        )
    assert cw_built["blackboard"] == next(r["blackboard"] for r in CW_RUNS)
