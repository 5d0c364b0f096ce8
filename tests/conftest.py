"""Session-wide test settings shared by the unit and integration suites."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

INTEGRATION_DIR = Path(__file__).parent / "integration"

# The machine is shared and small: a timing deadline would fail correct code under load.
# On CI the examples are derandomized so a red build reproduces from the same commit.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration must carry the ``integration`` marker.

    ``pytest -m "not integration"`` must really leave the broker out, so a module that
    forgets ``pytestmark = pytest.mark.integration`` is a collection error, not a surprise.
    """
    unmarked = [
        item.nodeid
        for item in items
        if INTEGRATION_DIR in Path(str(item.path)).parents
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "integration tests without pytestmark = pytest.mark.integration: " + ", ".join(unmarked)
        )
