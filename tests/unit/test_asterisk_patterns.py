"""Asterisk's extension pattern rules, and every extension the daemon sends a call to exists
in the project's dialplan under those rules (a real Asterisk 20 showed "_listen-." never
matching "listen-1001": its n is a digit class)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cti.ami.actions import SPY_MODES, spy_destination
from cti.asterisk_conf import extension_matches, extensions, load
from cti.simulator.originate import SPY_DIALPLAN

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pattern", "exten"),
    [
        ("4440", "4440"),
        ("s", "s"),
        ("agent", "agent"),
        ("44-40", "4440"),
        ("_X.", "1001"),
        ("_x.", "42"),
        ("_1XXX", "1001"),
        ("_NXX", "200"),
        ("_ZX", "10"),
        ("_[13-5]X", "45"),
        ("_[a-c]9", "b9"),
        ("_X!", "7"),
        ("_X!", "7123"),
        ("_9.", "9abc"),
        ("_.", "anything"),
        ("_1-XXX", "1001"),
        ("_1XXX", "1-001"),
        ("_X[]X", "12"),
        ("_whisper-.", "whisper-1001"),
        ("_barge-.", "barge-1001"),
        ("_liste[n]-.", "listen-1001"),
        ("_X./100", "1001"),  # caller ID part: not ours to check
    ],
)
def test_matches(pattern: str, exten: str) -> None:
    assert extension_matches(pattern, exten)


@pytest.mark.parametrize(
    ("pattern", "exten"),
    [
        ("_listen-.", "listen-1001"),  # n of listen wants a digit 2-9
        ("_[l]isten-.", "listen-1001"),  # escaping the first letter leaves the n
        ("_X.", "1"),  # . needs at least one more character
        ("_X.", "a1"),
        ("_1XXX", "10011"),
        ("_1XXX", "100"),
        ("_NXX", "100"),
        ("_Z", "0"),
        ("_[13-5]X", "25"),
        ("4440", "4441"),
        ("agent", "Agent"),
        ("_x", "x"),
        ("_X[", "12"),
        ("s", "_X."),
    ],
)
def test_does_not_match(pattern: str, exten: str) -> None:
    assert not extension_matches(pattern, exten)


def agent_interfaces() -> list[str]:
    """Every queue member of the project's queues.conf: the agents a supervisor can spy on."""
    queues = load(REPO / "asterisk-conf" / "queues.conf")
    members = [
        value.split(",")[0].strip()
        for section in queues.sections
        for key, value in section.entries
        if key == "member"
    ]
    assert members
    return members


@pytest.mark.parametrize("mode", SPY_MODES)
def test_every_spy_call_the_daemon_originates_runs_an_extension_of_the_dialplan(
    mode: str,
) -> None:
    dialplan = load(REPO / "dialplan" / "extensions_cti.conf")
    for interface in agent_interfaces():
        context, exten = spy_destination(mode, interface)
        patterns = extensions(dialplan, context)
        assert any(extension_matches(p, exten) for p in patterns), (mode, interface, patterns)


def test_the_simulator_plays_the_spy_contexts_of_the_dialplan() -> None:
    text = (REPO / "dialplan" / "extensions_cti.conf").read_text()
    dialplan = load(REPO / "dialplan" / "extensions_cti.conf")
    assert set(SPY_DIALPLAN) == {spy_destination(mode, "PJSIP/1001")[0] for mode in SPY_MODES}
    for context, (pattern, options) in SPY_DIALPLAN.items():
        assert extensions(dialplan, context) == [pattern]
        section = text[text.index(f"[{context}]") :]
        assert re.search(
            rf"exten => {re.escape(pattern)},1,ChanSpy\(PJSIP/\$\{{EXTEN\}}-,"
            rf"{options}\)",
            section.split("\n\n")[0],
        ), context
