"""Settings refuse a bad value with one line: which setting (environment variable, or file,
section and key), what was given, what is expected; ``cti serve`` exits with that line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cti.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CTI_AMI_PING_INTERVAL": "0"}, r"^CTI_AMI_PING_INTERVAL: expected seconds, more than 0"),
        ({"CTI_AMI_PING_INTERVAL": "-5"}, r"more than 0 and at most 3600, got '-5'$"),
        ({"CTI_AMI_PING_INTERVAL": "nan"}, r"^CTI_AMI_PING_INTERVAL: expected a finite number"),
        ({"CTI_AMI_PING_INTERVAL": "inf"}, "expected a finite number, got 'inf'"),
        ({"CTI_CRM_TIMEOUT_S": "1e400"}, "^CTI_CRM_TIMEOUT_S: expected a finite number"),
        ({"CTI_AMI_PING_INTERVAL": "soon"}, "expected a number, got 'soon'"),
        ({"CTI_AMI_PORT": "0"}, "^CTI_AMI_PORT: expected a port number from 1 to 65535"),
        ({"CTI_HTTP_PORT": "65536"}, "^CTI_HTTP_PORT: expected a port number"),
        ({"CTI_ROUTING_AGI_PORT": "4573.5"}, "^CTI_ROUTING_AGI_PORT: expected a whole number"),
        ({"CTI_SESSION_HOURS": "0"}, "^CTI_SESSION_HOURS: expected hours, more than 0"),
        ({"CTI_CENTER_WRAPUP_S": "-1"}, "^CTI_CENTER_WRAPUP_S: expected seconds from 0 to 3600"),
        ({"CTI_CRM_TIMEOUT_S": "0"}, "^CTI_CRM_TIMEOUT_S: expected seconds, more than 0"),
        ({"CTI_CENTER_MAX_WAIT_S": "-1"}, "^CTI_CENTER_MAX_WAIT_S: expected seconds from 0"),
        (
            {"CTI_CENTER_SERVICE_LEVEL_TARGET": "80"},
            "^CTI_CENTER_SERVICE_LEVEL_TARGET: expected a "
            r"share more than 0 and at most 1 \(0.8 is 80 %\)",
        ),
        ({"CTI_CENTER_SERVICE_LEVEL_TARGET": "0"}, "expected a share more than 0"),
        (
            {"CTI_CENTER_MAX_ABANDON_RATE": "10"},
            r"^CTI_CENTER_MAX_ABANDON_RATE: expected a share from 0 to 1 \(0.1 is 10 %\)",
        ),
        (
            {"CTI_CENTER_TIMEZONE": "Europe/Atlantis"},
            "^CTI_CENTER_TIMEZONE: expected an IANA time zone name .*, got 'Europe/Atlantis'$",
        ),
        ({"CTI_CENTER_TIMEZONE": "../../etc/passwd"}, "^CTI_CENTER_TIMEZONE: expected an IANA"),
        (
            {"CTI_CENTER_PAUSE_REASONS": "Break,Lun\rch"},
            r"^CTI_CENTER_PAUSE_REASONS: expected text "
            r"without control characters .*'Break,Lun\\rch'",
        ),
        ({"CTI_CENTER_PAUSE_REASONS": "Break,Lunch\r"}, "^CTI_CENTER_PAUSE_REASONS: expected text"),
        (
            {"CTI_CENTER_DISPOSITIONS": "Paid,Wrong\tnumber"},
            "^CTI_CENTER_DISPOSITIONS: expected text",
        ),
        ({"CTI_CENTER_QA_FORM": "Greeting:10,Tone\x1b:5"}, "^CTI_CENTER_QA_FORM: expected text"),
        (
            {"CTI_CENTER_QA_FORM": "Greeting:10,Tone"},
            r"^CTI_CENTER_QA_FORM: expected items as the example shows \(QA form item 'Tone' "
            r"must be 'criterion:weight'",
        ),
        (
            {"CTI_CENTER_WRAPUP_BY_QUEUE": "sales:10,support:soon"},
            r"^CTI_CENTER_WRAPUP_BY_QUEUE: expected items .*'support:soon': write queue:seconds",
        ),
        (
            {"CTI_CENTER_PAUSE_REASONS": "Break," + "x" * 61},
            "^CTI_CENTER_PAUSE_REASONS: expected a comma-separated list",
        ),
        ({"CTI_AMI_SECRET": "a\x7fb"}, "^CTI_AMI_SECRET: expected text without control"),
        ({"CTI_HTTP_SECURE_COOKIES": "maybe"}, "^CTI_HTTP_SECURE_COOKIES: expected true or false"),
        (
            {"CTI_ROUTING_AGI_ALLOWED": "10.0.0.5, asterisk.example"},
            "^CTI_ROUTING_AGI_ALLOWED: expected IP addresses or networks",
        ),
    ],
)
def test_a_bad_environment_value_is_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        load_settings(env)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[ami]\nping_interval = 0", r"\[ami\] ping_interval: expected seconds, more than 0"),
        ("[ami]\nping_interval = nan", r"\[ami\] ping_interval: expected a finite number, got nan"),
        ("[ami]\nping_interval = -inf", r"\[ami\] ping_interval: expected a finite number"),
        ("[ami]\nport = true", r"\[ami\] port: expected a whole number, got True"),
        ("[ami]\nport = 5038.5", r"\[ami\] port: expected a whole number, got 5038.5"),
        ("[ami]\nport = [5038]", r"\[ami\] port: expected a whole number, got \[5038\]"),
        ("[ami]\nhost = {name = 'pbx'}", r"\[ami\] host: expected text, got \{'name': 'pbx'\}"),
        ("[ami]\nsecret = 12345", r"\[ami\] secret: expected text, got 12345"),
        ("[http]\nsecure_cookies = 1", r"\[http\] secure_cookies: expected true or false, got 1"),
        (
            "[center]\nservice_level_target = true",
            r"\[center\] service_level_target: expected a "
            "number, got True",
        ),
        ('[center]\ntimezone = "Mars/Olympus_Mons"', r"\[center\] timezone: expected an IANA"),
        (
            '[center]\npause_reasons = "Break, Lunch"\nwrapup_s = "-3"',
            r"\[center\] wrapup_s: expected seconds from 0 to 3600, got '-3'",
        ),
        (
            '[center]\npause_reasons = ["Break", 5]',
            r"\[center\] pause_reasons: expected a "
            r"comma-separated list .*, got \['Break', 5\]",
        ),
        (
            '[center]\npause_reasons = ["Break", "Lunch\\r"]',
            r"\[center\] pause_reasons: expected text without control characters",
        ),
        ('[center]\ndispositions = ["Paid\\u0000"]', r"\[center\] dispositions: expected text"),
        ("[center]\npause_reasons = {Break = 1}", r"\[center\] pause_reasons: expected a comma"),
        ("[center]\npause_reasons = []", r"\[center\] pause_reasons: expected a comma"),
        ("session_hours = [8]", r"top-level session_hours: expected a number, got \[8\]"),
        ("session_hours = 0", "top-level session_hours: expected hours, more than 0"),
        ('data_dir = ["var"]', r"top-level data_dir: expected a path, got \['var'\]"),
        ('[routing]\nagi_allowed = ["10.0.0.0/33"]', r"\[routing\] agi_allowed: expected IP"),
        ("[routing]\nagi_port = 70000", r"\[routing\] agi_port: expected a port number"),
        ("[ami]\nping = 3", r": unknown key \[ami\] ping$"),
        ("ping_interval = 3", ": unknown key top-level ping_interval$"),
        ("[amii]\nhost = 'x'", r": unknown section \[amii\]$"),
    ],
)
def test_a_bad_file_value_names_the_file_section_and_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    config = tmp_path / "cti.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as refused:
        load_settings({}, config)
    assert str(refused.value).startswith(str(config))
    assert "\n" not in str(refused.value)


def test_good_values_are_taken(tmp_path: Path) -> None:
    config = tmp_path / "cti.toml"
    config.write_text(
        "session_hours = 0.5\n[ami]\nping_interval = 2\nport = 5039\n"
        '[center]\ntimezone = "Europe/Istanbul"\n'
        'pause_reasons = ["Mola", "Öğle yemeği", "Eğitim"]\n'
        "service_level_target = 1\nwrapup_s = 0\n"
        '[routing]\nagi_allowed = ["10.0.0.5", "10.1.0.0/24", "fd00::/8"]\n',
        encoding="utf-8",
    )
    settings = load_settings(
        {"CTI_ROUTING_AGI_SECRET": "s3cret-value", "CTI_HTTP_PORT": "8081"}, config
    )
    assert settings.ami_ping_interval == 2.0 and settings.ami_port == 5039
    assert settings.session_hours == 0.5 and settings.http_port == 8081
    assert settings.center_pause_reasons == ("Mola", "Öğle yemeği", "Eğitim")
    assert settings.center_timezone == "Europe/Istanbul"
    assert settings.routing_agi_allowed == ("10.0.0.5", "10.1.0.0/24", "fd00::/8")
    assert settings.routing_agi_secret == "s3cret-value"
    assert "s3cret-value" not in repr(settings)  # secrets never reach a log line
    assert Settings().routing_agi_allowed == ("127.0.0.1", "::1")
    assert Settings().routing_agi_secret == ""


def test_values_given_in_code_are_checked_too() -> None:
    with pytest.raises(SettingsError, match=r"^CTI_AMI_PING_INTERVAL: expected .* got 0$"):
        Settings(ami_ping_interval=0)
    with pytest.raises(SettingsError, match=r"^CTI_CENTER_TIMEZONE: expected an IANA"):
        Settings(center_timezone="Nowhere/Town")
    with pytest.raises(SettingsError, match=r"^CTI_CENTER_PAUSE_REASONS: expected text"):
        Settings(center_pause_reasons=("Break", "Lunch\n"))
    with pytest.raises(SettingsError, match=r"^CTI_CENTER_SERVICE_LEVEL_TARGET: expected"):
        Settings(center_service_level_target=float("nan"))


def test_cti_serve_exits_with_the_line(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CTI_")}
    env |= {
        "CTI_AMI_USERNAME": "cti",
        "CTI_AMI_SECRET": "x",
        "CTI_AMI_PING_INTERVAL": "nan",
        "CTI_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "cti", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "cti: CTI_AMI_PING_INTERVAL: expected a finite number, got 'nan'\n"
