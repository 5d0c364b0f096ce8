"""The worker's configuration and clock, without a broker: one source of truth, read once."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.errors import InvalidEvent
from streams.app import create_app
from streams.clock import ProcessClock, tick_slot
from streams.settings import ENV_VARS, Settings, SettingsError
from streams.shell import parse_tick
from streams.web import advertised_url

# No broker needed; kept beside the worker's other tests (they could move to tests/unit/streams).

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_settings__defaults_match_the_architecture_table() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.bootstrap_servers, settings.partitions, settings.store) == (
        "localhost:9092",
        6,
        "rocksdb://",
    )
    assert (settings.web_host, settings.web_port, settings.clock) == ("127.0.0.1", 6066, "wall")
    assert (settings.max_future_hours, settings.on_processing_error) == (24, "dead_letter")
    assert settings.advertised_url is None
    assert len(ENV_VARS) == len(set(ENV_VARS)) == 21


def test_settings__every_variable_is_read(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-secret\n")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
        "REPAYMENT_APP_ID": "rs-test",
        "REPAYMENT_TOPIC_NAMESPACE": "acme",
        "REPAYMENT_PARTITIONS": "12",
        "REPAYMENT_REPLICATION": "3",
        "REPAYMENT_STORE": "memory://",
        "REPAYMENT_DATA_DIR": "/data",
        "REPAYMENT_PROCESSING_GUARANTEE": "at_least_once",
        "REPAYMENT_WEB_HOST": "0.0.0.0",
        "REPAYMENT_WEB_PORT": "8080",
        "REPAYMENT_POLICY_FILE": "/etc/policy.toml",
        "REPAYMENT_CLOCK": "event",
        "REPAYMENT_TICK_SECONDS": "60",
        "REPAYMENT_MAX_MESSAGE_BYTES": "1024",
        "REPAYMENT_LOG_LEVEL": "DEBUG",
        "REPAYMENT_PRODUCER_LINGER_MS": "0",
        "REPAYMENT_MAX_FUTURE_HOURS": "2",
        "REPAYMENT_ON_PROCESSING_ERROR": "stop",
        "REPAYMENT_ADVERTISED_URL": "http://rs-0.rs.ns.svc.cluster.local:8080/",
        "REPAYMENT_API_TOKEN": "s3cret",
        "REPAYMENT_API_TOKEN_FILE": str(token_file),
    }
    assert set(env) == set(ENV_VARS)
    s = Settings.from_env(env)
    assert s == Settings(
        bootstrap_servers="k1:9092,k2:9092",
        app_id="rs-test",
        topic_namespace="acme",
        partitions=12,
        replication=3,
        store="memory://",
        data_dir=Path("/data"),
        processing_guarantee="at_least_once",
        web_host="0.0.0.0",
        web_port=8080,
        policy_file=Path("/etc/policy.toml"),
        clock="event",
        tick_seconds=60.0,
        max_message_bytes=1024,
        log_level="debug",
        producer_linger_ms=0,
        max_future_hours=2,
        on_processing_error="stop",
        advertised_url="http://rs-0.rs.ns.svc.cluster.local:8080",
        api_token="s3cret",
        api_token_file=token_file,
    )
    assert "s3cret" not in repr(s)
    assert s.topic("payments") == "acme.payments"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REPAYMENT_PARTITIONS", "0"),
        ("REPAYMENT_PARTITIONS", "six"),
        ("REPAYMENT_WEB_PORT", "70000"),
        ("REPAYMENT_STORE", "redis://"),
        ("REPAYMENT_CLOCK", "sundial"),
        ("REPAYMENT_TICK_SECONDS", "-1"),
        ("REPAYMENT_PROCESSING_GUARANTEE", "exactly_once"),
        ("REPAYMENT_PRODUCER_LINGER_MS", "-1"),
        ("REPAYMENT_PRODUCER_LINGER_MS", "5ms"),
        ("REPAYMENT_ADVERTISED_URL", "rs-0:6066"),
        ("REPAYMENT_ADVERTISED_URL", "http://rs-0"),
        ("REPAYMENT_ADVERTISED_URL", "http://rs-0:port"),
        ("REPAYMENT_ADVERTISED_URL", "ftp://rs-0:6066"),
        ("REPAYMENT_ADVERTISED_URL", "http://rs-0:6066/metrics"),
    ],
)
def test_settings__bad_value__refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_app__faust_environment_variables_cannot_override_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "BROKER_URL": "kafka://elsewhere:1",
        "STORE_URL": "rocksdb://",
        "WEB_PORT": "1234",
        "APP_DATADIR": "/nowhere",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "REPAYMENT_STORE": "memory://"}
    )
    conf = create_app(settings).conf
    assert [str(url) for url in conf.broker] == ["kafka://127.0.0.1:1"]
    assert (str(conf.store), conf.web_port, str(conf.datadir)) == ("memory:", 6066, "var/data")
    assert conf.producer_linger == 0.005  # REPAYMENT_PRODUCER_LINGER_MS, not Faust's variable


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"REPAYMENT_ADVERTISED_URL": "https://rs-1.rs:6066"}, "https://rs-1.rs:6066"),
        ({"REPAYMENT_WEB_HOST": "10.0.0.7", "REPAYMENT_WEB_PORT": "7000"}, "http://10.0.0.7:7000"),
        ({"REPAYMENT_WEB_HOST": "0.0.0.0"}, f"http://{socket.gethostname()}:6066"),
    ],
)
def test_app__advertises_the_url_other_workers_route_to(env: dict[str, str], url: str) -> None:
    """Never ``0.0.0.0``: every worker would advertise it, and none would be routed to."""
    settings = Settings.from_env({"REPAYMENT_STORE": "memory://", **env})
    assert advertised_url(settings) == url
    assert str(create_app(settings).conf.canonical_url) == url


def test_event_clock__is_the_largest_time_seen_and_ticks_never_run_back_on_a_partition() -> None:
    clock = ProcessClock("event")
    assert clock.for_event(T0, partition=0) == T0
    assert clock.for_event(T0 - timedelta(hours=2), partition=1) == T0  # late event: clock time
    assert clock.for_tick(T0 + timedelta(hours=2), partition=1) == T0 + timedelta(hours=2)
    assert clock.for_tick(T0 + timedelta(hours=1), partition=0) == T0 + timedelta(hours=1)
    assert clock.for_tick(T0 + timedelta(minutes=30), partition=0) == T0 + timedelta(hours=1)


def test_wall_clock__events_at_wall_time_ticks_at_their_own_time() -> None:
    clock = ProcessClock("wall", wall=lambda: T0)
    assert clock.for_event(T0 - timedelta(days=3), partition=0) == T0
    assert clock.for_tick(T0 + timedelta(hours=1), partition=1) == T0 + timedelta(hours=1)


def test_tick_slot__is_the_start_of_the_hour_for_hourly_ticks() -> None:
    assert tick_slot(T0 + timedelta(minutes=59, seconds=59), 3600) == T0
    assert tick_slot(T0 + timedelta(seconds=61), 60) == T0 + timedelta(minutes=1)


def test_parse_tick__reads_rfc3339_and_refuses_anything_else() -> None:
    assert parse_tick(b'{"at": "2026-03-01T20:00:00+08:00"}') == T0
    for raw, code in [(b"{", "invalid_json"), (b"[]", "not_an_object"), (b"{}", "missing_field")]:
        with pytest.raises(InvalidEvent) as caught:
            parse_tick(raw)
        assert caught.value.code == code
    with pytest.raises(InvalidEvent, match="offset"):
        parse_tick(b'{"at": "2026-03-01T12:00:00"}')
