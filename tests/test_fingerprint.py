"""The source fingerprint (cw-compat §4.3): CW's exact value, cw's additions, order independence."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cw.core.fingerprint import all_parts, cw_fingerprint, fingerprint_parts, js_json, js_quote, source_fingerprint

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cw"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def cw_hash(encoded: str) -> str:
    """CW's fingerprintStrings applied to an already sorted, encoded list."""
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:32]


def base_run(**extra: Any) -> dict[str, Any]:
    run = {
        "id": "r",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z",
        "workflow": {"id": "app"},
        "tasks": [],
        "workers": [],
    }
    run.update(extra)
    return run


def test_cw_fixture_values():
    assert source_fingerprint(load("fixture-run.state.json")) == "sha256:8313b1890b4358d85398a61688af4884"
    assert source_fingerprint(load("empty-run.state.json")) == "sha256:57970b1c7f04f7f68dbca8bb3f28a7e2"


def test_empty_run_encoded_list_is_cws():
    encoded = (
        '["app:architecture-review","createdAt:2026-06-08T10:00:00.000Z","id:empty-run",'
        '"updatedAt:2026-06-08T10:00:00.000Z"]'
    )
    assert sorted(fingerprint_parts(load("empty-run.state.json"))) == json.loads(encoded)
    assert source_fingerprint(load("empty-run.state.json")) == cw_hash(encoded)


def test_fixture_parts_include_cws_examples():
    parts = fingerprint_parts(load("fixture-run.state.json"))
    assert (
        "task:t-attested:completed:2026-06-08T10:01:00.000Z:2026-06-08T10:03:00.000Z:"
        "host-attested:claude-opus-4-8:1000:200:node"
    ) in parts
    assert "task:t-pending:pending:-:-:unreported:-" in parts
    assert "worker:w-failed:failed:-:unreported:shell" in parts
    assert "verifier:v4:pending" in parts and not any(p.startswith("verifier:r1") for p in parts)
    assert "membership:m1:failed" in parts and "feedback:f1:open" in parts and "candidate:c2:rejected" in parts


@pytest.mark.parametrize(
    "usage, key",
    [
        (
            {"source": "host-attested", "model": "m", "inputTokens": 1000.0, "outputTokens": 1e3},
            "host-attested:m:1000:1000",
        ),
        ({"source": "s", "model": "", "inputTokens": 0, "outputTokens": None}, "s:-:0:-"),
        ({"model": "m", "inputTokens": 1.5, "outputTokens": -0.0}, "undefined:m:1.5:0"),
        ({"source": None, "model": "true", "inputTokens": -5}, "null:true:-5:-"),
        ({}, "undefined:-:-:-"),
        (None, "unreported"),
    ],
)
def test_usage_key_renders_values_as_javascript(usage, key):
    run = base_run(tasks=[{"id": "t", "status": "completed", "dispatchedAt": "", "usage": usage}])
    assert f"task:t:completed:-:-:{key}:-" in fingerprint_parts(run)


def test_missing_task_fields_print_undefined():
    parts = fingerprint_parts(base_run(tasks=[{"status": "pending"}], workers=[{"id": "w", "output": {}}]))
    assert "task:undefined:pending:-:-:unreported:-" in parts
    assert "worker:w:undefined:-:unreported:-" in parts


def test_app_id_wins_over_workflow_id():
    assert "app:the-app" in fingerprint_parts(base_run(workflow={"id": "wf", "app": {"id": "the-app"}}))
    assert "app:wf" in fingerprint_parts(base_run(workflow={"id": "wf", "app": {"id": ""}}))
    assert "app:undefined" in fingerprint_parts(base_run(workflow={}))


def test_encoding_is_javascripts():
    # Raw non-ASCII, escaped control characters, a lone surrogate written as \ud800, code-unit order.
    run = base_run(id="r\u00e9\n\ud800", workflow={"id": "\U0001f600"}, feedback=[{"id": "\uffff", "status": "open"}])
    encoded = (
        '["app:\U0001f600","createdAt:2026-01-01T00:00:00.000Z","feedback:\uffff:open",'
        '"id:r\u00e9\\n\\ud800","updatedAt:2026-01-01T00:00:00.000Z"]'
    )
    assert source_fingerprint(run) == cw_hash(encoded)


def test_js_json_and_js_quote():
    assert js_quote('a"b\\c\x01\u2028') == '"a\\"b\\\\c\\u0001\u2028"'
    assert (
        js_json({"b": [1.0, None, True], "a": {"y": 1.5e-7, "x": "é"}}, sort_keys=True)
        == '{"a":{"x":"é","y":1.5e-7},"b":[1,null,true]}'
    )


# -- cw additions -------------------------------------------------------------

CW_ADDITIONS = base_run(
    actor="cron:nightly",
    claimedActor="alice",
    parentRunIds=["p1", "p2"],
    budget={"costBudget": {"amount": "12.50", "currency": "USD"}},
    revenue={
        "schemaVersion": 1,
        "entries": [{"id": "rev-0001", "hash": "sha256:aa"}, {"id": "rev-0002", "hash": "sha256:bb"}],
    },
    tasks=[
        {"id": "t1", "status": "completed", "usage": {"source": "host-attested", "actor": "bob", "reasoningTokens": 40}}
    ],
    workers=[
        {
            "id": "w1",
            "status": "verified",
            "output": {"recordedAt": "2026-01-01T00:00:00.000Z"},
            "usage": {"source": "host-attested", "actor": "carol", "reasoningTokens": 7},
        }
    ],
)


def test_additions_are_listed_apart_from_cws_strings():
    parts, extra = all_parts(CW_ADDITIONS)
    assert not [p for p in parts if p.split(":")[0] in ("actor", "parent", "revenue", "usage-actor", "reasoning")]
    for p in (
        "actor:cron:nightly",
        "claimedActor:alice",
        "parent:p1",
        "parent:p2",
        "costBudget:12.50:USD",
        "revenue:rev-0001:sha256:aa",
        "revenue:rev-0002:sha256:bb",
        "usage-actor:task:t1:bob",
        "usage-actor:worker:w1:carol",
        "reasoning:task:t1:40",
        "reasoning:worker:w1:7",
    ):
        assert p in extra


def test_absent_additions_leave_cws_value_and_no_cw_fingerprint():
    run = load("fixture-run.state.json")
    run["budget"] = {}  # a budget without costBudget adds nothing
    run["revenue"] = {"schemaVersion": 1, "entries": []}
    assert source_fingerprint(run) == "sha256:8313b1890b4358d85398a61688af4884"
    assert cw_fingerprint(run) is None


def test_additions_leave_cws_fingerprint_as_cw_computes_it():
    run = load("fixture-run.state.json")
    run.update(actor="alice", parentRunIds=["p"], budget={"costBudget": {"amount": "1.00", "currency": "USD"}})
    run["tasks"][0]["usage"]["actor"] = "bob"
    assert source_fingerprint(run) == "sha256:8313b1890b4358d85398a61688af4884"  # CW's value for this run
    assert cw_fingerprint(run) not in (None, source_fingerprint(run))


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize(
    "path, value",
    [
        (("actor",), "cron:other"),
        (("claimedActor",), "mallory"),
        (("parentRunIds", 1), "p3"),
        (("budget", "costBudget", "amount"), "12.51"),
        (("budget", "costBudget", "currency"), "EUR"),
        (("revenue", "entries", 1, "id"), "rev-0003"),
        (("revenue", "entries", 0, "hash"), "sha256:cc"),
        (("tasks", 0, "usage", "actor"), "dave"),
        (("workers", 0, "usage", "actor"), "erin"),
        (("tasks", 0, "usage", "reasoningTokens"), 41),
        (("workers", 0, "usage", "reasoningTokens"), 8),
    ],
)
def test_changing_any_addition_changes_cws_fingerprint_only(path, value):
    changed = copy.deepcopy(CW_ADDITIONS)
    _set(changed, path, value)
    assert cw_fingerprint(changed) != cw_fingerprint(CW_ADDITIONS)
    assert source_fingerprint(changed) == source_fingerprint(CW_ADDITIONS)  # CW cannot see it


@pytest.mark.parametrize("key", ["actor", "claimedActor", "parentRunIds", "budget", "revenue"])
def test_removing_an_addition_changes_cws_fingerprint(key):
    changed = copy.deepcopy(CW_ADDITIONS)
    del changed[key]
    assert cw_fingerprint(changed) != cw_fingerprint(CW_ADDITIONS)


@pytest.mark.parametrize(
    "path, value",
    [
        (("paths",), {"runDir": "/elsewhere"}),
        (("tasks", 0, "usage", "totalTokens"), 999),
        (("tasks", 0, "usage", "cacheReadTokens"), 999),
        (("tasks", 0, "usage", "attestation"), "attested"),
        (("tasks", 0, "usage", "claimedActor"), "someone"),
        (("workers", 0, "outputSizeBytes"), 123),
    ],
)
def test_facts_outside_the_fingerprint_leave_it_alone(path, value):
    changed = copy.deepcopy(CW_ADDITIONS)
    _set(changed, path, value)
    assert source_fingerprint(changed) == source_fingerprint(CW_ADDITIONS)
    assert cw_fingerprint(changed) == cw_fingerprint(CW_ADDITIONS)


LISTS = (
    ("tasks",),
    ("workers",),
    ("nodes",),
    ("candidates",),
    ("feedback",),
    ("multiAgent", "memberships"),
    ("parentRunIds",),
    ("revenue", "entries"),
)


def _rich_run() -> dict[str, Any]:
    run = copy.deepcopy(load("fixture-run.state.json"))
    run.update(
        {k: copy.deepcopy(v) for k, v in CW_ADDITIONS.items() if k in ("actor", "parentRunIds", "budget", "revenue")}
    )
    run["tasks"] += copy.deepcopy(CW_ADDITIONS["tasks"])
    run["workers"] += copy.deepcopy(CW_ADDITIONS["workers"])
    return run


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_reordering_records_keeps_the_fingerprint(data):
    run = _rich_run()
    expected = source_fingerprint(run), cw_fingerprint(run)
    shuffled = copy.deepcopy(run)
    for path in LISTS:
        holder = shuffled
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = data.draw(st.permutations(holder[path[-1]]))
    assert (source_fingerprint(shuffled), cw_fingerprint(shuffled)) == expected


def test_order_is_by_utf16_code_units_not_code_points():
    # U+FF5E < U+1F600 as code points, but in UTF-16 the emoji starts with the surrogate 0xD83D < 0xFF5E,
    # so JavaScript's sort (and CW's fingerprint) puts the emoji first.
    run = base_run(feedback=[{"id": "\uff5e", "status": "open"}, {"id": "\U0001f600", "status": "open"}])
    encoded = (
        '["app:app","createdAt:2026-01-01T00:00:00.000Z","feedback:\U0001f600:open",'
        '"feedback:\uff5e:open","id:r","updatedAt:2026-01-01T00:00:00.000Z"]'
    )
    assert source_fingerprint(run) == cw_hash(encoded)
    # and code-point order would have given another value: the test can tell the two apart
    by_code_point = (
        '["app:app","createdAt:2026-01-01T00:00:00.000Z","feedback:\uff5e:open",'
        '"feedback:\U0001f600:open","id:r","updatedAt:2026-01-01T00:00:00.000Z"]'
    )
    assert cw_hash(by_code_point) != cw_hash(encoded)
