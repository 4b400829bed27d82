"""The per-run metrics report against CW's outputs (expected.json) and hand-computed cases (cw-compat §3)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from cw.core.jsonout import dumps
from cw.core.metrics import TELEMETRY_MISSING, derive_report, pin_valid, usage_units
from cw.core.pricing import validate_policy
from cw.shell.resources import schema

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cw"
NOW = "2026-06-08T12:00:00.000Z"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
NOTE_UNPRICED = "Attested usage present but no policy entry (and no default) priced it; cost is unpriced."
NOTE_DEFAULT = (
    "Some models lacked an exact policy entry and were priced with the policy default; "
    "that portion is `estimated`, not `attested`."
)


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def policy_file(name: str):
    return validate_policy(load(name), str(FIXTURES / name))


def as_json(payload: Any) -> Any:
    """What a client reads: the payload written by cw's JSON encoder and parsed back."""
    return json.loads(dumps(payload))


def assert_same(got: Any, want: Any, path: str = "$") -> None:
    """Value equality with JSON types (1 is not 1.0, absent is not null) and key order."""
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for k in want:
            assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            assert_same(g, w, f"{path}[{i}]")
    else:
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"


def report_validator() -> Draft202012Validator:
    s = schema("metrics-report.schema.json")
    Draft202012Validator.check_schema(s)
    return Draft202012Validator(s)


# -- CW's outputs -------------------------------------------------------------------


def test_fixture_without_policy():
    assert_same(as_json(derive_report(load("fixture-run.state.json"), NOW, None)), EXPECTED["fixture_nopolicy"])


def test_fixture_with_default_price_policy():
    got = derive_report(load("fixture-run.state.json"), NOW, policy_file("policy-default-price.json"))
    assert_same(as_json(got), EXPECTED["fixture_default"])


def test_fixture_with_exact_policy_differs_only_by_decision_h():
    want = copy.deepcopy(EXPECTED["fixture_exact"])
    assert want["cost"]["state"] == "attested" and want["cost"]["notes"] == []
    want["cost"]["state"] = "unpriced"
    want["cost"]["notes"] = [NOTE_UNPRICED]
    got = derive_report(load("fixture-run.state.json"), NOW, policy_file("policy-exact.json"))
    assert_same(as_json(got), want)
    assert str(got["cost"]["attestedUsd"]) == "0.03" and got["cost"]["pricedCoverage"] == 0.666667


def test_empty_run():
    assert_same(as_json(derive_report(load("empty-run.state.json"), NOW, None)), EXPECTED["empty"])


def test_bundled_policy_prices_the_fixture_at_genai_prices_list_prices():
    from cw.shell.policies import load_pricing_policy

    got = derive_report(load("fixture-run.state.json"), NOW, load_pricing_policy("default", Path.cwd()))
    # claude-opus-4-8 exact at genai-prices' 5/25 (CW's example said 15/75): 1000*5 + 200*25 = 10000 per
    # million; mystery-model-x at the default 3/15 kept from CW's example: 500*3 + 100*15 = 3000 per million
    assert as_json(got["cost"]) == {
        "state": "estimated",
        "currency": "USD",
        "attestedUsd": 0.01,
        "estimatedUsd": 0.003,
        "policyId": "cw-bundled-genai-prices-0.2.3",
        "unpricedModels": ["mystery-model-x"],
        "pricedCoverage": 1,
        "notes": [NOTE_DEFAULT],
    }


def test_outputs_and_expected_payloads_validate_against_the_schema():
    v = report_validator()
    for key in ("fixture_nopolicy", "fixture_exact", "fixture_default", "empty"):
        assert list(v.iter_errors(EXPECTED[key])) == [], key
    for state, pol in (("fixture-run", None), ("fixture-run", "policy-exact.json"), ("empty-run", None)):
        report = derive_report(load(f"{state}.state.json"), NOW, policy_file(pol) if pol else None)
        assert list(v.iter_errors(report)) == []
        assert list(v.iter_errors(pin_valid(report))) == []


def test_derivation_is_deterministic_and_pure():
    run = load("fixture-run.state.json")
    before = copy.deepcopy(run)
    pol = policy_file("policy-default-price.json")
    assert dumps(derive_report(run, NOW, pol)) == dumps(derive_report(run, NOW, pol))
    assert run == before
    assert derive_report(run, "banana", None)["generatedAt"] == "banana"


def test_freshness_and_pinning():
    run = load("fixture-run.state.json")
    fp = "sha256:8313b1890b4358d85398a61688af4884"
    assert derive_report(run, NOW, None, fp)["freshness"] == {
        "status": "valid",
        "persistedFingerprint": fp,
        "currentFingerprint": fp,
    }
    assert derive_report(run, NOW, None, "sha256:00")["freshness"] == {
        "status": "stale",
        "persistedFingerprint": "sha256:00",
        "currentFingerprint": fp,
    }
    assert derive_report(run, NOW, None, None)["freshness"] == {"status": "absent", "currentFingerprint": fp}
    pinned = pin_valid(derive_report(run, NOW, None, "sha256:00"))
    assert list(pinned) == list(EXPECTED["fixture_nopolicy"])
    assert pinned["freshness"] == {"status": "valid", "persistedFingerprint": fp, "currentFingerprint": fp}


# -- hand-built runs ------------------------------------------------------------------


def run_with(tasks: list[dict[str, Any]] = (), workers: list[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    run = {
        "schemaVersion": 1,
        "id": "r1",
        "createdAt": "2026-06-08T10:00:00.000Z",
        "updatedAt": "2026-06-08T10:10:00.000Z",
        "workflow": {"id": "app"},
        "tasks": list(tasks),
        "workers": list(workers),
        "nodes": [],
        "candidates": [],
        "feedback": [],
    }
    run.update(extra)
    return run


def done(tid: str, usage: Any = None, **extra: Any) -> dict[str, Any]:
    t = {
        "id": tid,
        "status": "completed",
        "dispatchedAt": "2026-06-08T10:00:00.000Z",
        "completedAt": "2026-06-08T10:01:00.000Z",
        **extra,
    }
    if usage is not None:
        t["usage"] = usage
    return t


def use(model: str | None = None, **tokens: Any) -> dict[str, Any]:
    u: dict[str, Any] = {"schemaVersion": 1, "source": "host-attested", "attestedAt": "2026-06-08T10:01:00.000Z"}
    if model is not None:
        u["model"] = model
    u.update(tokens)
    return u


EXACT_M = {"model": "m", "inputPerMillion": 10, "outputPerMillion": 20}


def pol(models: list[dict[str, Any]], default: dict[str, Any] | None = None, pid: str | None = "p"):
    doc: dict[str, Any] = {"schemaVersion": 1, "models": models}
    if pid is not None:
        doc["id"] = pid
    if default:
        doc["defaultPrice"] = default
    return validate_policy(doc, "SRC")


def cost_of(run: dict[str, Any], policy: Any) -> dict[str, Any]:
    return as_json(derive_report(run, NOW, policy)["cost"])


def test_exact_plus_unknown_model_without_default_is_unpriced():
    run = run_with([done("a", use("m", inputTokens=1000)), done("b", use("x", inputTokens=3000))])
    assert cost_of(run, pol([EXACT_M])) == {
        "state": "unpriced",
        "currency": "USD",
        "attestedUsd": 0.01,
        "estimatedUsd": None,
        "policyId": "p",
        "unpricedModels": ["x"],
        "pricedCoverage": 0.25,
        "notes": [NOTE_UNPRICED],
    }


def test_zero_cost_default_row_still_reports_estimated_zero():
    run = run_with([done("a", use("m", inputTokens=100)), done("b", use("x", totalTokens=50))])
    cost = cost_of(run, pol([EXACT_M], default={"inputPerMillion": 1, "outputPerMillion": 1}))
    assert cost["state"] == "estimated" and cost["attestedUsd"] == 0.001
    assert cost["estimatedUsd"] == 0 and type(cost["estimatedUsd"]) is int
    assert cost["pricedCoverage"] == 1 and cost["notes"] == [NOTE_DEFAULT]


def test_all_priced_rows_with_zero_tokens_are_unpriced_with_zero_figures():
    run = run_with([done("a", use("m")), done("b", use("x"))])
    cost = cost_of(run, pol([EXACT_M], default={"inputPerMillion": 1, "outputPerMillion": 1}))
    assert cost == {
        "state": "unpriced",
        "currency": "USD",
        "attestedUsd": 0,
        "estimatedUsd": 0,
        "policyId": "p",
        "unpricedModels": ["x"],
        "pricedCoverage": None,
        "notes": [NOTE_DEFAULT, NOTE_UNPRICED],
    }


def test_total_tokens_only_costs_nothing_but_counts_for_coverage():
    run = run_with(
        [
            done("a", use("m", totalTokens=100)),
            done("b", use("m", inputTokens=100, totalTokens=300)),
            done("c", use("x", inputTokens=100)),
        ]
    )
    cost = cost_of(run, pol([EXACT_M]))
    # priced tokens 100 + 300 out of 100 + 300 + 100 attested tokens
    assert cost["state"] == "unpriced" and cost["attestedUsd"] == 0.001 and cost["pricedCoverage"] == 0.8


def test_cache_tokens_cost_money_but_stay_out_of_totals():
    run = run_with(
        [done("a", use("m", inputTokens=1000, outputTokens=10, cacheReadTokens=5000, cacheWriteTokens=2000))]
    )
    policy = pol([{**EXACT_M, "cacheReadPerMillion": 1, "cacheWritePerMillion": 12.5}])
    report = derive_report(run, NOW, policy)
    # 1000*10 + 10*20 + 5000*1 + 2000*12.5 = 10000 + 200 + 5000 + 25000 = 40200 per million
    assert as_json(report["cost"])["attestedUsd"] == 0.0402
    assert report["usage"]["totalTokens"] == 1010 and report["cost"]["pricedCoverage"] == 1
    assert report["cost"]["state"] == "attested" and report["cost"]["notes"] == []


def test_state_precedence_in_one_run():
    d = {"inputPerMillion": 1, "outputPerMillion": 1}
    exact_only = run_with([done("a", use("m", inputTokens=1))])
    assert cost_of(exact_only, pol([EXACT_M], d))["state"] == "attested"
    with_default = run_with([done("a", use("m", inputTokens=1)), done("b", use("x", inputTokens=1))])
    assert cost_of(with_default, pol([EXACT_M], d))["state"] == "estimated"
    with_unpriced = run_with([done("a", use("m", inputTokens=1)), done("b", use(None, inputTokens=1))])
    assert cost_of(with_unpriced, pol([EXACT_M]))["state"] == "unpriced"
    assert cost_of(with_unpriced, pol([EXACT_M]))["unpricedModels"] == []  # a row without a model names none
    assert cost_of(with_unpriced, None) == {
        "state": "unpriced",
        "currency": "USD",
        "attestedUsd": None,
        "estimatedUsd": None,
        "unpricedModels": [],
        "pricedCoverage": None,
        "notes": ["Attested usage present but no pricing policy supplied; pass --pricing <path> to price it."],
    }
    no_usage = run_with([done("a")])
    assert cost_of(no_usage, pol([EXACT_M], pid=None)) == {
        "state": "unreported",
        "currency": "USD",
        "attestedUsd": None,
        "estimatedUsd": None,
        "unpricedModels": [],
        "pricedCoverage": None,
        "notes": ["No attested usage on this run; cost is unreported, not zero."],
    }


def test_policy_currency_and_price_history_reach_the_report():
    policy = validate_policy(
        {
            "schemaVersion": 1,
            "id": "eur",
            "currency": "EUR",
            "models": [
                {"model": "m", "inputPerMillion": 1, "outputPerMillion": 0},
                {"model": "m", "inputPerMillion": 2, "outputPerMillion": 0, "effectiveFrom": "2026-06-08T10:30:00Z"},
            ],
        },
        "S",
    )
    early = done("a", use("m", inputTokens=1_000_000))
    late = done("b", {**use("m", inputTokens=1_000_000), "attestedAt": "2026-06-08T11:00:00.000Z"})
    cost = cost_of(run_with([early, late]), policy)
    assert cost["currency"] == "EUR" and cost["attestedUsd"] == 3 and type(cost["attestedUsd"]) is int


def test_units_and_usage_totals_with_odd_records():
    workers = [
        {
            "id": "w-out",
            "status": "verified",
            "taskId": "t-covered",
            "createdAt": "2026-06-08T10:00:00.000Z",
            "output": {"taskId": "t-covered", "recordedAt": "2026-06-08T10:02:00.000Z"},
            "usage": use("true", inputTokens=-5, outputTokens=1.5),
        },
        {"id": "w-empty-output", "status": "completed", "taskId": "t-x", "output": {}, "usage": {}},
        {"id": "w-no-output", "status": "completed", "taskId": "t-y", "usage": use("ignored", inputTokens=999)},
    ]
    tasks = [
        done("t-covered", use("also-ignored", inputTokens=777)),
        done("t-own", use(None, inputTokens=5.5, outputTokens=0.5)),
        {"id": "t-pending", "status": "pending", "usage": use("x", inputTokens=1)},
    ]
    report = derive_report(run_with(tasks, workers), NOW, None)
    assert [(u["unit"], u["kind"]) for u in report["attestedUsage"]] == [
        ("t-own", "task"),
        ("w-empty-output", "worker"),
        ("w-out", "worker"),
    ]
    # CW adds the odd counts up as they are (inputTokens 0.5, outputTokens 2, totalTokens 2.5); cw lists
    # them as invalid and leaves them out (cw-compat §16 l), so only w-empty-output's zero counts remain.
    assert as_json(report["usage"]) == {
        "units": 3,
        "attestedUnits": 3,
        "unreportedUnits": 0,
        "coverage": 1,
        "inputTokens": 0,
        "outputTokens": 0,
        "totalTokens": 0,
        "models": ["true"],
        "invalidUnits": [
            {"unit": "t-own", "kind": "task", "field": "usage.inputTokens", "value": 5.5},
            {"unit": "t-own", "kind": "task", "field": "usage.outputTokens", "value": 0.5},
            {"unit": "w-out", "kind": "worker", "field": "usage.inputTokens", "value": -5},
            {"unit": "w-out", "kind": "worker", "field": "usage.outputTokens", "value": 1.5},
        ],
    }
    assert [u.unit for u in usage_units(run_with(tasks, workers))] == ["t-own", "w-empty-output", "w-out"]
    assert report["attestation"]["unverified"] == 3


def test_durations_with_bad_dates():
    tasks = [
        {"id": "a", "status": "completed", "dispatchedAt": "x", "completedAt": "2026-06-08T10:01:00.000Z"},
        {
            "id": "b",
            "status": "completed",
            "dispatchedAt": "2026-06-08T10:05:00.000Z",
            "completedAt": "2026-06-08T10:01:00.000Z",
        },
        {"id": "c", "status": "failed", "dispatchedAt": "", "completedAt": ""},
        {"id": "d", "status": "completed", "completedAt": "2026-06-08T10:01:00.000Z"},
        {"id": "e", "status": "running", "dispatchedAt": "2026-06-08T10:00:00.000Z", "completedAt": None},
    ]
    workers = [
        {"id": "w1", "status": "orphaned", "createdAt": "not a date"},
        {
            "id": "w2",
            "status": "rejected",
            "createdAt": "2026-06-08T10:00:00.000Z",
            "updatedAt": "2026-06-08T10:00:00.000Z",
        },
    ]
    report = derive_report(run_with(tasks, workers, createdAt="garbage"), NOW, None)
    rows = {r["id"]: r["duration"] for r in report["time"]["tasks"] + report["time"]["workers"]}
    assert rows["a"] == {
        "startedAt": "x",
        "endedAt": "2026-06-08T10:01:00.000Z",
        "wallClockMs": None,
        "inFlight": False,
    }
    assert rows["b"]["wallClockMs"] is None  # negative spans are null, never negative
    assert rows["c"] == {"startedAt": "", "endedAt": "", "wallClockMs": None, "inFlight": True}
    assert rows["d"] == {"endedAt": "2026-06-08T10:01:00.000Z", "wallClockMs": None, "inFlight": False}
    assert rows["e"] == {
        "startedAt": "2026-06-08T10:00:00.000Z",
        "endedAt": None,
        "wallClockMs": None,
        "inFlight": True,
    }
    assert rows["w1"] == {"startedAt": "not a date", "wallClockMs": None, "inFlight": True}
    assert rows["w2"]["wallClockMs"] == 0 and rows["w2"]["inFlight"] is False
    assert report["time"]["run"] == {
        "startedAt": "garbage",
        "endedAt": "2026-06-08T10:10:00.000Z",
        "wallClockMs": None,
        "inFlight": True,
    }
    assert report["time"]["activeTaskMs"] == 0 and report["time"]["inFlight"] == 3


def test_rows_and_units_are_in_code_point_order():
    ids = ["a", "A", "b", "B", "t_a", "t-a", "t:a", "t1", "T1", "task-10", "task-9", "w-1", "w:2"]
    want = ["A", "B", "T1", "a", "b", "t-a", "t1", "t:a", "t_a", "task-10", "task-9", "w-1", "w:2"]
    report = derive_report(run_with([done(i, use("m", inputTokens=1)) for i in ids]), NOW, None)
    assert [r["id"] for r in report["time"]["tasks"]] == want
    assert [u["unit"] for u in report["attestedUsage"]] == want


def test_models_and_backends_are_in_code_unit_order():
    tasks = [
        done("a", use("\uff01x", inputTokens=1), backendId="\uff01b"),
        done("b", use("\U0001f600y", inputTokens=1), backendId="\U0001f600c"),
        done("c", use("Z", inputTokens=1), backendId="node"),
    ]
    report = derive_report(run_with(tasks), NOW, None)
    assert report["usage"]["models"] == ["Z", "\U0001f600y", "\uff01x"]
    assert report["scope"]["backendIds"] == ["node", "\U0001f600c", "\uff01b"]


def test_rates_pools_and_buckets():
    run = run_with(
        tasks=[
            {"id": "legacy", "status": "failed", "dispatchedAt": "2026-06-08T10:00:00.000Z"},
            {"id": "cli", "status": "failed", "dispatchedAt": "2026-06-08T10:00:00.000Z", "workerId": "w"},
            {"id": "never", "status": "pending"},
        ],
        workers=[{"id": "w", "status": "rejected"}],
        nodes=[
            {"id": "v", "kind": "verifier", "status": "completed"},
            {"id": "v2", "kind": "verifier", "status": "blocked"},
            {"id": "v3", "kind": "verifier", "status": "running"},
            {"id": "n", "kind": "result", "status": "failed"},
        ],
        candidates=[{"id": "c", "status": "verified"}],
        feedback=[{"id": "f", "status": "tasked"}, {"id": "g", "status": "resolved"}],
        multiAgent={"memberships": [{"id": "m", "status": "rejected"}]},
    )
    rates = derive_report(run, NOW, None)["rates"]
    assert rates["failure"] == {
        "metric": "failure",
        "state": "ok",
        "count": 3,
        "total": 5,
        "rate": 0.6,
        "buckets": {
            "workers": 1,
            "workersFailed": 1,
            "tasks": 1,
            "tasksFailed": 1,
            "memberships": 1,
            "membershipsFailed": 0,
            "feedback": 2,
            "feedbackUnresolved": 1,
        },
    }
    assert rates["verifierPass"]["buckets"] == {"completed": 1, "blocked": 1, "running": 1}
    assert (rates["verifierPass"]["count"], rates["verifierPass"]["total"]) == (1, 2)
    assert rates["candidateAcceptance"]["rate"] == 1 and type(rates["candidateAcceptance"]["rate"]) is int


def test_collaboration():
    run = run_with(
        candidates=[{"id": "c1", "status": "selected", "createdAt": "2026-06-08T10:00:00.000Z"}],
        commits=[{"id": "k1", "createdAt": "2026-06-08T10:00:00.000Z"}],
        candidateSelections=[{"id": "s1", "selectedAt": "2026-06-08T10:00:01.000Z"}],
        collaboration={
            "approvals": [
                {
                    "decision": "approve",
                    "actor": {"id": "ann"},
                    "target": {"kind": "candidate", "id": "c1"},
                    "createdAt": "2026-06-08T10:00:01.000Z",
                },
                {
                    "decision": "approve",
                    "actor": {"id": "ann"},
                    "target": {"kind": "commit", "id": "k1"},
                    "createdAt": "2026-06-08T10:00:03.000Z",
                },
                {
                    "decision": "approve",
                    "actor": {"id": "unattributed"},
                    "target": {"kind": "selection", "id": "s1"},
                    "createdAt": "2026-06-08T10:00:01.500Z",
                },
                {
                    "decision": "approve",
                    "actor": {"id": "bo"},
                    "target": {"kind": "run", "id": "r1"},
                    "createdAt": "2026-06-08T10:00:09.000Z",
                },
                {
                    "decision": "reject",
                    "actor": {"id": "cy"},
                    "target": {"kind": "candidate", "id": "c1"},
                    "createdAt": "2026-06-08T10:00:02.000Z",
                },
            ],
            "comments": [{}, {}],
            "handoffs": [{}],
        },
    )
    col = derive_report(run, NOW, None)["collaboration"]
    # samples 1000, 3000 and 500 ms: mean 1500, max 3000; reviewers ann and bo (unattributed excluded)
    assert col == {
        "approvals": 4,
        "rejections": 1,
        "comments": 2,
        "handoffs": 1,
        "reviewers": 2,
        "approvalRate": {
            "metric": "approval",
            "state": "ok",
            "count": 4,
            "total": 5,
            "rate": 0.8,
            "buckets": {"approve": 4, "reject": 1},
        },
        "timeToApproval": {"samples": 3, "meanMs": 1500, "maxMs": 3000},
    }


def test_mean_time_to_approval_rounds_half_up():
    approvals = [
        {"decision": "approve", "target": {"kind": "candidate", "id": "c"}, "createdAt": t}
        for t in ("2026-06-08T10:00:00.001Z", "2026-06-08T10:00:00.002Z")
    ]
    run = run_with(
        candidates=[{"id": "c", "createdAt": "2026-06-08T10:00:00.000Z"}], collaboration={"approvals": approvals}
    )
    assert derive_report(run, NOW, None)["collaboration"]["timeToApproval"] == {"samples": 2, "meanMs": 2, "maxMs": 2}


def test_next_action():
    assert derive_report(run_with([done("a")]), NOW, None)["nextAction"] == (
        "No attested usage yet — record host usage on result/worker intake (cw result ... --usage-input-tokens N "
        "--usage-output-tokens M --usage-model ID)."
    )
    assert derive_report(run_with(), NOW, None)["nextAction"] == "cw metrics show r1 --json"


def test_odd_status_values_do_not_break_the_rates():
    run = run_with(
        nodes=[{"id": "v", "kind": "verifier", "status": {"odd": 1}}],
        candidates=[{"id": "c", "status": ["x"]}],
        workers=[{"id": "w", "status": None}],
    )
    rates = derive_report(run, NOW, None)["rates"]
    assert rates["verifierPass"]["buckets"] == {"[object Object]": 1} and rates["verifierPass"]["state"] == "n/a"
    assert rates["candidateAcceptance"]["buckets"] == {"x": 1} and rates["candidateAcceptance"]["count"] == 0


def test_scope_app():
    assert (
        derive_report(run_with(workflow={"id": "wf", "app": {"id": "the-app"}}), NOW, None)["scope"]["app"] == "the-app"
    )
    assert "app" not in derive_report(run_with(workflow={}), NOW, None)["scope"]


# -- attestation and the telemetry ledger --------------------------------------------------


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def ledger(run_id: str, n: int) -> dict[str, Any]:
    """A telemetry ledger built the way CW builds one (canonical = sorted-key compact JSON)."""
    records = []
    prev = _sha(f"cw-telemetry-ledger:{run_id}")
    for i in range(n):
        rec = {
            "schemaVersion": 1,
            "runId": run_id,
            "recordId": f"tel-{i + 1:03d}",
            "recordedAt": "2026-06-08T10:00:00.000Z",
            "workerId": f"w{i}",
            "taskId": f"t{i}",
            "promptDigest": "sha256:p",
            "reportedUsageDigest": "sha256:u",
            "reportedUsage": {"inputTokens": 10, "model": "m"},
            "attestation": "attested",
            "prevHash": prev,
        }
        canonical = {**rec, "usageSignature": None, "attestationReason": None}
        rec["recordHash"] = _sha(json.dumps(canonical, sort_keys=True, separators=(",", ":")))
        prev = rec["recordHash"]
        records.append(rec)
    return {"schemaVersion": 1, "runId": run_id, "records": records}


def att(telemetry: Any = TELEMETRY_MISSING) -> dict[str, Any]:
    return derive_report(run_with(), NOW, None, telemetry=telemetry)["attestation"]["ledger"]


def test_ledger_states():
    assert att() == {"present": False, "verified": True, "records": 0}
    assert att(None) == {"present": True, "verified": False, "records": 0}
    assert att("unparseable") == {"present": True, "verified": False, "records": 0}
    assert att([1, 2]) == {"present": True, "verified": False, "records": 0}
    assert att({"records": "x"}) == {"present": True, "verified": False, "records": 0}
    assert att({"records": []}) == {"present": False, "verified": True, "records": 0}
    assert att(ledger("r1", 2)) == {"present": True, "verified": True, "records": 2}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda doc: doc["records"][0].__setitem__("attestation", "unattested"),
        lambda doc: doc["records"].reverse(),
        lambda doc: doc["records"].pop(0),
        lambda doc: doc["records"][1].__setitem__("recordHash", "sha256:0"),
        lambda doc: doc["records"][0].__setitem__("usageSignature", "sig"),
    ],
)
def test_ledger_detects_edits(tamper):
    doc = ledger("r1", 3)
    tamper(doc)
    assert att(doc)["verified"] is False


def test_ledger_genesis_is_bound_to_the_run_id():
    assert att(ledger("other-run", 1))["verified"] is False


def test_attestation_coverage_over_units():
    verdicts = ["attested", "attested", "unattested", "absent", None]
    tasks = [
        done(f"t{i}", use("m", inputTokens=1, **({"attestation": v} if v else {}))) for i, v in enumerate(verdicts)
    ] + [done("t-none")]
    a = derive_report(run_with(tasks), NOW, None)["attestation"]
    assert {k: a[k] for k in ("units", "attested", "unattested", "absent", "unverified", "verifiedCoverage")} == {
        "units": 6,
        "attested": 2,
        "unattested": 1,
        "absent": 1,
        "unverified": 1,
        "verifiedCoverage": 0.333333,
    }
