"""The wallboard's pure parts: the chart's 15-minute slots with the day's service level so
far, and alerts raised once per lasting condition and cleared when it ends."""

from __future__ import annotations

from datetime import UTC, datetime

from cti.kpi import QueueCall
from cti.supervision.wallboard import Alert, AlertTracker, buckets

DAY = datetime(2026, 11, 23, tzinfo=UTC)
T0 = DAY.timestamp()


def test_slots_carry_their_own_and_the_days_service_level() -> None:
    calls = [
        QueueCall("1", "q", T0 + 60, answered_wait_s=5, talk_s=30),  # 00:00 slot, in time
        QueueCall("2", "q", T0 + 120, answered_wait_s=40, talk_s=30),  # 00:00 slot, late
        QueueCall("3", "q", T0 + 3600, answered_wait_s=3, talk_s=30),  # 01:00 slot, in time
        QueueCall("4", "q", T0 + 3700, abandoned_wait_s=50),  # 01:00 slot, abandoned
    ]
    slots = buckets(calls, DAY, threshold=20)
    assert [(s["start"], s["offered"], s["answered"], s["abandoned"]) for s in slots] == [
        ("2026-11-23T00:00:00+00:00", 2, 2, 0),
        ("2026-11-23T01:00:00+00:00", 2, 1, 1),
    ]
    assert [s["service_level"] for s in slots] == [0.5, 1.0]
    assert [s["service_level_to_date"] for s in slots] == [0.5, round(2 / 3, 4)]


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
