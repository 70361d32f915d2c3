"""The state core's read API: what the rest of the daemon may know of it, as views (pure).

Theory of operation
-------------------
The core's channels, calls, queues and agents are mutable and private to it (store.py).
Every reader outside ``cti/state/`` (the websocket hub, the HTTP API, metrics, the wallboard,
the ACD, wrap-up) goes through the functions here, which copy what it needs into frozen views
(``AgentView``, ``QueueView``, ``CallView``, ``HeldCall``) or into JSON-ready dicts. A view
stays as it was when taken, however the core moves on, and a reader cannot change the core
through it. tests/unit/test_layers.py fails any module outside the core that reads the
internals instead.

What the panel shows comes from here too, so each shape is made in one place: an agent's
JSON (``AgentView.to_json``) is the same in the supervisors' overview and in the websocket
snapshot, and ``pops`` is the one rule for which calls an agent's page shows: those ringing
or talking on the agent's own phones, nothing of anyone else's.

Order: ``all_agents`` and ``all_queues`` give the core's own order (the order it learnt
them, as the metrics' first-come label cap expects); the JSON of the overview sorts.

Time: an agent's state depends on the time (a wrap-up runs out), so the functions that
derive it take ``now``; left out, it is the core's clock (the newest event time), which is
what the panel shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cti.state.agents import WRAP_UP_REASON, Agent
from cti.state.calls import Call, CallPhase
from cti.state.changes import AgentState
from cti.state.queues import Queue
from cti.state.store import CtiState

# --- views ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentView:
    interface: str
    state_interface: str
    member_name: str
    state: AgentState
    reason: str  # the pause reason, when paused
    member_of: tuple[str, ...]  # queue names, in the order Asterisk reported them
    unpaused_in: tuple[str, ...]  # those queues where they are not paused
    paused_for_wrap_up: bool  # paused with WRAP_UP_REASON in some queue (cti/routing/wrapup.py)
    ringing_for: tuple[str, ...]  # Linkedids of the calls their phone rings for, sorted
    talking: str | None  # Linkedid of the queue call they are on
    talking_routed: bool  # that call was dialled by the ACD's route point (see Agent)
    wrapup_until: float | None  # the core's own wrap-up after a routed call (see Agent)
    state_since: float | None  # when the announced state began
    calls_taken: int

    def to_json(self) -> dict[str, Any]:
        """The one agent shape on the wire, in the overview and in the websocket snapshot."""
        return {
            "interface": self.interface,
            "state_interface": self.state_interface,
            # One value under both keys: the overview (/api/state, the supervisor's wall) has
            # always sent "name", the websocket snapshot's "agents" "member_name".
            "name": self.member_name,
            "member_name": self.member_name,
            "state": str(self.state),
            "reason": self.reason,
            "queues": sorted(self.member_of),
            "talking": self.talking,
            "state_since": self.state_since,
            "calls_taken": self.calls_taken,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedCallerView:
    uniqueid: str  # the caller's channel
    linkedid: str
    position: int
    queued_at: float | None
    caller_number: str
    caller_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "queued_at": self.queued_at,
            "linkedid": self.linkedid,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueView:
    name: str
    strategy: str
    service_level_s: int  # queues.conf servicelevel as Asterisk reports it (0: none set)
    callers: tuple[QueuedCallerView, ...]  # by position
    oldest_queued_at: float | None

    @property
    def waiting(self) -> int:
        return len(self.callers)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strategy": self.strategy,
            "service_level_s": self.service_level_s,
            "waiting": self.waiting,
            "oldest_queued_at": self.oldest_queued_at,
            "callers": [caller.to_json() for caller in self.callers],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CallView:
    """A call in progress (all legs sharing its Linkedid)."""

    linkedid: str
    caller_number: str
    caller_name: str
    queue: str | None
    agent: str | None  # the member interface that answered it
    answering: str | None  # interface whose leg went Up, before AgentConnect says so
    ringing_on: frozenset[str]  # interfaces whose phones ring for it
    started_at: float | None
    queued_at: float | None
    answered_at: float | None
    consent: str | None
    recorded: bool
    caller_channel: str | None  # the caller leg's channel name; None once it hung up
    route: str | None  # the ACD route point it entered
    hold_queue: str | None  # where that route's calls wait for the ACD

    def reached(self, interfaces: Iterable[str]) -> bool:
        """Whether it rang, or was answered, on one of these phones: the calls an agent may
        act on (a supervisor may act on any)."""
        mine = set(interfaces)
        return self.agent in mine or bool(self.ringing_on & mine) or self.answering in mine

    def to_json(self) -> dict[str, Any]:
        return {
            "linkedid": self.linkedid,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "queue": self.queue,
            "agent": self.agent,
            "started_at": self.started_at,
            "answered_at": self.answered_at,
            "consent": self.consent,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldCall:
    """A call waiting in its ACD route's holding queue, for the ACD to move to an agent."""

    linkedid: str
    queue: str  # the holding queue
    channel: str  # the caller leg's channel name: what a Redirect moves
    route: str | None
    queued_at: float | None  # when it entered the route point, on Asterisk's clock


# --- agents -----------------------------------------------------------------------------


def _agent_view(agent: Agent, now: float | None) -> AgentView:
    state, reason = agent.derive_state(now)
    memberships = agent.memberships
    return AgentView(
        interface=agent.interface,
        state_interface=agent.state_interface,
        member_name=agent.member_name,
        state=state,
        reason=reason,
        member_of=tuple(memberships),
        unpaused_in=tuple(name for name, m in memberships.items() if not m.paused),
        paused_for_wrap_up=any(
            m.paused and m.paused_reason == WRAP_UP_REASON for m in memberships.values()
        ),
        ringing_for=tuple(sorted(set(agent.ringing.values()))),
        talking=agent.talking,
        talking_routed=agent.talking_routed,
        wrapup_until=agent.wrapup_until,
        state_since=agent.state_since,
        calls_taken=agent.calls_taken,
    )


def agent(state: CtiState, interface: str, now: float | None = None) -> AgentView | None:
    """The agent (queue member) of this interface, or None if Asterisk never reported it."""
    found = state.agents.get(interface)
    if found is None:
        return None
    return _agent_view(found, state.clock if now is None else now)


def all_agents(state: CtiState, now: float | None = None) -> list[AgentView]:
    now = state.clock if now is None else now
    return [_agent_view(a, now) for a in state.agents.values()]


def agent_states(
    state: CtiState, now: float | None = None
) -> Iterator[tuple[AgentState, str, Iterable[str]]]:
    """Each agent's state, pause reason and queues, without building a view of every agent:
    counting 2,000 agents through their views held the event loop ~30 ms a metrics scrape."""
    now = state.clock if now is None else now
    for member in state.agents.values():
        yield *member.derive_state(now), member.memberships


def agent_states_by_queue(state: CtiState, now: float | None = None) -> dict[str, Counter[str]]:
    """How many members of each queue are in each state (the wallboard's agents line)."""
    counts: dict[str, Counter[str]] = {}
    for agent_state, _, queues in agent_states(state, now):
        for name in queues:
            counts.setdefault(name, Counter())[str(agent_state)] += 1
    return counts


def agent_state_in_queues(
    state: CtiState, interface: str, now: float | None = None
) -> tuple[AgentState, tuple[str, ...]] | None:
    """The agent's state and the queues it is a member of; None for an unknown interface."""
    member = state.agents.get(interface)
    if member is None:
        return None
    return member.derive_state(state.clock if now is None else now)[0], tuple(member.memberships)


def interfaces(state: CtiState) -> list[str]:
    """Every agent's interface, in a stable order (the order Asterisk reported them)."""
    return list(state.agents)


def linkedids(state: CtiState) -> list[str]:
    """Every call's Linkedid, in a stable order (the order the calls began)."""
    return list(state.calls)


def follows(state: CtiState, linkedid: str) -> bool:
    """Whether the core follows this call now: its end is still to come through the stream."""
    return linkedid in state.calls


def interface_of(state: CtiState, member_name: str) -> str:
    """The interface of the queue member Asterisk's queue_log names by member name; the
    name itself when no member has it."""
    for member in state.agents.values():
        if member.member_name == member_name:
            return member.interface
    return member_name


# --- queues -----------------------------------------------------------------------------


def _queue_view(queue: Queue) -> QueueView:
    callers = sorted(queue.callers.values(), key=lambda c: c.position)
    return QueueView(
        name=queue.name,
        strategy=queue.strategy,
        service_level_s=queue.service_level_s,
        callers=tuple(
            QueuedCallerView(
                uniqueid=c.uniqueid,
                linkedid=c.linkedid,
                position=c.position,
                queued_at=c.queued_at,
                caller_number=c.caller_number,
                caller_name=c.caller_name,
            )
            for c in callers
        ),
        oldest_queued_at=queue.oldest_queued_at(),
    )


def queue(state: CtiState, name: str) -> QueueView | None:
    found = state.queues.get(name)
    return None if found is None else _queue_view(found)


def all_queues(state: CtiState) -> list[QueueView]:
    return [_queue_view(q) for q in state.queues.values()]


def held_calls(state: CtiState) -> list[HeldCall]:
    """The calls waiting in their route's holding queue whose caller leg is still there."""
    held = []
    for q in state.queues.values():
        for caller in q.callers.values():
            live = state.calls.get(caller.linkedid)
            channel = state.channels.get(caller.uniqueid)
            if live is None or channel is None or live.hold_queue != q.name:
                continue
            held.append(
                HeldCall(
                    linkedid=live.linkedid,
                    queue=q.name,
                    channel=channel.name,
                    route=live.route,
                    queued_at=live.queued_at,
                )
            )
    return held


def longest_waiting_since(state: CtiState) -> dict[str, float]:
    """Per queue, since when its longest waiting caller has waited, among the callers
    app_queue itself may offer its next free member: not held there for the ACD, not being
    rung. A caller waits from the earlier of their queue join and their call's."""
    oldest: dict[str, float] = {}
    for q in state.queues.values():
        for caller in q.callers.values():
            live = state.calls.get(caller.linkedid)
            if live is not None and (live.hold_queue == q.name or live.ringing):
                continue
            times = [
                t for t in (caller.queued_at, live.queued_at if live else None) if t is not None
            ]
            if times and (q.name not in oldest or min(times) < oldest[q.name]):
                oldest[q.name] = min(times)
    return oldest


def queue_waits(state: CtiState) -> list[tuple[str, int, float | None]]:
    """Per queue, by name: how many callers wait in it, and since when the longest waiting
    one app_queue may offer has waited (``longest_waiting_since``; None: nobody such)."""
    since = longest_waiting_since(state)
    return [(name, len(q.callers), since.get(name)) for name, q in sorted(state.queues.items())]


# --- calls ------------------------------------------------------------------------------


def _call_view(state: CtiState, live: Call) -> CallView:
    caller_leg = state.channels.get(live.linkedid)  # the first leg's Uniqueid is the Linkedid
    return CallView(
        linkedid=live.linkedid,
        caller_number=live.caller_number,
        caller_name=live.caller_name,
        queue=live.queue,
        agent=live.agent,
        answering=live.answering,
        ringing_on=frozenset(live.ringing),
        started_at=live.started_at,
        queued_at=live.queued_at,
        answered_at=live.answered_at,
        consent=live.consent,
        recorded=live.recorded,
        caller_channel=caller_leg.name if caller_leg else None,
        route=live.route,
        hold_queue=live.hold_queue,
    )


def call(state: CtiState, linkedid: str) -> CallView | None:
    """The call in progress with this Linkedid (a supervisor's listen leg too), or None."""
    found = state.calls.get(linkedid)
    return None if found is None else _call_view(state, found)


def leg_of(state: CtiState, linkedid: str, interfaces: Iterable[str]) -> str | None:
    """The channel name of the leg of this call that one of these phones is on (an agent's
    own leg, to hang up or transfer from), or None. A leg's name is its endpoint and a
    suffix: ``PJSIP/1001-0000002a``."""
    live = state.calls.get(linkedid)
    if live is None:
        return None
    prefixes = tuple(f"{interface}-" for interface in interfaces)
    for uniqueid in live.channels:
        leg = state.channels.get(uniqueid)
        if leg is not None and prefixes and leg.name.startswith(prefixes):
            return leg.name
    return None


def active_calls(state: CtiState) -> list[CallView]:
    """The center's calls in progress, oldest first; supervisors' listen legs left out."""
    ordered = sorted(state.calls.values(), key=lambda c: c.started_at or 0)
    return [_call_view(state, c) for c in ordered if not c.spy]


def open_calls(state: CtiState) -> int:
    """How many calls the core follows now, supervisors' listen legs included."""
    return len(state.calls)


# --- what the panel shows ---------------------------------------------------------------


def pops(state: CtiState, interfaces: Iterable[str]) -> list[dict[str, Any]]:
    """The screen-pops of these phones: each call ringing one of them or talking on it.
    What an agent's page is given on connecting; nothing of any other phone's."""
    found = []
    for interface in interfaces:
        member = state.agents.get(interface)
        if member is None:
            continue
        linkedids = {id_ for id_ in (*member.ringing.values(), member.talking) if id_}
        for linkedid in sorted(linkedids):
            live = state.calls.get(linkedid)
            if live is None:
                continue
            found.append(
                {
                    "linkedid": live.linkedid,
                    "interface": interface,
                    "caller_number": live.caller_number,
                    "caller_name": live.caller_name,
                    "queue": live.queue or "",
                    "queued_at": live.queued_at,
                    # An outbound call is the agent's from the start; answered once the customer is.
                    "answered": live.agent == interface and live.phase is not CallPhase.DIALING,
                    "answered_at": live.answered_at if live.agent == interface else None,
                    "consent": live.consent,
                    "outbound": live.outbound_by is not None,
                }
            )
    return found


def overview(state: CtiState, agent_rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Everything at a glance for supervisors: ``/api/state`` and the websocket snapshot.
    ``agent_rows``: every agent's ``to_json()`` in interface order, when already built
    (``cti.push.hub.overview_in_turns`` builds them a few at a time)."""
    if agent_rows is None:
        agent_rows = [a.to_json() for a in sorted(all_agents(state), key=lambda a: a.interface)]
    return {
        "ami_connected": state.link_up,
        "clock": state.clock,
        "queues": [q.to_json() for q in sorted(all_queues(state), key=lambda q: q.name)],
        "agents": agent_rows,
        "calls": [c.to_json() for c in active_calls(state)],
    }
