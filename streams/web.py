"""HTTP views of a worker: metrics, health, readiness and one customer's state.

``/customers/{id}`` is routed by Faust to the worker owning the customer's partition, so any
worker answers for any customer.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from policy.state import decode_state
from streams.lifecycle import is_ready
from streams.metrics import CONTENT_TYPE
from streams.shell import Shell
from streams.summary import customer_summary


def register(app: faust.App, shell: Shell) -> None:
    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(shell.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    @app.page("/healthz")
    class HealthView(View):
        """Alive: the web server answers (the event loop is not stuck)."""

        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok"})

    @app.page("/readyz")
    class ReadyView(View):
        async def get(self, request: Request) -> Response:
            ready, why = is_ready(app)
            return self.json({"status": why}, status=200 if ready else 503)

    @app.page("/customers/{id}")
    class CustomerView(View):
        @app.table_route(table=shell.table, match_info="id")
        async def get(self, request: Request, **kwargs: Any) -> Response:
            customer_id = request.match_info["id"]
            blob = shell.table.get(customer_id.encode())
            if blob is None:
                return self.json(
                    {"error": "unknown customer", "customer_id": customer_id}, status=404
                )
            summary = customer_summary(decode_state(blob), shell.clock.current())
            return self.json(summary)
