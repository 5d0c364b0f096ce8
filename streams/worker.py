"""``repayment-stream worker``: run one worker, as ``faust -A streams.app worker`` would.

Configuration comes from the environment (``streams.settings.ENV_VARS``); the only option
is ``--loglevel``, which overrides ``REPAYMENT_LOG_LEVEL``. SIGTERM/SIGINT stop the worker
cleanly (streams drained, producer flushed, offsets committed).
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys

from streams import gctune
from streams.logs import log_event, logging_config
from streams.settings import Settings, SettingsError

log = logging.getLogger("repayment.worker")

EXIT_CONFIG = 78  # EX_CONFIG: the environment holds a value the worker cannot run with


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repayment-stream worker",
        description="Run the stream worker; configure it with the REPAYMENT_* variables.",
    )
    parser.add_argument(
        "--loglevel",
        "-l",
        choices=("debug", "info", "warning", "error", "critical"),
        type=str.lower,
        help="log level (default: REPAYMENT_LOG_LEVEL, else info)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"repayment-stream worker: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    level = args.loglevel or settings.log_level
    logging.config.dictConfig(logging_config(level))

    import faust

    from streams.app import create_app

    app = create_app(settings)
    worker = faust.Worker(
        app,
        loglevel=level,
        logging_config=logging_config(level),
        quiet=True,
        redirect_stdouts=False,
    )
    # Faust's terminal spinner resets the root logger to DEBUG below info, so every aiokafka
    # debug record would be built (about 4% of worker time at REPAYMENT_LOG_LEVEL=warning).
    worker.spinner = None
    gctune.tune()  # again, now that Faust and the app exist: their objects are never scanned
    log.info(
        "worker starting",
        extra=log_event(
            "worker_starting",
            pid=os.getpid(),
            web=f"http://{settings.web_host}:{settings.web_port}",
            data_dir=str(settings.data_dir),
        ),
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
