"""One thin agent per input topic, plus the clock.

An input agent subscribes its topic and hands each partition's fetched records to
``streams.shell.Shell`` as a batch (``streams.consumer.App.batch_agent``: no Faust event per
record); the clock is a Faust agent over the tick topic. The processing rules live in the
shell and in the pure core (``policy``).
"""

from __future__ import annotations

from streams.consumer import App
from streams.shell import Shell


def register_all(app: App, shell: Shell) -> None:
    from agents import clock, contact_results, erasures, missed_payments, payments

    payments.register(app, shell)
    missed_payments.register(app, shell)
    contact_results.register(app, shell)
    erasures.register(app, shell)
    clock.register(app, shell)
