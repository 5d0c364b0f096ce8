"""Time passing without input: the leader publishes ticks, every worker applies them.

The leader publishes one ``{"at": ...}`` message to each partition of ``<ns>.clock-ticks``
(explicit partition) per tick slot. That topic is co-partitioned with the inputs and the
table, so the worker owning partition N applies the tick to the customers of partition N,
inside the tick event's iteration: their changelog writes land in partition N too.

With ``REPAYMENT_CLOCK=event`` no wall-clock ticks are published: time is what the events
and externally published ticks say (back-fills, the differential tests).
"""

from __future__ import annotations

import logging
from datetime import datetime

import faust
from faust.types import StreamT

from schemas.encode import format_instant
from streams.clock import tick_message, tick_slot, wall_now
from streams.logs import log_event
from streams.shell import Shell

log = logging.getLogger("repayment.clock")

MAX_POLL_SECONDS = 30.0


class TickPublisher:
    """Publishes each tick slot once per leadership; a repeat after failover is a no-op."""

    def __init__(self, shell: Shell) -> None:
        self._shell = shell
        self._last_slot: datetime | None = None

    async def publish_due(self, now: datetime) -> bool:
        slot = tick_slot(now, self._shell.settings.tick_seconds)
        if slot == self._last_slot:
            return False
        value = tick_message(slot)
        topic = self._shell.topics.clock_ticks.get_topic_name()
        for partition in range(self._shell.settings.partitions):
            await self._shell.outbox.send(topic, None, value, partition)
        self._last_slot = slot
        log.info("clock tick published", extra=log_event("tick_published", at=format_instant(slot)))
        return True


def register(app: faust.App, shell: Shell) -> None:
    @app.agent(shell.topics.clock_ticks, name="clock-ticks")
    async def clock_ticks(stream: StreamT) -> None:
        async for event in stream.events():
            await shell.process_tick(event)

    if shell.settings.clock != "wall":
        return
    publisher = TickPublisher(shell)
    poll = min(shell.settings.tick_seconds, MAX_POLL_SECONDS)

    @app.timer(interval=poll, on_leader=True, name="clock")
    async def publish_ticks() -> None:
        await publisher.publish_due(wall_now())
