"""The worker's metrics: every known series exists at zero before anything happens (so the
first increase is visible to rate() and alerts), the process is described, and readiness
and recovery are exported."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import product
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas.events import CHANNELS
from schemas.outputs import (
    CANCEL_REASONS,
    ESCALATION_REASONS,
    OUTREACH_REASONS,
    TIERS,
    OutreachCancelled,
    OutreachNeeded,
    RiskEscalation,
)
from streams.metrics import DEFERRAL_RULES, INPUT_RESULTS, TICK_RESULTS, LoopHistogram, Metrics

INPUTS = ["acme.payments", "acme.missed-payments", "acme.contact-results"]
TICKS = "acme.clock-ticks"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labelsets(metrics: Metrics, name: str) -> set[frozenset[tuple[str, str]]]:
    return {labels for n, labels in samples(metrics) if n == name}


def started() -> Metrics:
    metrics = Metrics()
    metrics.initialise(INPUTS, TICKS)
    return metrics


def test_initialise__every_event_outcome_of_every_topic_exists_at_zero() -> None:
    metrics = started()
    expected = {
        frozenset({("topic", t), ("result", r)}) for t, r in product(INPUTS, INPUT_RESULTS)
    } | {frozenset({("topic", TICKS), ("result", r)}) for r in TICK_RESULTS}
    assert labelsets(metrics, "repayment_events_total") == expected
    assert {v for (n, _), v in samples(metrics).items() if n == "repayment_events_total"} == {0}
    assert {
        dict(ls)["topic"] for ls in labelsets(metrics, "repayment_processing_seconds_count")
    } == {
        *INPUTS,
        TICKS,
    }
    assert {dict(ls)["topic"] for ls in labelsets(metrics, "repayment_rekeyed_total")} == set(
        INPUTS
    )
    assert {
        dict(ls)["rule"] for ls in labelsets(metrics, "repayment_outreach_deferred_total")
    } == set(DEFERRAL_RULES)


def test_initialise__decisions_of_every_kind_exist_and_counting_creates_no_series() -> None:
    metrics = started()
    before = labelsets(metrics, "repayment_decisions_total")
    assert len(before) == (
        len(TIERS) * len(CHANNELS) * len(OUTREACH_REASONS)
        + len(TIERS) * len(ESCALATION_REASONS)
        + len(CHANNELS) * len(CANCEL_REASONS)
    )
    metrics.count_decision(
        RiskEscalation(
            "e-1", "cust-1", "current", "early", "up", ("dpd",), 1, Decimal("1"), "CNY", "ev", T0
        ),
        None,
    )
    metrics.count_decision(
        OutreachNeeded(
            "o-1",
            "cust-1",
            "sms",
            "early",
            4,
            "missed_payment",
            T0,
            T0,
            1,
            Decimal("1"),
            "CNY",
            "ev",
            T0,
        ),
        "quiet_hours",
    )
    metrics.count_decision(
        OutreachCancelled("o-1", "cust-1", "sms", CANCEL_REASONS[0], "ev", T0), None
    )
    after = samples(metrics)
    assert labelsets(metrics, "repayment_decisions_total") == before
    counted = {
        dict(labels)["kind"]
        for (name, labels), value in after.items()
        if name == "repayment_decisions_total" and value == 1
    }
    assert counted == {"escalation", "outreach", "cancellation"}
    assert after[("repayment_outreach_deferred_total", frozenset({("rule", "quiet_hours")}))] == 1


def test_exposition__describes_the_process_and_carries_no_customer_id() -> None:
    metrics = started()
    names = {name for name, _ in samples(metrics)}
    assert {"process_start_time_seconds", "process_resident_memory_bytes", "python_info"} <= names
    values = {v for _, labels in samples(metrics) for _, v in labels}
    assert not [v for v in values if v.startswith("cust-")]


def test_worker_state__not_ready_until_bound_then_read_at_every_scrape() -> None:
    metrics = started()
    unlabelled = frozenset[tuple[str, str]]()
    first = samples(metrics)
    assert first[("repayment_ready", unlabelled)] == 0
    assert first[("repayment_recovering", unlabelled)] == 0
    assert first[("repayment_assigned_partitions", unlabelled)] == 0

    state = {"ready": False, "remaining": (120, 7)}
    metrics.worker_state.bind(
        ready=lambda: bool(state["ready"]),
        recovering=lambda: not state["ready"],
        remaining=lambda: state["remaining"],  # type: ignore[return-value]
        partitions=lambda: 3,
    )
    recovering = samples(metrics)
    assert recovering[("repayment_recovering", unlabelled)] == 1
    assert (
        recovering[("repayment_recovery_remaining_records", frozenset({("replica", "active")}))]
        == 120
    )
    assert (
        recovering[("repayment_recovery_remaining_records", frozenset({("replica", "standby")}))]
        == 7
    )
    state.update(ready=True, remaining=(0, 0))
    ready = samples(metrics)
    assert ready[("repayment_ready", unlabelled)] == 1
    assert ready[("repayment_assigned_partitions", unlabelled)] == 3


def test_exposition__of_named_metrics_only_what_a_poller_asks_for() -> None:
    """``/metrics?name[]=...``: the bench reads one counter many times a second, and a full
    exposition would cost the worker more than the counter's readers can tolerate."""
    metrics = started()
    for names in (
        ["repayment_events_total"],
        ["repayment_customers"],
        ["repayment_assigned_partitions", "repayment_ready"],
    ):
        text = metrics.exposition(names).decode()
        families = {family.name for family in text_string_to_metric_families(text)}
        assert families == {name.removesuffix("_total") for name in names}, names
    assert len(metrics.exposition()) > 10 * len(metrics.exposition(["repayment_ready"]))


def test_loop_histogram__exposes_what_prometheus_clients_histogram_does() -> None:
    """Same buckets (``le`` inclusive), sum and count, so rules and dashboards are unchanged."""
    buckets = (0.001, 0.01, 0.1, 1)
    observations = [0.0005, 0.001, 0.001, 0.005, 0.1, 0.5, 3.0]
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopHistogram("x_seconds", "x", ["topic"], buckets=buckets, registry=ours)
    reference = Histogram("x_seconds", "x", ["topic"], buckets=buckets, registry=theirs)
    for amount in observations:
        mine.labels("t").observe(amount)
        reference.labels("t").observe(amount)

    def series(registry: CollectorRegistry) -> dict[tuple[str, frozenset[Any]], float]:
        text = generate_latest(registry).decode()
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if not s.name.endswith("_created")
        }

    assert series(ours) == series(theirs)
    unlabeled_ours = LoopHistogram("y_seconds", "y", buckets=buckets, registry=ours)
    Histogram("y_seconds", "y", buckets=buckets, registry=theirs)
    assert series(ours) == series(theirs)  # unlabeled: at zero before any observation
    unlabeled_ours.observe(0.01)
    assert series(ours)[("y_seconds_count", frozenset())] == 1
    assert series(ours)[("x_seconds_bucket", frozenset({("topic", "t"), ("le", "0.001")}))] == 3
