"""``conformance.strategies.built_once``: the same strategy object for the same arguments, never for
equal arguments of other types, and a new one for arguments that cannot be hashed."""

from __future__ import annotations

from hypothesis import given, settings

from conformance.strategies import built_once as st


def test_the_same_arguments_give_the_same_strategy_object():
    assert st.integers(1, 4) is st.integers(1, 4)
    assert st.lists(st.integers(0, 2), min_size=2, max_size=2) is st.lists(st.integers(0, 2), min_size=2, max_size=2)
    assert st.sampled_from(("a", "b")) is st.sampled_from(("a", "b"))
    assert st.integers(1, 4) is not st.integers(1, 5)


def test_equal_arguments_of_other_types_give_other_strategies():
    assert st.sampled_from((0, 1)) is not st.sampled_from((False, True))
    assert st.just(1) is not st.just(1.0)
    drawn = []

    @settings(max_examples=20, database=None)
    @given(st.sampled_from((False, True)))
    def draw(value):
        drawn.append(value)

    draw()
    assert all(isinstance(v, bool) for v in drawn)


def test_unhashable_arguments_build_a_new_strategy_each_time():
    assert st.sampled_from([1, 2]) is not st.sampled_from([1, 2])
    assert st.composite is not None  # everything else is hypothesis.strategies itself
