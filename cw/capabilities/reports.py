"""Read verbs over derived metrics, and the home registry verbs."""

from __future__ import annotations

import gc
import heapq
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cw.capabilities.table import CWD, FX, NOW, PERIOD, PRICING, SCOPE, WEEK_START, WINDOW, Capability, Param
from cw.core.jsonout import dumps
from cw.core.metrics import derive_report, derive_summary_report, pin_valid
from cw.core.render import render_report_text, render_summary_text
from cw.model.errors import CwError, LedgerError, UsageError
from cw.shell import sidefiles
from cw.shell.fastload import read_show_state, read_summary_state_core, refusal_rests_on_state
from cw.shell.workspace import Progress, Workspace

# What only the summary and the registry verbs use is imported where they run: ``metrics show`` of
# one run starts without the summary's pooling, cache, scan, time zones and the ledger code.
if TYPE_CHECKING:
    from cw.core.summary import RunEntry
    from cw.shell.derived_cache import SummaryCache
    from cw.shell.scan import ScannedRun

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)


def registry_add(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.shell import registry

    root = ws.repo(a.get("path"))
    return registry.add_repo(ws.home, root, ws.now(), ws.lock_timeout())


def registry_remove(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.shell import registry

    root = (ws.process_cwd / a["path"]).resolve() if a.get("path") else ws.process_cwd
    return registry.remove_repo(ws.home, Path(root), ws.lock_timeout())


def registry_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    from cw.shell import registry

    repos = registry.read_repos(ws.home)
    return {
        "schemaVersion": 1,
        "surface": "registry",
        "generatedAt": ws.now(a.get("now")),
        "file": str(registry.repos_file(ws.home)),
        "repos": [{"root": r["root"], "addedAt": r.get("addedAt"), "exists": Path(r["root"]).is_dir()} for r in repos],
    }


def _text_registry(p: dict[str, Any]) -> str:
    lines = [f"home registry  {p['file']}  repos={len(p['repos'])}"]
    lines += [f"  {r['root']}  added={r['addedAt']}" + ("" if r["exists"] else "  (missing)") for r in p["repos"]]
    return "\n".join(lines)


# --- metrics ---------------------------------------------------------------------------------------


def _revenue_keys(
    ws: Workspace, a: dict[str, Any], run_dir: Path, state: dict[str, Any], report: dict[str, Any], policy: Any
) -> dict[str, Any]:
    if not sidefiles.has_ledger(run_dir, state):
        return {}
    from cw.capabilities.money import spend_items, verify_loaded  # only for runs with a ledger: the money core
    from cw.core.currency import parse_currency
    from cw.core.netting import revenue_and_net

    # the net is the run's cw pnl row: the same units at their exact costs, in the reporting currency
    currency = parse_currency(ws.currency(a), flag="currency")
    verified = verify_loaded(run_dir, state)
    return revenue_and_net(
        state.get("revenue"), verified, report["cost"], ws.fx(a), spend_items(state, policy), currency
    )


def metrics_show(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    """Derive one run's report (the run is loaded before the policy, as in CW) and write its snapshot."""
    if not a.get("run_id"):
        raise UsageError(
            'Missing run id.\n  Tip: find run ids with "cw run list" or create one with "cw run new"',
            hint="cw run list",
        )
    with _gc_paused():
        loaded = ws.store(a.get("cwd")).read(a["run_id"], read_show_state)
        policy, header = ws.pricing(a)
        report = pin_valid(
            derive_report(loaded.state, ws.now(a.get("now")), policy, telemetry=sidefiles.read_telemetry(loaded.dir))
        )
    report.update(_revenue_keys(ws, a, loaded.dir, loaded.state, report, policy))
    report["pricingPolicy"] = header
    if not ws.read_only:
        sidefiles.write_snapshot(loaded.dir, dumps(report) + "\n", ws.lock_timeout())
    return report


def _check_ledger(item: ScannedRun) -> None:
    """A run whose revenue ledger does not verify is unreadable for the summary (cw-compat §16 c)."""
    state = item.state
    assert state is not None
    if sidefiles.has_ledger(item.dir, state):
        from cw.capabilities.money import verify_loaded

        res = verify_loaded(item.dir, state)
        if not res.ok:
            p = res.problem or {}
            raise LedgerError(f"revenue ledger does not verify ({p.get('entryId') or 'ledger'}: {p.get('what')})")


def _summary_entry(item: ScannedRun, policy: Any, now: str) -> RunEntry:
    from cw.core.summary import run_entry

    _check_ledger(item)
    state = item.state
    assert state is not None
    report = derive_summary_report(state, now, policy, *sidefiles.persisted_fingerprints(item.dir), status_only=True)
    return run_entry(report, state, str(item.repo), item.dir.name)


# How the summary reads runs. One run at a time per process; with many runs and
# more than one core, a few forked processes share the runs (in order, in chunks)
# and send back only the small per-run entries. Forking is skipped when the
# process runs other threads (the workbench, the MCP server): a fork copies
# their locks in whatever state they are.
_PARALLEL_MIN_RUNS = 400
_MAX_PROCESSES = 4


class _SummaryJob(msgspec.Struct, frozen=True):
    """What every run of one summary is read with; ``derive`` False only ranks and checks it."""

    policy: Any
    now: str
    derive: bool


_ACTIVE_JOB: _SummaryJob | None = None  # set before forking; the children read it


def _ranking_entry(state: dict[str, Any], repo: str) -> RunEntry:
    """An entry carrying only what ``newest_key`` reads, built by ``run_entry`` itself so the keys agree."""
    from cw.core.summary import run_entry

    report: dict[str, Any] = {"freshness": {"status": "absent"}, "rates": {}, "usage": {}, "cost": {}}
    if "id" in state:
        report["runId"] = state["id"]
    return run_entry(report, state, repo)


Result = tuple["RunEntry | dict[str, Any]", bool]


def _summary_item(job: _SummaryJob, repo: Path, d: Path) -> Result:
    """One run's entry (with ``derive`` False, a ranking entry) or its unreadable row, and whether the
    derived-results cache may keep it (the verdict rests on the files it keys)."""
    from cw.shell.scan import load_scanned

    core = False

    def reader(path: Path) -> dict[str, Any]:
        nonlocal core
        state, core = read_summary_state_core(path)
        return state

    item = load_scanned(repo, d, reader)
    if item.error is None:
        try:
            if job.derive:
                return _summary_entry(item, job.policy, job.now), core
            _check_ledger(item)
            return _ranking_entry(item.state, str(repo)), core  # type: ignore[arg-type]
        except CwError as exc:
            item.error = exc.message
    if not core:  # refused by the store's reader: cacheable when its bytes alone decide
        core = refusal_rests_on_state(d)
    return {"runId": item.run_id, "repo": str(item.repo), "reason": item.error}, core


def _summary_chunk(chunk: list[tuple[Path, Path]]) -> list[Result]:
    job = _ACTIVE_JOB
    assert job is not None
    return [_summary_item(job, repo, d) for repo, d in chunk]


def _processes(n_runs: int) -> int:
    """How many processes read ``n_runs`` runs: 1 unless there are many runs, several cores and no threads."""
    # Linux only: elsewhere (macOS) a forked child may crash in system libraries, and spawning costs more.
    if n_runs < _PARALLEL_MIN_RUNS or threading.active_count() > 1 or not sys.platform.startswith("linux"):
        return 1
    import multiprocessing  # here, not at the top: most commands never fork, and start-up time counts

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_PROCESSES))


def _read_cached(
    job: _SummaryJob, run_dirs: list[tuple[Path, Path]], cache: SummaryCache | None, progress: Progress | None = None
) -> list[RunEntry | dict[str, Any]]:
    """Every run's result, in ``run_dirs`` order: from the derived-results cache when its files are unchanged,
    else read (and then kept in the cache)."""
    from cw.core.summary import RunEntry
    from cw.shell.derived_cache import ENTRY, RANK, UNREADABLE

    if cache is None:
        return [r for r, _ in _read_runs(job, run_dirs, progress)]
    out: list[RunEntry | dict[str, Any] | None] = []
    todo = []
    for repo, d in run_dirs:
        hit, ident = cache.lookup(str(repo), d, job.derive)
        if hit is None:
            todo.append((len(out), ident))
        elif progress is not None:
            progress.advance(1)
        out.append(hit)
    results = _read_runs(job, [run_dirs[i] for i, _ in todo], progress)
    for (i, ident), (res, cacheable) in zip(todo, results, strict=True):
        out[i] = res
        repo, d = run_dirs[i]
        if not cacheable:
            cache.incomplete = True
        elif isinstance(res, RunEntry):
            cache.record(str(repo), d, ident, res, ENTRY if job.derive else RANK)
        else:
            cache.record(str(repo), d, ident, res["reason"], UNREADABLE)
    return out  # type: ignore[return-value]


def _read_runs(job: _SummaryJob, run_dirs: list[tuple[Path, Path]], progress: Progress | None = None) -> list[Result]:
    """Every run's result, in ``run_dirs`` order, read in this process or in a few forked ones."""
    global _ACTIVE_JOB
    tick = progress.advance if progress is not None else (lambda n=1: None)
    procs = _processes(len(run_dirs))
    if procs == 1:
        out = []
        for repo, d in run_dirs:
            out.append(_summary_item(job, repo, d))
            tick(1)
        return out
    size = max(8, min(64, len(run_dirs) // (procs * 8) or 1))
    chunks = [run_dirs[i : i + size] for i in range(0, len(run_dirs), size)]
    for stream in (sys.stdout, sys.stderr):  # a child flushes what it inherited: flush it once, here
        with suppress(AttributeError, OSError, ValueError):
            stream.flush()
    import multiprocessing

    _ACTIVE_JOB = job
    try:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            out = []
            for results in pool.imap(_summary_chunk, chunks):
                out.extend(results)
                tick(len(results))
            return out
    finally:
        _ACTIVE_JOB = None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Decoded JSON holds no reference cycles; the collector would only rescan it, run after run."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _summary_runs(
    run_dirs: list[tuple[Path, Path]],
    policy: Any,
    now: str,
    limit: int,
    progress: Progress | None = None,
    cache: SummaryCache | None = None,
) -> tuple[list[RunEntry], list[dict[str, Any]], int, list[Path] | None]:
    """The entries to pool, the unreadable rows, how many runs ``--limit`` left out, and (when it left
    some out) the runs read whole (``_newest``; None: every run was)."""
    derive = _SummaryJob(policy, now, derive=True)
    if limit < len(run_dirs):
        return _newest(run_dirs, derive, limit, progress, cache)
    from cw.core.summary import RunEntry

    results = _read_cached(derive, run_dirs, cache, progress)
    entries = [r for r in results if isinstance(r, RunEntry)]
    return entries, [r for r in results if not isinstance(r, RunEntry)], 0, None


def _newest(
    run_dirs: list[tuple[Path, Path]],
    derive: _SummaryJob,
    limit: int,
    progress: Progress | None,
    cache: SummaryCache | None,
) -> tuple[list[RunEntry], list[dict[str, Any]], int, list[Path]]:
    """The ``limit`` newest readable runs, reading whole only the runs that ranking reaches.

    Runs are ranked by the ``createdAt`` and ``id`` that open their state.json (``head_key``); a run
    whose head does not say them is read whole to rank it. Then runs are derived newest first until
    ``limit`` are readable: every run read whole that cannot be read is listed, and the runs never
    reached are counted as omitted, unread past their head. Should a derived run's own ``createdAt`` or
    ``id`` differ from its head's (it changed in between), it is ranked again by its own.
    """
    from cw.core.numbers import cu_key
    from cw.core.summary import RunEntry, newest_key
    from cw.shell.scan import head_key

    Key = tuple[bytes, bytes, bytes]
    ranked: list[tuple[Key, int, RunEntry | None]] = []  # (key, run, its entry once derived)
    unranked: list[int] = []
    for i, (repo, d) in enumerate(run_dirs):
        head = head_key(f"{d}/state.json")
        if head is None:
            unranked.append(i)
        else:
            ranked.append(((cu_key(head[0]), cu_key(head[1]), cu_key(str(repo))), i, None))
    unreadable: list[dict[str, Any]] = []
    read_whole = [run_dirs[i][1] for i in unranked]
    if unranked:
        rank_job = _SummaryJob(derive.policy, derive.now, derive=False)
        got_rank = _read_cached(rank_job, [run_dirs[i] for i in unranked], cache, progress)
        for i, r in zip(unranked, got_rank, strict=True):
            if isinstance(r, RunEntry):
                ranked.append((newest_key(r), i, None))
            else:
                unreadable.append(r)
    ranked.sort(key=lambda t: t[0], reverse=True)
    kept: list[RunEntry] = []
    pos = 0
    while len(kept) < limit and pos < len(ranked):
        if ranked[pos][2] is None:  # derive the next runs in order, as many as are still wanted
            batch = [t[1] for t in ranked[pos:] if t[2] is None][: limit - len(kept)]
            read_whole += [run_dirs[i][1] for i in batch]
            got: dict[int, RunEntry | dict[str, Any] | None] = dict(
                zip(batch, _read_cached(derive, [run_dirs[i] for i in batch], cache), strict=True)
            )
            rest: list[tuple[Key, int, RunEntry | None]] = []
            for key, i, e in ranked[pos:]:
                res = got.get(i, e)
                if res is None or (isinstance(res, RunEntry) and newest_key(res) == key):
                    rest.append((key, i, res))
                elif isinstance(res, RunEntry):
                    rest.append((newest_key(res), i, res))
                else:
                    unreadable.append(res)
            rest.sort(key=lambda t: t[0], reverse=True)  # stable: only a re-ranked run moves
            ranked[pos:] = rest
            continue
        kept.append(ranked[pos][2])  # type: ignore[arg-type]
        pos += 1
    if progress is not None:  # the runs read whole to rank them have ticked already
        progress.advance(len(run_dirs) - len(unranked))
    return kept, unreadable, len(ranked) - pos, read_whole


def metrics_summary(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    """Pool every readable run of the scope, one run in memory at a time per process; unreadable runs are listed.

    ``_summary_runs`` says how runs are read (and which are derived at all).
    """
    from cw.core.summary import newest_key, parse_limit, pool_summary, summary_over
    from cw.shell.derived_cache import SummaryCache
    from cw.shell.scan import iter_run_dirs
    from cw.shell.zones import period_from_args, window_from_args

    limit = parse_limit(a.get("limit"))
    scope = "home" if a.get("scope") == "home" else "repo"
    window = window_from_args(a, ws)
    period, week_start = period_from_args(a)
    now = ws.now(a.get("now"))
    listed: dict[str, os.stat_result] = {}
    run_dirs = list(iter_run_dirs(ws, scope, a.get("cwd"), listed))
    policy, header = ws.pricing(a)
    cache = None if a.get("no_cache") else SummaryCache.open(ws.env, policy)
    if cache is not None:
        cache.prime(listed)
    whole = not window.bounded and not period
    key: tuple[str, str] = ("", "")
    if cache is not None and whole:  # the same runs, every one unchanged: the same pooled payload
        repos = list(dict.fromkeys(str(r) for r, _ in run_dirs))
        head = "\0".join([scope, str(limit), *repos])
        key = cache.listing_key(head, run_dirs) if limit < len(run_dirs) else cache.summary_key(head, run_dirs)
        with _gc_paused():
            pooled = cache.pooled(key)
        if pooled is not None:
            pooled["generatedAt"] = now
            return {**pooled, "pricingPolicy": header}  # the header names the policy; the key covers its prices
    progress = ws.progress("reading runs", len(run_dirs))
    read_whole: list[Path] | None = None
    try:
        with _gc_paused():
            if whole:
                entries, unreadable, omitted, read_whole = _summary_runs(run_dirs, policy, now, limit, progress, cache)
                payload = pool_summary(entries, unreadable, scope, now, limit, omitted=omitted)
            else:
                # Over a window the summary pools the runs created in it; --limit then keeps the newest of those.
                entries, unreadable, _, _ = _summary_runs(run_dirs, policy, now, len(run_dirs), progress, cache)
                inside = [e for e in entries if window.contains_text(e.created_at)]
                kept = heapq.nlargest(max(limit, 0), inside, key=newest_key)
                out = pool_summary(kept, unreadable, scope, now, None, omitted=len(inside) - len(kept))
                payload = summary_over(out, kept, window, period, week_start, now, scope)
    finally:
        progress.close()
    if cache is not None:
        if whole:
            cache.keep_pooled(key, payload, read_whole)
        cache.flush()
    return {**payload, "pricingPolicy": header}


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "metrics.show",
        ("metrics", "show"),
        "Derive one run's metrics: durations, rates with samples, attested usage, cost.",
        (
            Param("run_id", "the run's id", positional=True, metavar="RUN", mcp_name="runId", mcp_required=True),
            PRICING,
            FX,
            NOW,
            CWD,
            JSON_OUT,
        ),
        metrics_show,
        read_only=False,
        derived_write=True,
        text=render_report_text,
        description="Also writes the snapshot .cw/runs/<id>/metrics/metrics-report.json (the exact --json "
        "bytes). Cost is attested, estimated, unpriced or unreported — never a made-up zero; "
        "pass --pricing default for the bundled prices.",
        examples=(
            "cw metrics show <run-id> --pricing default",
            "cw metrics show <run-id> --json --now 2026-06-08T12:00:00.000Z",
        ),
    ),
    Capability(
        "metrics.summary",
        ("metrics", "summary"),
        "Pool metrics across runs, with per-app, per-backend and per-actor breakdowns.",
        (
            SCOPE,
            Param("limit", "keep the N newest runs (default 50); older runs are not read", type="integer", metavar="N"),
            PRICING,
            *WINDOW,
            PERIOD,
            WEEK_START,
            NOW,
            CWD,
            Param(
                "no_cache",
                "derive every run again, neither reading nor writing cw's derived-results cache",
                type="boolean",
            ),
            JSON_OUT,
        ),
        metrics_summary,
        read_only=True,
        text=render_summary_text,
        description="Writes nothing inside any repo. Runs that cannot be read are counted and listed, never "
        "dropped; with --limit, runs are ranked by the createdAt and id their state.json opens with and only "
        "the runs taken (and any whose opening says neither) are read whole, so older runs left out are "
        "counted in omittedRuns unchecked. Each run's snapshot is marked valid, stale or absent. The summary pools whole runs: over a "
        "window (--since inclusive, --until exclusive, read in --tz) its rates, durations, usage and cost are "
        "those of the runs created in the window, and --period groups runs by the period they were created "
        "in. For spend and revenue dated unit by unit, use cw pnl. What it derives per run is kept in "
        "$XDG_CACHE_HOME/cw/ (default ~/.cache/cw/) keyed by the identity of every file read, so a repeat "
        "re-reads only changed runs; the output is the same with or without it.",
        examples=(
            "cw metrics summary --scope home --pricing default",
            "cw metrics summary --since 2026-11-01 --period week --tz Europe/Berlin",
        ),
    ),
    Capability(
        "registry.add",
        ("registry", "add"),
        "Register a repo for the home scope.",
        (
            Param("path", "the repo directory (default: the current directory)", positional=True, metavar="PATH"),
            JSON_OUT,
        ),
        registry_add,
        read_only=False,
        text=lambda p: f"{'registered' if p['added'] else 'already registered'}: {p['root']}",
    ),
    Capability(
        "registry.list",
        ("registry", "list"),
        "List the repos the home scope reads.",
        (NOW, JSON_OUT),
        registry_list,
        read_only=True,
        text=_text_registry,
    ),
    Capability(
        "registry.remove",
        ("registry", "remove"),
        "Forget a repo (its files are untouched).",
        (Param("path", "the repo directory", positional=True, required=True, metavar="PATH"), JSON_OUT),
        registry_remove,
        read_only=False,
        text=lambda p: f"removed: {p['root']}",
    ),
)
