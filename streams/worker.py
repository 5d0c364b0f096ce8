"""``repayment-stream worker``: run one worker, as ``faust -A streams.app worker`` would.

Configuration comes from the environment (``streams.settings.ENV_VARS``); the only option
is ``--loglevel``, which overrides ``REPAYMENT_LOG_LEVEL``. SIGTERM/SIGINT stop the worker
cleanly (streams drained, producer flushed, offsets committed).

Before Faust starts, the worker checks that an existing dead-letter topic takes every dead
letter it may write (``streams.topics.check_dead_letter_topic``): exit 78 when it does not.
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

EXIT_CONFIG = 78  # EX_CONFIG: an environment variable or a topic config it cannot run with
EXIT_BROKER = 1  # what Faust exits with when it cannot reach the brokers at start


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

    code = check_topics(settings)
    if code is not None:
        return code

    import faust

    from streams.app import create_app
    from streams.web import advertised_url

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
            advertised_url=advertised_url(settings),
            data_dir=str(settings.data_dir),
        ),
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def check_topics(settings: Settings) -> int | None:
    """Check the existing topics the worker cannot run with; an exit code when it must not start."""
    from aiokafka.errors import KafkaError

    from streams.topics import DEAD_LETTER_MAX_BYTES, TopicConfigError, check_dead_letter_topic

    topic = settings.topic("dead-letter")
    try:
        found = check_dead_letter_topic(settings)
    except TopicConfigError as exc:
        log.critical(str(exc), extra=log_event("config_error", topic=topic, **exc.fields))
        return EXIT_CONFIG
    except (KafkaError, OSError, TimeoutError) as exc:
        log.critical(
            f"cannot check topic {topic}: the brokers did not answer ({exc!r})",
            extra=log_event("broker_unavailable", brokers=settings.bootstrap_servers),
        )
        return EXIT_BROKER
    log.info(
        "dead-letter topic checked"
        if found is not None
        else "dead-letter topic absent; the worker creates it",
        extra=log_event(
            "dead_letter_topic_checked",
            topic=topic,
            max_message_bytes=found,
            needed=DEAD_LETTER_MAX_BYTES,
        ),
    )
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
