"""Odd values CW accepted never refuse a run: implausible usage is reported and left out; odd budgets block.

The run is CW's fixture run (``tests/fixtures/cw``) with one usage field of
``t-attested`` replaced by a value CW stores as given but no host could have
meant. Expected numbers are worked by hand from the fixture: the one other
attested unit, ``w-estimated`` (mystery-model-x, 500 in / 100 out), priced by
policy DEF's default price 3/15 per million = 0.0015 + 0.0015 = 0.003.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_fixture_run

from cw.core.metrics import derive_summary_report
from cw.shell.fastload import read_summary_state
from cw.shell.store import read_run_dir

NOW = "2026-06-08T12:00:00.000Z"
DEF = str(FIXTURES / "policy-default-price.json")
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())

ODD = [
    ("outputTokens", -5),
    ("outputTokens", 1.5),
    ("inputTokens", 2**53 + 1),
    ("inputTokens", 1e21),
    ("inputTokens", "100"),
    ("inputTokens", True),
    ("totalTokens", -1),
    ("cacheReadTokens", 0.25),
]


def _odd_run(repo: Path, field: str, value: object) -> Path:
    d = copy_fixture_run(repo, "fixture-run")
    st = json.loads((d / "state.json").read_text())
    task = next(t for t in st["tasks"] if t["id"] == "t-attested")
    task["usage"][field] = value
    (d / "state.json").write_text(json.dumps(st, indent=2))
    return d


@pytest.mark.parametrize("field,value", ODD, ids=[f"{f}={v!r}" for f, v in ODD])
def test_an_implausible_usage_value_is_reported_not_obeyed(cw, repo, field, value):
    _odd_run(repo, field, value)
    r = cw.json("metrics", "show", "fixture-run", "--now", NOW, "--pricing", DEF)
    u = r["usage"]
    assert u["invalidUnits"] == [{"unit": "t-attested", "kind": "task", "field": f"usage.{field}", "value": value}]
    assert (u["inputTokens"], u["outputTokens"], u["totalTokens"]) == (500, 100, 600)  # w-estimated only
    assert (u["units"], u["attestedUnits"], u["unreportedUnits"]) == (3, 2, 1)
    cost = r["cost"]
    assert cost["state"] == "unpriced" and cost["attestedUsd"] is None and cost["estimatedUsd"] == 0.003
    assert any(f"usage.{field}" in n and "t-attested" in n for n in cost["notes"]), cost["notes"]
    cw_expected = EXPECTED["fixture_default"]
    assert r["time"] == cw_expected["time"] and r["rates"] == cw_expected["rates"]  # CW's time and rates stand
    text = cw.ok("metrics", "show", "fixture-run", "--now", NOW, "--pricing", DEF).stdout
    assert f"invalid usage: task t-attested usage.{field} = " in text


@pytest.mark.parametrize("field,value", ODD[:5], ids=[f"{f}={v!r}" for f, v in ODD[:5]])
def test_the_summary_reads_the_run_the_same_way_on_both_paths(cw, repo, field, value):
    d = _odd_run(repo, field, value)
    s = cw.json("metrics", "summary", "--now", NOW, "--pricing", DEF)
    assert s["unreadableRuns"] == 0 and s.get("unreadable", []) == []
    assert [r["runId"] for r in s["runs"]] == ["fixture-run"]
    assert s["usage"]["totalTokens"] == 600 and s["cost"]["state"] == "unpriced"
    from cw.shell.policies import load_pricing_policy

    policy = load_pricing_policy(DEF, repo)
    lean = derive_summary_report(read_summary_state(d), NOW, policy)
    full = derive_summary_report(read_run_dir(d), NOW, policy)
    assert lean == full


def test_pnl_and_budget_never_price_an_implausible_unit(cw, repo):
    d = _odd_run(repo, "inputTokens", 1e21)
    st = json.loads((d / "state.json").read_text())
    st["workflow"]["limits"]["tokenBudget"] = 10**9
    (d / "state.json").write_text(json.dumps(st))
    b = cw.json("budget", "fixture-run", "--pricing", DEF, "--now", NOW)
    assert b["tokenBudget"]["spent"] == 600
    assert not b["dispatch"]["allowed"]
    assert any("t-attested" in r and "cannot read" in r for r in b["dispatch"]["reasons"]), b["dispatch"]


@pytest.mark.parametrize("budget", ["100", 0, -5, True, [100], "1e3"])
def test_a_token_budget_cw_cannot_read_blocks_dispatch_and_names_the_field(cw, repo, budget):
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "t1")
    p = repo / ".cw/runs/r/state.json"
    st = json.loads(p.read_text())
    st["workflow"]["limits"]["tokenBudget"] = budget
    p.write_text(json.dumps(st))
    before = p.read_bytes()
    res = cw.fails(1, "dispatch", "r")
    assert "workflow.limits.tokenBudget" in res.stderr and json.dumps(budget) in res.stderr, res.stderr
    assert p.read_bytes() == before
    b = cw.json("budget", "r")
    assert b["tokenBudget"] is None and not b["dispatch"]["allowed"]


def test_a_null_token_budget_is_no_budget(cw, repo):
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "t1")
    p = repo / ".cw/runs/r/state.json"
    st = json.loads(p.read_text())
    st["workflow"]["limits"]["tokenBudget"] = None
    p.write_text(json.dumps(st))
    cw.ok("dispatch", "r")


def test_intake_stays_strict(cw, repo):
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "t1")
    cw.ok("dispatch", "r")
    (repo / "out.md").write_text("ok\n")
    for bad in ("1e21", "-5", "1.5", str(2**53 + 1) + "0"):
        res = cw.fails(2, "result", "r", "t1", "out.md", f"--usage-input-tokens={bad}", "--usage-model", "m")
        assert "--usage-input-tokens" in res.stderr


def test_the_payload_with_invalid_units_matches_its_schema(cw, repo):
    import jsonschema

    from cw.shell.resources import schema

    _odd_run(repo, "inputTokens", 1e21)
    r = cw.json("metrics", "show", "fixture-run", "--now", NOW, "--pricing", DEF)
    jsonschema.validate(r, schema("metrics-report.schema.json"))


def test_a_token_budget_cw_cannot_read_stops_a_loop_round(cw, repo):
    cw.ok("run", "new", "--id", "r")
    cw.ok("task", "add", "r", "s1", "--phase", "sample")
    cw.ok("loop", "add", "r", "sample", "--task", "s1", "--max-rounds", "3", "--target", "100")
    p = repo / ".cw/runs/r/state.json"
    st = json.loads(p.read_text())
    st["workflow"]["limits"]["tokenBudget"] = -5
    p.write_text(json.dumps(st))
    before = p.read_bytes()
    res = cw.fails(1, "loop", "next", "r", "sample")
    assert "workflow.limits.tokenBudget is -5" in res.stderr, res.stderr
    assert p.read_bytes() == before
