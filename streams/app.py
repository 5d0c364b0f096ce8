"""The Faust app: topics, the customer table, the agents, the clock, the web views.

``create_app(settings)`` wires one app from explicit settings (tests build several). For
the ``faust -A streams.app worker`` convention the module also exposes ``app``, built on
first access from the process environment.

Faust reads its own environment variables (``BROKER_URL``, ``STORE_URL``, ``WEB_PORT``,
``APP_DATADIR``, any ``APP_ENV_PREFIX``...) and lets them override constructor arguments.
We hand it an empty environment (``env={}``): ``streams.settings.ENV_VARS`` is the only
configuration a deployment has.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import faust

from policy import Policy, default_policy, load_policy
from streams.clock import ProcessClock
from streams.consumer import App, PartitionStore
from streams.logs import log_event, logging_config
from streams.metrics import Metrics
from streams.outbox import Outbox
from streams.settings import Settings
from streams.shell import Shell
from streams.tables import OwnedCustomers, customer_table
from streams.topics import DEAD_LETTER_MAX_BYTES, declare_topics
from streams.web import advertised_url

log = logging.getLogger("repayment.app")

SESSION_TIMEOUT_SECONDS = 30.0
"""A crashed worker's partitions move after this long (Faust's default is 60 s)."""


def load_configured_policy(settings: Settings) -> Policy:
    return default_policy() if settings.policy_file is None else load_policy(settings.policy_file)


def create_app(settings: Settings, policy: Policy | None = None) -> faust.App:
    """One worker's app; ``app.repayment`` holds the ``Shell`` the agents use."""
    app = App(
        settings.app_id,
        env={},
        broker=f"kafka://{settings.bootstrap_servers}",
        store=settings.store,
        datadir=str(settings.data_dir),
        processing_guarantee=settings.processing_guarantee,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        topic_allow_declare=True,
        table_standby_replicas=1,
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        # acks=all: a write is acknowledged once every in-sync replica has it (with the
        # topics' min.insync.replicas 2 of 3, a leader crash loses no acknowledged record).
        # Faust's default, pinned. aiokafka keeps one request in flight per partition, so its
        # retries keep the order; a retried record may be written twice, same decision id.
        producer_acks=-1,
        producer_max_request_size=DEAD_LETTER_MAX_BYTES,
        producer_linger=settings.producer_linger_ms / 1000,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        canonical_url=advertised_url(settings),
        logging_config=logging_config(settings.log_level),
        autodiscover=False,
    )
    topics = declare_topics(app, settings)
    table = customer_table(app, settings)
    owned = OwnedCustomers()
    store = PartitionStore(table)
    shell = Shell(
        settings=settings,
        policy=policy if policy is not None else load_configured_policy(settings),
        topics=topics,
        table=table,
        store=store,
        metrics=Metrics(owned),
        clock=ProcessClock(settings.clock),
        owned=owned,
        outbox=Outbox(app, table, store),
    )
    app.repayment = shell  # type: ignore[attr-defined]
    app.after_drain.append(shell.outbox.persist_offsets)  # before stores close partitions

    from agents import register_all
    from streams import lifecycle, web

    register_all(app, shell)
    lifecycle.register(app, shell)
    web.register(app, shell)
    log.info(
        "app created",
        extra=log_event(
            "app_created",
            app_id=settings.app_id,
            brokers=settings.bootstrap_servers,
            namespace=settings.topic_namespace,
            partitions=settings.partitions,
            store=settings.store,
            clock=settings.clock,
            guarantee=settings.processing_guarantee,
        ),
    )
    return app


_app: faust.App | None = None


def __getattr__(name: str) -> Any:
    """``streams.app.app``: built once, on first use, from ``os.environ``."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_app(Settings.from_env(os.environ))
    return _app
