"""Live updates to browsers: a pipeline sink that sends each change to who may see it.

Theory of operation
-------------------
Who sees what is one pure function, ``route(change) -> [(audience, message)]``, table-tested
in tests/unit/test_hub_route.py because it is a security rule:
- an agent's pops (ringing, withdrawn, kept) go to ``AgentsOf`` the ringing interface only:
  the clients of the users whose phone interfaces include it — never to anyone else;
- an answered or ended call, its recording consent once decided (an outbound call's
  customer hears the notice after the pop), and an agent's new state go to that agent only;
- the AMI link going up or down goes to ``Everyone``, as do the queues' waiting callers
  (``to_everyone``, at most once a second: each agent's page shows its own queues). Those,
  and the wall's for supervisors, go out a slice of clients at a time (``FAN_OUT_SLICE``,
  fewer for a large message: ``FAN_OUT_BYTES``), the event loop free between two slices:
  written to 2,050 pages at once, one message held the loop while a pop arriving then
  waited behind it (bench/pop_latency.py, many panels: p99 72 ms).
Supervisors (and admins) follow queues, agents and calls through the wall
(cti/supervision/wallboard.py, ``to_supervisors``): a snapshot, then at most one delta a
second, with the alerts. They are not sent each change as well: at 20 supervisors that was
six websocket writes per supervisor per call, written before the ringing agent's pop got
its turn (bench/pop_latency.py: the daemon took 2-3 ms from the AgentCalled frame to the
pop's write on an idle machine, most of it in those writes).
An audience is a set of such groups, so that a client in two of them (a supervisor whose own
phone rang) gets a message once. Messages are typed (cti/push/messages.py) and turned into
their JSON once, whatever the number of clients.

Every open websocket is a ``Client`` with its user and its page's transport (the socket
under the websocket). ``offer`` (called by the pipeline) resolves each audience to clients
and writes the message's frame (cti/push/frames.py: framed once for all its pages) to each
page's transport at once: the kernel's send buffer and the transport's hold what a page has
not read yet. ``offer`` never waits: a page with more than ``UNSENT_LIMIT`` bytes held for
it is too slow to follow, so it is dropped (its page reconnects and gets a fresh snapshot)
rather than slow the pipeline. No task is made per write: a writer task per page and
message, woken each second by the queues' waits at 2,050 pages, cost ~65 ms of the loop a
second, and a pop's write waited a turn of the loop behind them.

The customer record is looked up after the pop is sent (``enrich``), so the caller's number
and name show within milliseconds even when the database or the CRM is slow; each lookup
is a job of the daemon's ``Tasks`` (group ``LOOKUPS``), cancelled on close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cti.auth.users import User
from cti.push.frames import PONG, text_frame
from cti.push.messages import (
    AgentStateMessage,
    CallAnsweredMessage,
    CallEndedMessage,
    ConsentMessage,
    LinkMessage,
    Message,
    PopCrmMessage,
    PopCustomersMessage,
    PopKeptMessage,
    PopMessage,
    PopWithdrawnMessage,
    SnapshotMessage,
    Wire,
)
from cti.state import views
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    Change,
    ConsentRecorded,
    LinkChanged,
)
from cti.state.store import CtiState
from cti.tasks import Tasks

log = logging.getLogger(__name__)

# A page this far behind is dropped. Above a supervisor's snapshot at 2,000 agents
# (~0.5 MB) and a burst of deltas after a resync, which a page that reads keeps up with.
UNSENT_LIMIT = 4 * 1024 * 1024
# At most this many pages a message is written to per turn of the loop, a pop arriving
# meanwhile waits for one slice (bench/README.md, many panels).
FAN_OUT_SLICE = 16
FAN_OUT_BYTES = 256 * 1024  # and about this many bytes at most (a wall's delta can be large)
AGENTS_PER_TURN = 200  # agents' rows of an overview built per turn of the event loop
CustomerLookup = Callable[[str], Awaitable[list[dict[str, Any]]]]
CrmLookup = Callable[[str], Awaitable[dict[str, Any] | None]]


class Page(Protocol):
    """What the hub writes a page through: the asyncio transport under its websocket."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...

    def get_write_buffer_size(self) -> int: ...


# --- who sees what ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentsOf:
    """The clients of the users whose phone interfaces include this agent interface."""

    interface: str


@dataclass(frozen=True, slots=True)
class Everyone:
    """Every client."""


Group = AgentsOf | Everyone
Audience = frozenset[Group]  # the union of its groups: a client in two gets a message once

EVERYONE: Audience = frozenset({Everyone()})


def _agent(interface: str | None) -> list[Audience]:
    return [frozenset({AgentsOf(interface)})] if interface else []


def route(change: Change) -> list[tuple[Audience, Message]]:
    """The messages a change makes and who may see each (the rule in the module docstring)."""
    match change:
        case AgentRinging():
            pop = PopMessage(
                interface=change.interface,
                member_name=change.member_name,
                linkedid=change.linkedid,
                queue=change.queue,
                caller_number=change.caller_number,
                caller_name=change.caller_name,
                queued_at=change.queued_at,
                resynced=change.resynced,
                consent=change.consent,
                at=change.ts,
                outbound=change.outbound,
            )
            return [(frozenset({AgentsOf(change.interface)}), pop)]
        case AgentRingEnded(interface=interface, linkedid=linkedid, reason=reason):
            ended: Message
            if reason == "answered":
                ended = PopKeptMessage(linkedid=linkedid, reason=reason)
            else:
                ended = PopWithdrawnMessage(linkedid=linkedid, reason=reason)
            return [(frozenset({AgentsOf(interface)}), ended)]
        case CallAnswered():
            answered = CallAnsweredMessage(
                linkedid=change.linkedid,
                queue=change.queue,
                interface=change.interface,
                member_name=change.member_name,
                wait_s=change.wait_s,
                at=change.ts,
            )
            return [(to, answered) for to in _agent(change.interface)]
        case ConsentRecorded(on_phones=phones):
            consent = ConsentMessage(linkedid=change.linkedid, consent=change.consent)
            return [(frozenset({AgentsOf(phone)}), consent) for phone in phones]
        case CallEnded(record=record):
            call_ended = CallEndedMessage(
                linkedid=record.linkedid,
                outcome=str(record.outcome),
                agent=record.agent,
                talk_s=record.talk_s,
                wait_s=record.wait_s,
            )
            return [(to, call_ended) for to in _agent(record.agent)]
        case AgentStateChanged(queues=member_of):
            agent_state = AgentStateMessage(
                interface=change.interface,
                member_name=change.member_name,
                state=change.state,
                reason=change.reason,
                member_of=member_of,
                at=change.ts,
            )
            return [(to, agent_state) for to in _agent(change.interface)]
        case LinkChanged():
            return [(EVERYONE, LinkMessage(up=change.up, reason=change.reason))]
        case _:
            return []


# --- clients and the sink -----------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Client:
    user: User
    session_key: str = ""  # the sign-in it belongs to: closed when that session ends
    page: Page | None = None  # None: nothing is written (its connection was gone already)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    signed_out: bool = False  # closed because its session ended (disabled, signed out)

    @property
    def supervises(self) -> bool:
        return self.user.may("supervisor")


class Hub:
    LOOKUPS = "customer lookup"

    def __init__(
        self,
        state: CtiState,
        tasks: Tasks,
        lookup: CustomerLookup | None = None,
        on_pop_written: Callable[[float], None] | None = None,
        arrival: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.state = state
        self.tasks = tasks
        # When the AMI frame being handled arrived on the socket (wall clock; None for our
        # own events): a pop's latency is measured from there, so the time it waited behind
        # other work counts too.
        self.arrival = arrival
        self.lookup = lookup
        self.crm: CrmLookup | None = None
        self.on_pop_written = on_pop_written  # pop latency, for the metrics
        self.clients: set[Client] = set()
        self._by_interface: dict[str, set[Client]] = {}
        # Kept as they join and leave: a supervisor-bound message must not scan every
        # client (8.6 ms per call at 5,000 panels).
        self._supervisors: set[Client] = set()

    # --- clients ------------------------------------------------------------------------

    def join(self, user: User, session_key: str = "", page: Page | None = None) -> Client:
        client = Client(user, session_key, page)
        self.clients.add(client)
        if client.supervises:
            self._supervisors.add(client)
        for interface in user.interfaces:
            self._by_interface.setdefault(interface, set()).add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)
        self._supervisors.discard(client)
        for interface in client.user.interfaces:
            self._by_interface.get(interface, set()).discard(client)
        client.closed.set()

    @property
    def has_supervisors(self) -> bool:
        return bool(self._supervisors)

    def clients_of(self, audience: Audience) -> set[Client]:
        """The clients an audience names now."""
        clients: set[Client] = set()
        for group in audience:
            match group:
                case AgentsOf(interface=interface):
                    clients |= self._by_interface.get(interface, set())
                case Everyone():
                    clients |= self.clients
        return clients

    def _send(self, clients: set[Client], wire: Wire, started: float | None = None) -> None:
        if clients:
            self._write(list(clients), text_frame(json.dumps(wire)), started)

    def _write(self, clients: list[Client], frame: bytes, started: float | None = None) -> None:
        """The frame to each client's page now; ``started``: a pop's, timed from there."""
        for client in clients:
            page = client.page
            if page is None or client.closed.is_set() or page.is_closing():
                continue  # left while a message went out in slices, or going: its handler ends
            if page.get_write_buffer_size() > UNSENT_LIMIT:
                log.warning("dropping slow panel client of %s", client.user.username)
                self.leave(client)
                continue
            try:
                page.write(frame)
            except Exception:  # not a page that went away (skipped above): say what it was
                log.exception("writing to the panel of %s failed; closing it", client.user.username)
                self.leave(client)
                continue
            if started is not None and self.on_pop_written is not None:
                self.on_pop_written(time.time() - started)

    # --- the sink -----------------------------------------------------------------------

    def offer(self, changes: Sequence[Change]) -> None:
        if not self.clients:
            return
        for change in changes:
            for audience, message in route(change):
                clients = self.clients_of(audience)
                if isinstance(message, PopMessage):
                    self._pop(clients, message)
                else:
                    self._send(clients, message.to_json())

    async def to_supervisors(self, message: Message) -> None:
        await self._in_slices(list(self._supervisors), message)

    async def to_everyone(self, message: Message) -> None:
        await self._in_slices(list(self.clients), message)

    async def keep_alive(self, clients: list[Client]) -> None:
        """An unsolicited pong to each of these clients' pages, a slice at a time
        (cti/push/ws.py says why)."""
        await self._frame_in_slices(clients, PONG)

    async def _in_slices(self, clients: list[Client], message: Message) -> None:
        await self._frame_in_slices(clients, text_frame(json.dumps(message.to_json())))

    async def _frame_in_slices(self, clients: list[Client], frame: bytes) -> None:
        """Written a slice of clients per turn of the loop (the module docstring says why)."""
        per_turn = max(1, min(FAN_OUT_SLICE, FAN_OUT_BYTES // len(frame)))
        for start in range(0, len(clients), per_turn):
            if start:
                await asyncio.sleep(0)  # a pop that arrived meanwhile goes first
            self._write(clients[start : start + per_turn], frame)

    def _pop(self, clients: set[Client], pop: PopMessage) -> None:
        if not clients:
            return
        arrived = self.arrival()
        self._send(clients, pop.to_json(), time.time() if arrived is None else arrived)
        self._look_up(pop)

    def _look_up(self, pop: PopMessage) -> None:
        """The caller's customer records and CRM record, sent to the agent when they come."""
        if not pop.caller_number:
            return
        if self.lookup is not None:
            self.tasks.job(self.LOOKUPS, self._enrich(pop, self.lookup))
        if self.crm is not None:
            self.tasks.job(self.LOOKUPS, self._ask_crm(pop, self.crm))

    def look_up_again(self, pops: Iterable[Wire]) -> None:
        """The customer lookup (and CRM) for pops a page was given in its snapshot: after a
        reload or a sign-in during a call, the card comes back as it was."""
        for found in pops:
            pop = PopMessage(
                interface=found["interface"],
                member_name="",
                linkedid=found["linkedid"],
                queue=found["queue"],
                caller_number=found["caller_number"],
                caller_name=found["caller_name"],
                queued_at=found["queued_at"],
                resynced=True,
                consent=found["consent"],
                at=None,
            )
            self._look_up(pop)

    async def _enrich(self, pop: PopMessage, lookup: CustomerLookup) -> None:
        try:
            customers = await lookup(pop.caller_number)
        except Exception:
            log.exception("customer lookup failed for a pop; the pop stays without it")
            return
        found = PopCustomersMessage(linkedid=pop.linkedid, customers=customers)
        self._send(self.clients_of(frozenset({AgentsOf(pop.interface)})), found.to_json())

    async def _ask_crm(self, pop: PopMessage, crm: CrmLookup) -> None:
        try:
            record = await crm(pop.caller_number)
        except Exception as exc:  # the CRM is someone else's system: say why, carry on
            log.warning("CRM lookup for a pop failed: %s", exc)
            failure = getattr(exc, "failure", None)  # CrmError's, for the agent's language
            answer = PopCrmMessage(linkedid=pop.linkedid, crm=None, error=str(exc), failure=failure)
        else:
            answer = PopCrmMessage(linkedid=pop.linkedid, crm=record)
        self._send(self.clients_of(frozenset({AgentsOf(pop.interface)})), answer.to_json())

    async def close(self) -> None:
        await self.tasks.end_jobs(self.LOOKUPS, cancel=True)
        for client in list(self.clients):
            self.leave(client)

    # --- snapshots ----------------------------------------------------------------------

    async def snapshot_for(self, user: User) -> SnapshotMessage:
        """What a freshly connected page needs before the changes that follow: the user's
        own pops, the agents they may see (all of them for supervisors, else their own), and
        for supervisors the overview."""
        # An agent's page asks only for its own phones: building every agent's view for
        # each of 2,000 pages connecting took two minutes of the event loop.
        if user.may("supervisor"):
            overview = await overview_in_turns(self.state)
            agent_rows = overview["agents"]
        else:
            overview = None
            own = (views.agent(self.state, interface) for interface in sorted(user.interfaces))
            agent_rows = [agent.to_json() for agent in own if agent is not None]
        return SnapshotMessage(
            ami_connected=self.state.link_up,
            agent_rows=agent_rows,
            pops=views.pops(self.state, user.interfaces),
            overview=overview,
            queue_waits=views.queue_waits(self.state),
        )


async def overview_in_turns(state: CtiState) -> dict[str, Any]:
    """``views.overview``, its agents' rows built ``AGENTS_PER_TURN`` per turn of the event
    loop: at once, 2,000 of them held it ~40 ms on each supervisor's page opening, each
    resync of the wall and each ``/api/state``, and pops waited behind. The page applies
    later changes row by row, so rows built a few turns apart serve as well as rows built
    together."""
    agent_rows = []
    for count, interface in enumerate(sorted(views.interfaces(state))):
        if count and count % AGENTS_PER_TURN == 0:
            await asyncio.sleep(0)
        if (agent := views.agent(state, interface)) is not None:
            agent_rows.append(agent.to_json())
    return views.overview(state, agent_rows)
