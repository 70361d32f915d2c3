"""What can be checked of the Docker deployment without Docker: the compose file, the
Prometheus rules and the Grafana dashboard are well-formed and refer to things that exist."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from cti.agi.consent import NOTICE, QUESTION

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
        for dependency, condition in (
            (service.get("depends_on") or {}).items()
            if isinstance(service.get("depends_on"), dict)
            else []
        ):
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
    # ... and the route point's secret, the daemon's too (cti/routing/route_point.py).
    assert re.search(r"^CTI_AGI_SECRET=change-me-cti-agi-secret$", dialplan, re.MULTILINE)
    assert "s/^CTI_AGI_SECRET=.*/CTI_AGI_SECRET=$$CTI_AGI_SECRET/" in text
    assert services["cti"]["environment"]["CTI_ROUTING_AGI_SECRET"] == "${CTI_AGI_SECRET}"
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
        "cti_queue_calls_dropped_total"
    }


def dialplan_languages() -> set[str]:
    """Every channel language [from-trunk] gives a call, and [cti-inbound]'s default."""
    dialplan = (REPO / "dialplan" / "extensions_cti.conf").read_text()
    languages = set(re.findall(r"Set\(CTI_LANGUAGE=(\w+)\)", dialplan))
    # Set(CHANNEL(language)=${IF($["${CTI_LANGUAGE}" = ""]?tr:${CTI_LANGUAGE})})
    default = re.search(
        r'CHANNEL\(language\)=\$\{IF\(\$\["\$\{CTI_LANGUAGE\}" = ""\]\?(\w+):', dialplan
    )
    assert default, "[cti-inbound] sets the channel language from CTI_LANGUAGE"
    return languages | {default.group(1)}


def test_every_dialplan_language_has_the_consent_prompts() -> None:
    # Asterisk plays <sounds>/<channel language>/cti/<name>.gsm; a missing one makes GET DATA
    # fail and the call falls back to the default (declined): nobody would be recorded.
    languages = dialplan_languages()
    assert languages == {"tr", "en"}
    for language in languages:
        for prompt in (NOTICE, QUESTION):
            path = REPO / "dialplan" / "sounds" / language / f"{prompt}.gsm"
            assert path.is_file(), f"{path} is missing: run scripts/make-prompts"
            data = path.read_bytes()
            # GSM 06.10 as Asterisk's format_gsm reads it: no header, 33-byte frames of 20 ms,
            # each opening with the signature nibble 0xD. A prompt of 1 to 15 s.
            assert len(data) % 33 == 0 and 50 <= len(data) // 33 <= 750, (path, len(data))
            assert all(byte >> 4 == 0xD for byte in data[::33]), path


def test_compose_asterisk_mounts_the_prompts_and_installs_the_consent_agi() -> None:
    asterisk = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["asterisk"]
    for language in dialplan_languages():
        assert (
            f"./dialplan/sounds/{language}/cti:/var/lib/asterisk/sounds/{language}/cti:ro"
            in asterisk["volumes"]
        )
    assert not any("agi-bin" in volume for volume in asterisk["volumes"])  # the image's own
    build = asterisk["build"]
    assert build["context"] == "."
    dockerfile = (REPO / build["dockerfile"]).read_text()
    assert re.search(r"^FROM andrius/asterisk:20$", dockerfile, re.MULTILINE)
    # The AGI the dialplan names is the console script pyproject.toml declares, installed
    # with the package and linked into agi-bin.
    dialplan = (REPO / "dialplan" / "extensions_cti.conf").read_text()
    agis = set(re.findall(r"\bAGI\(([\w-]+),", dialplan))
    assert agis == {"cti-consent"}
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["cti-consent"] == "cti.agi.consent:main"
    venv = re.search(r"python3 -m venv (\S+)", dockerfile)
    assert venv and re.search(rf"{venv.group(1)}/bin/pip install .*/src/cti\b", dockerfile)
    assert (
        f"ln -sf {venv.group(1)}/bin/cti-consent /var/lib/asterisk/agi-bin/cti-consent"
        in dockerfile
    )
    assert f'{venv.group(1)}/bin/python -c "import asterisk.agi, cti.agi.consent"' in dockerfile
    # What the image copies exists, and its Dockerfile's ignore file lets it through.
    ignore = (REPO / f"{build['dockerfile']}.dockerignore").read_text().split()
    for sources in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for source in sources.split():
            assert (REPO / source).exists(), source
            assert f"!{source}" in ignore or f"!{source}/" in ignore, source
