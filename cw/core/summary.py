"""The cross-run metrics summary (cw-compat §5.3–§5.4), pooled from small per-run entries.

The shell derives each run's report as it reads the run
(``cw.core.metrics.derive_summary_report`` computes just the parts pooled here,
``derive_report`` works too), keeps only a ``RunEntry`` (``run_entry``: the RunRef plus the
handful of numbers pooling and ``byBackendCost`` need), lets the run go, and
finally calls ``pool_summary``. Memory stays proportional to the number of
runs, not to their size.

Where cw differs from CW (cw-compat §16):

* c: runs that cannot be read are passed in as ``unreadable``
  (``{runId, repo, reason}``), counted in ``unreadableRuns`` and listed in
  ``unreadable`` (by ``runId`` then ``repo``); ``limit`` never omits them.
* d: ``limit`` keeps the N newest runs (by ``createdAt``, then ``runId``,
  then ``repo``, in code-unit order) and ``omittedRuns`` says how many
  runs were left out: those cut here plus ``omitted``, the runs the shell
  ranked by their head and never read (``cw.capabilities.reports._newest``).
* g: ``byBackendCost`` gives each backend (``worker.backendId || "node"``)
  only the bytes of its own workers; ``runCount`` counts the runs with at
  least one worker on it; entries are sorted by backend.
* h: the pooled cost state is ``unreported`` when no run has attested usage,
  else ``unpriced`` when any run is, else ``estimated`` when any run is, else
  ``attested``.
* j: ``runs``, ``byApp``, ``byBackend`` and ``unreadable`` are ordered by
  code point.

``parse_limit`` reads ``--limit`` as CW does (JavaScript ``Number``), but
strictly: a bare flag, a blank value or anything that is not a finite number
is a usage error with CW's message.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cw.core.coststate import pool_states
from cw.core.fingerprint import MISSING, js_json, js_string, js_truthy
from cw.core.metrics import METRICS_SCHEMA_VERSION, distinct_sorted, rate_metric
from cw.core.numbers import as_int_if_integral, cu_key, money_out, round6, round6_decimal
from cw.core.pricing import MONEY_CONTEXT, to_decimal, token_number
from cw.core.timeline import WEEKDAYS, Window, bucket, event_at, iso_z, window_periods
from cw.model.errors import UsageError

DEFAULT_LIMIT = 50

NOTE_MIXED = (
    "Totals mix exact-priced (attested) and default-priced (estimated) runs; the two USD figures are kept separate."
)
NEXT_EMPTY = "No indexed runs; run a workflow, then `cw metrics summary`."
NEXT_RUNS = "Per-run detail: cw metrics show <run-id> --json"

_RATES = (("failure", "failure"), ("verifierPass", "verifier-pass"), ("candidateAcceptance", "candidate-acceptance"))


class RunEntry:
    """What the summary keeps of one run: its RunRef and its workers' output bytes per backend."""

    __slots__ = ("actor", "backend_bytes", "created_at", "output_bytes", "ref", "repo", "run_id")

    def __init__(
        self,
        ref: dict[str, Any],
        run_id: Any,
        repo: str,
        created_at: str,
        backend_bytes: tuple[tuple[Any, int | float], ...],
        output_bytes: int | float,
        actor: str = "unattributed",
    ) -> None:
        self.actor = actor
        self.ref = ref
        self.run_id = run_id
        self.repo = repo
        self.created_at = created_at
        self.backend_bytes = backend_bytes
        self.output_bytes = output_bytes

    def __repr__(self) -> str:
        return f"RunEntry({self.run_id!r}, repo={self.repo!r})"


def run_entry(report: dict[str, Any], run: dict[str, Any], repo: str, run_dir: str | None = None) -> RunEntry:
    """Keep what pooling needs from one run's report (derived with the summary's now and policy).

    ``run_dir`` (the run's directory name) is kept as ``runDir`` when it is not the run's id: a copied or
    renamed run, listed apart from the run its id names."""
    scope = report.get("scope", {})
    ref: dict[str, Any] = {}
    if "runId" in report:
        ref["runId"] = report["runId"]
    ref["repo"] = repo
    if run_dir is not None and run_dir != report.get("runId"):
        ref["runDir"] = run_dir
    if "app" in scope:
        ref["app"] = scope["app"]
    ref.update(
        backendIds=scope.get("backendIds", []),
        freshness=report["freshness"]["status"],
        rates=report["rates"],
        usage=report["usage"],
        cost=report["cost"],
    )
    per_backend: dict[Any, int | float] = {}
    total: int | float = 0
    workers = run.get("workers")
    for w in workers if isinstance(workers, list) else ():
        if not isinstance(w, dict):
            continue
        backend = w.get("backendId")
        if type(backend) is not str or not backend:  # a non-empty string is the common case
            backend = backend if js_truthy(backend) else "node"
        key = backend if isinstance(backend, (str, int, float)) else js_string(backend)
        size = w.get("outputSizeBytes")
        if type(size) is not int:
            size = token_number(size)
        per_backend[key] = per_backend.get(key, 0) + size
        total += size
    created = run.get("createdAt")
    actor = run.get("actor")
    return RunEntry(
        ref,
        report.get("runId", MISSING),
        repo,
        created if isinstance(created, str) else "",
        tuple(per_backend.items()),
        total,
        actor if isinstance(actor, str) and actor else "unattributed",
    )


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


def pool_rates(metric: str, rates: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum counts and totals, merge buckets in first-seen order, recompute (§5.4)."""
    count = total = 0
    buckets: dict[str, int] = {}
    get = buckets.get
    for r in rates:
        total += r["total"]
        count += r["count"] or 0
        b = r.get("buckets")
        if b:
            for k, v in b.items():
                buckets[k] = get(k, 0) + v
    return rate_metric(metric, count, total, buckets)


def pool_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum UsageTotals; coverage over the pooled units; models the sorted union."""
    units = attested = 0
    inp: int | float = 0
    out: int | float = 0
    total: int | float = 0
    models: list[Any] = []
    for u in usages:
        units += u["units"]
        attested += u["attestedUnits"]
        inp += u["inputTokens"]
        out += u["outputTokens"]
        total += u["totalTokens"]
        models.extend(u["models"])
    return {
        "units": units,
        "attestedUnits": attested,
        "unreportedUnits": units - attested,
        "coverage": round6(attested / units) if units > 0 else None,
        "inputTokens": as_int_if_integral(inp),
        "outputTokens": as_int_if_integral(out),
        "totalTokens": as_int_if_integral(total),
        "models": distinct_sorted(models),
    }


def _money(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else to_decimal(v)


def pool_cost(costs: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool per-run CostMetrics: USD figures kept apart, state by cw's precedence (§16 h)."""
    currency = next((c["currency"] for c in costs if js_truthy(c.get("currency"))), "USD")
    attested_usd: Decimal | None = None
    estimated_usd: Decimal | None = None
    unpriced: list[Any] = []
    policy_id: Any = MISSING
    states: list[Any] = []
    for c in costs:
        if c.get("attestedUsd") is not None:
            attested_usd = round6_decimal(MONEY_CONTEXT.add(attested_usd or Decimal(0), _money(c["attestedUsd"])))
        if c.get("estimatedUsd") is not None:
            estimated_usd = round6_decimal(MONEY_CONTEXT.add(estimated_usd or Decimal(0), _money(c["estimatedUsd"])))
        unpriced.extend(c.get("unpricedModels") or ())
        if js_truthy(c.get("policyId")):
            policy_id = c["policyId"]
        states.append(c.get("state"))
    state = pool_states(states)
    pooled: dict[str, Any] = {
        "state": state,
        "currency": currency,
        "attestedUsd": money_out(attested_usd),
        "estimatedUsd": money_out(estimated_usd),
    }
    if policy_id is not MISSING:
        pooled["policyId"] = policy_id
    pooled.update(
        unpricedModels=distinct_sorted(unpriced),
        pricedCoverage=None,
        notes=[NOTE_MIXED] if attested_usd is not None and estimated_usd is not None else [],
    )
    return pooled


def _pooled_block(refs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rates": {name: pool_rates(metric, [r["rates"][name] for r in refs]) for name, metric in _RATES},
        "usage": pool_usage([r["usage"] for r in refs]),
        "cost": pool_cost([r["cost"] for r in refs]),
    }


def _groups(entries: list[RunEntry], keys_of: Any) -> list[dict[str, Any]]:
    groups: dict[Any, tuple[Any, list[dict[str, Any]]]] = {}
    for e in entries:
        for key in keys_of(e):
            hk = key if isinstance(key, (str, int, float)) else js_string(key)
            groups.setdefault(hk, (key, []))[1].append(e.ref)
    out = []
    for key, refs in sorted(groups.values(), key=lambda g: js_string(g[0])):
        out.append({"key": key, "runCount": len(refs), **_pooled_block(refs)})
    return out


def _app_key(e: RunEntry) -> list[Any]:
    app = e.ref.get("app", MISSING)
    return [app if js_truthy(app) else "unknown"]


def _backend_keys(e: RunEntry) -> list[Any]:
    return list(e.ref["backendIds"]) or ["unreported"]


def _actor_key(e: RunEntry) -> list[Any]:
    """cw's per-actor breakdown: the actor that started each run (``unattributed`` for CW's runs)."""
    return [e.actor]


def newest_key(e: RunEntry) -> tuple[bytes, bytes, bytes]:
    """The order ``--limit`` keeps runs by: ``createdAt``, then run id, then repo (code units); largest = newest.

    It reads only ``created_at``, ``run_id`` and ``repo``, so a caller can rank
    runs it has not derived yet (see ``pool_summary``'s ``omitted``).
    """
    return cu_key(e.created_at), cu_key(js_string(e.run_id)), cu_key(e.repo)


def pool_summary(
    entries: Iterable[RunEntry],
    unreadable: list[dict[str, Any]],
    scope: str,
    now: str,
    limit: int | None,
    *,
    omitted: int = 0,
) -> dict[str, Any]:
    """The summary payload (§5.4 key order, with cw's ``unreadable`` and ``omittedRuns``).

    ``limit`` keeps the N newest readable runs (``None`` keeps all); unreadable
    runs are always listed. ``omitted`` counts readable runs the caller already
    left out by the same rule (``newest_key``) before deriving them; it is
    added to ``omittedRuns``.
    """
    seen = 0

    def counted(it: Iterable[RunEntry]) -> Iterable[RunEntry]:
        nonlocal seen
        for e in it:
            seen += 1
            yield e

    # Consume the entries first: a streaming caller may add to ``unreadable`` while it yields them.
    kept = list(entries) if limit is None else heapq.nlargest(max(limit, 0), counted(entries), key=newest_key)
    if limit is None:
        seen = len(kept)
    kept.sort(key=lambda e: (js_string(e.run_id), e.repo))
    refs = [e.ref for e in kept]

    by_backend: dict[Any, list[Any]] = {}
    total_bytes: int | float = 0
    for e in kept:
        total_bytes += e.output_bytes
        for backend, size in e.backend_bytes:
            slot = by_backend.setdefault(backend, [0, 0])
            slot[0] += 1
            slot[1] += size
    unreadable_rows = sorted(
        ({"runId": u.get("runId"), "repo": u.get("repo"), "reason": u.get("reason")} for u in unreadable),
        key=lambda u: (js_string(u["runId"]), js_string(u["repo"])),
    )
    pooled = _pooled_block(refs)
    return {
        "schemaVersion": METRICS_SCHEMA_VERSION,
        "surface": "metrics",
        "scope": scope,
        "generatedAt": now,
        "runCount": len(kept),
        "unreadableRuns": len(unreadable_rows),
        "unreadable": unreadable_rows,
        "omittedRuns": seen - len(kept) + omitted,
        "rates": pooled["rates"],
        "usage": pooled["usage"],
        "cost": pooled["cost"],
        "totalOutputBytes": as_int_if_integral(total_bytes),
        "byBackendCost": [
            {"backendId": b, "runCount": n, "outputBytes": as_int_if_integral(size)}
            for b, (n, size) in sorted(by_backend.items(), key=lambda kv: js_string(kv[0]))
        ],
        "byApp": _groups(kept, _app_key),
        "byBackend": _groups(kept, _backend_keys),
        "byActor": _groups(kept, _actor_key),
        "runs": refs,
        "nextAction": NEXT_EMPTY if not kept else NEXT_RUNS,
    }


def summary_over(
    summary: dict[str, Any],
    kept: list[RunEntry],
    window: Window,
    period: str | None,
    week_start: int,
    now: str,
    scope: str,
) -> dict[str, Any]:
    """A summary over a window: ``window`` after ``generatedAt`` and, with a period, ``periods``.

    Each period is ``{period, start, end, rows, total}``: ``rows`` are the
    ``byActor`` groups of the runs created in it, ``total`` its ``runCount``,
    ``rates``, ``usage`` and ``cost``. Runs fall in exactly one period, so
    run counts, units, tokens and cost add up to the window's.
    """
    head: dict[str, Any] = window.header()
    out: dict[str, Any] = {}
    for k, v in summary.items():
        out[k] = v
        if k == "generatedAt":
            out["window"] = head
    if not period:
        return out
    latest = event_at(now)
    if latest is None:
        raise UsageError(f'Invalid --now "{now}": expected an ISO 8601 time with a zone, e.g. 2026-11-30T09:00:00Z.')
    plist = window_periods(window, period, [event_at(e.created_at) for e in kept], latest, week_start)
    groups: list[list[RunEntry]] = [[] for _ in plist]
    for e in kept:
        slot = bucket(event_at(e.created_at), plist)
        if slot is not None:
            groups[slot].append(e)
    periods = []
    for p, members in zip(plist, groups, strict=True):
        part = pool_summary(members, [], scope, now, None)
        periods.append(
            {
                "period": p.label,
                "start": iso_z(p.start),
                "end": iso_z(p.end),
                "rows": part["byActor"],
                "total": {k: part[k] for k in ("runCount", "rates", "usage", "cost")},
            }
        )
    head.update(period=period, weekStart=WEEKDAYS[week_start])
    out["periods"] = periods
    return out


# ---------------------------------------------------------------------------
# --limit
# ---------------------------------------------------------------------------

# JavaScript's StrWhiteSpaceChar: WhiteSpace and LineTerminator.
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"^[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")
_RADIX = re.compile(r"^0(?:[xX][0-9a-fA-F]+|[bB][01]+|[oO][0-7]+)$")


def js_to_number(text: str) -> float:
    """JavaScript ``Number(string)`` (§15.5): NaN for anything it rejects."""
    s = text.strip(_JS_SPACE)
    if s == "":
        return 0.0
    if _RADIX.match(s):
        return float(int(s, 0))
    if _DECIMAL.match(s):
        return float(s.replace("Infinity", "inf"))
    return math.nan


def parse_limit(value: Any) -> int:
    """``--limit``: absent -> 50; else ``max(1, floor(Number(value)))``; blank, bare or non-finite refused.

    Raises ``UsageError`` with CW's messages (``--limit requires a value (e.g.
    --limit 4)``, ``Invalid --limit "abc": expected a number (e.g. --limit 4)``).
    """
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, bool):
        raise UsageError("--limit requires a value (e.g. --limit 4)")
    if isinstance(value, (int, float, Decimal)):
        n = float(value)
    else:
        text = value if isinstance(value, str) else js_string(value)
        n = js_to_number(text) if text.strip(_JS_SPACE) else math.nan
    if not math.isfinite(n):
        raise UsageError(f"Invalid --limit {js_json(value)}: expected a number (e.g. --limit 4)")
    return max(1, math.floor(n))
