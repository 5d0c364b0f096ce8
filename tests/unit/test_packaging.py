"""The image and the compose stack: one image name and tag everywhere, a production image
without benchmarks whose health check follows the configured port, a Dockerfile hadolint
accepts and a compose file valid against the Compose specification."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tests.unit.tools import ROOT, run, tool

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


IMAGE = f"repayment-stream:{project_version()}"
BUILD = f"docker build -f deploy/Dockerfile -t {IMAGE} ."


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def k8s_images() -> set[str]:
    sts = yaml.safe_load((ROOT / "deploy" / "k8s" / "statefulset.yaml").read_text())
    return {c["image"] for c in sts["spec"]["template"]["spec"]["containers"]}


def test_image__one_name_and_tag_in_compose_kubernetes_and_the_docs() -> None:
    worker = compose()["services"]["worker"]
    assert worker["image"] == IMAGE
    assert worker["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert k8s_images() == {IMAGE}
    assert BUILD in (ROOT / "docs" / "operations.md").read_text()
    assert BUILD in DOCKERFILE.read_text()
    for path in (ROOT / "docs" / "operations.md", ROOT / "README.md", DOCKERFILE):
        named = set(re.findall(r"\brepayment-stream:[\w.]+", path.read_text()))
        assert named <= {IMAGE}, (path, named)


def test_image__holds_the_runtime_packages_only() -> None:
    copied = {
        line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY")
    }
    assert {"schemas", "policy", "streams", "agents"} <= copied
    assert "bench" not in copied and "tests" not in copied


def test_image__health_check_reads_the_configured_port() -> None:
    text = DOCKERFILE.read_text()
    assert '"python", "-m", "streams.healthcheck", "/healthz"' in text
    assert "6066/healthz" not in text
    test = compose()["services"]["worker"]["healthcheck"]["test"]
    assert test == ["CMD", "python", "-m", "streams.healthcheck", "/readyz"]


def test_hadolint__accepts_the_dockerfile() -> None:
    done = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint__would_reject_a_root_image(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("USER 10001", "USER repayment"))
    done = run(tool("hadolint"), "--no-color", str(broken))
    assert done.returncode != 0 and "DL3066" in done.stdout


def test_compose__is_valid_against_the_compose_specification(tmp_path: Path) -> None:
    schema = ["--builtin-schema", "vendor.compose-spec"]
    done = run(tool("check-jsonschema"), *schema, str(ROOT / "docker-compose.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = compose()
    broken["services"]["worker"]["healthchek"] = broken["services"]["worker"].pop("healthcheck")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    assert run(tool("check-jsonschema"), *schema, str(path)).returncode != 0
