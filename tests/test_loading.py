"""Loading runs: CW's fixtures load as they are; bad state files are refused and never rewritten."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, copy_fixture_run, state_of, tree_bytes

from cw.core.state import REQUIRED_KEYS, normalize_state


@pytest.mark.parametrize("name", ["fixture-run", "empty-run"])
def test_cw_fixtures_load_as_they_are(cw, repo, name):
    d = copy_fixture_run(repo, name)
    before = (d / "state.json").read_bytes()
    shown = cw.json("run", "show", name)
    st = shown["state"]
    for key in REQUIRED_KEYS:
        assert key in st
    assert st["inputs"] == {} and st["dispatches"] == [] and st["commits"] == []
    # the stored runDir is kept; only missing path keys are filled from it
    stored = json.loads(before)["paths"]["runDir"]
    assert st["paths"]["runDir"] == stored
    assert st["paths"]["state"] == st["paths"]["runDir"] + "/state.json"
    assert (d / "state.json").read_bytes() == before, "reading never writes state.json"


def test_legacy_schema_version_0_migrates_in_memory(cw, repo):
    d = repo / ".cw/runs/old"
    d.mkdir(parents=True)
    doc = {
        "id": "old",
        "workflowId": "legacy-app",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "tasks": [{"id": "a", "status": "pending", "phase": "p1"}],
    }
    raw = json.dumps(doc).encode()
    (d / "state.json").write_bytes(raw)
    st = cw.json("run", "show", "old")["state"]
    assert st["schemaVersion"] == 1
    assert st["workflow"]["id"] == "legacy-app" and st["workflow"]["title"] == "Legacy App"
    assert st["updatedAt"] == "2026-01-01T00:00:00.000Z" and st["loopStage"] == "interpret"
    assert st["phases"] == [{"id": "p1", "title": "P1", "taskIds": ["a"]}]
    assert (d / "state.json").read_bytes() == raw


BAD_STATES = [
    (b'{"id": "x", "tasks": [', "Invalid JSON in {path}: "),
    (b"[1, 2]", "Unsupported CW run state: Run state must be a JSON object."),
    (
        b'{"schemaVersion": 99}',
        "Unsupported CW run state: Run state schemaVersion 99 is newer than this CW runtime (1).",
    ),
    (b'{"schemaVersion": -1}', "Unsupported CW run state: Unsupported run-state schemaVersion -1."),
    (
        b'{"schemaVersion": "1"}',
        "Unsupported CW run state: Run state schemaVersion invalid (string: 1) is newer than this CW runtime (1).",
    ),
    (
        b'{"schemaVersion": 1.5}',
        "Unsupported CW run state: Run state schemaVersion invalid (number: 1.5) is newer than this CW runtime (1).",
    ),
    (b'{"schemaVersion": 1, "tasks": "oops"}', "Unsupported CW run state: tasks must be an array when present."),
    (
        b'{"schemaVersion": 1, "tasks": "oops", "workflow": []}',
        "Unsupported CW run state: tasks must be an array when present.; workflow must be an object when present.",
    ),
    (
        b'{"multiAgent": {"memberships": {}}}',
        "Unsupported CW run state: multiAgent.memberships must be an array when present.",
    ),
    (b"", "Invalid JSON in {path}: "),
]


@pytest.mark.parametrize("raw,message", BAD_STATES)
def test_bad_states_are_refused_with_cw_messages_and_never_rewritten(cw, repo, raw, message):
    d = repo / ".cw/runs/bad"
    d.mkdir(parents=True)
    (d / "state.json").write_bytes(raw)
    (repo / "o.md").write_text("x")
    expected = message.replace("{path}", str(d / "state.json"))
    for args in (
        ("run", "show", "bad"),
        ("task", "add", "bad", "t1"),
        ("dispatch", "bad"),
        ("result", "bad", "t1", "o.md"),
    ):
        before = tree_bytes(repo)
        res = cw.fails(1, *args)
        assert res.stderr.startswith("cw: " + expected), res.stderr
        assert tree_bytes(repo) == before


def test_wiped_state_next_to_content_is_refused(cw, repo):
    d = repo / ".cw/runs/wiped"
    (d / "tasks").mkdir(parents=True)
    (d / "tasks" / "t1.md").write_text("task")
    (d / "state.json").write_text("{}")
    res = cw.fails(1, "run", "show", "wiped")
    assert "Refusing to load run wiped: state.json is missing its core fields (workflow, paths)" in res.stderr


def test_empty_state_in_new_directory_loads():
    run = normalize_state({}, run_dir="/r/.cw/runs/new", dir_name="new", dir_has_content=False)
    assert run["id"] == "new" and run["cwd"] == "/r" and run["createdAt"] == "1970-01-01T00:00:00.000Z"


def test_unknown_keys_survive_a_write(cw, repo):
    d = copy_fixture_run(repo, "fixture-run")
    doc = json.loads((d / "state.json").read_text())
    doc["futureKey"] = {"kept": [1, 2, 3]}
    doc["tasks"][0]["extra"] = "also kept"
    (d / "state.json").write_text(json.dumps(doc))
    cw.ok("task", "add", "fixture-run", "t-new")
    st = state_of(repo, "fixture-run")
    assert st["futureKey"] == {"kept": [1, 2, 3]} and st["tasks"][0]["extra"] == "also kept"
    assert st["tasks"][0]["usage"] == doc["tasks"][0]["usage"]
    assert [t["id"] for t in st["tasks"]][-1] == "t-new"


def test_fixture_files_are_valid_json():
    for f in FIXTURES.glob("*.json"):
        json.loads(f.read_text())
