"""The wallboard's pure parts: alerts raised once per lasting condition and cleared when it
ends, and the pushes that carry only what changed."""

from __future__ import annotations

from cti.supervision.wallboard import Alert, AlertTracker, WallFeed


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


def test_the_wall_is_pushed_as_what_changed() -> None:
    feed = WallFeed()
    q1, q2 = {"queue": "sales", "waiting": 1}, {"queue": "support", "waiting": 0}
    agent = {"interface": "SIP/1", "state": "ready"}
    overview = {"ami_connected": True, "agents": [agent], "calls": []}
    first = feed.delta({"queues": [q1, q2], "at": "t1"}, overview)
    assert first is not None and (first.cards, first.agent_rows) == ([q1, q2], [agent])
    assert feed.delta({"queues": [q1, q2], "at": "t2"}, overview) is None  # nothing changed
    busy = {"interface": "SIP/1", "state": "on_call"}
    call = {"linkedid": "L1", "caller_number": "5551"}
    later = {"ami_connected": True, "agents": [busy], "calls": [call]}
    second = feed.delta({"queues": [q1], "at": "t3"}, later)
    assert second is not None
    assert (second.cards, second.cards_gone) == ([], ["support"])
    assert (second.agent_rows, second.call_rows, second.call_rows_gone) == ([busy], [call], [])
    third = feed.delta({"queues": [q1], "at": "t4"}, {**later, "calls": []})
    assert third is not None and (third.call_rows, third.call_rows_gone) == ([], ["L1"])
