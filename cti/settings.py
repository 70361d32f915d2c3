"""One frozen ``Settings``, read once from the environment and an optional TOML file.

Environment variables win over the file, so a deployment can keep its secrets out of it.
The TOML file (``CTI_CONFIG`` or ``--config``) uses sections ``[ami]``, ``[http]``,
``[database]``, ``[center]`` whose keys are the field names below without their prefix
(``[ami] host = ...``); fields without a prefix (``data_dir``, ``session_hours``) are top-level.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


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
    session_hours: float = 8.0
    metrics_token: str = ""  # empty: /metrics is open (it carries no personal data)
    center_timezone: str = "UTC"
    center_region: str = "TR"  # ISO country for caller numbers given in national format
    center_service_level_target: float = 0.8  # share of calls answered within the threshold
    center_pause_reasons: tuple[str, ...] = ("Break", "Lunch", "Training", "Meeting", "Back office")
    center_dispositions: tuple[str, ...] = (
        "Resolved", "Payment promised", "Callback requested", "Wrong number", "Complaint",
        "Information given", "Escalated",
    )  # fmt: skip
    # After a queue call the agent stays in wrap-up (paused in Asterisk, reason "Wrap-up")
    # until they press Ready, or at most this many seconds; 0 leaves it to Asterisk.
    center_wrapup_s: float = 0.0
    # Per queue, "queue:seconds" items (e.g. "collections:60, sales:10"); others: the above.
    center_wrapup_by_queue: tuple[str, ...] = ()
    center_max_wait_s: int = 60  # a caller waiting longer raises a wallboard alert
    # Quality review form, "criterion:weight" items (see cti/quality.py), and how many of
    # each agent's recorded calls are proposed for review each week.
    center_qa_form: tuple[str, ...] = (
        "Greeting and identification:15", "Identity checked before account details:25",
        "Accurate and complete information:25", "Courtesy and empathy:20",
        "Disposition and notes recorded:15",
    )  # fmt: skip
    center_qa_sample_per_week: int = 3
    crm_url: str = ""  # external CRM lookup, a template with {number}; empty: none
    crm_timeout_s: float = 2.0  # the pop never waits for it; a slower answer is dropped
    crm_token: str = ""  # bearer token for the CRM, if it needs one
    routing_file: str = ""  # ACD routes and skills (cti/routing/config.py); empty: no ACD
    routing_agi_host: str = "127.0.0.1"  # FastAGI for the route points: keep it private
    routing_agi_port: int = 4573

    def __repr__(self) -> str:  # secrets never reach a log line
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("ami_secret", "metrics_token", "database_url", "crm_token"):
            if shown[name]:
                shown[name] = "***"
        return f"Settings({shown})"

    @property
    def recordings_path(self) -> Path:
        return Path(self.recordings_dir) if self.recordings_dir else self.data_dir / "recordings"

    def require_ami_login(self) -> None:
        missing = [
            env for env, value in (
                ("CTI_AMI_USERNAME", self.ami_username), ("CTI_AMI_SECRET", self.ami_secret),
            ) if not value
        ]  # fmt: skip
        if missing:
            raise SettingsError(
                f"missing setting(s): {', '.join(missing)}. Set them to the AMI user and "
                "secret of the daemon's section in Asterisk's manager.conf (environment, or "
                "[ami] username/secret in the file named by CTI_CONFIG)."
            )


_SECTIONS = {"ami": "ami_", "http": "http_", "database": "database_", "center": "center_",
             "crm": "crm_", "routing": "routing_"}  # fmt: skip
_ENV = {f"CTI_{f.name.upper()}": f.name for f in fields(Settings)}


def _convert(name: str, value: Any, source: str) -> Any:
    kind = Settings.__dataclass_fields__[name].type
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else list(value)
            cleaned = tuple(str(item).strip() for item in items if str(item).strip())
            if not cleaned or any(len(item) > 60 or "\n" in item for item in cleaned):
                raise ValueError(value)
            return cleaned
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return str(value).lower() in ("1", "true", "yes", "on")
            raise ValueError(value)
        if kind == "Path":
            return Path(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{source}: expected {kind}, got {value!r}") from None


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
                if name not in Settings.__dataclass_fields__:
                    raise SettingsError(f"{config_file}: unknown key {key!r} in [{section}]")
                values[name] = _convert(name, value, f"{config_file} [{section}] {key}")
    for env, name in _ENV.items():
        if environ.get(env):
            values[name] = _convert(name, environ[env], env)
    values.update(overrides)
    return Settings(**values)
