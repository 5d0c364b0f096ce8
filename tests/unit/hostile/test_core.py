"""Hostile messages for a customer with a realistic past, through decoder and core (issue 9).

For every family of ``mutations.py``, applied to one of the customer's own events (from a
history of the policy strategies) arriving after that history: nothing escapes but
``InvalidEvent``, with a contract code and field; the message ends as its family expects
(one dead letter with the expected code and field, or the same record, or anything the
contract allows); what the worker then writes (the state blob, the decisions, the dead
letter) encodes; an accepted message leaves a state the clock can still tick; and decode +
apply of one input takes at most ``TIME_BOUND_SECONDS`` (``contract.TimeBound``).

Every family is its own test, so one run names every family that fails, each with its own
minimal example. ``HOSTILE_EXAMPLES`` sets the examples per family (default 100).
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy import tick
from policy.state import decode_state, encode_state
from schemas.encode import dead_letter, encode_decision
from tests.unit.hostile.contract import TIMER, DeadLettered, Decided, decide, decode
from tests.unit.hostile.families import FAMILIES
from tests.unit.hostile.mutations import Rejected, Same, dumps
from tests.unit.hostile.strategies import HOSTILE_SETTINGS, LEAD, Case, cases

LATER = (timedelta(hours=1), timedelta(days=45))


@pytest.mark.parametrize("name", sorted(FAMILIES))
@HOSTILE_SETTINGS
@given(data=st.data())
def test_hostile_message__ends_as_the_contract_says_in_bounded_time(
    name: str, data: st.DataObject
) -> None:
    case: Case = data.draw(cases(name), label="case")
    h, policy = case.hostile, case.history.policy
    not_after = case.clock + LEAD

    outcome = TIMER.check(
        lambda: decide(h.topic, h.raw, case.state, case.clock, policy, not_after=not_after), h
    )

    if isinstance(h.expect, Rejected):
        assert isinstance(outcome, DeadLettered), f"accepted, expected {h.expect!r}"
        assert outcome.pair in h.expect.errors, f"{outcome.error} ({outcome.stage})"
    if isinstance(h.expect, Same):
        base = decode(case.base.topic, dumps(case.base.doc), not_after=not_after)
        assert decode(h.topic, h.raw, not_after=not_after) == base
    if isinstance(outcome, DeadLettered):
        letter = dead_letter(h.topic, 0, 7, b"key", h.raw, outcome.error)
        assert orjson.loads(orjson.dumps(letter))["error"] == outcome.error.as_dict()
        return
    assert isinstance(outcome, Decided)
    state = outcome.step.state
    assert decode_state(encode_state(state)) == state
    for decision in outcome.step.decisions:
        encode_decision(decision)
    now = max(case.clock, outcome.event.header.occurred_at)
    for later in LATER:
        step = tick(state, now + later, policy)
        assert decode_state(encode_state(step.state)) == step.state
