"""An agent's outbound call (cti/state/outbound.py) from the real click-to-dial capture
(tests/captures/real/click-to-dial.ami), and the outcomes of a customer not reached."""

from __future__ import annotations

from pathlib import Path

from cti.ami.events import OutboundRequested, Tick
from cti.replay import capture_bytes, replay
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    Anomaly,
    CallAnswered,
    CallEnded,
    Change,
    ConsentRecorded,
    Outcome,
)
from cti.state.outbound import REQUEST_TTL_S
from cti.state.store import CtiState

REAL = Path(__file__).resolve().parents[1] / "captures" / "real"
CHANNEL_ID = "1796000000.1000000001"  # the Originate's ChannelId in the capture
REQUEST = OutboundRequested(
    ts=1796028400.0,
    channel_id=CHANNEL_ID,
    interface="PJSIP/1001",
    number="905329900011",
    name="Deniz Aksoy",
)


class Changes:
    def __init__(self) -> None:
        self.seen: list[Change] = []

    def offer(self, changes: list[Change]) -> None:
        self.seen.extend(changes)

    def of(self, kind: type) -> list[Change]:
        return [c for c in self.seen if type(c) is kind]


def test_the_click_to_dial_capture_is_the_agents_answered_outbound_call() -> None:
    changes = Changes()
    records, pipeline = replay(
        capture_bytes(REAL / "click-to-dial.ami"), sinks=[changes], before=[REQUEST]
    )
    assert pipeline.stats.handler_errors == 0
    assert changes.of(Anomaly) == []
    # The agent's screen pops before the customer is dialled, and stays once they take it.
    (ring,) = changes.of(AgentRinging)
    assert (ring.interface, ring.linkedid, ring.outbound) == ("PJSIP/1001", CHANNEL_ID, True)
    assert (ring.caller_number, ring.caller_name, ring.queue) == ("905329900011", "Deniz Aksoy", "")
    (ended_ring,) = changes.of(AgentRingEnded)
    assert ended_ring.reason == "answered"
    (answered,) = changes.of(CallAnswered)
    assert answered.interface == "PJSIP/1001"
    (consent,) = changes.of(ConsentRecorded)
    assert (consent.consent, consent.method) == ("granted", "implied")
    order = [type(c) for c in changes.seen if type(c) in (AgentRinging, CallAnswered, CallEnded)]
    assert order == [AgentRinging, CallAnswered, CallEnded]
    (record,) = records
    assert (record.linkedid, record.direction, record.outcome) == (
        CHANNEL_ID,
        "outbound",
        Outcome.ANSWERED,
    )
    assert (record.caller_number, record.caller_name, record.agent) == (
        "905329900011",
        "Deniz Aksoy",
        "PJSIP/1001",
    )
    assert record.queue is None
    # Recorded on the customer's leg, named after it (MixMonitor ${UNIQUEID}.wav).
    assert (record.consent, record.recorded, record.recording) == (
        "granted",
        True,
        "1796028403.1.wav",
    )
    assert record.talk_s is not None and 3 <= record.talk_s <= 6
    assert not pipeline.state.calls and not pipeline.state._outbound


def test_without_the_request_the_same_stream_is_no_outbound_call() -> None:
    records, _ = replay(capture_bytes(REAL / "click-to-dial.ami"))
    (record,) = records
    assert record.direction == "other"


def _customer_not_reached(dial_status: str | None) -> Outcome:
    """The capture cut where the customer's Dial ends, with this status instead of ANSWER
    (None: the agent hung up before the customer was dialled)."""
    data = capture_bytes(REAL / "click-to-dial.ami").decode()
    frames = data.split("\r\n\r\n")
    kept = []
    agent_up = False
    for frame in frames:
        if "Event: Newchannel" in frame and "test-carrier" in frame:
            agent_up = True
            if dial_status is None:
                break
        if (
            dial_status is not None
            and "Event: DialEnd" in frame
            and "DestChannel: PJSIP/test-carrier" in frame
        ):
            kept.append(frame.replace("DialStatus: ANSWER", f"DialStatus: {dial_status}"))
            break
        if "Event: UserEvent" in frame or "Event: MixMonitorStart" in frame:
            continue  # a customer who did not answer heard no notice
        if agent_up and "test-carrier" in frame and "Event: Newstate" in frame and "Up" in frame:
            continue
        kept.append(frame)
    hangup = (
        f"Event: Hangup\r\nChannel: PJSIP/1001-00000000\r\nUniqueid: {CHANNEL_ID}\r\nLinkedid: {CHANNEL_ID}\r\n"
        "Cause: 16\r\nCause-txt: Normal Clearing"
    )
    customer_gone = (
        "Event: Hangup\r\nChannel: PJSIP/test-carrier-00000001\r\nUniqueid: 1796028403.1\r\n"
        f"Linkedid: {CHANNEL_ID}\r\nCause: 17\r\nCause-txt: User busy"
    )
    tail = [customer_gone, hangup] if dial_status is not None else [hangup]
    stream = "\r\n\r\n".join([*kept, *tail]) + "\r\n\r\n"
    records, pipeline = replay(stream.encode(), before=[REQUEST])
    assert not pipeline.state.calls
    (record,) = records
    assert (record.direction, record.agent, record.answered_at) == ("outbound", "PJSIP/1001", None)
    return record.outcome


def test_a_customer_not_reached_is_logged_with_why() -> None:
    assert _customer_not_reached("BUSY") is Outcome.BUSY
    assert _customer_not_reached("NOANSWER") is Outcome.UNANSWERED
    assert _customer_not_reached("CHANUNAVAIL") is Outcome.FAILED
    assert _customer_not_reached("CANCEL") is Outcome.UNANSWERED  # the agent hung up first
    assert _customer_not_reached(None) is Outcome.UNANSWERED


def test_a_request_whose_channel_never_came_is_forgotten() -> None:
    state = CtiState()
    state.apply(REQUEST)
    state.apply(Tick(ts=REQUEST.ts + REQUEST_TTL_S - 1))
    assert CHANNEL_ID in state._outbound
    state.apply(Tick(ts=REQUEST.ts + REQUEST_TTL_S + 1))
    assert CHANNEL_ID not in state._outbound
