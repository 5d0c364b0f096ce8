"""The alerts, proven with the real tools: promtool checks the shipped config and rules and
runs their unit tests (deploy/prometheus/rules_test.yml), amtool checks where each severity
goes, and every alert has a runbook section and a case where it fires and one where it
must not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.tools import ROOT, run, tool

PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
RECEIVERS = {"page": "on-call", "warn": "team-queue"}


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


ALERTS = [rule["alert"] for rule in rules()]


def test_promtool__the_shipped_config_is_valid_where_it_lies() -> None:
    done = run(tool("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout + done.stderr


def test_promtool__the_rules_are_valid() -> None:
    done = run(tool("promtool"), "check", "rules", str(PROMETHEUS / "rules.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool__every_alert_behaves_as_its_unit_tests_say() -> None:
    done = run(tool("promtool"), "test", "rules", "rules_test.yml", cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool__the_old_dead_letter_rule_fails_the_first_dead_letter_case(
    tmp_path: Path,
) -> None:
    """The unit tests catch the regression the issue found: rate() over a series born at 1
    with `for: 1m` says nothing about the first dead letter."""
    old = (PROMETHEUS / "rules.yml").read_text()
    new_expr = re.search(
        r"expr: (sum by \(topic\) \(increase\(repayment_events_total\{[^\n]*"
        r"dead_lettered[^\n]*)",
        old,
    )
    assert new_expr is not None
    broken = old.replace(
        new_expr.group(1),
        'sum by (topic) (rate(repayment_events_total{result="dead_lettered"}[5m])) > 0\n'
        "        for: 1m",
    )
    (tmp_path / "rules.yml").write_text(broken)
    shutil.copy(PROMETHEUS / "rules_test.yml", tmp_path)
    done = run(tool("promtool"), "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert done.returncode != 0
    assert "RepaymentDeadLetters" in done.stdout + done.stderr


def alert_cases() -> dict[str, dict[str, int]]:
    """Per alert: how many test cases expect it firing, and how many expect silence."""
    tests = yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
    counts: dict[str, dict[str, int]] = {a: {"fires": 0, "silent": 0} for a in ALERTS}
    for case in tests:
        for check in case["alert_rule_test"]:
            kind = "fires" if check["exp_alerts"] else "silent"
            counts[check["alertname"]][kind] += 1
    return counts


@pytest.mark.parametrize("alert", ALERTS)
def test_unit_tests__make_every_alert_fire_and_keep_it_silent(alert: str) -> None:
    cases = alert_cases()[alert]
    assert cases["fires"] >= 1 and cases["silent"] >= 1, cases


@pytest.mark.parametrize("rule", rules(), ids=ALERTS)
def test_every_alert__has_a_severity_routed_by_alertmanager_and_a_runbook(
    rule: dict[str, Any],
) -> None:
    severity = rule["labels"]["severity"]
    assert severity in RECEIVERS
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    assert annotations["runbook_url"] == f"docs/operations.md#{rule['alert'].lower()}"
    headings = re.findall(r"^#+ (\S+)\s*$", OPERATIONS.read_text(), re.M)
    assert rule["alert"] in headings, f"docs/operations.md has no section {rule['alert']}"


def test_amtool__the_alertmanager_config_is_valid() -> None:
    done = run(tool("amtool"), "check-config", str(ALERTMANAGER))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("severity", "receiver"), sorted(RECEIVERS.items()))
def test_amtool__routes_each_severity_to_its_receiver(severity: str, receiver: str) -> None:
    done = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        f"--verify.receivers={receiver}",
        "alertname=RepaymentDeadLetters",
        f"severity={severity}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == receiver


def test_prometheus__sends_alerts_to_the_compose_alertmanager() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    ((target,),) = [
        c["targets"] for am in config["alerting"]["alertmanagers"] for c in am["static_configs"]
    ]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    host, port = target.split(":")
    assert f"{port}:{port}" in compose[host]["ports"]
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in compose[host]["volumes"]
    assert host in compose["prometheus"]["depends_on"]
