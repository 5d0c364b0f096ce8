"""The seven topics of a namespace, as raw-bytes Faust topics.

Values stay bytes on the wire side of the shell: decoding is ``schemas.decode``'s job, so a
message Faust could not deserialize never exists and every bad input reaches the dead-letter
topic with its original bytes. Inputs, clock ticks and the state table share one partition
count, so one worker owns a customer's events, ticks and state together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import faust
from faust.types import TopicT

from schemas.events import CONTACT_RESULTS, MISSED_PAYMENTS, PAYMENTS
from streams.settings import Settings

CONTRACT_NAMESPACE: Final = "repayments"
DEAD_LETTER_MAX_BYTES: Final = 8 * 1024 * 1024
"""A dead letter holds the original bytes, JSON-escaped or base64 (up to ~2x a 1 MB input)."""


@dataclass(frozen=True, slots=True)
class Topics:
    payments: TopicT
    missed_payments: TopicT
    contact_results: TopicT
    clock_ticks: TopicT
    risk_escalations: TopicT
    outreach_needed: TopicT
    dead_letter: TopicT

    @property
    def inputs(self) -> tuple[TopicT, TopicT, TopicT]:
        return (self.payments, self.missed_payments, self.contact_results)

    @property
    def all(self) -> tuple[TopicT, ...]:
        return (*self.inputs, self.clock_ticks, *self.outputs)

    @property
    def outputs(self) -> tuple[TopicT, TopicT, TopicT]:
        return (self.risk_escalations, self.outreach_needed, self.dead_letter)


def contract_topic(settings: Settings, topic_name: str) -> str:
    """Map ``<ns>.payments`` back to the contract's ``repayments.payments``."""
    prefix = settings.topic_namespace + "."
    if not topic_name.startswith(prefix):
        raise ValueError(f"topic {topic_name!r} is outside namespace {settings.topic_namespace!r}")
    return f"{CONTRACT_NAMESPACE}.{topic_name[len(prefix) :]}"


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    """Declare the namespace's topics on ``app``; Faust creates missing ones at start-up."""

    def topic(suffix: str, config: dict[str, str] | None = None) -> TopicT:
        return app.topic(
            settings.topic(suffix),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
            replicas=settings.replication,
            internal=True,
            config=config,
        )

    def suffix(contract_name: str) -> str:
        return contract_name.removeprefix(CONTRACT_NAMESPACE + ".")

    return Topics(
        payments=topic(suffix(PAYMENTS)),
        missed_payments=topic(suffix(MISSED_PAYMENTS)),
        contact_results=topic(suffix(CONTACT_RESULTS)),
        clock_ticks=topic("clock-ticks"),
        risk_escalations=topic("risk-escalations"),
        outreach_needed=topic("outreach-needed"),
        dead_letter=topic("dead-letter", {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}),
    )
