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
    config = load_routing(write(tmp_path, """
policy = "fewest_calls"
ring_s = 12
debt_priority_over = 10000.50
[routes.collections-tr]
skills = "turkish:3, collections:2"
priority = 2
[agents]
"PJSIP/1001" = "turkish:5"
"""))
    assert config.policy is Policy.FEWEST_CALLS and config.ring_s == 12
    assert config.debt_priority_over == Decimal("10000.50")
    route = config.routes["collections-tr"]
    assert route.skills == (("turkish", 3), ("collections", 2)) and route.priority == 2
    assert config.agent_skills == {"PJSIP/1001": (("turkish", 5),)}


@pytest.mark.parametrize(("text", "message"), [
    ('policy = "random"', "policy must be one of longest_idle"),
    ("ring = 5", "unknown keys ring"),
    ("ring_s = -1", "ring_s must be a number"),
    ('[routes.x]\nskills = "turkish"', r"\[routes.x\] skills: skill 'turkish' has no level"),
    ('[agents]\n"PJSIP/1001" = "tr:11"', r"\[agents\] PJSIP/1001: skill 'tr' has level 11"),
    ("[routes", "cannot read routing file"),
])  # fmt: skip
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RoutingConfigError, match=message):
        load_routing(write(tmp_path, text))


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
