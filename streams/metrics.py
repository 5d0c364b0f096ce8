"""Prometheus metrics of one worker, in their own registry (exposed at ``/metrics``).

No label ever carries a customer id: label values come from closed sets (topics, results,
tiers, channels, reasons, rules) so the series count stays bounded.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from schemas.outputs import TIERS, Decision, OutreachNeeded
from streams.tables import OwnedCustomers

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

_SECONDS_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
_AGE_BUCKETS: Final = (0.01, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 86400, 604800)


class CustomerCensus(Collector):
    """``repayment_customers{tier}``: the customers this worker owns, never standby copies."""

    def __init__(self, owned: OwnedCustomers) -> None:
        self._owned = owned

    def counts(self) -> dict[str, int]:
        tally = Tally(self._owned.tiers())
        return {tier: tally.get(tier, 0) for tier in TIERS}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "repayment_customers", "Customers owned by this worker, by risk tier.", labels=["tier"]
        )
        for tier, count in self.counts().items():
            family.add_metric([tier], count)
        yield family


class Metrics:
    """Every series a worker exports; ``owned`` feeds ``repayment_customers``."""

    def __init__(self, owned: OwnedCustomers | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "repayment_events", "Input events by outcome.", ["topic", "result"], registry=r
        )
        self.decisions = Counter(
            "repayment_decisions",
            "Decisions emitted (re-emitted duplicates excluded).",
            ["kind", "tier", "channel", "reason"],
            registry=r,
        )
        self.outreach_deferred = Counter(
            "repayment_outreach_deferred",
            "Outreach whose not_before lies after the decision (quiet hours or a cap).",
            ["rule"],
            registry=r,
        )
        self.processing_seconds = Histogram(
            "repayment_processing_seconds",
            "Time to process one input event or clock tick.",
            ["topic"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.event_age_seconds = Histogram(
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
        r.register(CustomerCensus(owned if owned is not None else OwnedCustomers()))

    def count_decision(self, decision: Decision, deferred_rule: str | None) -> None:
        if isinstance(decision, OutreachNeeded):
            self.decisions.labels(
                "outreach", decision.tier, decision.channel, decision.reason
            ).inc()
            if deferred_rule is not None:
                self.outreach_deferred.labels(deferred_rule).inc()
        else:
            reason = decision.reasons[0] if decision.reasons else ""
            self.decisions.labels("escalation", decision.to_tier, "", reason).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
