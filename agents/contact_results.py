"""``<ns>.contact-results``: the outcome of one contact attempt, from a dialer or channel."""

from __future__ import annotations

import faust
from faust.types import StreamT

from streams.shell import Shell


def register(app: faust.App, shell: Shell) -> None:
    @app.agent(shell.topics.contact_results, name="contact-results")
    async def contact_results(stream: StreamT) -> None:
        async for event in stream.events():
            await shell.process_input(event)
