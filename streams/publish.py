"""`publish` and `tail`: put a JSONL history on the input topics, watch the decisions.

With `--ticks`, `publish` sends the exact interleaving of events and clock ticks that
`replay` uses and waits for the worker to finish each item before sending the next, so a
worker in `REPAYMENT_CLOCK=event` mode makes the same decisions, with the same ids, as
`replay` on the same file. The demo and the differential tests use it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson

from policy import default_policy
from schemas.decode import decode_input, decode_key
from schemas.encode import format_instant
from schemas.errors import InvalidEvent
from schemas.events import ERASURES
from streams.clock import tick_message
from streams.replay import EventItem, Replayer, TickItem, parse_timestamp, timeline
from streams.settings import Settings

_METRIC = re.compile(
    r"^(repayment_events_total|repayment_clock_ticks_total)(\{[^}]*\})? ([0-9.e+]+)$"
)


def scrape_progress(url: str) -> int:
    """Inputs the worker has finished: events of every result plus tick messages."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:  # noqa: S310
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match:
            total += float(match.group(3))
    return int(total)


async def wait_for_progress(url: str, target: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = await asyncio.to_thread(scrape_progress, url)
        if done >= target:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker at {url} finished {done} of {target} inputs")
        await asyncio.sleep(0.01)


def expected_inputs(item: EventItem) -> int:
    """A message with a wrong key is counted twice: once re-keyed, once processed."""
    decoded = item.decoded
    if isinstance(decoded, InvalidEvent):
        return 1
    return 1 if decode_key(item.key) == decoded.header.customer_id else 2


async def publish_history(
    settings: Settings,
    lines: Iterable[str],
    *,
    until: datetime | None = None,
    ticks: bool = False,
    worker_url: str | None = None,
) -> int:
    """Publish a replay log; returns the number of messages sent."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    sent = 0
    baseline = await asyncio.to_thread(scrape_progress, worker_url) if ticks and worker_url else 0
    target = baseline
    try:
        pending_ticks = False
        shadow = Replayer(default_policy())  # ticks move only for inputs the core accepts
        for item in timeline(lines, until if ticks else None, accept=shadow.accepts):
            shadow.feed(item)
            if isinstance(item, TickItem):
                if not ticks:
                    continue
                for partition in range(settings.partitions):
                    await producer.send(
                        settings.topic("clock-ticks"), tick_message(item.at), partition=partition
                    )
                    sent += 1
                target += settings.partitions
                pending_ticks = True
                continue
            if pending_ticks and worker_url:
                await producer.flush()
                await wait_for_progress(worker_url, target)
                pending_ticks = False
            topic = settings.topic(item.topic.removeprefix("repayments."))
            await producer.send(topic, item.raw, key=item.key)
            sent += 1
            if ticks and worker_url:
                target += expected_inputs(item)
                await producer.flush()
                await wait_for_progress(worker_url, target)
        await producer.flush()
        if pending_ticks and worker_url:
            await wait_for_progress(worker_url, target)
    finally:
        await producer.stop()
    return sent


def erasure_request(customer_id: str, event_id: str, at: datetime) -> bytes:
    """A well-formed ``repayments.erasures`` value (the common fields only); checked by the
    decoder here, so an operator's typo never reaches the topic."""
    value = orjson.dumps(
        {"event_id": event_id, "customer_id": customer_id, "occurred_at": format_instant(at)}
    )
    decode_input(ERASURES, value)  # InvalidEvent names the field at fault
    return value


async def publish_erasure(settings: Settings, customer_id: str, event_id: str) -> None:
    """One erasure request, keyed by the customer (acks=all)."""
    from aiokafka import AIOKafkaProducer

    value = erasure_request(customer_id, event_id, datetime.now(UTC))
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("erasures"), value, key=customer_id.encode())
    finally:
        await producer.stop()


def erase_main(args: argparse.Namespace) -> int:
    import os
    import uuid

    settings = Settings.from_env(os.environ)
    event_id = args.event_id or f"erase-{uuid.uuid4()}"
    try:
        asyncio.run(publish_erasure(settings, args.customer_id, event_id))
    except InvalidEvent as error:
        print(f"erase: not a valid request: {error}", file=sys.stderr)
        return 2
    print(
        f"erase: request {event_id} for the customer sent to {settings.topic('erasures')}",
        file=sys.stderr,
    )
    return 0


def main(args: argparse.Namespace) -> int:
    import os

    settings = Settings.from_env(os.environ)
    until = parse_timestamp(args.until) if args.until else None
    with open(args.input, encoding="utf-8") as source:
        sent = asyncio.run(
            publish_history(
                settings, source, until=until, ticks=args.ticks, worker_url=args.worker_url
            )
        )
    print(f"publish: {sent} messages sent to {settings.bootstrap_servers}", file=sys.stderr)
    return 0


def describe(topic: str, value: dict[str, object]) -> str:
    """One human line per decision, for the demo and for operators."""
    customer = value.get("customer_id", "?")
    if topic.endswith("risk-escalations"):
        reasons = ",".join(value["reasons"])  # type: ignore[arg-type]
        return (
            f"{value['decided_at']}  {customer:<10} ESCALATION {value['from_tier']} -> "
            f"{value['to_tier']} ({reasons}) dpd={value['days_past_due']} "
            f"overdue={value['overdue_amount']} {value['currency']}"
        )
    if topic.endswith("outreach-cancelled"):
        return (
            f"{value['decided_at']}  {customer:<10} CANCELLED  {value['outreach_id'][:8]} via "
            f"{value['channel']} ({value['reason']})"
        )
    if topic.endswith("outreach-needed"):
        return (
            f"{value['decided_at']}  {customer:<10} OUTREACH   {value['reason']} via "
            f"{value['channel']} p{value['priority']} not_before={value['not_before']} "
            f"tier={value['tier']}"
        )
    error = value.get("error", {})
    return (
        f"{'':20}  {str(value.get('key')):<10} DEAD LETTER {error.get('code')} "  # type: ignore[union-attr]
        f"({error.get('field') or '-'}) from {value.get('source_topic')} "  # type: ignore[union-attr]
        f"offset {value.get('offset')}"
    )


def as_replay_line(settings: Settings, topic: str, key: bytes | None, value: bytes) -> bytes:
    """The replay command's output shape, with the contract's topic name."""
    name = "repayments." + topic.removeprefix(settings.topic_namespace + ".")
    return orjson.dumps(
        {"topic": name, "key": None if key is None else key.decode(), "value": orjson.loads(value)}
    )


async def tail(
    settings: Settings, idle_seconds: float | None, from_beginning: bool, as_json: bool = False
) -> int:
    from aiokafka import AIOKafkaConsumer

    topics = [
        settings.topic(t)
        for t in ("risk-escalations", "outreach-needed", "outreach-cancelled", "dead-letter")
    ]
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    last = time.monotonic()
    try:
        while idle_seconds is None or time.monotonic() - last < idle_seconds:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if as_json:
                        line = as_replay_line(settings, record.topic, record.key, record.value)
                        sys.stdout.buffer.write(line + b"\n")
                        sys.stdout.buffer.flush()
                    else:
                        print(describe(record.topic, orjson.loads(record.value)), flush=True)
                    seen += 1
                    last = time.monotonic()
    finally:
        await consumer.stop()
    return seen


def comparable(line: bytes) -> bytes:
    """A decision line as replay and a worker both write it.

    Replay numbers dead letters by line within its one log; Kafka by partition and offset.
    Those two fields are where the message sat, not what was decided, so they are dropped.
    """
    entry = orjson.loads(line)
    if entry["topic"].endswith("dead-letter"):
        entry["value"] = {
            k: v for k, v in entry["value"].items() if k not in ("partition", "offset")
        }
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def compare_main(args: argparse.Namespace) -> int:
    """Exit 0 when two decision logs hold the same messages, in any order."""
    logs = []
    for path in (args.expected, args.actual):
        with open(path, "rb") as source:
            logs.append(sorted(comparable(x) for x in source if x.strip()))
    expected, actual = logs
    if expected == actual:
        print(f"identical: {len(expected)} messages, same ids, same content", file=sys.stderr)
        return 0
    missing = [x for x in expected if x not in set(actual)]
    extra = [x for x in actual if x not in set(expected)]
    print(
        f"DIFFERENT: {len(missing)} expected messages missing, {len(extra)} unexpected",
        file=sys.stderr,
    )
    for x in (missing + extra)[:10]:
        print(("- " if x in missing else "+ ") + x.decode(), file=sys.stderr)
    return 1


def tail_main(args: argparse.Namespace) -> int:
    import os

    settings = Settings.from_env(os.environ)
    seen = asyncio.run(tail(settings, args.seconds, args.from_beginning, args.json))
    print(f"tail: {seen} decisions and dead letters", file=sys.stderr)
    return 0
