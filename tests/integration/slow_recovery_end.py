"""The worker, with Faust's seek at the end of table recovery followed by a pause.

Fault injection for faust-streaming issue #596: Faust resumes the input partitions, seeks
them to the committed offsets, and only afterwards clears the stream queues and ends the
rebalance. The pause (``SLOW_SEEK_SECONDS``, default 0.5) holds that window open, so input
records are fetched inside it on every run instead of on an unlucky one.
"""

from __future__ import annotations

import asyncio
import os
import runpy

from faust.transport.consumer import Consumer

_perform_seek = Consumer.perform_seek
_PAUSE = float(os.environ.get("SLOW_SEEK_SECONDS", "0.5"))


async def _slow_perform_seek(self: Consumer) -> None:
    await _perform_seek(self)
    if self.app.rebalancing:  # recovery's seek, not the consumer's own rewind
        await asyncio.sleep(_PAUSE)


Consumer.perform_seek = _slow_perform_seek  # type: ignore[method-assign]
runpy.run_module("streams.worker", run_name="__main__")
