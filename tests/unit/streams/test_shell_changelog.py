"""The shell keeps the changelog where the store is, even across a crash between the two.

A real app (memory store, no broker) with an outbox that records what would be appended;
the shell's per-record path is driven directly, as a batch drives it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from faust.types import TP, Message

from streams.app import create_app
from streams.settings import Settings

MISSED = {
    "event_id": "evt-0002",
    "customer_id": "cust-002",
    "occurred_at": "2026-03-11T08:30:00+08:00",
    "installment_id": "inst-002-03",
    "due_date": "2026-03-10",
    "amount_due": "450.00",
    "currency": "CNY",
}
ERASE = {"event_id": "erase-9", "customer_id": "cust-009", "occurred_at": "2026-03-11T09:00:00Z"}


class RecordingOutbox:
    """What the shell hands the producer, in order; the store is written as the real one."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: Any = None
    ) -> None:
        self.records.append((topic, key, value))

    async def put_state(self, key: bytes, blob: bytes, partition: int) -> None:
        self.store.put(key, partition, blob)
        self.records.append(("changelog", key, blob))

    async def delete_state(self, key: bytes, partition: int) -> None:
        self.store.delete(key, partition)
        self.records.append(("changelog", key, None))

    async def append_changelog(self, key: bytes, value: bytes | None, partition: int) -> None:
        self.records.append(("changelog", key, value))

    def persist_offsets(self) -> None:
        pass


def _message(topic: str, offset: int, doc: dict[str, Any]) -> Message:
    tp = TP(topic, 0)
    key = doc["customer_id"].encode()
    return Message(tp.topic, 0, offset, 0.0, 0, None, key, orjson.dumps(doc), None, tp=tp)


def _shell() -> Any:
    app = create_app(Settings(store="memory://", bootstrap_servers="127.0.0.1:1", clock="event"))
    shell = app.repayment
    return replace(shell, outbox=RecordingOutbox(shell.store))


def _changelog(shell: Any) -> list[tuple[bytes | None, bytes | None]]:
    return [(key, value) for topic, key, value in shell.outbox.records if topic == "changelog"]


def test_a_redelivered_record__appends_the_stored_state_again() -> None:
    """After a crash between the store write and the changelog record, the redelivered
    record is a duplicate to the core; the changelog still gets the state the store has."""

    async def check() -> None:
        shell = _shell()
        not_after = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=24)
        missed = _message("repayments.missed-payments", 7, MISSED)
        assert await shell._process(missed, "repayments.missed-payments", not_after) == "processed"
        stored = shell.store.get(b"cust-002", 0)
        assert _changelog(shell) == [(b"cust-002", stored)]
        shell.outbox.records.clear()
        again = await shell._process(missed, "repayments.missed-payments", not_after)
        assert again == "duplicate"
        assert _changelog(shell) == [(b"cust-002", stored)]
        assert shell.store.get(b"cust-002", 0) == stored

    asyncio.run(check())


def test_an_erasure_of_a_customer_with_no_stored_state__still_appends_its_tombstone() -> None:
    """A crash between the local delete and the tombstone leaves the changelog's copy: the
    redelivered erasure finds no state, and removes that copy all the same."""

    async def check() -> None:
        shell = _shell()
        not_after = datetime(2027, 1, 1, tzinfo=UTC)
        erase = _message("repayments.erasures", 3, ERASE)
        assert await shell._process(erase, "repayments.erasures", not_after) == "erased"
        assert _changelog(shell) == [(b"cust-009", None)]

    asyncio.run(check())
