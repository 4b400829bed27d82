"""Chain attribution: sharing revenue booked on a run across the run and its ancestors.

Runs link to parents (``parentRunIds``), forming a DAG over run ids. Revenue
booked on run R is shared among R and every ancestor of R that cw can read
(parents that are unknown, for example in another repo or deleted, are left
out, and the chain stops there).

The **path** of a booking orders those runs:

1. first, the *root*: among the runs of the chain that have no known parent,
   the one with the earliest ``createdAt``, then the smallest run id (code
   point order) when two were created at the same instant;
2. then every other ancestor, by ``createdAt`` then run id;
3. last, the booking run R itself (whatever its ``createdAt``).

A run with no readable ``createdAt`` sorts after the dated ones. With no
ancestors the path is just ``[R]``.

Models (weights along the path; amounts follow the weights):

* ``last-touch`` (default): everything to R.
* ``first-touch``: everything to the root (one root, chosen as above).
* ``linear``: equal weights.
* ``position-based``: 40% first, 40% last, 20% split equally over the runs in
  between. A 1-run path takes 100%; a 2-run path splits 50/50 (the middle
  share has nowhere to go, so the two ends share equally).
* ``time-decay``: weight ``2 ** (-(t_booking - createdAt) / half_life)``,
  half-life 7 days unless given. Ages below zero (a run created after the
  revenue's date) count as zero, and so does a run without ``createdAt``.
  Weights are computed in Decimal (40 significant digits, so the same on
  every machine, unlike a float ``pow``), relative to the youngest run to
  avoid underflow.

**Exact allocation.** The booked amount is split in whole minor units of its
currency by the largest-remainder method: each run gets the floor of its
exact share (in minor units), and the units left over go one each to the runs
with the largest fractional remainders; equal remainders go in path order
(root first, booking run last). So 100.00 USD linear over a three-run path
gives 33.34 / 33.33 / 33.33, the extra cent to the root. The parts always
add up exactly to the amount, and a positive amount never yields a negative
part. Negative amounts are allocated by their absolute value, then negated.

``detect_cycle`` guards linking: a new parent link that would make a run its
own ancestor is refused with the cycle it would close.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any

from cw.core.currency import quantum
from cw.core.numbers import money_out, parse_iso_ms
from cw.model.errors import UsageError

MODELS = ("last-touch", "first-touch", "linear", "position-based", "time-decay")
DEFAULT_MODEL = "last-touch"
DEFAULT_HALF_LIFE_DAYS = Decimal(7)
_DAY_MS = 86_400_000
_DECAY_CTX = Context(prec=40)


@dataclass(frozen=True)
class AttributionModel:
    """An attribution model and, for ``time-decay``, its half-life in days."""

    name: str = DEFAULT_MODEL
    half_life_days: Decimal = DEFAULT_HALF_LIFE_DAYS

    def __post_init__(self) -> None:
        if self.name not in MODELS:
            raise ValueError(f"unknown attribution model {self.name!r}")
        if not self.half_life_days > 0:
            raise ValueError("half-life must be positive")

    def header(self) -> dict[str, Any]:
        """How a report names the model: ``{model}``, plus ``halfLifeDays`` for time-decay."""
        out: dict[str, Any] = {"model": self.name}
        if self.name == "time-decay":
            out["halfLifeDays"] = money_out(self.half_life_days)
        return out


@dataclass(frozen=True)
class RunNode:
    """What attribution needs of a run: when it was created, its parents, and who/what it belongs to."""

    created_at: str | None = None
    parents: tuple[str, ...] = ()
    actor: str | None = None
    app: str | None = None
    _created_ms: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_created_ms", parse_iso_ms(self.created_at))


def parse_attribution_model(
    name: str | None, half_life: str | None = None, *, flag: str = "--attribution", half_life_flag: str = "--half-life"
) -> AttributionModel:
    """Read the model name and an optional half-life (``7``, ``7d``, ``36h``); UsageError naming the flag."""
    chosen = name or DEFAULT_MODEL
    if chosen not in MODELS:
        raise UsageError(f'Invalid {flag} "{chosen}": expected one of {", ".join(MODELS)}.')
    if half_life is None:
        return AttributionModel(chosen)
    if chosen != "time-decay":
        raise UsageError(f"{half_life_flag} applies only to {flag} time-decay.")
    return AttributionModel(chosen, _parse_half_life(half_life, half_life_flag))


def _parse_half_life(text: str, flag: str) -> Decimal:
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([dh]?)", text)
    value = Decimal(m.group(1)) if m else Decimal(0)
    if not m or value == 0:
        raise UsageError(f'Invalid {flag} "{text}": expected a positive number of days such as 7, 7d or 36h.')
    return value / 24 if m.group(2) == "h" else value


# ---------------------------------------------------------------------------
# the graph


def ancestors(parents_map: Mapping[str, Sequence[str]], run_id: str) -> set[str]:
    """Every run reachable from ``run_id`` through parent links (``run_id`` itself excluded).

    Only runs present in ``parents_map`` are followed and returned; stored
    cycles (from hand-edited state) cannot loop.
    """
    seen: set[str] = set()
    stack = [p for p in parents_map.get(run_id, ()) if p in parents_map]
    while stack:
        rid = stack.pop()
        if rid in seen or rid == run_id:
            continue
        seen.add(rid)
        stack.extend(p for p in parents_map.get(rid, ()) if p in parents_map and p not in seen)
    return seen


def detect_cycle(parents_map: Mapping[str, Sequence[str]], run_id: str, new_parents: Iterable[str]) -> list[str] | None:
    """The cycle that linking ``run_id`` to ``new_parents`` would close, or None.

    The cycle is returned child-to-parent and closed: ``["a", "b", "a"]``
    means a's new parent b already has a as an ancestor. New parents are tried
    in the order given; the shortest path (breadth first, parents in stored
    order) is reported, so the answer is deterministic.
    """
    for first in new_parents:
        if first == run_id:
            return [run_id, run_id]
        back: dict[str, str | None] = {first: None}
        frontier = [first]
        while frontier:
            nxt: list[str] = []
            for rid in frontier:
                for parent in parents_map.get(rid, ()):
                    if parent == run_id:
                        path = [rid]
                        while back[path[-1]] is not None:
                            path.append(back[path[-1]])  # type: ignore[arg-type]
                        return [run_id, *reversed(path), run_id]
                    if parent not in back:
                        back[parent] = rid
                        nxt.append(parent)
            frontier = nxt
    return None


def _order_key(rid: str, runs: Mapping[str, RunNode]) -> tuple[int, int, str]:
    node = runs.get(rid)
    ms = node._created_ms if node else None
    return (0, ms, rid) if ms is not None else (1, 0, rid)


def attribution_path(run_id: str, runs: Mapping[str, RunNode]) -> list[str]:
    """The booking's path: root first, other ancestors by createdAt then id, the booking run last."""
    parents_map = {rid: node.parents for rid, node in runs.items()}
    if run_id not in parents_map:
        return [run_id]
    chain = ancestors(parents_map, run_id)
    if not chain:
        return [run_id]
    members = chain | {run_id}
    roots = [rid for rid in members if not any(p in members and p != rid for p in parents_map.get(rid, ()))]
    candidates = roots or sorted(chain)
    root = min(candidates, key=lambda rid: _order_key(rid, runs))
    if root == run_id:  # only when the stored links form a cycle through run_id
        root = min(chain, key=lambda rid: _order_key(rid, runs))
    middle = sorted(chain - {root}, key=lambda rid: _order_key(rid, runs))
    return [root, *middle, run_id]


def weights(
    model: AttributionModel, path: Sequence[str], runs: Mapping[str, RunNode], booked_at: Any
) -> list[Fraction]:
    """The model's weight for each run of ``path`` (exact fractions; they need not sum to 1)."""
    n = len(path)
    if n == 0:
        raise ValueError("empty attribution path")
    if model.name == "last-touch":
        return [Fraction(0)] * (n - 1) + [Fraction(1)]
    if model.name == "first-touch":
        return [Fraction(1)] + [Fraction(0)] * (n - 1)
    if model.name == "linear":
        return [Fraction(1)] * n
    if model.name == "position-based":
        if n == 1:
            return [Fraction(1)]
        if n == 2:
            return [Fraction(1, 2), Fraction(1, 2)]
        middle = Fraction(1, 5) / (n - 2)
        return [Fraction(2, 5)] + [middle] * (n - 2) + [Fraction(2, 5)]
    # time-decay
    at_ms = parse_iso_ms(booked_at)
    ages: list[int] = []
    for rid in path:
        node = runs.get(rid)
        created = node._created_ms if node else None
        if at_ms is None or created is None:
            ages.append(0)
        else:
            ages.append(max(0, at_ms - created))
    youngest = min(ages)
    half_life_ms = _DECAY_CTX.multiply(model.half_life_days, Decimal(_DAY_MS))
    out = []
    for age in ages:
        exponent = _DECAY_CTX.divide(Decimal(youngest - age), half_life_ms)
        out.append(Fraction(_DECAY_CTX.power(Decimal(2), exponent)))
    return out


def allocate(amount: Decimal, currency: str, parts: Sequence[Fraction]) -> list[Decimal]:
    """Split ``amount`` by ``parts`` in whole minor units, largest remainder, ties in the given order.

    The results add up exactly to ``amount``. ``amount`` must already be a
    whole number of the currency's minor units.
    """
    q = quantum(currency, withdrawn_ok=True)
    units_exact = amount / q
    if units_exact != units_exact.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of {currency} minor units")
    units = int(units_exact)
    sign = -1 if units < 0 else 1
    units = abs(units)
    total = sum(parts, Fraction(0))
    if total <= 0 or any(p < 0 for p in parts):
        raise ValueError("weights must be non-negative with a positive sum")
    exact = [Fraction(units) * p / total for p in parts]
    floors = [e.numerator // e.denominator for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [q * (sign * f) for f in floors]


def attribute(
    amount: Decimal, currency: str, run_id: str, runs: Mapping[str, RunNode], model: AttributionModel, booked_at: Any
) -> list[tuple[str, Decimal]]:
    """``(run id, share)`` for every run of the booking's path that receives a non-zero share, in path order."""
    path = attribution_path(run_id, runs)
    shares = allocate(amount, currency, weights(model, path, runs, booked_at))
    return [(rid, share) for rid, share in zip(path, shares, strict=False) if share != 0]
