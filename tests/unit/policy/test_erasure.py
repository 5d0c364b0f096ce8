"""Erasure (contract, ``repayments.erasures``): pending outreach cancelled, nothing else."""

from __future__ import annotations

from policy import erase
from schemas.events import ErasureRequested
from schemas.outputs import OutreachCancelled

from .fixtures import DAY, HOUR, NOW, TODAY, Customer, header, make_missed


def test_erase__cancels_every_pending_outreach_and_decides_nothing_else() -> None:
    c = Customer()
    c.apply(make_missed(due_date=TODAY - 70 * DAY))
    pending = [a.outreach_id for a in c.current.attempts if a.outreach_id]
    assert pending
    decisions = erase(c.current, ErasureRequested(header("erase-1")), NOW + HOUR, c.policy)
    assert all(isinstance(d, OutreachCancelled) for d in decisions)
    assert [(d.outreach_id, d.reason, d.caused_by) for d in decisions] == [
        (p, "erasure", "erase-1") for p in pending
    ]


def test_erase__an_unknown_customer_decides_nothing() -> None:
    assert erase(None, ErasureRequested(header("erase-2")), NOW, Customer().policy) == ()
