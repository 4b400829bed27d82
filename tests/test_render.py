"""Text rendering of metrics show and metrics summary (cw-compat §7)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cw.core.metrics import derive_report, pin_valid
from cw.core.pricing import validate_policy
from cw.core.render import format_cost, format_coverage, format_ms, format_rate, render_report_text, render_summary_text
from cw.core.summary import pool_summary, run_entry

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cw"
NOW = "2026-06-08T12:00:00.000Z"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def default_policy():
    return validate_policy(load("policy-default-price.json"), "DEF")


def test_show_text_equals_cws():
    report = derive_report(load("fixture-run.state.json"), NOW, default_policy())
    assert render_report_text(report) == EXPECTED["fixture_default_text"]
    assert render_report_text(EXPECTED["fixture_default"]) == EXPECTED["fixture_default_text"]


def test_show_text_through_metrics_show_says_valid():
    text = render_report_text(pin_valid(derive_report(load("fixture-run.state.json"), NOW, default_policy())))
    first, _, rest = text.partition("\n")
    assert first == "metrics fixture-run  [valid]  app=architecture-review"
    assert rest == EXPECTED["fixture_default_text"].partition("\n")[2]


def test_summary_text_equals_cws():
    pol = default_policy()
    entries = [
        run_entry(derive_report(load(f"{n}.state.json"), NOW, pol), load(f"{n}.state.json"), repo)
        for n, repo in (("fixture-run", "/repoA"), ("empty-run", "/repoB"))
    ]
    summary = pool_summary(entries, [], "home", NOW, None)
    # cw adds one line per actor group before next: (CW's runs have no actor: "unattributed")
    app_line = next(line for line in EXPECTED["summary_default_text"].splitlines() if line.startswith("  app "))
    actor_line = "  actor unattributed: runs=2 " + app_line.split(": runs=2 verifier=66.7% (2/3) ", 1)[1]
    want = EXPECTED["summary_default_text"].replace("\n  next:", f"\n{actor_line}\n  next:")
    assert render_summary_text(summary) == want
    assert render_summary_text(EXPECTED["summary_default"]) == EXPECTED["summary_default_text"]


def test_summary_text_names_unreadable_and_omitted_runs():
    summary = copy.deepcopy(EXPECTED["summary_default"])
    summary.update(
        unreadableRuns=2,
        omittedRuns=3,
        unreadable=[
            {"runId": "bad-1", "repo": "/repoA", "reason": "Invalid JSON in /repoA/.cw/runs/bad-1/state.json: x"},
            {
                "runId": "bad-2",
                "repo": "/repoB",
                "reason": "Unsupported CW run state: tasks must be an array when present.",
            },
        ],
    )
    lines = render_summary_text(summary).split("\n")
    assert lines[0] == "metrics summary  scope=home  runs=2 (+2 unreadable)"
    assert lines[-4:] == [
        "  unreadable bad-1 (/repoA): Invalid JSON in /repoA/.cw/runs/bad-1/state.json: x",
        "  unreadable bad-2 (/repoB): Unsupported CW run state: tasks must be an array when present.",
        "  omitted: 3 older runs not shown or checked (--limit 2; a larger --limit reads them)",
        "  next: Per-run detail: cw metrics show <run-id> --json",
    ]
    assert lines[-5] == "  backend unreported: runs=1 failure=n/a (0 samples)"


def test_empty_summary_text():
    text = render_summary_text(pool_summary([], [], "repo", NOW, None))
    assert text == (
        "metrics summary  scope=repo  runs=0\n"
        "  failure-rate:    n/a (0 samples)\n"
        "  verifier-pass:   n/a (0 samples)\n"
        "  cand-acceptance: n/a (0 samples)\n"
        "  usage: attested=0/0 units (coverage n/a); tokens total=0\n"
        "  cost:  state=unreported\n"
        "  next: No indexed runs; run a workflow, then `cw metrics summary`."
    )


@pytest.mark.parametrize(
    "ms, text",
    [(None, "—"), (0, "0ms"), (999, "999ms"), (1000, "1.0s"), (1450, "1.4s"), (1550, "1.6s"), (600000, "600.0s")],
)
def test_format_ms(ms, text):
    assert format_ms(ms) == text


@pytest.mark.parametrize("cov, text", [(None, "n/a"), (0.125, "13%"), (0.666667, "67%"), (1, "100%"), (0, "0%")])
def test_format_coverage(cov, text):
    assert format_coverage(cov) == text


def test_format_rate():
    assert format_rate({"state": "n/a", "rate": None, "count": None, "total": 0}) == "n/a (0 samples)"
    assert format_rate({"state": "ok", "rate": 0.666667, "count": 2, "total": 3}) == "66.7% (2/3)"
    assert format_rate({"state": "ok", "rate": 1, "count": 4, "total": 4}) == "100.0% (4/4)"
    assert format_rate({"state": "ok", "rate": 0.000001, "count": 1, "total": 1000000}) == "0.0% (1/1000000)"


def test_format_cost():
    assert (
        format_cost(
            {"state": "attested", "currency": "USD", "attestedUsd": 0, "estimatedUsd": None, "unpricedModels": []}
        )
        == "state=attested  attested=USD 0"
    )
    assert (
        format_cost(
            {
                "state": "estimated",
                "currency": "EUR",
                "attestedUsd": Decimal("0.000001"),
                "estimatedUsd": Decimal("12.5"),
                "unpricedModels": ["a", "b"],
            }
        )
        == "state=estimated  attested=EUR 0.000001  estimated=EUR 12.5  unpriced-models=a,b"
    )


def test_in_flight_run_without_duration_and_approval_time():
    run = {
        "id": "r",
        "createdAt": "x",
        "updatedAt": "2026-06-08T10:00:00.000Z",
        "workflow": {},
        "tasks": [{"id": "t", "status": "running"}],
        "candidates": [{"id": "c", "status": "scored", "createdAt": "2026-06-08T10:00:00.000Z"}],
        "collaboration": {
            "approvals": [
                {
                    "decision": "approve",
                    "actor": {"id": "a"},
                    "target": {"kind": "candidate", "id": "c"},
                    "createdAt": "2026-06-08T10:00:02.500Z",
                }
            ]
        },
    }
    lines = render_report_text(derive_report(run, NOW, None)).split("\n")
    assert lines[0] == "metrics r  [absent]  app=-"
    assert lines[1] == "  time: run=— (in-flight)  active-task=0ms  in-flight-items=1"
    assert lines[5].endswith("approval-rate=100.0% (1/1)  time-to-approval=3s (1 samples)")
    assert lines[6] == "  usage: attested=0/0 units (coverage n/a), unreported=0; tokens in=0 out=0 total=0"
    assert not any(line.startswith("  models:") for line in lines)
