"""Chain attribution: paths, the five models, exact largest-remainder allocation, cycles."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cw.core.attribution import (
    MODELS,
    AttributionModel,
    RunNode,
    allocate,
    ancestors,
    attribute,
    attribution_path,
    detect_cycle,
    parse_attribution_model,
)
from cw.model.errors import UsageError

T = datetime(2026, 3, 1, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def chain(*ids: str, step_days: int = 1) -> dict[str, RunNode]:
    """ids[0] <- ids[1] <- ...: each run's parent is the one before it, created a day apart."""
    runs = {}
    for i, rid in enumerate(ids):
        runs[rid] = RunNode(iso(T + timedelta(days=i * step_days)), (ids[i - 1],) if i else ())
    return runs


def shares(model: str, amount: str, currency: str, run: str, runs, at=None, half_life=None):
    m = AttributionModel(model) if half_life is None else AttributionModel(model, Decimal(half_life))
    return attribute(Decimal(amount), currency, run, runs, m, at or iso(T + timedelta(days=30)))


# --------------------------------------------------------------------------- hand-computed cases


def test_linear_over_three_runs_gives_the_extra_cent_to_the_root():
    runs = chain("a", "b", "c")
    assert shares("linear", "100.00", "USD", "c", runs) == [
        ("a", Decimal("33.34")),
        ("b", Decimal("33.33")),
        ("c", Decimal("33.33")),
    ]


def test_linear_in_a_zero_decimal_currency():
    runs = chain("a", "b", "c")
    assert shares("linear", "100", "JPY", "c", runs) == [
        ("a", Decimal("34")),
        ("b", Decimal("33")),
        ("c", Decimal("33")),
    ]


def test_last_touch_and_first_touch():
    runs = chain("a", "b", "c")
    assert shares("last-touch", "100.00", "USD", "c", runs) == [("c", Decimal("100.00"))]
    assert shares("first-touch", "100.00", "USD", "c", runs) == [("a", Decimal("100.00"))]
    assert shares("first-touch", "100.00", "USD", "a", runs) == [("a", Decimal("100.00"))]


def test_first_touch_with_several_roots_takes_the_earliest_then_the_smallest_id():
    runs = {
        "r2": RunNode("2026-01-01T00:00:00.000Z"),
        "r1": RunNode("2026-01-02T00:00:00.000Z"),
        "child": RunNode("2026-01-03T00:00:00.000Z", ("r1", "r2")),
    }
    assert shares("first-touch", "9.99", "USD", "child", runs) == [("r2", Decimal("9.99"))]
    runs["r1"] = RunNode("2026-01-01T00:00:00.000Z")  # same instant: smaller id wins
    assert shares("first-touch", "9.99", "USD", "child", runs) == [("r1", Decimal("9.99"))]


@pytest.mark.parametrize(
    "ids,expected",
    [
        (("a",), ["100.00"]),
        (("a", "b"), ["50.00", "50.00"]),
        (("a", "b", "c"), ["40.00", "20.00", "40.00"]),
        (("a", "b", "c", "d"), ["40.00", "10.00", "10.00", "40.00"]),
        # 20% over three middles is 6.666...: floors 6.66, two cents left go to the first two middles
        (("a", "b", "c", "d", "e"), ["40.00", "6.67", "6.67", "6.66", "40.00"]),
    ],
)
def test_position_based_40_20_40(ids, expected):
    runs = chain(*ids)
    got = shares("position-based", "100.00", "USD", ids[-1], runs)
    assert [str(v) for _, v in got] == expected
    assert [r for r, _ in got] == list(ids)


def test_position_based_two_runs_split_an_odd_cent_root_first():
    assert shares("position-based", "100.01", "USD", "b", chain("a", "b")) == [
        ("a", Decimal("50.01")),
        ("b", Decimal("50.00")),
    ]


def test_time_decay_halves_per_half_life():
    at = T + timedelta(days=14)
    runs = {
        "a": RunNode(iso(T)),  # 14 days old: weight 1/4
        "b": RunNode(iso(T + timedelta(days=7)), ("a",)),  # 7 days old: weight 1/2
        "c": RunNode(iso(at), ("b",)),  # booked at creation: weight 1
    }
    # 10000 cents * (1/4, 1/2, 1) / 1.75 = 1428.57, 2857.14, 5714.29 -> floors 1428, 2857, 5714,
    # one cent left -> largest remainder (.571) -> a
    assert shares("time-decay", "100.00", "USD", "c", runs, at=iso(at)) == [
        ("a", Decimal("14.29")),
        ("b", Decimal("28.57")),
        ("c", Decimal("57.14")),
    ]


def test_time_decay_with_a_custom_half_life():
    at = T + timedelta(days=7)
    runs = {"a": RunNode(iso(T)), "b": RunNode(iso(at), ("a",))}
    # half-life 7d: weights 1/2 and 1 -> 3333.33 and 6666.67 cents -> 33.33 / 66.67
    assert shares("time-decay", "100.00", "USD", "b", runs, at=iso(at)) == [
        ("a", Decimal("33.33")),
        ("b", Decimal("66.67")),
    ]
    # half-life 3.5d (84h): weights 1/4 and 1 -> 20.00 / 80.00
    model = parse_attribution_model("time-decay", "84h")
    assert model.half_life_days == Decimal("3.5")
    assert attribute(Decimal("100.00"), "USD", "b", runs, model, iso(at)) == [
        ("a", Decimal("20.00")),
        ("b", Decimal("80.00")),
    ]


def test_time_decay_treats_runs_created_after_the_booking_as_age_zero():
    runs = {"a": RunNode(iso(T + timedelta(days=3))), "b": RunNode(iso(T + timedelta(days=5)), ("a",))}
    assert shares("time-decay", "1.00", "USD", "b", runs, at=iso(T)) == [("a", Decimal("0.50")), ("b", Decimal("0.50"))]


def test_negative_amounts_mirror_positive_ones():
    runs = chain("a", "b", "c")
    assert shares("linear", "-100.00", "USD", "c", runs) == [
        ("a", Decimal("-33.34")),
        ("b", Decimal("-33.33")),
        ("c", Decimal("-33.33")),
    ]


def test_zero_shares_are_left_out():
    assert shares("linear", "0.01", "USD", "c", chain("a", "b", "c")) == [("a", Decimal("0.01"))]


def test_allocate_requires_whole_minor_units():
    with pytest.raises(ValueError):
        allocate(Decimal("0.001"), "USD", [1, 1])


# --------------------------------------------------------------------------- paths and the graph


def test_path_puts_the_root_first_the_booking_run_last_and_the_rest_by_creation():
    runs = {
        "root": RunNode("2026-01-01T00:00:00.000Z"),
        "z-mid": RunNode("2026-01-02T00:00:00.000Z", ("root",)),
        "a-mid": RunNode("2026-01-03T00:00:00.000Z", ("root",)),
        "tie-b": RunNode("2026-01-04T00:00:00.000Z", ("z-mid",)),
        "tie-a": RunNode("2026-01-04T00:00:00.000Z", ("a-mid",)),
        # the booking run sorts last even though its createdAt is the earliest
        "leaf": RunNode("2025-12-01T00:00:00.000Z", ("tie-a", "tie-b")),
        "elsewhere": RunNode("2026-01-01T00:00:00.000Z"),
    }
    assert attribution_path("leaf", runs) == ["root", "z-mid", "a-mid", "tie-a", "tie-b", "leaf"]


def test_unknown_parents_end_the_chain():
    runs = {"b": RunNode(iso(T), ("gone",)), "c": RunNode(iso(T), ("b",))}
    assert attribution_path("c", runs) == ["b", "c"]
    assert attribution_path("missing", runs) == ["missing"]
    assert ancestors({"c": ["b"], "b": ["gone"]}, "c") == {"b"}


def test_a_stored_cycle_does_not_loop():
    runs = {"a": RunNode(iso(T), ("b",)), "b": RunNode(iso(T), ("a",))}
    assert sorted(attribution_path("a", runs)) == ["a", "b"]
    assert sum(v for _, v in shares("linear", "1.00", "USD", "a", runs)) == Decimal("1.00")


def test_detect_cycle():
    parents = {"a": [], "b": ["a"], "c": ["b"], "d": ["a"]}
    assert detect_cycle(parents, "a", ["c"]) == ["a", "c", "b", "a"]
    assert detect_cycle(parents, "a", ["d", "b"]) == ["a", "d", "a"]
    assert detect_cycle(parents, "x", ["x"]) == ["x", "x"]
    assert detect_cycle(parents, "c", ["d"]) is None  # a diamond is fine
    assert detect_cycle(parents, "new", ["c", "d"]) is None
    assert detect_cycle({"p": ["q"], "q": ["p"]}, "n", ["p"]) is None  # old cycle elsewhere: no loop


def test_parse_attribution_model():
    assert parse_attribution_model(None) == AttributionModel("last-touch")
    assert parse_attribution_model("time-decay").half_life_days == Decimal(7)
    assert parse_attribution_model("time-decay", "10").half_life_days == Decimal(10)
    assert parse_attribution_model("time-decay", "2.5d").half_life_days == Decimal("2.5")
    with pytest.raises(UsageError, match="--attribution"):
        parse_attribution_model("u-shaped")
    for bad in ("0", "-1", "7w", "", "1e3"):
        with pytest.raises(UsageError, match="--half-life"):
            parse_attribution_model("time-decay", bad)
    with pytest.raises(UsageError, match="only to --attribution time-decay"):
        parse_attribution_model("linear", "7")


def test_headers_name_the_model_and_the_half_life():
    assert AttributionModel().header() == {"model": "last-touch"}
    assert AttributionModel("time-decay").header() == {"model": "time-decay", "halfLifeDays": 7}
    assert AttributionModel("time-decay", Decimal("1.5")).header() == {
        "model": "time-decay",
        "halfLifeDays": Decimal("1.5"),
    }


# --------------------------------------------------------------------------- properties


@st.composite
def dags(draw):
    """A random DAG: each run's parents come from runs created before it; random createdAt ties."""
    n = draw(st.integers(min_value=1, max_value=9))
    ids = [f"r{i}" for i in range(n)]
    runs = {}
    for i, rid in enumerate(ids):
        parents = draw(st.lists(st.sampled_from(ids[:i]), unique=True, max_size=3)) if i else []
        if draw(st.booleans()):
            parents.append("unknown-parent")
        minutes = draw(st.integers(min_value=0, max_value=60 * 24 * 60))
        created = None if draw(st.integers(0, 20)) == 0 else iso(T + timedelta(minutes=minutes))
        runs[rid] = RunNode(created, tuple(parents))
    booking = draw(st.sampled_from(ids))
    return runs, booking


@settings(max_examples=300, deadline=None)
@given(
    dags(),
    st.sampled_from(MODELS),
    st.sampled_from(["USD", "JPY", "KWD", "CLF"]),
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=0, max_value=60 * 24 * 90),
    st.sampled_from(["7", "0.5", "30"]),
)
def test_attribution_is_exact_non_negative_and_deterministic(dag, model, currency, units, minutes, hl):
    runs, booking = dag
    places = {"USD": 2, "JPY": 0, "KWD": 3, "CLF": 4}[currency]
    amount = Decimal(units).scaleb(-places)
    m = AttributionModel(model, Decimal(hl))
    at = iso(T + timedelta(minutes=minutes))
    got = attribute(amount, currency, booking, runs, m, at)
    assert sum((v for _, v in got), Decimal(0)) == amount
    assert all(v > 0 for _, v in got)
    assert all(v == v.quantize(Decimal(1).scaleb(-places)) for _, v in got)
    path = attribution_path(booking, runs)
    assert path[-1] == booking and len(set(path)) == len(path)
    assert {r for r, _ in got} <= set(path)
    # same answer again, and whatever order the runs come in
    assert attribute(amount, currency, booking, runs, m, at) == got
    assert attribute(amount, currency, booking, dict(reversed(list(runs.items()))), m, at) == got
    # a negative amount is the mirror image
    assert attribute(-amount, currency, booking, runs, m, at) == [(r, -v) for r, v in got]


@settings(max_examples=200, deadline=None)
@given(dags())
def test_linking_to_a_descendant_is_always_a_cycle(dag):
    runs, booking = dag
    parents = {rid: list(node.parents) for rid, node in runs.items()}
    for anc in ancestors(parents, booking):
        cycle = detect_cycle(parents, anc, [booking])
        assert cycle is not None and cycle[0] == cycle[-1] == anc and cycle[1] == booking
        for child, parent in itertools.pairwise(cycle[1:]):
            assert parent in parents[child]
    assert detect_cycle(parents, "fresh-run", list(runs)) is None
