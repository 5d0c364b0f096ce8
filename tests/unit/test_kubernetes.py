"""The Kubernetes manifests, as the cluster would take them: built by kustomize, validated
against the API schemas (kubernetes-validate, strict), and routing-ready: every pod
advertises its own stable address, pods spread over nodes, drains are never blocked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streams.settings import ENV_VARS, Settings
from tests.unit.tools import ROOT, run, tool

K8S = ROOT / "deploy" / "k8s"
OLDEST_SUPPORTED = "1.27.0"  # unhealthyPodEvictionPolicy (beta, on by default)


def kustomize(directory: Path = K8S) -> list[dict[str, Any]]:
    """``kubectl kustomize`` (or ``kustomize build`` where there is no kubectl)."""
    if shutil.which("kubectl"):
        done = run(tool("kubectl"), "kustomize", str(directory))
    else:
        done = run(tool("kustomize"), "build", str(directory))
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


BUILT = kustomize()
BY_KIND = {doc["kind"]: doc for doc in BUILT}


@pytest.mark.parametrize("version", [OLDEST_SUPPORTED, kubernetes_validate.latest_version()])
@pytest.mark.parametrize("doc", BUILT, ids=[f"{d['kind']}/{d['metadata']['name']}" for d in BUILT])
def test_kustomize_output__is_valid_for_the_api_strictly(doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_validator__rejects_a_misspelled_field() -> None:
    pdb = yaml.safe_load(yaml.safe_dump(BY_KIND["PodDisruptionBudget"]))
    pdb["spec"]["unhealthyPodEvictionPolicyy"] = "AlwaysAllow"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pdb, OLDEST_SUPPORTED, strict=True)


def test_kustomize__builds_every_manifest_once() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert len(BUILT) == len(listed)


def worker_container() -> dict[str, Any]:
    (container,) = BY_KIND["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = container
    return found


def kubelet_env(pod: str, namespace: str) -> dict[str, str]:
    """The container's own env as the kubelet resolves it: downward API, then $(VAR); an
    optional Secret that does not exist leaves its variable unset."""
    fields = {"metadata.name": pod, "metadata.namespace": namespace}
    env: dict[str, str] = {}
    for var in worker_container()["env"]:
        source = var.get("valueFrom", {})
        if "secretKeyRef" in source:
            assert source["secretKeyRef"]["optional"] is True
            continue
        if "fieldRef" in source:
            env[var["name"]] = fields[source["fieldRef"]["fieldPath"]]
        else:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], var["value"])
    return env


def test_statefulset__every_pod_advertises_its_own_stable_dns_name() -> None:
    sts, service = BY_KIND["StatefulSet"], BY_KIND["Service"]
    data = BY_KIND["ConfigMap"]["data"]
    urls = set()
    for ordinal in range(sts["spec"]["replicas"]):
        pod = f"{sts['metadata']['name']}-{ordinal}"
        env = kubelet_env(pod, "collections")
        settings = Settings.from_env({**data, **env})
        expected = (
            f"http://{pod}.{service['metadata']['name']}.collections.svc.cluster.local:"
            f"{settings.web_port}"
        )
        assert settings.advertised_url == expected
        urls.add(settings.advertised_url)
    assert len(urls) == sts["spec"]["replicas"]
    assert sts["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"  # per-pod DNS records
    assert {p["port"] for p in service["spec"]["ports"]} == {Settings.from_env(data).web_port}


def test_statefulset__sets_only_settings_names_besides_the_downward_api() -> None:
    names = {var["name"] for var in worker_container()["env"]}
    assert names - set(ENV_VARS) == {"POD_NAME", "POD_NAMESPACE"}
    assert "REPAYMENT_ADVERTISED_URL" not in BY_KIND["ConfigMap"]["data"]  # one per pod


def test_statefulset__spreads_workers_over_nodes_and_zones() -> None:
    spec = BY_KIND["StatefulSet"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    spread = {c["topologyKey"]: c for c in spec["template"]["spec"]["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()


def test_pdb__one_worker_at_a_time_and_never_blocks_a_drain_on_unready_workers() -> None:
    pdb = BY_KIND["PodDisruptionBudget"]["spec"]
    labels = BY_KIND["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert pdb["selector"]["matchLabels"].items() <= labels.items()


def test_probes__liveness_waits_for_recovery_and_readiness_rides_out_a_short_rebalance() -> None:
    container = worker_container()
    startup, readiness = container["startupProbe"], container["readinessProbe"]
    assert startup["httpGet"]["path"] == "/healthz"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert readiness["periodSeconds"] * readiness["failureThreshold"] >= 30
    grace = BY_KIND["StatefulSet"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= 30  # a clean stop commits offsets and leaves the group
