"""Payment allocation, credit, days past due and money conservation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from policy import days_past_due, held, overdue_amount
from policy.ledger import add_missed, apply_payment, dpd_on, prune
from policy.state import Installment, Ledger

from .fixtures import NOW, TODAY, Customer, make_missed, make_payment


def paid(state_or_ledger: object) -> dict[str, Decimal]:
    ledger = getattr(state_or_ledger, "ledger", state_or_ledger)
    return {i.installment_id: i.paid for i in ledger.installments}  # type: ignore[attr-defined]


def two_missed() -> Customer:
    c = Customer()
    c.apply(make_missed("inst-b", TODAY - timedelta(days=5), "100.00"))
    c.apply(make_missed("inst-a", TODAY - timedelta(days=35), "100.00"))
    return c


def test_payment_without_installment__pays_oldest_first() -> None:
    c = two_missed()
    c.apply(make_payment("150.00"))
    assert paid(c.current) == {"inst-a": Decimal("100.00"), "inst-b": Decimal("50.00")}
    assert c.current.credit == 0


def test_payment_naming_installment__pays_it_first_then_oldest() -> None:
    c = two_missed()
    c.apply(make_payment("130.00", installment_id="inst-b"))
    assert paid(c.current) == {"inst-a": Decimal("30.00"), "inst-b": Decimal("100.00")}


def test_payment_beyond_everything__becomes_credit_that_pays_later_missed() -> None:
    c = two_missed()
    c.apply(make_payment("250.00"))
    assert c.current.credit == Decimal("50.00")
    c.apply(make_missed("inst-c", TODAY, "80.00"))
    assert paid(c.current)["inst-c"] == Decimal("50.00")
    assert c.current.credit == 0
    assert overdue_amount(c.current) == Decimal("30.00")


def test_payment_naming_unknown_installment__waits_for_its_report_and_leaves_balance() -> None:
    c = two_missed()
    c.apply(make_payment("70.00", installment_id="on-time-7"))
    assert held(c.current) == Decimal("70.00")
    assert c.current.paid_not_overdue == 0
    assert c.current.credit == 0
    assert overdue_amount(c.current) == Decimal("200.00")


def test_partial_payment__keeps_days_past_due() -> None:
    c = two_missed()
    before = days_past_due(c.current, NOW)
    c.apply(make_payment("99.99"))
    assert before == 35
    assert days_past_due(c.current, NOW) == 35
    c.apply(make_payment("0.01"))
    assert days_past_due(c.current, NOW) == 5


def test_repeated_installment_id__is_one_installment_first_report_wins() -> None:
    c = Customer()
    c.apply(make_missed("inst-1", TODAY - timedelta(days=3), "100.00"))
    c.apply(make_missed("inst-1", TODAY - timedelta(days=9), "500.00"))
    assert c.current.total_due == Decimal("100.00")
    assert days_past_due(c.current, NOW) == 3


def test_days_past_due__counts_calendar_days_in_the_customers_zone() -> None:
    # 15:30 UTC on the 10th is 23:30 in Shanghai; an hour later Shanghai is on the 11th,
    # while New York (UTC-4 since its DST start on 8 March) reaches the 11th at 04:00 UTC.
    due = date(2026, 3, 9)
    for zone, at, expected in [
        ("Asia/Shanghai", datetime(2026, 3, 10, 15, 30, tzinfo=UTC), 1),
        ("Asia/Shanghai", datetime(2026, 3, 10, 16, 30, tzinfo=UTC), 2),
        ("America/New_York", datetime(2026, 3, 10, 16, 30, tzinfo=UTC), 1),
        ("America/New_York", datetime(2026, 3, 11, 3, 59, tzinfo=UTC), 1),
        ("America/New_York", datetime(2026, 3, 11, 4, 0, tzinfo=UTC), 2),
    ]:
        c = Customer(now=datetime(2026, 3, 9, 12, tzinfo=UTC))
        c.apply(make_missed(due_date=due, tz=zone, at=datetime(2026, 3, 9, 12, tzinfo=UTC)))
        assert days_past_due(c.current, at) == expected, (zone, at)


def test_latest_customer_timezone__is_the_customers_zone() -> None:
    c = Customer()
    c.apply(make_missed(tz="America/New_York"))
    c.apply(make_payment("1.00"))
    assert c.current.timezone == "America/New_York"
    c.apply(make_payment("1.00", tz="Europe/London"))
    assert c.current.timezone == "Europe/London"


def test_days_past_due__is_zero_when_nothing_overdue_or_due_in_future() -> None:
    ledger = Ledger()
    assert dpd_on(ledger, TODAY) == 0
    ledger, _ = add_missed(ledger, "future", TODAY + timedelta(days=2), Decimal(5), TODAY)
    assert dpd_on(ledger, TODAY) == 0


def test_allocation__conserves_money() -> None:
    ledger = Ledger()
    ledger = apply_payment(ledger, Decimal("40"), None, TODAY)
    ledger, _ = add_missed(ledger, "a", TODAY - timedelta(days=9), Decimal("100"), TODAY)
    ledger = apply_payment(ledger, Decimal("30"), "a", TODAY)
    ledger = apply_payment(ledger, Decimal("12"), "never-missed", TODAY)
    ledger, _ = add_missed(ledger, "b", TODAY, Decimal("50"), TODAY)
    ledger = apply_payment(ledger, Decimal("100"), None, TODAY)
    owed = sum((i.amount_due - i.paid for i in ledger.installments), Decimal(0))
    on_hold = sum((p.amount for p in ledger.held), Decimal(0))
    assert ledger.total_paid == Decimal("182")
    assert on_hold == Decimal("12")
    assert (
        ledger.total_paid
        == ledger.paid_to_installments + ledger.credit + ledger.paid_not_overdue + on_hold
    )
    assert ledger.total_due == ledger.paid_to_installments + owed
    assert (ledger.credit, owed) == (Decimal("20"), Decimal(0))


def test_fully_paid_installments__leave_the_ledger_after_400_days_totals_stay() -> None:
    old = Installment("old", TODAY - timedelta(days=400), Decimal(10), Decimal(10))
    unpaid = Installment("unpaid", TODAY - timedelta(days=500), Decimal(10), Decimal(0))
    recent = Installment("recent", TODAY - timedelta(days=399), Decimal(10), Decimal(10))
    ledger = Ledger((unpaid, old, recent), Decimal(0), Decimal(20), Decimal(30), Decimal(20))
    pruned = prune(ledger, TODAY, 400)
    assert [i.installment_id for i in pruned.installments] == ["unpaid", "recent"]
    assert (pruned.total_due, pruned.paid_to_installments) == (Decimal(30), Decimal(20))


def test_paid_installments__leave_the_ledger_of_a_current_customer_on_a_tick() -> None:
    c = Customer()
    c.apply(make_missed("old", TODAY - 5 * timedelta(days=1)))
    c.apply(make_payment("100.00"))
    c.tick(NOW + timedelta(days=394))
    assert [i.installment_id for i in c.current.ledger.installments] == ["old"]
    c.tick(NOW + timedelta(days=396))
    assert c.current.ledger.installments == ()
    assert (c.current.total_due, c.current.paid_to_installments) == (Decimal(100), Decimal(100))
