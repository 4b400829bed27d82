"""The run-state verbs: success paths write CW's fields, refusals write nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import state_of, tree_bytes

from cw.core.state import REQUIRED_KEYS
from cw.shell.resources import schema

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _by_id(records, rid):
    return next(r for r in records if r["id"] == rid)


@pytest.fixture
def dispatched(cw, repo: Path) -> Path:
    cw.ok("run", "new", "--id", "r1", "--app", "triage", "--title", "Triage", "--actor", "alice")
    cw.ok("task", "add", "r1", "t1")
    cw.ok("task", "add", "r1", "t2", "--backend", "shell")
    cw.ok("dispatch", "r1")
    (repo / "out.md").write_text("# result\nall good\n")
    return repo


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "0", str(2**53 + 1)])
def test_a_token_budget_that_is_not_ascii_digits_up_to_2_53_is_a_usage_error(cw, repo, value):
    # "\u00b2" passed str.isdigit and then broke int() (exit 70); "\u0663" was stored as 3
    res = cw.fails(2, "run", "new", "--id", "r1", "--token-budget", value)
    assert res.stderr.startswith('cw: Invalid --token-budget "') and "internal error" not in res.stderr
    assert not (repo / ".cw" / "runs" / "r1").exists()


def test_run_new_writes_cw_format(cw, repo):
    out = cw.json(
        "run",
        "new",
        "--id",
        "r1",
        "--app",
        "triage",
        "--token-budget",
        "5000",
        "--cost-budget",
        "2.50",
        "USD",
        "--actor",
        "alice",
    )
    assert out["runId"] == "r1" and out["actor"] == "alice"
    st = state_of(repo, "r1")
    assert st["schemaVersion"] == 1
    for key in REQUIRED_KEYS:
        assert key in st, key
    assert st["workflow"]["app"] == {"id": "triage"}
    assert st["workflow"]["limits"]["tokenBudget"] == 5000
    assert st["budget"] == {"costBudget": {"amount": "2.50", "currency": "USD"}}
    assert st["paths"]["runDir"] == str(repo / ".cw" / "runs" / "r1")
    assert len(st["paths"]) == 16
    assert ISO_MS.match(st["createdAt"]) and st["createdAt"] == st["updatedAt"]
    jsonschema.validate(st, schema("state.schema.json"))


def test_run_new_mints_an_id(cw, repo):
    out = cw.json("run", "new", "--app", "nightly")
    assert re.match(r"^nightly-\d{8}T\d{6}Z-[0-9a-f]{6}$", out["runId"])
    listed = cw.json("run", "list")
    assert [r["runId"] for r in listed["runs"]] == [out["runId"]]


@pytest.mark.parametrize("bad", ["../x", "a/b", ".", "..", "with space", ""])
def test_unsafe_run_ids_are_refused(cw, repo, bad):
    res = cw.fails(2, "run", "new", "--id", bad)
    assert ("Invalid --id: the value is empty" if bad == "" else "Unsafe run id") in res.stderr
    assert not (repo / ".cw").exists() or tree_bytes(repo / ".cw") == {}


def test_duplicate_run_refused_and_untouched(cw, repo):
    cw.ok("run", "new", "--id", "r1")
    before = tree_bytes(repo)
    res = cw.fails(1, "run", "new", "--id", "r1")
    assert "already exists" in res.stderr
    assert tree_bytes(repo) == before


def test_show_and_list(cw, repo):
    cw.ok("run", "new", "--id", "r1", "--app", "a1")
    cw.ok("run", "new", "--id", "r2", "--app", "a2", "--actor", "bob")
    shown = cw.json("run", "show", "r1")
    assert shown["state"]["id"] == "r1" and shown["summary"]["lifecycle"] == "empty"
    listed = cw.json("run", "list", "--actor", "bob")
    assert [r["runId"] for r in listed["runs"]] == ["r2"]
    assert "r1" in cw.ok("run", "list").stdout
    res = cw.fails(1, "run", "show", "nope")
    assert res.stderr == "cw: Run not found: nope\n  Try: cw run list\n"


def test_dispatch_creates_workers(cw, dispatched):
    st = state_of(dispatched, "r1")
    t1, t2 = _by_id(st["tasks"], "t1"), _by_id(st["tasks"], "t2")
    assert t1["status"] == t2["status"] == "running"
    assert ISO_MS.match(t1["dispatchedAt"])
    w1 = _by_id(st["workers"], "worker-t1-0001")
    w2 = _by_id(st["workers"], "worker-t2-0001")
    assert w1["backendId"] == "node" and w2["backendId"] == "shell"
    assert w1["createdAt"] == t1["dispatchedAt"] and w1["taskId"] == "t1"
    res = cw.fails(1, "dispatch", "r1")
    assert "no pending tasks" in res.stderr


def test_result_records_like_cw(cw, dispatched):
    out = cw.json(
        "result",
        "r1",
        "t1",
        "out.md",
        "--usage-input-tokens",
        "1000",
        "--usage-output-tokens",
        "200",
        "--usage-model",
        "claude-opus-4-8",
        "--usage-source",
        "host-attested",
    )
    st = state_of(dispatched, "r1")
    w = _by_id(st["workers"], "worker-t1-0001")
    t = _by_id(st["tasks"], "t1")
    copy = dispatched / ".cw/runs/r1/workers/worker-t1-0001/result.md"
    assert copy.read_text() == "# result\nall good\n"
    assert out == w["output"]
    assert list(out) == [
        "workerId",
        "taskId",
        "resultPath",
        "recordedAt",
        "stateNodeId",
        "verifierNodeId",
        "auditEventIds",
    ]
    assert w["status"] == "verified" and t["status"] == "completed"
    assert t["completedAt"] == w["output"]["recordedAt"]
    node = _by_id(st["nodes"], "r1:verifier:t1")
    assert node["kind"] == "verifier" and node["status"] == "verified"
    assert t["usage"] == w["usage"]
    u = w["usage"]
    assert list(u)[:6] == ["schemaVersion", "source", "attestedAt", "model", "inputTokens", "outputTokens"]
    assert (u["inputTokens"], u["outputTokens"], u["model"], u["source"]) == (
        1000,
        200,
        "claude-opus-4-8",
        "host-attested",
    )
    assert u["actor"] == "alice"  # inherited from the run
    jsonschema.validate(u, schema("usage-record.schema.json"))
    # a repeated intake is refused unless --replace (cw's deliberate difference from CW); a replacement
    # without usage keeps the usage, as CW's re-intake does; nodes are upserted, not duplicated
    assert "--replace" in cw.fails(1, "result", "r1", "t1", "out.md").stderr
    cw.ok("result", "r1", "t1", "out.md", "--replace")
    st2 = state_of(dispatched, "r1")
    assert _by_id(st2["workers"], "worker-t1-0001")["usage"] == u
    assert [n["id"] for n in st2["nodes"]].count("r1:verifier:t1") == 1


def test_result_requires_a_dispatched_task(cw, repo):
    cw.ok("run", "new", "--id", "r1")
    cw.ok("task", "add", "r1", "t1")
    (repo / "out.md").write_text("x")
    res = cw.fails(1, "result", "r1", "t1", "out.md")
    assert "Unknown task id for run r1: t1" in res.stderr


def test_result_file_errors(cw, dispatched):
    before = tree_bytes(dispatched / ".cw")
    assert "Result file does not exist: missing.md" in cw.fails(1, "result", "r1", "t1", "missing.md").stderr
    assert "system directory: /etc/hostname" in cw.fails(1, "result", "r1", "t1", "/etc/hostname").stderr
    outside = dispatched.parent / "outside.md"
    outside.write_text("x")
    assert "outside the repo" in cw.fails(1, "result", "r1", "t1", str(outside)).stderr
    (dispatched / "link.md").symlink_to(outside)
    assert "outside the repo" in cw.fails(1, "result", "r1", "t1", "link.md").stderr
    assert tree_bytes(dispatched / ".cw") == before


USAGE_BAD = [
    ("--usage-input-tokens", "-5"),
    ("--usage-input-tokens", "1.5"),
    ("--usage-input-tokens", "0x10"),
    ("--usage-output-tokens", "1e3"),
    ("--usage-output-tokens", "abc"),
    ("--usage-total-tokens", " "),
    ("--usage-total-tokens", "9"),  # below the 10 input tokens given: would hide tokens from a token budget
    ("--usage-cache-read-tokens", "-1"),
    ("--usage-cache-write-tokens", "Infinity"),
    ("--usage-reasoning-tokens", "1_000"),
    ("--usage-cache-write-1h-tokens", "-3"),
    ("--usage-cache-write-1h-tokens", "2.5"),
    ("--usage-model", ""),
    ("--usage-model", "   "),
    ("--usage-source", "bogus"),
    ("--usage-attested-at", "yesterday"),
    ("--usage-attested-at", "2026-13-01T00:00:00Z"),
]


def test_a_total_below_input_plus_output_cannot_dodge_a_token_budget(cw, repo):
    cw.ok("run", "new", "--id", "b", "--token-budget", "1000")
    cw.ok("task", "add", "b", "t1")
    cw.ok("task", "add", "b", "t2")
    cw.ok("dispatch", "b", "t1")
    (repo / "o.md").write_text("x")
    used = ("--usage-input-tokens", "600", "--usage-output-tokens", "400")
    res = cw.fails(2, "result", "b", "t1", "o.md", *used, "--usage-total-tokens", "1")
    assert "--usage-total-tokens" in res.stderr and "600 input + 400 output" in res.stderr
    # a total equal to input + output (or above it: hosts count cache tokens too) is the host's figure
    cw.ok("result", "b", "t1", "o.md", *used, "--usage-total-tokens", "1000")
    assert cw.json("budget", "b")["tokenBudget"]["spent"] == 1000
    assert "budget" in cw.fails(1, "dispatch", "b", "t2").stderr


@pytest.mark.parametrize("flag,value", USAGE_BAD)
def test_bad_usage_is_exit_2_naming_the_flag_and_writes_nothing(cw, dispatched, flag, value):
    before = tree_bytes(dispatched / ".cw")
    res = cw("result", "r1", "t1", "out.md", "--usage-input-tokens", "10", f"{flag}={value}")
    assert res.exit_code == 2, res.stderr
    assert flag in res.stderr
    assert tree_bytes(dispatched / ".cw") == before


def test_all_usage_fields_are_stored(cw, dispatched):
    cw.ok(
        "result",
        "r1",
        "t1",
        "out.md",
        "--usage-input-tokens",
        "10",
        "--usage-output-tokens",
        "5",
        "--usage-total-tokens",
        "20",
        "--usage-cache-read-tokens",
        "3",
        "--usage-cache-write-tokens",
        "2",
        "--usage-reasoning-tokens",
        "4",
        "--usage-model",
        "m",
        "--usage-source",
        "operator-recorded",
        "--usage-attested-at",
        "2026-06-08T10:03:00.000Z",
        "--usage-note",
        "from the host",
    )
    u = _by_id(state_of(dispatched, "r1")["workers"], "worker-t1-0001")["usage"]
    assert u == {
        "schemaVersion": 1,
        "source": "operator-recorded",
        "attestedAt": "2026-06-08T10:03:00.000Z",
        "model": "m",
        "inputTokens": 10,
        "outputTokens": 5,
        "totalTokens": 20,
        "cacheReadTokens": 3,
        "cacheWriteTokens": 2,
        "reasoningTokens": 4,
        "note": "from the host",
        "actor": "alice",
    }


def test_one_hour_cache_writes_are_stored_as_part_of_all_cache_writes(cw, dispatched):
    cw.ok(
        "result",
        "r1",
        "t1",
        "out.md",
        "--usage-input-tokens",
        "10",
        "--usage-cache-write-tokens",
        "500",
        "--usage-cache-write-1h-tokens",
        "200",
    )
    u = _by_id(state_of(dispatched, "r1")["workers"], "worker-t1-0001")["usage"]
    assert (u["cacheWriteTokens"], u["cacheWrite1hTokens"]) == (500, 200)


@pytest.mark.parametrize(
    "extra,said",
    [
        (("--usage-cache-write-1h-tokens", "200"), "needs --usage-cache-write-tokens"),
        (("--usage-cache-write-tokens", "100", "--usage-cache-write-1h-tokens", "101"), "more than the 100"),
    ],
)
def test_one_hour_cache_writes_must_fit_in_the_cache_writes(cw, dispatched, extra, said):
    before = tree_bytes(dispatched / ".cw")
    res = cw("result", "r1", "t1", "out.md", "--usage-input-tokens", "10", *extra)
    assert res.exit_code == 2 and said in res.stderr and "--usage-cache-write-1h-tokens" in res.stderr
    assert tree_bytes(dispatched / ".cw") == before


def test_cache_flags_alone_create_no_record(cw, dispatched):
    cw.ok("result", "r1", "t1", "out.md", "--usage-cache-read-tokens", "30")
    assert "usage" not in _by_id(state_of(dispatched, "r1")["workers"], "worker-t1-0001")


def test_worker_output_with_usage_and_boundary(cw, dispatched):
    own = dispatched / ".cw/runs/r1/workers/worker-t2-0001/result.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("done")
    cw.ok("worker", "output", "r1", "worker-t2-0001", str(own), "--usage-input-tokens", "7", "--usage-model", "gpt-5")
    st = state_of(dispatched, "r1")
    w = _by_id(st["workers"], "worker-t2-0001")
    assert w["status"] == "verified" and w["usage"]["inputTokens"] == 7 and w["output"]["recordedAt"]
    # a file inside the repo but outside the worker's boundary rejects the worker, as CW does
    res = cw.fails(1, "worker", "output", "r1", "worker-t1-0001", "out.md")
    assert "boundary" in res.stderr
    st = state_of(dispatched, "r1")
    assert _by_id(st["workers"], "worker-t1-0001")["status"] == "rejected"
    assert _by_id(st["tasks"], "t1")["status"] == "failed"
    assert any(f["status"] == "open" and f["code"] == "sandbox-write-denied" for f in st["feedback"])


def test_worker_fail_and_outcomes(cw, dispatched):
    cw.ok("worker", "fail", "r1", "worker-t2-0001", "it crashed", "--code", "exit-1")
    cw.ok("worker", "fail", "r1", "worker-t1-0001", "escaped", "--code", "sandbox-write-denied")
    st = state_of(dispatched, "r1")
    assert _by_id(st["workers"], "worker-t2-0001")["status"] == "failed"
    assert _by_id(st["workers"], "worker-t1-0001")["status"] == "rejected"
    assert _by_id(st["tasks"], "t2")["status"] == "failed"
    assert [f["status"] for f in st["feedback"]] == ["open", "open"]
    cw.ok("feedback", "task", "r1", "feedback-0001")
    cw.ok("feedback", "resolve", "r1", "feedback-0001", "--node", "r1:verifier:t2")
    cw.ok("feedback", "reject", "r1", "feedback-0002", "--message", "not a bug")
    cw.ok("feedback", "open", "r1", "--message", "check the docs", "--task", "t1")
    assert [f["status"] for f in state_of(dispatched, "r1")["feedback"]] == ["resolved", "rejected", "open"]
    assert "already resolved" in cw.fails(1, "feedback", "task", "r1", "feedback-0001").stderr
    # a failed task can be dispatched again and gets the next worker
    manifest = cw.json("dispatch", "r1", "t2")
    assert manifest["tasks"][0]["workerId"] == "worker-t2-0002"


def test_verify_candidates_members(cw, dispatched):
    cw.ok("result", "r1", "t1", "out.md")
    for status in ("failed", "blocked", "committed"):
        cw.ok("verify", "r1", "t2", "--status", status)
    st = state_of(dispatched, "r1")
    assert _by_id(st["nodes"], "r1:verifier:t2")["status"] == "committed"
    assert "--status" in cw.fails(2, "verify", "r1", "t2", "--status", "great").stderr
    cw.ok("candidate", "register", "r1", "--worker", "worker-t1-0001")
    cw.ok("candidate", "register", "r1", "--task", "t2", "--id", "c2")
    cw.ok("candidate", "register", "r1", "--task", "t2", "--id", "c3")
    cw.ok("candidate", "select", "r1", "candidate-0001")
    cw.ok("candidate", "select", "r1", "c2")
    cw.ok("candidate", "reject", "r1", "c3", "--reason", "worse")
    st = state_of(dispatched, "r1")
    # verified when the candidate's verifier node is verified, else selected (CW)
    assert [c["status"] for c in st["candidates"]] == ["verified", "selected", "rejected"]
    assert st["feedback"][-1]["code"] == "candidate-rejected"
    assert "decisions are final" in cw.fails(1, "candidate", "select", "r1", "c3").stderr
    cw.ok("member", "add", "r1", "--agent", "reviewer-1", "--id", "m1")
    cw.ok("member", "set", "r1", "m1", "--status", "failed")
    assert (
        st["multiAgent"]["memberships"] == []
        and state_of(dispatched, "r1")["multiAgent"]["memberships"][0]["status"] == "failed"
    )


def test_every_verb_has_help(cw):
    from cw.capabilities import all_capabilities

    for cap in all_capabilities():
        res = cw.ok(*cap.path, "--help")
        assert cap.summary in res.stdout


def test_tasks_that_require_evidence_reject_free_text(cw, repo):
    cw.ok("run", "new", "--id", "r1")
    cw.ok("task", "add", "r1", "t1")
    cw.ok("task", "add", "r1", "t2")
    p = repo / ".cw/runs/r1/state.json"
    st = json.loads(p.read_text())
    for t in st["tasks"]:
        t["requiresEvidence"] = True  # set by CW's planner for some apps
    p.write_text(json.dumps(st))
    cw.ok("dispatch", "r1")
    (repo / "free.md").write_text('```cw:result\n{"summary":"s","findings":[],"evidence":["trust me"]}\n```\n')
    (repo / "good.md").write_text(
        '```cw:result\n{"summary":"s","findings":[],"evidence":["README.md:1", '
        '"https://example.org/x", "ticket:123"]}\n```\n'
    )
    res = cw.fails(1, "result", "r1", "t1", "free.md", "--usage-input-tokens", "5")
    assert "requires grounded cw:result evidence" in res.stderr
    st = state_of(repo, "r1")
    w1 = _by_id(st["workers"], "worker-t1-0001")
    assert w1["status"] == "rejected" and "usage" not in w1, "usage from a rejected call is dropped"
    assert _by_id(st["tasks"], "t1")["status"] == "failed" and st["feedback"][-1]["status"] == "open"
    cw.ok("result", "r1", "t2", "good.md")
    assert _by_id(state_of(repo, "r1")["tasks"], "t2")["status"] == "completed"
