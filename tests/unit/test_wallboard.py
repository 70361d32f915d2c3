"""The wallboard's pure parts: alerts raised once per lasting condition and cleared when it
ends, and the pushes that carry only what changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from test_state_route_wrapup import Center

from cti.ami.events import WANTED_EVENTS
from cti.ami.frames import FrameSplitter
from cti.pipeline import Pipeline
from cti.replay import capture_bytes
from cti.state import views
from cti.state.changes import AgentState, AgentStateChanged, CallsMerged, Change, Resynced
from cti.state.store import CtiState
from cti.supervision.wallboard import (
    AgentLine,
    Alert,
    AlertLog,
    AlertTracker,
    Sweep,
    Touched,
    WallFeed,
)


def board(*alerts: tuple[str, str, str]) -> list[dict[str, object]]:
    queues: dict[str, list[dict[str, str]]] = {"sales": [], "support": []}
    for queue, kind, text in alerts:
        queues[queue].append({"kind": kind, "text": text})
    return [{"queue": name, "alerts": found} for name, found in queues.items()]


def test_an_alert_is_raised_once_while_it_lasts_then_cleared() -> None:
    tracker = AlertTracker()
    assert tracker.update(board(), 1.0) == []
    assert tracker.update(board(("sales", "long_wait", "waited 61 s")), 2.0) == [
        Alert("sales", "long_wait", "waited 61 s", True, 2.0)
    ]
    assert tracker.update(
        board(("sales", "long_wait", "waited 63 s"), ("support", "service_level", "SL 70%")), 4.0
    ) == [Alert("support", "service_level", "SL 70%", True, 4.0)]  # the wait is not raised again
    assert tracker.update(board(("support", "service_level", "SL 70%")), 6.0) == [
        Alert("sales", "long_wait", "waited 63 s", False, 6.0)
    ]


def test_the_alert_log_gives_those_since_a_time_newest_first() -> None:
    log = AlertLog(keep=3)
    yesterday = Alert("sales", "long_wait", "waited 61 s", True, 10.0)
    raised = Alert("support", "abandon_rate", "20% hung up", True, 100.0)
    cleared = Alert("support", "abandon_rate", "20% hung up", False, 160.0)
    for alert in (yesterday, raised, cleared):
        log.add(alert)
    assert log.since(50.0) == [cleared, raised]
    assert log.since(0.0) == [cleared, raised, yesterday]
    log.add(Alert("sales", "long_wait", "waited 70 s", True, 200.0))
    assert yesterday not in log.since(0.0)  # it keeps the latest few only


def wall(*queues: dict[str, object], link: bool = True) -> dict[str, object]:
    return {"queues": list(queues), "ami_connected": link, "at": "t"}


def test_the_wall_is_pushed_as_what_changed() -> None:
    feed = WallFeed()
    q1, q2 = {"queue": "sales", "waiting": 1}, {"queue": "support", "waiting": 0}
    agent = {"interface": "SIP/1", "state": "ready"}
    first = feed.delta(wall(q1, q2), {"SIP/1": agent}, {}, complete=True)
    assert first is not None and (first.cards, first.agent_rows) == ([q1, q2], [agent])
    assert feed.delta(wall(q1, q2), {"SIP/1": agent}, {}, complete=True) is None
    assert feed.delta(wall(q1, q2), {}, {}, complete=False) is None  # nothing named
    busy = {"interface": "SIP/1", "state": "on_call"}
    call = {"linkedid": "L1", "caller_number": "5551"}
    second = feed.delta(wall(q1), {"SIP/1": busy}, {"L1": call}, complete=False)
    assert second is not None
    assert (second.cards, second.cards_gone) == ([], ["support"])
    assert (second.agent_rows, second.call_rows, second.call_rows_gone) == ([busy], [call], [])
    third = feed.delta(wall(q1), {}, {"L1": None}, complete=False)  # the call is over
    assert third is not None and (third.call_rows, third.call_rows_gone) == ([], ["L1"])
    assert third.agent_rows_gone == []  # an agent not named is kept
    fourth = feed.delta(wall(q1), {}, {}, complete=True)  # a full look: nobody left
    assert fourth is not None and fourth.agent_rows_gone == ["SIP/1"]
    link_down = feed.delta(wall(q1, link=False), {}, {}, complete=True)
    assert link_down is not None and link_down.is_empty and not link_down.ami_connected


def test_the_wall_rebuilds_what_the_changes_name() -> None:
    touched = Touched()
    assert touched.take() == (True, set(), set())  # the first push looks at everything
    touched.offer(
        [
            AgentStateChanged(
                ts=1.0,
                interface="SIP/1",
                member_name="",
                state=AgentState.READY,
                reason="",
                queues=("sales",),
            ),
            CallsMerged(ts=1.0, absorbed="L2", into="L1"),
        ]
    )
    assert touched.take() == (False, {"SIP/1"}, {"L1", "L2"})
    assert touched.take() == (False, set(), set())
    touched.offer([Resynced(ts=2.0)])
    assert touched.take()[0] is True


def counted(by_queue: Mapping[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {q: {s: n for s, n in c.items() if n} for q, c in by_queue.items() if +c}


class LineChecker:
    """After each message: the agents line kept from the agents the changes named, and the
    one counted from every agent (the pipeline keeps a sink's failure to itself: the test
    compares them afterwards)."""

    def __init__(self, touched: Touched) -> None:
        self.touched = touched
        self.line = AgentLine()
        self.state: CtiState | None = None
        self.both: list[tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]] = []

    def offer(self, changes: Sequence[Change]) -> None:
        assert self.state is not None
        everything, interfaces, _ = self.touched.take()
        self.line.update(self.state, None if everything else interfaces, self.state.clock)
        every = views.agent_states_by_queue(self.state, self.state.clock)
        self.both.append((counted(self.line.by_queue), counted(every)))


CAPTURES = ["load-6cps.ami.xz", *sorted(p.name for p in Path("tests/captures/real").glob("*.ami"))]


@pytest.mark.parametrize("name", CAPTURES)
def test_the_agents_line_follows_the_agents_the_changes_name(captures: Path, name: str) -> None:
    path = captures / name if (captures / name).exists() else captures / "real" / name
    touched = Touched()
    checker = LineChecker(touched)
    pipeline = Pipeline(CtiState(), [touched, checker])
    checker.state = pipeline.state
    splitter = FrameSplitter(WANTED_EVENTS)
    for message in splitter.feed(capture_bytes(path)):
        pipeline.process(message, None)
    assert len(checker.both) > 3 and checker.both[-1][1], "agents were counted"
    assert [kept for kept, _ in checker.both] == [every for _, every in checker.both]


def test_the_agents_line_sees_a_wrap_up_end() -> None:
    center = Center({"support": 5, "sales": 10})
    touched, line = Touched(), AgentLine()

    def push(now: float) -> dict[str, dict[str, int]]:
        touched.offer(center.changes)
        center.changes.clear()
        everything, interfaces, _ = touched.take()
        line.update(center.state, None if everything else interfaces, now)
        assert counted(line.by_queue) == counted(views.agent_states_by_queue(center.state, now))
        return counted(line.by_queue)

    assert push(99.0) == {"support": {"ready": 1}, "sales": {"ready": 1}}
    center.routed_call_answered(104.0)
    assert push(104.0) == {"support": {"on_call": 1}, "sales": {"on_call": 1}}
    center.hang_up(150.0)
    assert push(150.0) == {"support": {"wrap_up": 1}, "sales": {"wrap_up": 1}}
    center.tick(160.0)  # the Tick that ends the wrap-up names the agent
    assert push(160.0) == {"support": {"ready": 1}, "sales": {"ready": 1}}


def test_a_sweep_takes_every_key_in_turn() -> None:
    sweep = Sweep()
    keys = [str(n) for n in range(250)]
    taken = [sweep.next(keys) for _ in range(3)]
    assert [len(t) for t in taken] == [100, 100, 100]
    assert set().union(*taken) == set(keys)  # the third turn wraps around
    fewer = sweep.next(keys[:40])  # the list shrank: each key once, from where it was
    assert fewer == [*keys[20:40], *keys[:20]]
