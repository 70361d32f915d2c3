"""The project's Asterisk configuration parses and passes the deployment checks; broken
copies fail them with the specific problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cti.asterisk_conf import check_deployment, parse

REPO = Path(__file__).resolve().parents[2]


def test_parser_reads_sections_templates_entries_and_includes() -> None:
    conf = parse("; comment\n[general]\nstatic = yes ; trailing\n#include dialplan/x.conf\n"
                 "[tpl](!)\ntype = endpoint\n[1001](tpl)\nauth = 1001\n[q]\nmember => PJSIP/1\n"
                 "note = a\\;b\n")
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
    manager.write_text(manager.read_text().replace("write = call,agent,originate,reporting,user",
                                                   "write = all"))
    assert check_deployment(conf, dialplan) == [
        "manager.conf: [cti] write = all; least privilege is agent,call,originate,reporting,user"]


def test_unknown_queue_missing_endpoint_and_agi_are_reported(tmp_path: Path) -> None:
    conf, dialplan = broken_copy(tmp_path)
    plan = dialplan / "extensions_cti.conf"
    plan.write_text(plan.read_text().replace("Queue(${CTI_QUEUE}", "Queue(billing")
                    .replace("CTI_HOLD_QUEUE=collections", "CTI_HOLD_QUEUE=colections"))
    queues = conf / "queues.conf"
    queues.write_text(queues.read_text() + "member => PJSIP/1999,0,Ghost\n")
    (dialplan / "agi" / "cti-consent.py").chmod(0o644)
    problems = check_deployment(conf, dialplan)
    assert "extensions_cti.conf: Queue(billing) is not in queues.conf" in problems
    assert "extensions_cti.conf: CTI_HOLD_QUEUE=colections is not in queues.conf" in problems
    assert "queues.conf: [sales] member PJSIP/1999 has no endpoint in pjsip.conf" in problems
    assert any("AGI(cti-consent.py) is not an executable" in p for p in problems)
