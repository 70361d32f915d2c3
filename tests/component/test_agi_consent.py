"""The consent AGI driven over stdin/stdout exactly as Asterisk drives it: the installed
console script run by path with Asterisk's bare environment, the agi_* variables, a blank
line, then one answer line per command the script writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cti.agi.consent import decide

REPO = Path(__file__).resolve().parents[2]
# pip writes it beside the interpreter running the tests (.venv/bin/cti-consent); agi-bin
# holds a symlink to it, and Asterisk runs it by that path.
SCRIPT = Path(sys.executable).parent / "cti-consent"
# What a script started by Asterisk gets: no virtual environment, no PYTHONPATH, a system PATH
# (on which /usr/bin/env python3 finds the system Python, without this project's packages).
ASTERISK_ENV = {"PATH": "/usr/bin:/bin"}
ENVIRONMENT = (
    "agi_request: cti-consent\nagi_channel: PJSIP/trunk-00000001\n"
    "agi_language: tr\nagi_uniqueid: 1795343720.0\nagi_callerid: 905321234567\n"
    "agi_calleridname: Ayşe Çağrı Yılmaz\nagi_extension: 4440\n\n"
)


def run_agi(
    args: list[str],
    answers: dict[str, str],
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, list[str]]:
    """Run the script, answering each command by its verb; returns exit code and commands."""
    assert SCRIPT.is_file(), f"{SCRIPT} is not installed: run scripts/setup"
    process = subprocess.Popen(
        [*(command or [str(SCRIPT)]), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ASTERISK_ENV if env is None else env,
        cwd="/",
    )
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


ASTERISK = {
    "GET DATA": "200 result=1",
    "STREAM FILE": "200 result=0 endpos=8000",
    "SET VARIABLE": "200 result=1",
    "EXEC": "200 result=0",
}


@pytest.mark.parametrize(
    ("pressed", "consent", "method"),
    [
        ("200 result=1", "granted", "dtmf"),
        ("200 result=2", "declined", "dtmf"),
        ("200 result= (timeout)", "declined", "timeout"),  # the default given below
        ("200 result=7", "declined", "timeout"),  # not a choice: the default
    ],
)
def test_explicit_consent_by_keypress(pressed: str, consent: str, method: str) -> None:
    code, commands = run_agi(["explicit", "declined", "5"], {**ASTERISK, "GET DATA": pressed})
    assert code == 0
    assert commands[0] == "GET DATA cti/press-1-accept-2-decline 5000 1"
    assert f'SET VARIABLE "CONSENT" "{consent}"' in commands
    assert f'SET VARIABLE "CONSENT_METHOD" "{method}"' in commands
    # Durable in Asterisk's CDR before it is reported live.
    assert commands[-3:-1] == [
        f'SET VARIABLE "CDR(cti_consent)" "{consent}"',
        f'SET VARIABLE "CDR(cti_consent_method)" "{method}"',
    ]
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


def test_the_console_script_runs_the_projects_python_under_asterisks_environment() -> None:
    # The shebang names the virtual environment's interpreter by its path: no PATH lookup,
    # so pyst2 and this package are found with Asterisk's environment (the GET DATA above
    # shows pyst2 answering). A "#!/usr/bin/env python3" script would get the system Python.
    shebang = SCRIPT.read_text().splitlines()[0]
    assert shebang == f"#!{sys.executable}"
    assert "cti.agi.consent" in SCRIPT.read_text()
    code, commands = run_agi(["explicit", "declined", "5"], ASTERISK, env={})
    assert code == 0 and commands[0] == "GET DATA cti/press-1-accept-2-decline 5000 1"


def test_without_pyst2_it_exits_non_zero_before_setting_consent() -> None:
    # -S: no site-packages, so no pyst2; the package itself comes from the source tree.
    program = "from cti.agi.consent import main; main()"
    code, commands = run_agi(
        ["explicit", "granted", "5"],
        ASTERISK,
        command=[sys.executable, "-S", "-c", program],
        env={**ASTERISK_ENV, "PYTHONPATH": str(REPO)},
    )
    assert code == 1  # the dialplan then applies CONSENT_DEFAULT and reports Method: fallback
    assert commands == []


@pytest.mark.parametrize(
    ("mode", "digits", "default", "decided"),
    [
        ("implied", "", "declined", ("granted", "implied")),
        ("implied", "2", "declined", ("granted", "implied")),  # no question asked: keys ignored
        ("explicit", "1", "declined", ("granted", "dtmf")),
        ("explicit", "2", "granted", ("declined", "dtmf")),
        ("explicit", "12", "declined", ("granted", "dtmf")),  # the first key counts
        ("explicit", "", "granted", ("granted", "timeout")),
        ("explicit", "#", "declined", ("declined", "timeout")),
    ],
)
def test_decide(mode: str, digits: str, default: str, decided: tuple[str, str]) -> None:
    assert decide(mode, digits, default) == decided
