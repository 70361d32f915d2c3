"""Channels and calls as the state core keeps them (mutable, private to the core).

A *channel* is one leg, keyed by Uniqueid. A *call* is every leg sharing a Linkedid: the
caller's channel plus the agent legs app_queue dials (they inherit the caller's Linkedid).
A call ends when its last channel hangs up; then it is frozen into a ``CallRecord``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti.state.changes import CallRecord, Outcome

# Q.850 causes meaning the network could not set the call up (as opposed to nobody answering).
FAILURE_CAUSES = frozenset({1, 3, 27, 34, 38, 41, 42, 44, 47, 58, 88, 102, 111, 127})


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
    # In progress while the AMI link was down: events of it may have been missed, so
    # Asterisk's records complete it once it has ended (cti/calllog/reconcile.py).
    through_gap: bool = False

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
        ):
            if not getattr(self, name) and getattr(other, name):
                setattr(self, name, getattr(other, name))
        if other.started_at is not None and (
            self.started_at is None or other.started_at < self.started_at
        ):
            self.started_at = other.started_at
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
        )
