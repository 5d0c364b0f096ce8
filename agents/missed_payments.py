"""``<ns>.missed-payments``: an installment fell due and was not fully paid."""

from __future__ import annotations

import faust
from faust.types import StreamT

from streams.shell import Shell


def register(app: faust.App, shell: Shell) -> None:
    @app.agent(shell.topics.missed_payments, name="missed-payments")
    async def missed_payments(stream: StreamT) -> None:
        async for event in stream.events():
            await shell.process_input(event)
