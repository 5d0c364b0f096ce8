"""The deployment files agree with the code and with each other.

docker-compose.yml, the Kubernetes manifests, Prometheus and Grafana all repeat names the code
owns (environment variables, ports, metric names, the Kafka version): these tests fail when
one side changes without the other.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.metrics import Metrics
from streams.settings import ENV_VARS, Settings
from streams.topics import DEAD_LETTER_MAX_BYTES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
WEB_PORT = Settings().web_port
METRIC_NAME = re.compile(r"\b(?:repayment|process)_[a-z_]+\b")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all_yaml(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


@pytest.fixture(scope="module")
def worker_env(services: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in services["worker"]["environment"].items()}


@pytest.fixture(scope="module")
def k8s_docs() -> dict[str, dict[str, Any]]:
    docs = [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in load_all_yaml(path)]
    return {doc["kind"]: doc for doc in docs}


def pinned_kafka_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(DEPLOY / "kafka" / "pom.xml").find("m:properties/m:kafka.version", ns)
    assert version is not None and version.text
    return version.text


def exported_metric_names() -> set[str]:
    """Every sample name the worker's /metrics can expose (suffixes included)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {
        family.name + suffix
        for family in Metrics().registry.collect()
        for suffix in suffixes[family.type]
    }


def host_ports(service: dict[str, Any]) -> dict[int, int]:
    """Published ports as {host port: container port}."""
    pairs = (str(p).split(":")[-2:] for p in service.get("ports", []))
    return {int(host): int(container) for host, container in pairs}


def test_compose__runs_kafka_worker_prometheus_and_grafana(services: dict[str, Any]) -> None:
    assert {"kafka", "worker", "prometheus", "grafana"} <= services.keys()


def test_compose__worker_env_names_are_settings_names(worker_env: dict[str, str]) -> None:
    assert set(worker_env) <= set(ENV_VARS)
    assert Settings.from_env(worker_env).web_port == WEB_PORT


def test_compose__worker_serves_its_web_port_beyond_loopback(
    services: dict[str, Any], worker_env: dict[str, str]
) -> None:
    assert worker_env["REPAYMENT_WEB_PORT"] == str(WEB_PORT) == "6066"
    assert worker_env["REPAYMENT_WEB_HOST"] == "0.0.0.0"
    assert host_ports(services["worker"]) == {WEB_PORT: WEB_PORT}


def test_compose__kafka_answers_workers_and_host_on_9092(
    services: dict[str, Any], worker_env: dict[str, str]
) -> None:
    kafka = services["kafka"]["environment"]
    assert worker_env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert "kafka:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert "localhost:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    published = host_ports(services["kafka"])
    assert 9092 in published
    assert f":{published[9092]}" in kafka["KAFKA_LISTENERS"]


def test_compose__kafka_image_is_the_pinned_version(services: dict[str, Any]) -> None:
    version = pinned_kafka_version()
    assert services["kafka"]["image"] == f"apache/kafka:{version}"
    assert services["topics"]["image"] == f"apache/kafka:{version}"


def test_compose__topics_are_created_as_the_worker_expects(
    services: dict[str, Any], worker_env: dict[str, str]
) -> None:
    topics = services["topics"]["environment"]
    assert topics["NAMESPACE"] == worker_env["REPAYMENT_TOPIC_NAMESPACE"]
    assert topics["PARTITIONS"] == worker_env["REPAYMENT_PARTITIONS"]
    assert topics["REPLICATION"] == worker_env["REPAYMENT_REPLICATION"]
    assert services["worker"]["depends_on"]["topics"]["condition"] == (
        "service_completed_successfully"
    )


CONTRACT_SUFFIXES = (
    "payments",
    "missed-payments",
    "contact-results",
    "erasures",
    "clock-ticks",
    "risk-escalations",
    "outreach-needed",
    "outreach-cancelled",
    "dead-letter",
)


def run_topic_script(script: str, env: dict[str, str], tmp_path: Path) -> list[list[str]]:
    """Run a topic-creating script against stub Kafka tools; every tool call's arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in ("kafka-topics.sh", "kafka-configs.sh"):
        stub = bin_dir / tool
        stub.write_text(
            '#!/bin/bash\n{ printf %s "$(basename "$0")"; printf "\\t%s" "$@"; echo; }'
            f" >> {calls}\n"
        )
        stub.chmod(0o755)
    assert "/opt/kafka/bin/" in script
    subprocess.run(
        ["bash", "-c", script.replace("/opt/kafka/bin/", f"{bin_dir}/")],
        env={"PATH": os.environ["PATH"], **env},
        check=True,
        timeout=30,
    )
    return [line.split("\t") for line in calls.read_text().splitlines()]


def option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def assert_creates_the_topics_with_the_dead_letter_limit(
    calls: list[list[str]], bootstrap: str, env: dict[str, str]
) -> None:
    """Every contract topic co-partitioned; the dead-letter topic with its size limit, also
    set on an existing one (``--if-not-exists`` leaves an existing topic as it is)."""
    namespace, partitions, replication = env["NAMESPACE"], env["PARTITIONS"], env["REPLICATION"]
    limit = f"max.message.bytes={DEAD_LETTER_MAX_BYTES}"
    created = {option(c, "--topic"): c for c in calls if c[0] == "kafka-topics.sh"}
    assert set(created) == {f"{namespace}.{suffix}" for suffix in CONTRACT_SUFFIXES}
    for name, call in created.items():
        assert "--create" in call and "--if-not-exists" in call
        assert option(call, "--bootstrap-server") == bootstrap
        assert (option(call, "--partitions"), option(call, "--replication-factor")) == (
            partitions,
            replication,
        )
        configs = [v for k, v in zip(call, call[1:], strict=False) if k == "--config"]
        assert configs == ([limit] if name == f"{namespace}.dead-letter" else [])
    (altered,) = [c for c in calls if c[0] == "kafka-configs.sh"]
    assert "--alter" in altered and option(altered, "--bootstrap-server") == bootstrap
    assert (option(altered, "--entity-type"), option(altered, "--entity-name")) == (
        "topics",
        f"{namespace}.dead-letter",
    )
    assert option(altered, "--add-config") == limit


def test_compose__topic_init_gives_the_dead_letter_topic_its_size_limit(
    services: dict[str, Any], tmp_path: Path
) -> None:
    topics = services["topics"]
    env = {k: str(v) for k, v in topics["environment"].items()}
    assert env["DEAD_LETTER_MAX_BYTES"] == str(DEAD_LETTER_MAX_BYTES)
    assert topics["entrypoint"] == ["/bin/bash", "-c"]
    (script,) = topics["command"]
    calls = run_topic_script(script.replace("$$", "$"), env, tmp_path)  # compose's escaping
    assert_creates_the_topics_with_the_dead_letter_limit(calls, "kafka:9092", env)


def test_k8s__topics_job_creates_the_topics_the_workers_expect_with_the_dead_letter_limit(
    k8s_docs: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    data = k8s_docs["ConfigMap"]["data"]
    pod = k8s_docs["Job"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"apache/kafka:{pinned_kafka_version()}"
    assert container["envFrom"] == [
        {"configMapRef": {"name": k8s_docs["ConfigMap"]["metadata"]["name"]}}
    ]
    own = {e["name"]: e["value"] for e in container["env"]}
    assert own == {"DEAD_LETTER_MAX_BYTES": str(DEAD_LETTER_MAX_BYTES)}
    assert container["command"] == ["/bin/bash", "-c"]
    (script,) = container["args"]
    assert "$(" not in script  # kubelet would expand $(VAR) itself
    calls = run_topic_script(script, {**data, **own}, tmp_path)
    expected = {
        "NAMESPACE": data["REPAYMENT_TOPIC_NAMESPACE"],
        "PARTITIONS": data["REPAYMENT_PARTITIONS"],
        "REPLICATION": data["REPAYMENT_REPLICATION"],
    }
    assert_creates_the_topics_with_the_dead_letter_limit(
        calls, data["KAFKA_BOOTSTRAP_SERVERS"], expected
    )


def test_prometheus__scrapes_the_worker_service_on_its_web_port(
    services: dict[str, Any],
) -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (target,) = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in services and int(port) == WEB_PORT
    mounts = services["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts
    # Relative to the config file: /etc/prometheus/rules.yml in compose, and promtool or
    # scripts/prometheus.sh find it beside the file here.
    assert config["rule_files"] == ["rules.yml"]
    assert (DEPLOY / "prometheus" / "rules.yml").is_file()


def test_prometheus_rules__cover_the_operational_alerts_with_real_metrics() -> None:
    rules = [
        r for g in load_yaml(DEPLOY / "prometheus" / "rules.yml")["groups"] for r in g["rules"]
    ]
    assert {r["alert"] for r in rules} == {
        "RepaymentWorkerDown",
        "RepaymentWorkerCrashLooping",
        "RepaymentConsumerLagGrowing",
        "RepaymentConsumerStalled",
        "RepaymentDeadLetters",
        "RepaymentNoClockTicks",
        "RepaymentProcessingSlow",
        "RepaymentProcessingErrors",
        "RepaymentRebalanceStorm",
        "RepaymentRecoveryNotFinishing",
    }
    used = {name for r in rules for name in METRIC_NAME.findall(r["expr"])}
    assert used <= exported_metric_names()
    assert "process_start_time_seconds" in used  # restarts: the crash-loop alert
    assert all(r["annotations"]["summary"] and r["annotations"]["description"] for r in rules)


def test_grafana__dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads(
        (DEPLOY / "grafana" / "dashboards" / "repayment-stream.json").read_text()
    )
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    assert used <= exported_metric_names()
    assert {
        "repayment_events_total",
        "repayment_decisions_total",
        "repayment_consumer_lag",
        "repayment_processing_seconds_bucket",
        "repayment_customers",
    } <= used
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_grafana__provisioning_points_at_the_mounted_dashboards_and_datasource(
    services: dict[str, Any],
) -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    (datasource,) = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    (provider,) = load_yaml(provisioning / "dashboards" / "repayment-stream.yml")["providers"]
    dashboard = json.loads(
        (DEPLOY / "grafana" / "dashboards" / "repayment-stream.json").read_text()
    )
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {datasource["uid"]}
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in services
    assert (
        f"./deploy/grafana/dashboards:{provider['options']['path']}:ro"
        in (services["grafana"]["volumes"])
    )


def test_k8s__configmap_uses_only_settings_names(k8s_docs: dict[str, dict[str, Any]]) -> None:
    data = k8s_docs["ConfigMap"]["data"]
    assert set(data) <= set(ENV_VARS)
    assert all(isinstance(value, str) for value in data.values())
    Settings.from_env(data)


def test_k8s__workers_probe_health_and_keep_state_on_a_volume(
    k8s_docs: dict[str, dict[str, Any]],
) -> None:
    sts = k8s_docs["StatefulSet"]
    data = k8s_docs["ConfigMap"]["data"]
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": WEB_PORT}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["envFrom"] == [
        {"configMapRef": {"name": k8s_docs["ConfigMap"]["metadata"]["name"]}}
    ]
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == data["REPAYMENT_DATA_DIR"]
    assert data["REPAYMENT_WEB_PORT"] == str(WEB_PORT)


def test_k8s__headless_service_selects_the_workers(k8s_docs: dict[str, dict[str, Any]]) -> None:
    service, sts = k8s_docs["Service"], k8s_docs["StatefulSet"]
    assert service["spec"]["clusterIP"] == "None"
    assert sts["spec"]["serviceName"] == service["metadata"]["name"]
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert sts["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_k8s__kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(DEPLOY / "k8s" / "kustomization.yaml")
    manifests = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests


def load_kafka_ready() -> Any:
    spec = importlib.util.spec_from_file_location(
        "kafka_ready", DEPLOY / "kafka" / "kafka_ready.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve_one_metadata_answer(brokers: int) -> tuple[socket.socket, threading.Thread]:
    """A fake broker answering one Metadata v1 request with ``brokers`` brokers."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            size = struct.unpack(">i", conn.recv(4))[0]
            request = b""
            while len(request) < size:
                request += conn.recv(size - len(request))
            api_key, version, correlation_id = struct.unpack(">hhi", request[:8])
            assert (api_key, version) == (3, 1)
            body = struct.pack(">ii", correlation_id, brokers)
            for node in range(brokers):
                body += struct.pack(">ih9sih", node, 9, b"127.0.0.1", 9092 + node, -1)
            body += struct.pack(">ii", 0, 0)  # controller id, no topics
            conn.sendall(struct.pack(">i", len(body)) + body)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return server, thread


@pytest.mark.parametrize(("live", "required", "status"), [(3, 3, 0), (2, 3, 1), (1, 1, 0)])
def test_kafka_ready__counts_the_brokers_in_the_metadata(
    live: int, required: int, status: int
) -> None:
    server, thread = serve_one_metadata_answer(live)
    with server:
        port = server.getsockname()[1]
        assert load_kafka_ready().main([f"127.0.0.1:{port}", "--brokers", str(required)]) == status
        thread.join(timeout=5)


def test_kafka_ready__nothing_listening__is_not_ready() -> None:
    with socket.create_server(("127.0.0.1", 0)) as reserved:
        port = reserved.getsockname()[1]
    assert load_kafka_ready().main([f"127.0.0.1:{port}", "--timeout", "0.5"]) == 1


def kafka_sh(args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / "kafka" / "kafka.sh"), *args],
        env={"PATH": path, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_kafka_sh__help_names_the_pinned_version() -> None:
    done = kafka_sh(["--help"], os.environ["PATH"])
    assert done.returncode == 0
    assert f"Apache Kafka {pinned_kafka_version()} (KRaft)" in done.stdout


@pytest.mark.parametrize("command", ["start", "cluster-start"])
def test_kafka_sh__without_java__says_so_in_one_line_and_exits_2(
    command: str, tmp_path: Path
) -> None:
    for tool in ("bash", "sed", "dirname", "head", "realpath"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    done = kafka_sh([command], str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "java not found" in done.stderr


def test_kafka_sh__cluster_ids_never_start_with_a_dash() -> None:
    """kafka-storage's parser reads a leading "-" as an option: 1 format in 64 failed."""
    script = (ROOT / "deploy" / "kafka" / "kafka.sh").read_text()
    function = re.search(r"^new_cluster_id\(\) \{\n.*?^\}\n", script, re.S | re.M)
    assert function is not None
    ids = subprocess.run(
        ["bash", "-c", function.group(0) + "for i in $(seq 1 1000); do new_cluster_id; done"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(ids) == 1000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == 1000
