"""Real-broker test helpers: a local Kafka, isolated topic namespaces, JSON in and out.

Every test gets its own namespace (``t<hex>``) so tests sharing one broker never see each
other's messages; the helpers read and write through plain aiokafka clients, the way the
teams around the processor would.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from streams.topics import DEAD_LETTER_MAX_BYTES, MAX_MESSAGE_BYTES

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "deploy" / "kafka" / "kafka.sh"

CONTRACT_SUFFIXES = (
    "payments",
    "missed-payments",
    "contact-results",
    "risk-escalations",
    "outreach-needed",
    "dead-letter",
    "clock-ticks",
)

Key = str | bytes | None
Value = Mapping[str, Any] | str | bytes


class BrokerUnavailable(RuntimeError):
    """The local broker did not start: the message holds kafka.sh's own explanation."""


def run_kafka_sh(
    *args: str, env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """deploy/kafka/kafka.sh with ``env`` added; its brokers die with this process."""
    return subprocess.run(
        ["bash", str(KAFKA_SH), *args],
        env={**os.environ, **env, "KAFKA_STOP_WITH_PID": str(os.getpid())},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _checked(done: subprocess.CompletedProcess[str]) -> str:
    if done.returncode != 0:
        command = " ".join(done.args[2:])
        raise BrokerUnavailable(
            f"kafka.sh {command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


@dataclass(frozen=True)
class LocalBroker:
    """One broker started by deploy/kafka/kafka.sh for this test session."""

    port: int
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def _env(self) -> dict[str, str]:
        return {"KAFKA_PORT": str(self.port), "KAFKA_DATA_DIR": str(self.data_dir)}

    def start(self) -> None:
        _checked(run_kafka_sh("start", env=self._env))

    def stop(self) -> None:
        run_kafka_sh("stop", env=self._env, timeout=120)


@dataclass(frozen=True)
class LocalCluster:
    """A KRaft cluster of ``size`` combined nodes (quorum of ``size``) for fault tests.

    Node ``i`` (1-based) listens on ``base_port + 2 * (i - 1)``. Topics default to
    replication min(size, 3) and min.insync.replicas 2.
    """

    base_port: int
    size: int
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.base_port + 2 * i}" for i in range(self.size))

    @property
    def node_ids(self) -> list[int]:
        """The nodes' ``node.id``s (also their 1-based numbers for ``kill_node`` and co)."""
        return list(range(1, self.size + 1))

    @property
    def _env(self) -> dict[str, str]:
        return {"KAFKA_CLUSTER_PORT": str(self.base_port), "KAFKA_CLUSTER_DIR": str(self.data_dir)}

    def start(self) -> None:
        _checked(run_kafka_sh("cluster-start", str(self.size), env=self._env))

    def stop(self) -> None:
        run_kafka_sh("cluster-stop", env=self._env, timeout=180)

    def stop_node(self, node: int) -> None:
        """Controlled shutdown of one node (SIGTERM): leadership moves first."""
        _checked(run_kafka_sh("node-stop", str(node), env=self._env, timeout=120))

    def kill_node(self, node: int) -> None:
        """Crash one node (SIGKILL): no controlled shutdown, as in a host failure."""
        _checked(run_kafka_sh("node-kill", str(node), env=self._env, timeout=60))

    def start_node(self, node: int) -> None:
        """Restart one node and wait until every node is back in the metadata."""
        _checked(run_kafka_sh("node-start", str(node), env=self._env))


def free_ports(preferred: int, count: int = 2, *, attempts: int = 50) -> int:
    """The first port from ``preferred`` on (step ``count``) starting ``count`` free ports.

    A broker needs two ports (client, controller), a cluster two per node; another test
    session on the same machine may already hold the preferred ones.
    """
    for port in range(preferred, preferred + count * attempts, count):
        if all(_is_free(p) for p in range(port, port + count)):
            return port
    raise BrokerUnavailable(f"no {count} free ports in {preferred}..{preferred + count * attempts}")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def encode_value(value: Value) -> bytes:
    """A dict becomes one JSON object; str and bytes go out as they are (bad-input tests)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value)


def encode_key(key: Key) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


@dataclass(frozen=True)
class Consumed:
    """One message read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes

    def json(self) -> Any:
        return orjson.loads(self.value)


@dataclass
class TopicNamespace:
    """A unique topic prefix: ``<name>.payments`` and the other contract topics."""

    name: str
    bootstrap: str
    partitions: int
    replication: int
    created: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name

    def topic(self, suffix: str) -> str:
        return f"{self.name}.{suffix}"

    async def create(self, suffixes: Iterable[str] = CONTRACT_SUFFIXES) -> list[str]:
        """Create the topics and wait until every partition has a leader.

        The dead-letter topic gets the size limit the worker checks at start, as the worker,
        docker-compose and the Kubernetes job create it.
        """
        names = [self.topic(suffix) for suffix in suffixes]
        dead_letter = {MAX_MESSAGE_BYTES: str(DEAD_LETTER_MAX_BYTES)}
        await create_topics(
            self.bootstrap,
            names,
            self.partitions,
            self.replication,
            configs={self.topic("dead-letter"): dead_letter},
        )
        self.created.extend(names)
        return names


def new_namespace_name() -> str:
    return f"t{secrets.token_hex(5)}"


async def create_topics(
    bootstrap: str,
    names: list[str],
    partitions: int,
    replication: int,
    timeout: float = 30.0,
    *,
    assignments: Mapping[int, Sequence[int]] | None = None,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create ``names`` and wait for their leaders.

    ``assignments`` (partition -> broker ids, the first one the preferred leader, see
    ``replicas_led_by``) places every partition explicitly instead of ``replication``;
    ``configs`` holds topic configs by topic name.
    """

    def new_topic(name: str) -> NewTopic:
        topic_configs = dict((configs or {}).get(name, {}))
        if assignments is None:
            return NewTopic(name, partitions, replication, topic_configs=topic_configs)
        placed = {p: list(nodes) for p, nodes in assignments.items()}
        return NewTopic(name, -1, -1, replica_assignments=placed, topic_configs=topic_configs)

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([new_topic(name) for name in names])
        failed = [(t[0], t[1]) for t in response.topic_errors if t[1] != 0]
        if failed:
            raise KafkaError(f"create_topics failed (topic, error code): {failed}")
        await _wait_for_leaders(admin, names, partitions, timeout)
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], partitions: int, timeout: float
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        described = await admin.describe_topics(names)
        ready = all(
            topic["error_code"] == 0
            and len(topic["partitions"]) == partitions
            and all(p["leader"] >= 0 for p in topic["partitions"])
            for topic in described
        )
        if ready:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics without leaders after {timeout}s: {names}")
        await asyncio.sleep(0.1)


def replicas_led_by(
    leader: int, nodes: Sequence[int], partitions: int, replication: int
) -> dict[int, list[int]]:
    """A replica assignment in which ``leader`` is the first (preferred) replica of every
    partition; the followers rotate over the other nodes."""
    others = [n for n in nodes if n != leader]
    if replication - 1 > len(others):
        raise ValueError(f"replication {replication} needs more nodes than {list(nodes)}")
    return {
        p: [leader, *[others[(p + i) % len(others)] for i in range(replication - 1)]]
        for p in range(partitions)
    }


@dataclass(frozen=True)
class PartitionLayout:
    """Where one partition lives: its leader, replicas and in-sync replicas (broker ids)."""

    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


async def partition_layouts(
    bootstrap: str, topics: list[str]
) -> dict[str, dict[int, PartitionLayout]]:
    """Leader, replicas and ISR of every partition of ``topics`` (from the metadata)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    layouts: dict[str, dict[int, PartitionLayout]] = {}
    for topic in described:
        if topic["error_code"] != 0:
            raise KafkaError(f"describe_topics {topic['topic']}: error {topic['error_code']}")
        layouts[topic["topic"]] = {
            p["partition"]: PartitionLayout(p["leader"], tuple(p["replicas"]), tuple(p["isr"]))
            for p in topic["partitions"]
        }
    return layouts


async def topic_configs(bootstrap: str, topics: list[str]) -> dict[str, dict[str, str]]:
    """The effective configs of ``topics`` (explicit or inherited from the broker)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
        )
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for error_code, error_message, _type, name, entries in response.resources:
            if error_code != 0:
                raise KafkaError(f"describe_configs {name}: {error_code} {error_message}")
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def group_coordinator(bootstrap: str, group: str, timeout: float = 30.0) -> int:
    """The broker id coordinating ``group`` (the first ask creates ``__consumer_offsets``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                return await admin.find_coordinator(group)
            except KafkaError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def delete_topics_with_prefix(bootstrap: str, prefix: str) -> None:
    """Remove a namespace's topics, including any the worker created (changelogs)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def produce_json(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[Key, Value]],
    *,
    partition: int | None = None,
) -> list[tuple[int, int]]:
    """Send (key, value) pairs in order, acks=all; returns (partition, offset) of each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [
            await producer.send(
                topic, encode_value(value), key=encode_key(key), partition=partition
            )
            for key, value in messages
        ]
        metadata = [await future for future in sent]
    finally:
        await producer.stop()
    return [(m.partition, m.offset) for m in metadata]


async def consume(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Consumed]:
    """Read a topic from the beginning of every partition (no consumer group).

    Returns once ``count`` messages arrived, then keeps reading ``settle`` seconds more so a
    test can assert that nothing beyond ``count`` was written; returns what it has at
    ``timeout``. Messages are ordered by partition, then offset.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    got: list[Consumed] = []
    try:
        partitions = await _partitions_of(bootstrap, topic, timeout)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle_until: float | None = None
        while loop.time() < deadline and (settle_until is None or loop.time() < settle_until):
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                got.extend(
                    Consumed(r.topic, r.partition, r.offset, r.key, r.value)
                    for r in records
                    if r.value is not None
                )
            if settle_until is None and len(got) >= count:
                settle_until = loop.time() + settle
    finally:
        await consumer.stop()
    return sorted(got, key=lambda m: (m.partition, m.offset))


async def _partitions_of(bootstrap: str, topic: str, timeout: float) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            (described,) = await admin.describe_topics([topic])
            if described["error_code"] == 0 and described["partitions"]:
                ids = sorted(p["partition"] for p in described["partitions"])
                return [TopicPartition(topic, p) for p in ids]
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"topic {topic} not found after {timeout}s")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
