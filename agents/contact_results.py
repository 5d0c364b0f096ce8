"""``<ns>.contact-results``: the outcome of one contact attempt, from a dialer or channel."""

from __future__ import annotations

from streams.consumer import App
from streams.shell import Shell


def register(app: App, shell: Shell) -> None:
    app.batch_agent(shell.topics.contact_results, shell.process_batch)
