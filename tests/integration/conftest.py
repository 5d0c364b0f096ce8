"""One real Kafka broker for the whole test session, and a fresh topic namespace per test.

``KAFKA_BOOTSTRAP_SERVERS`` set: the tests use that cluster and start nothing. Otherwise
deploy/kafka/kafka.sh starts a broker on ``TEST_KAFKA_PORT`` (default: 19092, or the next free
pair of ports when another session holds it) with its data in a temporary directory, and
stops it when the session ends (or when the session's process dies). ``TEST_KAFKA_REPLICATION``
(default 1) is the replication of the topics the tests create.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.integration.fixtures import (
    BrokerUnavailable,
    LocalBroker,
    LocalCluster,
    TopicNamespace,
    delete_topics_with_prefix,
    free_ports,
    new_namespace_name,
)
from tests.integration.worker_fixtures import start_worker

__all__ = ["start_worker"]  # the worker-subprocess fixture, shared by every worker test

NamespaceFactory = Callable[..., Awaitable[TopicNamespace]]


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    requested = os.environ.get("TEST_KAFKA_PORT")
    try:
        port = int(requested) if requested else free_ports(19092)
    except BrokerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    broker = LocalBroker(port=port, data_dir=tmp_path_factory.mktemp("kafka"))
    try:
        broker.start()
    except BrokerUnavailable as exc:
        broker.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three local KRaft nodes for fault tests; started only when a test asks for it.

    Ports from ``TEST_KAFKA_CLUSTER_PORT`` (default: the first 6 free ports from 19192).
    A test that stops or kills a node must start it again before it ends.
    """
    requested = os.environ.get("TEST_KAFKA_CLUSTER_PORT")
    try:
        base_port = int(requested) if requested else free_ports(19192, 6)
    except BrokerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    cluster = LocalCluster(base_port, 3, tmp_path_factory.mktemp("kafka-cluster"))
    try:
        cluster.start()
    except BrokerUnavailable as exc:
        cluster.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def topic_namespace(kafka_bootstrap: str) -> AsyncIterator[NamespaceFactory]:
    """``ns = await topic_namespace(partitions=3)``: a new namespace with the contract topics.

    ``create=False`` only reserves the name (for a worker that declares its own topics).
    Every topic whose name starts with a namespace made here is deleted afterwards.
    """
    made: list[TopicNamespace] = []
    replication = int(os.environ.get("TEST_KAFKA_REPLICATION", "1"))

    async def make(partitions: int = 1, *, create: bool = True) -> TopicNamespace:
        namespace = TopicNamespace(
            name=new_namespace_name(),
            bootstrap=kafka_bootstrap,
            partitions=partitions,
            replication=replication,
        )
        made.append(namespace)
        if create:
            await namespace.create()
        return namespace

    yield make
    for namespace in made:
        await delete_topics_with_prefix(kafka_bootstrap, namespace.name)
