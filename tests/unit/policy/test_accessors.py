"""The read accessors the web view and the property tests rely on."""

from __future__ import annotations

from decimal import Decimal

import policy

from .fixtures import DAY, HOUR, NOW, TODAY, Customer, make_contact, make_missed, make_payment


def test_accessors__read_money_tier_and_commitments() -> None:
    c = Customer()
    c.apply(make_missed("i1", TODAY - 12 * DAY, "100.00"))
    c.apply(make_payment("130.00", at=NOW + HOUR))
    c.apply(make_payment("5.00", installment_id="paid-on-time", at=NOW + HOUR))
    c.apply(make_missed("i2", TODAY, "50.00", at=NOW + 2 * HOUR))
    c.apply(make_contact("opt_out", "sms", at=NOW + 3 * HOUR))
    c.apply(make_contact("hardship", "agent_call", at=NOW + 4 * HOUR))
    s = c.current
    assert policy.tier(s) == "current"
    assert (policy.total_paid(s), policy.total_due(s)) == (Decimal("135.00"), Decimal("150.00"))
    assert policy.paid_to_installments(s) == Decimal("130.00")
    assert (policy.credit(s), policy.paid_not_overdue(s)) == (Decimal(0), Decimal(0))
    assert policy.held(s) == Decimal("5.00")  # its installment may still be reported
    assert policy.overdue_amount(s) == Decimal("20.00") == s.overdue_amount
    assert policy.days_past_due(s, NOW + 5 * HOUR) == 0
    assert policy.opted_out(s) == ("sms",)
    assert policy.hardship_active(s, NOW + 13 * DAY)
    assert not policy.hardship_active(s, NOW + 15 * DAY)
    assert not (policy.ceased(s) or policy.disputed(s) or policy.unreachable(s))
    assert policy.pending_outreach(s) == s.pending_outreach
    assert [o.reason for o in s.recent if hasattr(o, "reason")][-1] == "hardship_review"
