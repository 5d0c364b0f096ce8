"""One worker subprocess under test: start, readiness, metrics, RSS, CPU time, stop.

The worker runs exactly as in production (``python -m streams worker``), configured only
through its environment; every bench worker gets its own app id, namespace, data dir and
web port so runs never share state.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    bootstrap: str
    app_id: str
    namespace: str
    store: str  # "memory" or "rocksdb"
    data_dir: Path
    partitions: int
    clock: str = "event"
    log_path: Path | None = None
    command: tuple[str, ...] = ()  # default: this interpreter, ``-m streams worker``
    env: tuple[tuple[str, str], ...] = ()  # ``--worker-env``: applied last


class WorkerProcess:
    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._http: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "worker not started"
        return self.proc.pid

    def environment(self) -> dict[str, str]:
        spec = self.spec
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("REPAYMENT_", "KAFKA_", "F_", "FAUST_"))
        }
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=spec.bootstrap,
            REPAYMENT_APP_ID=spec.app_id,
            REPAYMENT_TOPIC_NAMESPACE=spec.namespace,
            REPAYMENT_PARTITIONS=str(spec.partitions),
            REPAYMENT_STORE=f"{spec.store}://",
            REPAYMENT_DATA_DIR=str(spec.data_dir),
            REPAYMENT_WEB_PORT=str(self.port),
            REPAYMENT_CLOCK=spec.clock,
            REPAYMENT_LOG_LEVEL="info",  # the default; "warning" makes Faust log at DEBUG
            PYTHONUNBUFFERED="1",
        )
        env.update(spec.env)
        return env

    def start(self) -> None:
        self.spec.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.spec.log_path or self.spec.data_dir / "worker.log"
        log = log_path.open("ab")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            list(self.spec.command or (sys.executable, "-m", "streams", "worker")),
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    async def _get(self, path: str) -> tuple[int, str]:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        async with self._http.get(f"http://127.0.0.1:{self.port}{path}") as response:
            return response.status, await response.text()

    async def wait_ready(self, timeout: float = 600.0) -> float:
        """Seconds from ``start()`` until ``/readyz`` answers 200."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.check_alive()
            if await self.is_ready():
                return time.perf_counter() - self.started_at
            await asyncio.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout:.0f}s (log: {self.spec.data_dir})")

    async def is_ready(self) -> bool:
        try:
            status, _ = await self._get("/readyz")
        except (aiohttp.ClientError, TimeoutError):
            return False
        return status == 200

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"worker exited with {self.proc.returncode}; see {self.spec.data_dir}/worker.log"
            )

    async def events_total(self) -> float:
        """Sum of ``repayment_events_total`` over all input topics and results."""
        return await self.metric_sum("repayment_events_total")

    async def metric_sum(self, name: str) -> float:
        """Sum of every series of one metric on ``/metrics`` (0 when it has none)."""
        status, text = await self._get(f"/metrics?name[]={name}")
        if status != 200:
            return 0.0
        prefix = name + "{"
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(prefix) or line.startswith(name + " ")
        )

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) from ``/proc/<pid>/status``, in KiB."""
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(rest.split()[0])
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    async def stop(self, timeout: float = 60.0) -> float:
        """SIGTERM (clean shutdown: commit, flush), SIGKILL after ``timeout``; returns seconds."""
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)
        return time.perf_counter() - started


class WorkerGroup:
    """Workers of one consumer group watched as one (``bench.drive.drain``): their events
    and CPU time summed, the group's committed offsets under the first one's app id."""

    def __init__(self, workers: Sequence[WorkerProcess]) -> None:
        if not workers or len({w.spec.app_id for w in workers}) != 1:
            raise ValueError("a group needs workers of one app id")
        self.workers = tuple(workers)
        self.spec = self.workers[0].spec

    def check_alive(self) -> None:
        for worker in self.workers:
            worker.check_alive()

    async def events_each(self) -> list[float]:
        return list(await asyncio.gather(*(w.events_total() for w in self.workers)))

    async def events_total(self) -> float:
        return sum(await self.events_each())

    def cpu_seconds(self) -> float:
        return sum(w.cpu_seconds() for w in self.workers)

    async def ready_each(self) -> list[bool]:
        """Whether each worker's ``/readyz`` answers 200 now."""
        return list(await asyncio.gather(*(w.is_ready() for w in self.workers)))
