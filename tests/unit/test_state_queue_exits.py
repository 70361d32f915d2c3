"""How the state core reads a caller's exit from a queue, and what it does not log at all.

app_queue sends QueueCallerAbandon for every exit without an agent (Asterisk 20 seen doing it
for a Queue() timeout and for a Redirect); only a caller who hung up is preceded by their
channel's HangupRequest (``tests/captures/ring-no-answer.ami``, Ali Kaya). Messages
are shaped like the captures' and go through the frame splitter or ``to_event`` as the live
stream does. Supervisors' ChanSpy legs must leave no call record.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from feeding import ami_event

from cti.ami import events as ev
from cti.ami.events import WANTED_EVENTS, to_event
from cti.ami.frames import FrameSplitter
from cti.calllog.rows import rows_for
from cti.metrics import Metrics
from cti.replay import capture_bytes
from cti.state.changes import (
    AgentRinging,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallRecord,
    Change,
    Outcome,
    RouteFellBack,
)
from cti.state.store import CtiState
from cti.state.views import overview

CALLER = {
    "Channel": "SIP/trunk-00000000",
    "Uniqueid": "100.0",
    "Linkedid": "100.0",
    "CallerIDNum": "905321234567",
    "CallerIDName": "Ayşe Çağrı Yılmaz",
    "ChannelStateDesc": "Up",
    "Context": "from-trunk",
    "Exten": "4440",
}


def leg(n: int) -> dict[str, str]:
    return {
        "Channel": f"SIP/100{n}-0000000{n}",
        "Uniqueid": f"100.{n}",
        "Linkedid": "100.0",
        "CallerIDNum": "<unknown>",
        "CallerIDName": "<unknown>",
        "ChannelStateDesc": "Down",
        "Context": "agents",
        "Exten": "4440",
    }


def dest(n: int) -> dict[str, str]:
    return {f"Dest{k}": v for k, v in leg(n).items()}


class Center:
    """A state core fed AMI messages, with the sinks that count abandons: the metrics and
    the call log's per-call events. Agents SIP/1001 and SIP/1002 are in ``support``."""

    def __init__(self) -> None:
        self.state = CtiState()
        self.metrics = Metrics(self.state)
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
        self.metrics.offer(out)
        self.changes += out
        return out

    def join(self, ts: float, queue: str = "support") -> list[Change]:
        return self.send("QueueCallerJoin", ts, CALLER, Queue=queue, Position="1", Count="1")

    def leave_queue(self, ts: float, hold_s: int, queue: str = "support") -> list[Change]:
        """What app_queue sends for any exit without an agent: Abandon, then Leave."""
        out = self.send(
            "QueueCallerAbandon",
            ts,
            CALLER,
            Queue=queue,
            Position="1",
            OriginalPosition="1",
            HoldTime=str(hold_s),
        )
        return out + self.send("QueueCallerLeave", ts, CALLER, Queue=queue, Position="1", Count="0")

    def caller_hangs_up_in_queue(
        self, ts: float, hold_s: int, queue: str = "support"
    ) -> CallRecord:
        """The real order (ring-no-answer.ami): the caller's BYE first, then app_queue."""
        self.send("HangupRequest", ts, CALLER)
        self.leave_queue(ts, hold_s, queue)
        self.send("SoftHangupRequest", ts, CALLER, Cause="16")
        return self.end(ts)

    def end(self, ts: float) -> CallRecord:
        (ended,) = of(CallEnded, self.send("Hangup", ts, CALLER, Cause="16"))
        return ended.record

    def enter_route(self, ts: float = 101.0) -> None:
        self.send("Newchannel", 100.0, CALLER | {"Exten": "4442"})
        self.send(
            "UserEvent",
            ts,
            CALLER,
            UserEvent="CtiRoute",
            Route="collections-tr",
            Queue="collections",
        )

    def dial(self, n: int, ts: float) -> None:
        self.send("Newchannel", ts, leg(n))
        self.send("DialBegin", ts, CALLER, dest(n), DialString=f"SIP/100{n}")

    def dial_end(self, n: int, ts: float, status: str) -> None:
        if status == "ANSWER":
            self.send("Newstate", ts, leg(n) | {"ChannelStateDesc": "Up"})
        self.send("DialEnd", ts, CALLER, dest(n), DialStatus=status)
        if status != "ANSWER":
            self.send("Hangup", ts, leg(n), Cause="16")

    def abandoned_count(self, queue: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "cti_queue_calls_abandoned_total", {"queue": queue}
        )
        return value or 0.0

    def logged_event_kinds(self) -> list[str]:
        return [row[1]["kind"] for row in rows_for(self.changes, "TR") if row[0] == "event"]


def of(kind: type, changes: list[Change]) -> list:
    return [c for c in changes if isinstance(c, kind)]


# --- the hang-up requests reach the core -----------------------------------------------------


def test_hangup_requests_are_parsed_not_skipped_as_noise(captures: Path) -> None:
    splitter = FrameSplitter(WANTED_EVENTS)
    built = [to_event(m) for m in splitter.feed(capture_bytes(captures / "ring-no-answer.ami"))]
    requests = [e for e in built if isinstance(e, ev.HangupRequested)]
    ali = [(e.soft, e.channel) for e in requests if e.uniqueid == "1795343839.25"]
    assert ali == [(False, "SIP/127.0.0.1-00000011"), (True, "SIP/127.0.0.1-00000011")]
    assert b"HangupRequest" not in splitter.skipped
    assert b"SoftHangupRequest" not in splitter.skipped


# --- 1. a Queue() timeout is not an abandon ------------------------------------------------------


def test_queue_timeout_is_timed_out_and_not_counted_as_abandoned() -> None:
    center = Center()
    center.send("Newchannel", 100.0, CALLER)
    center.join(100.0)
    let_go = center.leave_queue(145.0, 45)
    assert not of(CallAbandoned, let_go)
    # The dialplan's Hangup() after Queue() asks too, but only after the queue let go.
    center.send("SoftHangupRequest", 145.1, CALLER, Cause="16")
    record = center.end(145.1)
    assert (record.outcome, record.wait_s, record.abandon_position) == (Outcome.TIMED_OUT, 45, None)
    assert center.abandoned_count("support") == 0
    assert "queue_abandon" not in center.logged_event_kinds()
    assert "queue_leave" in center.logged_event_kinds()


def test_caller_hanging_up_in_the_queue_is_abandoned() -> None:
    center = Center()
    center.send("Newchannel", 100.0, CALLER)
    center.join(100.0)
    record = center.caller_hangs_up_in_queue(124.0, 24)
    assert [(c.queue, c.position, c.wait_s) for c in of(CallAbandoned, center.changes)] == [
        ("support", 1, 24)
    ]
    assert (record.outcome, record.wait_s, record.abandon_position) == (Outcome.ABANDONED, 24, 1)
    assert center.abandoned_count("support") == 1
    assert center.logged_event_kinds().count("queue_abandon") == 1


def test_real_abandon_in_the_capture_still_counts(captures: Path) -> None:
    state = CtiState()
    metrics = Metrics(state)
    changes: list[Change] = []
    for message in FrameSplitter(WANTED_EVENTS).feed(
        capture_bytes(captures / "ring-no-answer.ami")
    ):
        event = to_event(message)
        if event is not None:
            out = state.apply(event)
            metrics.offer(out)
            changes += out
    assert [(c.linkedid, c.wait_s) for c in of(CallAbandoned, changes)] == [
        ("1795343839.25", 24)
    ]  # Ali Kaya
    assert (
        metrics.registry.get_sample_value("cti_queue_calls_abandoned_total", {"queue": "support"})
        == 1
    )


# --- 2. an ACD call moved out of its holding queue is not an abandon ---------------------------


def test_held_acd_call_moved_to_an_agent_is_not_abandoned() -> None:
    center = Center()
    center.enter_route()
    center.join(101.5, "collections")  # held: nobody fits yet
    # The daemon's Setvar + Redirect: app_queue reports it as an abandon, with no hang-up.
    moved = center.leave_queue(110.0, 8, "collections")
    assert not of(CallAbandoned, moved)
    center.dial(2, 110.0)
    center.dial_end(2, 113.0, "ANSWER")
    assert [c.wait_s for c in of(CallAnswered, center.changes)] == [12]  # since the route
    center.send("Hangup", 130.0, leg(2), Cause="16")
    record = center.end(130.0)
    assert (record.outcome, record.agent, record.abandon_position) == (
        Outcome.ANSWERED,
        "SIP/1002",
        None,
    )
    assert center.abandoned_count("collections") == 0
    assert "queue_abandon" not in center.logged_event_kinds()


def test_held_too_long_falls_back_without_an_abandon() -> None:
    center = Center()
    center.enter_route()
    center.join(101.5, "collections")
    timed_out = center.leave_queue(221.5, 120, "collections")  # CTI_HOLD_S ran out
    assert not of(CallAbandoned, timed_out)
    fell_back = center.join(221.5, "support")
    assert [(c.route, c.queue) for c in of(RouteFellBack, fell_back)] == [
        ("collections-tr", "support")
    ]
    record = center.caller_hangs_up_in_queue(230.0, 8)
    assert [(c.queue, c.wait_s) for c in of(CallAbandoned, center.changes)] == [
        ("support", 129)
    ]  # one abandon, in the queue the caller hung up in
    assert record.outcome is Outcome.ABANDONED
    assert center.abandoned_count("collections") == 0
    assert center.abandoned_count("support") == 1


# --- 3. an ACD call waits from the route point, however often it went back on hold ---------------


def test_acd_call_abandoned_back_on_hold_waited_since_the_route_point() -> None:
    center = Center()
    center.enter_route(101.0)
    center.dial(1, 101.0)
    center.dial_end(1, 121.0, "NOANSWER")
    center.join(121.0, "collections")  # back on hold
    record = center.caller_hangs_up_in_queue(130.0, 9, "collections")
    assert [c.wait_s for c in of(CallAbandoned, center.changes)] == [29]  # not the 9 s stint
    assert (record.outcome, record.wait_s, record.queue) == (Outcome.ABANDONED, 29, "collections")


# --- 4. a supervisor's ChanSpy leg is not a call ------------------------------------------------


def spy_phone(state: str, context: str = "agents", exten: str = "s") -> dict[str, str]:
    """The supervisor's phone as an Originate's channel: Asterisk creates it in the
    endpoint's context and runs the Originate's context only once it is answered."""
    return {
        "Channel": "PJSIP/1004-00000009",
        "Uniqueid": "200.0",
        "Linkedid": "200.0",
        "CallerIDNum": "<unknown>",
        "CallerIDName": "<unknown>",
        "ChannelStateDesc": state,
        "Context": context,
        "Exten": exten,
    }


@pytest.mark.parametrize("context", ["cti-spy", "cti-spy-whisper"])
def test_answered_spy_leg_is_not_logged(context: str) -> None:
    center = Center()
    center.send("Newchannel", 200.0, spy_phone("Down"))
    center.send("Newstate", 201.0, spy_phone("Ringing"))
    center.send("Newstate", 203.0, spy_phone("Up"))
    # Newexten (context cti-spy..., Application ChanSpy) is skipped as noise; the Hangup
    # reports where the channel's dialplan was.
    ended = center.send("Hangup", 260.0, spy_phone("Up", context, "1001"), Cause="16")
    assert not of(CallEnded, ended)
    assert not of(AgentRinging, center.changes)
    assert not center.state.calls and not center.state.channels


def test_spy_leg_listed_at_resync_and_gone_while_away_is_not_logged() -> None:
    center = Center()
    center.send("Newchannel", 200.0, spy_phone("Down"))
    center.state.apply(ev.LinkDown(ts=210.0, reason="reset"))
    center.state.apply(ev.LinkUp(ts=220.0))
    center.state.apply(ev.ListStarted(ts=220.0, action_id="csc-1"))
    listed = {
        "Event": "CoreShowChannel",
        "ActionID": "csc-1",
        **spy_phone("Up"),
        "Context": "cti-spy-barge",
        "Exten": "1001",
        "Application": "ChanSpy",
        "ApplicationData": "PJSIP/1001,qBE",
        "Duration": "00:00:20",
        "BridgeId": "",
    }
    built = to_event(listed, 220.0)
    assert built is not None
    center.changes += center.state.apply(built)
    center.state.apply(
        ev.ListCompleted(ts=220.1, action_id="csc-1", name="CoreShowChannelsComplete")
    )
    assert overview(center.state)["calls"] == []  # not a call on the supervisors' board
    center.state.apply(ev.LinkDown(ts=230.0, reason="reset"))
    center.state.apply(ev.ListStarted(ts=240.0, action_id="csc-2"))
    center.changes += center.state.apply(
        ev.ListCompleted(ts=240.1, action_id="csc-2", name="CoreShowChannelsComplete")
    )
    assert not of(CallEnded, center.changes) and not center.state.calls


def test_spy_leg_born_in_the_spy_context_is_never_on_the_board() -> None:
    center = Center()
    center.send("Newchannel", 200.0, spy_phone("Down", "cti-spy", "listen-1001"))
    assert overview(center.state)["calls"] == []
    assert not of(
        CallEnded, center.send("Hangup", 210.0, spy_phone("Up", "cti-spy", "listen-1001"))
    )


def test_other_unanswered_calls_are_still_logged() -> None:
    center = Center()
    center.send("Newchannel", 200.0, spy_phone("Down"))
    ended = center.send("Hangup", 230.0, spy_phone("Down"), Cause="19")
    assert [c.record.outcome for c in of(CallEnded, ended)] == [Outcome.UNANSWERED]
