"""The wallboard's pure parts: alerts raised once per lasting condition and cleared when it
ends, and the pushes that carry only what changed."""

from __future__ import annotations

from cti.state.changes import AgentState, AgentStateChanged, CallsMerged, Resynced
from cti.supervision.wallboard import Alert, AlertTracker, Touched, WallFeed


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
