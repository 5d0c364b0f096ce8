"""Fixtures of the policy unit tests; the factories themselves live in ``fixtures.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from policy import Policy, default_policy, parse_policy

from .fixtures import Customer


@pytest.fixture
def policy() -> Policy:
    return default_policy()


@pytest.fixture
def us_policy() -> Policy:
    return parse_policy('profile = "us_regf"')


@pytest.fixture
def customer() -> Callable[..., Customer]:
    """``customer(policy=None)``: a fresh customer driver at ``NOW``."""
    return Customer
