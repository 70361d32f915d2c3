"""The ACD's routing file: what it yields, and errors that say where to fix it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cti.routing.config import RoutingConfigError, load_routing
from cti.routing.policy import Policy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_routing_file(tmp_path: Path) -> None:
    config = load_routing(
        write(
            tmp_path,
            """
policy = "fewest_calls"
ring_s = 12
debt_priority_over = 10000.50
[routes.collections-tr]
skills = "turkish:3, collections:2"
priority = 2
[agents]
"PJSIP/1001" = "turkish:5"
""",
        )
    )
    assert config.policy is Policy.FEWEST_CALLS and config.ring_s == 12
    assert config.debt_priority_over == Decimal("10000.50")
    route = config.routes["collections-tr"]
    assert route.skills == (("turkish", 3), ("collections", 2)) and route.priority == 2
    assert config.agent_skills == {"PJSIP/1001": (("turkish", 5),)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('policy = "random"', "policy must be one of longest_idle"),
        ("ring = 5", "unknown keys ring"),
        ("ring_s = -1", "ring_s must be a number"),
        ('[routes.x]\nskills = "turkish"', r"\[routes.x\] skills: skill 'turkish' has no level"),
        ('[agents]\n"PJSIP/1001" = "tr:11"', r"\[agents\] PJSIP/1001: skill 'tr' has level 11"),
        ("[routes", "cannot read routing file"),
        # Wrong types and values: one line naming the file, the table and the key.
        ('policy = ["longest_idle"]', r"policy must be one of .*, got \['longest_idle'\]"),
        ("ring_s = 2.5", "ring_s must be a number of whole seconds from 1 to 600, got 2.5"),
        ("ring_s = true", "ring_s must be a number of whole seconds from 1 to 600, got True"),
        ("ring_s = 0", "ring_s must be a number of whole seconds from 1 to 600, got 0"),
        (
            "sticky_wait_s = nan",
            "sticky_wait_s must be a number of seconds from 0 to 3600, got nan",
        ),
        (
            "sticky_wait_s = inf",
            "sticky_wait_s must be a number of seconds from 0 to 3600, got inf",
        ),
        ('wrapup_s = "5"', "wrapup_s must be a number of seconds from 0 to 3600, got '5'"),
        ("wrapup_s = -1", "wrapup_s must be a number of seconds from 0 to 3600, got -1"),
        (
            'debt_priority_over = "lots"',
            "debt_priority_over must be an amount of 0 or more, got 'lots'",
        ),
        ("debt_priority_over = nan", "debt_priority_over must be an amount of 0 or more, got nan"),
        ("debt_priority_over = [1]", r"debt_priority_over must be an amount .*, got \[1\]"),
        ('routes = "collections"', r"routes must be a table \(\[routes\] ...\), got 'collections'"),
        (
            '[routes]\nx = "turkish:1"',
            r"\[routes.x\] must be a table with skills = .*, "
            "got 'turkish:1'",
        ),
        (
            "[routes.x]\nskills = 5",
            r"\[routes.x\] skills: expected skills as text such as "
            r'"turkish:3, collections:2", got 5',
        ),
        ('[routes.x]\nskills = ["turkish:1", 2]', r"\[routes.x\] skills: expected skills as text"),
        (
            '[routes.x]\nskills = "turkish:1"\npriority = -1',
            r"\[routes.x\] priority must be a whole number from 0 to 1000, got -1",
        ),
        (
            '[routes.x]\nskills = "turkish:1"\npriority = "1"',
            r"\[routes.x\] priority must be a whole number from 0 to 1000, got '1'",
        ),
        (
            '[routes.x]\nskills = "turkish:1"\npriority = 1.5',
            r"\[routes.x\] priority must be a "
            "whole number",
        ),
        (
            '[routes.x]\nskills = "turkish:1"\npriority = true',
            r"\[routes.x\] priority must be a "
            "whole number from 0 to 1000, got True",
        ),
        ('[routes.x]\nskills = "turkish:1"\nring_s = 5', r"\[routes.x\]: unknown keys ring_s"),
        ('[routes.x]\nskills = "turkish:1\\r\\n"', r"\[routes.x\] skills: control character"),
        (
            '[routes."x\\ny"]\nskills = "turkish:1"',
            r"\[routes.x\ny\]: the name 'x\\ny' is empty "
            "or has a control character",
        ),
        ("agents = 1", r"agents must be a table \(\[agents\] ...\), got 1"),
        ('[agents]\n"PJSIP/1001" = 5', r"\[agents\] PJSIP/1001: expected skills as text"),
        ('[agents]\n"PJSIP/1001" = {turkish = 5}', r"\[agents\] PJSIP/1001: expected skills"),
        (
            '[agents]\n"PJSIP/1001\\r\\nAction: Hangup" = "turkish:5"',
            r"\[agents\] PJSIP/1001\r\nAction: Hangup: the name .* has a control character",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RoutingConfigError, match=message) as refused:
        load_routing(path)
    assert str(path) in str(refused.value)


def test_skills_may_also_be_a_list(tmp_path: Path) -> None:
    config = load_routing(
        write(
            tmp_path,
            """
debt_priority_over = "10000.50"
[routes.x]
skills = ["turkish:3", "collections:2"]
[agents]
"PJSIP/1001" = ["turkish:5"]
""",
        )
    )
    assert config.routes["x"].skills == (("turkish", 3), ("collections", 2))
    assert config.agent_skills == {"PJSIP/1001": (("turkish", 5),)}
    assert config.debt_priority_over == Decimal("10000.50")


def test_the_example_routing_file_matches_the_example_dialplan() -> None:
    repo = Path(__file__).resolve().parents[2]
    config = load_routing(repo / "deploy" / "routing.toml")
    dialplan = (repo / "dialplan" / "extensions_cti.conf").read_text(encoding="utf-8")
    queues = (repo / "asterisk-conf" / "queues.conf").read_text(encoding="utf-8")
    assert config.routes and config.sticky_wait_s == 30
    for name in config.routes:
        assert f"Set(CTI_ROUTE_POINT={name})" in dialplan
    for interface in config.agent_skills:
        assert f"member => {interface}," in queues
