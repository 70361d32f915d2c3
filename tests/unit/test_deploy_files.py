"""What can be checked of the Docker deployment without Docker: the compose file, the
Prometheus rules and the Grafana dashboard are well-formed and refer to things that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\bcti_[a-z_]+\b")
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def known_metrics() -> set[str]:
    """Every metric family cti/metrics.py defines (names are literal strings there)."""
    return set(re.findall(r'"(cti_[a-z_]+)"', (REPO / "cti" / "metrics.py").read_text()))


def unknown_metrics(text: str) -> set[str]:
    known = known_metrics()
    missing = set()
    for name in set(METRIC.findall(text)):
        base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
        if name not in known and base not in known:
            missing.add(name)
    return missing


def test_compose_file_refers_to_files_and_variables_that_exist() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    assert {"asterisk", "postgres", "cti", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name}: {source} does not exist"
        for dependency, condition in (service.get("depends_on") or {}).items() \
                if isinstance(service.get("depends_on"), dict) else []:
            assert dependency in services
            if "healthcheck" in services[dependency]:
                assert condition == {"condition": "service_healthy"}, (name, dependency)
    assert (REPO / services["cti"]["build"] / "Dockerfile").is_file()
    example = (REPO / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)\}", text))
    assert used <= defined, f"not in .env.example: {used - defined}"
    # The route points reach the daemon's FastAGI through the line compose rewrites.
    dialplan = (REPO / "dialplan" / "extensions_cti.conf").read_text()
    assert re.search(r"^CTI_FASTAGI=agi://127\.0\.0\.1:4573/route$", dialplan, re.MULTILINE)
    assert "s#^CTI_FASTAGI=.*#CTI_FASTAGI=agi://cti:4573/route#" in text
    assert services["cti"]["environment"]["CTI_ROUTING_FILE"] == "/etc/cti/routing.toml"


def test_alert_rules_are_complete_and_use_real_metrics() -> None:
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["cti:8080"]
    rules_text = (REPO / "deploy/prometheus/alerts.yml").read_text()
    rules = [r for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"]]
    assert len(rules) >= 4
    for rule in rules:
        assert rule["expr"] and rule["for"] and rule["labels"]["severity"]
        assert rule["annotations"]["summary"]
    assert unknown_metrics(rules_text) == set()


def test_dashboard_is_well_formed_and_uses_real_metrics() -> None:
    text = (REPO / "deploy/grafana/dashboards/cti-queues-agents.json").read_text()
    dashboard = json.loads(text)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 10
    assert all(panel["targets"] for panel in dashboard["panels"])
    assert unknown_metrics(text) == set()


def test_the_metric_check_can_fail() -> None:
    assert unknown_metrics("rate(cti_queue_calls_dropped_total[5m])") == {
        "cti_queue_calls_dropped_total"}
