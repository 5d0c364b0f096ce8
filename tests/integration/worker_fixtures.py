"""Workers as real subprocesses: started with an environment, scraped over HTTP, killed.

Each worker is ``python -m streams.worker`` with its own web port, app id and data dir, so
SIGKILL, restarts and rebalances are the real thing. Its structured log goes to a file the
test prints when something times out.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.fixtures import REPO_ROOT, Key, Value, encode_key, encode_value

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Samples:
    """One scrape of ``/metrics``: ``value(name, **labels)`` sums the matching series."""

    series: tuple[tuple[str, frozenset[tuple[str, str]], float], ...]

    @classmethod
    def parse(cls, text: str) -> Samples:
        found = []
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match and not line.startswith("#"):
                labels = frozenset(_LABEL.findall(match.group(3) or ""))
                found.append((match.group(1), labels, float(match.group(4))))
        return cls(tuple(found))

    def value(self, name: str, **labels: str) -> float:
        wanted = set(labels.items())
        return sum(v for n, ls, v in self.series if n == name and wanted <= ls)

    def labelsets(self, name: str) -> list[dict[str, str]]:
        return [dict(ls) for n, ls, _ in self.series if n == name]


@dataclass
class WorkerProcess:
    """``python -m streams.worker`` with ``env`` on top of the test's environment."""

    name: str
    env: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    readiness_seen: list[int] = field(default_factory=list)
    module: str = "streams.worker"  # or a fault-injecting launcher of it
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Where the test reaches the worker: its web host, loopback when it listens on all."""
        host = self.env.get("REPAYMENT_WEB_HOST", "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{self.env['REPAYMENT_WEB_PORT']}"

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in wait()/kill()
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def get(
        self, path: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, headers=dict(headers or {}))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def metrics(self) -> Samples:
        status, body = self.get("/metrics")
        assert status == 200, body
        return Samples.parse(body.decode())

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until ``/readyz`` answers 200; fails with the log tail otherwise.

        Every status answered on the way is kept in ``readiness_seen``.
        """
        started = time.monotonic()
        self.wait_until(self._ready, timeout, "ready")
        return time.monotonic() - started

    def _ready(self) -> bool:
        try:
            status = self.get("/readyz", timeout=1.0)[0]
        except OSError:
            return False
        if not self.readiness_seen or self.readiness_seen[-1] != status:
            self.readiness_seen.append(status)
        return status == 200

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.process.returncode}\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not {what} after {timeout}s\n{self.tail()}")
            time.sleep(0.05)

    def wait_for_metric(
        self, name: str, at_least: float, timeout: float = 30.0, **labels: str
    ) -> None:
        def reached() -> bool:
            try:
                return self.metrics().value(name, **labels) >= at_least
            except OSError:
                return False

        self.wait_until(reached, timeout, f"at {name}{labels} >= {at_least}")

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no leave-group; what a crash looks like."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close_log()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a clean shutdown; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._close_log()
        return int(self.process.returncode)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_events(self, event: str) -> list[dict[str, object]]:
        """Our structured log records named ``event``."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if f'"event":"{event}"' in line:
                found.append(orjson.loads(line))
        return found


def worker_env(
    *,
    bootstrap: str,
    namespace: str,
    app_id: str,
    partitions: int,
    data_dir: Path,
    store: str = "memory://",
    clock: str = "wall",
    **extra: str,
) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REPAYMENT_APP_ID": app_id,
        "REPAYMENT_TOPIC_NAMESPACE": namespace,
        "REPAYMENT_PARTITIONS": str(partitions),
        "REPAYMENT_STORE": store,
        "REPAYMENT_DATA_DIR": str(data_dir),
        "REPAYMENT_CLOCK": clock,
        "REPAYMENT_WEB_HOST": "127.0.0.1",
        "REPAYMENT_WEB_PORT": str(free_port()),
        "REPAYMENT_LOG_LEVEL": "info",
        **extra,
    }


async def produce_sequence(
    bootstrap: str, items: list[tuple[str, Key, Value]]
) -> list[tuple[int, int]]:
    """Send ``(topic, key, value)`` in order with acks=all; ``(partition, offset)`` of each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, encode_value(value), key=encode_key(key))
            for topic, key, value in items
        ]
        sent = [await future for future in futures]
    finally:
        await producer.stop()
    return [(m.partition, m.offset) for m in sent]


async def committed_offsets(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    """The consumer group's committed offsets: (topic, partition) -> next offset to read."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[WorkerFactory]:
    """``start_worker("a", env)``: a started worker, SIGKILLed at teardown if still running;
    ``module=`` runs it through a fault-injecting launcher instead."""
    started: list[WorkerProcess] = []

    def start(name: str, env: Mapping[str, str], module: str = "streams.worker") -> WorkerProcess:
        worker = WorkerProcess(name, dict(env), tmp_path / f"{name}.log", module=module).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
