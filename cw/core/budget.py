"""Budgets that fail closed: the token budget (CW's ``workflow.limits.tokenBudget``) and cw's cost budget.

Spend is what the run has *recorded*; each budget block says whether that
is all of it (``complete``) and how many units it leaves out
(``missingUnits``: unreported, invalid, and for cost unpriced or
unconverted units), so a text view prints ``≥0.42`` or ``unknown``, never a
bare figure over unknown spend. Money is rounded to the currency's minor
unit. Spend is what the run has *recorded*: tokens per cw-compat §10 over the
attested usage units, cost priced by the pricing policy. Unlike CW, silence
is not zero (§16 i): while a budgeted run has completed units without
attested usage, dispatch is refused unless the caller allows it. A cost
budget also refuses when part of the spend is unpriced or cannot be
converted to the budget's currency, because its spend is then unknown.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, cast

from cw.core.currency import format_money, round_money
from cw.core.fingerprint import js_json
from cw.core.fx import FxPolicy, convert
from cw.core.metrics import usage_units
from cw.core.numbers import is_number, js_number, money_out
from cw.core.pricing import PricingPolicy, implausible_usage, price_unit, token_number

_IN = ("inputTokens", "input_tokens", "promptTokens", "prompt_tokens")
_OUT = ("outputTokens", "output_tokens", "completionTokens", "completion_tokens")
_TOTAL = ("totalTokens", "total_tokens")


def _num(usage: dict[str, Any], keys: tuple[str, ...]) -> float | int | None:
    for k in keys:
        v = usage.get(k)
        if is_number(v):
            return cast("float | int", v)  # JSON numbers are never Decimal here
        if isinstance(v, str):
            try:
                return float(v) if "." in v else int(v)
            except ValueError:
                continue
    return None


def recorded_tokens(usage: Any) -> int | float:
    """§10: ``totalTokens`` when a number, else the normalized total, else input + output."""
    if not isinstance(usage, dict):
        return 0
    if is_number(usage.get("totalTokens")):
        return cast("int | float", usage["totalTokens"])
    total = _num(usage, _TOTAL)
    if total is not None:
        return total
    return token_number(_num(usage, _IN)) + token_number(_num(usage, _OUT))


def _limits(run: dict[str, Any]) -> dict[str, Any]:
    wf = run.get("workflow")
    limits = wf.get("limits") if isinstance(wf, dict) else None
    return limits if isinstance(limits, dict) else {}


def token_budget(run: dict[str, Any]) -> int | float | None:
    b = _limits(run).get("tokenBudget")
    return cast("int | float", b) if _readable_budget(b) else None


def _readable_budget(b: Any) -> bool:
    return is_number(b) and not isinstance(b, bool) and math.isfinite(b) and b > 0


def token_budget_problem(run: dict[str, Any]) -> str | None:
    """Why a ``tokenBudget`` that is there cannot be read (CW reads "100", 0 or -5 as no budget; cw refuses)."""
    limits = _limits(run)
    if "tokenBudget" not in limits or limits["tokenBudget"] is None or _readable_budget(limits["tokenBudget"]):
        return None
    return (
        f"workflow.limits.tokenBudget is {js_json(limits['tokenBudget'])}, which cw cannot read as a token budget "
        "(a positive number of tokens); set a positive number or remove the field"
    )


def cost_budget(run: dict[str, Any]) -> tuple[Decimal, str] | None:
    cb = ((run.get("budget") or {}).get("costBudget")) if isinstance(run.get("budget"), dict) else None
    if not isinstance(cb, dict):
        return None
    try:
        return Decimal(str(cb["amount"])), str(cb["currency"])
    except (KeyError, ArithmeticError):
        return None


def budget_status(
    run: dict[str, Any], policy: PricingPolicy | None, fx: FxPolicy | None, *, now: str, allow_unreported: bool = False
) -> dict[str, Any]:
    """The ``cw budget`` payload: spent, remaining, and whether (and why not) dispatch may go on."""
    units = usage_units(run)
    invalid = [u for u in units if u.attested and implausible_usage(u.usage)]
    attested = [u for u in units if u.attested and not implausible_usage(u.usage)]
    unreported = len(units) - len(attested) - len(invalid)
    reasons: list[str] = []
    problem = token_budget_problem(run)
    if problem:
        reasons.append(problem)
    tb = token_budget(run)
    cb = cost_budget(run)
    out: dict[str, Any] = {
        "schemaVersion": 1,
        "surface": "budget",
        "runId": run.get("id"),
        "generatedAt": now,
        "units": len(units),
        "unreportedUnits": unreported,
        "invalidUnits": len(invalid),
    }
    missing_tokens = unreported + len(invalid)
    if tb is not None:
        spent = sum(recorded_tokens(u.usage) for u in attested)
        out["tokenBudget"] = {
            "limit": tb,
            "spent": spent,
            "remaining": max(tb - spent, 0),
            "complete": missing_tokens == 0,
            "missingUnits": missing_tokens,
        }
        if spent >= tb:
            reasons.append(f"token budget exhausted: {js_number(spent)} recorded tokens >= budget {js_number(tb)}")
    else:
        out["tokenBudget"] = None
    if cb is not None:
        limit, cur = cb
        spent_money = Decimal(0)
        unknown: list[str] = []
        for u in attested:
            priced = price_unit(u.usage, policy)
            if priced.cost is None:
                unknown.append(f"{u.unit}: unpriced ({priced.model or 'no model'})")
                continue
            src = policy.report_currency if policy is not None else "USD"
            conv = convert(priced.cost, src, cur, u.usage.get("attestedAt"), fx)
            if conv.amount is None:
                unknown.append(f"{u.unit}: {conv.reason}")
                continue
            spent_money += conv.amount
        missing = missing_tokens + len(unknown)
        out["costBudget"] = {
            "limit": money_out(limit),
            "currency": cur,
            "spent": money_out(spent_money.quantize(Decimal("0.000001"))),  # millionths: a hair below the limit shows
            "remaining": money_out(round_money(max(limit - spent_money, Decimal(0)), cur)),
            "pricingPolicyId": policy.id if policy is not None else None,
            "unknownUnits": unknown,
            "complete": missing == 0,
            "missingUnits": missing,
        }
        if spent_money >= limit:
            reasons.append(
                f"cost budget exhausted: {format_money(spent_money, cur)} {cur} recorded spend >= "
                f"budget {format_money(limit, cur)} {cur}"
            )
        if unknown:
            reasons.append(
                f"cost budget cannot be checked: {len(unknown)} unit(s) have spend cw cannot price "
                f"or convert ({'; '.join(unknown[:3])}{'; …' if len(unknown) > 3 else ''})"
            )
    else:
        out["costBudget"] = None
    budgeted = tb is not None or cb is not None or problem is not None
    if budgeted and invalid:
        names = [str(u.unit) for u in invalid]
        reasons.append(
            f"{len(invalid)} unit(s) hold token counts cw cannot read ({', '.join(names[:5])}"
            f"{', …' if len(names) > 5 else ''}), so the spend is unknown; see cw metrics show"
        )
    if budgeted and unreported and not allow_unreported:
        names = [str(u.unit) for u in units if not u.attested]
        reasons.append(
            f"{unreported} completed unit(s) have no attested usage ({', '.join(names[:5])}"
            f"{', …' if len(names) > 5 else ''}); unreported usage is not zero. Record it with "
            "--usage-* on cw result / cw worker output, or pass --allow-unreported"
        )
    out["dispatch"] = {"allowed": not reasons, "reasons": reasons}
    return out


def has_budget(run: dict[str, Any]) -> bool:
    """A readable budget, or a ``tokenBudget`` cw cannot read (which must block, never mean "no budget")."""
    return token_budget(run) is not None or cost_budget(run) is not None or token_budget_problem(run) is not None


__all__ = ["budget_status", "cost_budget", "has_budget", "recorded_tokens", "token_budget", "token_budget_problem"]
