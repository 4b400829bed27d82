"""The per-run metrics report (cw-compat §3), a pure function of one run's state.

``derive_report(run, now, policy, persisted_fingerprint, telemetry=...)``
returns CW's MetricsReport payload as a plain dict in CW's key order:
durations, failure / verifier-pass / candidate-acceptance rates with sample
counts, attested usage, cost, attestation coverage, collaboration and the
next action. It differs from CW only where cw-compat §16 says so: rows and
units are ordered by code point (§16 j) and the cost state follows §16 h
(a run that leaves attested usage unpriced is ``unpriced``, never
``attested``).

The core reads no files: CW's ``attestation.ledger`` comes from
``telemetry.json``, so the caller passes its parsed content as ``telemetry``:
``TELEMETRY_MISSING`` (the default) when the file does not exist, otherwise
the parsed JSON value. Anything that is not an object with a ``records``
array (``None``, or a marker string for a file that could not be read or
parsed) reports the ledger as present and unverified, as CW does.

Run records are read defensively: records that are not objects are skipped,
missing keys stay missing (absent in the payload, ``undefined`` in the
fingerprint), and odd values CW may have written (negative or fractional
tokens, a ``"true"`` model) are reported as CW reports them.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, localcontext
from typing import Any, NamedTuple

from cw.core.coststate import cost_state, count_states, unit_cost
from cw.core.fingerprint import (
    MISSING,
    fingerprints,
    js_get,
    js_json,
    js_string,
    js_truthy,
    object_records,
    run_app,
)
from cw.core.numbers import as_int_if_integral, cu_key, duration_ms, js_round, money_out, round6, round6_decimal
from cw.core.pricing import MONEY_CONTEXT, PricingPolicy, implausible_usage, token_number, token_total

METRICS_SCHEMA_VERSION = 1

NOTE_UNREPORTED = "No attested usage on this run; cost is unreported, not zero."
NOTE_NO_POLICY = "Attested usage present but no pricing policy supplied; pass --pricing <path> to price it."
NOTE_DEFAULT = (
    "Some models lacked an exact policy entry and were priced with the policy default; "
    "that portion is `estimated`, not `attested`."
)
NOTE_INVALID = (
    "{n} usage unit(s) hold token counts no host could have meant ({what}); they are left out of "
    "token totals and never priced, so cost is not attested."
)
NOTE_UNPRICED = "Attested usage present but no policy entry (and no default) priced it; cost is unpriced."
NEXT_NO_USAGE = (
    "No attested usage yet — record host usage on result/worker intake "
    "(cw result ... --usage-input-tokens N --usage-output-tokens M --usage-model ID)."
)

# Tuples, not sets: membership by equality also works for odd (unhashable) status values.
VERIFIER_PASS = ("verified", "completed", "committed")
VERIFIER_FAIL = ("failed", "rejected", "blocked")
CANDIDATE_ACCEPTED = ("selected", "verified")
WORKER_ENDED = ("completed", "verified", "failed", "rejected")


class _TelemetryMissing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TELEMETRY_MISSING"


#: Pass as ``telemetry`` when ``telemetry.json`` does not exist.
TELEMETRY_MISSING: Any = _TelemetryMissing()


class Unit(NamedTuple):
    """One usage unit (§3.6): a worker with output, or a completed task no such worker covers."""

    unit: Any  # the record's id (None when it has none)
    kind: str  # "task" | "worker"
    usage: Any  # the stored usage record (None when missing)
    record: dict[str, Any]

    @property
    def attested(self) -> bool:
        """A unit is attested when its usage is truthy (any object, even ``{}``)."""
        return js_truthy(self.usage)


# ---------------------------------------------------------------------------
# Small shared pieces
# ---------------------------------------------------------------------------


def hkey(v: Any) -> Any:
    """A set key with JavaScript ``Set`` identity (``1`` and ``true`` and ``"1"`` stay apart)."""
    if type(v) is str:
        return v
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", v)
    if v is None:
        return ("null",)
    return ("o", id(v))


def distinct_sorted(values: list[Any]) -> list[Any]:
    """Distinct values in UTF-16 code-unit order of their string form (JavaScript ``[...set].sort()``)."""
    try:
        uniq = list(dict.fromkeys(values))  # no str equals a non-str: all values are str iff all of these are
    except TypeError:  # an unhashable value (an object or array)
        uniq = [None]
    if all(type(v) is str for v in uniq):
        return sorted(uniq, key=cu_key) if not "".join(uniq).isascii() else sorted(uniq)
    seen: dict[Any, Any] = {}
    for v in values:
        seen.setdefault(hkey(v), v)
    return sorted(seen.values(), key=lambda v: cu_key(js_string(v)))


def _row_key(v: Any) -> str:
    """Code-point order key for row lists (§16 j)."""
    return js_string(v)


def rate_metric(metric: str, count: int, total: int, buckets: dict[str, int]) -> dict[str, Any]:
    """A RateMetric (§3.3): ``n/a`` with null count and rate when there are no samples."""
    if total <= 0:
        return {"metric": metric, "state": "n/a", "count": None, "total": 0, "rate": None, "buckets": buckets}
    return {
        "metric": metric,
        "state": "ok",
        "count": count,
        "total": total,
        "rate": round6(count / total),
        "buckets": buckets,
    }


def _duration(start: Any, end: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if start is not MISSING:
        d["startedAt"] = start
    if end is not MISSING:
        d["endedAt"] = end
    d["wallClockMs"] = duration_ms(start if js_truthy(start) else None, end if js_truthy(end) else None)
    d["inFlight"] = not js_truthy(end)
    return d


def _row(rec: dict[str, Any], kind: str, start: Any, end: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if "id" in rec:
        row["id"] = rec["id"]
    row["kind"] = kind
    if "status" in rec:
        row["status"] = rec["status"]
    row["duration"] = _duration(start, end)
    return row


def _worker_end(w: dict[str, Any]) -> Any:
    recorded = js_get(w.get("output"), "recordedAt")
    if js_truthy(recorded):
        return recorded
    if w.get("status") in WORKER_ENDED:
        return w.get("updatedAt", MISSING)
    return MISSING


# ---------------------------------------------------------------------------
# Units, usage and cost
# ---------------------------------------------------------------------------


def _unit_sort_key(u: Unit) -> str:
    rid = u.record.get("id", MISSING)
    return rid if type(rid) is str else _row_key(rid)


def usage_units(run: dict[str, Any]) -> list[Unit]:
    """The run's usage units in code-point order of their id (§3.6, §16 j).

    Budget and P&L code reuse this list so that a piece of work is counted
    once: a worker with output carries the usage, and its task is skipped.
    """
    units: list[Unit] = []
    covered: set[Any] = set()
    for w in object_records(run.get("workers")):
        output = w.get("output", MISSING)
        if type(output) is dict or js_truthy(output):  # any object is truthy, even {}
            task_id = output.get("taskId", MISSING) if type(output) is dict else js_get(output, "taskId")
            key = task_id if js_truthy(task_id) else w.get("taskId", MISSING)
            covered.add(key if type(key) is str else hkey(key))
            units.append(Unit(w.get("id"), "worker", w.get("usage"), w))
    for t in object_records(run.get("tasks")):
        if t.get("status") == "completed":
            tid = t.get("id", MISSING)
            if (tid if type(tid) is str else hkey(tid)) not in covered:
                units.append(Unit(t.get("id"), "task", t.get("usage"), t))
    units.sort(key=_unit_sort_key)
    return units


def usage_totals(units: list[Unit]) -> dict[str, Any]:
    """UsageTotals (§3.6) over a unit list."""
    attested = [u for u in units if u.attested]
    inp: int | float = 0
    out: int | float = 0
    total: int | float = 0
    models = []
    invalid: list[dict[str, Any]] = []
    for u in attested:
        usage = u.usage if isinstance(u.usage, dict) else {}
        get = usage.get
        bad = implausible_usage(usage)
        if bad:
            invalid += _invalid_rows(u, bad)
            m = get("model")
            if js_truthy(m):
                models.append(m)
            continue
        i = get("inputTokens")
        o = get("outputTokens")
        t = get("totalTokens")
        # ints are the common case; anything else is read by CW's rules (token_number / token_total)
        i = i if type(i) is int else token_number(i)
        o = o if type(o) is int else token_number(o)
        inp += i
        out += o
        total += t if type(t) is int else i + o if t is None else token_total(usage)
        m = get("model")
        if js_truthy(m):
            models.append(m)
    n = len(units)
    totals: dict[str, Any] = {
        "units": n,
        "attestedUnits": len(attested),
        "unreportedUnits": n - len(attested),
        "coverage": round6(len(attested) / n) if n > 0 else None,
        "inputTokens": as_int_if_integral(inp),
        "outputTokens": as_int_if_integral(out),
        "totalTokens": as_int_if_integral(total),
        "models": distinct_sorted(models),
    }
    if invalid:  # cw only (§16 l): CW adds such values up as they are
        totals["invalidUnits"] = invalid
    return totals


def _invalid_rows(u: Unit, bad: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"unit": u.unit, "kind": u.kind, "field": f"usage.{k}", "value": v} for k, v in bad]


def invalid_note(units: list[Unit]) -> str | None:
    """The cost note naming the attested units whose usage cw will not read (None when there are none)."""
    rows = [r for u in units if u.attested for r in _invalid_rows(u, implausible_usage(u.usage))]
    if not rows:
        return None
    shown = "; ".join(f"{r['kind']} {js_string(r['unit'])} {r['field']} = {js_json(r['value'])}" for r in rows[:3])
    n = len({(r["kind"], hkey(r["unit"])) for r in rows})
    return NOTE_INVALID.format(n=n, what=shown + ("; …" if len(rows) > 3 else ""))


def derive_cost(attested: list[Unit], policy: PricingPolicy | None) -> dict[str, Any]:
    """CostMetric (§3.7) with cw's state rule (§16 h)."""
    currency = policy.report_currency if policy is not None else "USD"
    bad_note = invalid_note(attested)
    if not attested:
        cost: dict[str, Any] = {"state": "unreported", "currency": currency, "attestedUsd": None, "estimatedUsd": None}
        if policy is not None and policy.id is not None:
            cost["policyId"] = policy.id
        cost.update(unpricedModels=[], pricedCoverage=None, notes=[NOTE_UNREPORTED])
        return cost
    if policy is None:
        return {
            "state": "unpriced",
            "currency": currency,
            "attestedUsd": None,
            "estimatedUsd": None,
            "unpricedModels": [],
            "pricedCoverage": None,
            "notes": [NOTE_NO_POLICY] + ([bad_note] if bad_note else []),
        }
    exact_sum = Decimal(0)
    default_sum = Decimal(0)
    used_exact = used_default = policy_missed = False
    priced_tokens: int | float = 0
    attested_tokens: int | float = 0
    unpriced: list[Any] = []
    states: list[str] = []
    with localcontext(MONEY_CONTEXT):
        for u in attested:
            p = unit_cost(u.usage, True, policy)
            states.append(p.state)
            attested_tokens += p.tokens
            if p.state == "unpriced":
                if bad_note and implausible_usage(u.usage):
                    continue  # attested but not priceable (its tokens count 0): never attested cost over it
                policy_missed = True
                if js_truthy(p.model):
                    unpriced.append(p.model)
                continue
            priced_tokens += p.tokens
            assert p.cost is not None  # a priced unit always has a cost
            if p.state == "attested":
                exact_sum += p.cost
                used_exact = True
            else:
                default_sum += p.cost
                used_default = True
                if js_truthy(p.model):
                    unpriced.append(p.model)
        attested_usd = money_out(round6_decimal(exact_sum)) if used_exact else None
        estimated_usd = money_out(round6_decimal(default_sum)) if used_default else None
    state = cost_state(count_states(states), priced_tokens=priced_tokens)
    notes = []
    if used_default:
        notes.append(NOTE_DEFAULT)
    if state == "unpriced" and (policy_missed or not bad_note):
        notes.append(NOTE_UNPRICED)
    if bad_note:
        notes.append(bad_note)
    cost = {"state": state, "currency": currency, "attestedUsd": attested_usd, "estimatedUsd": estimated_usd}
    if policy.id is not None:
        cost["policyId"] = policy.id
    cost.update(
        unpricedModels=distinct_sorted(unpriced),
        pricedCoverage=round6(priced_tokens / attested_tokens) if attested_tokens > 0 else None,
        notes=notes,
    )
    return cost


# ---------------------------------------------------------------------------
# Rates
# ---------------------------------------------------------------------------


def _count_buckets(records: list[dict[str, Any]]) -> dict[Any, int]:
    buckets: dict[Any, int] = {}
    get = buckets.get
    for r in records:
        status = r.get("status", MISSING)
        if type(status) is not str:
            status = js_string(status)
        buckets[status] = get(status, 0) + 1
    return buckets


def failure_rate(run: dict[str, Any]) -> dict[str, Any]:
    """Failure rate over workers, worker-less dispatched tasks, memberships and feedback (§3.5)."""
    workers = object_records(run.get("workers"))
    tasks = [
        t
        for t in object_records(run.get("tasks"))
        if not js_truthy(t.get("workerId")) and js_truthy(t.get("dispatchedAt"))
    ]
    memberships = object_records(js_get(run.get("multiAgent"), "memberships"))
    feedback = object_records(run.get("feedback"))
    wf = sum(1 for w in workers if w.get("status") in ("failed", "rejected"))
    tf = sum(1 for t in tasks if t.get("status") == "failed")
    mf = sum(1 for m in memberships if m.get("status") == "failed")
    fu = sum(1 for f in feedback if f.get("status") in ("open", "tasked"))
    total = len(workers) + len(tasks) + len(memberships) + len(feedback)
    return rate_metric(
        "failure",
        wf + tf + mf + fu,
        total,
        {
            "workers": len(workers),
            "workersFailed": wf,
            "tasks": len(tasks),
            "tasksFailed": tf,
            "memberships": len(memberships),
            "membershipsFailed": mf,
            "feedback": len(feedback),
            "feedbackUnresolved": fu,
        },
    )


def verifier_pass_rate(run: dict[str, Any]) -> dict[str, Any]:
    """Pass rate over decided verifier gates; undecided gates only appear in the buckets (§3.5)."""
    gates = [n for n in object_records(run.get("nodes")) if n.get("kind") == "verifier"]
    passed = sum(1 for g in gates if g.get("status") in VERIFIER_PASS)
    failed = sum(1 for g in gates if g.get("status") in VERIFIER_FAIL)
    return rate_metric("verifier-pass", passed, passed + failed, _count_buckets(gates))


def candidate_acceptance_rate(run: dict[str, Any]) -> dict[str, Any]:
    """Accepted (selected or verified) over all candidates (§3.5)."""
    cands = object_records(run.get("candidates"))
    accepted = sum(1 for c in cands if c.get("status") in CANDIDATE_ACCEPTED)
    return rate_metric("candidate-acceptance", accepted, len(cands), _count_buckets(cands))


# ---------------------------------------------------------------------------
# Attestation and the telemetry ledger
# ---------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def telemetry_genesis(run_id: Any) -> str:
    """The ``prevHash`` of a run's first telemetry record."""
    return _sha256(f"cw-telemetry-ledger:{js_string(run_id)}")


def telemetry_record_hash(record: dict[str, Any]) -> str:
    """Recompute a telemetry record's ``recordHash`` (§3.8): sorted-key compact JSON of its fields."""
    canonical: dict[str, Any] = {}
    for key in (
        "schemaVersion",
        "runId",
        "recordId",
        "recordedAt",
        "workerId",
        "taskId",
        "promptDigest",
        "reportedUsageDigest",
    ):
        canonical[key] = record.get(key, MISSING)
    if "reportedUsage" in record:
        canonical["reportedUsage"] = record["reportedUsage"]
    sig = record.get("usageSignature")
    canonical["usageSignature"] = sig if js_truthy(sig) else None
    if "resultDigest" in record:
        canonical["resultDigest"] = record["resultDigest"]
    canonical["attestation"] = record.get("attestation", MISSING)
    reason = record.get("attestationReason")
    canonical["attestationReason"] = reason if js_truthy(reason) else None
    canonical["prevHash"] = record.get("prevHash", MISSING)
    return _sha256(js_json(canonical, sort_keys=True))


def ledger_status(telemetry: Any, run_id: Any) -> dict[str, Any]:
    """``attestation.ledger``: ``{present, verified, records}`` from the parsed telemetry.json."""
    if telemetry is TELEMETRY_MISSING:
        return {"present": False, "verified": True, "records": 0}
    records = telemetry.get("records") if isinstance(telemetry, dict) else None
    if not isinstance(records, list):
        return {"present": True, "verified": False, "records": 0}
    if not records:
        return {"present": False, "verified": True, "records": 0}
    verified = True
    prev: Any = telemetry_genesis(run_id)
    for rec in records:
        if not isinstance(rec, dict):
            verified = False
            break
        if rec.get("prevHash") != prev or telemetry_record_hash(rec) != rec.get("recordHash"):
            verified = False
            break
        prev = rec.get("recordHash")
    return {"present": True, "verified": verified, "records": len(records)}


def attestation_coverage(units: list[Unit], ledger: dict[str, Any]) -> dict[str, Any]:
    """How many units carry an attested, unattested, absent or unverified usage verdict (§3.8)."""
    counts = {"attested": 0, "unattested": 0, "absent": 0, "unverified": 0}
    for u in units:
        if u.attested:
            verdict = js_get(u.usage, "attestation")
            counts[verdict if verdict in ("attested", "unattested", "absent") else "unverified"] += 1
    n = len(units)
    return {
        "units": n,
        **counts,
        "verifiedCoverage": round6(counts["attested"] / n) if n > 0 else None,
        "ledger": ledger,
    }


# ---------------------------------------------------------------------------
# Collaboration
# ---------------------------------------------------------------------------


def _target_time(run: dict[str, Any], target: Any) -> Any:
    kind = js_get(target, "kind")
    tid = js_get(target, "id")
    field, key = (
        {
            "candidate": ("candidates", "createdAt"),
            "commit": ("commits", "createdAt"),
            "selection": ("candidateSelections", "selectedAt"),
        }.get(kind, (None, None))
        if isinstance(kind, str)
        else (None, None)
    )
    if field is None or key is None:
        return None
    for rec in object_records(run.get(field)):
        if rec.get("id", MISSING) == tid and hkey(rec.get("id", MISSING)) == hkey(tid):
            return rec.get(key)
    return None


def collaboration_metrics(run: dict[str, Any]) -> dict[str, Any]:
    """Approvals, rejections, comments, handoffs, reviewers and time to approval (§3.9)."""
    collab = run.get("collaboration")
    records = object_records(js_get(collab, "approvals"))
    approvals = [r for r in records if r.get("decision") == "approve"]
    rejections = sum(1 for r in records if r.get("decision") == "reject")
    reviewers = {hkey(a) for r in approvals if js_truthy(a := js_get(r.get("actor"), "id")) and a != "unattributed"}
    samples = []
    for r in approvals:
        ms = duration_ms(_target_time(run, r.get("target")), r.get("createdAt"))
        if ms is not None:
            samples.append(ms)
    comments = js_get(collab, "comments")
    handoffs = js_get(collab, "handoffs")
    return {
        "approvals": len(approvals),
        "rejections": rejections,
        "comments": len(comments) if isinstance(comments, list) else 0,
        "handoffs": len(handoffs) if isinstance(handoffs, list) else 0,
        "reviewers": len(reviewers),
        "approvalRate": rate_metric(
            "approval", len(approvals), len(approvals) + rejections, {"approve": len(approvals), "reject": rejections}
        ),
        "timeToApproval": {
            "samples": len(samples),
            "meanMs": js_round(sum(samples) / len(samples)) if samples else None,
            "maxMs": max(samples) if samples else None,
        },
    }


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def freshness(
    persisted: str | None, current: str, persisted_cw: str | None = None, current_cw: str | None = None
) -> dict[str, Any]:
    """``absent`` without a persisted fingerprint, ``valid`` when equal, else ``stale`` (§4.4).

    cw's own fingerprint (cw's additions) is checked beside CW's when both the
    run and the snapshot have one: a change only cw sees makes cw's view stale.
    A snapshot without one (CW wrote it) is judged by CW's fingerprint alone.
    """
    status = "absent" if not persisted else "valid" if persisted == current else "stale"
    if status == "valid" and persisted_cw and current_cw and persisted_cw != current_cw:
        status = "stale"
    out: dict[str, Any] = {"status": status}
    if persisted is not None:
        out["persistedFingerprint"] = persisted
    out["currentFingerprint"] = current
    if current_cw is not None:
        if persisted_cw is not None:
            out["persistedCwFingerprint"] = persisted_cw
        out["currentCwFingerprint"] = current_cw
    return out


def _scope(run: dict[str, Any], tasks: list[dict[str, Any]], workers: list[dict[str, Any]]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    app = run_app(run)
    if app is not MISSING:
        scope["app"] = app
    scope["backendIds"] = distinct_sorted([b for rec in tasks + workers if js_truthy(b := rec.get("backendId"))])
    return scope


def _rates(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "failure": failure_rate(run),
        "verifierPass": verifier_pass_rate(run),
        "candidateAcceptance": candidate_acceptance_rate(run),
    }


def derive_report(
    run: dict[str, Any],
    now: str,
    policy: PricingPolicy | None,
    persisted_fingerprint: str | None = None,
    *,
    telemetry: Any = TELEMETRY_MISSING,
    persisted_cw_fingerprint: str | None = None,
) -> dict[str, Any]:
    """The MetricsReport payload (§3.2 key order) for one loaded run."""
    tasks = object_records(run.get("tasks"))
    workers = object_records(run.get("workers"))
    task_rows = sorted(
        (_row(t, "task", t.get("dispatchedAt", MISSING), t.get("completedAt", MISSING)) for t in tasks),
        key=lambda r: _row_key(r.get("id", MISSING)),
    )
    worker_rows = sorted(
        (_row(w, "worker", w.get("createdAt", MISSING), _worker_end(w)) for w in workers),
        key=lambda r: _row_key(r.get("id", MISSING)),
    )
    pending = sum(1 for t in tasks if t.get("status") in ("pending", "running"))
    run_time: dict[str, Any] = {}
    if "createdAt" in run:
        run_time["startedAt"] = run["createdAt"]
    if "updatedAt" in run:
        run_time["endedAt"] = run["updatedAt"]
    run_time["wallClockMs"] = duration_ms(run.get("createdAt"), run.get("updatedAt"))
    run_time["inFlight"] = pending > 0

    units = usage_units(run)
    attested = [u for u in units if u.attested]
    totals = usage_totals(units)
    fingerprint, cw_fp = fingerprints(run)
    attested_usage = []
    for u in attested:
        row: dict[str, Any] = {}
        if "id" in u.record:
            row["unit"] = u.record["id"]
        row["kind"] = u.kind
        row["usage"] = u.usage
        attested_usage.append(row)

    report: dict[str, Any] = {"schemaVersion": METRICS_SCHEMA_VERSION, "surface": "metrics"}
    if "id" in run:
        report["runId"] = run["id"]
    report["generatedAt"] = now
    report["sourceFingerprint"] = fingerprint
    if cw_fp is not None:
        report["cwFingerprint"] = cw_fp
    report.update(
        {
            "freshness": freshness(persisted_fingerprint, fingerprint, persisted_cw_fingerprint, cw_fp),
            "scope": _scope(run, tasks, workers),
            "time": {
                "run": run_time,
                "activeTaskMs": sum(r["duration"]["wallClockMs"] or 0 for r in task_rows),
                "inFlight": sum(1 for r in task_rows if r["duration"]["inFlight"])
                + sum(1 for r in worker_rows if r["duration"]["inFlight"]),
                "tasks": task_rows,
                "workers": worker_rows,
            },
            "rates": _rates(run),
            "usage": totals,
            "cost": derive_cost(attested, policy),
            "attestedUsage": attested_usage,
            "attestation": attestation_coverage(units, ledger_status(telemetry, run.get("id", MISSING))),
            "collaboration": collaboration_metrics(run),
            "nextAction": NEXT_NO_USAGE
            if totals["unreportedUnits"] > 0 and totals["attestedUnits"] == 0
            else f"cw metrics show {js_string(run.get('id', MISSING))} --json",
        }
    )
    return report


def derive_summary_report(
    run: dict[str, Any],
    now: str,
    policy: PricingPolicy | None,
    persisted_fingerprint: str | None = None,
    persisted_cw_fingerprint: str | None = None,
    *,
    status_only: bool = False,
) -> dict[str, Any]:
    """The part of ``derive_report`` the summary pools, computed without the rest.

    Keys (in report order): ``runId``, ``generatedAt``, ``sourceFingerprint``,
    ``freshness``, ``scope``, ``rates``, ``usage``, ``cost``; each value equals
    ``derive_report``'s. ``summary.run_entry`` accepts either. With ``status_only``
    (a caller that reads only the freshness status, as ``run_entry`` does) and no
    snapshot's fingerprint, the run's fingerprints are not computed: the status is
    ``absent`` whatever they are, and ``sourceFingerprint`` is left out.
    """
    tasks = object_records(run.get("tasks"))
    workers = object_records(run.get("workers"))
    units = usage_units(run)
    part: dict[str, Any] = {}
    if "id" in run:
        part["runId"] = run["id"]
    if status_only and persisted_fingerprint is None:
        part.update(generatedAt=now, freshness={"status": "absent"})
    else:
        fingerprint, cw_fp = fingerprints(run)
        part.update(generatedAt=now, sourceFingerprint=fingerprint)
        if cw_fp is not None:
            part["cwFingerprint"] = cw_fp
        part["freshness"] = freshness(persisted_fingerprint, fingerprint, persisted_cw_fingerprint, cw_fp)
    part.update(
        scope=_scope(run, tasks, workers),
        rates=_rates(run),
        usage=usage_totals(units),
        cost=derive_cost([u for u in units if u.attested], policy),
    )
    return part


def pin_valid(report: dict[str, Any]) -> dict[str, Any]:
    """``metrics show``'s payload: freshness pinned to ``valid`` against its own fingerprint (§4.4)."""
    fp = report["sourceFingerprint"]
    pinned: dict[str, Any] = {"status": "valid", "persistedFingerprint": fp, "currentFingerprint": fp}
    if "cwFingerprint" in report:
        pinned["persistedCwFingerprint"] = pinned["currentCwFingerprint"] = report["cwFingerprint"]
    return {**report, "freshness": pinned}
