"""Containment: nothing a caller passes makes cw read or write outside the repo it works in.

Run ids (on every verb that takes one), task, worker and other record ids,
result file paths and ``--cwd`` are checked with path traversal (``../``),
absolute paths and symlinks pointing out of the repo, including a symlinked
run directory and a symlinked ``.cw/runs``: each is refused with a clear
``cw:`` message and no file outside the repo (nor inside it) changes. The
workbench answers only local Host headers (403 otherwise) and only GET (405
for every other method), never serves a file by path, and reads only the
repos of its scope.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import tree_bytes
from test_workbench import request, running

from cw.capabilities import all_capabilities
from cw.capabilities.table import Capability

BAD_RUN_IDS = [
    "../x",
    "../../outside/victim",
    "/tmp/abs",
    "a/b",
    "..",
    ".",
    "",
    "x\x00y",
    "run\\..\\x",
    "ｒun",
    "run id",
    "\nr",
]
# a filler value for each parameter a verb requires
FILL = {
    "run_id": "r",
    "task_id": "t1",
    "worker_id": "worker-t1-0001",
    "file": "res.md",
    "message": "m",
    "target": "t1",
    "candidate_id": "c1",
    "feedback_id": "feedback-0001",
    "member_id": "membership-0001",
    "amount": "5.00",
    "currency": "USD",
    "entry_id": "rev-0001",
    "reason": "x",
    "node": "n",
    "agent": "a",
    "ref": "R-1",
    "parent": "r",
    "path": ".",
}


@pytest.fixture
def world(cw, repo: Path, tmp_path: Path) -> dict[str, Path]:
    """A repo with run ``r`` (a dispatched task, a booking) and an ``outside`` directory beside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("outside secret\n")
    (outside / "victim").mkdir()
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "t1")
    cw.ok("dispatch", "r")
    (repo / "res.md").write_text("inside result\n")
    cw.ok("revenue", "add", "r", "10.00", "USD", "--ref", "INV-0")
    return {"repo": repo, "outside": outside, "top": tmp_path}


def _argv(cap: Capability, **given: str) -> list[str]:
    argv = list(cap.path)
    for p in cap.params:
        if p.positional and (p.required or p.name in given):
            argv.append(given.get(p.name, FILL.get(p.name, "x")))
    for p in cap.params:
        if not p.positional and (p.required or p.name in given):
            value = given.get(p.name, FILL.get(p.name) or (p.choices[0] if p.choices else "x"))
            argv += [p.flag, *(value if isinstance(value, list) else [value])]
    return argv


def _run_id_calls() -> list[tuple[str, Any]]:
    """(verb, how to put a run id in its argv) for every verb that names a run."""
    out = []
    for cap in all_capabilities():
        names = {p.name for p in cap.params}
        if "run_id" in names:
            out.append((cap.name, lambda rid, cap=cap: _argv(cap, run_id=rid)))
        if "run" in names:
            out.append((cap.name + " --run", lambda rid, cap=cap: _argv(cap, run=rid)))
        if "parent" in names:
            out.append((cap.name + " --parent", lambda rid, cap=cap: _argv(cap, parent=rid)))
        if cap.name == "run.new":
            out.append(("run.new --id", lambda rid, cap=cap: _argv(cap, id=rid)))
    return out


RUN_ID_CALLS = _run_id_calls()


def _refused(res, code: int | None = None) -> None:
    assert res.exit_code in ((code,) if code else (1, 2)), (res.exit_code, res.stdout, res.stderr)
    assert res.stdout == "" and res.stderr.startswith("cw: "), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("verb,make", RUN_ID_CALLS, ids=[v for v, _ in RUN_ID_CALLS])
def test_unsafe_run_ids_are_refused_by_every_verb(cw, world, verb, make):
    before = tree_bytes(world["top"])
    for bad in BAD_RUN_IDS:
        if bad == "" and verb.endswith("--run"):
            continue  # an empty --run filter means no filter
        res = cw(*make(bad))
        _refused(res, 2)
        if bad:  # an empty id is a missing one, with its own message
            assert "Unsafe" in res.stderr and "single path segment" in res.stderr, (verb, bad, res.stderr)
    assert tree_bytes(world["top"]) == before
    assert sorted(os.listdir(world["outside"] / "victim")) == []


@pytest.mark.parametrize("run,code,needle", [("../x", 2, "Unsafe run id"), ("ghost", 1, "Run not found: ghost")])
def test_ledger_verify_refuses_a_run_filter_it_cannot_check(cw, world, run, code, needle):
    res = cw("ledger", "verify", "--run", run, "--json")
    _refused(res, code)
    assert needle in res.stderr


@pytest.mark.parametrize(
    "argv,what",
    [
        (["task", "add", "r", "../t"], "task id"),
        (["task", "add", "r", "/tmp/t"], "task id"),
        (["dispatch", "r", "../../t"], "task id"),
        (["result", "r", "../t1", "res.md"], "task id"),
        (["worker", "output", "r", "../../outside/victim", "res.md"], "worker id"),
        (["worker", "fail", "r", "../w", "boom"], "worker id"),
        (["candidate", "register", "r", "--task", "t1", "--id", "../c"], "candidate id"),
        (["member", "add", "r", "--agent", "a", "--id", "../../m"], "membership id"),
        (["run", "new", "--app", "../../outside/victim"], "app id"),
    ],
)
def test_unsafe_record_ids_are_refused(cw, world, argv, what):
    before = tree_bytes(world["top"])
    res = cw(*argv)
    _refused(res, 2)
    assert f"Unsafe {what}" in res.stderr
    assert tree_bytes(world["top"]) == before


def test_unknown_record_ids_that_look_like_paths_are_just_not_found(cw, world):
    before = tree_bytes(world["top"])
    for argv in (
        ["feedback", "task", "r", "../../x"],
        ["candidate", "select", "r", "/etc/passwd"],
        ["member", "set", "r", "../m", "--status", "running"],
        ["verify", "r", "../t", "--status", "failed"],
        ["revenue", "reverse", "r", "../rev-0001", "--reason", "x"],
    ):
        _refused(cw(*argv), 1)
    assert tree_bytes(world["top"]) == before


def _result_paths(world: dict[str, Path]) -> list[tuple[str, str]]:
    repo, outside = world["repo"], world["outside"]
    (repo / "link.md").symlink_to(outside / "secret.md")
    (repo / "linkdir").symlink_to(outside)
    return [
        ("../outside/secret.md", "outside the repo"),
        (str(outside / "secret.md"), "outside the repo"),
        ("link.md", "outside the repo"),
        ("linkdir/secret.md", "outside the repo"),
        ("./sub/../../outside/secret.md", "outside the repo"),
        ("/etc/passwd", "system directory"),
        ("/proc/self/environ", "system directory"),
    ]


def test_result_files_outside_the_repo_are_refused(cw, world):
    paths = _result_paths(world)
    before = tree_bytes(world["top"])
    for verb in (["result", "r", "t1"], ["worker", "output", "r", "worker-t1-0001"]):
        for given, needle in paths:
            res = cw(*verb, given, "--usage-input-tokens", "1", "--usage-model", "m")
            _refused(res)
            assert needle in res.stderr, (verb, given, res.stderr)
    assert tree_bytes(world["top"]) == before
    # the same verbs accept a file inside the repo, by relative or absolute path
    cw.ok("result", "r", "t1", "res.md")
    cw.ok("result", "r", "t1", str(world["repo"] / "res.md"), "--replace")


@pytest.mark.parametrize("verb", [["result", "r", "t1"], ["worker", "output", "r", "worker-t1-0001"]])
def test_a_result_path_with_a_nul_byte_is_a_usage_error(cw, world, verb):
    before = tree_bytes(world["top"])
    res = cw(*verb, "res.md\x00.txt")
    assert tree_bytes(world["top"]) == before
    _refused(res, 2)
    assert "NUL" in res.stderr


@pytest.mark.parametrize(
    "argv", [["run", "new", "--id", "r\n"], ["task", "add", "r", "t\n"], ["run", "new", "--app", "app\n"]]
)
def test_an_id_with_a_trailing_newline_is_unsafe(cw, world, argv):
    before = tree_bytes(world["top"])
    res = cw(*argv)
    assert tree_bytes(world["top"]) == before
    _refused(res, 2)
    assert "Unsafe" in res.stderr


def test_cwd_must_be_an_existing_directory_and_bounds_the_files_read(cw, world, tmp_path):
    before = tree_bytes(world["top"])
    _refused(cw("task", "add", "r", "t2", "--cwd", "res.md"), 2)
    _refused(cw("run", "new", "--id", "n", "--cwd", "../does-not-exist"), 2)
    assert not (tmp_path / "does-not-exist").exists()
    # another repo is a legitimate --cwd, and then the result file must be inside *that* repo
    other = tmp_path / "other"
    other.mkdir()
    cw.ok("run", "new", "--id", "o", "--cwd", "../other")
    cw.ok("task", "add", "o", "t1", "--cwd", "../other")
    cw.ok("dispatch", "o", "--cwd", "../other")
    mid = tree_bytes(world["top"])
    res = cw("result", "o", "t1", "res.md", "--cwd", "../other")
    _refused(res, 1)
    assert "outside the repo" in res.stderr
    assert tree_bytes(world["top"]) == mid
    assert {k: v for k, v in mid.items() if not k.startswith("other/")} == before


def test_a_symlinked_run_directory_is_refused_by_readers_and_writers(cw, world):
    outside = world["outside"]
    target = outside / "evilrun"
    target.mkdir()
    (target / "state.json").write_bytes((world["repo"] / ".cw/runs/r/state.json").read_bytes())
    (world["repo"] / ".cw/runs/evil").symlink_to(target)
    before = tree_bytes(world["top"])
    for argv in (
        ["task", "add", "evil", "t9"],
        ["dispatch", "evil", "t1"],
        ["revenue", "add", "evil", "1.00", "USD", "--ref", "E"],
        ["run", "show", "evil"],
        ["metrics", "show", "evil"],
        ["budget", "evil"],
        ["run", "new", "--id", "evil"],
    ):
        res = cw(*argv)
        _refused(res, 1)
        assert "symbolic link" in res.stderr, (argv, res.stderr)
    assert "evil" not in [r["runId"] for r in cw.json("run", "list")["runs"]]
    assert tree_bytes(world["top"]) == before


@pytest.mark.parametrize("link", [".cw/runs", ".cw"])
def test_a_symlinked_runs_folder_sends_nothing_outside(cw, repo, tmp_path, link):
    outside = tmp_path / "outside"
    (outside / "runs" / "ext").mkdir(parents=True)
    (repo / ".cw").mkdir()
    if link == ".cw":
        (repo / ".cw").rmdir()
        (repo / ".cw").symlink_to(outside)
    else:
        (repo / ".cw" / "runs").symlink_to(outside / "runs")
    before = tree_bytes(outside)
    res = cw("run", "new", "--id", "x")
    assert tree_bytes(outside) == before and not (outside / "runs" / "x").exists(), "run new wrote outside the repo"
    _refused(res, 1)


@pytest.mark.parametrize("link", ["workers", "workers/worker-t1-0001"])
def test_a_symlinked_worker_directory_receives_no_result_copy(cw, world, link):
    outside = world["outside"] / "sink"
    outside.mkdir()
    run = world["repo"] / ".cw/runs/r"
    (run / "workers").mkdir(exist_ok=True)
    if (run / link).exists():
        (run / link).rmdir()
    (run / link).symlink_to(outside)
    res = cw("result", "r", "t1", "res.md")
    assert list(outside.rglob("*")) == [], "the result copy was written outside the repo"
    _refused(res, 1)


def test_a_symlinked_metrics_directory_receives_no_snapshot(cw, world):
    sink = world["outside"] / "sink"
    sink.mkdir()
    (world["repo"] / ".cw/runs/r/metrics").symlink_to(sink)
    res = cw("metrics", "show", "r")
    assert list(sink.iterdir()) == [], "the snapshot was written outside the repo"
    _refused(res, 1)


def test_symlinked_state_and_head_files_never_write_through_to_their_targets(cw, world):
    outside, run = world["outside"], world["repo"] / ".cw/runs/r"
    for name in ("state.json", "revenue.head.json"):
        (outside / name).write_bytes((run / name).read_bytes())
        (run / name).unlink()
        (run / name).symlink_to(outside / name)
    before = tree_bytes(outside)
    cw("revenue", "add", "r", "1.00", "USD", "--ref", "INV-1")
    cw("task", "add", "r", "t7")
    assert tree_bytes(outside) == before


# ---------------------------------------------------------------------------
# the workbench

STANDARD_METHODS = ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]
EXTENSION_METHODS = ["PROPFIND", "MKCOL", "LOCK", "FOO", "get"]


def test_workbench_refuses_foreign_hosts_whatever_the_method(world):
    before = tree_bytes(world["top"])
    with running() as server:
        for method in ["GET", *STANDARD_METHODS]:
            for host in ("evil.example", "127.0.0.1.nip.io", "[::2]", "localhost:99999"):
                status, _, body = request(server, "/api/run.show?runId=r", method=method, host=host, body=b"{}")
                assert status == 403, (method, host, status)
                assert b"INV-0" not in body
    assert tree_bytes(world["top"]) == before


def test_workbench_refuses_every_standard_write_method_and_writes_nothing(world):
    before = tree_bytes(world["top"])
    with running() as server:
        for method in STANDARD_METHODS:
            for path in ("/", "/api/revenue.add?runId=r&amount=1.00&currency=USD&ref=W", "/api/task.add", "/run/r"):
                status, headers, _ = request(
                    server, path, method=method, body=json.dumps({"runId": "r", "taskId": "w"}).encode()
                )
                assert status == 405 and headers["allow"] == "GET", (method, path, status)
        # a writer capability is not reachable by GET either
        assert request(server, "/api/task.add?runId=r&taskId=w")[0] == 404
    assert tree_bytes(world["top"]) == before


def test_workbench_refuses_extension_methods_with_405(world):
    with running() as server:
        for method in EXTENSION_METHODS:
            status, headers, _ = request(server, "/", method=method)
            assert (status, headers.get("allow")) == (405, "GET"), (method, status)
            assert request(server, "/", method=method, host="evil.example")[0] == 403, method


def test_workbench_serves_no_file_by_path(world):
    with running() as server:
        for path in (
            "/../../etc/passwd",
            "/assets/..%2F..%2F..%2Fpyproject.toml",
            "/assets/../../README.md",
            "/run/..%2F..%2Fetc%2Fpasswd",
            "/run/%2e%2e",
            "/run/r?repo=/etc",
            "/run/r?repo=..",
            "/api/run.show?runId=../../etc",
            "/api/run.show?runId=%2Fetc%2Fpasswd",
            "/api/metrics.show?runId=..%2F..%2Fx",
            "/api/revenue.list?run=../r",
        ):
            status, _, body = request(server, path)
            assert status in (400, 403, 404), (path, status)
            assert b"root:" not in body and b"[project]" not in body, path


def test_workbench_api_reads_only_the_repos_of_its_scope(cw, world, tmp_path):
    other = tmp_path / "private"
    other.mkdir()
    cw.ok("run", "new", "--id", "private-run", "--cwd", str(other))
    with running() as server:
        status, _, body = request(server, f"/api/run.list?cwd={other}")
        assert b"private-run" not in body
        assert status in (400, 403, 404)
