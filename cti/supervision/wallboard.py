"""The queue wallboard and its alerts.

Figures come from the call log's per-call events through ``cti.kpi`` (so the wallboard, the
KPI API and a later re-computation with another threshold agree by construction); what is
happening right now (callers waiting, agents' states) comes from the live state.

``AlertTracker`` is pure: fed each new wallboard, it returns the alerts that were raised or
cleared since the last one, so a condition that lasts raises one event, not one per look.
``watch_alerts`` runs it every few seconds and hands the events to whoever must hear them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from cti import kpi
from cti.calllog import reports
from cti.clock import midnight
from cti.database import Database, DatabaseUnavailable
from cti.settings import Settings
from cti.state import views
from cti.state.changes import AgentState
from cti.state.store import CtiState

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD_S = 20  # Asterisk's own default servicelevel is 0: no threshold at all
WINDOWS = {"15m": timedelta(minutes=15), "60m": timedelta(minutes=60)}
BUCKET = timedelta(minutes=15)
ALERT_CHECK_S = 2.0
AGENT_STATES = (
    AgentState.READY,
    AgentState.ON_CALL,
    AgentState.RINGING,
    AgentState.PAUSED,
    AgentState.WRAP_UP,
    AgentState.BUSY,
    AgentState.UNAVAILABLE,
)


def threshold_of(state: CtiState, queue: str) -> int:
    """The queue's servicelevel from queues.conf, as Asterisk reported it."""
    known = views.queue(state, queue)
    return known.service_level_s if known and known.service_level_s else DEFAULT_THRESHOLD_S


async def build(settings: Settings, state: CtiState, pool: asyncpg.Pool) -> dict[str, Any]:
    now = datetime.now(UTC)
    today_start = midnight(now, ZoneInfo(settings.center_timezone))
    since = min(today_start, now - max(WINDOWS.values()))
    calls = await reports.queue_calls(pool, since, now + timedelta(seconds=1))
    names = sorted({q.name for q in views.all_queues(state)} | {c.queue for c in calls})
    agents_by_queue: dict[str, Counter[str]] = {name: Counter() for name in names}
    for agent in views.all_agents(state):
        for name in agent.member_of:
            agents_by_queue.setdefault(name, Counter())[str(agent.state)] += 1
    board = []
    for name in names:
        threshold = threshold_of(state, name)
        mine = [c for c in calls if c.queue == name]
        today = [c for c in mine if c.entered_at >= today_start.timestamp()]
        windows = {"today": kpi.compute(today, threshold)}
        for window, span in WINDOWS.items():
            start = (now - span).timestamp()
            windows[window] = kpi.compute([c for c in mine if c.entered_at >= start], threshold)
        live = views.queue(state, name)
        oldest = live.oldest_queued_at if live else None
        longest = round(max(0.0, now.timestamp() - oldest)) if oldest else 0
        counts = agents_by_queue.get(name, Counter())
        logged_in = sum(n for s, n in counts.items() if s != AgentState.LOGGED_OUT)
        alerts = []
        sl = windows["today"]["service_level"]
        if sl is not None and sl < settings.center_service_level_target:
            alerts.append(
                {
                    "kind": "service_level",
                    "text": f"service level {sl:.0%} is below the target "
                    f"{settings.center_service_level_target:.0%}",
                }
            )
        if longest > settings.center_max_wait_s:
            alerts.append(
                {
                    "kind": "long_wait",
                    "text": f"a caller has waited {longest} s "
                    f"(limit {settings.center_max_wait_s} s)",
                }
            )
        board.append(
            {
                "queue": name,
                "threshold_s": threshold,
                "target": settings.center_service_level_target,
                "waiting": live.waiting if live else 0,
                "longest_wait_s": longest,
                "agents": {
                    "logged_in": logged_in,
                    **{str(s): counts.get(str(s), 0) for s in AGENT_STATES},
                },
                "windows": windows,
                "buckets": buckets(today, today_start, threshold),
                "alerts": alerts,
            }
        )
    return {
        "at": now.isoformat(),
        "queues": board,
        "definitions": kpi.DEFINITIONS,
        "ami_connected": state.link_up,
    }


def buckets(
    calls: Sequence[kpi.QueueCall], day_start: datetime, threshold: int
) -> list[dict[str, Any]]:
    """Per 15 minutes of today: offered/answered/abandoned and that slot's service level,
    and the service level of the day up to the end of the slot (the line on the chart)."""
    grouped: dict[int, list[kpi.QueueCall]] = {}
    for call in calls:
        slot = int((call.entered_at - day_start.timestamp()) // BUCKET.total_seconds())
        grouped.setdefault(slot, []).append(call)
    out = []
    so_far: list[kpi.QueueCall] = []
    for slot, members in sorted(grouped.items()):
        figures = kpi.compute(members, threshold)
        so_far.extend(members)
        out.append(
            {
                "start": (day_start + slot * BUCKET).isoformat(),
                **{k: figures[k] for k in ("offered", "answered", "abandoned", "service_level")},
                "service_level_to_date": kpi.compute(so_far, threshold)["service_level"],
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class Alert:
    queue: str
    kind: str  # service_level | long_wait
    text: str
    raised: bool  # False: the condition has cleared
    at: float


class AlertTracker:
    def __init__(self) -> None:
        self.active: dict[tuple[str, str], str] = {}

    def update(self, board: Sequence[Mapping[str, Any]], at: float) -> list[Alert]:
        current = {(q["queue"], a["kind"]): a["text"] for q in board for a in q["alerts"]}
        events = [
            Alert(queue, kind, text, True, at)
            for (queue, kind), text in current.items()
            if (queue, kind) not in self.active
        ]
        events += [
            Alert(queue, kind, text, False, at)
            for (queue, kind), text in self.active.items()
            if (queue, kind) not in current
        ]
        self.active = current
        return events


async def watch_alerts(
    settings: Settings, state: CtiState, database: Database, publish: Callable[[Alert], None]
) -> None:
    """Raise and clear wallboard alerts even when no supervisor has the page open."""
    tracker = AlertTracker()
    while True:
        await asyncio.sleep(ALERT_CHECK_S)
        try:
            board = await build(settings, state, await database.pool())
        except (
            DatabaseUnavailable,
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            log.warning("alerts not checked: the call log is unreachable (%s)", exc)
            continue
        for alert in tracker.update(board["queues"], datetime.now(UTC).timestamp()):
            if alert.raised:
                log.warning("alert raised for queue %s: %s", alert.queue, alert.text)
            else:
                log.info("alert cleared for queue %s: %s", alert.queue, alert.kind)
            publish(alert)
