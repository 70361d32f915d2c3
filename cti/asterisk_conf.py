"""Reading Asterisk's .conf files, and checking the project's deployment configuration.

Asterisk has no offline config checker we can run here, so ``check_deployment`` checks what
would otherwise fail only on a live PBX: the AMI user's least privilege, queues the dialplan
uses, members with a PJSIP endpoint, AGI scripts that exist and are executable (or are console
scripts of ``cti.agi``, installed with the package), includes that resolve.
``python -m cti.asterisk_conf asterisk-conf dialplan`` prints the problems.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
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


def is_true(value: str | None) -> bool:
    """A boolean option as Asterisk's ast_true reads it."""
    return (value or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


# --- dialplan extensions and Asterisk's pattern rules ------------------------------------


def extensions(dialplan: ConfFile, context: str) -> list[str]:
    """The extensions (names or ``_`` patterns) defined in one context of a dialplan."""
    return [
        value.split(",", 1)[0].strip()
        for section in dialplan.named(context)
        for key, value in section.entries
        if key == "exten"
    ]


_PATTERN_LETTERS = {"x": "0123456789", "z": "123456789", "n": "23456789"}


def extension_matches(pattern: str, exten: str) -> bool:
    """Whether Asterisk runs the dialplan extension ``pattern`` for the dialled ``exten``.

    Follows pbx.c's ``_extension_match_core`` (full match). A name without a leading ``_`` is
    compared literally. After ``_``, letters are pattern characters even inside a word:
    ``X`` is any digit, ``Z`` 1-9, ``N`` 2-9 (either case), ``[...]`` one character of a set
    (``a-c`` is a range), ``.`` one or more characters, ``!`` zero or more. Anything else is
    literal. ``-`` is decoration in both the pattern and the dialled string, and a ``/``
    starts a caller ID match (not checked here). So ``_listen-.`` does not match
    ``listen-1001``: its ``n`` wants a digit 2-9.
    """
    dialled = exten.replace("-", "")
    if not pattern.startswith("_"):
        return pattern.replace("-", "").replace(" ", "") == dialled.replace(" ", "")
    pattern = pattern[1:].split("/", 1)[0]
    i = j = 0  # positions in pattern and dialled
    while i < len(pattern) and j < len(dialled):
        char, digit = pattern[i], dialled[j]
        if char in "- ":
            i += 1
            continue
        if char in ".!":
            return True  # what is left of the dialled string (at least one character)
        if char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return False  # Asterisk warns "Wrong usage of [] in the extension"
            members = pattern[i + 1 : end]
            if members:  # an empty set is skipped, it consumes nothing
                if not _in_set(members, digit):
                    return False
                j += 1
            i = end + 1
            continue
        digits = _PATTERN_LETTERS.get(char.lower())
        if digits is not None and digit not in digits:
            return False
        if digits is None and digit != char:
            return False
        i, j = i + 1, j + 1
    if j < len(dialled):
        return False  # the dialled string is longer than the pattern
    rest = pattern[i:].lstrip("- ")
    return rest == "" or rest.startswith("!")  # "!" also matches nothing; "." needs a char


def _in_set(chars: str, digit: str) -> bool:
    """One character against the inside of ``[...]``: single characters and ``a-c`` ranges."""
    k = 0
    while k < len(chars):
        if k + 2 < len(chars) and chars[k + 1] == "-":
            if chars[k] <= digit <= chars[k + 2]:
                return True
            k += 3
        else:
            if chars[k] == digit:
                return True
            k += 1
    return False


def package_agis() -> set[str]:
    """AGI programs of this package: console scripts that run a ``cti.agi`` module, which pip
    writes with the package and a deployment links into Asterisk's agi-bin. Declared in the
    installed package's metadata, or in the pyproject.toml of the checkout being checked."""
    declared = {e.name: e.value for e in entry_points(group="console_scripts")}
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        declared.update(project.get("scripts", {}))
    names: set[str] = set()
    for name, target in declared.items():
        module, _, function = target.partition(":")
        if not module.startswith("cti.agi."):
            continue
        try:  # the module and its function exist in this code
            if callable(getattr(importlib.import_module(module), function, None)):
                names.add(name)
        except ImportError:
            continue
    return names


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
                problems.append(
                    f"manager.conf: [{AMI_USER}] {key} = {','.join(sorted(have))};"
                    f" least privilege is {','.join(sorted(wanted))}"
                )
        if not any(k == "deny" for k, _ in users[0].entries):
            problems.append(f"manager.conf: [{AMI_USER}] must deny all and permit the daemon")
    queues = load(conf_dir / "queues.conf")
    queue_names = {s.name for s in queues.sections if "!" not in s.templates} - {"general"}
    # Without autofill (off by default) app_queue offers only the head caller to free
    # agents: a second caller waits while an agent is idle (seen on Asterisk 20).
    queues_general = queues.named("general")
    if not queues_general or not is_true(queues_general[0].get("autofill")):
        problems.append(
            "queues.conf: [general] needs autofill = yes (Asterisk's default is "
            "off: callers behind the first wait while agents are free)"
        )
    for section in queues.sections:
        autofill = queues.value(section, "autofill")
        if section.name in queue_names and autofill is not None and not is_true(autofill):
            problems.append(
                f"queues.conf: [{section.name}] autofill = {autofill}: callers "
                "behind the first wait while agents are free"
            )
    pjsip = load(conf_dir / "pjsip.conf")
    endpoints = {s.name for s in pjsip.sections if pjsip.value(s, "type") == "endpoint"}
    for section in queues.sections:
        for key, value in section.entries:
            if key == "member":
                interface = value.split(",")[0].strip()
                tech, _, name = interface.partition("/")
                if tech == "PJSIP" and name not in endpoints:
                    problems.append(
                        f"queues.conf: [{section.name}] member {interface} has no "
                        "endpoint in pjsip.conf"
                    )
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
            if script in package_agis():  # installed by pip, linked into agi-bin
                continue
            agi = dialplan_dir / "agi" / script
            if not agi.is_file() or not os.access(agi, os.X_OK):
                problems.append(
                    f"{path.name}: AGI({script}) is not an executable file in "
                    "dialplan/agi/ nor a console script of cti.agi"
                )
    return problems


def main() -> None:
    conf_dir, dialplan_dir = (Path(a) for a in (sys.argv[1:3] or ["asterisk-conf", "dialplan"]))
    problems = check_deployment(conf_dir, dialplan_dir)
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
