"""Every verb's --json payload validates against the schema the capability table names for it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from conftest import copy_fixture_run

from cw.capabilities import all_capabilities
from cw.shell.resources import schema

NOW = "2026-11-22T12:00:00.000Z"


def _every_verb(cw, repo: Path, other: Path) -> dict[str, list[dict]]:
    """Run each verb at least once (with --json) on a small workspace; payloads by capability name."""
    out: dict[str, list[dict]] = {}

    def j(name: str, *args: str) -> dict:
        payload = cw.json(*args)
        out.setdefault(name, []).append(payload)
        return payload

    copy_fixture_run(repo, "fixture-run")
    j(
        "run.new",
        "run",
        "new",
        "--id",
        "a",
        "--app",
        "x",
        "--actor",
        "alice",
        "--token-budget",
        "100000",
        "--cost-budget",
        "5.00",
        "USD",
    )
    j("run.new", "run", "new", "--id", "b", "--parent", "a")
    j("run.new", "run", "new", "--id", "c")
    j("run.link", "run", "link", "c", "--parent", "b")
    for t in ("t1", "t2", "t3"):
        j("task.add", "task", "add", "a", t, "--backend", "shell")
    j("dispatch", "dispatch", "a")
    (repo / "o.md").write_text("result")
    j(
        "result",
        "result",
        "a",
        "t1",
        "o.md",
        "--usage-input-tokens",
        "1000",
        "--usage-output-tokens",
        "10",
        "--usage-model",
        "claude-haiku-4-5",
    )
    own = repo / ".cw/runs/a/workers/worker-t2-0001/result.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("own")
    j("worker.output", "worker", "output", "a", "worker-t2-0001", str(own), "--usage-input-tokens", "5")
    j("worker.fail", "worker", "fail", "a", "worker-t3-0001", "boom")
    j("verify", "verify", "a", "t2", "--status", "rejected")
    j("candidate.register", "candidate", "register", "a", "--worker", "worker-t1-0001", "--id", "k1")
    j("candidate.register", "candidate", "register", "a", "--task", "t2", "--id", "k2")
    j("candidate.select", "candidate", "select", "a", "k1", "--reason", "best")
    j("candidate.reject", "candidate", "reject", "a", "k2", "--reason", "worse")
    j("feedback.open", "feedback", "open", "a", "--message", "look")
    j("feedback.task", "feedback", "task", "a", "feedback-0001")
    j("feedback.resolve", "feedback", "resolve", "a", "feedback-0001", "--node", "a:verifier:t1")
    j("feedback.reject", "feedback", "reject", "a", "feedback-0002")
    j("member.add", "member", "add", "a", "--agent", "r1")
    j("member.set", "member", "set", "a", "membership-0001", "--status", "reported")
    j("revenue.add", "revenue", "add", "a", "10.00", "EUR", "--ref", "I-1")
    j("revenue.reverse", "revenue", "reverse", "a", "rev-0001", "--amount", "1.00", "--reason", "r")
    j("registry.add", "registry", "add", str(other))
    j("registry.list", "registry", "list")
    j("run.list", "run", "list", "--scope", "home")
    j("run.show", "run", "show", "a")
    j("metrics.show", "metrics", "show", "a", "--pricing", "default", "--now", NOW)
    j("metrics.show", "metrics", "show", "fixture-run", "--now", NOW)
    j("metrics.summary", "metrics", "summary", "--scope", "home", "--pricing", "default", "--now", NOW)
    j("revenue.list", "revenue", "list", "--now", NOW)
    j("ledger.verify", "ledger", "verify", "--now", NOW)
    j("pnl", "pnl", "--now", NOW)
    j("pnl", "pnl", "--since", "2026-01-01", "--period", "month", "--tz", "Europe/Berlin", "--now", NOW)
    j("metrics.summary", "metrics", "summary", "--until", "2099-01-01", "--period", "week", "--now", NOW)
    j("run.list", "run", "list", "--since", "2020-01-01", "--now", NOW)
    j("revenue.list", "revenue", "list", "--since", "2020-01-01", "--now", NOW)
    j("ledger.verify", "ledger", "verify", "--since", "2020-01-01", "--now", NOW)
    j("budget.set", "budget", "set", "--actor", "alice", "--period", "month", "--cost", "1.00", "USD", "--tokens", "9")
    j("budget.set", "budget", "set", "--actor", "alice", "--period", "week", "--tokens", "9", "--scope", "home")
    j("budget.list", "budget", "list", "--now", NOW)
    j("budget", "budget", "show", "a", "--now", NOW)
    j("budget.remove", "budget", "remove", "--actor", "alice", "--period", "week", "--scope", "home")
    j("pnl", "pnl", "--by", "run", "--currency", "EUR", "--attribution", "time-decay", "--half-life", "3", "--now", NOW)
    j("budget", "budget", "a", "--now", NOW)
    j("run.new", "run", "new", "--id", "l", "--token-budget", "8", "--cost-budget", "5.00", "USD")
    cw.ok("task", "add", "l", "s1", "--phase", "sample")
    j("loop.add", "loop", "add", "l", "sample", "--task", "s1", "--max-rounds", "3", "--target", "100")
    for round_task in ("s1", "s1@r2"):
        cw.ok("dispatch", "l")
        cw.ok("result", "l", round_task, "o.md", "--usage-input-tokens", "4", "--usage-model", "claude-haiku-4-5")
        j("loop.next", "loop", "next", "l", "sample")  # round 1 opens round 2; round 2 is blocked by the budget
    j("loop.next", "loop", "next", "l", "sample")  # already done
    j("loop.list", "loop", "list", "l", "--now", NOW)
    j("loop.list", "loop", "list", "a", "--now", NOW)
    cw.ok("run", "new", "--id", "p")
    cw.ok("task", "add", "p", "q")
    j("loop.add", "loop", "add", "p", "main", "--task", "q", "--max-rounds", "2", "--until", "predicate", "--ref", "x")
    j("registry.remove", "registry", "remove", str(other))
    j("pricing.import", "pricing", "import", "--from", "genai-prices", "--provider", "anthropic", "-o", "prices.json")
    checked = cw("pricing", "check", "--pricing", "prices.json", "--max-age", "0", "--now", NOW, "--json")
    out.setdefault("pricing.check", []).append(json.loads(checked.stdout))
    ecb = Path(__file__).resolve().parent / "fixtures" / "ecb"
    j("fx.import", "fx", "import", str(ecb / "eurofxref-hist.csv"), "-o", "fx.json")
    (repo / "p.csv").write_text(
        "id,Created (UTC),Amount,Amount Refunded,Currency,Status,cw_run (metadata)\n"
        "ch_1,2026-11-20 10:00:00,30.00,5.00,eur,Paid,a\nch_2,2026-11-20 10:00:00,1.00,0,eur,Failed,a\n"
    )
    j("export", "export", "--format", "jsonl", "--now", NOW)
    j("export", "export", "--format", "focus", "-o", "focus.csv", "--since", "2026-01-01", "--now", NOW)
    for dry in (["--dry-run"], []):
        j(
            "revenue.import",
            "revenue",
            "import",
            "p.csv",
            "--format",
            "stripe-payments",
            "--run-column",
            "cw_run (metadata)",
            *dry,
        )
    return out


def test_every_payload_validates(cw, repo, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    payloads = _every_verb(cw, repo, other)
    caps = {c.name: c for c in all_capabilities()}
    assert set(payloads) == set(caps), f"verbs not exercised: {sorted(set(caps) - set(payloads))}"
    for name, items in payloads.items():
        sch = schema(caps[name].output_schema)
        for p in items:
            jsonschema.validate(p, sch)
    assert payloads["metrics.show"][0]["revenue"]["state"] == "ok"
    state = payloads["run.show"][0]["state"]
    jsonschema.validate(state, schema("state.schema.json"))
    assert payloads["loop.next"][1]["blocked"]["kind"] == "token-budget"
    entry = payloads["revenue.add"][0]["entry"]
    jsonschema.validate(entry, schema("revenue-entry.schema.json"))


def test_revenue_entry_schema_matches_the_struct():
    import msgspec

    from cw.core.ledger import RevenueEntry

    props = set(schema("revenue-entry.schema.json")["properties"])
    assert props == set(RevenueEntry.__struct_fields__)
    assert json.loads(json.dumps(msgspec.json.schema(RevenueEntry)))  # the struct itself has a schema


def test_every_capability_names_an_existing_schema():
    from cw.shell.resources import schema_names

    names = set(schema_names())
    for cap in all_capabilities():
        assert cap.output_schema in names, cap.name
