"""Live updates to browsers: a pipeline sink that routes each change to who may see it.

Theory of operation
-------------------
Every open websocket is a ``Client`` with its user and a bounded outbox. ``offer`` (called by
the pipeline) turns changes into small JSON messages and puts each on the outboxes of its
audience only:
- an agent's pops (ringing, withdrawn, answered, ended) go to the clients of the user whose
  phone interfaces include the agent interface — never to anyone else;
- queue, agent-state and call overviews go to supervisors and admins;
- the AMI link going up or down goes to everyone; wallboard alerts (``to_supervisors``) to
  supervisors.
``offer`` never waits: a client whose outbox is full is too slow to follow, so it is dropped
(its page reconnects and gets a fresh snapshot) rather than slow the pipeline.

The customer record is looked up after the pop is sent (``enrich``), so the caller's number
and name show within milliseconds even when the database or the CRM is slow; each lookup
is a task of the hub's own, cancelled on close.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from cti.auth.users import User
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    Change,
    LinkChanged,
    QueueChanged,
)
from cti.state.snapshot import snapshot
from cti.state.store import CtiState

log = logging.getLogger(__name__)

OUTBOX_SIZE = 500
Message = dict[str, Any]
CustomerLookup = Callable[[str], Awaitable[list[dict[str, Any]]]]
CrmLookup = Callable[[str], Awaitable[dict[str, Any] | None]]


@dataclass(eq=False, slots=True)
class Client:
    user: User
    session_key: str = ""  # the sign-in it belongs to: closed when that session ends
    outbox: asyncio.Queue[tuple[Message, float | None]] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_SIZE)
    )
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    signed_out: bool = False  # closed because its session ended (disabled, signed out)

    @property
    def supervises(self) -> bool:
        return self.user.may("supervisor")


class Hub:
    def __init__(
        self,
        state: CtiState,
        lookup: CustomerLookup | None = None,
        on_pop_written: Callable[[float], None] | None = None,
    ) -> None:
        self.state = state
        self.lookup = lookup
        self.crm: CrmLookup | None = None
        self.on_pop_written = on_pop_written  # pop latency, for the metrics
        self.clients: set[Client] = set()
        self._by_interface: dict[str, set[Client]] = {}
        self._lookups: set[asyncio.Task[None]] = set()

    # --- clients ------------------------------------------------------------------------

    def join(self, user: User, session_key: str = "") -> Client:
        client = Client(user, session_key)
        self.clients.add(client)
        for interface in user.interfaces:
            self._by_interface.setdefault(interface, set()).add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)
        for interface in client.user.interfaces:
            self._by_interface.get(interface, set()).discard(client)
        client.closed.set()

    def _send(
        self,
        clients: Sequence[Client] | set[Client],
        message: Message,
        started: float | None = None,
    ) -> None:
        for client in list(clients):
            try:
                client.outbox.put_nowait((message, started))
            except asyncio.QueueFull:
                log.warning("dropping slow panel client of %s", client.user.username)
                self.leave(client)

    def _agents_of(self, interface: str) -> set[Client]:
        return self._by_interface.get(interface, set())

    def _supervisors(self) -> list[Client]:
        return [c for c in self.clients if c.supervises]

    # --- the sink -----------------------------------------------------------------------

    def offer(self, changes: Sequence[Change]) -> None:
        if not self.clients:
            return
        for change in changes:
            match change:
                case AgentRinging():
                    self._pop(change)
                case AgentRingEnded(interface=interface, linkedid=linkedid, reason=reason):
                    kind = "pop_kept" if reason == "answered" else "pop_withdrawn"
                    self._send(
                        self._agents_of(interface),
                        {"type": kind, "linkedid": linkedid, "reason": reason},
                    )
                case CallAnswered(interface=interface):
                    message = {"type": "call_answered", **_fields(change)}
                    self._send(self._agents_of(interface) | set(self._supervisors()), message)
                case CallEnded(record=record):
                    message = {
                        "type": "call_ended",
                        "linkedid": record.linkedid,
                        "outcome": str(record.outcome),
                        "agent": record.agent,
                        "talk_s": record.talk_s,
                        "wait_s": record.wait_s,
                    }
                    audience = set(self._supervisors())
                    if record.agent:
                        audience |= self._agents_of(record.agent)
                    self._send(audience, message)
                case AgentStateChanged(interface=interface):
                    message = {"type": "agent_state", **_fields(change)}
                    self._send(self._agents_of(interface) | set(self._supervisors()), message)
                case QueueChanged() | CallOffered() | CallAbandoned():
                    kind = {
                        "QueueChanged": "queue",
                        "CallOffered": "call_offered",
                        "CallAbandoned": "call_abandoned",
                    }[type(change).__name__]
                    self.to_supervisors({"type": kind, **_fields(change)})
                case LinkChanged(up=up, reason=reason):
                    self._send(self.clients, {"type": "link", "up": up, "reason": reason})
                case _:
                    pass

    def to_supervisors(self, message: Message) -> None:
        self._send(self._supervisors(), message)

    def _pop(self, ring: AgentRinging) -> None:
        audience = self._agents_of(ring.interface)
        if not audience:
            return
        started = time.monotonic()
        self._send(audience, {"type": "pop", **_fields(ring)}, started)
        if not ring.caller_number:
            return
        if self.lookup is not None:
            self._start_lookup(self._enrich(ring, self.lookup))
        if self.crm is not None:
            self._start_lookup(self._ask_crm(ring, self.crm))

    def _start_lookup(self, lookup: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(lookup)
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _enrich(self, ring: AgentRinging, lookup: CustomerLookup) -> None:
        try:
            customers = await lookup(ring.caller_number)
        except Exception:
            log.exception("customer lookup failed for a pop; the pop stays without it")
            return
        self._send(
            self._agents_of(ring.interface),
            {"type": "pop_customers", "linkedid": ring.linkedid, "customers": customers},
        )

    async def _ask_crm(self, ring: AgentRinging, crm: CrmLookup) -> None:
        message: Message = {"type": "pop_crm", "linkedid": ring.linkedid}
        try:
            message["crm"] = await crm(ring.caller_number)
        except Exception as exc:  # the CRM is someone else's system: say why, carry on
            log.warning("CRM lookup for a pop failed: %s", exc)
            message |= {"crm": None, "error": str(exc)}
        self._send(self._agents_of(ring.interface), message)

    async def close(self) -> None:
        for task in list(self._lookups):
            task.cancel()
        await asyncio.gather(*self._lookups, return_exceptions=True)
        for client in list(self.clients):
            self.leave(client)

    # --- snapshots ----------------------------------------------------------------------

    def snapshot_for(self, user: User) -> Message:
        """What a freshly connected page needs before the changes that follow."""
        state = self.state
        pops = []
        for interface in user.interfaces:
            agent = state.agents.get(interface)
            if agent is None:
                continue
            for linkedid in set(agent.ringing.values()) | ({agent.talking} - {None}):
                call = state.calls.get(linkedid) if linkedid else None
                if call is not None:
                    pops.append(
                        {
                            "linkedid": call.linkedid,
                            "interface": interface,
                            "caller_number": call.caller_number,
                            "caller_name": call.caller_name,
                            "queue": call.queue or "",
                            "queued_at": call.queued_at,
                            "answered": call.agent == interface,
                        }
                    )
        agents = [
            {
                "interface": a.interface,
                "member_name": a.member_name,
                "state": str(a.derive_state(state.clock)[0]),
                "reason": a.derive_state(state.clock)[1],
                "queues": sorted(a.memberships),
            }
            for a in state.agents.values()
            if user.may("supervisor") or a.interface in user.interfaces
        ]
        message: Message = {
            "type": "snapshot",
            "ami_connected": state.link_up,
            "agents": agents,
            "pops": pops,
        }
        if user.may("supervisor"):
            message["overview"] = snapshot(state)
        return message


def _fields(change: Any) -> Message:
    return {name: getattr(change, name) for name in change.__slots__ if name != "ts"} | {
        "at": change.ts
    }
