"""The center's clock: the one "now" that decisions read, and the wall time people are shown.

Decisions that compare times (an ACD offer that went stale, an agent resting after a missed
ring, how long a call waited) read ``now()``: epoch seconds, the clock of the AMI events'
Timestamp, which the state core's times are in too. Times shown to people (a routing
decision's "until 14:02:31") are in the center's time zone, never the server's: a daemon in
a UTC container serving an Istanbul center shows Istanbul time.

It is made once from the settings and passed to whoever needs it, so that a test can pass one
that it moves by hand instead of waiting for the real one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo


def midnight(now: datetime, zone: tzinfo) -> datetime:
    """The start of ``now``'s day in a time zone: where "today" begins for the center."""
    return now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)


def wall_time(epoch_s: float, zone: tzinfo = UTC) -> str:
    """HH:MM:SS of an epoch time in a time zone (pure)."""
    return datetime.fromtimestamp(epoch_s, zone).strftime("%H:%M:%S")


@dataclass(frozen=True, slots=True)
class CenterClock:
    zone: tzinfo = UTC
    now: Callable[[], float] = field(default=time.time)

    @classmethod
    def named(cls, zone_name: str) -> CenterClock:
        return cls(ZoneInfo(zone_name))

    def wall_time(self, epoch_s: float) -> str:
        return wall_time(epoch_s, self.zone)

    def midnight(self, now: datetime) -> datetime:
        return midnight(now, self.zone)
