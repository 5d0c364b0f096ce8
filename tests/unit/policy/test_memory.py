"""The encoded memory of the last decisions: bounded, exact, recalled by trigger."""

from __future__ import annotations

from policy.memory import NOTHING, recall, remember
from policy.records import CustomerState

from .fixtures import DAY, NOW, TODAY, Customer, make_missed


def decisions_of_a_busy_month() -> Customer:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 85 * DAY))
    c.run(NOW + 20 * DAY)
    return c


def test_remember__keeps_the_last_decisions_across_steps_exactly() -> None:
    c = decisions_of_a_busy_month()
    memory = NOTHING
    for d in c.log:
        memory = remember(memory, [d], 5)
    assert recall(memory, c.current.customer_id) == tuple(c.log[-5:])


def test_remember__trims_a_step_partially_when_it_alone_exceeds_the_limit() -> None:
    c = decisions_of_a_busy_month()
    step = [d for d in c.log if d.caused_by == c.log[0].caused_by]
    assert len(step) == 2
    assert recall(remember(NOTHING, step, 1), c.current.customer_id) == (step[1],)


def test_recall__filters_by_trigger() -> None:
    c = decisions_of_a_busy_month()
    cause = c.log[-1].caused_by
    expected = tuple(d for d in c.log if d.caused_by == cause)
    assert recall(c.current.memory, c.current.customer_id, cause) == expected
    assert recall(c.current.memory, c.current.customer_id, "unknown") == ()


def test_new_state__remembers_nothing() -> None:
    assert CustomerState("c", "Asia/Shanghai").recent == ()
