"""What the resync after a (re)login learns about calls older than the link: the consent step
and the recording from the Status list's channel variables, the call's start from its
Linkedid, and an unknown end for calls that ended while we were away. Pure: AMI bytes in,
changes out; every time is a fixed epoch, never today's."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami import events as ev
from cti.ami.events import WANTED_EVENTS, to_event
from cti.ami.frames import FrameSplitter
from cti.calllog.rows import rows_for
from cti.replay import capture_bytes
from cti.state.changes import CallEnded, CallRecord, Change, ConsentRecorded, Outcome
from cti.state.store import CtiState

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z: when the caller's channel was created
CALLER, CALLER_UID = "PJSIP/carrier-0000000b", f"{T0}.11"
AGENT_LEG, AGENT_UID = "PJSIP/1001-0000000c", f"{T0 + 12}.12"
LOGIN = T0 + 30.5  # when our lists arrive (list items carry no Timestamp)

# One item of a real answer to "Action: Status / Variables: CONSENT,CONSENT_METHOD,
# MIXMONITOR_FILENAME" (Asterisk 22.10.1, whose manager.c action_status is Asterisk 20's):
# a channel that ran Set(CONSENT=granted), Set(CONSENT_METHOD=dtmf), MixMonitor(${UNIQUEID}.wav,b)
# and one that has only run Set(CONSENT=): "" for an empty value, "(null)" for none at all.
REAL_STATUS_ITEMS = (
    b"Event: Status\r\nPrivilege: Call\r\nChannel: Local/s@probe-00000000;2\r\nChannelState: 4\r\n"
    b"ChannelStateDesc: Ring\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n"
    b"Context: probe\r\nExten: s\r\nPriority: 5\r\nUniqueid: 1795962500.1\r\n"
    b"Linkedid: 1795962500.0\r\nType: Local\r\nDNID: \r\nTimeToHangup: 0\r\nBridgeID: \r\n"
    b"Application: Wait\r\nData: 60\r\nSeconds: 1\r\nVariable: CONSENT=granted\r\n"
    b"Variable: CONSENT_METHOD=dtmf\r\n"
    b"Variable: MIXMONITOR_FILENAME=/tmp/statusprobe/spool/monitor/1795962500.1.wav\r\n"
    b"ActionID: st1\r\n\r\n"
    b"Event: Status\r\nPrivilege: Call\r\nChannel: Local/d@probe-00000001;2\r\nChannelState: 4\r\n"
    b"ChannelStateDesc: Ring\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n"
    b"Context: probe\r\nExten: d\r\nPriority: 2\r\nUniqueid: 1795962500.3\r\n"
    b"Linkedid: 1795962500.2\r\nType: Local\r\nDNID: \r\nTimeToHangup: 0\r\nBridgeID: \r\n"
    b"Application: Wait\r\nData: 60\r\nSeconds: 1\r\nVariable: CONSENT=\r\n"
    b"Variable: CONSENT_METHOD=(null)\r\nVariable: MIXMONITOR_FILENAME=(null)\r\n"
    b"ActionID: st1\r\n\r\n"
)


def frame(*pairs: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


class Link:
    """The state core fed AMI bytes as the daemon's socket would deliver them."""

    def __init__(self) -> None:
        self.state = CtiState()
        self.splitter = FrameSplitter(WANTED_EVENTS)

    def feed(self, data: bytes, received_at: float | None = LOGIN) -> list[Change]:
        changes: list[Change] = []
        for message in self.splitter.feed(data):
            event = to_event(message, received_at)
            if event is not None:
                changes += self.state.apply(event)
        return changes

    def members(self) -> None:
        self.feed(
            frame(("Response", "Success"), ("ActionID", "qs"), ("EventList", "start"))
            + frame(
                ("Event", "QueueMember"),
                ("Queue", "support"),
                ("Name", "Agent 1001"),
                ("Location", "PJSIP/1001"),
                ("StateInterface", "PJSIP/1001"),
                ("Status", "2"),
                ("Paused", "0"),
                ("InCall", "1"),
                ("ActionID", "qs"),
            )
            + frame(
                ("Event", "QueueStatusComplete"),
                ("ActionID", "qs"),
                ("EventList", "Complete"),
                ("ListItems", "1"),
            )
        )

    def channels(self, *items: tuple[str, str, str, str, int]) -> list[Change]:
        """CoreShowChannels: (channel, uniqueid, linkedid, application, age in seconds)."""
        data = frame(("Response", "Success"), ("ActionID", "csc"), ("EventList", "start"))
        for name, uniqueid, linkedid, application, age in items:
            caller = uniqueid == linkedid
            data += frame(
                ("Event", "CoreShowChannel"),
                ("ActionID", "csc"),
                ("Channel", name),
                ("ChannelState", "6"),
                ("ChannelStateDesc", "Up"),
                ("CallerIDNum", "905321234567" if caller else "<unknown>"),
                ("CallerIDName", "Ayşe Yılmaz" if caller else "<unknown>"),
                ("Context", "cti-inbound" if caller else "agents"),
                ("Uniqueid", uniqueid),
                ("Linkedid", linkedid),
                ("Application", application),
                ("ApplicationData", "support,t,,,45" if caller else "(Outgoing Line)"),
                ("Duration", f"00:00:{age:02d}"),
                ("BridgeId", "b-1"),
            )
        return self.feed(
            data
            + frame(
                ("Event", "CoreShowChannelsComplete"),
                ("ActionID", "csc"),
                ("EventList", "Complete"),
                ("ListItems", str(len(items))),
            )
        )

    def status(self, *items: tuple[str, str, str, dict[str, str]]) -> list[Change]:
        """Status with Variables: (channel, uniqueid, linkedid, {name: value}); a name left
        out is one the channel does not have, which Asterisk prints as "(null)"."""
        data = frame(
            ("Response", "Success"),
            ("ActionID", "st"),
            ("EventList", "start"),
            ("Message", "Channel status will follow"),
        )
        for name, uniqueid, linkedid, variables in items:
            data += frame(
                ("Event", "Status"),
                ("Privilege", "Call"),
                ("Channel", name),
                ("Uniqueid", uniqueid),
                ("Linkedid", linkedid),
                ("Seconds", "30"),
                *(
                    ("Variable", f"{v}={variables.get(v, '(null)')}")
                    for v in ("CONSENT", "CONSENT_METHOD", "MIXMONITOR_FILENAME")
                ),
                ("ActionID", "st"),
            )
        return self.feed(
            data
            + frame(
                ("Event", "StatusComplete"),
                ("ActionID", "st"),
                ("EventList", "Complete"),
                ("ListItems", str(len(items))),
                ("Items", str(len(items))),
            )
        )

    def talking_call_listed(self) -> None:
        """Login mid-call: the agent leg happens to be listed before the caller's."""
        self.members()
        self.channels(
            (AGENT_LEG, AGENT_UID, CALLER_UID, "AppQueue", 18),
            (CALLER, CALLER_UID, CALLER_UID, "Queue", 30),
        )

    def hang_up(self, ts: float) -> CallRecord:
        changes: list[Change] = []
        for name, uniqueid in ((AGENT_LEG, AGENT_UID), (CALLER, CALLER_UID)):
            changes += self.feed(
                frame(
                    ("Event", "Hangup"),
                    ("Timestamp", f"{ts:.6f}"),
                    ("Channel", name),
                    ("Uniqueid", uniqueid),
                    ("Linkedid", CALLER_UID),
                    ("Cause", "16"),
                )
            )
        (ended,) = [c for c in changes if isinstance(c, CallEnded)]
        return ended.record


GRANTED = {
    "CONSENT": "granted",
    "CONSENT_METHOD": "dtmf",
    "MIXMONITOR_FILENAME": f"/var/spool/asterisk/monitor/{CALLER_UID}.wav",
}


# --- 1. consent and recording of a call whose consent step came before the link ---------


def test_a_real_status_item_carries_every_variable_line() -> None:
    messages = FrameSplitter(WANTED_EVENTS).feed(REAL_STATUS_ITEMS)
    events = [to_event(m, LOGIN) for m in messages]
    assert events == [
        ev.ChannelVariablesListed(
            ts=LOGIN,
            channel="Local/s@probe-00000000;2",
            uniqueid="1795962500.1",
            linkedid="1795962500.0",
            consent="granted",
            consent_method="dtmf",
            recording="1795962500.1.wav",
            action_id="st1",
        ),
        ev.ChannelVariablesListed(
            ts=LOGIN,
            channel="Local/d@probe-00000001;2",
            uniqueid="1795962500.3",
            linkedid="1795962500.2",
            consent="",
            consent_method="",
            recording="",
            action_id="st1",
        ),
    ]


def test_consent_and_recording_of_a_call_older_than_the_link_come_from_status() -> None:
    link = Link()
    link.talking_call_listed()
    changes = link.status(
        (AGENT_LEG, AGENT_UID, CALLER_UID, {}), (CALLER, CALLER_UID, CALLER_UID, GRANTED)
    )
    assert [c for c in changes if isinstance(c, ConsentRecorded)] == [
        ConsentRecorded(
            ts=LOGIN,
            linkedid=CALLER_UID,
            consent="granted",
            method="dtmf",
            recording=f"{CALLER_UID}.wav",
            on_phones=("PJSIP/1001",),  # the agent on it sees it
        )
    ]
    record = link.hang_up(T0 + 50.0)
    assert (record.consent, record.consent_method, record.recorded, record.recording) == (
        "granted",
        "dtmf",
        True,
        f"{CALLER_UID}.wav",
    )
    assert record.consent_at is None  # when the caller chose is not in any variable
    assert (record.agent, record.outcome) == ("PJSIP/1001", Outcome.ANSWERED)


def test_a_declined_consent_from_status_has_no_recording() -> None:
    link = Link()
    link.talking_call_listed()
    link.status(
        (CALLER, CALLER_UID, CALLER_UID, {"CONSENT": "declined", "CONSENT_METHOD": "timeout"})
    )
    record = link.hang_up(T0 + 50.0)
    assert (record.consent, record.consent_method, record.recorded, record.recording) == (
        "declined",
        "timeout",
        False,
        None,
    )


def test_a_variable_not_set_yet_erases_nothing_and_the_live_event_still_counts() -> None:
    link = Link()
    link.talking_call_listed()
    # The consent AGI is still asking: the dialplan has emptied CONSENT, nothing else.
    assert link.status((CALLER, CALLER_UID, CALLER_UID, {"CONSENT": ""})) == []
    link.feed(
        frame(
            ("Event", "UserEvent"),
            ("Timestamp", f"{T0 + 31:.6f}"),
            ("Channel", CALLER),
            ("Uniqueid", CALLER_UID),
            ("Linkedid", CALLER_UID),
            ("UserEvent", "RecordingConsent"),
            ("Consent", "granted"),
            ("Method", "dtmf"),
        )
    )
    # A later resync lists the same facts again: nothing new, and nothing lost.
    assert (
        link.status(
            (CALLER, CALLER_UID, CALLER_UID, {"CONSENT": "granted", "CONSENT_METHOD": "dtmf"})
        )
        == []
    )
    call = link.state.calls[CALLER_UID]
    assert (call.consent, call.consent_method, call.consent_at) == ("granted", "dtmf", T0 + 31)


# --- 2. a call first seen in a resync started when its first channel was created ----------


@pytest.mark.parametrize(
    "uniqueid, epoch",
    [
        ("1700000000.11", 1_700_000_000.0),
        ("pbx-eu-1-1700000000.11", 1_700_000_000.0),  # asterisk.conf systemname = pbx-eu-1
        ("pbx.example.com-1700000000.11", 1_700_000_000.0),
        ("my-own-channel-id", None),  # an Originate's ChannelId: no time in it
        ("12.3", None),
    ],
)
def test_the_creation_second_in_a_uniqueid(uniqueid: str, epoch: float | None) -> None:
    assert ev.uniqueid_epoch(uniqueid) == epoch


@pytest.mark.parametrize("received_at", [1795343901.6, 1795343960.0])
def test_calls_of_the_midcall_login_start_when_their_linkedid_says(
    captures: Path, received_at: float
) -> None:
    """However late the daemon receives the lists: Zeynep was talking and Emre and Elif
    waiting at the login; their calls began in the second their Linkedid names."""
    link = Link()
    changes = link.feed(capture_bytes(captures / "login-snapshot-midcall.ami"), received_at)
    records = [c.record for c in changes if isinstance(c, CallEnded)]
    assert {r.caller_name for r in records} == {"Zeynep Arslan", "Emre Şahin", "Elif Koç"}
    assert [r.started_at for r in records] == [float(r.linkedid.split(".")[0]) for r in records]
    zeynep = next(r for r in records if r.caller_name == "Zeynep Arslan")
    assert zeynep.started_at == 1795343894.0


def test_a_queue_entry_after_a_long_consent_step_dates_the_call_by_its_uniqueid() -> None:
    state = CtiState()
    state.apply(
        ev.QueueEntryReported(
            ts=T0 + 30.0,
            queue="support",
            position=1,
            channel=CALLER,
            uniqueid=CALLER_UID,
            caller_number="905321234567",
            caller_name="Ayşe",
            wait_s=5,
            action_id="qs",
        )
    )
    call = state.calls[CALLER_UID]
    assert (call.started_at, call.queued_at) == (float(T0), T0 + 25.0)


def test_a_start_seen_live_is_kept_to_the_microsecond() -> None:
    link = Link()
    link.feed(
        frame(
            ("Event", "Newchannel"),
            ("Timestamp", f"{T0 + 0.25:.6f}"),
            ("Channel", CALLER),
            ("Uniqueid", CALLER_UID),
            ("Linkedid", CALLER_UID),
            ("ChannelStateDesc", "Ring"),
            ("CallerIDNum", "905321234567"),
        )
    )
    link.talking_call_listed()
    assert link.state.calls[CALLER_UID].started_at == T0 + 0.25


def test_without_a_time_in_the_linkedid_the_first_legs_duration_dates_the_call() -> None:
    link = Link()
    link.members()
    link.channels(
        (AGENT_LEG, AGENT_UID, "my-call", "AppQueue", 18),
        (CALLER, "my-call", "my-call", "Queue", 30),
    )
    assert link.state.calls["my-call"].started_at == LOGIN - 30


# --- 3. a call that ended while we were away ended at an unknown time -----------------------


def test_a_call_that_ended_while_away_has_an_unknown_end_and_talk_time() -> None:
    link = Link()
    link.members()
    link.feed(
        frame(
            ("Event", "Newchannel"),
            ("Timestamp", f"{T0:.6f}"),
            ("Channel", CALLER),
            ("Uniqueid", CALLER_UID),
            ("Linkedid", CALLER_UID),
            ("ChannelStateDesc", "Up"),
            ("CallerIDNum", "905321234567"),
            ("Exten", "4440"),
        )
        + frame(
            ("Event", "QueueCallerJoin"),
            ("Timestamp", f"{T0 + 8:.6f}"),
            ("Channel", CALLER),
            ("Uniqueid", CALLER_UID),
            ("Linkedid", CALLER_UID),
            ("Queue", "support"),
            ("Position", "1"),
            ("CallerIDNum", "905321234567"),
        )
        + frame(
            ("Event", "AgentConnect"),
            ("Timestamp", f"{T0 + 10:.6f}"),
            ("Queue", "support"),
            ("Interface", "PJSIP/1001"),
            ("MemberName", "Agent 1001"),
            ("Uniqueid", CALLER_UID),
            ("Linkedid", CALLER_UID),
            ("DestChannel", AGENT_LEG),
            ("DestUniqueid", AGENT_UID),
            ("HoldTime", "2"),
            ("RingTime", "1"),
        ),
    )
    link.state.apply(ev.LinkDown(ts=T0 + 20.0, reason="connection lost"))
    link.state.apply(ev.LinkUp(ts=T0 + 600.0))  # the call ended somewhere in those ten minutes
    changes = link.channels()  # Asterisk lists no channel: it is gone
    (ended,) = [c for c in changes if isinstance(c, CallEnded)]
    record = ended.record
    assert record.ended_while_disconnected and record.outcome is Outcome.ANSWERED
    assert (record.answered_at, record.wait_s) == (T0 + 10.0, 2)
    assert (record.ended_at, record.talk_s) == (None, None)  # not the resync's time
    # The call-log row says so (NULL end and talk) and no call_end event is invented.
    rows = rows_for(changes, "TR")
    (call_row,) = [values for kind, values in rows if kind == "call"]
    assert (call_row["ended_at"], call_row["talk_s"], call_row["through_gap"]) == (None, None, True)
    assert not [values for kind, values in rows if kind == "event" and values[2] == "call_end"]


def test_a_caller_that_vanished_from_the_queue_while_away_waited_an_unknown_time() -> None:
    state = CtiState()
    state.apply(
        ev.ChannelCreated(
            ts=float(T0),
            channel=CALLER,
            uniqueid=CALLER_UID,
            linkedid=CALLER_UID,
            caller_number="905321234567",
            caller_name="",
            exten="4440",
            state="Up",
        )
    )
    state.apply(
        ev.QueueCallerJoined(
            ts=T0 + 8.0,
            queue="support",
            channel=CALLER,
            uniqueid=CALLER_UID,
            linkedid=CALLER_UID,
            caller_number="905321234567",
            caller_name="",
            position=1,
        )
    )
    state.apply(ev.LinkDown(ts=T0 + 9.0, reason="reset"))
    state.apply(ev.LinkUp(ts=T0 + 300.0))
    state.apply(ev.ListStarted(ts=T0 + 300.1, action_id="csc"))
    changes = state.apply(
        ev.ListCompleted(ts=T0 + 300.2, action_id="csc", name="CoreShowChannelsComplete")
    )
    (ended,) = [c for c in changes if isinstance(c, CallEnded)]
    assert ended.record.outcome is Outcome.UNKNOWN
    assert (ended.record.ended_at, ended.record.wait_s, ended.record.talk_s) == (None, None, None)
