"""The summary's fast paths give the bytes of the plain path: lean readers, --limit ranking, processes.

The reference here is the summary as it is specified, computed the long way
with independent pieces: every run read by the store's ``read_run_dir`` (a
full decode), the full ``derive_report`` (not the summary-only derivation),
``run_entry`` and ``pool_summary`` over all runs, one at a time. The command
under test is ``cw metrics summary --json`` through the CLI, which reads
through ``cw.shell.fastload``, derives only the runs ``--limit`` keeps and may
fork. Snapshots are present, absent, stale, written under another pricing
policy, corrupt, or valid while the state changed in a key the fingerprint
does not cover: in every case the payload must be the reference's, and
warm and cold payloads may differ only in each run's ``freshness`` string.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO_ROOT
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cw.capabilities import reports
from cw.core import ledger
from cw.core import state as loader
from cw.core.fingerprint import fingerprint_strings
from cw.core.jsonout import dumps
from cw.core.metrics import derive_report, derive_summary_report
from cw.core.numbers import cu_key
from cw.core.summary import newest_key, pool_summary, run_entry
from cw.model.errors import CwError
from cw.shell import fastload, sidefiles
from cw.shell.policies import load_pricing_policy
from cw.shell.scan import HEAD_BYTES, load_scanned
from cw.shell.store import encode_state, read_run_dir

NOW = "2026-11-22T12:00:00.000Z"
DEF = FIXTURES / "policy-default-price.json"
EXACT = FIXTURES / "policy-exact.json"

_spec = importlib.util.spec_from_file_location("gen_runs", REPO_ROOT / "benchmarks" / "gen_runs.py")
assert _spec is not None and _spec.loader is not None
gen_runs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("gen_runs", gen_runs)
_spec.loader.exec_module(gen_runs)


# ---------------------------------------------------------------------------
# A workspace of realistic runs, plus every kind of odd or broken run
# ---------------------------------------------------------------------------


def _write(repo: Path, rid: str, doc: Any, *, raw: bytes | None = None) -> Path:
    d = repo / ".cw" / "runs" / rid
    d.mkdir(parents=True, exist_ok=True)
    (d / "state.json").write_bytes(raw if raw is not None else encode_state(doc))
    return d


def _odd_runs(repo: Path, rng: random.Random) -> None:
    """Runs the lean readers must hand to the store, and runs the store refuses."""
    base = gen_runs.build_state("odd-base", repo, rng, n_tasks=6, created_ms=gen_runs.BASE_MS)

    def variant(rid: str, **changes: Any) -> dict[str, Any]:
        doc = copy.deepcopy(base)
        doc["id"] = rid
        doc.update(changes)
        return doc

    # readable, but not the shape the lean decode declares: the store's reader takes over
    odd = variant("odd-records")
    odd["tasks"].append("not a record")
    odd["workers"].append(7)
    odd["nodes"].append(None)
    _write(repo, "odd-records", odd)
    out = variant("odd-output")
    out["workers"][0]["output"] = True
    out["workers"][-1]["output"] = "x"
    _write(repo, "odd-output", out)
    values = variant("odd-values")
    values["tasks"][0].update(id=5, status=None, dispatchedAt="", backendId=0)
    values["tasks"][1]["usage"] = {
        "source": None,
        "model": "",
        "inputTokens": 1.5,
        "outputTokens": 2**60,
        "totalTokens": True,
        "reasoningTokens": 3,
    }
    values["workers"][0]["usage"] = {}
    values["workers"][0]["outputSizeBytes"] = "12"
    _write(repo, "odd-values", values)
    legacy = variant("legacy-run")
    for key in ("schemaVersion", "phases", "paths", "inputs", "multiAgent", "loopStage"):
        legacy.pop(key)
    legacy["workflowId"] = "legacy-flow"
    legacy.pop("workflow")
    _write(repo, "legacy-run", legacy)  # no workflow/paths, but an empty run dir: loads (migrated)
    _write(repo, "dir-name-differs", variant("the-id-inside"))
    _write(
        repo,
        "unicode-run",
        variant("unicode-run", actor="José 🚀", tasks=[{**t, "prompt": "résumé ✓ 𝄞"} for t in base["tasks"]]),
    )
    # records the loader may check beyond what the summary reads: whatever it decides, both paths agree
    checked = variant("checked-dispatch")
    checked["dispatches"][0]["id"] = 7
    _write(repo, "checked-dispatch", checked)
    checked = variant("checked-worker")
    checked["workers"][0]["errors"] = {}
    _write(repo, "checked-worker", checked)
    checked = variant("checked-node")
    checked["nodes"][0]["kind"] = 5
    _write(repo, "checked-node", checked)
    checked = variant("checked-tokens")
    next(w for w in checked["workers"] if "usage" in w)["usage"]["cacheReadTokens"] = 10**16
    _write(repo, "checked-tokens", checked)
    _write(repo, "checked-selection", variant("checked-selection", candidateSelections=[{"id": None}]))
    _write(repo, "tie-a", variant("tie-a", createdAt="2026-12-01T00:00:00.000Z"))
    _write(repo, "tie-b", variant("tie-b", createdAt="2026-12-01T00:00:00.000Z"))

    # unreadable: the store's refusals, each with its own message
    _write(repo, "bad-json", None, raw=encode_state(base)[:-200])
    _write(repo, "future-schema", variant("future-schema", schemaVersion=2))
    _write(repo, "schema-text", variant("schema-text", schemaVersion="1"))
    _write(repo, "not-object", [1, 2])
    _write(repo, "tasks-object", variant("tasks-object", tasks={}))
    _write(repo, "paths-null", variant("paths-null", paths=None))
    _write(repo, "inputs-number", variant("inputs-number", inputs=3))
    _write(repo, "phases-text", variant("phases-text", phases="main"))
    _write(repo, "members-text", variant("members-text", multiAgent={"memberships": "m"}))
    _write(repo, "id-number", variant("id-number", id=12))
    out_of_range = encode_state(variant("range")).replace(b'"schemaVersion": 1', b'"schemaVersion": 1e999', 1)
    _write(repo, "range", None, raw=out_of_range)
    wiped = _write(repo, "wiped", {})
    (wiped / "tasks").mkdir()
    (wiped / "tasks" / "t1.md").write_text("work")
    booked = variant("broken-ledger")
    booked["revenue"], _ = ledger.book(
        None,
        run_id="broken-ledger",
        amount="100.00",
        currency="USD",
        ref="INV-1",
        at=NOW,
        recorded_at=NOW,
        actor="alice",
    )
    booked["revenue"]["entries"][0]["amount"] = "1.00"  # edited after it was hashed
    _write(repo, "broken-ledger", booked)


@pytest.fixture
def workspace(tmp_path: Path, isolated_home: Path) -> dict[str, Any]:
    """Three repos of generated runs (one with the odd ones), registered in the home registry."""
    rng = random.Random(3)
    ws = gen_runs.build_workspace(tmp_path / "repos", repos=3, runs_per_repo=9, seed=5, min_tasks=3, max_tasks=9)
    _odd_runs(ws.repos[1], rng)
    for name in ("fixture-run", "empty-run"):
        d = ws.repos[2] / ".cw" / "runs" / name
        d.mkdir(parents=True)
        shutil.copy(FIXTURES / f"{name}.state.json", d / "state.json")
    gen_runs.register(isolated_home, ws.repos)
    return {"repos": ws.repos, "cwd": ws.repos[0]}


def _run_dirs(repos: list[Path]) -> list[tuple[Path, Path]]:
    return [
        (r, d)
        for r in sorted(repos, key=str)
        for d in sorted((r / ".cw" / "runs").iterdir())
        if (d / "state.json").is_file()
    ]


def _head(path: Path) -> tuple[str, str] | None:
    """``(createdAt, id)`` from the scalar members that open the file's first HEAD_BYTES, decoded with the
    standard library's scanner (an escaped or non-string value, or a missing one, gives None)."""
    text = path.read_bytes()[:HEAD_BYTES].decode("utf-8", "replace")
    dec = json.JSONDecoder()
    ws = " \t\n\r"
    i = len(text) - len(text.lstrip(ws))
    if not text[i:].startswith("{"):
        return None
    i += 1
    found: dict[str, Any] = {}
    try:
        while True:
            while text[i] in ws:
                i += 1
            if text[i] != '"':
                break
            start = i
            key, i = json.decoder.scanstring(text, i + 1)
            raw_key = text[start:i]
            while text[i] in ws:
                i += 1
            i += 1  # the colon
            while text[i] in ws:
                i += 1
            if text[i] in "{[":
                break
            start = i
            value, i = dec.raw_decode(text, i)
            if key in ("id", "createdAt"):
                plain = "\\" not in raw_key and "\\" not in text[start:i] and isinstance(value, str)
                found[key] = value if plain else None
            while text[i] in ws:
                i += 1
            if text[i] != ",":
                break
            i += 1
    except (IndexError, ValueError):
        pass
    created, rid = found.get("createdAt"), found.get("id")
    return (created, rid) if created is not None and rid is not None else None


def reference(repos: list[Path], policy_file: Path | None, limit: int | None) -> str:
    """The summary's ``--json`` text the long way: full decode, full report, one run at a time.

    With a limit, runs are taken newest first by the key their head gives (by their own key once read,
    or when the head gives none); a run read whole that cannot be read is listed, the runs never reached
    are omitted."""
    policy = load_pricing_policy(str(policy_file), Path.cwd()) if policy_file else None

    def read(repo: Path, d: Path) -> Any:
        item = load_scanned(repo, d)
        if item.error is None:
            try:
                reports._check_ledger(item)
                report = derive_report(item.state, NOW, policy, sidefiles.persisted_fingerprint(d))
                return run_entry(report, item.state, str(repo), d.name)
            except CwError as exc:
                item.error = exc.message
        return {"runId": item.run_id, "repo": str(repo), "reason": item.error}

    entries, unreadable, omitted = [], [], 0
    runs = _run_dirs(repos)
    if limit is None or limit >= len(runs):
        for repo, d in runs:
            got = read(repo, d)
            (unreadable if isinstance(got, dict) else entries).append(got)
    else:
        todo: list[tuple[tuple[bytes, ...], Any]] = []
        for repo, d in runs:
            head = _head(d / "state.json")
            if head is not None:
                todo.append(((cu_key(head[0]), cu_key(head[1]), cu_key(str(repo))), (repo, d)))
                continue
            got = read(repo, d)
            if isinstance(got, dict):
                unreadable.append(got)
            else:
                todo.append((newest_key(got), got))
        while todo and len(entries) < limit:
            todo.sort(key=lambda t: t[0], reverse=True)
            key, what = todo.pop(0)
            got = read(*what) if isinstance(what, tuple) else what
            if isinstance(got, dict):
                unreadable.append(got)
            elif newest_key(got) == key:
                entries.append(got)
            else:
                todo.append((newest_key(got), got))
        omitted = len(todo)
    header = {"name": str(policy_file) if policy_file else "none", "id": policy.id if policy else None, "from": "flag"}
    pooled = pool_summary(entries, unreadable, "home", NOW, limit, omitted=omitted)
    return dumps({**pooled, "pricingPolicy": header}) + "\n"


def summary(cw, ws: dict[str, Any], policy_file: Path | None, limit: int | None) -> str:
    """``cw metrics summary --scope home --json`` as printed."""
    args = ["metrics", "summary", "--scope", "home", "--now", NOW, "--cwd", str(ws["cwd"]), "--json"]
    args += ["--pricing", str(policy_file) if policy_file else "none"]
    if limit is not None:
        args += ["--limit", str(limit)]
    return cw.ok(*args).stdout


def _without_freshness(text: str) -> dict[str, Any]:
    out = json.loads(text)
    for r in out["runs"]:
        r["freshness"] = "-"
    return out


def _show_all(cw, repos: list[Path], policy_file: Path) -> int:
    n = 0
    for repo, d in _run_dirs(repos):
        res = cw("metrics", "show", d.name, "--json", "--now", NOW, "--pricing", str(policy_file), "--cwd", str(repo))
        n += res.exit_code == 0
    return n


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def test_the_workspace_has_what_the_tests_need(cw, workspace):
    got = json.loads(summary(cw, workspace, DEF, 10_000))
    reasons = {u["runId"]: u["reason"] for u in got["unreadable"]}
    assert {
        "bad-json",
        "future-schema",
        "schema-text",
        "not-object",
        "tasks-object",
        "paths-null",
        "inputs-number",
        "phases-text",
        "members-text",
        "id-number",
        "range",
        "wiped",
        "broken-ledger",
    } <= set(reasons)
    assert "Number out of range" in reasons["range"]
    assert reasons["wiped"].startswith("Refusing to load run wiped")
    assert reasons["broken-ledger"].startswith("revenue ledger does not verify (rev-0001:")
    run_ids = {r["runId"] for r in got["runs"]}
    assert {"legacy-run", "the-id-inside", "unicode-run", "fixture-run", "empty-run", "tie-a"} <= run_ids
    assert got["runCount"] >= 30 and got["omittedRuns"] == 0


@pytest.mark.parametrize("limit", [None, 1, 3, 20, 10_000])
@pytest.mark.parametrize("policy", [DEF, EXACT, None], ids=["default-price", "exact", "no-policy"])
def test_cold_summary_equals_the_long_way(cw, workspace, policy, limit):
    want = reference(workspace["repos"], policy, 50 if limit is None else limit)
    assert summary(cw, workspace, policy, limit) == want


@pytest.mark.parametrize("limit", [2, 10_000])
def test_forked_processes_give_the_same_bytes(cw, workspace, monkeypatch, limit):
    alone = summary(cw, workspace, DEF, limit)
    monkeypatch.setattr(reports, "_processes", lambda n: 2)
    forked = summary(cw, workspace, DEF, limit)
    assert forked == alone == reference(workspace["repos"], DEF, limit)


def test_warm_equals_cold_but_for_freshness(cw, workspace):
    cold = summary(cw, workspace, DEF, 10_000)
    assert {r["freshness"] for r in json.loads(cold)["runs"]} == {"absent"}
    # show also derives the run whose revenue ledger is broken; the summary lists that one as unreadable
    assert _show_all(cw, workspace["repos"], DEF) == json.loads(cold)["runCount"] + 1
    warm = summary(cw, workspace, DEF, 10_000)
    assert {r["freshness"] for r in json.loads(warm)["runs"]} == {"valid"}
    assert _without_freshness(warm) == _without_freshness(cold)
    assert warm.replace('"freshness": "valid"', '"freshness": "absent"') == cold
    assert warm == reference(workspace["repos"], DEF, 10_000)
    assert summary(cw, workspace, DEF, 4) == reference(workspace["repos"], DEF, 4)


def test_snapshots_from_another_policy_are_valid_and_not_reused(cw, workspace):
    _show_all(cw, workspace["repos"], EXACT)
    text = summary(cw, workspace, DEF, 10_000)
    got = json.loads(text)
    assert {r["freshness"] for r in got["runs"]} == {"valid"}
    assert text == reference(workspace["repos"], DEF, 10_000)
    # the snapshots priced the runs under EXACT; the summary prices them under its own policy
    snap = json.loads((workspace["repos"][2] / ".cw/runs/fixture-run/metrics/metrics-report.json").read_text())
    row = next(r for r in got["runs"] if r["runId"] == "fixture-run")
    assert snap["cost"]["policyId"] == "test-exact" and row["cost"]["policyId"] == "test-default"
    assert snap["cost"]["state"] == "unpriced" and row["cost"]["state"] == "estimated"


def test_stale_absent_and_corrupt_snapshots(cw, workspace):
    repos = workspace["repos"]
    _show_all(cw, repos, DEF)
    runs = [d for _, d in _run_dirs(repos) if (d / "metrics" / "metrics-report.json").is_file()]
    stale, absent, corrupt, no_fp = runs[0], runs[1], runs[2], runs[3]
    state = json.loads((stale / "state.json").read_text())
    state["updatedAt"] = "2026-12-31T00:00:00.000Z"
    (stale / "state.json").write_bytes(encode_state(state))
    shutil.rmtree(absent / "metrics")
    (corrupt / "metrics" / "metrics-report.json").write_text("{ not json")
    (no_fp / "metrics" / "metrics-report.json").write_text('{"schemaVersion": 1}')
    text = summary(cw, workspace, DEF, 10_000)
    fresh = {(r["repo"], r["runId"]): r["freshness"] for r in json.loads(text)["runs"]}

    def status(d: Path) -> str:
        return fresh[(str(d.parent.parent.parent), json.loads((d / "state.json").read_text())["id"])]

    assert (status(stale), status(absent), status(corrupt), status(no_fp)) == ("stale", "absent", "absent", "absent")
    assert text == reference(repos, DEF, 10_000)
    assert summary(cw, workspace, DEF, 5) == reference(repos, DEF, 5)


def test_a_valid_snapshot_never_stands_in_for_the_state(cw, workspace, tmp_path):
    """The fingerprint leaves out cache and total tokens, attestedAt and task workerIds: a snapshot can be
    valid while those changed by hand. The summary must report the state as it is now."""
    repos = workspace["repos"]
    cachey = tmp_path / "cachey.json"
    cachey.write_text(
        json.dumps(
            {
                "schemaVersion": 1,
                "id": "cachey",
                "models": [],
                "defaultPrice": {"inputPerMillion": 3, "outputPerMillion": 15, "cacheReadPerMillion": 1},
            }
        )
    )
    _show_all(cw, repos, cachey)
    for _, d in _run_dirs(repos[:1]):
        state = json.loads((d / "state.json").read_text())
        usage = next((w["usage"] for w in state["workers"] if "usage" in w and "output" in w), None)
        if usage is not None:
            break
    assert usage is not None
    usage["cacheReadTokens"] = 5_000_000
    usage["totalTokens"] = 123_456_789
    usage["attestedAt"] = "2020-01-01T00:00:00.000Z"
    for t in state["tasks"]:
        t.pop("workerId", None)
    (d / "state.json").write_bytes(encode_state(state))
    text = summary(cw, workspace, cachey, 10_000)
    row = next(r for r in json.loads(text)["runs"] if r["runId"] == state["id"])
    assert row["freshness"] == "valid"
    snap = json.loads((d / "metrics" / "metrics-report.json").read_text())
    assert row["usage"] != snap["usage"] and row["rates"]["failure"] != snap["rates"]["failure"]
    assert row["cost"]["estimatedUsd"] > snap["cost"]["estimatedUsd"]
    assert text == reference(repos, cachey, 10_000)


def test_limit_reads_only_the_runs_it_reaches(cw, workspace, monkeypatch):
    """--limit ranks runs by their heads and reads whole only the runs it takes (and those without a head)."""
    read: list[str] = []
    real = reports._summary_item

    def counted(job: Any, repo: Path, d: Path) -> Any:
        read.append(d.name)
        return real(job, repo, d)

    monkeypatch.setattr(reports, "_summary_item", counted)
    got = json.loads(summary(cw, workspace, DEF, 3))
    headless = {"not-object", "wiped", "id-number"}  # no plain createdAt and id open these files
    assert got["runCount"] == 3 and headless <= set(read)
    assert len(read) < len(_run_dirs(workspace["repos"])) / 2
    assert got["omittedRuns"] == len(_run_dirs(workspace["repos"])) - len(read)
    assert summary(cw, workspace, DEF, 3) == reference(workspace["repos"], DEF, 3)


def test_a_run_whose_own_created_at_differs_from_its_head_is_ranked_by_its_own(cw, workspace):
    """A repeated ``createdAt`` (the last one counts, as for every JSON reader): the head says 2099, the run
    says 2000, so it ranks first by its head, is read, and then falls to the end."""
    repo = workspace["repos"][0]
    doc = json.loads((FIXTURES / "fixture-run.state.json").read_text())
    doc["id"] = "two-dates"
    doc["createdAt"] = "2099-01-01T00:00:00.000Z"
    raw = encode_state(doc).rstrip()
    assert raw.endswith(b"}")
    _write(repo, "two-dates", None, raw=raw[:-1] + b',\n  "createdAt": "2000-01-01T00:00:00.000Z"\n}\n')
    assert read_run_dir(repo / ".cw" / "runs" / "two-dates")["createdAt"].startswith("2000")
    got = json.loads(summary(cw, workspace, DEF, 3))
    assert "two-dates" not in {r["runId"] for r in got["runs"]} and got["runCount"] == 3
    assert summary(cw, workspace, DEF, 3) == reference(workspace["repos"], DEF, 3)
    assert "two-dates" in {r["runId"] for r in json.loads(summary(cw, workspace, DEF, 10_000))["runs"]}


def test_the_lean_reader_agrees_with_the_store(workspace):
    """Per run: the same refusal and message, or the same summary derivation and ranking keys."""
    policy = load_pricing_policy(str(DEF), Path.cwd())
    n_ok = n_bad = 0
    for repo, d in _run_dirs(workspace["repos"]):
        try:
            full = read_run_dir(d)
        except CwError as exc:
            with pytest.raises(type(exc)) as got:
                fastload.read_summary_state(d)
            assert got.value.message == exc.message
            n_bad += 1
            continue
        lean = fastload.read_summary_state(d)
        assert derive_summary_report(lean, NOW, policy) == derive_summary_report(full, NOW, policy)
        e_full = run_entry(derive_report(full, NOW, policy), full, str(repo))
        e_lean = run_entry(derive_summary_report(lean, NOW, policy), lean, str(repo))
        assert (
            e_lean.ref,
            e_lean.run_id,
            e_lean.created_at,
            e_lean.backend_bytes,
            e_lean.output_bytes,
            e_lean.actor,
        ) == (e_full.ref, e_full.run_id, e_full.created_at, e_full.backend_bytes, e_full.output_bytes, e_full.actor)
        assert lean.get("revenue") == full.get("revenue")
        n_ok += 1
    assert n_ok >= 30 and n_bad >= 12


def test_the_lean_reader_decodes_every_record_key_the_loader_checks():
    """If the loader starts checking another record key, the lean decode must carry it (or it would miss
    the refusal). This fails until ``fastload.RECORD_KEYS`` is extended."""
    for where, fields in loader._RECORD_FIELDS.items():
        assert set(fields) <= set(fastload.RECORD_KEYS[where]), where
    assert {"id", "status"} <= set(fastload.RECORD_KEYS["multiAgent.memberships"])


_ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ASCII, max_size=8))
@example(["task:a\\b:completed"])
@example(['id:"quoted"', "x"])
@example(["feedback:f\x01:open", "\x1f", "\x7f"])
@example([])
def test_fingerprint_encoding_shortcut_is_json(parts):
    """ASCII parts skip the JSON encoder only when it would write them unchanged."""
    text = json.dumps(sorted(parts), ensure_ascii=False, separators=(",", ":"))
    assert fingerprint_strings(parts) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _collaboration_runs(repo: Path) -> None:
    """CW's review run with approvals whose time to approval looks up candidates, commits and selections."""
    base = json.loads((FIXTURES / "cw-written" / "review.state.json").read_text())
    cand, commit, sel = base["candidates"][0], base["commits"][1], base["candidateSelections"][0]
    approvals = [
        {"decision": "approve", "actor": {"id": "ana"}, "createdAt": "2026-12-02T00:00:00.000Z", "target": t}
        for t in (
            {"kind": "candidate", "id": cand["id"]},
            {"kind": "commit", "id": commit["id"]},
            {"kind": "selection", "id": sel["id"]},
            {"kind": "commit", "id": "no-such-commit"},
        )
    ] + [{"decision": "reject", "actor": {"id": "bo"}, "target": {"kind": "candidate", "id": cand["id"]}}]
    collab = {"schemaVersion": 1, "approvals": approvals, "comments": [{"body": "ok"}], "handoffs": [1, 2]}
    variants: dict[str, dict[str, Any]] = {
        "review-collab": {"collaboration": collab},
        "review-collab-text": {"collaboration": "reviewed"},
        "review-commit-text": {"collaboration": collab, "commits": [*base["commits"], "loose"]},
        "review-undated": {
            "collaboration": collab,
            "commits": [{k: v for k, v in c.items() if k != "createdAt"} for c in base["commits"]],
        },
    }
    for rid, change in variants.items():
        _write(repo, rid, {**copy.deepcopy(base), "id": rid, **change})


def test_the_show_reader_agrees_with_the_store(workspace):
    """``metrics show``'s lean reader: per run, the same refusal and message, or the same full report."""
    _collaboration_runs(workspace["repos"][0])
    policy = load_pricing_policy(str(DEF), Path.cwd())
    n_ok = n_bad = n_approved = 0
    for _, d in _run_dirs(workspace["repos"]):
        try:
            full = read_run_dir(d)
        except CwError as exc:
            with pytest.raises(type(exc)) as got:
                fastload.read_show_state(d)
            assert got.value.message == exc.message
            n_bad += 1
            continue
        lean = fastload.read_show_state(d)
        report = derive_report(full, NOW, policy, telemetry=sidefiles.read_telemetry(d))
        assert derive_report(lean, NOW, policy, telemetry=sidefiles.read_telemetry(d)) == report
        assert lean.get("revenue") == full.get("revenue") and lean.get("id") == full.get("id")
        n_ok += 1
        n_approved += report["collaboration"]["timeToApproval"]["samples"] > 0
    assert n_ok >= 30 and n_bad >= 12 and n_approved >= 2
