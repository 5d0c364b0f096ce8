"""Any valid record, mutated by any family: the decoder raises nothing but ``InvalidEvent``,
with a code the decoder may give (the contract's, less ``currency_mismatch`` and
``processing_error``) and a field path of the contract (issue 9)."""

from __future__ import annotations

import contextlib
import os

from hypothesis import given, settings

from schemas.errors import InvalidEvent
from tests.unit.hostile.contract import decode
from tests.unit.hostile.mutations import Hostile
from tests.unit.hostile.strategies import HOSTILE_SETTINGS, hostile_records


@settings(HOSTILE_SETTINGS, max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "100")) * 5)
@given(hostile_records())
def test_any_record_mutated__decoder_raises_only_invalid_event_with_contract_code_and_field(
    hostile: Hostile,
) -> None:
    with contextlib.suppress(InvalidEvent):  # decode() checks its code and field
        decode(hostile.topic, hostile.raw)
