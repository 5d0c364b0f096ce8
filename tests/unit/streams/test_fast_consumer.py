"""``streams.consumer`` relies on Faust internals: pin them, and check when it takes Faust's path.

The integration tests run every worker with ``FastConsumer`` (rebalances, restarts, changelog
recovery); these tests fail first when a Faust upgrade moves what it reaches into.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust.stores.rocksdb
import faust.transport.consumer
from aiokafka import TopicPartition
from faust.types import TP, Message

from streams.app import create_app
from streams.consumer import Batch, FastConsumer, FastTransport, PartitionStore
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
        events = TP("repayments.payments", 0)
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


def _messages(app: Any, tp: TP, offsets: list[int]) -> list[Message]:
    messages = []
    for offset in offsets:
        message = Message(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None, tp=tp)
        message.generation_id = app.consumer_generation_id
        messages.append(message)
    return messages


async def _flowing_app() -> Any:
    app = create_app(Settings(store="memory://", bootstrap_servers="127.0.0.1:1"))
    # As the subscription does for the input topics: their offsets are committed.
    app.topics._acking_topics.update(app.batch_handlers)
    app.flow_control.resume()
    app.consumer.resume_flow()
    return app


def test_faust__keeps_the_bookkeeping_batches_rely_on() -> None:
    ack = inspect.getsource(faust.transport.consumer.Consumer.ack)
    assert "self._unacked_messages.discard(message)" in ack
    assert "acked_for_tp.append(offset)" in ack
    wait_empty = inspect.getsource(faust.transport.consumer.Consumer.wait_empty)
    assert "while not self.should_stop and self._unacked_messages:" in wait_empty
    seek = inspect.getsource(faust.transport.consumer.Consumer.perform_seek)
    assert "_committed_offsets = await self.seek_to_committed()" in seek  # as overridden
    revoked = inspect.getsource(faust.transport.consumer.Consumer.on_partitions_revoked)
    assert "self._read_offset.pop(tp, None)" in revoked
    rocks_set = inspect.getsource(faust.stores.rocksdb.Store._set)
    assert "self._key_index[key] = partition" in rocks_set
    assert "db = self._db_for_partition(partition)" in rocks_set


def test_batch__tracks_the_record_in_flight_and_acks_it_when_the_next_is_taken() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp = TP("repayments.payments", 3)
        batch = Batch(consumer, tp, _messages(app, tp, [10, 11, 12]))
        seen = []
        for message in batch:
            seen.append(message.offset)
            assert set(consumer._unacked_messages) == {message}  # wait_empty waits for it
            assert consumer._acked[tp] == seen[:-1]  # only what was finished is committable
        assert seen == [10, 11, 12]
        assert consumer._acked[tp] == [10, 11, 12]
        assert not consumer._unacked_messages
        assert consumer._read_offset[tp] == 12
        assert consumer._new_offset(tp) == 13

    asyncio.run(check())


def test_batch__a_handler_that_fails_leaves_its_record_unacked() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp = TP("repayments.payments", 0)
        batch = Batch(consumer, tp, _messages(app, tp, [0, 1, 2]))
        with contextlib.suppress(RuntimeError):
            for message in batch:
                if message.offset == 1:
                    raise RuntimeError("the decision code failed")
        assert consumer._acked[tp] == [0]
        assert consumer._new_offset(tp) == 1

    asyncio.run(check())


def test_batch__stops_once_a_rebalance_stops_flow_and_forgets_the_read_offset() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp = TP("repayments.payments", 0)
        batch = Batch(consumer, tp, _messages(app, tp, [5, 6, 7]))
        seen = []
        for message in batch:
            seen.append(message.offset)
            if message.offset == 6:
                consumer.stop_flow()  # revocation began while 6 was being processed
        assert seen == [5, 6]  # 6 finished (the revocation waited for it), 7 never started
        assert consumer._acked[tp] == [5, 6]
        assert tp not in consumer._read_offset  # 7 is fetched again, no gap assumed

    asyncio.run(check())


def test_batch__records_of_an_older_generation_are_not_processed() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp = TP("repayments.payments", 0)
        messages = _messages(app, tp, [0, 1])
        app.consumer_generation_id += 1  # fetched before the partitions were reassigned
        assert list(Batch(consumer, tp, messages)) == []
        assert not consumer._acked[tp]

    asyncio.run(check())


def test_add_to_batch__keeps_offset_order_skips_what_was_read_and_records_gaps() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp, other = TP("repayments.payments", 0), TP("repayments.payments", 1)
        assert app.topics.acks_enabled_for(tp.topic)
        consumer._read_offset[tp] = 4
        batches: dict[TP, list[Message]] = {}
        for message in _messages(app, tp, [3, 4, 5, 9, 9]) + _messages(app, other, [0]):
            await consumer._add_to_batch(batches, message.tp, message)
        assert [m.offset for m in batches[tp]] == [4, 5, 9]  # 3 was read before
        assert [m.offset for m in batches[other]] == [0]
        # Faust's interval for 6-8: it ends past 9, and counts only once 9 is acked.
        assert sorted((i.begin, i.end) for i in consumer._gap[tp]) == [(6, 10)]
        four, five, nine = batches[tp]
        consumer.ack(four)
        consumer.ack(five)
        assert consumer._new_offset(tp) == 6  # not past 9 before 9 is processed
        consumer.ack(nine)
        assert consumer._new_offset(tp) == 10

    asyncio.run(check())


def test_partition_store__reads_and_writes_the_partitions_database(tmp_path: Path) -> None:
    async def check() -> None:
        for store in ("memory://", "rocksdb://"):
            app = create_app(
                Settings(
                    store=store, bootstrap_servers="127.0.0.1:1", data_dir=tmp_path / store[:6]
                )
            )
            table = app.repayment.table
            partitions = PartitionStore(table)
            partitions.put(b"cust-1", 2, b"state")
            assert partitions.get(b"cust-1", 2) == b"state"
            assert table.data.get(b"cust-1") == b"state"  # web views read without a partition
            if store == "rocksdb://":
                assert partitions.get(b"cust-1", 1) is None  # another partition's database
                assert b"cust-1" in table.data._dbs[2]
            partitions.delete(b"cust-1", 2)
            assert partitions.get(b"cust-1", 2) is None
            assert table.data.get(b"cust-1") is None

    asyncio.run(check())


def test_wait_empty__runs_the_after_drain_hooks_once_the_producer_is_flushed() -> None:
    """A rebalance and a stop drain the consumer before the stores close their partitions:
    the changelog offsets acknowledged by then are recorded (``Outbox.persist_offsets``)."""

    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        steps: list[str] = []

        async def flush() -> None:
            steps.append("flush")

        app.producer.flush = flush
        app.after_drain[:] = [lambda: steps.append("hook")]
        await consumer.wait_empty()
        assert steps[-2:] == ["flush", "hook"]

    asyncio.run(check())


def _record(tp: TP, offset: int) -> Any:
    return SimpleNamespace(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        headers=[],
        key=b"k",
        value=b"v",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=1,
    )


def test_fetch__batched_topics_become_messages_of_the_generation_they_were_fetched_in() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        payments, revoked = TP("repayments.payments", 0), TP("repayments.payments", 1)
        ticks = TP("repayments.clock-ticks", 0)
        fetched = {
            payments: [_record(payments, 7), _record(payments, 8)],
            revoked: [_record(revoked, 0)],  # no longer active: dropped, as getmany does
            ticks: [_record(ticks, 3)],
        }

        async def wait_next_records(timeout: float) -> tuple[Any, set[TP]]:
            return fetched, {payments, ticks}

        consumer._wait_next_records = wait_next_records
        consumer.highwater = lambda tp: 10
        app.consumer_generation_id = 4
        batched, others = await consumer._fetch(1.0)
        assert list(batched) == [payments]
        assert [(m.offset, m.generation_id, m.tp) for m in batched[payments]] == [
            (7, 4, payments),
            (8, 4, payments),
        ]
        assert others == {ticks: fetched[ticks]}  # Faust's per-record path

        seeks: list[bool] = []

        async def perform_seek() -> None:
            seeks.append(True)

        consumer.perform_seek = perform_seek
        consumer.stop_flow()  # records fetched while a rebalance stopped flow
        assert await consumer._fetch(1.0) == ({}, {})
        assert seeks == [True]  # back to the committed offsets, as getmany does

    asyncio.run(check())


def test_deliver_batches__in_offset_order_a_bounded_number_at_a_time() -> None:
    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp = TP("repayments.payments", 0)
        seen: list[list[int]] = []

        async def handler(batch: Batch) -> None:
            seen.append([m.offset for m in batch])

        app.batch_handlers[tp.topic] = handler
        offsets = list(range(consumer.BATCH_RECORDS * 2 + 5))
        await consumer._deliver_batches({tp: _messages(app, tp, offsets)})
        assert [len(chunk) for chunk in seen] == [consumer.BATCH_RECORDS] * 2 + [5]
        assert [offset for chunk in seen for offset in chunk] == offsets
        assert consumer._new_offset(tp) == len(offsets)

    asyncio.run(check())


def test_perform_seek__an_input_partition_never_committed_goes_back_to_its_beginning() -> None:
    """aiokafka's seek_to_committed skips a partition with no committed offset: records
    fetched while flow was stopped, and dropped, would never be fetched again."""

    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        committed_input = TP("repayments.payments", 0)
        never_input = TP("repayments.payments", 1)
        changelog = TP(next(iter(app.tables.changelog_topics)), 1)
        assigned = {committed_input, never_input, changelog}
        to_beginning: list[TP] = []

        async def seek_to_committed() -> dict[TP, int | None]:
            return {committed_input: 42, never_input: None, changelog: None}

        async def seek_to_beginning(*tps: TopicPartition) -> None:
            assert all(type(tp) is TopicPartition for tp in tps), tps  # aiokafka refuses TPs
            to_beginning.extend(TP(tp.topic, tp.partition) for tp in tps)

        consumer.seek_to_committed = seek_to_committed
        consumer.assignment = lambda: assigned
        consumer._thread = SimpleNamespace(seek_to_beginning=seek_to_beginning)
        consumer._read_offset[never_input] = 17  # read, dropped while flow was stopped
        consumer._committed_offset[never_input] = 9  # a commit that failed, recorded anyway
        await consumer.perform_seek()
        assert to_beginning == [never_input]  # not a changelog: recovery positions those
        assert consumer._read_offset[never_input] is None
        assert consumer._read_offset[committed_input] == 42

    asyncio.run(check())


def test_deliver_batches__a_stop_lets_the_record_in_flight_finish() -> None:
    """Faust's stop cancels the fetcher's task before it waits for records in flight: cut
    off at an await, a record would leave its state stored without its changelog record."""

    async def check() -> None:
        app = await _flowing_app()
        consumer = app.consumer
        tp = TP("repayments.payments", 0)
        appending = asyncio.Event()
        appended = asyncio.Event()
        done: list[int] = []

        async def handler(batch: Batch) -> None:
            for message in batch:
                appending.set()
                await appended.wait()  # the changelog record being appended
                done.append(message.offset)

        app.batch_handlers[tp.topic] = handler
        delivering = asyncio.ensure_future(
            consumer._deliver_batches({tp: _messages(app, tp, [0, 1, 2])})
        )
        await appending.wait()
        assert app.monitor.stream_inbound_time[tp] > 0  # Faust's stalled-stream check
        consumer.stop_flow()  # Faust's _stop_consumer: flow first, then the fetcher
        delivering.cancel()
        await asyncio.sleep(0)
        appended.set()
        with contextlib.suppress(asyncio.CancelledError):
            await delivering
        assert delivering.cancelled()
        assert done == [0]  # finished, and nothing started after the stop
        assert consumer._acked[tp] == [0]

    asyncio.run(check())
