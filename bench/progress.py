"""One updating stderr line for long benchmark steps: done, rate and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws at most twice a second on a terminal, every 10 s into a log file."""

    def __init__(
        self, label: str, total: int | None = None, *, stream: TextIO = sys.stderr
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream
        self._tty = stream.isatty()
        self._every = 0.5 if self._tty else 10.0
        self._start = time.monotonic()
        self._last = self._start
        self._width = 0

    def advance(self, n: int = 1) -> None:
        self.set(self.done + n)

    def set(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._draw(now, final=False)

    def close(self) -> float:
        """Draw the final line and return the elapsed seconds."""
        now = time.monotonic()
        self._draw(now, final=True)
        return now - self._start

    def _draw(self, now: float, *, final: bool) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done:,}"
        if self.total:
            text += f"/{self.total:,} ({100 * self.done / self.total:.0f}%)"
        text += f"  {rate:,.0f}/s  {elapsed:.1f}s"
        if self.total and not final and rate > 0:
            text += f"  ETA {max(self.total - self.done, 0) / rate:.0f}s"
        if self._tty:
            pad = max(self._width - len(text), 0)
            self._width = len(text)
            self._stream.write("\r" + text + " " * pad + ("\n" if final else ""))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
