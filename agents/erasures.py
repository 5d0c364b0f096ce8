"""``<ns>.erasures``: erase a customer (pending outreach cancelled, state deleted, tombstone)."""

from __future__ import annotations

import faust
from faust.types import StreamT

from streams.shell import Shell


def register(app: faust.App, shell: Shell) -> None:
    @app.agent(shell.topics.erasures, name="erasures")
    async def erasures(stream: StreamT) -> None:
        async for event in stream.events():
            await shell.process_input(event)
