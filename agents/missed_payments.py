"""``<ns>.missed-payments``: an installment fell due and was not fully paid."""

from __future__ import annotations

from streams.consumer import App
from streams.shell import Shell


def register(app: App, shell: Shell) -> None:
    app.batch_agent(shell.topics.missed_payments, shell.process_batch)
