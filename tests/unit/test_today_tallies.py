"""Today's tallies, folded live from the state changes, give the figures the call log's own
fold gives from the rows written for the same changes (kpi.calls_from_events), on real
Asterisk traffic: the load capture (240 calls) and every real-PBX capture."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cti import kpi
from cti.calllog.rows import rows_for
from cti.replay import capture_bytes, replay
from cti.state.changes import Change
from cti.supervision.today import QueueTallies, TodayTallies


class Rows:
    """The call log's rows for the changes, as the writer would store them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.hold: dict[str, tuple[int, int]] = {}

    def offer(self, changes: Sequence[Change]) -> None:
        for kind, values in rows_for(changes, "TR"):
            if kind == "call":
                self.hold[values["linkedid"]] = (values["hold_s"], 0)
            else:
                self.events.append(values)

    def calls(self) -> list[kpi.QueueCall]:
        ordered = sorted(self.events, key=lambda e: (e["at"], e["kind"]))
        return kpi.calls_from_events(ordered, self.hold)


def fold_both(data: bytes) -> tuple[TodayTallies, list[kpi.QueueCall]]:
    rows = Rows()
    first: list[float] = []

    class Today:
        tallies: TodayTallies | None = None

        def offer(self, changes: Sequence[Change]) -> None:
            for change in changes:
                ts = getattr(change, "ts", None)
                if self.tallies is None and ts is not None:
                    first.append(ts)
                    self.tallies = TodayTallies(UTC, ts)
            if self.tallies is not None:
                self.tallies.offer(changes)

    today = Today()
    replay(data, sinks=[rows, today])
    assert today.tallies is not None
    return today.tallies, rows.calls()


CAPTURES = ["load-6cps.ami.xz", *sorted(p.name for p in Path("tests/captures/real").glob("*.ami"))]
# An agent's outbound call: no queue, so nothing for the queues' tallies, live or stored.
WITHOUT_QUEUE_CALLS = {"click-to-dial.ami"}


@pytest.mark.parametrize("name", CAPTURES)
def test_live_tallies_equal_the_stored_events_fold(captures: Path, name: str) -> None:
    path = captures / name if (captures / name).exists() else captures / "real" / name
    tallies, calls = fold_both(capture_bytes(path))
    day_start = tallies.day_start.timestamp()
    today = [c for c in calls if c.entered_at >= day_start]
    queues = {c.queue for c in today}
    assert bool(queues) == (name not in WITHOUT_QUEUE_CALLS), "the capture has queue calls"
    for queue in queues:
        mine = [c for c in today if c.queue == queue]
        for threshold in (0, 5, 20, 60):
            assert kpi.figures(tallies.day(queue), threshold) == kpi.compute(mine, threshold)
        by_slot: dict[int, list[kpi.QueueCall]] = {}
        for call in mine:
            by_slot.setdefault(int((call.entered_at - day_start) // 900), []).append(call)
        assert [(start, t.offered) for start, t in tallies.slots(queue)] == [
            (datetime.fromtimestamp(day_start + slot * 900, UTC).isoformat(), len(members))
            for slot, members in sorted(by_slot.items())
        ]
    assert not tallies.open, "every passage closes with its call"


def test_the_captures_give_something_to_compare(captures: Path) -> None:
    """The comparison above must compare answers, abandons, time-outs and handling time."""
    total: Counter[str] = Counter()
    for name in CAPTURES:
        path = captures / name if (captures / name).exists() else captures / "real" / name
        tallies, _ = fold_both(capture_bytes(path))
        for queue in tallies.queue_names():
            figures = kpi.figures(tallies.day(queue), 20)
            total.update({k: figures[k] for k in ("answered", "abandoned", "timed_out")})
            total["handled"] += tallies.day(queue).handled
    assert total["answered"] > 100 and total["handled"] > 100
    assert total["abandoned"] > 0 and total["timed_out"] > 0


def test_a_passage_is_counted_again_when_its_facts_change() -> None:
    """Answered after it was counted as waiting: still one offered call, now answered."""
    from cti.state.changes import CallAnswered, CallOffered

    start = datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp()
    tallies = TodayTallies(UTC, start)
    tallies.offer(
        [
            CallOffered(
                ts=start, linkedid="L", queue="q", caller_number="1", caller_name="", position=1
            )
        ]
    )
    assert (tallies.day("q").offered, sum(tallies.day("q").answered_waits.values())) == (1, 0)
    tallies.offer(
        [
            CallAnswered(
                ts=start + 7, linkedid="L", queue="q", interface="SIP/1", member_name="", wait_s=7
            )
        ]
    )
    day = tallies.day("q")
    assert (day.offered, dict(day.answered_waits)) == (1, {7: 1})
    assert tallies.since("q", start + 60, 15, 20).offered == 1
    assert tallies.since("q", start + 20 * 60, 15, 20).offered == 0


def test_a_new_day_starts_at_the_centers_midnight() -> None:
    from zoneinfo import ZoneInfo

    from cti.state.changes import CallOffered

    istanbul = ZoneInfo("Europe/Istanbul")  # UTC+3: midnight there is 21:00 UTC
    before = datetime(2026, 11, 23, 20, 59, tzinfo=UTC).timestamp()
    tallies = TodayTallies(istanbul, before)

    def offer(ts: float, linkedid: str) -> None:
        tallies.offer(
            [
                CallOffered(
                    ts=ts,
                    linkedid=linkedid,
                    queue="q",
                    caller_number="",
                    caller_name="",
                    position=1,
                )
            ]
        )

    offer(before, "a")
    offer(before + 120, "b")  # 21:01 UTC: 00:01 in Istanbul, the next day
    assert tallies.day("q").offered == 1
    assert tallies.day_start == datetime(2026, 11, 24, tzinfo=istanbul)
    assert tallies.since("q", before + 120, 15, 20).offered == 2  # the windows cross midnight


def test_slots_carry_their_own_and_the_days_service_level() -> None:
    day = datetime(2026, 11, 23, tzinfo=UTC)
    tallies = TodayTallies(UTC, day.timestamp())
    first, second = kpi.Tally(), kpi.Tally()
    tallies.by_queue["q"] = QueueTallies(slots={0: first, 4: second})  # 00:00 and 01:00
    first.count(kpi.QueueCall("1", "q", 0, answered_wait_s=5, talk_s=30))  # in time
    first.count(kpi.QueueCall("2", "q", 0, answered_wait_s=40, talk_s=30))  # late
    second.count(kpi.QueueCall("3", "q", 0, answered_wait_s=3, talk_s=30))  # in time
    second.count(kpi.QueueCall("4", "q", 0, abandoned_wait_s=50))
    slots = tallies.chart("q", 20)
    assert [(s["start"], s["offered"], s["answered"], s["abandoned"]) for s in slots] == [
        ("2026-11-23T00:00:00+00:00", 2, 2, 0),
        ("2026-11-23T01:00:00+00:00", 2, 1, 1),
    ]
    assert [s["service_level"] for s in slots] == [0.5, 1.0]
    assert [s["service_level_to_date"] for s in slots] == [0.5, round(2 / 3, 4)]
    assert tallies.chart("q", 20) == slots
    assert [s["service_level"] for s in tallies.chart("q", 60)] == [1.0, 1.0]

    # A late fact in an earlier slot: that slot and every line point after it move.
    first.count(kpi.QueueCall("5", "q", 0, answered_wait_s=2, talk_s=30))
    again = tallies.chart("q", 20)
    assert [s["offered"] for s in again] == [3, 2]
    assert [s["service_level_to_date"] for s in again] == [round(2 / 3, 4), 0.75]
    # Only the last slot changed: the one before is the same bucket, not rebuilt.
    second.count(kpi.QueueCall("6", "q", 0, answered_wait_s=30, talk_s=30))
    last = tallies.chart("q", 20)
    assert last[0] is again[0]
    assert [s["service_level_to_date"] for s in last] == [round(2 / 3, 4), 0.6]
