"""The cost vocabulary's rules, as properties (cw/core/coststate.py, docs/concepts.md)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cw.core.coststate import (
    UNIT_STATES,
    complete,
    cost_state,
    count_states,
    coverage,
    describe,
    incomplete_reasons,
    pool_states,
)

unit_lists = st.lists(st.sampled_from(UNIT_STATES), max_size=30)
RANK = {"unpriced": 0, "estimated": 1, "attested": 2}


@given(unit_lists)
def test_state_follows_the_precedence(states):
    state = cost_state(count_states(states))
    reported = [s for s in states if s != "unreported"]
    if not reported:
        assert state == "unreported"
    else:
        # the worst reported unit decides, by unpriced > estimated > attested
        assert state == min(reported, key=RANK.__getitem__)


@given(unit_lists, unit_lists)
def test_pooling_sets_equals_the_state_of_their_union(a, b):
    whole = cost_state(count_states(a + b))
    assert pool_states([cost_state(count_states(a)), cost_state(count_states(b))]) == whole
    assert pool_states([cost_state(count_states(b)), cost_state(count_states(a))]) == whole


@given(unit_lists, st.sampled_from(UNIT_STATES))
def test_adding_a_worse_unit_never_improves_the_state(states, extra):
    before = cost_state(count_states(states))
    after = cost_state(count_states([*states, extra]))
    if before != "unreported" and after != "unreported":
        assert RANK[after] <= RANK[before]
    if extra == "unpriced":
        assert after == "unpriced"


@given(unit_lists)
def test_coverage_counts_reported_units(states):
    counts = count_states(states)
    cov = coverage(counts)
    if not states:
        assert cov is None  # no units: n/a, never 0 or 1
        return
    reported = sum(1 for s in states if s != "unreported")
    assert cov is not None and abs(cov - reported / len(states)) <= 5e-7
    assert (cov == 1) == (reported == len(states))


@given(unit_lists)
def test_complete_means_nothing_unknown(states):
    counts = count_states(states)
    state = cost_state(counts)
    assert complete(counts, state) == ("unreported" not in states and "unpriced" not in states)
    if complete(counts, state) and states:
        assert state in ("attested", "estimated") and coverage(counts) == 1


def test_priced_units_without_tokens_are_unpriced_as_in_cw():
    counts = count_states(["attested", "attested"])
    assert cost_state(counts, priced_tokens=0) == "unpriced"
    assert not complete(counts, "unpriced")
    assert cost_state(counts, priced_tokens=10) == "attested"


def test_the_text_form_names_state_coverage_and_completeness():
    counts = count_states(["attested", "attested", "unreported"])
    assert describe(cost_state(counts), counts) == "attested, coverage 2/3 units (67%), not complete"
    assert describe("unreported", count_states([])) == "unreported, coverage 0/0 units (n/a), complete"


@given(unit_lists, unit_lists)
def test_reasons_name_every_gap_and_only_gaps(a, b):
    counts = count_states(a + b)
    state = cost_state(counts)
    reasons = incomplete_reasons(counts, state)
    assert (reasons == []) == complete(counts, state)
    for word in ("unreported", "unpriced"):
        n = counts[word]
        said = [r for r in reasons if f" {word}: " in r]
        assert len(said) == (1 if n else 0)
        if n:
            assert said[0].startswith(f"{n} unit{'' if n == 1 else 's'} {word}: ")
    # the union's reasons do not depend on the order the sets are merged in
    assert reasons == incomplete_reasons(count_states(b + a), cost_state(count_states(b + a)))


def test_a_set_whose_priced_units_carry_no_tokens_says_so():
    counts = count_states(["attested"])
    assert incomplete_reasons(counts, cost_state(counts, priced_tokens=0)) == [
        "the priced units carry no tokens, so nothing measurable was priced"
    ]
