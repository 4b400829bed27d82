"""Human text for ``metrics show`` and ``metrics summary`` (cw-compat §7).

Both return the text without a trailing newline (the CLI adds one). Numbers
print as JavaScript prints them (``js_number``), percentages and seconds
with JavaScript's ``toFixed``. cw adds, after the ``backend`` lines of the
summary, one line per unreadable run (§16 c) and, when ``--limit`` left runs
out, one line saying how many (§16 d).
"""

from __future__ import annotations

from typing import Any

from cw.core.fingerprint import MISSING, js_json, js_string, js_truthy
from cw.core.numbers import js_number, js_round, to_fixed


def format_rate(r: dict[str, Any]) -> str:
    """``66.7% (2/3)``, or ``n/a (0 samples)``."""
    if r["state"] == "n/a":
        return "n/a (0 samples)"
    return f"{to_fixed(r['rate'] * 100, 1)}% ({js_number(r['count'])}/{js_number(r['total'])})"


def format_ms(ms: Any) -> str:
    """``—`` for null, ``<ms>ms`` below a second, else seconds with one decimal."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{js_number(ms)}ms"
    return f"{to_fixed(ms / 1000, 1)}s"


def format_cost(c: dict[str, Any]) -> str:
    """``state=estimated  attested=USD 0.03  estimated=USD 0.003  unpriced-models=a,b``."""
    parts = [f"state={js_string(c['state'])}"]
    currency = js_string(c["currency"])
    if c.get("attestedUsd") is not None:
        parts.append(f"attested={currency} {js_number(c['attestedUsd'])}")
    if c.get("estimatedUsd") is not None:
        parts.append(f"estimated={currency} {js_number(c['estimatedUsd'])}")
    if c.get("unpricedModels"):
        parts.append("unpriced-models=" + ",".join(js_string(m) for m in c["unpricedModels"]))
    return "  ".join(parts)


def format_policy(header: Any) -> str:
    """``default (id bundled-2026-11, from built-in)``: the pricing policy an output used and why."""
    if not isinstance(header, dict):
        return "-"
    ident = header.get("id")
    return f"{header.get('name')} (id {ident or '-'}, from {header.get('from')})"


def format_coverage(cov: Any) -> str:
    """``67%`` or ``n/a``."""
    return "n/a" if cov is None else f"{to_fixed(cov * 100, 0)}%"


def render_report_text(report: dict[str, Any]) -> str:
    """The ``metrics show`` text."""
    t = report["time"]
    u = report["usage"]
    col = report["collaboration"]
    tta = col["timeToApproval"]
    app = report["scope"].get("app")
    mean = "n/a" if tta["meanMs"] is None else f"{js_round(tta['meanMs'] / 1000)}s"
    lines = [
        f"metrics {js_string(report.get('runId', MISSING))}  [{report['freshness']['status']}]  "
        f"app={js_string(app) if js_truthy(app) else '-'}",
        f"  time: run={format_ms(t['run']['wallClockMs'])}{' (in-flight)' if t['run']['inFlight'] else ''}  "
        f"active-task={format_ms(t['activeTaskMs'])}  in-flight-items={t['inFlight']}",
        f"  failure-rate:    {format_rate(report['rates']['failure'])}",
        f"  verifier-pass:   {format_rate(report['rates']['verifierPass'])}",
        f"  cand-acceptance: {format_rate(report['rates']['candidateAcceptance'])}",
        f"  collaboration:   approvals={col['approvals']} rejections={col['rejections']} "
        f"comments={col['comments']} handoffs={col['handoffs']} reviewers={col['reviewers']}  "
        f"approval-rate={format_rate(col['approvalRate'])}  time-to-approval={mean} ({tta['samples']} samples)",
        f"  usage: attested={u['attestedUnits']}/{u['units']} units (coverage {format_coverage(u['coverage'])}), "
        f"unreported={u['unreportedUnits']}; tokens in={js_number(u['inputTokens'])} "
        f"out={js_number(u['outputTokens'])} total={js_number(u['totalTokens'])}",
        f"  cost:  {format_cost(report['cost'])}",
    ]
    if "pricingPolicy" in report:
        lines.append(f"  pricing: {format_policy(report['pricingPolicy'])}")
    if u["models"]:
        lines.append("  models: " + ", ".join(js_string(m) for m in u["models"]))
    for bad in u.get("invalidUnits", []):
        lines.append(
            f"  invalid usage: {bad['kind']} {js_string(bad['unit'])} {bad['field']} = {js_json(bad['value'])} "
            "(not counted, not priced)"
        )
    lines += _net_lines(report)
    lines.append(f"  next: {report['nextAction']}")
    return "\n".join(lines)


def _net_lines(report: dict[str, Any]) -> list[str]:
    """Revenue and net of a run with a ledger (cw's addition), at each currency's minor unit."""
    from cw.core.currency import format_money

    rev, net = report.get("revenue"), report.get("net")
    if rev is None:
        return []
    if rev.get("state") != "ok":
        return [f"  revenue: refused: {rev.get('reason')}"]
    lines = [
        f"  revenue: {r['currency']} booked={format_money(r['booked'], r['currency'])} "
        f"reversed={format_money(r['reversed'], r['currency'])} net={format_money(r['net'], r['currency'])}"
        for r in rev["byCurrency"]
    ]
    if net is None:
        return lines
    cur = net["currency"]
    cost = report.get("cost") or {}
    # no unit priced (unreported, or unpriced throughout): the spend is unknown, not zero, as in cw pnl
    spend_unknown = (
        report["usage"]["units"] > 0
        and cost.get("state") in ("unreported", "unpriced")
        and (cost.get("attestedUsd") is None and cost.get("estimatedUsd") is None)
    )
    spend = "n/a" if spend_unknown else format_money(net["spend"], cur)
    total = "n/a" if spend_unknown else format_money(net["net"], cur)
    lines.append(
        f"  net:   {cur} revenue={format_money(net['revenue'], cur)} spend={spend} "
        f"net={total}  {'complete' if net['complete'] else 'not complete'}"
    )
    fx = net.get("fx") or {}
    if fx.get("ratesUsed"):
        rates = ", ".join(f"{r['date']} {r['currency']} {r['perBase']}" for r in fx["ratesUsed"])
        lines.append(f"  fx: policy {fx['policyId']} (per 1 {fx['base']}): {rates}")
    for st in fx.get("staleRates") or ():
        lines.append(
            f"  fx: old rate: {st['pair']} at the {st['rateDate']} rate, up to {st['maxAgeDays']} days older "
            f"than the amount (limit {fx['maxRateAgeDays']})"
        )
    lines += [f"    - {r}" for r in net["reasons"]]
    return lines


def render_summary_text(summary: dict[str, Any]) -> str:
    """The ``metrics summary`` text."""
    u = summary["usage"]
    head = f"metrics summary  scope={js_string(summary['scope'])}  runs={summary['runCount']}"
    if summary["unreadableRuns"]:
        head += f" (+{summary['unreadableRuns']} unreadable)"
    lines = [
        head,
        f"  failure-rate:    {format_rate(summary['rates']['failure'])}",
        f"  verifier-pass:   {format_rate(summary['rates']['verifierPass'])}",
        f"  cand-acceptance: {format_rate(summary['rates']['candidateAcceptance'])}",
        f"  usage: attested={u['attestedUnits']}/{u['units']} units (coverage {format_coverage(u['coverage'])}); "
        f"tokens total={js_number(u['totalTokens'])}",
        f"  cost:  {format_cost(summary['cost'])}",
    ]
    if "pricingPolicy" in summary:
        lines.append(f"  pricing: {format_policy(summary['pricingPolicy'])}")
    for g in summary["byApp"]:
        lines.append(
            f"  app {js_string(g['key'])}: runs={g['runCount']} "
            f"verifier={format_rate(g['rates']['verifierPass'])} cost={format_cost(g['cost'])}"
        )
    for g in summary["byBackend"]:
        lines.append(
            f"  backend {js_string(g['key'])}: runs={g['runCount']} failure={format_rate(g['rates']['failure'])}"
        )
    for g in summary.get("byActor", ()):
        lines.append(f"  actor {js_string(g['key'])}: runs={g['runCount']} cost={format_cost(g['cost'])}")
    w = summary.get("window")
    if w is not None:
        lines.insert(1, f"  window: [{w['since'] or 'start'}, {w['until'] or 'no end'})  tz={w['tz']}")
    previous: dict[str, Any] | None = None
    for p in summary.get("periods", ()):
        t = p["total"]
        line = (
            f"  {p['period']}: runs={t['runCount']} failure={format_rate(t['rates']['failure'])} "
            f"tokens={js_number(t['usage']['totalTokens'])} cost={format_cost(t['cost'])}"
        )
        if previous is not None:
            d_runs = t["runCount"] - previous["runCount"]
            d_tok = t["usage"]["totalTokens"] - previous["usage"]["totalTokens"]
            line += f"  (vs previous: runs {d_runs:+d}, tokens {'+' if d_tok >= 0 else ''}{js_number(d_tok)})"
        lines.append(line)
        previous = t
    for r in summary.get("runs", ()):
        if "runDir" in r:
            lines.append(
                f"  note: run directory {js_string(r['runDir'])} ({js_string(r['repo'])}) holds run id "
                f"{js_string(r.get('runId'))}, which does not match it (a copied or renamed run?); listed apart"
            )
    for bad in summary.get("unreadable", ()):
        lines.append(f"  unreadable {js_string(bad['runId'])} ({js_string(bad['repo'])}): {js_string(bad['reason'])}")
    omitted = summary.get("omittedRuns") or 0
    if omitted:
        lines.append(
            f"  omitted: {omitted} older run{'s' if omitted != 1 else ''} not shown or checked "
            f"(--limit {summary['runCount']}; a larger --limit reads them)"
        )
    lines.append(f"  next: {summary['nextAction']}")
    return "\n".join(lines)
