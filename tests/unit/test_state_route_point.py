"""The state core follows calls the ACD's route point dials itself (Dial, not app_queue):
screen-pop, answer, wait from the route point on, ring-no-answer, and the fallback queue.

Messages are shaped like ``tests/captures/basic-queue-calls.ami`` (DialBegin and
DialEnd there come from app_queue; a dialplan Dial sends the same fields without the
AgentCalled before it) and go through ``to_event`` like the live stream.
"""

from __future__ import annotations

from feeding import ami_event

from cti.ami.events import to_event
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    Change,
    Outcome,
    RoutedRingMissed,
    RouteFellBack,
)
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


def leg(n: int) -> dict[str, str]:
    return {
        "Channel": f"SIP/100{n}-0000000{n}",
        "Uniqueid": f"100.{n}",
        "Linkedid": "100.0",
        "CallerIDNum": "<unknown>",
        "CallerIDName": "<unknown>",
        "ChannelStateDesc": "Down",
        "Exten": "",
    }


def dest(n: int) -> dict[str, str]:
    return {f"Dest{k}": v for k, v in leg(n).items()}


class Center:
    """A state core fed AMI messages; agents SIP/1001 and SIP/1002 in the support queue."""

    def __init__(self) -> None:
        self.state = CtiState()
        self.changes: list[Change] = []
        for n in (1, 2):
            self.send(
                "QueueMemberAdded",
                1.0,
                Queue="support",
                Interface=f"SIP/100{n}",
                MemberName=f"Agent 100{n}",
                StateInterface=f"SIP/100{n}",
                Status="1",
                Paused="0",
            )

    def send(self, event: str, ts: float, *parts: dict[str, str], **fields: str) -> list[Change]:
        out = self.state.apply(ami_event(event, ts, *parts, **fields))
        self.changes += out
        return out

    def enter_route(self, ts: float = 101.0) -> list[Change]:
        self.send("Newchannel", 100.0, CALLER)
        return self.send(
            "UserEvent",
            ts,
            CALLER,
            UserEvent="CtiRoute",
            Route="collections-tr",
            Queue="collections",
        )

    def dial(self, n: int, ts: float) -> list[Change]:
        self.send("Newchannel", ts, leg(n))
        return self.send("DialBegin", ts, CALLER, dest(n), DialString=f"SIP/100{n}")

    def dial_end(self, n: int, ts: float, status: str) -> list[Change]:
        if status == "ANSWER":
            self.send("Newstate", ts, leg(n) | {"ChannelStateDesc": "Up"})
        out = self.send("DialEnd", ts, CALLER, dest(n), DialStatus=status)
        if status != "ANSWER":
            out += self.send("Hangup", ts, leg(n), Cause="16")
        return out

    def hang_up(self, ts: float, *legs: int) -> CallEnded:
        for n in legs:
            self.send("Hangup", ts, leg(n), Cause="16")
        (ended,) = [
            c for c in self.send("Hangup", ts, CALLER, Cause="16") if isinstance(c, CallEnded)
        ]
        return ended

    def agent_states(self, interface: str) -> list[AgentState]:
        return [
            c.state
            for c in self.changes
            if isinstance(c, AgentStateChanged) and c.interface == interface
        ]


def of(kind: type, changes: list[Change]) -> list:
    return [c for c in changes if isinstance(c, kind)]


def test_a_dialled_agent_gets_the_screen_pop_and_the_call_is_logged_with_them() -> None:
    center = Center()
    (offered,) = of(CallOffered, center.enter_route())
    assert (offered.queue, offered.caller_number) == ("collections", "905321234567")
    (ring,) = of(AgentRinging, center.dial(1, 102.0))
    assert (ring.interface, ring.queue, ring.caller_name) == (
        "SIP/1001",
        "collections",
        "Ayşe Çağrı Yılmaz",
    )
    answered = center.dial_end(1, 105.0, "ANSWER")
    assert [(c.interface, c.wait_s) for c in of(CallAnswered, answered)] == [("SIP/1001", 4)]
    assert [c.reason for c in of(AgentRingEnded, answered)] == ["answered"]
    record = center.hang_up(125.0, 1).record
    assert (record.agent, record.agent_name, record.queue, record.outcome) == (
        "SIP/1001",
        "Agent 1001",
        "collections",
        Outcome.ANSWERED,
    )
    assert (record.wait_s, record.talk_s) == (4, 20)
    assert center.agent_states("SIP/1001")[-3:] == [
        AgentState.RINGING,
        AgentState.ON_CALL,
        AgentState.READY,
    ]


def test_ring_no_answer_then_held_then_moved_to_another_agent() -> None:
    center = Center()
    center.enter_route()
    center.dial(1, 101.0)
    missed = center.dial_end(1, 121.0, "NOANSWER")
    assert [c.reason for c in of(AgentRingEnded, missed)] == ["no_answer"]
    (report,) = of(
        RoutedRingMissed,
        center.send(
            "UserEvent",
            121.0,
            CALLER,
            UserEvent="CtiRouteNoAnswer",
            Agent="SIP/1001",
            DialStatus="NOANSWER",
        ),
    )
    assert (report.interface, report.route, report.dial_status) == (
        "SIP/1001",
        "collections-tr",
        "NOANSWER",
    )
    held = center.send("QueueCallerJoin", 121.0, CALLER, Queue="collections", Position="1")
    assert not of(CallOffered, held) and not of(RouteFellBack, held)  # offered once only
    assert center.state.queues["collections"].callers
    center.send("QueueCallerLeave", 130.0, CALLER, Queue="collections", Position="1")
    center.dial(2, 130.0)
    (answer,) = of(CallAnswered, center.dial_end(2, 132.0, "ANSWER"))
    assert answer.wait_s == 31  # from the route point on, not from the last queue join
    record = center.hang_up(150.0, 2).record
    assert (record.agent, record.no_answer_count, record.outcome) == (
        "SIP/1002",
        1,
        Outcome.ANSWERED,
    )


def test_fallback_queue_takes_the_call_without_double_rings() -> None:
    center = Center()
    center.enter_route()
    joined = center.send("QueueCallerJoin", 103.0, CALLER, Queue="support", Position="1")
    assert [(c.route, c.queue) for c in of(RouteFellBack, joined)] == [
        ("collections-tr", "support")
    ]
    assert [c.queue for c in of(CallOffered, joined)] == ["support"]
    center.send("Newchannel", 104.0, leg(1))
    rings = center.send(
        "AgentCalled",
        104.0,
        CALLER,
        dest(1),
        Queue="support",
        Interface="SIP/1001",
        MemberName="Agent 1001",
    )
    rings += center.send("DialBegin", 104.0, CALLER, dest(1), DialString="SIP/1001")
    assert len(of(AgentRinging, rings)) == 1  # app_queue's DialBegin is not a second ring
    center.send("Newstate", 110.0, leg(1) | {"ChannelStateDesc": "Up"})
    center.send("DialEnd", 110.0, CALLER, dest(1), DialStatus="ANSWER")
    connected = center.send(
        "AgentConnect",
        110.0,
        CALLER,
        dest(1),
        Queue="support",
        Interface="SIP/1001",
        MemberName="Agent 1001",
        HoldTime="7",
    )
    assert [c.wait_s for c in of(CallAnswered, connected)] == [9]  # since the route point
    assert len(of(CallAnswered, center.changes)) == 1
    record = center.hang_up(130.0, 1).record
    assert (record.queue, record.agent, record.outcome) == ("support", "SIP/1001", Outcome.ANSWERED)


def test_caller_hanging_up_while_the_chosen_agent_rings_is_abandoned() -> None:
    center = Center()
    center.enter_route()
    center.dial(2, 101.0)
    gone = center.dial_end(2, 108.0, "CANCEL")
    assert [c.reason for c in of(AgentRingEnded, gone)] == ["caller_gone"]
    record = center.hang_up(108.0).record
    assert (record.outcome, record.agent, record.queue) == (Outcome.ABANDONED, None, "collections")
    assert center.agent_states("SIP/1002")[-1] is AgentState.READY
    # Counted as an abandon (metrics, call events) though app_queue never saw the caller.
    assert [(c.queue, c.position, c.wait_s) for c in of(CallAbandoned, center.changes)] == [
        ("collections", 0, 7)
    ]


def test_dials_outside_the_acd_and_forged_reports_change_nothing() -> None:
    center = Center()
    center.send("Newchannel", 100.0, CALLER)
    # No route point: not an ACD ring, but a direct ring of the agent's phone (direct_rings.py).
    (ring,) = of(AgentRinging, center.dial(1, 101.0))
    assert (ring.interface, ring.queue) == ("SIP/1001", "")
    assert not center.state._route_dials
    forged = center.send(
        "UserEvent",
        102.0,
        CALLER,
        UserEvent="CtiRouteNoAnswer",
        Agent="SIP/1001",
        DialStatus="NOANSWER",
    )
    assert not of(RoutedRingMissed, forged)
    assert to_event({"Event": "UserEvent", "UserEvent": "SomethingElse"}) is None
