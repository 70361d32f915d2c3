"""Wrap-up after a call the ACD's route point dialled (Dial, not app_queue): the state core
gives the agent the wrap-up a queue call would have (Asterisk's wrapuptime), although no
AgentComplete comes; a call app_queue delivered keeps the wrap-up AgentComplete starts.

Messages are shaped as in test_state_route_point.py (``tests/captures/`` fields) and
go through ``to_event`` like the live stream; time is the events' own Timestamp.
"""

from __future__ import annotations

from feeding import ami_event

from cti.ami.events import ListCompleted, ListStarted, Tick
from cti.state.changes import AgentState, AgentStateChanged, Change
from cti.state.store import CtiState

CALLER = {
    "Channel": "SIP/trunk-00000000",
    "Uniqueid": "100.0",
    "Linkedid": "100.0",
    "CallerIDNum": "905321234567",
    "CallerIDName": "Ayşe Çağrı Yılmaz",
    "ChannelStateDesc": "Up",
    "Exten": "4442",
}
AGENT = "SIP/1001"
LEG = {
    "Channel": "SIP/1001-00000001",
    "Uniqueid": "100.1",
    "Linkedid": "100.0",
    "CallerIDNum": "<unknown>",
    "CallerIDName": "<unknown>",
    "ChannelStateDesc": "Down",
    "Exten": "",
}
DEST = {f"Dest{k}": v for k, v in LEG.items()}


class Center:
    """A state core fed AMI messages; SIP/1001 is a member of the queues given, with each
    queue's wrapuptime as QueueMember reports it."""

    def __init__(self, wrapup_by_queue: dict[str, int]) -> None:
        self.state = CtiState()
        self.changes: list[Change] = []
        for queue, wrapup_s in wrapup_by_queue.items():
            self.send(
                "QueueMemberAdded",
                1.0,
                Queue=queue,
                Interface=AGENT,
                MemberName="Agent 1001",
                StateInterface=AGENT,
                Status="1",
                Paused="0",
                Wrapuptime=str(wrapup_s),
            )

    def send(self, event: str, ts: float, *parts: dict[str, str], **fields: str) -> list[Change]:
        out = self.state.apply(ami_event(event, ts, *parts, **fields))
        self.changes += out
        return out

    def tick(self, ts: float) -> None:
        self.changes += self.state.apply(Tick(ts=ts))

    def routed_call_answered(self, answered_at: float) -> None:
        """A call enters the route point at 100 and the ACD's Dial rings SIP/1001."""
        self.send("Newchannel", 100.0, CALLER)
        self.send(
            "UserEvent",
            100.0,
            CALLER,
            UserEvent="CtiRoute",
            Route="collections-tr",
            Queue="collections",
        )
        self.send("Newchannel", 101.0, LEG)
        self.send("DialBegin", 101.0, CALLER, DEST, DialString=AGENT)
        self.send("Newstate", answered_at, LEG | {"ChannelStateDesc": "Up"})
        self.send("DialEnd", answered_at, CALLER, DEST, DialStatus="ANSWER")

    def hang_up(self, ts: float) -> None:
        self.send("Hangup", ts, LEG, Cause="16")
        self.send("Hangup", ts, CALLER, Cause="16")

    def states(self) -> list[AgentState]:
        return [
            c.state
            for c in self.changes
            if isinstance(c, AgentStateChanged) and c.interface == AGENT
        ]

    def now(self) -> AgentState:
        return self.state.agents[AGENT].derive_state(self.state.clock)[0]


def test_a_routed_call_ends_in_wrap_up_as_long_as_the_longest_wrapuptime() -> None:
    center = Center({"support": 5, "sales": 10})
    center.routed_call_answered(104.0)
    assert center.now() is AgentState.ON_CALL
    center.hang_up(150.0)
    # Straight from the call into wrap-up: never ready in between, so the ACD, which looks
    # for ready agents, cannot hand them the next held call the moment the call ends.
    assert center.states()[-2:] == [AgentState.ON_CALL, AgentState.WRAP_UP]
    assert center.state.agents[AGENT].wrapup_until == 160.0
    center.tick(159.0)
    assert center.now() is AgentState.WRAP_UP
    center.tick(160.0)
    assert center.now() is AgentState.READY
    assert center.states()[-3:] == [AgentState.ON_CALL, AgentState.WRAP_UP, AgentState.READY]


def test_a_member_of_the_holding_queue_gets_that_queue_wrapuptime() -> None:
    center = Center({"collections": 3, "support": 5})
    center.routed_call_answered(104.0)
    center.hang_up(150.0)
    assert center.state.agents[AGENT].wrapup_until == 153.0
    assert center.now() is AgentState.WRAP_UP


def test_without_wrapuptime_the_agent_is_ready_when_the_call_ends() -> None:
    center = Center({"support": 0})
    center.routed_call_answered(104.0)
    center.hang_up(150.0)
    assert center.state.agents[AGENT].wrapup_until is None
    assert center.states()[-2:] == [AgentState.ON_CALL, AgentState.READY]


def test_a_call_app_queue_delivered_keeps_the_wrap_up_agentcomplete_starts() -> None:
    # The route call fell back to the plain queue: app_queue rang the agent and sends
    # AgentComplete, whose queue's wrapuptime applies, not the largest of the agent's.
    center = Center({"support": 5, "sales": 10})
    center.send("Newchannel", 100.0, CALLER)
    center.send(
        "UserEvent",
        100.0,
        CALLER,
        UserEvent="CtiRoute",
        Route="collections-tr",
        Queue="collections",
    )
    center.send("QueueCallerJoin", 103.0, CALLER, Queue="support", Position="1")
    center.send("Newchannel", 104.0, LEG)
    center.send(
        "AgentCalled",
        104.0,
        CALLER,
        DEST,
        Queue="support",
        Interface=AGENT,
        MemberName="Agent 1001",
    )
    center.send("DialBegin", 104.0, CALLER, DEST, DialString=AGENT)
    center.send("Newstate", 106.0, LEG | {"ChannelStateDesc": "Up"})
    center.send("DialEnd", 106.0, CALLER, DEST, DialStatus="ANSWER")
    center.send(
        "AgentConnect",
        106.0,
        CALLER,
        DEST,
        Queue="support",
        Interface=AGENT,
        MemberName="Agent 1001",
        HoldTime="3",
    )
    center.send(
        "AgentComplete",
        150.0,
        CALLER,
        DEST,
        Queue="support",
        Interface=AGENT,
        MemberName="Agent 1001",
        HoldTime="3",
        TalkTime="44",
    )
    center.hang_up(150.0)
    assert center.state.agents[AGENT].wrapup_until == 155.0
    assert center.states()[-2:] == [AgentState.ON_CALL, AgentState.WRAP_UP]


def test_a_routed_call_that_ended_while_we_were_away_starts_no_wrap_up() -> None:
    center = Center({"support": 5})
    center.routed_call_answered(104.0)
    # After a reconnection, CoreShowChannels lists neither leg: the call ended meanwhile.
    center.state.apply(ListStarted(ts=300.0, action_id="csc"))
    center.state.apply(ListCompleted(ts=300.1, action_id="csc", name="CoreShowChannelsComplete"))
    assert not center.state.calls
    assert center.state.agents[AGENT].wrapup_until is None


def test_the_routing_files_wrap_up_when_asterisk_reports_none() -> None:
    """A real Asterisk reports ``Wrapuptime: 0`` for members of queues whose wrapuptime is
    set on the queue (queues.conf as shipped): the routing file's wrapup_s applies."""
    center = Center({"support": 0})
    center.state.routed_wrapup_s = 5.0
    center.routed_call_answered(104.0)
    center.hang_up(150.0)
    assert center.now() is AgentState.WRAP_UP
    center.tick(154.0)
    assert center.now() is AgentState.WRAP_UP
    center.tick(155.5)
    assert center.now() is AgentState.READY
