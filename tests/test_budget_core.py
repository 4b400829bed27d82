"""The run budgets of cw/core/budget.py, worked by hand: they fail closed, exactly at the limit too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cw.core.budget import budget_status
from cw.core.pricing import validate_policy

NOW = "2026-06-08T12:00:00.000Z"
# one model at 2 USD per million input tokens and 10 per million output tokens
POLICY = validate_policy(
    {
        "schemaVersion": 1,
        "id": "hand",
        "currency": "USD",
        "models": [{"model": "m", "inputPerMillion": 2, "outputPerMillion": 10}],
    },
    "hand.json",
)


def run(*usages: dict[str, Any] | None, tokens: int | None = None, cost: str | None = None) -> dict[str, Any]:
    """A run whose completed tasks carry the given usages (``None``: the task reported nothing)."""
    tasks = [
        {"id": f"t{i}", "status": "completed", **({"usage": u} if u is not None else {})} for i, u in enumerate(usages)
    ]
    doc: dict[str, Any] = {"id": "r", "tasks": tasks, "workers": []}
    if tokens is not None:
        doc["workflow"] = {"limits": {"tokenBudget": tokens}}
    if cost is not None:
        doc["budget"] = {"costBudget": {"amount": cost, "currency": "USD"}}
    return doc


def usage(inp: int, out: int, model: str = "m") -> dict[str, Any]:
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out, "model": model}


def allowed(doc: dict[str, Any], **kw: Any) -> bool:
    return bool(budget_status(doc, POLICY, None, now=NOW, **kw)["dispatch"]["allowed"])


def test_a_token_budget_refuses_exactly_at_the_limit_and_allows_one_below():
    assert not allowed(run(usage(60, 40), tokens=100))
    assert allowed(run(usage(60, 39), tokens=100))
    status = budget_status(run(usage(60, 40), tokens=100), POLICY, None, now=NOW)
    assert status["tokenBudget"] == {"limit": 100, "spent": 100, "remaining": 0, "complete": True, "missingUnits": 0}
    assert "100 recorded tokens >= budget 100" in status["dispatch"]["reasons"][0]


def test_a_cost_budget_refuses_exactly_at_the_limit_and_allows_a_hair_below():
    # 250,000 in x 2/M = 0.50, 50,000 out x 10/M = 0.50: exactly 1.00 USD
    assert not allowed(run(usage(250_000, 50_000), cost="1.00"))
    # one output token less: 0.99999 USD
    assert allowed(run(usage(250_000, 49_999), cost="1.00"))
    spent = budget_status(run(usage(250_000, 49_999), cost="1.00"), POLICY, None, now=NOW)["costBudget"]["spent"]
    assert Decimal(str(spent)) == Decimal("0.99999")


def test_unpriced_spend_refuses_dispatch_under_a_cost_budget():
    # a model the policy cannot price: the spend is unknown, never zero, so the budget cannot be checked
    status = budget_status(run(usage(10, 10, model="unknown-model"), cost="100"), POLICY, None, now=NOW)
    assert status["dispatch"]["allowed"] is False
    assert any("cannot be checked" in r for r in status["dispatch"]["reasons"])
    # the same tokens on a priced model are far below the limit
    assert allowed(run(usage(10, 10), cost="100"))


def test_unreported_work_refuses_dispatch_under_any_budget_unless_allowed():
    for kw in ({"tokens": 1_000_000}, {"cost": "100"}):
        doc = run(usage(1, 1), None, **kw)
        assert not allowed(doc)
        assert allowed(doc, allow_unreported=True)
    # no budget: no gate
    assert allowed(run(usage(1, 1), None))


def test_several_units_add_up_against_the_token_budget():
    assert allowed(run(usage(30, 0), usage(30, 0), usage(39, 0), tokens=100))
    assert not allowed(run(usage(30, 0), usage(30, 0), usage(40, 0), tokens=100))
