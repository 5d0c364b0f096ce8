"""``python -m streams.healthcheck``: the container check asks the configured port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from streams import healthcheck
from streams.settings import Settings


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def worker_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:7001/x"),
        ("::", "http://[::1]:7001/x"),
        ("10.1.2.3", "http://10.1.2.3:7001/x"),
    ],
)
def test_url__asks_loopback_when_the_worker_listens_everywhere(host: str, url: str) -> None:
    assert healthcheck.url(Settings(web_host=host, web_port=7001), "/x") == url


def test_main__exit_0_on_200_and_1_otherwise(
    worker_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPAYMENT_WEB_HOST", "0.0.0.0")
    monkeypatch.setenv("REPAYMENT_WEB_PORT", str(worker_port))
    assert healthcheck.main(["/healthz"]) == 0
    assert healthcheck.main([]) == 0
    assert healthcheck.main(["/readyz"]) == 1
    monkeypatch.setenv("REPAYMENT_WEB_PORT", "not-a-port")
    assert healthcheck.main([]) == 1
