"""The service-level ratio keeps the last hour of answers, as counts per minute, even when
nobody scrapes."""

from __future__ import annotations

from cti.metrics import WINDOWS, _ServiceLevel

T0 = 1_795_000_000.0


def test_answers_older_than_the_longest_window_are_dropped_as_new_ones_come() -> None:
    level = _ServiceLevel()
    for second in range(0, 3 * 3600, 2):  # three hours of answers, one every 2 s, no scrape
        level.add("support", T0 + second, wait_s=second % 40, threshold_s=20, day="d")
    hour = max(WINDOWS.values())
    minutes = level.recent["support"]
    assert len(minutes) == hour // 60 + 1  # whatever the rate: one entry a minute
    assert minutes[0][0] * 60 >= T0 + 3 * 3600 - 2 - hour - 60
    assert sum(m[1] for m in minutes) <= hour // 2 + 30


def test_the_ratios_are_those_of_each_window() -> None:
    level = _ServiceLevel()
    level.add("sales", T0, wait_s=5, threshold_s=20, day="d")  # 50 min before: 60m only
    level.add("sales", T0 + 3000, wait_s=30, threshold_s=20, day="d")
    ratios = {window: r for _, window, r in level.ratios(T0 + 3000, "d")}
    assert ratios == {"15m": 0.0, "60m": 0.5, "today": 0.5}


def test_the_threshold_is_the_queues_when_the_call_was_answered() -> None:
    level = _ServiceLevel()
    level.add("sales", T0, wait_s=15, threshold_s=20, day="d")
    level.add("sales", T0 + 1, wait_s=15, threshold_s=10, day="d")
    ratios = {window: r for _, window, r in level.ratios(T0 + 2, "d")}
    assert ratios == {"15m": 0.5, "60m": 0.5, "today": 0.5}
