"""Read verbs over derived metrics, and the home registry verbs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from cw.capabilities.table import CWD, NOW, PRICING, SCOPE, Capability, Param
from cw.core.jsonout import dumps
from cw.core.metrics import derive_report, derive_summary_report, pin_valid
from cw.core.netting import revenue_and_net
from cw.core.render import render_report_text, render_summary_text
from cw.core.summary import RunEntry, parse_limit, pool_summary, run_entry
from cw.model.errors import CwError, LedgerError, UsageError
from cw.shell import registry, sidefiles
from cw.shell.policies import load_pricing_policy
from cw.shell.scan import ScannedRun, iter_run_dirs, load_scanned
from cw.shell.workspace import Workspace

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)


def registry_add(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    root = ws.repo(a.get("path"))
    return registry.add_repo(ws.home, root, ws.now())


def registry_remove(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    root = (ws.process_cwd / a["path"]).resolve() if a.get("path") else ws.process_cwd
    return registry.remove_repo(ws.home, Path(root))


def registry_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    repos = registry.read_repos(ws.home)
    return {"schemaVersion": 1, "surface": "registry", "file": str(registry.repos_file(ws.home)),
            "repos": [{"root": r["root"], "addedAt": r.get("addedAt"), "exists": Path(r["root"]).is_dir()}
                      for r in repos]}


def _text_registry(p: dict[str, Any]) -> str:
    lines = [f"home registry  {p['file']}  repos={len(p['repos'])}"]
    lines += [f"  {r['root']}  added={r['addedAt']}" + ("" if r["exists"] else "  (missing)") for r in p["repos"]]
    return "\n".join(lines)


# --- metrics ---------------------------------------------------------------------------------------


def _revenue_keys(run_dir: Path, state: dict[str, Any], cost: dict[str, Any]) -> dict[str, Any]:
    from cw.capabilities.money import has_ledger, verify_loaded

    if not has_ledger(run_dir, state):
        return {}
    return revenue_and_net(state.get("revenue"), verify_loaded(run_dir, state), cost)


def metrics_show(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    """Derive one run's report (the run is loaded before the policy, as in CW) and write its snapshot."""
    if not a.get("run_id"):
        raise UsageError('Missing run id.\n  Tip: find run ids with "cw run list" or create one with '
                         '"cw run new"', hint="cw run list")
    loaded = ws.store(a.get("cwd")).read(a["run_id"])
    policy = load_pricing_policy(a.get("pricing"), ws.process_cwd)
    report = pin_valid(derive_report(loaded.state, ws.now(a.get("now")), policy,
                                     telemetry=sidefiles.read_telemetry(loaded.dir)))
    report.update(_revenue_keys(loaded.dir, loaded.state, report["cost"]))
    if not ws.read_only:
        sidefiles.write_snapshot(loaded.dir, dumps(report) + "\n")
    return report


def _summary_entry(item: ScannedRun, policy: Any, now: str) -> RunEntry:
    from cw.capabilities.money import has_ledger, verify_loaded

    state = item.state
    assert state is not None
    if has_ledger(item.dir, state):
        res = verify_loaded(item.dir, state)
        if not res.ok:
            p = res.problem or {}
            raise LedgerError(f"revenue ledger does not verify ({p.get('entryId') or 'ledger'}: {p.get('what')})")
    report = derive_summary_report(state, now, policy, sidefiles.persisted_fingerprint(item.dir))
    return run_entry(report, state, str(item.repo))


def metrics_summary(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    """Pool every readable run of the scope, one run in memory at a time; unreadable runs are listed."""
    limit = parse_limit(a.get("limit"))
    scope = "home" if a.get("scope") == "home" else "repo"
    now = ws.now(a.get("now"))
    run_dirs = list(iter_run_dirs(ws, scope, a.get("cwd")))
    policy = load_pricing_policy(a.get("pricing"), ws.process_cwd)
    unreadable: list[dict[str, Any]] = []

    def entries() -> Iterator[RunEntry]:
        for repo, d in run_dirs:
            item = load_scanned(repo, d)
            if item.error is None:
                try:
                    yield _summary_entry(item, policy, now)
                    continue
                except CwError as exc:
                    item.error = exc.message
            unreadable.append({"runId": item.run_id, "repo": str(item.repo), "reason": item.error})

    return pool_summary(entries(), unreadable, scope, now, limit)


CAPABILITIES: tuple[Capability, ...] = (
    Capability("metrics.show", ("metrics", "show"),
               "Derive one run's metrics: durations, rates with samples, attested usage, cost.", (
        Param("run_id", "the run's id", positional=True, metavar="RUN", mcp_name="runId"),
        PRICING, NOW, CWD, JSON_OUT), metrics_show, read_only=False, text=render_report_text,
        description="Also writes the snapshot .cw/runs/<id>/metrics/metrics-report.json (the exact --json "
                    "bytes). Cost is attested, estimated, unpriced or unreported — never a made-up zero; "
                    "pass --pricing default for the bundled prices.",
        examples=("cw metrics show <run-id> --pricing default", "cw metrics show <run-id> --json --now 2026-06-08T12:00:00.000Z")),
    Capability("metrics.summary", ("metrics", "summary"),
               "Pool metrics across runs, with per-app, per-backend and per-actor breakdowns.", (
        SCOPE, Param("limit", "keep the N newest runs (default 50)", type="integer", metavar="N"),
        PRICING, NOW, CWD, JSON_OUT), metrics_summary, read_only=True, text=render_summary_text,
        description="Writes nothing. Runs that cannot be read are counted and listed, never dropped; each "
                    "run's snapshot is marked valid, stale or absent.",
        examples=("cw metrics summary --scope home --pricing default",)),
    Capability("registry.add", ("registry", "add"), "Register a repo for the home scope.", (
        Param("path", "the repo directory (default: the current directory)", positional=True, metavar="PATH"),
        JSON_OUT), registry_add, read_only=False,
        text=lambda p: f"{'registered' if p['added'] else 'already registered'}: {p['root']}"),
    Capability("registry.list", ("registry", "list"), "List the repos the home scope reads.", (JSON_OUT,),
               registry_list, read_only=True, text=_text_registry),
    Capability("registry.remove", ("registry", "remove"), "Forget a repo (its files are untouched).", (
        Param("path", "the repo directory", positional=True, required=True, metavar="PATH"), JSON_OUT),
        registry_remove, read_only=False, text=lambda p: f"removed: {p['root']}"),
)
