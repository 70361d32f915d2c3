"""The ACD's configuration: routes, agents' skills, the policy; one TOML file.

```toml
policy = "longest_idle"        # or fewest_calls, highest_skill
ring_s = 20                    # how long the chosen agent's phone rings
sticky_wait_s = 30             # how long a call waits for the customer's busy last agent
debt_priority_over = 10000     # a caller owing more than this is served one level sooner

[routes.collections-tr]        # the route point's name, as the dialplan passes it
skills = "turkish:3, collections:2"
priority = 1

[agents]                       # queue member interface = skills
"PJSIP/1001" = "turkish:5, collections:3"
```
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cti.routing.policy import Policy, SkillLevels, parse_skills, skill_levels


class RoutingConfigError(ValueError):
    """The routing file is wrong; the message says where and how to fix it."""


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    skills: SkillLevels
    priority: int = 0


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    policy: Policy = Policy.LONGEST_IDLE
    ring_s: int = 20
    sticky_wait_s: float = 30.0
    debt_priority_over: Decimal | None = None
    routes: Mapping[str, Route] = field(default_factory=dict)
    agent_skills: Mapping[str, SkillLevels] = field(default_factory=dict)
    # Wrap-up after a call the ACD dialled: app_queue's wrapuptime covers only the calls it
    # delivered, and AMI does not report a queue's wrapuptime, so say it here (as queues.conf).
    wrapup_s: float = 5.0


# Control characters in a route name, an interface or a skill would reach AMI lines (CR, LF)
# and PostgreSQL (NUL) through the decisions.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ROUTE_KEYS = {"skills", "priority"}
MAX_PRIORITY = 1000


def _number(
    document: Mapping[str, Any], key: str, default: float, highest: float, source: str
) -> float:
    value = document.get(key, default)
    # nan fails the comparison too.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= highest:
        raise RoutingConfigError(
            f"{source}{key} must be a number of seconds from 0 to {highest:g}, got {value!r}"
        )
    return float(value)


def _whole(
    table: Mapping[str, Any],
    key: str,
    default: int,
    lowest: int,
    highest: int,
    source: str,
    what: str = "a whole number",
) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise RoutingConfigError(
            f"{source}{key} must be {what} from {lowest} to {highest}, got {value!r}"
        )
    return value


def _table(document: Mapping[str, Any], key: str, source: Path) -> Mapping[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise RoutingConfigError(f"{source}: {key} must be a table ([{key}] ...), got {value!r}")
    return value


def _skills(value: Any, where: str) -> SkillLevels:
    """A skills value: ``"turkish:3, collections:2"``, or a list of such strings."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ", ".join(value)
    if not isinstance(value, str):
        raise RoutingConfigError(
            f'{where}: expected skills as text such as "turkish:3, collections:2", got {value!r}'
        )
    if _CONTROL.search(value):
        raise RoutingConfigError(f"{where}: control character in {value!r}")
    try:
        return skill_levels(parse_skills(value))
    except ValueError as exc:
        raise RoutingConfigError(f"{where}: {exc}") from None


def _name(name: str, where: str) -> str:
    if not name.strip() or _CONTROL.search(name):
        raise RoutingConfigError(f"{where}: the name {name!r} is empty or has a control character")
    return name


def load_routing(path: Path) -> RoutingConfig:
    """Every mistake is one RoutingConfigError naming the file, the table and the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RoutingConfigError(f"cannot read routing file {path}: {exc}") from None
    known = {
        "policy",
        "ring_s",
        "sticky_wait_s",
        "debt_priority_over",
        "wrapup_s",
        "routes",
        "agents",
    }
    unknown = set(document) - known
    if unknown:
        raise RoutingConfigError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    policy_value = document.get("policy", Policy.LONGEST_IDLE.value)
    if not isinstance(policy_value, str) or policy_value not in {p.value for p in Policy}:
        raise RoutingConfigError(
            f"{path}: policy must be one of "
            f"{', '.join(p.value for p in Policy)}, got {policy_value!r}"
        )
    top = f"{path}: "
    routes = {}
    for name, table in _table(document, "routes", path).items():
        where = f"{path}: [routes.{name}]"
        _name(name, where)
        if not isinstance(table, dict):
            raise RoutingConfigError(
                f'{where} must be a table with skills = "..." and an '
                f"optional priority, got {table!r}"
            )
        if set(table) - ROUTE_KEYS:
            raise RoutingConfigError(
                f"{where}: unknown keys {', '.join(sorted(set(table) - ROUTE_KEYS))}"
            )
        skills = _skills(table.get("skills", ""), f"{where} skills")
        priority = _whole(table, "priority", 0, 0, MAX_PRIORITY, f"{where} ")
        routes[name] = Route(name, skills, priority)
    agents = {}
    for interface, text in _table(document, "agents", path).items():
        where = f"{path}: [agents] {interface}"
        agents[_name(interface, where)] = _skills(text, where)
    return RoutingConfig(
        Policy(policy_value),
        _whole(document, "ring_s", 20, 1, 600, top, "a number of whole seconds"),
        _number(document, "sticky_wait_s", 30, 3600, top),
        _debt(document.get("debt_priority_over"), path),
        routes,
        agents,
        _number(document, "wrapup_s", 5, 3600, top),
    )


def _debt(value: Any, path: Path) -> Decimal | None:
    """An amount: a TOML number, or a string to keep cents exact ("10000.50")."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidOperation
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("nan")
    if not amount.is_finite() or amount < 0:
        raise RoutingConfigError(
            f"{path}: debt_priority_over must be an amount of 0 or more, got {value!r}"
        )
    return amount
