"""What the contract allows to become of one input: decided, or one dead letter with a
contract code and field; and the one place that runs an input through decoder and core.

Anything other than ``InvalidEvent`` escaping ``decide`` is a defect (the live worker would
turn it into a ``processing_error`` dead letter, or stop): it propagates, with its traceback,
so a property shows where it was raised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy import CustomerState, Policy, apply
from policy.core import Step
from schemas.decode import DEFAULT_MAX_BYTES, decode_input
from schemas.errors import InvalidEvent
from schemas.events import InputEvent

CONTRACT_CODES = frozenset(
    {
        "invalid_json",
        "not_an_object",
        "missing_field",
        "invalid_field",
        "unknown_outcome",
        "currency_mismatch",
        "too_large",
        "processing_error",
    }
)
"""The dead-letter codes of the contract (repayments.dead-letter)."""

DECODER_CODES = CONTRACT_CODES - {"currency_mismatch", "processing_error"}
"""The decoder knows no state (no currency to mismatch) and is not the shell."""

CORE_CODES = CONTRACT_CODES - {"processing_error"}
"""``processing_error`` is the shell's name for an exception that is *not* InvalidEvent."""

CONTRACT_FIELDS = frozenset(
    {
        "event_id",
        "customer_id",
        "occurred_at",
        "customer_timezone",
        "schema_version",
        "amount",
        "currency",
        "installment_id",
        "account_id",
        "due_date",
        "amount_due",
        "channel",
        "outcome",
        "callback_at",
        "outreach_id",
        "promise",
        "promise.amount",
        "promise.date",
        "arrangement",
        "arrangement.type",
        "arrangement.until",
    }
)
"""Every field path of the three input topics, as the contract names them."""

TIME_BOUND_SECONDS = 0.050
"""Per input, decode + apply: generous (the core does ~30,000 events/s on one core), so only
an input that makes the code loop, backtrack or parse something huge can reach it."""


@dataclass(frozen=True, slots=True)
class Decided:
    event: InputEvent
    step: Step


@dataclass(frozen=True, slots=True)
class DeadLettered:
    error: InvalidEvent
    stage: str  # "decode" or "core"

    @property
    def pair(self) -> tuple[str, str | None]:
        return self.error.code, self.error.field


Outcome = Decided | DeadLettered


def check_error(error: InvalidEvent, codes: frozenset[str]) -> None:
    """A dead letter the contract can express: its code, and a field path of the contract."""
    assert error.code in codes, f"{error.code!r} is not a contract code here: {error}"
    assert error.field is None or error.field in CONTRACT_FIELDS, (
        f"{error.field!r} is not a contract field path: {error}"
    )


def decode(topic: str, raw: bytes, *, not_after: datetime | None = None) -> InputEvent:
    """``decode_input`` with the worker's default size limit; checks any InvalidEvent."""
    try:
        return decode_input(topic, raw, max_bytes=DEFAULT_MAX_BYTES, not_after=not_after)
    except InvalidEvent as error:
        check_error(error, DECODER_CODES)
        raise


def decide(
    topic: str,
    raw: bytes,
    state: CustomerState | None,
    clock: datetime | None,
    policy: Policy,
    *,
    not_after: datetime | None = None,
) -> Outcome:
    """Decode, then apply at replay's clock: the later of ``clock`` and ``occurred_at``."""
    try:
        event = decode(topic, raw, not_after=not_after)
    except InvalidEvent as error:
        return DeadLettered(error, "decode")
    occurred = event.header.occurred_at
    now = occurred if clock is None or occurred > clock else clock
    try:
        step = apply(state, event, now, policy)
    except InvalidEvent as error:
        check_error(error, CORE_CODES)
        return DeadLettered(error, "core")
    return Decided(event, step)


class TimeBound:
    """Bounded time per input, measured with ``time.perf_counter``.

    The first input of the process is not held to it (zone files, regexes and caches warm
    up). An input over the bound is measured three more times and judged by its fastest run,
    so a scheduler hiccup or a garbage collection on this shared machine cannot fail it, but
    an input that is slow every time does.
    """

    def __init__(self, bound: float = TIME_BOUND_SECONDS) -> None:
        self.bound = bound
        self.warm = False
        self.slowest = 0.0

    def check(self, run: Any, what: object) -> Any:
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        if not self.warm:
            self.warm = True
            return result
        if elapsed > self.bound:
            for _ in range(3):
                started = time.perf_counter()
                run()
                elapsed = min(elapsed, time.perf_counter() - started)
        self.slowest = max(self.slowest, elapsed)
        assert elapsed <= self.bound, f"{elapsed * 1000:.1f} ms for one input: {what!r}"
        return result


TIMER = TimeBound()
"""One per process, so "the first input" is the first of the whole run."""
