"""The pooled summary (cw-compat §5.3–§5.4 with §16 c, d, g, h, j) and --limit parsing."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from cw.core.jsonout import dumps
from cw.core.metrics import derive_report, derive_summary_report
from cw.core.pricing import validate_policy
from cw.core.summary import parse_limit, pool_cost, pool_summary, run_entry
from cw.model.errors import UsageError
from cw.shell.resources import schema

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cw"
NOW = "2026-06-08T12:00:00.000Z"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def entry(run: dict[str, Any], repo: str, policy: Any = None):
    return run_entry(derive_report(run, NOW, policy), run, repo)


def summary_with_cw_keys() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in EXPECTED["summary_default"].items():
        out[k] = v
        if k == "unreadableRuns":
            out["unreadable"] = []
            out["omittedRuns"] = 0
        if k == "byBackend":
            # cw's per-actor breakdown: CW's runs carry no actor, so both runs pool as
            # "unattributed" -- the same two runs as the single byApp group
            (app,) = EXPECTED["summary_default"]["byApp"]
            out["byActor"] = [{**app, "key": "unattributed"}]
    return out


def test_summary_default_equals_cws_plus_cws_two_keys():
    pol = validate_policy(load("policy-default-price.json"), "DEF")
    got = pool_summary(
        [entry(load("fixture-run.state.json"), "/repoA", pol), entry(load("empty-run.state.json"), "/repoB", pol)],
        [],
        "home",
        NOW,
        None,
    )
    want = summary_with_cw_keys()
    assert list(got) == list(want)
    assert json.loads(dumps(got)) == want
    assert dumps(got) == dumps(
        pool_summary(
            [entry(load("empty-run.state.json"), "/repoB", pol), entry(load("fixture-run.state.json"), "/repoA", pol)],
            [],
            "home",
            NOW,
            None,
        )
    )


def test_summary_payloads_validate_against_the_schema():
    s = schema("metrics-summary.schema.json")
    Draft202012Validator.check_schema(s)
    v = Draft202012Validator(s)
    assert list(v.iter_errors(summary_with_cw_keys())) == []
    pol = validate_policy(load("policy-exact.json"), "EXACT")
    got = pool_summary(
        [entry(load("fixture-run.state.json"), "/r", pol)],
        [{"runId": "bad", "repo": "/r", "reason": "Invalid JSON in /r/x: ..."}],
        "repo",
        NOW,
        1,
    )
    assert list(v.iter_errors(got)) == []
    assert list(v.iter_errors(pool_summary([], [], "repo", NOW, None))) == []


def test_zero_runs():
    got = pool_summary([], [], "repo", NOW, 50)
    assert got["runCount"] == 0 and got["omittedRuns"] == 0 and got["unreadable"] == []
    for name, metric in (
        ("failure", "failure"),
        ("verifierPass", "verifier-pass"),
        ("candidateAcceptance", "candidate-acceptance"),
    ):
        assert got["rates"][name] == {
            "metric": metric,
            "state": "n/a",
            "count": None,
            "total": 0,
            "rate": None,
            "buckets": {},
        }
    assert got["usage"] == {
        "units": 0,
        "attestedUnits": 0,
        "unreportedUnits": 0,
        "coverage": None,
        "inputTokens": 0,
        "outputTokens": 0,
        "totalTokens": 0,
        "models": [],
    }
    assert got["cost"] == {
        "state": "unreported",
        "currency": "USD",
        "attestedUsd": None,
        "estimatedUsd": None,
        "unpricedModels": [],
        "pricedCoverage": None,
        "notes": [],
    }
    assert got["byBackendCost"] == got["byApp"] == got["byBackend"] == got["runs"] == []
    assert got["totalOutputBytes"] == 0
    assert got["nextAction"] == "No indexed runs; run a workflow, then `cw metrics summary`."


def simple_run(rid: str, created: str, **extra: Any) -> dict[str, Any]:
    run = {
        "schemaVersion": 1,
        "id": rid,
        "createdAt": created,
        "updatedAt": created,
        "workflow": {"id": "app"},
        "tasks": [],
        "workers": [],
    }
    run.update(extra)
    return run


def test_limit_keeps_the_newest_and_counts_the_rest():
    runs = [simple_run(f"run-{i}", f"2026-06-0{i}T00:00:00.000Z") for i in range(1, 6)]
    entries = [entry(r, "/repo") for r in runs]
    got = pool_summary(iter(entries), [], "repo", NOW, 2)
    assert [r["runId"] for r in got["runs"]] == ["run-4", "run-5"]
    assert (got["runCount"], got["omittedRuns"]) == (2, 3)
    got = pool_summary(entries, [], "repo", NOW, parse_limit("0"))
    assert [r["runId"] for r in got["runs"]] == ["run-5"] and got["omittedRuns"] == 4
    got = pool_summary(entries, [], "repo", NOW, parse_limit(None))
    assert got["runCount"] == 5 and got["omittedRuns"] == 0


def test_limit_breaks_created_at_ties_by_run_id_and_lists_runs_by_run_id():
    entries = [entry(simple_run(rid, "2026-06-01T00:00:00.000Z"), "/repo") for rid in ("b", "c", "a")]
    entries.append(entry(simple_run("z", "2026-05-01T00:00:00.000Z"), "/repo"))
    got = pool_summary(entries, [], "repo", NOW, 2)
    assert [r["runId"] for r in got["runs"]] == ["b", "c"] and got["omittedRuns"] == 2


def test_unreadable_runs_are_listed_sorted_and_never_omitted():
    bad = [
        {"runId": "r2", "repo": "/b", "reason": "Unsupported CW run state: tasks must be an array when present."},
        {"runId": "r1", "repo": "/z", "reason": "Invalid JSON in /z/.cw/runs/r1/state.json: x"},
        {"runId": "r1", "repo": "/a", "reason": "Run state schemaVersion 99 is newer than this CW runtime (1)."},
    ]
    entries = [entry(simple_run(f"ok-{i}", f"2026-06-0{i}T00:00:00.000Z"), "/repo") for i in range(1, 4)]
    got = pool_summary(entries, bad, "home", NOW, 1)
    assert got["unreadableRuns"] == 3 and got["runCount"] == 1 and got["omittedRuns"] == 2
    assert [(u["runId"], u["repo"]) for u in got["unreadable"]] == [("r1", "/a"), ("r1", "/z"), ("r2", "/b")]
    assert list(got["unreadable"][0]) == ["runId", "repo", "reason"]


def test_unreadable_runs_may_be_found_while_the_entries_stream():
    unreadable: list[dict[str, Any]] = []

    def stream():
        yield entry(simple_run("a", "2026-06-01T00:00:00.000Z"), "/r")
        unreadable.append({"runId": "broken", "repo": "/r", "reason": "Invalid JSON in /r/x: y"})
        yield entry(simple_run("b", "2026-06-02T00:00:00.000Z"), "/r")

    for limit in (None, 1):
        unreadable.clear()
        got = pool_summary(stream(), unreadable, "repo", NOW, limit)
        assert got["unreadableRuns"] == 1 and got["unreadable"][0]["runId"] == "broken"


def worker(wid: str, backend: str | None, size: Any) -> dict[str, Any]:
    w: dict[str, Any] = {"id": wid, "status": "completed", "outputSizeBytes": size}
    if backend is not None:
        w["backendId"] = backend
    return w


def test_by_backend_cost_attributes_each_backends_own_bytes():
    r1 = simple_run(
        "r1",
        "2026-06-01T00:00:00.000Z",
        workers=[worker("a", "shell", 100), worker("b", None, 50), worker("c", "node", 7)],
    )
    r2 = simple_run("r2", "2026-06-02T00:00:00.000Z", workers=[worker("d", "shell", 1.5), worker("e", "", None)])
    r3 = simple_run("r3", "2026-06-03T00:00:00.000Z")
    got = pool_summary([entry(r, "/repo") for r in (r2, r1, r3)], [], "repo", NOW, None)
    assert got["byBackendCost"] == [
        {"backendId": "node", "runCount": 2, "outputBytes": 57},
        {"backendId": "shell", "runCount": 2, "outputBytes": 101.5},
    ]
    assert got["totalOutputBytes"] == 158.5


def test_groups_by_app_and_backend():
    runs = [
        simple_run(
            "r1",
            "2026-06-01T00:00:00.000Z",
            tasks=[{"id": "t", "status": "pending", "backendId": "node"}],
            workers=[{"id": "w", "status": "failed", "backendId": "shell"}],
        ),
        simple_run("r2", "2026-06-02T00:00:00.000Z", workflow={"id": "other", "app": {"id": "the-app"}}),
        simple_run("r3", "2026-06-03T00:00:00.000Z", workflow={"id": ""}),
    ]
    got = pool_summary([entry(r, "/repo") for r in runs], [], "repo", NOW, None)
    assert [(g["key"], g["runCount"]) for g in got["byApp"]] == [("app", 1), ("the-app", 1), ("unknown", 1)]
    assert [(g["key"], g["runCount"]) for g in got["byBackend"]] == [("node", 1), ("shell", 1), ("unreported", 2)]
    shell = got["byBackend"][1]
    assert shell["rates"]["failure"]["count"] == 1 and shell["rates"]["failure"]["total"] == 1
    assert [g["key"] for g in sorted(got["byApp"], key=lambda g: g["key"])] == [g["key"] for g in got["byApp"]]


def cost(state: str, attested: Any = None, estimated: Any = None, **extra: Any) -> dict[str, Any]:
    c = {"state": state, "currency": "USD", "attestedUsd": attested, "estimatedUsd": estimated}
    c.update(extra)
    c.setdefault("unpricedModels", [])
    c.update(pricedCoverage=None, notes=[])
    return c


@pytest.mark.parametrize(
    "states, pooled",
    [
        ([], "unreported"),
        (["unreported", "unreported"], "unreported"),
        (["unreported", "attested"], "attested"),
        (["attested", "estimated"], "estimated"),
        (["attested", "unpriced"], "unpriced"),
        (["estimated", "unpriced", "attested"], "unpriced"),
        (["unpriced", "unreported"], "unpriced"),
    ],
)
def test_pool_cost_state_precedence(states, pooled):
    figures = {
        "attested": (Decimal("0.01"), None),
        "estimated": (None, Decimal("0.02")),
        "unpriced": (None, None),
        "unreported": (None, None),
    }
    costs = [cost(s, *figures[s]) for s in states]
    assert pool_cost(costs)["state"] == pooled


def test_pooled_cost_where_cw_says_attested_cw_says_unpriced():
    # A run left partly unpriced (attestedUsd 0) plus an attested run: CW pools to attested, cw to unpriced.
    got = pool_cost([cost("unpriced", 0, None, unpricedModels=["x"]), cost("attested", Decimal("0.5"))])
    assert got["state"] == "unpriced" and got["attestedUsd"] == Decimal("0.5") and got["unpricedModels"] == ["x"]


def test_pooled_figures_are_exact_and_keep_policy_and_currency_rules():
    costs = [
        cost("attested", Decimal("0.1"), policyId="p1"),
        cost("estimated", Decimal("0.2"), 0, policyId=""),
        cost("attested", 1, currency="EUR", policyId="p2"),
        cost("unreported", currency=""),
    ]
    costs[0]["currency"] = ""
    got = pool_cost(costs)
    assert got["attestedUsd"] == Decimal("1.3") and str(got["attestedUsd"]) == "1.3"
    assert got["estimatedUsd"] == 0 and type(got["estimatedUsd"]) is int
    assert got["currency"] == "USD" and got["policyId"] == "p2"
    assert got["notes"] == [
        "Totals mix exact-priced (attested) and default-priced (estimated) runs; the two USD figures are kept separate."
    ]
    assert list(got) == [
        "state",
        "currency",
        "attestedUsd",
        "estimatedUsd",
        "policyId",
        "unpricedModels",
        "pricedCoverage",
        "notes",
    ]
    assert "policyId" not in pool_cost([cost("attested", 1, policyId="")])


def test_pooled_usage_and_rates():
    a = {
        "schemaVersion": 1,
        "id": "a",
        "createdAt": "2026-06-01T00:00:00.000Z",
        "workflow": {"id": "x"},
        "tasks": [{"id": "t", "status": "completed", "usage": {"model": "m2", "inputTokens": 1}}],
        "nodes": [{"id": "v", "kind": "verifier", "status": "pending"}],
    }
    b = {
        "schemaVersion": 1,
        "id": "b",
        "createdAt": "2026-06-02T00:00:00.000Z",
        "workflow": {"id": "x"},
        "tasks": [
            {"id": "t", "status": "completed", "usage": {"model": "m1", "inputTokens": 3}},
            {"id": "u", "status": "completed"},
        ],
        "nodes": [{"id": "v", "kind": "verifier", "status": "verified"}],
    }
    got = pool_summary([entry(b, "/r"), entry(a, "/r")], [], "repo", NOW, None)
    assert got["usage"] == {
        "units": 3,
        "attestedUnits": 2,
        "unreportedUnits": 1,
        "coverage": 0.666667,
        "inputTokens": 4,
        "outputTokens": 0,
        "totalTokens": 4,
        "models": ["m1", "m2"],
    }
    assert type(got["usage"]["inputTokens"]) is int
    vp = got["rates"]["verifierPass"]
    assert (vp["count"], vp["total"], vp["rate"], vp["buckets"]) == (1, 1, 1, {"pending": 1, "verified": 1})


def test_run_entry_keeps_only_the_ref_and_byte_counts():
    run = load("fixture-run.state.json")
    e = entry(run, "/repoA")
    kept = [getattr(e, s) for s in e.__slots__]
    assert all(v is not run and v is not run.get("workers") for v in kept)
    assert list(e.ref) == ["runId", "repo", "app", "backendIds", "freshness", "rates", "usage", "cost"]
    assert e.backend_bytes == (("shell", 0),) and e.output_bytes == 0


def test_summary_report_is_the_pooled_part_of_the_full_report():
    pol = validate_policy(load("policy-default-price.json"), "DEF")
    for name in ("fixture-run", "empty-run"):
        run = load(f"{name}.state.json")
        full = derive_report(run, NOW, pol, "sha256:0")
        part = derive_summary_report(run, NOW, pol, "sha256:0")
        assert list(part) == [
            "runId",
            "generatedAt",
            "sourceFingerprint",
            "freshness",
            "scope",
            "rates",
            "usage",
            "cost",
        ]
        assert dumps(part) == dumps({k: full[k] for k in part})
        assert dumps(run_entry(part, run, "/r").ref) == dumps(run_entry(full, run, "/r").ref)
        # what the summary derives: without a snapshot the fingerprints are skipped, the entry is the same
        for persisted in (None, "sha256:0", full["sourceFingerprint"]):
            lean = derive_summary_report(run, NOW, pol, persisted, status_only=True)
            whole = derive_report(run, NOW, pol, persisted)
            assert dumps(run_entry(lean, run, "/r").ref) == dumps(run_entry(whole, run, "/r").ref)
            assert ("sourceFingerprint" in lean) is (persisted is not None)


def test_persisted_fingerprint_gives_real_freshness_in_runs():
    run = load("empty-run.state.json")
    fresh = run_entry(derive_report(run, NOW, None, "sha256:57970b1c7f04f7f68dbca8bb3f28a7e2"), run, "/r")
    stale = run_entry(derive_report(copy.deepcopy(run), NOW, None, "sha256:0"), run, "/r")
    assert fresh.ref["freshness"] == "valid" and stale.ref["freshness"] == "stale"


# -- --limit ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, limit",
    [
        (None, 50),
        ("2", 2),
        ("2.7", 2),
        ("0", 1),
        ("-3", 1),
        (" 4 ", 4),
        ("\u00a04\ufeff", 4),
        ("0x10", 16),
        ("0b11", 3),
        ("0o7", 7),
        ("1e1", 10),
        (".5", 1),
        ("5.", 5),
        ("+6", 6),
        (3, 3),
        (2.9, 2),
        (0, 1),
        (["7"], 7),
    ],
)
def test_parse_limit(value, limit):
    assert parse_limit(value) == limit


def test_bare_limit_needs_a_value():
    with pytest.raises(UsageError) as err:
        parse_limit(True)
    assert err.value.message == "--limit requires a value (e.g. --limit 4)" and err.value.exit_code == 2


@pytest.mark.parametrize(
    "value, shown",
    [
        ("abc", '"abc"'),
        ("", '""'),
        ("   ", '"   "'),
        ("1_000", '"1_000"'),
        ("Infinity", '"Infinity"'),
        ("-0x10", '"-0x10"'),
        ("12px", '"12px"'),
        ("0x", '"0x"'),
        (float("inf"), "null"),
        (["1", "2"], '["1","2"]'),
    ],
)
def test_bad_limit(value, shown):
    with pytest.raises(UsageError) as err:
        parse_limit(value)
    assert err.value.message == f"Invalid --limit {shown}: expected a number (e.g. --limit 4)"
