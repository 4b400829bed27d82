"""``cw pricing check``: what a pricing policy cannot price in a workspace, and which of its prices are old.

Two lists:

* ``models``: every model seen in the scope's attested usage that the
  policy does not price with an exact entry, one row per model: how many
  units, how many fell to ``defaultPrice`` (estimated) or to nothing
  (unpriced), the first and last ``attestedAt``, and why (no entry; or
  attested before the model's first ``effectiveFrom``). Units without a
  model are one row with ``model`` null.
* ``stale`` (with ``--max-age DAYS``): entries whose prices were read more
  than DAYS days before ``now``: an entry's own ``pricesTakenOn``, else the
  policy's. Entries with neither date are listed as undated, since their age
  cannot be known.

``ok`` is true when both lists are empty; the verb exits 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from cw.core.fingerprint import js_truthy
from cw.core.metrics import usage_units
from cw.core.numbers import cu_key, parse_iso_ms, whole_number
from cw.core.pricing import PricingPolicy, price_unit
from cw.model.errors import UsageError


def parse_max_age(value: Any) -> int | None:
    """``--max-age DAYS``: a whole number of days, 0 or more."""
    if value is None:
        return None
    n = whole_number(value, 999999)
    if n is None:
        raise UsageError(f'Invalid --max-age "{value}": expected a whole number of days (e.g. --max-age 30).')
    return n


def _days_between(earlier: str, later: str) -> int:
    return (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days


def _first_start(policy: PricingPolicy, model: str) -> str | None:
    starts = [e.effective_from for e in policy.models if e.model == model]
    if not starts or any(s is None for s in starts):
        return None
    return min(starts, key=lambda s: parse_iso_ms(s) or 0)


def check_pricing(
    runs: Iterable[tuple[str, str, dict[str, Any]]],
    policy: PricingPolicy,
    *,
    now: str,
    max_age: int | None,
    scope: str,
    unreadable: list[dict[str, Any]],
) -> dict[str, Any]:
    """The ``pricing check`` payload over ``(runId, repo, state)`` triples."""
    rows: dict[Any, dict[str, Any]] = {}
    for run_id, repo, state in runs:
        for u in usage_units(state):
            if not u.attested or not isinstance(u.usage, dict):
                continue
            priced = price_unit(u.usage, policy)
            if priced.basis == "exact":
                continue
            model = u.usage.get("model")
            key = model if isinstance(model, str) and model else None
            row = rows.setdefault(
                key,
                {
                    "model": key,
                    "units": 0,
                    "estimated": 0,
                    "unpriced": 0,
                    "firstSeen": None,
                    "lastSeen": None,
                    "runs": [],
                    "reason": "",
                },
            )
            row["units"] += 1
            row["estimated" if priced.basis == "default" else "unpriced"] += 1
            at = u.usage.get("attestedAt")
            if isinstance(at, str) and parse_iso_ms(at) is not None:
                if row["firstSeen"] is None or parse_iso_ms(at) < parse_iso_ms(row["firstSeen"]):  # type: ignore[operator]
                    row["firstSeen"] = at
                if row["lastSeen"] is None or parse_iso_ms(at) > parse_iso_ms(row["lastSeen"]):  # type: ignore[operator]
                    row["lastSeen"] = at
            ref = f"{repo}:{run_id}"
            if ref not in row["runs"]:
                row["runs"].append(ref)
    models = []
    for key in sorted(rows, key=lambda k: (k is not None, cu_key(k or ""))):
        row = rows[key]
        if key is None:
            row["reason"] = "the usage names no model"
        elif any(e.model == key for e in policy.models):
            row["reason"] = f"attested before the model's first entry (effectiveFrom {_first_start(policy, key)})"
        else:
            row["reason"] = "no entry for this model"
        row["reason"] += (
            "; priced by defaultPrice (estimated)" if js_truthy(policy.default_price) and key else "; unpriced"
        )
        row["runs"] = sorted(row["runs"], key=cu_key)
        models.append(row)
    stale: dict[str, Any] | None = None
    if max_age is not None:
        entries = []
        for i, e in enumerate(policy.models):
            taken = e.prices_taken_on or policy.prices_taken_on
            age = _days_between(taken, now) if taken else None
            if age is None or age > max_age:
                entries.append(
                    {
                        "index": i,
                        "model": e.model,
                        "effectiveFrom": e.effective_from,
                        "pricesTakenOn": taken,
                        "ageDays": age,
                    }
                )
        stale = {"maxAgeDays": max_age, "entries": entries}
    return {
        "schemaVersion": 1,
        "surface": "pricing-check",
        "generatedAt": now,
        "scope": scope,
        "policy": {
            "id": policy.id,
            "file": policy.source,
            "pricesTakenOn": policy.prices_taken_on,
            "ageDays": _days_between(policy.prices_taken_on, now) if policy.prices_taken_on else None,
            "entries": len(policy.models),
            "hasDefaultPrice": policy.default_price is not None,
        },
        "models": models,
        "stale": stale,
        "unreadable": unreadable,
        "ok": not models and not (stale and stale["entries"]),
    }


def render_check_text(p: dict[str, Any]) -> str:
    pol = p["policy"]
    days = pol["ageDays"]
    age = "" if days is None else f", {days} day{'' if days == 1 else 's'} old"
    lines = [
        f"pricing check  policy {pol['id'] or '(no id)'}  {pol['entries']} entries  "
        f"prices taken on {pol['pricesTakenOn'] or 'unknown'}{age}"
    ]
    if p["models"]:
        lines.append(f"  models the policy does not price exactly: {len(p['models'])}")
        for m in p["models"]:
            lines.append(
                f"    {m['model'] or '(no model)'}  units={m['units']} estimated={m['estimated']} "
                f"unpriced={m['unpriced']}  last seen {m['lastSeen'] or '-'}  - {m['reason']}"
            )
    else:
        lines.append("  every model seen in the workspace has an exact entry")
    st = p["stale"]
    if st is not None:
        if st["entries"]:
            by_date: dict[Any, int] = {}
            for e in st["entries"]:
                by_date[e["pricesTakenOn"]] = by_date.get(e["pricesTakenOn"], 0) + 1
            lines.append(f"  entries older than {st['maxAgeDays']} days: {len(st['entries'])}")
            for taken, n in sorted(by_date.items(), key=lambda kv: kv[0] or ""):
                lines.append(f"    {n} taken on {taken}" if taken else f"    {n} with no pricesTakenOn (age unknown)")
        else:
            lines.append(f"  no entry is older than {st['maxAgeDays']} days")
    for u in p["unreadable"]:
        lines.append(f"  unreadable {u['runId']} ({u['repo']}): {u['reason']}")
    return "\n".join(lines)
