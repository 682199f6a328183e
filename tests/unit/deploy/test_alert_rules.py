"""The alert rules, checked offline: compose's rule file and the prod PrometheusRule hold the same
groups, `promtool check rules` accepts them (where promtool is installed: Debian's `prometheus`
package), every SoleFlip metric they query exists in the code, and every alert the operators
asked for is there."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "soleflip-rules.yml"
OPERATOR_RULE = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "prometheusrule.yaml"
# Exported by the NATS server's exporter (prometheus-nats-exporter -jsz), not by SoleFlip.
EXTERNAL = {"jetstream_consumer_num_pending"}
SUFFIXES = ("_total", "_count", "_bucket", "_sum")


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def code_metrics() -> set[str]:
    """Every `"soleflip_…"` metric name declared in the libraries and services."""
    names: set[str] = set()
    for path in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        names.update(re.findall(r'"(soleflip_[a-z0-9_]+)"', path.read_text()))
    return names


def test_compose_rules_and_the_prometheus_rule_are_the_same_groups() -> None:
    operator = yaml.safe_load(OPERATOR_RULE.read_text())
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"] == yaml.safe_load(RULES.read_text())


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_metric_an_alert_queries_exists() -> None:
    declared = code_metrics()
    for rule in rules():
        for name in re.findall(r"\b((?:soleflip|jetstream)_[a-z0-9_]+)\b", rule["expr"]):
            base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
            assert name in EXTERNAL or name in declared or base in declared, (rule["alert"], name)


def test_the_alerts_cover_what_operators_need() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    needed = {
        "consumer lag": "jetstream_consumer_num_pending",
        "DLQ growth": "soleflip_bus_dead_letters_total",
        "budget below reserve": "soleflip_stockx_budget_remaining",
        "circuit open": "soleflip_stockx_circuit_open",
        "auth failing": "soleflip_stockx_auth_failing",
        "poll failures": "soleflip_poll_failures_total",
        "5xx rate": 'status=~"5.."',
    }
    for what, needle in needed.items():
        assert any(needle in expr for expr in exprs.values()), what
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_every_metric_the_dashboards_plot_exists() -> None:
    declared = code_metrics()
    for path in (ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                for name in re.findall(r"\b((?:soleflip|jetstream)_[a-z0-9_]+)\b", target["expr"]):
                    base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
                    assert name in EXTERNAL or base in declared, (path.name, panel["title"], name)
