"""The pure state core: screen-pop changes, agents, resync and Linkedid merges. No I/O."""

from __future__ import annotations

import random
from pathlib import Path

from cti.ami import events as ev
from cti.ami.events import to_event
from cti.ami.frames import FrameSplitter
from cti.replay import capture_bytes
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallsMerged,
    Change,
    ConsentRecorded,
    Outcome,
)
from cti.state.store import CtiState


def run_capture(captures: Path, name: str) -> tuple[CtiState, list[Change]]:
    state = CtiState()
    changes: list[Change] = []
    for message in FrameSplitter().feed(capture_bytes(captures / name)):
        event = to_event(message)
        if event is not None:
            changes += state.apply(event)
    return state, changes


def of(kind: type, changes: list[Change]) -> list:
    return [c for c in changes if isinstance(c, kind)]


def test_screen_pop_sequence_for_an_answered_call(captures: Path) -> None:
    _, changes = run_capture(captures, "basic-queue-calls.ami")
    first = [
        c
        for c in changes
        if getattr(c, "linkedid", None) == "1795343720.0"
        or (isinstance(c, CallEnded) and c.record.linkedid == "1795343720.0")
    ]
    kinds = [type(c).__name__ for c in first if not isinstance(c, AgentStateChanged)]
    assert kinds == [
        "ConsentRecorded",
        "CallOffered",
        "AgentRinging",
        "AgentRingEnded",
        "CallAnswered",
        "CallEnded",
    ]
    ring = of(AgentRinging, first)[0]
    assert (ring.interface, ring.caller_number, ring.caller_name, ring.queue) == (
        "SIP/1001",
        "905321234567",
        "Ayşe Çağrı Yılmaz",
        "support",
    )
    assert of(AgentRingEnded, first)[0].reason == "answered"


def test_ring_no_answer_then_caller_gone(captures: Path) -> None:
    _, changes = run_capture(captures, "ring-no-answer.ami")
    ends = [
        (c.interface, c.reason)
        for c in of(AgentRingEnded, changes)
        if c.linkedid == "1795343839.25"
    ]
    assert ends == [("SIP/1002", "no_answer"), ("SIP/1002", "caller_gone")]


def test_agent_states_follow_the_call(captures: Path) -> None:
    _, changes = run_capture(captures, "ring-no-answer.ami")
    states = [c.state for c in of(AgentStateChanged, changes) if c.interface == "SIP/1001"]
    assert states[0] is AgentState.READY
    assert AgentState.RINGING in states and AgentState.ON_CALL in states
    assert states[-1] is AgentState.READY


def test_snapshot_at_login_rebuilds_calls_and_rings(captures: Path) -> None:
    state, changes = run_capture(captures, "login-snapshot-midcall.ami")
    offered = [c.caller_name for c in of(CallOffered, changes)]
    assert offered == ["Emre Şahin", "Elif Koç"]
    rings = [(c.interface, c.caller_name) for c in of(AgentRinging, changes)]
    assert rings[0] == ("SIP/1002", "Emre Şahin")  # learned from CoreShowChannel
    assert not state.calls and all(not q.callers for q in state.queues.values())


def test_member_lists_build_agents(captures: Path) -> None:
    state, _ = run_capture(captures, "login-snapshot-midcall.ami")
    assert len(state.agents) == 44
    assert state.agents["SIP/1001"].memberships.keys() == {"support"}


def channel(ts: float, uid: str, linkedid: str, name: str, number: str = "") -> ev.ChannelCreated:
    return ev.ChannelCreated(
        ts=ts,
        channel=name,
        uniqueid=uid,
        linkedid=linkedid,
        caller_number=number,
        caller_name="",
        exten="4440",
        state="Down",
    )


def test_calls_merge_when_linkedid_changes_silently() -> None:
    state = CtiState()
    state.apply(channel(1.0, "1.1", "1.1", "PJSIP/trunk-1", "905321234567"))
    state.apply(channel(2.0, "2.2", "2.2", "PJSIP/1001-2"))
    # Asterisk re-links the newer call to the older Linkedid; only later events show it.
    changes = state.apply(
        ev.ChannelStateChanged(
            ts=3.0, channel="PJSIP/1001-2", uniqueid="2.2", linkedid="1.1", state="Up"
        )
    )
    assert changes == [CallsMerged(ts=3.0, absorbed="2.2", into="1.1")]
    assert set(state.calls) == {"1.1"} and state.calls["1.1"].channels == {"1.1", "2.2"}


def test_resync_closes_calls_that_ended_while_away() -> None:
    state = CtiState()
    state.apply(channel(1.0, "1.1", "1.1", "SIP/trunk-1", "905321234567"))
    state.apply(
        ev.ConsentReported(
            ts=1.5,
            uniqueid="1.1",
            linkedid="1.1",
            consent="granted",
            method="dtmf",
            recording="1.1.wav",
        )
    )
    state.apply(ev.LinkDown(ts=2.0, reason="reset"))
    state.apply(ev.LinkUp(ts=9.0))
    state.apply(ev.ListStarted(ts=9.1, action_id="csc"))
    changes = state.apply(
        ev.ListCompleted(ts=9.2, action_id="csc", name="CoreShowChannelsComplete")
    )
    (ended,) = of(CallEnded, changes)
    assert ended.record.ended_while_disconnected
    assert ended.record.outcome is Outcome.UNKNOWN
    assert ended.record.consent == "granted" and ended.record.recording == "1.1.wav"


def test_channels_seen_after_the_list_started_survive_the_resync() -> None:
    state = CtiState()
    state.apply(ev.ListStarted(ts=1.0, action_id="csc"))
    state.apply(channel(1.1, "5.5", "5.5", "SIP/trunk-5"))  # born during the listing
    state.apply(ev.ListCompleted(ts=1.2, action_id="csc", name="CoreShowChannelsComplete"))
    assert "5.5" in state.channels


def test_local_member_with_state_interface() -> None:
    state = CtiState()
    member = ev.MemberReported(
        ts=None,
        queue="billing",
        interface="Local/1003@agents/n",
        state_interface="PJSIP/1003",
        member_name="Agent 1003",
        status=1,
        paused=False,
        paused_reason="",
        in_call=False,
        calls_taken=0,
        wrapup_s=0,
        action_id="",
    )
    state.apply(member)
    changes = state.apply(ev.DeviceStateChanged(ts=5.0, device="PJSIP/1003", state="UNAVAILABLE"))
    assert [c.state for c in of(AgentStateChanged, changes)] == [AgentState.UNAVAILABLE]
    state.apply(ev.DeviceStateChanged(ts=6.0, device="PJSIP/1003", state="NOT_INUSE"))
    state.apply(
        ev.MemberReported(
            ts=7.0,
            queue="billing",
            interface="Local/1003@agents/n",
            state_interface="PJSIP/1003",
            member_name="Agent 1003",
            status=1,
            paused=True,
            paused_reason="Lunch",
            in_call=False,
            calls_taken=0,
            wrapup_s=0,
            action_id="",
        )
    )
    assert state.agents["Local/1003@agents/n"].derive_state(7.0) == (AgentState.PAUSED, "Lunch")


def test_wrap_up_ends_with_the_clock() -> None:
    state = CtiState()
    state.apply(
        ev.MemberReported(
            ts=None,
            queue="q",
            interface="SIP/1",
            state_interface="SIP/1",
            member_name="A",
            status=1,
            paused=False,
            paused_reason="",
            in_call=False,
            calls_taken=0,
            wrapup_s=5,
            action_id="",
        )
    )
    state.apply(channel(10.0, "1.1", "1.1", "SIP/trunk-1"))
    state.apply(
        ev.AgentConnected(
            ts=11.0,
            queue="q",
            interface="SIP/1",
            member_name="A",
            uniqueid="1.1",
            linkedid="1.1",
            agent_channel="SIP/1-2",
            agent_uniqueid="1.2",
            hold_s=1,
            ring_s=1,
        )
    )
    changes = state.apply(
        ev.AgentCompleted(
            ts=20.0,
            queue="q",
            interface="SIP/1",
            member_name="A",
            uniqueid="1.1",
            linkedid="1.1",
            hold_s=1,
            talk_s=9,
            reason="caller",
        )
    )
    assert of(AgentStateChanged, changes)[-1].state is AgentState.WRAP_UP
    assert state.apply(ev.Tick(ts=22.0)) == []
    assert of(AgentStateChanged, state.apply(ev.Tick(ts=25.0)))[-1].state is AgentState.READY


def test_declined_consent_never_has_a_recording() -> None:
    state = CtiState()
    state.apply(channel(1.0, "1.1", "1.1", "SIP/trunk-1"))
    changes = state.apply(
        ev.ConsentReported(
            ts=1.2, uniqueid="1.1", linkedid="1.1", consent="declined", method="dtmf", recording=""
        )
    )
    assert changes == [
        ConsentRecorded(ts=1.2, linkedid="1.1", consent="declined", method="dtmf", recording="")
    ]
    # even if Asterisk recorded anyway
    state.apply(ev.RecordingStarted(ts=1.3, uniqueid="1.1", linkedid="1.1"))
    (ended,) = of(
        CallEnded,
        state.apply(
            ev.ChannelHungUp(
                ts=2.0,
                channel="SIP/trunk-1",
                uniqueid="1.1",
                linkedid="1.1",
                cause=16,
                cause_text="",
            )
        ),
    )
    assert not ended.record.recorded and ended.record.recording is None


def test_garbage_messages_never_raise() -> None:
    rng = random.Random(7)
    names = [*ev.BUILDERS, "Nope", ""]
    fields = [
        "Uniqueid",
        "Linkedid",
        "Queue",
        "Interface",
        "HoldTime",
        "TalkTime",
        "Position",
        "Timestamp",
        "ActionID",
        "Duration",
        "Status",
        "Wait",
        "EventList",
        "UserEvent",
    ]
    values = ["", "x", "1", "-5", "1.5", "::", "99999999999999999999", "<unknown>", "\ufffd"]
    state = CtiState()
    for _ in range(5000):
        message = {k: rng.choice(values) for k in rng.sample(fields, rng.randint(0, 8))}
        message["Event"] = rng.choice(names)
        event = to_event(message)
        if event is not None:
            state.apply(event)


def test_answer_elsewhere_withdraws_the_other_rings() -> None:
    state = CtiState()
    for iface in ("SIP/1", "SIP/2"):
        state.apply(
            ev.MemberReported(
                ts=None,
                queue="q",
                interface=iface,
                state_interface=iface,
                member_name=iface,
                status=1,
                paused=False,
                paused_reason="",
                in_call=False,
                calls_taken=0,
                wrapup_s=0,
                action_id="",
            )
        )
    state.apply(channel(1.0, "1.1", "1.1", "SIP/trunk-1", "905"))
    state.apply(
        ev.QueueCallerJoined(
            ts=1.1,
            queue="q",
            channel="SIP/trunk-1",
            uniqueid="1.1",
            linkedid="1.1",
            caller_number="905",
            caller_name="X",
            position=1,
        )
    )
    for leg, iface in (("1.2", "SIP/1"), ("1.3", "SIP/2")):
        state.apply(channel(1.2, leg, "1.1", f"{iface}-{leg}"))
        state.apply(
            ev.AgentCalled(
                ts=1.2,
                queue="q",
                interface=iface,
                member_name=iface,
                uniqueid="1.1",
                linkedid="1.1",
                caller_number="905",
                caller_name="X",
                agent_channel=f"{iface}-{leg}",
                agent_uniqueid=leg,
            )
        )
    state.apply(
        ev.ChannelStateChanged(
            ts=3.0, channel="SIP/1-1.2", uniqueid="1.2", linkedid="1.1", state="Up"
        )
    )
    lost = state.apply(
        ev.ChannelHungUp(
            ts=3.1, channel="SIP/2-1.3", uniqueid="1.3", linkedid="1.1", cause=26, cause_text=""
        )
    )
    assert [(c.interface, c.reason) for c in of(AgentRingEnded, lost)] == [
        ("SIP/2", "answered_elsewhere")
    ]
    won = state.apply(
        ev.AgentConnected(
            ts=3.2,
            queue="q",
            interface="SIP/1",
            member_name="SIP/1",
            uniqueid="1.1",
            linkedid="1.1",
            agent_channel="SIP/1-1.2",
            agent_uniqueid="1.2",
            hold_s=2,
            ring_s=2,
        )
    )
    assert [(c.interface, c.reason) for c in of(AgentRingEnded, won)] == [("SIP/1", "answered")]
    assert of(CallAnswered, won)[0].wait_s == 2
