"""Reading Asterisk's .conf files, and checking the project's deployment configuration.

Asterisk has no offline config checker we can run here, so ``check_deployment`` checks what
would otherwise fail only on a live PBX: the AMI user's least privilege, queues the dialplan
uses, members with a PJSIP endpoint, AGI scripts that exist and are executable, includes that
resolve. ``python -m cti.asterisk_conf asterisk-conf dialplan`` prints the problems.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

AMI_USER = "cti"
AMI_READ = {"call", "agent", "user", "system", "cdr"}
AMI_WRITE = {"call", "agent", "originate", "reporting", "user"}


@dataclass
class Section:
    name: str
    templates: list[str]
    entries: list[tuple[str, str]] = field(default_factory=list)  # in file order

    def get(self, key: str) -> str | None:
        values = [v for k, v in self.entries if k == key]
        return values[-1] if values else None


@dataclass
class ConfFile:
    sections: list[Section]
    includes: list[str]

    def named(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    def value(self, section: Section, key: str) -> str | None:
        """The entry's value, inherited from the section's templates when not its own."""
        own = section.get(key)
        if own is not None:
            return own
        for template in reversed(section.templates):
            for parent in self.named(template):
                inherited = self.value(parent, key)
                if inherited is not None:
                    return inherited
        return None


_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?$")


def parse(text: str) -> ConfFile:
    """Sections ``[name]`` / ``[name](template, !)``, ``key = value`` and ``key => value``
    entries, ``;`` comments (``\\;`` is a literal semicolon), ``#include`` lines."""
    sections: list[Section] = []
    includes: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        if line.startswith("#include"):
            includes.append(line.split(None, 1)[1].strip().strip('"<>'))
            continue
        match = _SECTION.match(line)
        if match:
            templates = [t.strip() for t in (match.group(2) or "").split(",") if t.strip()]
            sections.append(Section(match.group(1).strip(), templates))
            continue
        key, sep, value = line.partition("=")
        if not sep or not sections:
            raise ValueError(f"line {number}: not a section, entry or include: {raw!r}")
        sections[-1].entries.append((key.strip(), value.lstrip(">").strip()))
    return ConfFile(sections, includes)


def load(path: Path) -> ConfFile:
    return parse(path.read_text(encoding="utf-8"))


def check_deployment(conf_dir: Path, dialplan_dir: Path) -> list[str]:
    problems: list[str] = []
    manager = load(conf_dir / "manager.conf")
    general = manager.named("general")
    if not general or general[0].get("timestampevents") != "yes":
        problems.append("manager.conf: [general] needs timestampevents = yes")
    users = manager.named(AMI_USER)
    if not users:
        problems.append(f"manager.conf: no [{AMI_USER}] user for the daemon")
    else:
        for key, wanted in (("read", AMI_READ), ("write", AMI_WRITE)):
            have = {p.strip() for p in (users[0].get(key) or "").split(",") if p.strip()}
            if have != wanted:
                problems.append(f"manager.conf: [{AMI_USER}] {key} = {','.join(sorted(have))};"
                                f" least privilege is {','.join(sorted(wanted))}")
        if not any(k == "deny" for k, _ in users[0].entries):
            problems.append(f"manager.conf: [{AMI_USER}] must deny all and permit the daemon")
    queues = load(conf_dir / "queues.conf")
    queue_names = {s.name for s in queues.sections if "!" not in s.templates} - {"general"}
    pjsip = load(conf_dir / "pjsip.conf")
    endpoints = {s.name for s in pjsip.sections if pjsip.value(s, "type") == "endpoint"}
    for section in queues.sections:
        for key, value in section.entries:
            if key == "member":
                interface = value.split(",")[0].strip()
                tech, _, name = interface.partition("/")
                if tech == "PJSIP" and name not in endpoints:
                    problems.append(f"queues.conf: [{section.name}] member {interface} has no "
                                    "endpoint in pjsip.conf")  # fmt: skip
    dialplan_files = [conf_dir / "extensions.conf"]
    for include in load(conf_dir / "extensions.conf").includes:
        target = dialplan_dir / include.removeprefix("dialplan/")
        if not target.is_file():
            problems.append(f"extensions.conf: #include {include} does not exist")
        else:
            dialplan_files.append(target)
    for path in dialplan_files:
        text = path.read_text(encoding="utf-8")
        for queue in re.findall(r"\bQueue\(([^,)$]+)", text):
            if queue not in queue_names:
                problems.append(f"{path.name}: Queue({queue}) is not in queues.conf")
        for variable, queue in re.findall(r"\bSet\((CTI_(?:HOLD_)?QUEUE)=([^)]+)\)", text):
            if queue not in queue_names:
                problems.append(f"{path.name}: {variable}={queue} is not in queues.conf")
        for script in re.findall(r"\bAGI\(([^,)]+)", text):
            if script.startswith(("agi://", "${")):  # FastAGI: the daemon's route point
                continue
            agi = dialplan_dir / "agi" / script
            if not agi.is_file() or not os.access(agi, os.X_OK):
                problems.append(f"{path.name}: AGI({script}) is not an executable file in "
                                "dialplan/agi/")  # fmt: skip
    return problems


def main() -> None:
    conf_dir, dialplan_dir = (Path(a) for a in (sys.argv[1:3] or ["asterisk-conf", "dialplan"]))
    problems = check_deployment(conf_dir, dialplan_dir)
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
