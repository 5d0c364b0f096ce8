"""The nine topics of a namespace, as raw-bytes Faust topics.

Values stay bytes on the wire side of the shell: decoding is ``schemas.decode``'s job, so a
message Faust could not deserialize never exists and every bad input reaches the dead-letter
topic with its original bytes. Inputs, clock ticks and the state table share one partition
count, so one worker owns a customer's events, ticks and state together.

The dead-letter topic must accept every dead letter the worker may write
(``DEAD_LETTER_MAX_BYTES``): the worker creates it so, and ``check_dead_letter_topic`` refuses
to start on an existing one that is too small, before anything is consumed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

import faust
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAuthorizationFailedError, UnknownTopicOrPartitionError, for_code
from faust.types import TopicT

from schemas.errors import RepaymentStreamError
from schemas.events import CONTACT_RESULTS, ERASURES, MISSED_PAYMENTS, PAYMENTS
from schemas.outputs import Decision, OutreachCancelled, OutreachNeeded
from streams.settings import Settings

CONTRACT_NAMESPACE: Final = "repayments"
MAX_MESSAGE_BYTES: Final = "max.message.bytes"
DEAD_LETTER_MAX_BYTES: Final = 8 * 1024 * 1024
"""The largest dead letter the worker may write, so the least ``max.message.bytes`` of its
dead-letter topic.

It is the producer's ``max_request_size`` (``streams.app``): aiokafka refuses, before it
reaches the broker, any record whose batch could be larger, and the worker then stops without
committing. So a dead-letter topic that takes this much takes every dead letter the worker
sends, and none is rejected by the broker and lost. The input's own limit gives no bound: a
compressed batch within an input topic's ``max.message.bytes`` can hold a larger record, and
a dead letter is up to 6 times its input (key and value travel JSON-escaped, 6 bytes per
control character, or base64, 4 per 3). Every uncompressed input up to 1.3 MiB fits, the
broker's default limit (1 MiB) included.
"""


class TopicConfigError(RepaymentStreamError):
    """An existing topic is configured so that the worker would lose messages.

    Raised at start-up, before anything is consumed; the message names the topic, the value
    found, the value needed and the command that fixes it; ``fields`` holds them for the log.
    """

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Topics:
    payments: TopicT
    missed_payments: TopicT
    contact_results: TopicT
    erasures: TopicT
    clock_ticks: TopicT
    risk_escalations: TopicT
    outreach_needed: TopicT
    outreach_cancelled: TopicT
    dead_letter: TopicT

    @property
    def inputs(self) -> tuple[TopicT, TopicT, TopicT, TopicT]:
        return (self.payments, self.missed_payments, self.contact_results, self.erasures)

    @property
    def all(self) -> tuple[TopicT, ...]:
        return (*self.inputs, self.clock_ticks, *self.outputs)

    @property
    def outputs(self) -> tuple[TopicT, TopicT, TopicT, TopicT]:
        return (
            self.risk_escalations,
            self.outreach_needed,
            self.outreach_cancelled,
            self.dead_letter,
        )

    def for_decision(self, decision: Decision) -> TopicT:
        """The output topic of a decision (its contract topic, in this namespace)."""
        if isinstance(decision, OutreachNeeded):
            return self.outreach_needed
        if isinstance(decision, OutreachCancelled):
            return self.outreach_cancelled
        return self.risk_escalations


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
        erasures=topic(suffix(ERASURES)),
        clock_ticks=topic("clock-ticks"),
        risk_escalations=topic("risk-escalations"),
        outreach_needed=topic("outreach-needed"),
        outreach_cancelled=topic("outreach-cancelled"),
        dead_letter=topic("dead-letter", {MAX_MESSAGE_BYTES: str(DEAD_LETTER_MAX_BYTES)}),
    )


def dead_letter_fix(topic: str, bootstrap_servers: str) -> str:
    """The command that gives ``topic`` the dead-letter size limit."""
    return (
        f"kafka-configs.sh --bootstrap-server {bootstrap_servers} --alter --entity-type topics "
        f"--entity-name {topic} --add-config {MAX_MESSAGE_BYTES}={DEAD_LETTER_MAX_BYTES}"
    )


def dead_letter_topic_problem(topic: str, found: int, bootstrap_servers: str) -> str | None:
    """Why a dead-letter topic whose ``max.message.bytes`` is ``found`` cannot be used, or None.

    The rule: it must take the largest dead letter the worker may write,
    ``DEAD_LETTER_MAX_BYTES``; a larger limit is fine.
    """
    if found >= DEAD_LETTER_MAX_BYTES:
        return None
    return (
        f"dead-letter topic {topic} has {MAX_MESSAGE_BYTES}={found}; it needs at least "
        f"{DEAD_LETTER_MAX_BYTES}, the largest dead letter the worker may write, or the broker "
        f"rejects the larger dead letters and they are lost. The worker does not start. "
        f"Fix: {dead_letter_fix(topic, bootstrap_servers)}"
    )


def topic_max_message_bytes(resource: tuple[Any, ...]) -> int | None:
    """``max.message.bytes`` from one resource of a DescribeConfigs answer; None: no topic.

    A resource is ``(error_code, error_message, type, name, entries)``, each entry starting
    with ``(name, value, ...)`` in every version of the answer. Not authorized to read it:
    ``TopicConfigError``; any other error: the matching ``aiokafka.errors.KafkaError``.
    """
    error_code, error_message, _type, name, entries = resource[:5]
    if error_code == UnknownTopicOrPartitionError.errno:
        return None
    if error_code == TopicAuthorizationFailedError.errno:
        raise TopicConfigError(
            f"cannot read the configuration of topic {name}: not authorized; grant this "
            "worker's principal DescribeConfigs on it, so the worker can check that it takes "
            "every dead letter"
        )
    if error_code != 0:  # the broker's trouble, not the topic's config: like no answer
        raise for_code(error_code)(f"describe_configs {name}: {error_message or ''}".strip())
    values = {entry[0]: entry[1] for entry in entries}
    if values.get(MAX_MESSAGE_BYTES) is None:
        raise TopicConfigError(f"the broker did not report {MAX_MESSAGE_BYTES} of topic {name}")
    return int(values[MAX_MESSAGE_BYTES])


async def read_max_message_bytes(bootstrap_servers: str, topic: str) -> int | None:
    """The topic's effective ``max.message.bytes`` (its own or the broker's); None: no topic."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="repayment-stream-preflight"
    )
    try:
        await admin.start()
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {MAX_MESSAGE_BYTES: None})]
        )
    finally:
        await admin.close()
    (resource,) = response.resources
    return topic_max_message_bytes(resource)


def check_dead_letter_topic(settings: Settings) -> int | None:
    """Refuse (``TopicConfigError``) an existing dead-letter topic that is too small.

    Returns the limit found, or None when the topic does not exist yet: the worker then
    creates it with ``DEAD_LETTER_MAX_BYTES``. Runs on an event loop of its own, closed
    before Faust starts. Broker errors (``aiokafka.errors.KafkaError``, ``OSError``) propagate.
    """
    topic = settings.topic("dead-letter")
    loop = asyncio.new_event_loop()
    try:
        found = loop.run_until_complete(read_max_message_bytes(settings.bootstrap_servers, topic))
    finally:
        loop.close()
    if found is not None:
        problem = dead_letter_topic_problem(topic, found, settings.bootstrap_servers)
        if problem is not None:
            raise TopicConfigError(
                problem,
                max_message_bytes=found,
                needed=DEAD_LETTER_MAX_BYTES,
                fix=dead_letter_fix(topic, settings.bootstrap_servers),
            )
    return found
