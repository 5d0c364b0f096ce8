"""Who may read ``/customers/{id}``: no token 401, wrong token 403, right token passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.access import CustomerAccess, Refusal, customer_access, is_loopback


def status(access: CustomerAccess, header: str | None) -> int:
    try:
        access.check(header)
    except Refusal as refusal:
        return refusal.status
    return 200


def test_token__none_401_wrong_403_right_200_whatever_the_address() -> None:
    for host in ("0.0.0.0", "127.0.0.1", "10.1.2.3"):
        access = customer_access("s3cret-token", None, host)
        assert status(access, None) == 401
        assert status(access, "") == 401
        assert status(access, "Bearer wrong") == 403
        assert status(access, "Basic s3cret-token") == 403
        assert status(access, "Bearer s3cret-token") == 200
        assert status(access, "bearer  s3cret-token ") == 200


def test_no_token__open_on_loopback_only_else_off_403() -> None:
    assert status(customer_access(None, None, "127.0.0.1"), None) == 200
    assert status(customer_access(None, None, "::1"), None) == 200
    assert status(customer_access(None, None, "localhost"), None) == 200
    assert status(customer_access(None, None, "0.0.0.0"), "Bearer anything") == 403
    assert status(customer_access(None, None, "worker-0.repayment"), None) == 403


def test_token_file__its_first_line_is_the_token(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-a-secret\n")
    access = customer_access(None, secret, "0.0.0.0")
    assert status(access, "Bearer from-a-secret") == 200
    assert status(access, "Bearer from-a-secret\n") == 200


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.2", True), ("0.0.0.0", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
