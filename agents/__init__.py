"""One thin Faust agent per input topic, plus the clock.

Each agent only iterates its stream and hands every event to ``streams.shell.Shell``; the
processing rules live there and in the pure core (``policy``).
"""

from __future__ import annotations

import faust

from streams.shell import Shell


def register_all(app: faust.App, shell: Shell) -> None:
    from agents import clock, contact_results, erasures, missed_payments, payments

    payments.register(app, shell)
    missed_payments.register(app, shell)
    contact_results.register(app, shell)
    erasures.register(app, shell)
    clock.register(app, shell)
