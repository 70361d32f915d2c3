"""One frozen ``Settings``, read once from the environment and an optional TOML file.

Environment variables win over the file, so a deployment can keep its secrets out of it.
Every value is checked when the settings are made, with a message naming where it came from;
fields written as items (``center_qa_form``, ``center_wrapup_by_queue``) are also read as
typed values here (``qa_form``, ``wrapup_s_by_queue``), so no feature parses them again.
The TOML file (``CTI_CONFIG`` or ``--config``) uses sections ``[ami]``, ``[http]``,
``[database]``, ``[center]`` whose keys are the field names below without their prefix
(``[ami] host = ...``); fields without a prefix (``data_dir``, ``session_hours``) are top-level.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cti.quality.reviews import Criterion, parse_form


class SettingsError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = ""
    ami_secret: str = ""
    ami_ping_interval: float = 10.0
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    database_url: str = ""  # empty: an embedded PostgreSQL in data_dir
    data_dir: Path = Path("var")
    # Where Asterisk's MixMonitor writes (/var/spool/asterisk/monitor); empty: data_dir/recordings
    recordings_dir: str = ""
    http_secure_cookies: bool = False  # set true behind HTTPS
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For/-Proto are believed; empty: none.
    http_trusted_proxies: tuple[str, ...] = ()
    session_hours: float = 8.0
    metrics_token: str = ""  # empty: /metrics is open (it carries no personal data)
    center_timezone: str = "UTC"
    center_region: str = "TR"  # ISO country for caller numbers given in national format
    center_service_level_target: float = 0.8  # share of calls answered within the threshold
    center_pause_reasons: tuple[str, ...] = ("Break", "Lunch", "Training", "Meeting", "Back office")
    center_dispositions: tuple[str, ...] = (
        "Resolved",
        "Payment promised",
        "Callback requested",
        "Wrong number",
        "Complaint",
        "Information given",
        "Escalated",
        "Answering machine",  # a campaign's attempt: tried again later (cti/campaigns/dialer.py)
    )
    # After a queue call the agent stays in wrap-up (paused in Asterisk, reason "Wrap-up")
    # until they press Ready, or at most this many seconds; 0 leaves it to Asterisk.
    center_wrapup_s: float = 0.0
    # Per queue, "queue:seconds" items (e.g. "collections:60, sales:10"); others: the above.
    center_wrapup_by_queue: tuple[str, ...] = ()
    # Queues whose calls need a disposition before the agent who took one is ready again.
    center_disposition_required: tuple[str, ...] = ()
    center_max_wait_s: int = 60  # a caller waiting longer raises a wallboard alert
    # A queue whose callers hung up waiting more often than this share of today's offered
    # calls raises a wallboard alert, and its card is red whatever its service level.
    center_max_abandon_rate: float = 0.1
    # Quality review form, "criterion:weight" items (see cti/quality/reviews.py), and how many of
    # each agent's recorded calls are proposed for review each week.
    center_qa_form: tuple[str, ...] = (
        "Greeting and identification:15",
        "Identity checked before account details:25",
        "Accurate and complete information:25",
        "Courtesy and empathy:20",
        "Disposition and notes recorded:15",
    )
    center_qa_sample_per_week: int = 3
    crm_url: str = ""  # external CRM lookup, a template with {number}; empty: none
    crm_timeout_s: float = 2.0  # the pop never waits for it; a slower answer is dropped
    crm_token: str = ""  # bearer token for the CRM, if it needs one
    routing_file: str = ""  # ACD routes and skills (cti/routing/config.py); empty: no ACD
    routing_agi_host: str = "127.0.0.1"  # FastAGI for the route points: keep it private
    routing_agi_port: int = 4573
    # Who may ask the route point: the Asterisk servers' addresses (IPs or CIDR networks),
    # and the secret the dialplan holds in CTI_AGI_SECRET (empty: no secret asked).
    routing_agi_allowed: tuple[str, ...] = ("127.0.0.1", "::1")
    routing_agi_secret: str = ""

    def __post_init__(self) -> None:
        # Also for values given in code (tests, the demo's replace()); load_settings checks
        # each value first, so that its message can name the file and key it came from.
        for f in fields(self):
            value = getattr(self, f.name)
            expected = _problem(f.name, value)
            if expected is not None:
                raise SettingsError(f"CTI_{f.name.upper()}: expected {expected}, got {value!r}")

    def __repr__(self) -> str:  # secrets never reach a log line
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (
            "ami_secret",
            "metrics_token",
            "database_url",
            "crm_token",
            "routing_agi_secret",
        ):
            if shown[name]:
                shown[name] = "***"
        return f"Settings({shown})"

    @property
    def qa_form(self) -> tuple[Criterion, ...]:
        return parse_form(self.center_qa_form)

    @property
    def wrapup_s_by_queue(self) -> dict[str, float]:
        return seconds_by_queue(self.center_wrapup_by_queue)

    @property
    def recordings_path(self) -> Path:
        return Path(self.recordings_dir) if self.recordings_dir else self.data_dir / "recordings"

    def require_ami_login(self) -> None:
        missing = [
            env
            for env, value in (
                ("CTI_AMI_USERNAME", self.ami_username),
                ("CTI_AMI_SECRET", self.ami_secret),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                f"missing setting(s): {', '.join(missing)}. Set them to the AMI user and "
                "secret of the daemon's section in Asterisk's manager.conf (environment, or "
                "[ami] username/secret in the file named by CTI_CONFIG)."
            )


_SECTIONS = {
    "ami": "ami_",
    "http": "http_",
    "database": "database_",
    "center": "center_",
    "crm": "crm_",
    "routing": "routing_",
}
_ENV = {f"CTI_{f.name.upper()}": f.name for f in fields(Settings)}


_KINDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "Path": "a path",
    "str": "text",
    "tuple[str, ...]": "a comma-separated list (in the file: a list of "
    "strings) of items of at most 60 characters",
}


def _convert(name: str, value: Any, source: str) -> Any:
    """``value`` as the field's type, then checked (``_problem``). The environment gives text;
    the file gives TOML types, and a wrong one is refused rather than coerced: ``port = true``
    would be port 1, ``port = 5038.9`` port 5038, a table would become its text."""
    kind = str(Settings.__dataclass_fields__[name].type)
    try:
        if isinstance(value, bool) and kind != "bool":
            raise TypeError(value)
        if kind == "int":
            if not isinstance(value, int | str):
                raise TypeError(value)
            converted: Any = int(value)
        elif kind == "float":
            if not isinstance(value, int | float | str):
                raise TypeError(value)
            converted = float(value)
        elif kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise TypeError(value)
            converted = tuple(item.strip(" ") for item in items if item.strip(" "))
            if not converted or any(len(item) > 60 for item in converted):
                raise ValueError(value)
        elif kind == "bool":
            words = {
                "1": True,
                "true": True,
                "yes": True,
                "on": True,
                "0": False,
                "false": False,
                "no": False,
                "off": False,
            }
            if not isinstance(value, bool | str):
                raise TypeError(value)
            converted = value if isinstance(value, bool) else words[value.lower()]
        elif not isinstance(value, str):  # str and Path
            raise TypeError(value)
        else:
            converted = Path(value) if kind == "Path" else value
    except (TypeError, ValueError, KeyError):
        raise SettingsError(f"{source}: expected {_KINDS[kind]}, got {value!r}") from None
    expected = _problem(name, converted)
    if expected is not None:
        raise SettingsError(f"{source}: expected {expected}, got {value!r}")
    return converted


# Ranges of numeric settings: (is it fine, what is expected). A zero ping interval would spin,
# a zero session would sign everyone out at once, a negative wait would never alert.
_LIMITS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ami_port": (lambda v: 1 <= v <= 65535, "a port number from 1 to 65535"),
    "http_port": (lambda v: 1 <= v <= 65535, "a port number from 1 to 65535"),
    "routing_agi_port": (lambda v: 1 <= v <= 65535, "a port number from 1 to 65535"),
    "ami_ping_interval": (lambda v: 0 < v <= 3600, "seconds, more than 0 and at most 3600"),
    "session_hours": (lambda v: 0 < v <= 24 * 366, "hours, more than 0 and at most a year"),
    "crm_timeout_s": (lambda v: 0 < v <= 60, "seconds, more than 0 and at most 60"),
    "center_wrapup_s": (lambda v: 0 <= v <= 3600, "seconds from 0 to 3600"),
    "center_max_wait_s": (lambda v: 0 <= v <= 86400, "seconds from 0 to 86400"),
    "center_qa_sample_per_week": (lambda v: 0 <= v <= 1000, "a count from 0 to 1000"),
    "center_service_level_target": (
        lambda v: 0 < v <= 1,
        "a share more than 0 and at most 1 (0.8 is 80 %)",
    ),
    "center_max_abandon_rate": (
        lambda v: 0 <= v <= 1,
        "a share from 0 to 1 (0.1 is 10 %)",
    ),
}
# CR or LF in a pause reason would end an AMI line early (QueuePause's Reason), NUL is refused
# by PostgreSQL; no setting has a use for any control character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _problem(name: str, value: Any) -> str | None:
    """What the field needs if ``value`` (already of the field's type) is wrong, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "a finite number"
    texts = value if isinstance(value, tuple) else (str(value),)
    if isinstance(value, str | Path | tuple) and any(_CONTROL.search(t) for t in texts):
        return "text without control characters (CR, LF, NUL, tab)"
    if name in _LIMITS:
        fine, expected = _LIMITS[name]
        return None if fine(value) else expected
    if name == "center_timezone":
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            return "an IANA time zone name such as Europe/Istanbul or UTC"
    parsers: dict[str, Callable[[Any], object]] = {
        "center_qa_form": parse_form,
        "center_wrapup_by_queue": seconds_by_queue,
    }
    if name in parsers:
        try:
            parsers[name](value)
        except ValueError as exc:
            return f"items as the example shows ({exc})"
    if name == "routing_agi_allowed":
        try:
            for item in value:
                ipaddress.ip_network(item, strict=False)
        except ValueError:
            return "IP addresses or networks of the Asterisk servers, e.g. 10.0.0.5, 10.1.0.0/24"
    return None


def seconds_by_queue(items: Iterable[str]) -> dict[str, float]:
    """``("collections:60", "sales:10")`` -> ``{"collections": 60.0, "sales": 10.0}``."""
    seconds: dict[str, float] = {}
    for item in items:
        queue, _, value = (part.strip() for part in item.rpartition(":"))
        try:
            seconds[queue] = float(value)
        except ValueError:
            seconds[queue] = -1.0
        if not queue or not 0 <= seconds[queue] <= 3600:
            raise ValueError(f"{item!r}: write queue:seconds, seconds from 0 to 3600")
    return seconds


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if config_file is None and environ.get("CTI_CONFIG"):
        config_file = Path(environ["CTI_CONFIG"])
    if config_file is not None:
        try:
            document = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read config file {config_file}: {exc}") from None
        for section, table in document.items():
            if not isinstance(table, dict):  # a top-level key such as data_dir
                table, section = {section: table}, ""
            prefix = _SECTIONS.get(section, "") if section else ""
            if section and section not in _SECTIONS:
                raise SettingsError(f"{config_file}: unknown section [{section}]")
            for key, value in table.items():
                name = prefix + key
                where = f"[{section}] {key}" if section else f"top-level {key}"
                if name not in Settings.__dataclass_fields__:
                    raise SettingsError(f"{config_file}: unknown key {where}")
                values[name] = _convert(name, value, f"{config_file} {where}")
    for env, name in _ENV.items():
        if environ.get(env):
            values[name] = _convert(name, environ[env], env)
    values.update(overrides)
    return Settings(**values)
