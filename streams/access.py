"""Who may read customer data over HTTP (``GET /customers/{id}``).

The view shows a customer's debts, missed installments, promises and contact history, so it
needs a credential: a bearer token (``REPAYMENT_API_TOKEN``, or the first line of
``REPAYMENT_API_TOKEN_FILE`` for a mounted secret), compared in constant time. Without one
the view is open only while the web server listens on loopback (a developer's machine);
bound to any other address it is off (403). ``/metrics``, ``/healthz`` and ``/readyz`` carry
no customer data and stay open. Faust forwards a request's headers when it routes it to the
worker owning the customer, so the credential travels with it.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


class Refusal(Exception):
    """An HTTP refusal: ``status`` (401, 403) and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class CustomerAccess:
    token: str | None
    loopback: bool

    def check(self, authorization: str | None) -> None:
        """Raise ``Refusal`` unless the ``Authorization`` header grants access."""
        if self.token is None:
            if self.loopback:
                return
            raise Refusal(
                403,
                "the customer view is off: set REPAYMENT_API_TOKEN (or _FILE) to serve it on "
                "a non-loopback address",
            )
        if not authorization:
            raise Refusal(401, "a bearer token is required (Authorization: Bearer <token>)")
        scheme, _, given = authorization.strip().partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )
        if not ok:
            raise Refusal(403, "the token is not valid")


def customer_access(token: str | None, token_file: Path | None, web_host: str) -> CustomerAccess:
    """The access rule from the settings; a token file's first line is the token."""
    if token is None and token_file is not None:
        token = token_file.read_text(encoding="utf-8").splitlines()[0].strip() or None
    return CustomerAccess(token, is_loopback(web_host))


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
