"""``<ns>.payments``: a payment received, decided by the core for its customer."""

from __future__ import annotations

from streams.consumer import App
from streams.shell import Shell


def register(app: App, shell: Shell) -> None:
    app.batch_agent(shell.topics.payments, shell.process_batch)
