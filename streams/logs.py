"""Structured logs: one JSON object per line on stderr.

Faust's and aiokafka's own records come through the same formatter, so an operator reads
start-up, recovery and rebalance progress from one stream. Our records add an ``event``
name and fields (``extra=log_event("rebalance", assigned=3)``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

_FIELDS = "repayment_fields"


def log_event(name: str, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a structured record: ``log.info("...", extra=log_event("x", n=1))``."""
    return {_FIELDS: {"event": name, **fields}}


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
