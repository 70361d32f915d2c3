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

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
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


def _number(document: Mapping[str, Any], key: str, default: float, source: Path) -> float:
    value = document.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RoutingConfigError(f"{source}: {key} must be a number of seconds, 0 or more")
    return float(value)


def load_routing(path: Path) -> RoutingConfig:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RoutingConfigError(f"cannot read routing file {path}: {exc}") from None
    known = {"policy", "ring_s", "sticky_wait_s", "debt_priority_over", "wrapup_s", "routes",
             "agents"}  # fmt: skip
    unknown = set(document) - known
    if unknown:
        raise RoutingConfigError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    try:
        policy = Policy(document.get("policy", Policy.LONGEST_IDLE))
    except ValueError:
        raise RoutingConfigError(
            f"{path}: policy must be one of {', '.join(p.value for p in Policy)}") from None
    debt = document.get("debt_priority_over")
    routes = {}
    for name, table in document.get("routes", {}).items():
        if not isinstance(table, dict) or not isinstance(table.get("priority", 0), int):
            raise RoutingConfigError(f"{path}: [routes.{name}] needs skills = \"...\" and "
                                     "an optional whole priority")  # fmt: skip
        try:
            skills = skill_levels(parse_skills(str(table.get("skills", ""))))
        except ValueError as exc:
            raise RoutingConfigError(f"{path}: [routes.{name}] skills: {exc}") from None
        routes[name] = Route(name, skills, table.get("priority", 0))
    agents = {}
    for interface, text in document.get("agents", {}).items():
        try:
            agents[interface] = skill_levels(parse_skills(str(text)))
        except ValueError as exc:
            raise RoutingConfigError(f"{path}: [agents] {interface}: {exc}") from None
    return RoutingConfig(
        policy, int(_number(document, "ring_s", 20, path)),
        _number(document, "sticky_wait_s", 30, path),
        None if debt is None else Decimal(str(debt)), routes, agents,
        _number(document, "wrapup_s", 5, path),
    )  # fmt: skip
