"""Structured logs: one JSON object per line on stderr.

Faust's and aiokafka's own records come through the same formatter, so an operator reads
start-up, recovery and rebalance progress from one stream. Our records add an ``event``
name and fields (``extra=log_event("rebalance", assigned=3)``).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any, Final, NoReturn

import orjson

_FIELDS = "repayment_fields"

EXIT_SOFTWARE: Final = 70
"""EX_SOFTWARE: the worker stopped itself on an internal error (see ``crash``)."""


def log_event(name: str, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a structured record: ``log.info("...", extra=log_event("x", n=1))``."""
    return {_FIELDS: {"event": name, **fields}}


def crash(logger: logging.Logger, message: str, exc: BaseException, **fields: Any) -> NoReturn:
    """Log ``exc`` as fatal and end the process at once, with no clean shutdown.

    A clean shutdown would commit the offsets of what was consumed so far; exiting like a
    crash commits nothing more, so a restarted worker processes the uncommitted tail again.
    """
    logger.critical(message, exc_info=exc, extra=log_event("fatal", **fields))
    logging.shutdown()
    os._exit(EXIT_SOFTWARE)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def logging_config(level: str) -> dict[str, Any]:
    """``logging.config.dictConfig`` for the worker (Faust's ``logging_config`` setting)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }
