"""HTTP views of a worker: metrics, health, readiness and one customer's state.

``/customers/{id}`` is routed by Faust to the worker owning the customer's partition, so any
worker answers for any customer. Routing goes to the URL each worker advertises to its group
(``advertised_url``): it must reach that worker and no other, or a worker would answer from
its standby copy (or not at all) as if it owned the customer. ``served_by`` in the answer
names the worker that answered.
"""

from __future__ import annotations

import socket
from typing import Any, Final

import faust
from faust.web import Request, Response, View

from policy.state import decode_state
from streams.access import Refusal, customer_access
from streams.lifecycle import is_ready
from streams.metrics import CONTENT_TYPE
from streams.settings import Settings
from streams.shell import Shell
from streams.summary import customer_summary
from streams.tables import key_partition

WILDCARD_HOSTS: Final = ("0.0.0.0", "::", "")


def advertised_url(settings: Settings) -> str:
    """The URL other workers reach this one at.

    ``REPAYMENT_ADVERTISED_URL`` when set (Kubernetes: the pod's stable DNS name); otherwise
    the web host, or the machine's host name when the web server listens on every address:
    ``http://0.0.0.0:6066`` would be the same, unroutable, address for every worker.
    """
    if settings.advertised_url is not None:
        return settings.advertised_url
    host = settings.web_host
    if host in WILDCARD_HOSTS:
        host = socket.gethostname()
    return f"http://{host}:{settings.web_port}"


def register(app: faust.App, shell: Shell) -> None:
    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            names = request.query.getall("name[]", [])
            return self.bytes(
                shell.metrics.exposition(names), headers={"Content-Type": CONTENT_TYPE}
            )

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

    settings = shell.settings
    access = customer_access(settings.api_token, settings.api_token_file, settings.web_host)

    @app.page("/customers/{id}")
    class CustomerView(View):
        """Customer data: only with the credential (``streams.access``), checked here and
        again by the owner when Faust routes the request there (headers travel along)."""

        async def get(self, request: Request, **kwargs: Any) -> Response:
            try:
                access.check(request.headers.get("Authorization"))
            except Refusal as refusal:
                challenge = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
                return self.error(refusal.status, refusal.message, headers=challenge)
            response: Response = await self.routed(request, **kwargs)
            return response

        @app.table_route(table=shell.table, match_info="id")
        async def routed(self, request: Request, **kwargs: Any) -> Response:
            customer_id = request.match_info["id"]
            key = customer_id.encode()
            blob = shell.table.get(key)
            if blob is None:
                return self.json(
                    {"error": "unknown customer", "customer_id": customer_id}, status=404
                )
            partition = key_partition(key, shell.settings.partitions)
            state = shell.owned.settle(key, partition, decode_state(blob))
            summary = customer_summary(state, shell.clock.current())
            return self.json({**summary, "served_by": str(app.conf.canonical_url)})
