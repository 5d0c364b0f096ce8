"""Faust's consumer, without one ``asyncio.wait`` per fetched message.

Faust 0.15's ``Consumer._drain_messages`` hands every record to the conductor as
``await self.wait_first(callback(message), self.suspend_flow.wait())``: four tasks, an
``asyncio.wait`` and three cancellations per message, so that a rebalance can abandon a
delivery that is blocked. A Faust agent that does nothing at all ran at about 10,000 events
per CPU-second on this machine with that line and about 25,000 without it; ``python -m
bench floor`` (an agent that also decodes and produces one record) shows the same step.

The callback can only block in four places: flow control suspended (start-up, rebalances),
the conductor's subscription lock held, the producer buffer over its limit, or a full stream
queue. ``FastConsumer`` checks those first: when none holds, the callback runs to
completion without yielding, so awaiting it directly is what ``wait_first`` would have
done; otherwise it takes Faust's own path. Everything else in the loop (gap tracking,
``broker_commit_every``, read offsets, yielding every 100 records) is Faust's code.

It also closes a hole in Faust's recovery (faust-streaming issue #596). When recovery ends,
Faust resumes the input partitions, awaits the seek to their committed offsets, and only
then clears the stream queues and ends the rebalance. Input records fetched after the seek
reach the queues and are dropped by the clear, and the read offsets this loop recorded for
them make it skip their re-fetch: never processed, yet later commits pass them (seen as
decisions missing after a SIGKILL restart). So while the app is rebalancing, only changelog
partitions are fetched (``_getmany``); input records wait in the fetcher, whose buffer the
seek resets, and are fetched once the rebalance is over.

This reaches into Faust and mode internals; ``tests/unit/streams/test_fast_consumer.py``
pins the version and the shapes relied on, so an upgrade is re-checked rather than trusted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import faust
from faust.transport.consumer import CONSUMER_FETCHING, RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, TransportT
from mode import Service, ServiceT


class FastConsumer(faust_aiokafka.Consumer):
    """``faust.transport.drivers.aiokafka.Consumer`` with a direct path for records."""

    REBALANCE_POLL_SECONDS = 0.05

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

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        may_block = self._delivery_may_block

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
                ait = cast(AsyncIterator[Any], getmany(timeout=1.0))
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        offset = message.offset
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


class FastTransport(faust_aiokafka.Transport):
    Consumer = FastConsumer


class App(faust.App):
    """``faust.App`` whose consumer is ``FastConsumer`` (the producer is Faust's own)."""

    def _new_transport(self) -> TransportT:
        return FastTransport(self.conf.broker_consumer, self)
