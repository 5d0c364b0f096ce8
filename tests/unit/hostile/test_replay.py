"""Hostile lines for other customers, mixed into one customer's history, through the replay
command's own code (``streams.replay``: ``timeline`` and ``Replayer``), issue 9.

Each hostile line is a mutation of one of the customer's events, sent as another customer
(``hostile-<n>``) right after the line it was made from. Then: replay raises nothing; a line
its family says must be refused gives exactly one dead letter with the expected code and
field, any other at most one, always with a contract code and field; a dead-lettered line
leaves no state; no clock tick fails for any customer; and the clock's ticks, the good
customer's outputs (in order) and final state are those of the run in which an inert bad
line stands in each refused hostile line's place, and a bystander's payment at the same
instant in each accepted one's (the same offsets; ``stand_ins``). Replay lines hold text,
so messages that are not UTF-8 are left to the decoder tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from hypothesis import given

from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from schemas.outputs import DEAD_LETTER
from streams.replay import EventItem, Replayer, TickItem, timeline
from tests.unit.hostile.contract import CORE_CODES, check_error
from tests.unit.hostile.mutations import Rejected, Same
from tests.unit.hostile.strategies import (
    HOSTILE_SETTINGS,
    ReplayCase,
    replay_cases,
    replay_line,
)

Output = dict[str, Any]


class Run:
    """Replay of ``lines``: the good customer's outputs, and each hostile line's."""

    def __init__(self, case: ReplayCase, lines: list[str], ticks: set[datetime] | None) -> None:
        self.replayer = Replayer(case.history.policy)
        self.good: list[Output] = []
        self.of_line: dict[int, list[Output]] = {}
        self.ticks: set[datetime] = set()
        # As ``Replayer.replay`` (the replay command) drives it, one item at a time.
        for item in timeline(lines, case.until, accept=self.replayer.accepts):
            if isinstance(item, TickItem):
                assert ticks is None or item.at in ticks, f"the clock ticked apart: {item}"
                self.ticks.add(item.at)
            out = self.replayer.feed(item)
            if isinstance(item, EventItem) and item.line_no in case.hostile:
                self.of_line[item.line_no] = out
            elif isinstance(item, EventItem):
                self.good.extend(out)
            else:
                failed = [o["value"] for o in out if o["topic"] == DEAD_LETTER]
                assert failed == [], f"a tick failed: {failed}"
                self.good.extend(o for o in out if o["key"] == case.history.customer_id)


@HOSTILE_SETTINGS
@given(replay_cases())
def test_hostile_lines_for_other_customers__one_dead_letter_each_and_no_effect_on_the_customer(
    case: ReplayCase,
) -> None:
    mixed = Run(case, case.mixed, None)
    clean = Run(case, stand_ins(case, mixed), mixed.ticks)

    for line_no, (customer, hostile) in case.hostile.items():
        out = mixed.of_line[line_no]
        letters = [o["value"] for o in out if o["topic"] == DEAD_LETTER]
        # Decisions go to the line's customer: its key, or the customer_id in its value
        # (authoritative: a wrong key is re-keyed), never the good customer.
        owners = {customer, _value_customer(hostile.raw)}
        assert all(o["key"] in owners for o in out if o["topic"] != DEAD_LETTER)
        decided = [o for o in out if o["topic"] != DEAD_LETTER]
        assert all(o["key"] != case.history.customer_id for o in decided), hostile
        assert len(letters) <= 1, (hostile, letters)
        if isinstance(hostile.expect, Rejected):
            assert len(letters) == 1, f"line {line_no} not dead-lettered: {hostile!r}"
        if isinstance(hostile.expect, Same):
            assert letters == [], (hostile, letters)
        for letter in letters:
            error = letter["error"]
            check_error(InvalidEvent(error["code"], error["message"], error["field"]), CORE_CODES)
            if isinstance(hostile.expect, Rejected):
                assert (error["code"], error["field"]) in hostile.expect.errors, (hostile, error)
            assert customer not in mixed.replayer.states, f"a dead letter left a state: {hostile!r}"
    good = case.history.customer_id
    assert mixed.good == clean.good
    assert mixed.replayer.states[good] == clean.replayer.states[good]
    assert mixed.ticks == clean.ticks


def stand_ins(case: ReplayCase, mixed: Run) -> list[str]:
    """``case.clean``, except where a hostile line was accepted (a valid event of another
    customer; its family allowed that): there a bystander's payment at the same instant.
    An accepted event moves replay's event clock (the latest ``occurred_at`` taken), and the
    clock dates the decisions of every customer, so the good customer's outputs are
    compared with a run whose clock moved alike. A hostile line made from one of the good
    customer's events can be later than the clock when that event was dead-lettered."""
    lines = list(case.clean)
    for line_no, (_, hostile) in case.hostile.items():
        if any(o["topic"] == DEAD_LETTER for o in mixed.of_line[line_no]):
            continue
        at = decode_input(hostile.topic, hostile.raw).header.occurred_at
        bystander = f"bystander-{line_no}"
        payment = {
            "event_id": bystander,
            "customer_id": bystander,
            "occurred_at": at.isoformat(),
            "schema_version": 1,
            "amount": "1.00",
            "currency": "EUR",
        }
        lines[line_no - 1] = replay_line("repayments.payments", bystander, payment)
    return lines


def _value_customer(raw: bytes) -> str | None:
    """The customer_id a hostile value names, if it names one."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("customer_id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None
