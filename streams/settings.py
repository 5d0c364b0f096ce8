"""The worker's configuration, read once from the environment into one frozen object.

Our variables (``ENV_VARS``) are the single source of truth. Faust reads its own variables
too (``BROKER_URL``, ``STORE_URL``, ``WEB_PORT``, ``APP_DATADIR``...); ``streams.app`` hands
Faust an empty environment so none of those can silently override what is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from schemas.errors import RepaymentStreamError

ClockMode = Literal["wall", "event"]
Guarantee = Literal["at_least_once", "exactly_once"]

KAFKA_BOOTSTRAP_SERVERS: Final = "KAFKA_BOOTSTRAP_SERVERS"
APP_ID: Final = "REPAYMENT_APP_ID"
TOPIC_NAMESPACE: Final = "REPAYMENT_TOPIC_NAMESPACE"
PARTITIONS: Final = "REPAYMENT_PARTITIONS"
REPLICATION: Final = "REPAYMENT_REPLICATION"
STORE: Final = "REPAYMENT_STORE"
DATA_DIR: Final = "REPAYMENT_DATA_DIR"
PROCESSING_GUARANTEE: Final = "REPAYMENT_PROCESSING_GUARANTEE"
WEB_HOST: Final = "REPAYMENT_WEB_HOST"
WEB_PORT: Final = "REPAYMENT_WEB_PORT"
POLICY_FILE: Final = "REPAYMENT_POLICY_FILE"
CLOCK: Final = "REPAYMENT_CLOCK"
TICK_SECONDS: Final = "REPAYMENT_TICK_SECONDS"
MAX_MESSAGE_BYTES: Final = "REPAYMENT_MAX_MESSAGE_BYTES"
LOG_LEVEL: Final = "REPAYMENT_LOG_LEVEL"
PRODUCER_LINGER_MS: Final = "REPAYMENT_PRODUCER_LINGER_MS"
MAX_FUTURE_HOURS: Final = "REPAYMENT_MAX_FUTURE_HOURS"
ON_PROCESSING_ERROR: Final = "REPAYMENT_ON_PROCESSING_ERROR"
ADVERTISED_URL: Final = "REPAYMENT_ADVERTISED_URL"
API_TOKEN: Final = "REPAYMENT_API_TOKEN"
API_TOKEN_FILE: Final = "REPAYMENT_API_TOKEN_FILE"

ENV_VARS: Final = (
    KAFKA_BOOTSTRAP_SERVERS,
    APP_ID,
    TOPIC_NAMESPACE,
    PARTITIONS,
    REPLICATION,
    STORE,
    DATA_DIR,
    PROCESSING_GUARANTEE,
    WEB_HOST,
    WEB_PORT,
    POLICY_FILE,
    CLOCK,
    TICK_SECONDS,
    MAX_MESSAGE_BYTES,
    LOG_LEVEL,
    PRODUCER_LINGER_MS,
    MAX_FUTURE_HOURS,
    ON_PROCESSING_ERROR,
    ADVERTISED_URL,
    API_TOKEN,
    API_TOKEN_FILE,
)

_STORES: Final = ("rocksdb://", "memory://")
_LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
_ON_ERROR: Final = ("dead_letter", "stop")


class SettingsError(RepaymentStreamError):
    """An environment variable holds a value the worker cannot run with.

    Raised at start-up, before anything connects to Kafka; fix the variable named in the
    message and start again.
    """


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the worker needs to know about its surroundings; see docs/architecture.md."""

    bootstrap_servers: str = "localhost:9092"
    app_id: str = "repayment-stream"
    topic_namespace: str = "repayments"
    partitions: int = 6
    replication: int = 1
    store: str = "rocksdb://"
    data_dir: Path = Path("./var/data")
    processing_guarantee: Guarantee = "at_least_once"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    policy_file: Path | None = None
    clock: ClockMode = "wall"
    tick_seconds: float = 3600.0
    max_message_bytes: int = 65536
    log_level: str = "info"
    producer_linger_ms: int = 5
    max_future_hours: int = 24
    on_processing_error: str = "dead_letter"
    advertised_url: str | None = None
    api_token: str | None = field(default=None, repr=False)  # never logged
    api_token_file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate every ``ENV_VARS`` name; unset or empty means the default."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        defaults = cls()
        policy_file = get(POLICY_FILE)
        return cls(
            bootstrap_servers=get(KAFKA_BOOTSTRAP_SERVERS) or defaults.bootstrap_servers,
            app_id=get(APP_ID) or defaults.app_id,
            topic_namespace=get(TOPIC_NAMESPACE) or defaults.topic_namespace,
            partitions=_int_at_least(PARTITIONS, get(PARTITIONS), defaults.partitions),
            replication=_int_at_least(REPLICATION, get(REPLICATION), defaults.replication),
            store=_choice(STORE, get(STORE), _STORES, defaults.store),
            data_dir=Path(get(DATA_DIR) or defaults.data_dir),
            processing_guarantee=_guarantee(get(PROCESSING_GUARANTEE)),
            web_host=get(WEB_HOST) or defaults.web_host,
            web_port=_port(get(WEB_PORT), defaults.web_port),
            policy_file=Path(policy_file) if policy_file else None,
            clock=_clock(get(CLOCK)),
            tick_seconds=_positive_float(TICK_SECONDS, get(TICK_SECONDS), defaults.tick_seconds),
            max_message_bytes=_int_at_least(
                MAX_MESSAGE_BYTES, get(MAX_MESSAGE_BYTES), defaults.max_message_bytes
            ),
            log_level=_choice(LOG_LEVEL, get(LOG_LEVEL), _LOG_LEVELS, defaults.log_level, True),
            producer_linger_ms=_int_at_least(
                PRODUCER_LINGER_MS, get(PRODUCER_LINGER_MS), defaults.producer_linger_ms, 0
            ),
            max_future_hours=_int_at_least(
                MAX_FUTURE_HOURS, get(MAX_FUTURE_HOURS), defaults.max_future_hours, 0
            ),
            on_processing_error=_choice(
                ON_PROCESSING_ERROR,
                get(ON_PROCESSING_ERROR),
                _ON_ERROR,
                defaults.on_processing_error,
            ),
            advertised_url=_url(ADVERTISED_URL, get(ADVERTISED_URL)),
            api_token=get(API_TOKEN),
            api_token_file=_existing_file(API_TOKEN_FILE, get(API_TOKEN_FILE)),
        )

    def topic(self, suffix: str) -> str:
        """The real topic name for a contract suffix: ``payments`` -> ``<ns>.payments``."""
        return f"{self.topic_namespace}.{suffix}"


def _existing_file(name: str, raw: str | None) -> Path | None:
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_file():
        raise SettingsError(f"{name} names no readable file: {raw!r}")
    return path


def _int_at_least(name: str, raw: str | None, default: int, minimum: int = 1) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _positive_float(name: str, raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _port(raw: str | None, default: int) -> int:
    value = _int_at_least(WEB_PORT, raw, default)
    if value > 65535:
        raise SettingsError(f"{WEB_PORT} must be a TCP port (1-65535), got {value}")
    return value


def _choice(
    name: str, raw: str | None, allowed: tuple[str, ...], default: str, fold: bool = False
) -> str:
    if raw is None:
        return default
    value = raw.lower() if fold else raw
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}; got {raw!r}")
    return value


def _url(name: str, raw: str | None) -> str | None:
    """``http(s)://host:port`` with nothing after it: what other workers send requests to."""
    if raw is None:
        return None
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise SettingsError(f"{name} must look like http://host:port, got {raw!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise SettingsError(f"{name} must be only scheme, host and port, got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _clock(raw: str | None) -> ClockMode:
    value = _choice(CLOCK, raw, ("wall", "event"), "wall", True)
    return "event" if value == "event" else "wall"


def _guarantee(raw: str | None) -> Guarantee:
    value = _choice(
        PROCESSING_GUARANTEE, raw, ("at_least_once", "exactly_once"), "at_least_once", True
    )
    if value == "exactly_once":
        raise SettingsError(
            f"{PROCESSING_GUARANTEE}=exactly_once is not supported by this release: it has not "
            "been tested against a multi-broker cluster. Use at_least_once: decisions carry "
            "deterministic ids and a re-processed event re-emits the same ids, so consumers "
            "drop repeats by id."
        )
    return "at_least_once"
