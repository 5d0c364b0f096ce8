"""``<ns>.payments``: a payment received, decided by the core for its customer."""

from __future__ import annotations

import faust
from faust.types import StreamT

from streams.shell import Shell


def register(app: faust.App, shell: Shell) -> None:
    @app.agent(shell.topics.payments, name="payments")
    async def payments(stream: StreamT) -> None:
        async for event in stream.events():
            await shell.process_input(event)
