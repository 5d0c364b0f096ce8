"""A dead-letter topic too small for the worker's dead letters stops the worker at start.

The broker would reject every dead letter above the topic's ``max.message.bytes`` and the
input behind it would be lost, so the worker refuses to start (exit 78) with the fix in its
log; once the fix is applied it starts. A dead-letter topic the worker creates itself gets
the limit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.topics import DEAD_LETTER_MAX_BYTES, MAX_MESSAGE_BYTES, read_max_message_bytes
from tests.integration.conftest import NamespaceFactory
from tests.integration.fixtures import CONTRACT_SUFFIXES, create_topics
from tests.integration.worker_fixtures import WorkerFactory, worker_env

pytestmark = pytest.mark.integration

TOO_SMALL = 1024 * 1024


async def set_max_message_bytes(bootstrap: str, topic: str, value: int) -> None:
    """What the fix command (kafka-configs.sh --alter --add-config) does."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {MAX_MESSAGE_BYTES: str(value)})]
        )
    finally:
        await admin.close()
    assert [r[0] for r in response.resources] == [0], response


async def test_dead_letter_topic_too_small__worker_refuses_to_start_naming_the_fix(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=1, create=False)
    dead_letter = ns.topic("dead-letter")
    await create_topics(
        kafka_bootstrap,
        [ns.topic(suffix) for suffix in CONTRACT_SUFFIXES],
        partitions=1,
        replication=ns.replication,
        configs={dead_letter: {MAX_MESSAGE_BYTES: str(TOO_SMALL)}},
    )
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=1,
        data_dir=tmp_path / "data",
    )
    refused = start_worker("refused", env)

    assert refused.process is not None
    assert refused.process.wait(timeout=60) == 78
    (error,) = refused.log_events("config_error")
    fix = (
        f"kafka-configs.sh --bootstrap-server {kafka_bootstrap} --alter --entity-type topics "
        f"--entity-name {dead_letter} --add-config max.message.bytes={DEAD_LETTER_MAX_BYTES}"
    )
    assert error["level"] == "critical"
    assert (error["topic"], error["max_message_bytes"], error["needed"], error["fix"]) == (
        dead_letter,
        TOO_SMALL,
        DEAD_LETTER_MAX_BYTES,
        fix,
    )
    message = str(error["msg"])
    assert f"{dead_letter} has max.message.bytes={TOO_SMALL}" in message
    assert f"at least {DEAD_LETTER_MAX_BYTES}" in message
    assert message.endswith(f"Fix: {fix}")
    assert refused.log_events("app_created") == []  # stopped before Faust was built: no consumer

    await set_max_message_bytes(kafka_bootstrap, dead_letter, DEAD_LETTER_MAX_BYTES)
    fixed = start_worker("fixed", env)
    fixed.wait_ready()
    (checked,) = fixed.log_events("dead_letter_topic_checked")
    assert checked["max_message_bytes"] == DEAD_LETTER_MAX_BYTES
    assert fixed.stop() == 0


async def test_dead_letter_topic_absent__the_worker_creates_it_with_the_limit(
    kafka_bootstrap: str,
    topic_namespace: NamespaceFactory,
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    ns = await topic_namespace(partitions=1, create=False)  # the worker declares its topics
    env = worker_env(
        bootstrap=kafka_bootstrap,
        namespace=ns.name,
        app_id=f"{ns.name}-app",
        partitions=1,
        data_dir=tmp_path / "data",
    )
    worker = start_worker("creates", env)
    worker.wait_ready()

    (checked,) = worker.log_events("dead_letter_topic_checked")
    assert checked["max_message_bytes"] is None
    found = None
    for _ in range(100):  # declared at the first assignment; the metadata may lag behind
        found = await read_max_message_bytes(kafka_bootstrap, ns.topic("dead-letter"))
        if found is not None:
            break
        await asyncio.sleep(0.1)
    assert found == DEAD_LETTER_MAX_BYTES
    assert worker.stop() == 0
