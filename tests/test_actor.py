"""Actor provenance: cron wins over claims, then --actor, CW_ACTOR, unattributed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import state_of

from cw.core.actor import resolve_actor
from cw.model.errors import UsageError


@pytest.mark.parametrize(
    "env,claimed,expected",
    [
        ({}, None, ("unattributed", None)),
        ({"CW_ACTOR": "svc-a"}, None, ("svc-a", None)),
        ({"CW_ACTOR": "svc-a"}, "alice", ("alice", None)),
        ({"CW_CRON_NAME": "nightly"}, None, ("cron:nightly", None)),
        ({"CW_CRON_NAME": "nightly"}, "alice", ("cron:nightly", "alice")),
        ({"CW_CRON_NAME": "nightly", "CW_ACTOR": "svc"}, None, ("cron:nightly", None)),
        ({"WORKLOFT_CRON_JOB_NAME": "digest"}, "bob", ("cron:digest", "bob")),
        ({"WORKLOFT_CRON_NAME": "sync"}, None, ("cron:sync", None)),
        ({"CW_CRON_NAME": "  "}, None, ("unattributed", None)),
        ({"CW_CRON_NAME": "nightly"}, "cron:nightly", ("cron:nightly", None)),
    ],
)
def test_resolve_actor(env, claimed, expected):
    assert resolve_actor(env, claimed) == expected


@pytest.mark.parametrize("bad", ["", "has space", "x" * 201, "tab\there"])
def test_bad_actor_refused(bad):
    with pytest.raises(UsageError):
        resolve_actor({}, bad)


def test_cron_env_attributes_run_and_usage(cw, repo):
    env = {"CW_CRON_NAME": "nightly-triage"}
    cw.ok("run", "new", "--id", "r1", "--actor", "alice", env=env)
    cw.ok("task", "add", "r1", "t1", env=env)
    cw.ok("dispatch", "r1", env=env)
    (repo / "o.md").write_text("x")
    cw.ok("result", "r1", "t1", "o.md", "--usage-input-tokens", "5", "--actor", "mallory", env=env)
    st = state_of(repo, "r1")
    assert (st["actor"], st["claimedActor"]) == ("cron:nightly-triage", "alice")
    usage = st["workers"][0]["usage"]
    assert (usage["actor"], usage["claimedActor"]) == ("cron:nightly-triage", "mallory")


def test_cron_run_wrapper_sets_env_and_returns_exit_code(repo):
    cw_bin = [sys.executable, "-m", "cw"]
    rc = subprocess.run(
        [
            *cw_bin,
            "cron-run",
            "nightly",
            "--",
            sys.executable,
            "-c",
            "import os,sys; print(os.environ['CW_CRON_NAME']); sys.exit(3)",
        ],
        capture_output=True,
        text=True,
    )
    assert rc.returncode == 3 and rc.stdout.strip() == "nightly"
    made = subprocess.run(
        [*cw_bin, "cron-run", "nightly", "--", *cw_bin, "run", "new", "--id", "r9", "--json"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert state_of(repo, "r9")["actor"] == "cron:nightly"
    bad = subprocess.run([*cw_bin, "cron-run", "bad name", "--", "true"], capture_output=True, text=True)
    assert bad.returncode == 2 and "cron job name" in bad.stderr


def test_parent_from_environment(cw, repo):
    cw.ok("run", "new", "--id", "root")
    cw.ok("run", "new", "--id", "child", env={"CW_PARENT_RUN": "root"})
    assert state_of(repo, "child")["parentRunIds"] == ["root"]
    assert "Parent run not found" in cw.fails(1, "run", "new", "--id", "x", "--parent", "ghost").stderr
    assert "own parent" in cw.fails(1, "run", "new", "--id", "y", "--parent", "y").stderr
