"""The real tools the deployment tests drive, found where scripts/tools.sh puts them.

Never a skip: a missing tool fails the test with the command that installs it, because a
check that silently does not run proves nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE_BIN = Path(os.environ.get("REPAYMENT_CACHE_DIR", Path.home() / ".cache/repayment-stream"))
CACHE_BIN = CACHE_BIN / "bin"


def tool(name: str) -> str:
    """The path of ``name`` on PATH, beside this Python (a venv's console scripts) or in the
    tools cache; fails the test when absent."""
    found = (
        shutil.which(name)
        or shutil.which(name, path=str(Path(sys.executable).parent))
        or shutil.which(name, path=str(CACHE_BIN))
    )
    if found is None:
        pytest.fail(f"{name} not found: run scripts/bootstrap.sh (scripts/tools.sh installs it)")
    return found


def run(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A tool's run, never raising on its exit code: the test asserts on it."""
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
