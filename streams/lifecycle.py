"""What the worker does around processing: topics at start, rebalances, lag, readiness.

It also feeds the metrics that say where a worker stands: every known series at zero from
the start, readiness, recovery progress and owned partitions (``streams.metrics``).

Each hook logs one structured record, so start-up, recovery and rebalances can be followed
in the log stream alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from policy.state import stored_tier
from streams.logs import log_event
from streams.shell import Shell
from streams.tables import key_partition

log = logging.getLogger("repayment.lifecycle")

LAG_INTERVAL_SECONDS = 5.0
REBUILD_BATCH = 500


def is_ready(app: faust.App) -> tuple[bool, str]:
    """Ready once the table is recovered and streams run; not while a rebalance is under way."""
    if app.should_stop:
        return False, "stopping"
    if not app.tables.recovery.completed.is_set():
        return False, "recovering tables"
    if app.rebalancing or app.in_recovery:
        return False, "rebalancing"
    return True, "ready"


def owned_partitions(app: faust.App, shell: Shell) -> set[int]:
    """Partition numbers this worker owns actively (not its standby copies)."""
    changelog = shell.table.changelog_topic.get_topic_name()
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog}


async def rebuild_owned(app: faust.App, shell: Shell) -> int:
    """Index the customers of the partitions this worker now owns, from the local store.

    Runs before streams resume; yields to the event loop every ``REBUILD_BATCH`` keys so
    the web views stay responsive while a large store is scanned.
    """
    owned = owned_partitions(app, shell)
    partitions = shell.settings.partitions
    found: list[tuple[bytes, int, str]] = []
    for scanned, (key, blob) in enumerate(list(shell.table.items()), start=1):
        partition = key_partition(key, partitions)
        if partition in owned and blob is not None:
            found.append((key, partition, stored_tier(blob)))
        if scanned % REBUILD_BATCH == 0:
            await asyncio.sleep(0)
    shell.owned.rebuild(found)
    return len(shell.owned)


def recovery_remaining(app: faust.App) -> tuple[int, int]:
    """Changelog records still to read: (active partitions, standby copies)."""
    recovery = app.tables.recovery
    return recovery.active_remaining_total(), recovery.standby_remaining_total()


def register(app: faust.App, shell: Shell) -> None:
    metrics = shell.metrics
    inputs = [name for topic in shell.topics.inputs for name in topic.topics]
    ticks = shell.topics.clock_ticks.get_topic_name()
    experiment = shell.policy.experiment
    arms = [arm.name for arm in experiment.arms] if experiment is not None else []
    metrics.initialise(inputs, ticks, arms)
    metrics.worker_state.bind(
        ready=lambda: is_ready(app)[0],
        recovering=lambda: bool(app.in_recovery) or not app.tables.recovery.completed.is_set(),
        remaining=lambda: recovery_remaining(app),
        partitions=lambda: len(owned_partitions(app, shell)),
    )
    watched = {*inputs, ticks}
    lag_series: set[tuple[str, str]] = set()

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        log.info("partitions revoked", extra=log_event("rebalance_revoked", count=len(revoked)))

    declared: list[bool] = []

    async def declare_output_topics() -> None:
        """Outputs exist before the first event is processed (brokers may refuse auto-create)."""
        if declared:
            return
        for topic in shell.topics.outputs:
            await topic.maybe_declare()
        declared.append(True)
        names = sorted(name for topic in shell.topics.all for name in topic.topics)
        log.info("topics declared", extra=log_event("topics_declared", topics=names))

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, assigned: set[Any], **kwargs: Any) -> None:
        await declare_output_topics()
        metrics.rebalances.inc()
        inputs = sorted(f"{tp.topic}:{tp.partition}" for tp in assigned if tp.topic in watched)
        log.info(
            "partitions assigned; recovering tables",
            extra=log_event("rebalance_assigned", partitions=inputs),
        )

    @app.on_rebalance_complete.connect
    async def on_complete(sender: Any, **kwargs: Any) -> None:
        customers = await rebuild_owned(app, shell)
        log.info(
            "table recovery complete",
            extra=log_event(
                "recovery_complete",
                owned_partitions=sorted(owned_partitions(app, shell)),
                owned_customers=customers,
            ),
        )

    @app.timer(interval=LAG_INTERVAL_SECONDS, name="consumer-lag")
    async def update_consumer_lag() -> None:
        """Lag = end offset (asked from the broker) - this consumer's position.

        A partition's series lives as long as the partition is assigned: while a rebalance
        is under way, or when the broker or the consumer cannot say, the last value stays,
        so a stalled partition keeps its lag instead of vanishing from the alert's view.
        """
        if app.rebalancing:
            return
        consumer = app.consumer
        owned = [tp for tp in consumer.assignment() if tp.topic in watched]
        ends = await consumer.highwaters(*owned) if owned else {}
        current: set[tuple[str, str]] = set()
        for tp in owned:
            labels = (tp.topic, str(tp.partition))
            position = await consumer.position(tp)
            end = ends.get(tp)
            if end is not None and position is not None:
                metrics.consumer_lag.labels(*labels).set(max(end - position, 0))
                current.add(labels)
            elif labels in lag_series:
                current.add(labels)  # unknown for now: keep the last value
        for labels in lag_series - current:
            metrics.consumer_lag.remove(*labels)
        lag_series.clear()
        lag_series.update(current)
