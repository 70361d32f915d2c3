"""The project's Asterisk configuration parses and passes the deployment checks; broken
copies fail them with the specific problem."""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

import pytest

from cti.asterisk_conf import check_deployment, package_agis, parse

REPO = Path(__file__).resolve().parents[2]


def test_parser_reads_sections_templates_entries_and_includes() -> None:
    conf = parse(
        "; comment\n[general]\nstatic = yes ; trailing\n#include dialplan/x.conf\n"
        "[tpl](!)\ntype = endpoint\n[1001](tpl)\nauth = 1001\n[q]\nmember => PJSIP/1\n"
        "note = a\\;b\n"
    )
    assert [s.name for s in conf.sections] == ["general", "tpl", "1001", "q"]
    assert conf.includes == ["dialplan/x.conf"]
    assert conf.value(conf.named("1001")[0], "type") == "endpoint"  # from the template
    assert conf.named("q")[0].entries == [("member", "PJSIP/1"), ("note", "a\\;b")]
    with pytest.raises(ValueError, match="line 1"):
        parse("garbage before any section\n")


def test_the_project_configuration_passes() -> None:
    assert check_deployment(REPO / "asterisk-conf", REPO / "dialplan") == []


def broken_copy(tmp_path: Path) -> tuple[Path, Path]:
    conf, dialplan = tmp_path / "asterisk-conf", tmp_path / "dialplan"
    shutil.copytree(REPO / "asterisk-conf", conf)
    shutil.copytree(REPO / "dialplan", dialplan)
    return conf, dialplan


def test_too_much_ami_privilege_is_reported(tmp_path: Path) -> None:
    conf, dialplan = broken_copy(tmp_path)
    manager = conf / "manager.conf"
    manager.write_text(
        manager.read_text().replace("write = call,agent,originate,reporting,user", "write = all")
    )
    assert check_deployment(conf, dialplan) == [
        "manager.conf: [cti] write = all; least privilege is agent,call,originate,reporting,user"
    ]


def test_unknown_queue_missing_endpoint_and_agi_are_reported(tmp_path: Path) -> None:
    conf, dialplan = broken_copy(tmp_path)
    plan = dialplan / "extensions_cti.conf"
    plan.write_text(
        plan.read_text()
        .replace("Queue(${CTI_QUEUE}", "Queue(billing")
        .replace("CTI_HOLD_QUEUE=collections", "CTI_HOLD_QUEUE=colections")
        .replace("AGI(cti-consent,", "AGI(cti-consent.py,")
    )
    queues = conf / "queues.conf"
    queues.write_text(queues.read_text() + "member => PJSIP/1999,0,Ghost\n")
    (dialplan / "agi").mkdir()
    (dialplan / "agi" / "cti-consent.py").write_text("#!/usr/bin/env python3\n")  # not +x
    problems = check_deployment(conf, dialplan)
    assert "extensions_cti.conf: Queue(billing) is not in queues.conf" in problems
    assert "extensions_cti.conf: CTI_HOLD_QUEUE=colections is not in queues.conf" in problems
    assert "queues.conf: [sales] member PJSIP/1999 has no endpoint in pjsip.conf" in problems
    assert any("AGI(cti-consent.py) is not an executable" in p for p in problems)


def test_the_consent_agi_is_the_packages_console_script(tmp_path: Path) -> None:
    # AGI(cti-consent) is installed by pip (pyproject.toml's [project.scripts]) and linked
    # into agi-bin, not a file of dialplan/; a name that is neither is still reported.
    assert "cti-consent" in package_agis()
    assert "cti" not in package_agis()  # the daemon's own command is no AGI
    assert "AGI(cti-consent," in (REPO / "dialplan" / "extensions_cti.conf").read_text()
    assert not (REPO / "dialplan" / "agi" / "cti-consent").exists()
    conf, dialplan = broken_copy(tmp_path)
    plan = dialplan / "extensions_cti.conf"
    plan.write_text(plan.read_text().replace("AGI(cti-consent,", "AGI(cti-consnet,"))
    assert check_deployment(conf, dialplan) == [
        "extensions_cti.conf: AGI(cti-consnet) is not an executable file in dialplan/agi/ nor a "
        "console script of cti.agi"
    ]


def test_a_queues_conf_without_autofill_is_reported(tmp_path: Path) -> None:
    # Asterisk's default (off) left a second caller waiting while an agent was free.
    conf, dialplan = broken_copy(tmp_path)
    queues = conf / "queues.conf"
    text = queues.read_text()
    assert re.search(r"^autofill = yes$", text, re.MULTILINE)
    queues.write_text(re.sub(r"^autofill = yes$", "", text, flags=re.MULTILINE))
    assert check_deployment(conf, dialplan) == [
        "queues.conf: [general] needs autofill = yes (Asterisk's default is off: callers "
        "behind the first wait while agents are free)"
    ]
    queues.write_text(
        text.replace("strategy = leastrecent", "strategy = leastrecent\nautofill = no")
    )
    assert check_deployment(conf, dialplan) == [
        "queues.conf: [sales] autofill = no: callers behind the first wait while agents are free"
    ]


def test_the_trunk_needs_no_dns_lookup_at_start() -> None:
    # A made-up host name in match/contact made a real Asterisk log DNS ERRORs at start.
    pjsip = parse((REPO / "asterisk-conf" / "pjsip.conf").read_text())
    trunk = {pjsip.value(s, "type"): s for s in pjsip.named("trunk")}
    hosts = [trunk["identify"].get("match"), trunk["endpoint"].get("from_domain")]
    contact = re.fullmatch(r"sip:([^:;]+)(?::\d+)?", trunk["aor"].get("contact") or "")
    assert contact is not None
    for host in [*hosts, contact.group(1)]:
        address = ipaddress.ip_address(host or "")
        assert address in ipaddress.ip_network("192.0.2.0/24")  # RFC 5737: replace it
    assert "192.0.2.10" in (REPO / "docs" / "deploy.md").read_text()
