"""``streams.consumer`` relies on Faust internals: pin them, and check when it takes Faust's path.

The integration tests run every worker with ``FastConsumer`` (rebalances, restarts, changelog
recovery); these tests fail first when a Faust upgrade moves what it reaches into.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import faust.transport.consumer
from faust.types import TP

from streams.app import create_app
from streams.consumer import FastConsumer, FastTransport
from streams.settings import Settings


def test_faust__is_the_release_the_fast_path_was_checked_against() -> None:
    assert version("faust-streaming").startswith("0.15."), "re-check streams/consumer.py"
    original = inspect.getsource(faust.transport.consumer.Consumer._drain_messages)
    assert "await self.wait_first(\n" in original
    assert "callback(message), self.suspend_flow.wait()" in original


def test_app__consumes_with_the_fast_consumer() -> None:
    async def check() -> None:
        app = create_app(Settings(store="memory://", bootstrap_servers="127.0.0.1:1"))
        assert isinstance(app.transport, FastTransport)
        assert isinstance(app.consumer, FastConsumer)

    asyncio.run(check())


def test_delivery__takes_faust_path_whenever_the_callback_could_block() -> None:
    async def check() -> None:
        app = create_app(Settings(store="memory://", bootstrap_servers="127.0.0.1:1"))
        consumer = app.consumer
        assert isinstance(consumer, FastConsumer)
        assert consumer._delivery_may_block()  # flow control starts suspended
        app.flow_control.resume()
        assert not consumer._delivery_may_block()

        consumer.stop_flow()  # a rebalance began
        assert consumer._delivery_may_block()
        consumer.resume_flow()
        assert not consumer._delivery_may_block()

        queue = app.FlowControlQueue(maxsize=1, clear_on_resume=True)  # as a channel's
        queue.put_nowait(1)  # a stream's buffer is full: delivery would wait for room
        assert consumer._delivery_may_block()
        queue.get_nowait()
        assert not consumer._delivery_may_block()

        lock = app.topics._tp_to_callback_lock  # type: ignore[attr-defined]
        await lock.acquire()  # the subscription is being updated
        assert consumer._delivery_may_block()
        lock.release()

        buffer = app.producer.buffer
        for _ in range(buffer.max_messages + 1):
            buffer.pending.put_nowait(object())  # type: ignore[arg-type]
        assert consumer._delivery_may_block()

    asyncio.run(check())


def test_while_rebalancing__only_changelog_partitions_are_fetched() -> None:
    """faust-streaming #596: input records fetched between the end-of-recovery seek and the
    queues' clear were dropped, and never fetched again. Inputs wait out the rebalance."""

    async def check() -> None:
        app = create_app(Settings(store="memory://", bootstrap_servers="127.0.0.1:1"))
        consumer = app.consumer
        assert isinstance(consumer, FastConsumer)
        events = TP("ns.payments", 0)
        changelog = TP(next(iter(app.tables.changelog_topics)), 0)
        asked: list[set[TP] | None] = []

        async def getmany(active: set[TP] | None, timeout: float) -> dict[TP, list[Any]]:
            asked.append(None if active is None else set(active))
            return {tp: [f"record of {tp.topic}"] for tp in active or ()}

        consumer._thread = SimpleNamespace(getmany=getmany)  # type: ignore[assignment]

        app.rebalancing = True
        assert await consumer._getmany({events, changelog}, 1.0) == {
            changelog: [f"record of {changelog.topic}"]
        }
        assert await consumer._getmany({events}, 1.0) == {}  # nothing asked of the fetcher
        assert asked == [{changelog}]

        app.rebalancing = False
        assert set(await consumer._getmany({events, changelog}, 1.0)) == {events, changelog}
        assert asked[-1] == {events, changelog}

    asyncio.run(check())
