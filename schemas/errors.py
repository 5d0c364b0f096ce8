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
]


class RepaymentStreamError(Exception):
    """Root of every error this project raises on purpose."""


class InvalidEvent(RepaymentStreamError):
    """An input message breaks the contract.

    Raised while decoding (or, for ``currency_mismatch``, while applying an event to a
    customer's state). The shell turns it into one message on ``repayments.dead-letter``
    and moves on; an operator fixes the producer, not the processor.
    """

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (field {field})" if field else ""))
        self.code: ErrorCode = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}
