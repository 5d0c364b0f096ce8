"""Input events of the contract, as immutable records named in the past tense.

Decoding and validation live in ``schemas.decode``; these records are what the decision
core receives: money is ``Decimal``, instants are aware datetimes normalised to UTC, dates
are ``datetime.date``, zone names are validated IANA names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Literal

PAYMENTS: Final = "repayments.payments"
MISSED_PAYMENTS: Final = "repayments.missed-payments"
CONTACT_RESULTS: Final = "repayments.contact-results"
ERASURES: Final = "repayments.erasures"
INPUT_TOPICS: Final = (PAYMENTS, MISSED_PAYMENTS, CONTACT_RESULTS, ERASURES)

Channel = Literal["sms", "email", "voice_bot", "agent_call"]
CHANNELS: Final[tuple[Channel, ...]] = ("sms", "email", "voice_bot", "agent_call")
"""The channels outreach goes out on (and a contact attempt is made on)."""
SELF_SERVICE: Final = "self_service"
ResultChannel = Channel | Literal["self_service"]
RESULT_CHANNELS: Final[tuple[ResultChannel, ...]] = (*CHANNELS, SELF_SERVICE)
"""Where a contact result comes from: an outreach channel, or the customer's own action in
the 7x24 self-service app, web or IVR (never an outreach channel)."""

NEUTRAL_OUTCOMES: Final = frozenset({"delivered"})
FAILED_OUTCOMES: Final = frozenset(
    {"no_answer", "busy", "voicemail", "undeliverable", "invalid_number", "wrong_party"}
)
RIGHT_PARTY_OUTCOMES: Final = frozenset(
    {
        "reached",
        "promise_to_pay",
        "refused",
        "dispute",
        "hardship",
        "arrangement_agreed",
        "callback_requested",
    }
)
OTHER_OUTCOMES: Final = frozenset({"dispute_resolved", "opt_out", "cease_contact"})
OUTCOMES: Final = NEUTRAL_OUTCOMES | FAILED_OUTCOMES | RIGHT_PARTY_OUTCOMES | OTHER_OUTCOMES
SELF_SERVICE_OUTCOMES: Final = RIGHT_PARTY_OUTCOMES | {"dispute_resolved", "cease_contact"}
"""What a customer can do on their own (an opt-out names the channel refused, so it comes
from that channel)."""
CALLBACK_MAX_DAYS: Final = 14

ArrangementType = Literal["deferral", "reinstallment", "fee_waiver"]
ARRANGEMENT_TYPES: Final = ("deferral", "reinstallment", "fee_waiver")


@dataclass(frozen=True, slots=True)
class EventHeader:
    """Fields every input event carries."""

    event_id: str
    customer_id: str
    occurred_at: datetime  # aware, UTC
    customer_timezone: str | None = None
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class PaymentReceived:
    header: EventHeader
    amount: Decimal
    currency: str
    installment_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentMissed:
    header: EventHeader
    installment_id: str
    due_date: date
    amount_due: Decimal
    currency: str
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Promise:
    amount: Decimal
    date: date


@dataclass(frozen=True, slots=True)
class Arrangement:
    type: ArrangementType
    until: date


@dataclass(frozen=True, slots=True)
class ContactResultReported:
    header: EventHeader
    channel: ResultChannel
    outcome: str
    outreach_id: str | None = None
    promise: Promise | None = None
    arrangement: Arrangement | None = None
    callback_at: datetime | None = None  # aware, UTC; only with callback_requested


@dataclass(frozen=True, slots=True)
class ErasureRequested:
    """Erase the customer's personal data (PIPL art. 47, GDPR art. 17): the common fields."""

    header: EventHeader


InputEvent = PaymentReceived | PaymentMissed | ContactResultReported | ErasureRequested
