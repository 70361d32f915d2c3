"""Agents' phones rung outside queues (cti/state/direct_rings.py), from real captures: the
target of a transfer gets the screen-pop, and the row names where the call ended."""

from __future__ import annotations

from pathlib import Path

from cti.replay import capture_bytes, replay
from cti.state.changes import AgentRingEnded, AgentRinging, Anomaly, Change, Outcome

REAL = Path(__file__).resolve().parents[1] / "captures" / "real"


class Changes:
    def __init__(self) -> None:
        self.seen: list[Change] = []

    def offer(self, changes: list[Change]) -> None:
        self.seen.extend(changes)


def played(name: str) -> tuple[list[Change], list[object]]:
    changes = Changes()
    records, pipeline = replay(capture_bytes(REAL / name), sinks=[changes])
    assert pipeline.stats.handler_errors == 0
    assert not pipeline.state.calls and not pipeline.state._direct_rings
    assert all(a.talking is None for a in pipeline.state.agents.values())
    return changes.seen, list(records)


def rings(changes: list[Change]) -> list[tuple[str, str]]:
    return [
        (c.interface, c.reason if isinstance(c, AgentRingEnded) else "rings")
        for c in changes
        if isinstance(c, AgentRinging | AgentRingEnded)
    ]


def test_the_consulted_agent_is_popped_and_takes_the_call_when_it_completes() -> None:
    changes, (record,) = played("attended-transfer.ami")
    assert not [c for c in changes if isinstance(c, Anomaly)]
    assert rings(changes) == [
        ("PJSIP/1001", "rings"),
        ("PJSIP/1001", "answered"),
        ("PJSIP/1002", "rings"),  # the consultation: 1002's screen shows the caller
        ("PJSIP/1002", "answered"),
    ]
    consulted = [c for c in changes if isinstance(c, AgentRinging)][1]
    assert (consulted.caller_number, consulted.queue) == ("905329900012", "support")
    assert (record.outcome, record.agent, record.queue) == (
        Outcome.TRANSFERRED,
        "PJSIP/1002",
        "support",
    )
    # From 1001's answer to the caller's hang-up: 1001's part and 1002's.
    assert record.talk_s is not None and record.talk_s > 20
