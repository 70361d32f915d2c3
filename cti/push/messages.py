"""What the hub sends to browsers: one frozen dataclass per websocket message type.

Each ``to_json`` spells out, key by key, the object the panel receives (web/src/agent.tsx and
web/src/wall.tsx read them), so the wire format is written down in one place and changes
only on purpose. A message made from a state change carries the change's time as ``at``
(Asterisk's clock, epoch seconds, or null), as its last key; the others carry no time.

Who receives which message is decided by ``cti.push.hub.route``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any

from cti.state.changes import AgentState

Wire = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PopMessage:
    """An agent's phone rings for a caller: their page shows the caller at once."""

    interface: str
    member_name: str
    linkedid: str
    queue: str
    caller_number: str
    caller_name: str
    queued_at: float | None
    resynced: bool
    consent: str | None
    at: float | None
    outbound: bool = False  # the agent's own call out to this customer (click-to-dial)

    def to_json(self) -> Wire:
        return {
            "type": "pop",
            "interface": self.interface,
            "member_name": self.member_name,
            "linkedid": self.linkedid,
            "queue": self.queue,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "queued_at": self.queued_at,
            "resynced": self.resynced,
            "consent": self.consent,
            "at": self.at,
            "outbound": self.outbound,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PopKeptMessage:
    """The ring stopped because this agent answered: the pop stays."""

    linkedid: str
    reason: str

    def to_json(self) -> Wire:
        return {"type": "pop_kept", "linkedid": self.linkedid, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class PopWithdrawnMessage:
    """The ring stopped otherwise (no answer, answered elsewhere, caller gone): the pop goes."""

    linkedid: str
    reason: str

    def to_json(self) -> Wire:
        return {"type": "pop_withdrawn", "linkedid": self.linkedid, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class PopCustomersMessage:
    """The customer records of a pop's caller number, sent when the lookup returns."""

    linkedid: str
    customers: list[dict[str, Any]]

    def to_json(self) -> Wire:
        return {"type": "pop_customers", "linkedid": self.linkedid, "customers": self.customers}


@dataclass(frozen=True, slots=True, kw_only=True)
class PopCrmMessage:
    """The CRM's record of a pop's caller; ``error`` (sent only when set) says why not, in
    English, and ``failure`` for the panel to say it in the agent's language
    (``CrmError.failure``)."""

    linkedid: str
    crm: dict[str, Any] | None
    error: str | None = None
    failure: dict[str, Any] | None = None

    def to_json(self) -> Wire:
        wire: Wire = {"type": "pop_crm", "linkedid": self.linkedid, "crm": self.crm}
        if self.error is not None:
            wire["error"] = self.error
            wire["failure"] = self.failure or {"kind": "other"}
        return wire


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnsweredMessage:
    linkedid: str
    queue: str
    interface: str
    member_name: str
    wait_s: int
    at: float | None

    def to_json(self) -> Wire:
        return {
            "type": "call_answered",
            "linkedid": self.linkedid,
            "queue": self.queue,
            "interface": self.interface,
            "member_name": self.member_name,
            "wait_s": self.wait_s,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentMessage:
    """The call's recording consent, decided after its pop (an outbound call's customer)."""

    linkedid: str
    consent: str

    def to_json(self) -> Wire:
        return {"type": "consent", "linkedid": self.linkedid, "consent": self.consent}


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEndedMessage:
    linkedid: str
    outcome: str
    agent: str | None
    talk_s: int | None
    wait_s: int | None

    def to_json(self) -> Wire:
        return {
            "type": "call_ended",
            "linkedid": self.linkedid,
            "outcome": self.outcome,
            "agent": self.agent,
            "talk_s": self.talk_s,
            "wait_s": self.wait_s,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateMessage:
    interface: str
    member_name: str
    state: AgentState
    reason: str
    member_of: tuple[str, ...]  # sent as "queues"
    at: float | None

    def to_json(self) -> Wire:
        return {
            "type": "agent_state",
            "interface": self.interface,
            "member_name": self.member_name,
            "state": str(self.state),
            "reason": self.reason,
            "queues": list(self.member_of),
            "at": self.at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueWaitsMessage:
    """Every queue's callers waiting, and since when the longest has waited: sent to every
    page when it changes, at most once a second; each agent's page shows its own queues."""

    waits: list[tuple[str, int, float | None]]  # views.queue_waits

    def to_json(self) -> Wire:
        return {"type": "queue_waits", "queues": queue_waits_json(self.waits)}


def queue_waits_json(waits: list[tuple[str, int, float | None]]) -> list[Wire]:
    return [
        {"queue": queue, "waiting": waiting, "oldest_queued_at": oldest}
        for queue, waiting, oldest in waits
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkMessage:
    """The AMI link went up or down."""

    up: bool
    reason: str

    def to_json(self) -> Wire:
        return {"type": "link", "up": self.up, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertMessage:
    """A wallboard alert raised or cleared (``cti.supervision.wallboard.Alert``); ``at`` is
    the time the watcher noticed it, not a change's."""

    queue: str
    kind: str
    text: str
    raised: bool
    at: float

    def to_json(self) -> Wire:
        return {
            "type": "alert",
            "queue": self.queue,
            "kind": self.kind,
            "text": self.text,
            "raised": self.raised,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class WallMessage:
    """What changed on the supervisors' wall since the last one (at most one a second,
    ``cti.supervision.wallboard.WallFeed``): wallboard queue cards, agents' rows and calls
    (the shapes of ``/api/wallboard`` and ``/api/state``), each replaced whole, and the keys
    of those gone. ``at`` is the wallboard's time (ISO 8601)."""

    cards: list[Wire]  # wallboard queues
    cards_gone: list[str]
    agent_rows: list[Wire]
    agent_rows_gone: list[str]
    call_rows: list[Wire]
    call_rows_gone: list[str]
    _: KW_ONLY
    ami_connected: bool
    at: str

    @property
    def is_empty(self) -> bool:
        """Nothing changed but perhaps the link."""
        return (
            not any(
                (self.cards, self.cards_gone, self.agent_rows, self.agent_rows_gone, self.call_rows)
            )
            and not self.call_rows_gone
        )

    def to_json(self) -> Wire:
        return {
            "type": "wall",
            "queues": self.cards,
            "queues_gone": self.cards_gone,
            "agents": self.agent_rows,
            "agents_gone": self.agent_rows_gone,
            "calls": self.call_rows,
            "calls_gone": self.call_rows_gone,
            "ami_connected": self.ami_connected,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotMessage:
    """A page's first message: what it must show before the changes that follow."""

    ami_connected: bool
    agent_rows: list[dict[str, Any]]  # sent as "agents": AgentView.to_json of those they see
    pops: list[dict[str, Any]]  # views.pops of the user's own phones
    overview: dict[str, Any] | None  # views.overview, for supervisors only
    queue_waits: list[tuple[str, int, float | None]]  # views.queue_waits

    def to_json(self) -> Wire:
        wire: Wire = {
            "type": "snapshot",
            "ami_connected": self.ami_connected,
            "agents": self.agent_rows,
            "pops": self.pops,
            "queue_waits": queue_waits_json(self.queue_waits),
        }
        if self.overview is not None:
            wire["overview"] = self.overview
        return wire


Message = (
    PopMessage
    | PopKeptMessage
    | PopWithdrawnMessage
    | PopCustomersMessage
    | PopCrmMessage
    | CallAnsweredMessage
    | ConsentMessage
    | CallEndedMessage
    | AgentStateMessage
    | LinkMessage
    | QueueWaitsMessage
    | WallMessage
    | AlertMessage
    | SnapshotMessage
)
