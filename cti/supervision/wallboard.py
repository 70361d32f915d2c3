"""The queue wallboard, its alerts, and the supervisors' wall pushed to their pages.

Figures come from today's tallies (``cti.supervision.today``), folded from the same facts the
call log stores, through ``cti.kpi`` (so the wallboard, the KPI API and a later
re-computation with another threshold agree); what is happening right now (callers waiting,
agents' states) comes from the live state. Building it reads no row.

``AlertTracker`` is pure: fed each new wallboard, it returns the alerts that were raised or
cleared since the last one, so a condition that lasts raises one event, not one per look.
``AlertLog`` keeps those events for the day, so a page opened later shows what it missed.
``WallFeed`` is pure too: it tells what changed on the wall since the last push.
``feed_the_wall`` runs both once a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cti import kpi
from cti.clock import CenterClock
from cti.push.hub import Hub, overview_in_turns
from cti.push.messages import QueueWaitsMessage, WallMessage, Wire
from cti.settings import Settings
from cti.state import views
from cti.state.changes import (
    AgentState,
    CallEnded,
    CallsMerged,
    Change,
    LinkChanged,
    Resynced,
)
from cti.state.store import CtiState
from cti.supervision.today import TodayTallies

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD_S = 20  # Asterisk's own default servicelevel is 0: no threshold at all
WINDOWS = {"15m": 15, "60m": 60}  # minutes: from the start of the minute that long ago
REFRESH_S = 1.0  # alerts checked, and supervisors' pages sent what changed, once a second
# Each push also compares this many agents' rows and calls the changes did not name, in
# turn (all 2,000 agents every 20 s), in case a change ever failed to name what it touched.
SWEEP = 100
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


def build(
    settings: Settings,
    state: CtiState,
    today: TodayTallies,
    now: float,
    agents_by_queue: Mapping[str, Counter[str]] | None = None,
) -> dict[str, Any]:
    """The wallboard now, from today's tallies and the live state: no row is read, so its
    cost does not grow with the day's calls. ``agents_by_queue``: the agents line as an
    ``AgentLine`` keeps it, else counted from every agent."""
    today.advance(now)
    names = sorted({q.name for q in views.all_queues(state)} | today.queue_names())
    if agents_by_queue is None:
        agents_by_queue = views.agent_states_by_queue(state, now)
    board = []
    for name in names:
        threshold = threshold_of(state, name)
        windows = {"today": kpi.figures(today.day(name), threshold)}
        for window, minutes in WINDOWS.items():
            windows[window] = kpi.figures_of(today.since(name, now, minutes, threshold), threshold)
        live = views.queue(state, name)
        oldest = live.oldest_queued_at if live else None
        longest = round(max(0.0, now - oldest)) if oldest else 0
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
        abandoned = windows["today"]["abandon_rate"]
        if abandoned is not None and abandoned > settings.center_max_abandon_rate:
            alerts.append(
                {
                    "kind": "abandon_rate",
                    "text": f"{abandoned:.0%} of today's callers hung up waiting "
                    f"(limit {settings.center_max_abandon_rate:.0%})",
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
                "abandon_limit": settings.center_max_abandon_rate,
                "max_wait_s": settings.center_max_wait_s,
                "waiting": live.waiting if live else 0,
                "longest_wait_s": longest,
                "agents": {
                    "logged_in": logged_in,
                    **{str(s): counts.get(str(s), 0) for s in AGENT_STATES},
                },
                "windows": windows,
                "buckets": today.chart(name, threshold),
                "alerts": alerts,
            }
        )
    return {
        "at": datetime.fromtimestamp(now, UTC).isoformat(),
        "day_start": today.day_start.isoformat(),
        "queues": board,
        "definitions": kpi.DEFINITIONS,
        "ami_connected": state.link_up,
    }


@dataclass(frozen=True, slots=True)
class Alert:
    queue: str
    kind: str  # service_level | abandon_rate | long_wait
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


class AlertLog:
    """The alerts raised and cleared lately, as they were published (pure): the supervisors'
    pages open on today's (``GET /api/supervisor/alerts``). In memory only: after a
    restart the watcher's first look raises again every condition that still holds."""

    def __init__(self, keep: int = 2000) -> None:
        self._alerts: deque[Alert] = deque(maxlen=keep)

    def add(self, alert: Alert) -> None:
        self._alerts.append(alert)

    def since(self, start: float) -> list[Alert]:
        """Those published at or after ``start`` (epoch seconds), newest first."""
        return [alert for alert in reversed(self._alerts) if alert.at >= start]


def changed(
    before: Mapping[str, Wire], now: Mapping[str, Wire | None], *, complete: bool
) -> tuple[list[Wire], list[str]]:
    """The items that are new or differ, and the keys of those gone (None in ``now``, or,
    when ``now`` is ``complete``, missing from it)."""
    updated = [item for key, item in now.items() if item is not None and before.get(key) != item]
    gone = [key for key, item in now.items() if item is None and key in before]
    if complete:
        gone += [key for key in before if key not in now]
    return updated, gone


class Touched:
    """Which agents' rows and which calls the changes since the last push may have changed
    (a pipeline sink): the wall rebuilds those, not thousands of rows every second."""

    def __init__(self) -> None:
        self.everything = True  # at first, after a resync or a link change
        self.interfaces: set[str] = set()
        self.linkedids: set[str] = set()

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            match change:
                case Resynced() | LinkChanged():
                    self.everything = True
                case CallEnded(record=record):
                    self.linkedids.add(record.linkedid)
                    if record.agent:
                        self.interfaces.add(record.agent)
                case CallsMerged(absorbed=absorbed, into=into):
                    self.linkedids.update((absorbed, into))
                case _:
                    if interface := getattr(change, "interface", None):
                        self.interfaces.add(interface)
                    if linkedid := getattr(change, "linkedid", None):
                        self.linkedids.add(linkedid)

    def take(self) -> tuple[bool, set[str], set[str]]:
        taken = self.everything, self.interfaces, self.linkedids
        self.everything, self.interfaces, self.linkedids = False, set(), set()
        return taken


class AgentLine:
    """How many members of each queue are in each state (the wall's agents line), kept up
    to date from the agents each push names (pure): visiting thousands of agents every
    second held the event loop 5 ms at 2,000. The end of a wrap-up is named too: the state
    core announces it on the Tick that passes it."""

    def __init__(self) -> None:
        self.by_queue: dict[str, Counter[str]] = {}
        self._counted: dict[str, tuple[AgentState, tuple[str, ...]]] = {}  # by interface

    def update(self, state: CtiState, interfaces: Iterable[str] | None, now: float) -> None:
        """Count again the agents of these interfaces (None: every agent)."""
        if interfaces is None:
            self.by_queue, self._counted = {}, {}
            interfaces = views.interfaces(state)
        for interface in interfaces:
            self._count(self._counted.pop(interface, None), -1)
            now_in = views.agent_state_in_queues(state, interface, now)
            if now_in is not None:
                self._count(now_in, 1)
                self._counted[interface] = now_in

    def _count(self, counted: tuple[AgentState, tuple[str, ...]] | None, times: int) -> None:
        if counted is not None:
            agent_state, queues = counted
            for queue in queues:
                self.by_queue.setdefault(queue, Counter())[str(agent_state)] += times


@dataclass(slots=True)
class Sweep:
    """A few keys at a time, in turn, out of a list that may change between two turns."""

    position: int = 0

    def next(self, keys: Sequence[str], count: int = SWEEP) -> list[str]:
        if not keys:
            return []
        count = min(count, len(keys))
        start = self.position % len(keys)
        self.position = start + count
        return [*keys[start : start + count], *keys[: max(0, start + count - len(keys))]]


@dataclass(slots=True)
class WallFeed:
    """What the supervisors' pages were last sent, so that each push carries only what
    changed since (pure). A page starts from ``/api/wallboard`` and ``/api/state``, then
    applies these deltas: each item replaced whole, so one missed or early is harmless."""

    cards: dict[str, Wire] = field(default_factory=dict)  # by queue
    agent_rows: dict[str, Wire] = field(default_factory=dict)  # by interface
    call_rows: dict[str, Wire] = field(default_factory=dict)  # by Linkedid
    ami_connected: bool | None = None  # None: nothing sent yet

    def delta(
        self,
        board: Mapping[str, Any],
        agent_rows: Mapping[str, Wire | None],
        call_rows: Mapping[str, Wire | None],
        *,
        complete: bool,
    ) -> WallMessage | None:
        """``agent_rows`` and ``call_rows`` by key, None for one gone; ``complete``: they
        are all there are (any other key is gone), else only those that may have changed."""
        cards = {q["queue"]: q for q in board["queues"]}
        message = WallMessage(
            *changed(self.cards, cards, complete=True),
            *changed(self.agent_rows, agent_rows, complete=complete),
            *changed(self.call_rows, call_rows, complete=complete),
            ami_connected=bool(board["ami_connected"]),
            at=board["at"],
        )
        if message.ami_connected == self.ami_connected and message.is_empty:
            return None
        self.cards = cards
        self.agent_rows = _updated(self.agent_rows, agent_rows, complete)
        self.call_rows = _updated(self.call_rows, call_rows, complete)
        self.ami_connected = message.ami_connected
        return message


def _updated(
    before: dict[str, Wire], now: Mapping[str, Wire | None], complete: bool
) -> dict[str, Wire]:
    kept = {} if complete else dict(before)
    for key, item in now.items():
        if item is None:
            kept.pop(key, None)
        else:
            kept[key] = item
    return kept


async def feed_the_wall(
    settings: Settings,
    state: CtiState,
    today: TodayTallies,
    touched: Touched,
    clock: CenterClock,
    hub: Hub,
    publish_alert: Callable[[Alert], Awaitable[None]],
) -> None:
    """Once a second: raise and clear alerts (even when no supervisor has the page open),
    push what changed on the wall to the supervisors' pages, one encoding for all, and the
    queues' waiting callers to every page when they changed."""
    waits: list[tuple[str, int, float | None]] = []
    tracker = AlertTracker()
    feed = WallFeed()
    line = AgentLine()
    agents_swept, calls_swept = Sweep(), Sweep()
    while True:
        await asyncio.sleep(REFRESH_S)
        now = clock.now()
        everything, interfaces, linkedids = touched.take()
        if not everything:
            agent_keys = list(dict.fromkeys([*views.interfaces(state), *feed.agent_rows]))
            interfaces |= {*agents_swept.next(agent_keys)}
            call_keys = list(dict.fromkeys([*views.linkedids(state), *feed.call_rows]))
            linkedids |= {*calls_swept.next(call_keys)}
        # Each part in a turn of its own (at 2,000 agents and a million calls today: the
        # sweep ~0.5 ms, the agents line ~1 ms, the board ~1.5 ms, up to 5-6 ms each after
        # a resync): a pop that arrives meanwhile waits for one part, not for all of them.
        await asyncio.sleep(0)
        line.update(state, None if everything else interfaces, now)
        await asyncio.sleep(0)
        board = build(settings, state, today, now, line.by_queue)
        for alert in tracker.update(board["queues"], now):
            if alert.raised:
                log.warning("alert raised for queue %s: %s", alert.queue, alert.text)
            else:
                log.info("alert cleared for queue %s: %s", alert.queue, alert.kind)
            await publish_alert(alert)
        if (now_waiting := views.queue_waits(state)) != waits:
            waits = now_waiting
            await hub.to_everyone(QueueWaitsMessage(waits=waits))
        if not hub.has_supervisors:
            feed = WallFeed()  # the next page starts from its own snapshot
            continue
        # The rows next, in a turn of their own: a pop that arrived meanwhile goes first.
        await asyncio.sleep(0)
        if everything or feed.ami_connected is None:  # after a resync, or nothing sent yet
            overview = await overview_in_turns(state)
            agent_rows = {a["interface"]: a for a in overview["agents"]}
            call_rows = {c["linkedid"]: c for c in overview["calls"]}
            message = feed.delta(board, agent_rows, call_rows, complete=True)
        else:
            message = feed.delta(
                board,
                {i: _json(views.agent(state, i)) for i in interfaces},
                {c: _json(views.call(state, c)) for c in linkedids},
                complete=False,
            )
        if message is not None:
            await hub.to_supervisors(message)


def _json(view: views.AgentView | views.CallView | None) -> Wire | None:
    return None if view is None else view.to_json()
