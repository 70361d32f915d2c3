"""Agents (queue members) as the state core keeps them, and how their state is derived.

An agent is keyed by its member interface (``SIP/1001``, ``PJSIP/1001`` or a FreePBX-style
``Local/1001@agents/n``); its phone's device state is reported under ``state_interface``,
which differs from the interface for Local members. Membership, pause and wrap-up are per
queue in Asterisk; the state people see is derived from all of it by ``derive_state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti.state.changes import AgentState

# AST_DEVICE_* codes as QueueMember's Status reports them, and DeviceStateChange names.
DEVICE_STATE_BY_CODE = {
    0: "UNKNOWN",
    1: "NOT_INUSE",
    2: "INUSE",
    3: "BUSY",
    4: "INVALID",
    5: "UNAVAILABLE",
    6: "RINGING",
    7: "RINGINUSE",
    8: "ONHOLD",
}
# The pause reason the daemon sets for its own wrap-up (cti/routing/wrapup.py): such a pause is
# shown as wrap-up, not as a break.
WRAP_UP_REASON = "Wrap-up"
_UNREACHABLE = frozenset({"UNAVAILABLE", "INVALID"})
IN_USE = frozenset({"INUSE", "BUSY", "RINGINUSE", "ONHOLD"})


@dataclass(slots=True)
class Membership:
    paused: bool = False
    paused_reason: str = ""
    wrapup_s: int = 0
    calls_taken: int = 0
    last_seen_seq: int = 0


@dataclass(slots=True)
class Agent:
    interface: str
    state_interface: str
    member_name: str = ""
    device_state: str = "UNKNOWN"
    memberships: dict[str, Membership] = field(default_factory=dict)
    ringing: dict[str, str] = field(default_factory=dict)  # agent leg Uniqueid -> Linkedid
    talking: str | None = None  # Linkedid of the queue call it is on
    # The call just ended (AgentComplete, or the end of a routed call) while Asterisk still
    # reports the phone in use: it does so until the legs have hung up, so that "in use" is
    # the call ending, not a new one. Cleared when the phone is reported free.
    call_ending: bool = False
    # That call was dialled by the ACD's route point (Dial, not app_queue): no AgentComplete
    # will end it, so the core starts its wrap-up when the call ends (``routed_wrapup_s``).
    talking_routed: bool = False
    wrapup_until: float | None = None
    # What was last announced, so a change is emitted only when something moved.
    announced: tuple[AgentState, str] | None = None
    state_since: float | None = None  # when the announced state began (time in state)

    def phone_reported(self, device_state: str) -> None:
        """Asterisk's latest state of the agent's phone; a phone reported free ends the
        "call ending" window (see ``call_ending``)."""
        self.device_state = device_state
        self.call_ending = self.call_ending and device_state in IN_USE

    def talk_ended(self) -> None:
        """The call they were on ended; the phone may still be reported in use meanwhile."""
        self.call_ending = self.device_state in IN_USE

    @property
    def calls_taken(self) -> int:
        """Asterisk's CallsTaken, summed over the member's queues."""
        return sum(m.calls_taken for m in self.memberships.values())

    def routed_wrapup_s(self, hold_queue: str | None) -> int:
        """Asterisk's wrap-up (``wrapuptime``) owed after a call the ACD dialled.

        app_queue imposes wrapuptime only after calls it delivered, and a call the route point
        dialled has no queue of the agent's behind it: the CtiRoute event names only the
        route's holding queue (no members as a rule), not its fallback queue. So: the holding
        queue's wrap-up if the agent is a member there, else the largest of the agent's
        queues'. With ``shared_lastcall`` each queue waits out its own wrapuptime after a call
        of the member's, so the largest is the longest any of them would have kept the agent
        from a new call, and the fallback queue is one of them; in the shipped queues.conf
        every queue has the same wrapuptime, the fallback queue's. Erring long never gives an
        agent a routed call sooner after a call than a queue call would have.
        """
        membership = self.memberships.get(hold_queue) if hold_queue else None
        if membership is not None:
            return membership.wrapup_s
        return max((m.wrapup_s for m in self.memberships.values()), default=0)

    def derive_state(self, now: float | None) -> tuple[AgentState, str]:
        if not self.memberships:
            return AgentState.LOGGED_OUT, ""
        if self.talking is not None:
            return AgentState.ON_CALL, ""
        if self.ringing:
            return AgentState.RINGING, ""
        if self.device_state in _UNREACHABLE:
            return AgentState.UNAVAILABLE, ""
        if self.device_state in IN_USE and not self.call_ending:
            return AgentState.BUSY, ""
        if self.wrapup_until is not None and now is not None and now < self.wrapup_until:
            return AgentState.WRAP_UP, ""
        paused = [m for m in self.memberships.values() if m.paused]
        if paused and len(paused) == len(self.memberships):
            if paused[0].paused_reason == WRAP_UP_REASON:
                return AgentState.WRAP_UP, ""
            return AgentState.PAUSED, paused[0].paused_reason
        return AgentState.READY, ""
