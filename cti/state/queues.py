"""Queues as the state core keeps them: parameters and the callers waiting, by Uniqueid."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class QueuedCaller:
    uniqueid: str
    linkedid: str
    position: int
    queued_at: float | None
    caller_number: str
    caller_name: str
    last_seen_seq: int


@dataclass(slots=True)
class Queue:
    name: str
    strategy: str = ""
    service_level_s: int = 0
    callers: dict[str, QueuedCaller] = field(default_factory=dict)

    def oldest_queued_at(self) -> float | None:
        times = [c.queued_at for c in self.callers.values() if c.queued_at is not None]
        return min(times) if times else None
