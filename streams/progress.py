"""One progress line on stderr for long work: done, rate and ETA.

Used by ``repayment-stream whatif`` and by the benchmarks. On a terminal the line is
redrawn in place at most twice a second; into a log (or with ``in_place=False``, as
parallel runs that share a terminal pass) one line is written every 10 seconds.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

CHECK_EVERY = 64  # items between clock reads: ``advance`` is called per line on hot loops


class Progress:
    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        in_place: bool | None = None,
    ) -> None:
        self.label, self.total, self.unit, self.done = label, total, unit, 0
        self._stream = stream = stream or sys.stderr
        self._tty = stream.isatty() if in_place is None else in_place
        self._every = 0.5 if self._tty else 10.0
        self._start = self._last = time.monotonic()
        self._checked = 0

    def advance(self, n: int = 1) -> None:
        self.set(self.done + n)

    def set(self, done: int) -> None:
        self.done = done
        if done - self._checked < CHECK_EVERY:
            return
        self._checked = done
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._draw(now, final=False)

    def close(self) -> float:
        """Draw the final line; the elapsed seconds."""
        now = time.monotonic()
        self._draw(now, final=True)
        return now - self._start

    def _draw(self, now: float, *, final: bool) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done:,}"
        if self.total:
            text += f"/{self.total:,}{self.unit} ({100 * self.done / self.total:.0f}%)"
        elif self.unit:
            text += self.unit
        text += f", {rate:,.0f}/s, {elapsed:,.1f}s"
        if self.total and not final and rate > 0:
            text += f", ETA {max(self.total - self.done, 0) / rate:,.0f}s"
        if self._tty:
            self._stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
