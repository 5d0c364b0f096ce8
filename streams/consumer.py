"""The one module that knows Faust's and aiokafka's internals: batch delivery, the fetch
filter of a rebalance, and the store read and written by partition.

**Batches.** Faust hands a worker one record at a time: the conductor decodes it into an
event, puts it in the agent's queue, and the stream iterates, acks and runs its sensors.
Measured, that path cost more than our whole per-event work (``bench/README.md``). For a
topic registered with ``App.batch_agent``, ``FastConsumer`` hands the records of one fetch
to the agent's handler instead, one ``Batch`` per partition in offset order, straight from
its drain loop. What Faust guaranteed still holds, with Faust's own bookkeeping:

- a record is tracked as in flight while the handler works on it and acked when the
  handler asks for the next one, so an offset is committed only after its record was
  processed, and Faust's commit flushes the producer first (decisions and changelog records
  acknowledged before the offset);
- a rebalance waits for the record in flight (``wait_empty``), and a batch stops at the
  first record once flow is stopped or the consumer generation changed: nothing is
  processed for a partition being revoked, or before the tables are recovered; what was not
  processed is fetched again from the committed offset;
- the drain loop awaits the handler, so the fetcher never runs ahead of processing by more
  than one fetch.

Other topics (the clock ticks, changelogs) take Faust's path, without its one
``asyncio.wait`` per message when the callback cannot block (``_delivery_may_block``).

**Recovery's end (faust-streaming #596).** When recovery ends, Faust resumes the input
partitions, awaits the seek to their committed offsets, and only then clears the stream
queues. Input records fetched after the seek were dropped by the clear and never fetched
again. So while the app is rebalancing only changelog partitions are fetched (``_getmany``).

**The store by partition.** A Faust table finds the RocksDB database of a key from the
current event; batches have none, so ``PartitionStore`` reads and writes the partition's
database (or the memory store's dict) directly, as ``Store._get``/``_set`` do.

``tests/unit/streams/test_fast_consumer.py`` pins the versions and the shapes relied on, so
an upgrade is re-checked rather than trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from time import monotonic
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer, TopicPartition
from faust.stores import memory as memory_store
from faust.transport.consumer import CONSUMER_FETCHING, RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message, TableT, TopicT, TransportT
from mode import Service, ServiceT

BatchHandler = Callable[["Batch"], Awaitable[None]]


class Batch:
    """The records of one partition from one fetch, in offset order.

    Iterating yields each record while delivery is allowed, marks it in flight, and acks it
    when the next is asked for (or the iteration ends): a handler that raises, or stops
    early, leaves its current record unacked.
    """

    __slots__ = ("tp", "messages", "_consumer")

    def __init__(self, consumer: FastConsumer, tp: TP, messages: list[Message]) -> None:
        self.tp = tp
        self.messages = messages
        self._consumer = consumer

    def __iter__(self) -> Iterator[Message]:
        consumer = self._consumer
        app = consumer.app
        flow_stopped = consumer.suspend_flow.is_set
        flow_active = app.flow_control.is_active
        # Faust tracks and acks only the records of topics whose offsets it commits.
        acks = app.topics.acks_enabled_for(self.tp.topic)
        track = consumer._unacked_messages.add if acks else _untracked
        ack = consumer.ack
        set_read_offset = consumer._read_offset.__setitem__
        tp = self.tp
        for message in self.messages:
            if (
                flow_stopped()
                or not flow_active()
                or message.generation_id != app.consumer_generation_id
            ):
                # A rebalance: the rest is fetched again from the committed offset. No
                # read offset, so no gap is ever assumed over what was not processed.
                consumer._read_offset.pop(tp, None)
                return
            track(message)
            yield message
            ack(message)
            if not flow_stopped():
                set_read_offset(tp, message.offset)


def _untracked(message: Message) -> None:
    pass


async def _uncancelled(handling: Awaitable[None]) -> None:
    """Await a batch's handling to its end even if this task is cancelled meanwhile.

    A clean stop cancels the fetcher's task (this loop) before it waits for the records in
    flight; cut off at an await, a record would leave its state in the store without its
    changelog record. Flow is stopped by then, so the batch ends after the current record;
    the cancellation is raised once it has.
    """
    task = asyncio.ensure_future(handling)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


class FastConsumer(faust_aiokafka.Consumer):
    """``faust.transport.drivers.aiokafka.Consumer`` with batches and a direct path."""

    REBALANCE_POLL_SECONDS = 0.05
    BATCH_RECORDS = 100

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:
        """Faust's fetch, but no input partition while a rebalance is under way."""
        if active_partitions and self.app.rebalancing:
            active_partitions = {tp for tp in active_partitions if self._is_changelog_tp(tp)}
            if not active_partitions:
                await self.sleep(min(timeout, self.REBALANCE_POLL_SECONDS))
                return {}
        return await super()._getmany(active_partitions, timeout)

    def _delivery_may_block(self) -> bool:
        app = self.app
        buffer = app.producer.buffer
        return (
            self.suspend_flow.is_set()
            or not app.flow_control.is_active()
            or app.topics._tp_to_callback_lock.locked()
            or buffer.size > buffer.max_messages
            or any(queue.full() for queue in app.flow_control._queues)
        )

    async def perform_seek(self) -> None:
        """Faust's seek back to the committed offsets (at recovery's end, and when records
        were fetched while flow was stopped and so dropped), completed for the input
        partitions the broker holds no committed offset for: aiokafka's
        ``seek_to_committed`` leaves those where the fetcher was, past the dropped records,
        which were then never processed. They go back to their beginning, as
        ``auto_offset_reset`` (earliest) says: what was processed there is processed again
        (duplicates re-emit the same ids), nothing is skipped.
        """
        committed = await self.seek_to_committed()
        for tp, offset in committed.items():  # as Faust's perform_seek
            self._read_offset[tp] = offset if offset is not None and offset >= 0 else None
            if offset is not None:
                self._committed_offset[tp] = offset or None
        acks_enabled_for = self.app.topics.acks_enabled_for
        never = [
            tp
            for tp, offset in committed.items()
            if not offset and acks_enabled_for(tp.topic) and not self._is_changelog_tp(tp)
        ]
        if never and self.app.conf.consumer_auto_offset_reset == "earliest":
            await self._thread.seek_to_beginning(*(TopicPartition(*tp) for tp in never))
            for tp in never:
                self._read_offset[tp] = None

    async def wait_empty(self) -> None:
        """Faust's (every record in flight acked, then a commit), then the producer flushed
        and ``App.after_drain`` run: a rebalance and a stop come through here before the
        tables close their partitions' stores."""
        await super().wait_empty()
        await self.app.producer.flush()
        await asyncio.sleep(0)  # the delivery callbacks of what the flush sent
        for hook in cast(App, self.app).after_drain:
            hook()

    async def _add_to_batch(
        self, batches: dict[TP, list[Message]], tp: TP, message: Message
    ) -> None:
        """``message`` joins its partition's batch unless it was read already. A jump in
        offsets (compaction, transaction markers) is recorded as a gap, as Faust's loop
        does, so that commits can pass it."""
        offset = message.offset
        batch = batches.get(tp)
        if batch is None:
            last = self._read_offset[tp]
            if last is not None and offset < last:
                return
            batch = batches[tp] = []
        else:
            last = batch[-1].offset
            if offset <= last:
                return
        if last and offset - last > 1 and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, last + 1, offset)
        batch.append(message)

    async def _deliver_batches(self, batches: dict[TP, list[Message]]) -> None:
        """Each partition's records to its handler, at most ``BATCH_RECORDS`` at a time, with
        the event loop's other tasks let in between (as Faust's loop yields every 100)."""
        handlers = cast(App, self.app).batch_handlers
        inbound = self.app.monitor.stream_inbound_time  # Faust's stalled-stream check reads it
        size = self.BATCH_RECORDS
        for tp, messages in batches.items():
            handler = handlers[tp.topic]
            for start in range(0, len(messages), size):
                inbound[tp] = monotonic()
                await _uncancelled(handler(Batch(self, tp, messages[start : start + size])))
                await asyncio.sleep(0)
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()

    async def _fetch(self, timeout: float) -> tuple[dict[TP, list[Message]], RecordMap]:
        """Faust's ``getmany`` up to the records, whole: (the messages of batched topics by
        partition, the records of the others). Batched records become messages at once, so
        they carry the generation they were fetched in, as ``getmany``'s do."""
        records, active = await self._wait_next_records(timeout)
        if records is None or self.should_stop:
            return {}, {}
        if not self.flow_active:
            self.log.dev("getmany called while flow not active. Seek back to committed offsets.")
            try:
                await self.perform_seek()
            except Exception as exc:
                self.log.warning(f"exception performing seek when flow not active {exc}")
            return {}, {}
        batched_topics = cast(App, self.app).batch_handlers
        to_message = self._to_message
        track = self.app.monitor.track_tp_end_offset
        buffered = self._buffered_partitions
        batched: dict[TP, list[Message]] = {}
        others: RecordMap = {}
        for tp, tp_records in records.items():
            if active is None or tp in active or tp in buffered:
                track(tp, self.highwater(tp))
                if tp.topic in batched_topics:
                    batched[tp] = [to_message(tp, record) for record in tp_records]
                else:
                    others[tp] = tp_records
        return batched, others

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        callback = self.callback
        fetch = self._fetch
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        may_block = self._delivery_may_block
        add_to_batch = self._add_to_batch
        to_message = self._to_message
        app = self.app

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                await self.sleep(0)
                fetched, others = await fetch(timeout=1.0)
                generation_id = app.consumer_generation_id
                if not self.should_stop:
                    for tp, record in self.scheduler.iterate(others):
                        if not self.flow_active or app.consumer_generation_id != generation_id:
                            break
                        message = to_message(tp, record)
                        offset = message.offset
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            if may_block():
                                await self.wait_first(callback(message), self.suspend_flow.wait())
                            else:
                                await callback(message)
                            set_read_offset(tp, offset)
                    batches: dict[TP, list[Message]] = {}
                    for tp, messages in fetched.items():
                        for message in messages:
                            await add_to_batch(batches, tp, message)
                    if batches:
                        await self._deliver_batches(batches)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


class PartitionStore:
    """A table's local store, read and written by partition rather than by current event.

    For RocksDB this is ``Store._get``/``_set`` with the partition given, minus the key
    index those keep for reads without an event (they fall back to asking each partition's
    database, and a key never changes partition).
    """

    def __init__(self, table: TableT) -> None:
        self._table = table

    def _rocksdb(self) -> Any:
        store: Any = self._table.data
        return None if isinstance(store, memory_store.Store) else store

    def get(self, key: bytes, partition: int) -> bytes | None:
        rocksdb = self._rocksdb()
        if rocksdb is None:
            return cast(bytes | None, self._table.data.data.get(key))
        return cast(bytes | None, rocksdb._db_for_partition(partition).get(key))

    def put(self, key: bytes, partition: int, value: bytes) -> None:
        rocksdb = self._rocksdb()
        if rocksdb is None:
            self._table.data.data[key] = value
        else:
            rocksdb._db_for_partition(partition).put(key, value)

    def delete(self, key: bytes, partition: int) -> None:
        rocksdb = self._rocksdb()
        if rocksdb is None:
            self._table.data.data.pop(key, None)
        else:
            rocksdb._key_index.pop(key, None)
            rocksdb._db_for_partition(partition).delete(key)

    def persisted(self, changelog: str, partition: int, offset: int) -> None:
        """RocksDB's record of the changelog offset it holds (what a restart reads from),
        unless the partition was revoked meanwhile: its database is closed, not reopened."""
        rocksdb = self._rocksdb()
        if rocksdb is not None and partition in rocksdb._dbs:
            rocksdb.set_persisted_offset(TP(changelog, partition), offset)


def kafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The aiokafka producer under the app's (started with it): what Faust's send ends in,
    and what its commit flushes."""
    return cast(AIOKafkaProducer, app.producer._ensure_producer())  # type: ignore[attr-defined]


class FastTransport(faust_aiokafka.Transport):
    Consumer = FastConsumer


class App(faust.App):
    """``faust.App`` whose consumer is ``FastConsumer``, with batch agents."""

    batch_handlers: dict[str, BatchHandler]
    after_drain: list[Callable[[], None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_handlers = {}
        self.after_drain = []

    def batch_agent(self, topic: TopicT, handler: BatchHandler) -> None:
        """Subscribe ``topic``; its records reach ``handler`` in per-partition ``Batch``es
        from the consumer, not as Faust events."""
        for name in topic.topics:
            self.batch_handlers[name] = handler
        self.topics.add(topic)

    def _new_transport(self) -> TransportT:
        return FastTransport(self.conf.broker_consumer, self)
