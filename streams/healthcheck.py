"""``python -m streams.healthcheck [PATH]``: exit 0 when this worker answers PATH with 200.

For container health checks (deploy/Dockerfile, docker-compose.yml): it reads the same
``REPAYMENT_WEB_HOST``/``REPAYMENT_WEB_PORT`` as the worker, so the check follows the
configuration instead of a port written into the image. A worker listening on every address
is asked on loopback.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from streams.settings import Settings, SettingsError

TIMEOUT_SECONDS = 4.0
LOOPBACK = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}


def url(settings: Settings, path: str) -> str:
    host = LOOPBACK.get(settings.web_host, settings.web_host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.web_port}{path}"


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "/healthz"
    try:
        target = url(Settings.from_env(os.environ), path)
    except SettingsError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(target, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {target}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
