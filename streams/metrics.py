"""Prometheus metrics of one worker, in their own registry (exposed at ``/metrics``).

No label ever carries a customer id: label values come from closed sets (topics, results,
tiers, channels, reasons, rules) so the series count stays bounded. Every labelled series
whose labels are known at start exists from the first scrape, at zero (``initialise``): a
series born at 1 has no increase for ``rate()``, so the first dead letter after a start
would raise no alert and the dashboard would miss it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate, product
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from schemas.events import CHANNELS, SELF_SERVICE, SELF_SERVICE_OUTCOMES, ContactResultReported
from schemas.outputs import (
    CANCEL_REASONS,
    ESCALATION_REASONS,
    OUTREACH_REASONS,
    TIERS,
    Decision,
    OutreachCancelled,
    OutreachNeeded,
)
from streams.tables import OwnedCustomers

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

INPUT_RESULTS: Final = (
    "processed",
    "duplicate",
    "rekeyed",
    "dead_lettered",
    "processing_error",
    "erased",
)
"""Every ``result`` the shell counts for an input message."""
TICK_RESULTS: Final = ("dead_lettered", "processing_error")
"""Results counted in ``repayment_events_total`` for clock ticks (applied ones have their own)."""
DEFERRAL_RULES: Final = ("quiet_hours", "cap")
"""What may move an outreach's ``not_before`` (``streams.summary.deferred_rule``)."""

_SECONDS_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
_AGE_BUCKETS: Final = (0.01, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 86400, 604800)


class LoopHistogram(Collector):
    """A histogram observed from one event loop, exposed as prometheus_client's is
    (``_bucket`` with ``le``, ``_sum``, ``_count``).

    prometheus_client's takes a lock for each bucket and the sum: about 1 us an
    observation, and an input event makes two. Here an observation is a bisect and two
    additions; scrapes run on the same loop (Faust's web server), so nothing races.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = list(labelnames)
        self._bounds = [float(b) for b in buckets]
        self._children: dict[tuple[str, ...], LoopHistogramChild] = {}
        if not self._labelnames:
            self.labels()  # exists at zero from the start, as prometheus_client's does
        registry.register(self)

    def labels(self, *values: str) -> LoopHistogramChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self._labelnames):
                raise ValueError(f"{self._name} takes labels {self._labelnames}, got {values}")
            child = self._children[values] = LoopHistogramChild(self._bounds)
        return child

    def observe(self, amount: float) -> None:
        self.labels().observe(amount)

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        edges = [floatToGoString(b) for b in self._bounds] + ["+Inf"]
        for values, child in self._children.items():
            family.add_metric(
                list(values), list(zip(edges, accumulate(child.counts), strict=True)), child.sum
            )
        yield family


class LoopHistogramChild:
    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: list[float]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect_left(self._bounds, amount)] += 1
        self.sum += amount


class CustomerCensus(Collector):
    """``repayment_customers{tier}``: the customers this worker owns, never standby copies;
    ``repayment_customers_dormant``: how many of them the clock skips for now."""

    def __init__(self, owned: OwnedCustomers) -> None:
        self._owned = owned

    def counts(self) -> dict[str, int]:
        tally = Tally(self._owned.tiers())
        return {tier: tally.get(tier, 0) for tier in TIERS}

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names, for ``/metrics?name[]=``; read once, at registration."""
        return self.collect()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "repayment_customers", "Customers owned by this worker, by risk tier.", labels=["tier"]
        )
        for tier, count in self.counts().items():
            family.add_metric([tier], count)
        yield family
        yield GaugeMetricFamily(
            "repayment_customers_dormant",
            "Owned customers whose clock ticks are skipped until time-driven work is due.",
            value=self._owned.asleep(),
        )


class WorkerState(Collector):
    """Readiness, table recovery and ownership, read from the app at scrape time.

    Until ``bind`` the worker reports itself not ready, not recovering and owning nothing,
    which is what a worker that has not joined its group yet is.
    """

    def __init__(self) -> None:
        self.ready: Callable[[], bool] = lambda: False
        self.recovering: Callable[[], bool] = lambda: False
        self.remaining: Callable[[], tuple[int, int]] = lambda: (0, 0)
        self.partitions: Callable[[], int] = lambda: 0

    def bind(
        self,
        *,
        ready: Callable[[], bool],
        recovering: Callable[[], bool],
        remaining: Callable[[], tuple[int, int]],
        partitions: Callable[[], int],
    ) -> None:
        self.ready, self.recovering = ready, recovering
        self.remaining, self.partitions = remaining, partitions

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names, for ``/metrics?name[]=``; read once, at registration (unbound)."""
        return self.collect()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "repayment_ready",
            "1 while /readyz answers 200: tables recovered, no rebalance under way.",
            value=int(self.ready()),
        )
        yield GaugeMetricFamily(
            "repayment_recovering",
            "1 while the customer table is being recovered from its changelog.",
            value=int(self.recovering()),
        )
        remaining = GaugeMetricFamily(
            "repayment_recovery_remaining_records",
            "Changelog records still to read before recovery completes, by replica kind.",
            labels=["replica"],
        )
        active, standby = self.remaining()
        remaining.add_metric(["active"], active)
        remaining.add_metric(["standby"], standby)
        yield remaining
        yield GaugeMetricFamily(
            "repayment_assigned_partitions",
            "Table partitions this worker owns actively (standby copies excluded).",
            value=self.partitions(),
        )


class Metrics:
    """Every series a worker exports; ``owned`` feeds ``repayment_customers``."""

    def __init__(self, owned: OwnedCustomers | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_start_time_seconds: restarts, crash loops
        PlatformCollector(registry=r)
        self.events = Counter(
            "repayment_events", "Input events by outcome.", ["topic", "result"], registry=r
        )
        self.decisions = Counter(
            "repayment_decisions",
            "Decisions emitted (re-emitted duplicates excluded).",
            ["kind", "tier", "channel", "reason", "arm"],
            registry=r,
        )
        self.self_service = Counter(
            "repayment_self_service_actions",
            "Customers' own actions in the 7x24 self-service channel, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.callbacks_requested = Counter(
            "repayment_callbacks_requested",
            "callback_requested results carrying a callback_at.",
            registry=r,
        )
        self.callbacks_scheduled = Counter(
            "repayment_callbacks_scheduled",
            "callback outreach emitted (a request may find no channel: an agent_call opt-out).",
            registry=r,
        )
        self.outreach_deferred = Counter(
            "repayment_outreach_deferred",
            "Outreach whose not_before lies after the decision (quiet hours or a cap).",
            ["rule"],
            registry=r,
        )
        self.processing_seconds = LoopHistogram(
            "repayment_processing_seconds",
            "Time to process one input event or clock tick.",
            ["topic"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.event_age_seconds = LoopHistogram(
            "repayment_event_age_seconds",
            "Processor clock minus occurred_at, at processing time.",
            buckets=_AGE_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "repayment_consumer_lag",
            "Highwater minus consumer position, per owned partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.rebalances = Counter(
            "repayment_rebalances", "Consumer group rebalances seen.", registry=r
        )
        self.rekeyed = Counter(
            "repayment_rekeyed",
            "Inputs re-sent under their customer_id key.",
            ["topic"],
            registry=r,
        )
        self.clock_ticks = Counter(
            "repayment_clock_ticks", "Clock tick messages processed.", registry=r
        )
        self.worker_state = WorkerState()
        r.register(self.worker_state)
        r.register(CustomerCensus(owned if owned is not None else OwnedCustomers()))

    def initialise(self, inputs: Sequence[str], clock_ticks: str, arms: Sequence[str] = ()) -> None:
        """Create at zero every labelled series the worker can emit, for the real topic names.

        Decisions get the full product of the closed sets (tiers x channels x reasons, by
        kind), about 300 series per experiment arm (``arm=""`` without an experiment): a
        combination the policy never produces stays at zero.
        """
        for outcome in sorted(SELF_SERVICE_OUTCOMES):
            self.self_service.labels(outcome)
        for topic, result in product(inputs, INPUT_RESULTS):
            self.events.labels(topic, result)
        for result in TICK_RESULTS:
            self.events.labels(clock_ticks, result)
        for topic in (*inputs, clock_ticks):
            self.processing_seconds.labels(topic)
        for topic in inputs:
            self.rekeyed.labels(topic)
        for rule in DEFERRAL_RULES:
            self.outreach_deferred.labels(rule)
        for arm in arms or ("",):
            for tier, channel, reason in product(TIERS, CHANNELS, OUTREACH_REASONS):
                self.decisions.labels("outreach", tier, channel, reason, arm)
            for tier, reason in product(TIERS, ESCALATION_REASONS):
                self.decisions.labels("escalation", tier, "", reason, arm)
            for channel, reason in product(CHANNELS, CANCEL_REASONS):
                self.decisions.labels("cancellation", "", channel, reason, arm)

    def count_decision(self, decision: Decision, deferred_rule: str | None) -> None:
        arm = decision.policy_arm or ""
        if isinstance(decision, OutreachNeeded):
            self.decisions.labels(
                "outreach", decision.tier, decision.channel, decision.reason, arm
            ).inc()
            if deferred_rule is not None:
                self.outreach_deferred.labels(deferred_rule).inc()
            if decision.reason == "callback":
                self.callbacks_scheduled.inc()
        elif isinstance(decision, OutreachCancelled):
            self.decisions.labels("cancellation", "", decision.channel, decision.reason, arm).inc()
        else:
            reason = decision.reasons[0] if decision.reasons else ""
            self.decisions.labels("escalation", decision.to_tier, "", reason, arm).inc()

    def count_contact_result(self, event: ContactResultReported) -> None:
        """Self-service actions and callback requests, once per accepted result."""
        if event.channel == SELF_SERVICE:
            self.self_service.labels(event.outcome).inc()
        if event.callback_at is not None:
            self.callbacks_requested.inc()

    def exposition(self, names: Sequence[str] = ()) -> bytes:
        """The text format; only the named metrics when ``names`` (``?name[]=...``, as
        prometheus_client's own server: a poller reads one counter without the rest)."""
        if names:
            return generate_latest(self.registry.restricted_registry(names))
        return generate_latest(self.registry)
