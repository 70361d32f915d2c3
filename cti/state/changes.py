"""Typed, frozen changes: the only output of the state core, consumed by every sink.

A change says what happened in terms people use (a call was offered, an agent's phone is
ringing for a caller, a call ended with these facts), so sinks never re-derive call logic
from raw AMI events.

Changes are built by keyword (``kw_only``): many fields share a type (three ``str`` in a row,
several times), and a positional call would put a value in the wrong one without a word from
mypy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"  # answered, then handed on by a transfer
    TIMED_OUT = "timed_out"  # left the queue unanswered without hanging up (queue timeout)
    FAILED = "failed"  # never connected because the network refused it (congestion ...)
    UNANSWERED = "unanswered"  # never reached a queue and never talked to anyone
    BUSY = "busy"  # an outbound call: the customer's line was busy
    UNKNOWN = "unknown"  # ended while we were disconnected before we knew its fate


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"  # member of no queue
    UNAVAILABLE = "unavailable"  # device unreachable (phone unregistered)
    READY = "ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    BUSY = "busy"  # on a call that did not come from a queue
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """Everything we learned about one call (all legs sharing a Linkedid)."""

    linkedid: str
    caller_number: str
    caller_name: str
    dialed: str
    direction: str  # inbound (through a queue) | outbound (an agent called out) | other
    queue: str | None
    agent: str | None  # member interface that answered, e.g. SIP/1001
    agent_name: str | None
    outcome: Outcome
    started_at: float | None
    queued_at: float | None
    answered_at: float | None
    ended_at: float | None
    wait_s: int | None
    talk_s: int | None
    hold_s: int
    abandon_position: int | None
    consent: str | None  # granted | declined | None (never asked)
    consent_method: str | None
    consent_at: float | None
    recorded: bool
    recording: str | None
    hangup_cause: int | None
    no_answer_count: int
    ended_while_disconnected: bool
    through_gap: bool = False  # in progress while the AMI link was down (see Call)
    # An outbound call: how the Dial of the customer ended (ANSWER, BUSY, ...; None: the
    # customer was never dialled), and the campaign attempt it was, if one.
    dial_status: str | None = None
    campaign_id: int | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered:
    ts: float | None
    linkedid: str
    queue: str
    caller_number: str
    caller_name: str
    position: int
    # Learnt from a snapshot after a login (a restart, a reconnect), not seen as it
    # happened: the call log keeps it only if the call has no such fact yet.
    resynced: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRinging:
    ts: float | None
    interface: str
    member_name: str
    linkedid: str
    queue: str
    caller_number: str
    caller_name: str
    queued_at: float | None
    resynced: bool = False  # learnt from a snapshot (see CallOffered)
    consent: str | None = None  # the caller's recording consent, when already decided
    outbound: bool = False  # the agent's own call out: their phone rings before the customer's


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRingEnded:
    """A ring stopped: ``answered`` (by this agent), ``answered_elsewhere``, ``no_answer``,
    or ``caller_gone``. A screen-pop stays only for ``answered``."""

    ts: float | None
    interface: str
    linkedid: str
    queue: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered:
    ts: float | None
    linkedid: str
    queue: str
    interface: str
    member_name: str
    wait_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAbandoned:
    ts: float | None
    linkedid: str
    queue: str
    position: int
    wait_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    ts: float | None
    record: CallRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutedRingMissed:
    """The agent the ACD chose let the call ring out (``dial_status`` NOANSWER) or could
    not take it (BUSY, CHANUNAVAIL); the call goes back to wait for the ACD."""

    ts: float | None
    linkedid: str
    interface: str
    route: str
    dial_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteFellBack:
    """A call that entered an ACD route point joined the plain Asterisk ``queue`` instead:
    the daemon was down or slow, or did not move it from the holding queue in time."""

    ts: float | None
    linkedid: str
    route: str
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallsMerged:
    """Asterisk re-linked channels to an older Linkedid; ``absorbed`` is gone now."""

    ts: float | None
    absorbed: str
    into: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentRecorded:
    ts: float | None
    linkedid: str
    consent: str
    method: str
    recording: str
    # The phones the call rings or talks on now: their screens show the consent. An agent's
    # outbound call learns it only after the customer answers, long after the pop.
    on_phones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged:
    ts: float | None
    interface: str
    member_name: str
    state: AgentState
    reason: str  # pause reason, when paused
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueChanged:
    ts: float | None
    queue: str
    waiting: int
    oldest_queued_at: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkChanged:
    ts: float | None
    up: bool
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Resynced:
    """The snapshot lists asked after a login have all been applied: the state matches
    Asterisk again (and what ended meanwhile has been closed)."""

    ts: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Anomaly:
    """An event that does not fit what we know; counted and logged, never fatal."""

    ts: float | None
    kind: str
    detail: str


Change = (
    CallOffered
    | AgentRinging
    | AgentRingEnded
    | CallAnswered
    | CallAbandoned
    | CallEnded
    | RoutedRingMissed
    | RouteFellBack
    | CallsMerged
    | ConsentRecorded
    | AgentStateChanged
    | QueueChanged
    | LinkChanged
    | Resynced
    | Anomaly
)
