"""Channels and calls as the state core keeps them (mutable, private to the core).

A *channel* is one leg, keyed by Uniqueid. A *call* is every leg sharing a Linkedid: the
caller's channel plus the agent legs app_queue dials (they inherit the caller's Linkedid).
A call ends when its last channel hangs up; then it is frozen into a ``CallRecord``.

A call keeps two kinds of knowledge. Its *facts* (``queued_at``, ``answered_at``, ``agent``,
``abandoned``, ...) say what happened and when; the call log and the views read them, and a
call that went through two queues keeps the facts of both. Its *phase* says where it is now
on its way to an agent, and ``TRANSITIONS`` lists, as data, the moves we expect Asterisk to
make. A move outside the table is not refused: the event is what Asterisk did, so the phase
follows it, and the state core reports the surprise as an ``Anomaly`` (counted and logged):
either Asterisk does something we did not know, and the table learns it, or events were lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cti.state.changes import CallRecord, Outcome

# Q.850 causes meaning the network could not set the call up (as opposed to nobody answering).
FAILURE_CAUSES = frozenset({1, 3, 27, 34, 38, 41, 42, 44, 47, 58, 88, 102, 111, 127})

# The daemon originates a supervisor's listen/whisper/barge to the supervisor's own phone into
# our [cti-spy...] dialplan, which runs ChanSpy (cti/supervision/http.py). Asterisk creates that
# channel in its endpoint's context and moves it to the Originate's only once the phone answers
# (pbx.c, pbx_outgoing_exec); the Newexten events that would show it are skipped as noise. What
# we do see is the context a Hangup reports (the last the channel ran), a CoreShowChannel's
# context or Application, and a Newchannel's context for a channel born there (a Local channel,
# the simulator). By prefix: the dialplan may give each mode its own (cti-spy-listen, ...).
SPY_CONTEXT_PREFIX = "cti-spy"
SPY_APPLICATION = "ChanSpy"


def is_spy_leg(context: str, application: str = "") -> bool:
    return context.startswith(SPY_CONTEXT_PREFIX) or application == SPY_APPLICATION


# How an outbound call's Dial of the customer ended, when they did not answer.
_DIAL_OUTCOMES = {
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.UNANSWERED,
    "CHANUNAVAIL": Outcome.FAILED,
    "CONGESTION": Outcome.FAILED,
}


class CallPhase(StrEnum):
    NEW = "new"  # legs exist, no queue or route point has it (a direct call stays here)
    QUEUED = "queued"  # waiting for an agent: in a queue, or at an ACD route point
    RINGING = "ringing"  # waiting, and at least one agent's phone rings for it
    DIALING = "dialing"  # an agent's outbound call: they took their phone, the customer's rings
    ANSWERED = "answered"  # an agent took it (outbound: the customer answered)
    ABANDONED = "abandoned"  # the caller hung up while waiting
    LET_GO = "let_go"  # the queue let it go unanswered (timeout, Redirect, empty queue)
    ENDED = "ended"  # its last leg hung up


# Where a call may go from each phase; staying in the same phase is always fine (a second
# agent rung, the route's holding queue joined after the route point). Every live phase can
# end: a caller hangs up whenever they like.
TRANSITIONS: Mapping[CallPhase, frozenset[CallPhase]] = {
    CallPhase.NEW: frozenset(
        {
            CallPhase.QUEUED,
            CallPhase.RINGING,  # an agent's outbound call: their own phone rings first
            # Answered before we connected: a snapshot lists the agent's leg Up, or the
            # AgentComplete of a call known only from CoreShowChannels names the agent.
            CallPhase.ANSWERED,
            CallPhase.ENDED,
        }
    ),
    CallPhase.QUEUED: frozenset(
        {
            CallPhase.RINGING,
            CallPhase.ANSWERED,  # AgentConnect with no AgentCalled seen (a ring we missed)
            CallPhase.ABANDONED,
            CallPhase.LET_GO,
            CallPhase.ENDED,
        }
    ),
    CallPhase.RINGING: frozenset(
        {
            CallPhase.QUEUED,  # no phone rings any more (no answer, refused): waits on
            CallPhase.DIALING,  # outbound: the agent took their phone
            CallPhase.ANSWERED,
            CallPhase.ABANDONED,
            CallPhase.LET_GO,  # the queue's timeout struck while a phone rang
            CallPhase.ENDED,
        }
    ),
    CallPhase.DIALING: frozenset({CallPhase.ANSWERED, CallPhase.ENDED}),
    CallPhase.ANSWERED: frozenset(
        {
            CallPhase.QUEUED,  # transferred into a queue or a route point
            CallPhase.ENDED,
        }
    ),
    CallPhase.ABANDONED: frozenset({CallPhase.ENDED}),
    CallPhase.LET_GO: frozenset(
        {
            CallPhase.QUEUED,  # the dialplan's next queue, or the route's holding queue again
            CallPhase.RINGING,  # the ACD took it out of the holding queue to dial its agent
            CallPhase.ENDED,  # timed out
        }
    ),
    CallPhase.ENDED: frozenset(),
}


@dataclass(slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: str
    created_at: float | None
    last_seen_seq: int
    # The channel asked to hang up (HangupRequest / SoftHangupRequest): what tells a caller
    # who abandoned a queue from one the queue let go (see CtiState._caller_abandon).
    hangup_requested: bool = False


@dataclass(slots=True)
class Call:
    linkedid: str
    started_at: float | None
    caller_number: str = ""
    caller_name: str = ""
    dialed: str = ""
    channels: set[str] = field(default_factory=set)
    queue: str | None = None
    queued_at: float | None = None
    left_queue_at: float | None = None
    answered_at: float | None = None
    agent: str | None = None
    agent_name: str | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    abandoned: bool = False
    abandon_position: int | None = None
    bridged: bool = False
    consent: str | None = None
    consent_method: str | None = None
    consent_at: float | None = None
    on_hold_since: dict[str, float] = field(default_factory=dict)  # leg Uniqueid -> since
    hold_s: float = 0.0
    transferred: bool = False
    recorded: bool = False
    recording: str | None = None
    hangup_cause: int | None = None
    no_answer_count: int = 0
    ringing: set[str] = field(default_factory=set)  # interfaces whose phones ring for it
    answering: str | None = None  # interface whose leg went Up, before AgentConnect says so
    route: str | None = None  # the ACD route point it entered (UserEvent CtiRoute)
    hold_queue: str | None = None  # where that route's calls wait for the ACD
    spy: bool = False  # a supervisor's listen/whisper/barge leg, not a call to log
    # An agent's outbound call (cti/state/outbound.py): the interface that called out, and
    # how the Dial of the customer ended when they did not answer (BUSY, NOANSWER, ...).
    outbound_by: str | None = None
    dial_status: str | None = None
    campaign_id: int | None = None  # the campaign whose attempt it is, and which attempt
    attempt: int | None = None
    # The agent consulted in an attended transfer, who takes the call if it completes.
    consulted: str | None = None
    # In progress while the AMI link was down: events of it may have been missed, so
    # Asterisk's records complete it once it has ended (cti/calllog/reconcile.py).
    through_gap: bool = False
    phase: CallPhase = CallPhase.NEW

    def phones(self) -> tuple[str, ...]:
        """The agents' phones this call rings or talks on now."""
        return tuple(sorted(self.ringing | ({self.agent} if self.agent else set())))

    def move_to(self, phase: CallPhase) -> bool:
        """Enter ``phase``; False if ``TRANSITIONS`` does not expect the move (made all the
        same: Asterisk, not the table, knows where the call is)."""
        expected = phase is self.phase or phase in TRANSITIONS[self.phase]
        self.phase = phase
        return expected

    def waited(self, ts: float | None, asterisk_hold_s: int) -> int:
        """How long the caller waited for the agent who answered (or until they hung up). An
        ACD call waits from the route point on; app_queue's HoldTime only counts its own
        queue, which for such a call may be the fallback joined late."""
        if self.route is None or self.queued_at is None or ts is None:
            return asterisk_hold_s
        return max(0, round(ts - self.queued_at))

    def absorb(self, other: Call) -> None:
        """Merge facts of a call whose channels were re-linked into this one."""
        for name in (
            "caller_number",
            "caller_name",
            "dialed",
            "queue",
            "queued_at",
            "left_queue_at",
            "answered_at",
            "agent",
            "agent_name",
            "wait_s",
            "talk_s",
            "abandon_position",
            "consent",
            "consent_method",
            "consent_at",
            "recording",
            "hangup_cause",
            "route",
            "hold_queue",
            "outbound_by",
            "dial_status",
            "campaign_id",
            "attempt",
        ):
            if not getattr(self, name) and getattr(other, name):
                setattr(self, name, getattr(other, name))
        if other.started_at is not None and (
            self.started_at is None or other.started_at < self.started_at
        ):
            self.started_at = other.started_at
        if self.phase is CallPhase.NEW:  # like the facts: what this call did not know yet
            self.phase = other.phase
        self.channels |= other.channels
        self.ringing |= other.ringing
        self.abandoned = self.abandoned or other.abandoned
        self.bridged = self.bridged or other.bridged
        self.recorded = self.recorded or other.recorded
        self.no_answer_count += other.no_answer_count
        self.hold_s += other.hold_s
        self.transferred = self.transferred or other.transferred
        self.through_gap = self.through_gap or other.through_gap

    def outcome(self, ended_while_disconnected: bool) -> Outcome:
        if self.outbound_by is not None:
            return self._outbound_outcome(ended_while_disconnected)
        if self.agent is not None or (self.queue is None and self.bridged):
            return Outcome.TRANSFERRED if self.transferred else Outcome.ANSWERED
        if self.abandoned:
            return Outcome.ABANDONED
        if ended_while_disconnected:
            return Outcome.UNKNOWN
        if self.queue is not None:
            return Outcome.TIMED_OUT if self.left_queue_at is not None else Outcome.ABANDONED
        if self.hangup_cause in FAILURE_CAUSES:
            return Outcome.FAILED
        return Outcome.UNANSWERED

    def _outbound_outcome(self, ended_while_disconnected: bool) -> Outcome:
        if self.answered_at is not None:
            return Outcome.TRANSFERRED if self.transferred else Outcome.ANSWERED
        if self.dial_status is None and ended_while_disconnected:
            return Outcome.UNKNOWN
        # No Dial status: the agent never took their phone (the customer was never dialled);
        # CANCEL: the agent hung up before the customer answered.
        return _DIAL_OUTCOMES.get(self.dial_status or "", Outcome.UNANSWERED)

    def direction(self) -> str:
        if self.outbound_by is not None:
            return "outbound"
        return "inbound" if self.queue else "other"

    def to_record(self, ended_at: float | None, ended_while_disconnected: bool) -> CallRecord:
        outcome = self.outcome(ended_while_disconnected)
        wait_s = self.wait_s
        if wait_s is None and self.queued_at is not None:
            left = self.left_queue_at if self.left_queue_at is not None else ended_at
            if left is not None:
                wait_s = round(left - self.queued_at)
        hold_s = self.hold_s + sum(
            ended_at - since for since in self.on_hold_since.values() if ended_at is not None
        )
        talk_s = self.talk_s
        if talk_s is None and self.answered_at is not None and ended_at is not None:
            talk_s = round(ended_at - self.answered_at)
        return CallRecord(
            linkedid=self.linkedid,
            caller_number=self.caller_number,
            caller_name=self.caller_name,
            dialed=self.dialed,
            direction=self.direction(),
            queue=self.queue,
            agent=self.agent,
            agent_name=self.agent_name,
            outcome=outcome,
            started_at=self.started_at,
            queued_at=self.queued_at,
            answered_at=self.answered_at,
            ended_at=ended_at,
            wait_s=wait_s,
            talk_s=talk_s if self.answered_at is not None or self.agent else None,
            hold_s=round(hold_s),
            abandon_position=self.abandon_position,
            consent=self.consent,
            consent_method=self.consent_method,
            consent_at=self.consent_at,
            recorded=self.recorded and self.consent != "declined",
            recording=self.recording if self.consent != "declined" else None,
            hangup_cause=self.hangup_cause,
            no_answer_count=self.no_answer_count,
            ended_while_disconnected=ended_while_disconnected,
            through_gap=self.through_gap or ended_while_disconnected,
            dial_status=self.dial_status,
            campaign_id=self.campaign_id,
            attempt=self.attempt,
        )
