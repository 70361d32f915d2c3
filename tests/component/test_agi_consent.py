"""The consent AGI script driven over stdin/stdout exactly as Asterisk drives it: the
agi_* environment, a blank line, then one answer line per command the script writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "dialplan" / "agi" / "cti-consent.py"
ENVIRONMENT = ("agi_request: cti-consent.py\nagi_channel: PJSIP/trunk-00000001\n"
               "agi_language: en\nagi_uniqueid: 1795343720.0\nagi_callerid: 905321234567\n"
               "agi_calleridname: Ayşe Çağrı Yılmaz\nagi_extension: 4440\n\n")


def run_agi(args: list[str], answers: dict[str, str]) -> tuple[int, list[str]]:
    """Run the script, answering each command by its verb; returns exit code and commands."""
    process = subprocess.Popen([sys.executable, str(SCRIPT), *args], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(ENVIRONMENT)
    process.stdin.flush()
    commands = []
    for line in process.stdout:
        command = line.strip()
        commands.append(command)
        verb = next((v for v in answers if command.startswith(v)), None)
        process.stdin.write((answers[verb] if verb else "510 Invalid or unknown command") + "\n")
        process.stdin.flush()
    process.stdin.close()
    return process.wait(timeout=10), commands


ASTERISK = {"GET DATA": "200 result=1", "STREAM FILE": "200 result=0 endpos=8000",
            "SET VARIABLE": "200 result=1", "EXEC": "200 result=0"}


@pytest.mark.parametrize(("pressed", "consent", "method"), [
    ("200 result=1", "granted", "dtmf"),
    ("200 result=2", "declined", "dtmf"),
    ("200 result= (timeout)", "declined", "timeout"),   # the default given below
    ("200 result=7", "declined", "timeout"),            # not a choice: the default
])
def test_explicit_consent_by_keypress(pressed: str, consent: str, method: str) -> None:
    code, commands = run_agi(["explicit", "declined", "5"], {**ASTERISK, "GET DATA": pressed})
    assert code == 0
    assert commands[0] == "GET DATA cti/press-1-accept-2-decline 5000 1"
    assert f'SET VARIABLE "CONSENT" "{consent}"' in commands
    assert f'SET VARIABLE "CONSENT_METHOD" "{method}"' in commands
    assert commands[-1] == f'EXEC UserEvent "RecordingConsent,Consent: {consent},Method: {method}"'


def test_implied_consent_plays_the_notice_and_never_asks() -> None:
    code, commands = run_agi(["implied", "declined", "5"], ASTERISK)
    assert code == 0
    assert not any(c.startswith("GET DATA") for c in commands)
    assert commands[0].startswith("STREAM FILE cti/recording-notice")
    assert 'SET VARIABLE "CONSENT" "granted"' in commands


@pytest.mark.parametrize("failure", ["200 result=-1", "510 Invalid or unknown command"])
def test_a_hangup_or_refusal_exits_non_zero_before_setting_consent(failure: str) -> None:
    code, commands = run_agi(["explicit", "granted", "5"], {**ASTERISK, "GET DATA": failure})
    assert code != 0  # the dialplan then applies CONSENT_DEFAULT and reports Method: fallback
    assert not any("CONSENT" in c for c in commands)


def test_bad_arguments_are_refused() -> None:
    code, commands = run_agi(["sometimes", "maybe"], ASTERISK)
    assert (code, commands) == (2, [])
