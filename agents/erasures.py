"""``<ns>.erasures``: erase a customer (pending outreach cancelled, state deleted, tombstone)."""

from __future__ import annotations

from streams.consumer import App
from streams.shell import Shell


def register(app: App, shell: Shell) -> None:
    app.batch_agent(shell.topics.erasures, shell.process_batch)
