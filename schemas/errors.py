"""The one exception root of the project and the typed error for bad input."""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "invalid_json",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "unknown_outcome",
    "currency_mismatch",
    "too_large",
    "processing_error",
]


class RepaymentStreamError(Exception):
    """Root of every error this project raises on purpose."""


class InvalidEvent(RepaymentStreamError):
    """An input message breaks the contract.

    Raised while decoding (or, for ``currency_mismatch`` and out-of-range dates, while
    applying an event to a customer's state). The shell turns it into one message on
    ``repayments.dead-letter`` and moves on; an operator fixes the producer, not the
    processor. ``processing_error`` is the shell's own code for an input the decision code
    failed on (a defect): ``processing_error(exc)`` builds it.
    """

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (field {field})" if field else ""))
        self.code: ErrorCode = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


def processing_error(exc: BaseException) -> InvalidEvent:
    """The dead-letter error for an input that decoded but made the decision code fail."""
    return InvalidEvent("processing_error", f"{type(exc).__name__}: {exc}"[:1000])
