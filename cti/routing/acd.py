"""The live ACD: which waiting call goes to which agent, now and whenever an agent frees up.

Calls reach it two ways:

- A new call at a route point: the FastAGI server (``route_point.py``) asks ``decide_new``
  and the dialplan dials the agent chosen, or holds the call.
- Calls on hold wait in their route's holding queue, an Asterisk queue without members
  (music on hold, and the wallboard counts them like any waiting caller). Whenever an agent
  becomes ready or a call joins a holding queue, and at least every ``ROUND_INTERVAL_S``
  (a sticky wait may run out), a routing round gives free agents to holding calls, best
  call first, and moves each call with AMI ``Setvar CTI_ROUTE_AGENT`` + ``Redirect`` to
  ``[cti-route]`` ``agent``, which dials that agent.

A new call is decided together with the calls on hold, so it never overtakes one that has
waited longer at the same priority. An agent offered a call (Redirect sent, not ringing yet)
sits out the rounds, with that call, until the ring shows or ``OFFER_GRACE_S`` has passed.

Ring-no-answer: the agent is paused with ``NO_ANSWER_REASON`` in every queue, so neither the
ACD nor Asterisk's queues offer them calls until they come back; the dialplan puts the call
back on hold, where it keeps the time it started waiting: first in line again.

Sharing agents with Asterisk's queues: the agents the ACD routes to are members of plain
queues too, and Asterisk offers them those queues' callers by itself. The rule is *longest
waiting first across both*: the ACD gives a free agent a held (or new) call only if that
call has waited at least as long as the oldest caller who waits, not being rung, in a plain
queue where the agent is a member and not paused. Otherwise that call leaves the agent to
app_queue this round (with autofill it rings them at once, or within its ``retry``): it may
take another agent no older caller is owed, and a held call that has waited longer than that
queue caller may still take this one (``RoutingAgent.queue_wait`` in policy.py). Priorities
order the ACD's own calls only: the state core does not learn queue callers' priorities
(QueueCallerJoin does not carry them), so a held call's priority never outranks a queue
caller who waited longer. Two agents freed at once for one queue caller are both left to
app_queue for a moment; once it rings one, the caller no longer bars the other (the next
round, within ``ROUND_INTERVAL_S``). Waits are measured in Asterisk's clock on both sides: a
queue caller's from the earlier of their queue join and their call's (a route call that fell
back counts from its route point), a held call's from its route point. A caller being rung
is left out: app_queue offers them no second agent until that ring ends, and leaving the
agent idle meanwhile would help nobody. Holding queues (where ACD calls wait) are not plain
queues. Without this rule the ACD, which reacts within milliseconds while app_queue looks
again only every second or so, took every agent who came free and starved the queues.

Wrap-up: a call the route point dialled ends without app_queue's AgentComplete, so the state
core starts the agent's wrap-up itself, as long as Asterisk's wrapuptime of the agent's queues
(``Agent.routed_wrapup_s``); the ACD offers nothing to an agent in wrap-up. The WrapUp sink
(cti/routing/wrapup.py) pauses the agent with reason ``Wrap-up`` meanwhile, so app_queue,
which knows nothing of that call, does not ring them either.

Every decision that gives a call an agent (and every decision on a new call) is stored with
its reason and the agents considered, for supervisors (``routing_decisions``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import asyncpg

from cti.ami.protocol import AmiError
from cti.clock import CenterClock
from cti.database import Database, DatabaseUnavailable
from cti.routing.config import RoutingConfig
from cti.routing.policy import Decision, QueueWait, RoutingAgent, WaitingCall, decide
from cti.state import views
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    Change,
    QueueChanged,
    RoutedRingMissed,
)
from cti.state.store import CtiState
from cti.tasks import Tasks

log = logging.getLogger(__name__)

NO_ANSWER_REASON = "No answer"
ROUND_INTERVAL_S = 1.0
OFFER_GRACE_S = 5.0  # from Redirect to the ring showing, on a loaded Asterisk

# move(caller channel, agent interface): Setvar CTI_ROUTE_AGENT + Redirect to [cti-route] agent.
Move = Callable[[str, str], Awaitable[None]]
# pause(interface, reason): QueuePause in every queue of the member.
Pause = Callable[[str, str], Awaitable[None]]
# observe(route, outcome, seconds the route point took to answer, or None for a move).
Observe = Callable[[str, str, float | None], None]


@dataclass(frozen=True, slots=True)
class _Offer:
    agent: str
    at: float  # the center's clock


class Acd:
    """A pipeline sink plus one owned task (``run``) for the routing rounds; its moves,
    pauses and decision writes are jobs of the daemon's ``Tasks`` (group ``JOBS``)."""

    JOBS = "ACD action"

    def __init__(
        self,
        config: RoutingConfig,
        state: CtiState,
        database: Database,
        move: Move,
        pause: Pause,
        clock: CenterClock,
        tasks: Tasks,
        observe: Observe | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.tasks = tasks
        self.state = state
        self.database = database
        self.move = move
        self.pause = pause
        self.observe = observe
        self.routed: dict[str, WaitingCall] = {}  # by Linkedid: each call as its route saw it
        self.offers: dict[str, _Offer] = {}  # by Linkedid
        # Agents whose ring just ended unanswered, until when: the pause that follows
        # takes a moment, and a round meanwhile must not hand them the same call again.
        self.resting: dict[str, float] = {}
        self._wake = asyncio.Event()

    # --- what the rounds look at --------------------------------------------------------

    def _agents(self) -> list[RoutingAgent]:
        # An agent's state is the state core's, at its own time (the newest event or tick):
        # the ACD never offers a call to an agent the core has not announced ready yet (a
        # wrap-up that ran out a moment ago on the wall clock is over at the next tick).
        now = self.clock.now()
        busy = {offer.agent for offer in self.offers.values()}
        busy |= {interface for interface, until in self.resting.items() if until > now}
        # Per plain queue, since when its longest waiting caller app_queue may serve next has
        # waited (the sharing rule in the module's docstring).
        oldest = views.longest_waiting_since(self.state)
        agents = []
        for agent in views.all_agents(self.state):
            # The plain queues that would offer this agent their next caller themselves.
            owed = [QueueWait(name, oldest[name]) for name in agent.unpaused_in if name in oldest]
            agents.append(
                RoutingAgent(
                    agent.interface,
                    self.config.agent_skills.get(agent.interface, ()),
                    agent.state == AgentState.READY and agent.interface not in busy,
                    agent.state_since or 0.0,
                    agent.calls_taken,
                    min(owed, key=lambda wait: (wait.since, wait.queue)) if owed else None,
                )
            )
        return agents

    def _waited_from_route_point(self, waiting: WaitingCall) -> WaitingCall:
        """The call as the rounds weigh it: waiting since it entered the route point, in
        Asterisk's clock (RouteEntered's Timestamp), the clock of the queue callers' join
        times it is compared with; as the route point saw it until the state knows."""
        call = views.call(self.state, waiting.call_id)
        if call is None or call.queued_at is None or call.route is None:
            return waiting
        return replace(waiting, waiting_since=call.queued_at)

    def _holding(self) -> dict[str, tuple[WaitingCall, str]]:
        """Calls in their route's holding queue and not offered yet: Linkedid -> (the call,
        its caller channel's name for the Redirect)."""
        holding = {}
        for held in views.held_calls(self.state):
            waiting = self.routed.get(held.linkedid)
            # None: the route point never decided on it
            if waiting is not None and held.linkedid not in self.offers:
                holding[held.linkedid] = (self._waited_from_route_point(waiting), held.channel)
        return holding

    def _drop_stale_offers(self) -> None:
        now = self.clock.now()
        oldest = now - self.config.ring_s - OFFER_GRACE_S
        for linkedid, offer in list(self.offers.items()):
            if offer.at < oldest:
                del self.offers[linkedid]
        for interface, until in list(self.resting.items()):
            if until <= now:
                del self.resting[interface]

    # --- decisions ----------------------------------------------------------------------

    def decide_new(self, call: WaitingCall, route: str) -> Decision:
        """The route point's question: an agent for this new call now, or hold it."""
        self._drop_stale_offers()
        self.routed[call.call_id] = call
        holding = [
            waiting for waiting, _ in self._holding().values() if waiting.call_id != call.call_id
        ]
        weighed = self._waited_from_route_point(call)
        decisions = decide(
            self._agents(),
            [*holding, weighed],
            self.clock.now(),
            self.config.policy,
            self.clock.zone,
        )
        mine = next(d for d in decisions if d.call_id == call.call_id)
        if mine.agent is not None:
            self.offers[call.call_id] = _Offer(mine.agent, self.clock.now())
        self.record(route, call.priority, mine)
        return mine

    def routing_round(self) -> None:
        """Give free agents to calls on hold; each given call is moved by its own task."""
        if not self.state.link_up:
            return  # a Redirect could not be sent; the resync after login wakes us
        self._drop_stale_offers()
        holding = self._holding()
        if not holding:
            return
        calls = [waiting for waiting, _ in holding.values()]
        for decision in decide(
            self._agents(), calls, self.clock.now(), self.config.policy, self.clock.zone
        ):
            if decision.agent is None:
                continue
            waiting, channel = holding[decision.call_id]
            self.offers[decision.call_id] = _Offer(decision.agent, self.clock.now())
            call = views.call(self.state, decision.call_id)
            route = call.route if call is not None and call.route else "unknown"
            self.record(route, waiting.priority, decision)
            if self.observe is not None:
                self.observe(route, "moved", None)
            self.tasks.job(self.JOBS, self._move(decision.call_id, channel, decision.agent))

    async def _move(self, linkedid: str, channel: str, agent: str) -> None:
        try:
            await self.move(channel, agent)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            # The call stays on hold; the next round tries again (or its hold ends and the
            # plain queue takes it).
            log.warning("could not move call %s to %s: %s", linkedid, agent, exc)
            self.offers.pop(linkedid, None)

    async def _pause_after_no_answer(self, interface: str) -> None:
        try:
            await self.pause(interface, NO_ANSWER_REASON)
            log.info("%s let an ACD call ring out: paused (%s)", interface, NO_ANSWER_REASON)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            log.warning("could not pause %s after a ring-no-answer: %s", interface, exc)

    # --- the pipeline sink and the rounds ------------------------------------------------

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            match change:
                case AgentRinging(linkedid=linkedid) | CallAnswered(linkedid=linkedid):
                    self.offers.pop(linkedid, None)  # the offer was taken up
                case AgentRingEnded(interface=interface, linkedid=linkedid, reason="no_answer") if (
                    linkedid in self.routed
                ):
                    self.resting[interface] = self.clock.now() + OFFER_GRACE_S
                case CallEnded(record=record):
                    self.offers.pop(record.linkedid, None)
                    self.routed.pop(record.linkedid, None)
                case RoutedRingMissed(
                    linkedid=linkedid, interface=interface, dial_status="NOANSWER"
                ):
                    self.offers.pop(linkedid, None)
                    self.tasks.job(self.JOBS, self._pause_after_no_answer(interface))
                case AgentStateChanged(state=AgentState.READY) | QueueChanged():
                    self._wake.set()
                case _:
                    pass

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ROUND_INTERVAL_S)
            self._wake.clear()
            self.routing_round()

    async def close(self) -> None:
        """Let moves, pauses and decision writes under way finish (each is short)."""
        await self.tasks.end_jobs(self.JOBS, cancel=False)

    # --- the decision log ---------------------------------------------------------------

    def record(self, route: str, priority: int, decision: Decision) -> None:
        log.info("route %s call %s: %s", route, decision.call_id, decision.reason)
        self.tasks.job(self.JOBS, self._write(route, priority, decision))

    async def _write(self, route: str, priority: int, decision: Decision) -> None:
        considered: list[dict[str, Any]] = [asdict(c) for c in decision.considered]
        try:
            pool = await self.database.pool()
            await pool.execute(
                "INSERT INTO routing_decisions (linkedid, route, priority, agent, reason,"
                " considered) VALUES ($1, $2, $3, $4, $5, $6)",
                decision.call_id,
                route,
                priority,
                decision.agent,
                decision.reason,
                json.dumps(considered),
            )
        except (DatabaseUnavailable, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The call was routed; only the explanation is lost, and the log line keeps it.
            log.warning("routing decision for %s not stored: %s", decision.call_id, exc)


async def decisions_for(pool: asyncpg.Pool, linkedid: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT decided_at, route, priority, agent, reason, considered FROM routing_decisions"
        " WHERE linkedid = $1 ORDER BY id",
        linkedid,
    )
    return [
        {
            **dict(r),
            "decided_at": r["decided_at"].isoformat(),
            "considered": json.loads(r["considered"]),
        }
        for r in rows
    ]
