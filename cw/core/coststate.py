"""The cost vocabulary: one rule for the state, coverage and completeness of a set of units.

Every surface that says anything about cost (``metrics show`` / ``summary``,
``pnl``, ``budget``, MCP, the workbench) goes through these functions, so the
same run reads the same way everywhere. docs/concepts.md states the rules in
prose; this module is their single implementation.

Unit states (one per usage unit):

* ``unreported``: the host recorded no usage for the unit;
* ``unpriced``: usage was recorded but the policy cannot price all of it (no
  entry and no default for the model, a token bucket the entry has no price
  for and the default cannot price either, or no policy at all);
* ``estimated``: priced, but some of it by the policy's ``defaultPrice``;
* ``attested``: priced entirely by the model's exact entry.

The cost state of a set is ``unreported`` when no unit in it has recorded
usage (an empty set included), else the first of ``unpriced``,
``estimated``, ``attested`` that any unit has. One more case keeps CW's
reading: a set whose priced units carry no tokens at all is ``unpriced``
(nothing measurable was priced). Coverage is reported units / units
(``None`` without units). A set's cost is complete when no unit in it is
unreported or unpriced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from cw.core.numbers import round6, to_fixed
from cw.core.pricing import PricingPolicy, price_unit

CostState = Literal["attested", "estimated", "unpriced", "unreported"]

#: The unit states, best first; also the keys of every per-state count.
UNIT_STATES: tuple[CostState, ...] = ("attested", "estimated", "unpriced", "unreported")
PRICED_STATES: tuple[CostState, ...] = ("attested", "estimated")
_BASIS_STATE: dict[str, CostState] = {"exact": "attested", "default": "estimated", "unpriced": "unpriced"}


class UnitCost(NamedTuple):
    """One unit's state and, when priced, its cost in the policy's currency."""

    state: CostState
    cost: Decimal | None
    tokens: int | float
    model: Any


def unit_cost(usage: Any, attested: bool, policy: PricingPolicy | None) -> UnitCost:
    """Classify and price one unit (``attested``: whether the unit has recorded usage)."""
    if not attested:
        return UnitCost("unreported", None, 0, None)
    p = price_unit(usage, policy)
    return UnitCost(_BASIS_STATE[p.basis], p.cost, p.tokens, p.model)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(UNIT_STATES, 0)


def count_states(states: Iterable[str]) -> dict[str, int]:
    counts = empty_counts()
    for s in states:
        counts[s] += 1
    return counts


def cost_state(counts: Mapping[str, int], *, priced_tokens: int | float | None = None) -> CostState:
    """The cost state of a set of units from its per-state counts.

    ``priced_tokens`` (the token total of the priced units) applies CW's rule
    that a set whose priced units carry no tokens is ``unpriced``; leave it
    ``None`` where token totals are not known.
    """
    reported = counts["attested"] + counts["estimated"] + counts["unpriced"]
    if reported == 0:
        return "unreported"
    if counts["unpriced"] or priced_tokens == 0:
        return "unpriced"
    if counts["estimated"]:
        return "estimated"
    return "attested"


def pool_states(states: Iterable[str]) -> CostState:
    """The cost state of a union of sets from their states (``unreported`` sets add nothing)."""
    seen = set(states)
    for state in ("unpriced", "estimated", "attested"):
        if state in seen:
            return state
    return "unreported"


def coverage(counts: Mapping[str, int]) -> float | None:
    """Reported units / units, to six places; ``None`` for a set without units."""
    units = sum(counts[s] for s in UNIT_STATES)
    if units == 0:
        return None
    return round6((units - counts["unreported"]) / units)


def complete(counts: Mapping[str, int], state: str | None = None) -> bool:
    """True when no unit is unreported or unpriced (and the set's state is not ``unpriced``)."""
    return counts["unreported"] == 0 and counts["unpriced"] == 0 and state != "unpriced"


def describe(state: str, counts: Mapping[str, int]) -> str:
    """One line for text views: ``estimated, coverage 2/3 units (67%), not complete``."""
    units = sum(counts[s] for s in UNIT_STATES)
    reported = units - counts["unreported"]
    cov = coverage(counts)
    shown = "n/a" if cov is None else f"{to_fixed(cov * 100, 0)}%"
    tail = "complete" if complete(counts, state) else "not complete"
    return f"{state}, coverage {reported}/{units} units ({shown}), {tail}"


def spent_text(figure: str, units: int, missing: int) -> str:
    """A spend figure as text views show it, never a known-looking number over unknown spend.

    ``figure`` is the spend of the units whose spend is known, ``missing`` how
    many of the ``units`` it leaves out (unreported, unpriced, unconverted,
    invalid). Every unit known: ``0.42``. Some: ``≥0.42`` (a lower bound).
    None although there are units: ``unknown``.
    """
    if missing <= 0:
        return figure
    return "unknown" if missing >= units else "≥" + figure


def missing_text(detail: Iterable[tuple[int, str]]) -> str:
    """``1 unit unreported, 2 units unpriced`` from ``[(1, "unreported"), (2, "unpriced")]`` (zeros left out)."""
    return ", ".join(f"{n} unit{'' if n == 1 else 's'} {what}" for n, what in detail if n)


__all__ = [
    "PRICED_STATES",
    "UNIT_STATES",
    "CostState",
    "UnitCost",
    "complete",
    "cost_state",
    "count_states",
    "coverage",
    "describe",
    "empty_counts",
    "missing_text",
    "pool_states",
    "spent_text",
    "unit_cost",
]
