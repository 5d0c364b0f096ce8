"""A bench app in a child process that measures itself and writes its result to a file.

``floor`` (a Faust agent) and ``peer`` (quixstreams) run this way: each is a consuming
process of its own, like the worker, so its CPU time is its own; it writes a JSON result
(at least ``events``, ``seconds``, ``cpu_seconds``) to the path in ``result_variable`` and
exits. Its stdout and stderr go to ``<workdir>/<name>.log``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson


async def run_child(
    workdir: Path,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    result_variable: str,
    timeout: float,
) -> dict[str, Any]:
    """Run ``python <argv>`` with ``env`` added to ours; return the result it wrote."""
    workdir.mkdir(parents=True, exist_ok=True)
    result_path = workdir / f"{name}.json"
    result_path.unlink(missing_ok=True)
    log_path = workdir / f"{name}.log"
    full_env = {**os.environ, **env, result_variable: str(result_path)}
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *argv, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            await asyncio.wait_for(proc.wait(), timeout=timeout)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    if not result_path.exists():
        raise RuntimeError(
            f"{name} ended without a result (exit {proc.returncode}); see {log_path}"
        )
    result: dict[str, Any] = orjson.loads(result_path.read_bytes())
    return result
