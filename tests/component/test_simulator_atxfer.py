"""An agent's attended transfer on the simulator, over real TCP AMI: the Atxfer and
CancelAtxfer the daemon sends (cti/ami/actions.py), then how the consultation ends: the agent
hanging up (the transfer completes), CancelAtxfer, the consulted phone not answering or
hanging up, the caller hanging up; and the actions' answers where nothing is transferred.
The completed transfer as a whole is checked against the real Asterisk by
test_simulator_conformance.py (scenario attended-transfer).

No timed assertions: every wait is for an event, and the configured delays are short."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import Frame, RawAmi, frames, running_simulator

from cti.simulator import FeaturesConfig, MemberConfig, QueueConfig, SimConfig, Simulator

AGENT, CONSULTED = "SIP/1001", "SIP/1002"
NUMBER, NAME = "905329900012", "Sena Yurt"
CONTEXT = "cti-transfer-agent"
CAPTURE = Path(__file__).resolve().parents[1] / "captures" / "real" / "attended-transfer.ami"


def config(**overrides: Any) -> SimConfig:
    support = QueueConfig(
        "support",
        "4440",
        (MemberConfig(AGENT, "Agent 1001"), MemberConfig(CONSULTED, "Agent 1002")),
        consent="none",
    )
    base = SimConfig(
        queues=(support,),
        arrival_rate=0,
        features=FeaturesConfig(transfer_digit_timeout_s=0.05, atxfer_no_answer_s=0.3),
    )
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[tuple[Simulator, RawAmi]]:
    async with running_simulator(config(**overrides)) as sim, RawAmi.logged_in(sim.port) as ami:
        # app_queue does not ring the consulted agent; the transfer's Dial still does.
        answer = await ami.action(
            Action="QueuePause", Interface=CONSULTED, Paused="true", Reason="Test"
        )
        assert answer["Response"] == "Success", answer
        yield sim, ami


async def answered(sim: Simulator, ami: RawAmi, talk_s: float = 30.0) -> tuple[str, str]:
    """A support call SIP/1001 answered: its Linkedid and the agent's leg."""
    linkedid = await sim.place_call(NUMBER, NAME, "support", answer_after=0.05, talk_s=talk_s)
    index = await ami.event("AgentConnect", Uniqueid=linkedid)
    return linkedid, ami.frames[index]["DestChannel"]


async def atxfer(ami: RawAmi, leg: str, exten: str = "1002") -> Frame:
    """The Atxfer of cti/ami/actions.py attended_transfer()."""
    return await ami.action(Action="Atxfer", Channel=leg, Context=CONTEXT, Exten=exten)


async def consulting(sim: Simulator, ami: RawAmi) -> tuple[str, str]:
    """A call whose agent consults SIP/1002, who has answered."""
    linkedid, leg = await answered(sim, ami)
    answer = await atxfer(ami, leg)
    assert (answer["Response"], answer["Message"]) == ("Success", "Atxfer successfully queued")
    await ami.wait(
        lambda f: (
            f.get("Event") == "DialEnd"
            and f.get("DestChannel", "").startswith(f"{CONSULTED}-")
            and f.get("DialStatus") == "ANSWER"
        )
    )
    return linkedid, leg


async def unanswered_consultation(sim: Simulator, ami: RawAmi) -> tuple[str, str]:
    """A call whose agent consults SIP/1002, whose phone rings (now) and will not answer."""
    sim.set_phone(CONSULTED, answers=False)
    linkedid, leg = await answered(sim, ami)
    await atxfer(ami, leg)
    await ami.wait(
        lambda f: (
            f.get("Event") == "Newstate"
            and f["Channel"].startswith(CONSULTED)
            and f["ChannelStateDesc"] == "Ringing"
        )
    )
    return linkedid, leg


async def call_ended(ami: RawAmi, linkedid: str) -> list[Frame]:
    """Every event of the call, once its channels have all hung up."""
    await ami.event("Hangup", Uniqueid=linkedid)
    for born in [f for f in ami.of(linkedid) if f["Event"] == "Newchannel"]:
        await ami.event("Hangup", Uniqueid=born["Uniqueid"])
    return ami.of(linkedid)


def of_leg(events: list[Frame], prefix: str) -> list[str]:
    """The names of the events about the channels whose names start with ``prefix``, but the
    dialplan's noise and the Cdr."""
    return [
        f["Event"]
        for f in events
        if f.get("Channel", "").startswith(prefix)
        and f["Event"] not in ("Newexten", "VarSet", "Cdr")
    ]


# The agent's leg from its Atxfer on: on hold, out of the caller's bridge into the
# consultation's, calling the consulted phone (its connected line: nobody, then 1002).
INTO_THE_CONSULTATION = [
    "Hold",
    "BridgeLeave",
    "BridgeEnter",
    "NewConnectedLine",
    "NewConnectedLine",
]


def from_hold(events: list[Frame], leg: str) -> list[str]:
    """What happens to the agent's leg from the transfer on."""
    names = of_leg(events, leg)
    return names[names.index("Hold") :]


def named(events: list[Frame], name: str) -> list[Frame]:
    """The events called ``name`` (AttendedTransfer names no Linkedid of its own: look for
    it in every frame, not in ``RawAmi.of`` a call)."""
    return [f for f in events if f.get("Event") == name]


def completed(events: list[Frame]) -> tuple[str, str]:
    """app_queue's one AgentComplete of the call: whose, and why."""
    (complete,) = named(events, "AgentComplete")
    return complete["Interface"], complete["Reason"]


def shapes(stream: list[Frame]) -> dict[str, set[tuple[str, ...]]]:
    """Each event's field names, in order, from the transfer's Hold on (the dialplan's noise
    and the Cdr left aside: see test_simulator_conformance.py)."""
    start = next(i for i, f in enumerate(stream) if f.get("Event") == "Hold")
    out: dict[str, set[tuple[str, ...]]] = {}
    for f in stream[start:]:
        if f.get("Event") not in (None, "Newexten", "VarSet", "Cdr"):
            out.setdefault(f["Event"], set()).add(tuple(f))
    return out


async def test_the_agents_hang_up_completes_the_transfer_with_the_events_asterisk_sends() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await consulting(sim, ami)
        answer = await ami.action(Action="Hangup", Channel=leg)
        done = await ami.event("AttendedTransfer")
        await ami.event("AgentComplete", Uniqueid=linkedid)
        await sim.hangup(linkedid)  # the caller, who now talks to SIP/1002
        events = await call_ended(ami, linkedid)
    assert (answer["Response"], answer["Message"]) == ("Success", "Channel Hungup")
    transferred = ami.frames[done]
    assert (transferred["Result"], transferred["OrigTransfererChannel"]) == ("Success", leg)
    assert transferred["TransferTargetChannel"].startswith(f"Local/1002@{CONTEXT}-")
    assert transferred["TransferTargetChannel"].endswith(";1")
    assert completed(events) == (AGENT, "transfer")
    (begin,) = [f for f in named(events, "DialBegin") if f["DestChannel"].startswith(CONSULTED)]
    assert begin["Channel"].endswith(";2") and begin["Linkedid"] == linkedid
    # Out of the consultation's bridge and gone: nobody asked it to hang up (the AMI Hangup
    # shows no request, as in attended-transfer.ami).
    assert from_hold(events, leg) == [*INTO_THE_CONSULTATION, "BridgeLeave", "Hangup"]
    assert of_leg(events, f"{CONSULTED}-")[-2:] == ["BridgeLeave", "Hangup"]
    # Field by field, each kind of event as the real Asterisk sent it.
    assert shapes(ami.frames) == shapes(frames(CAPTURE.read_bytes()))


async def test_the_consulted_agent_hanging_up_after_the_transfer_ends_the_call() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await consulting(sim, ami)
        await ami.action(Action="Hangup", Channel=leg)
        await ami.event("AttendedTransfer")
        await sim.hangup(linkedid, "agent")  # now SIP/1002's phone
        events = await call_ended(ami, linkedid)
    assert of_leg(events, f"{CONSULTED}-")[-4:] == [
        "NewConnectedLine",  # talking to the caller now
        "HangupRequest",
        "BridgeLeave",
        "Hangup",
    ]
    assert of_leg(events, "SIP/trunk-")[-3:] == ["BridgeLeave", "SoftHangupRequest", "Hangup"]


async def test_the_agent_hanging_up_while_the_phone_rings_leaves_the_caller_ringing_it() -> None:
    # Long enough a ring that only the test's answer ends it.
    features = FeaturesConfig(transfer_digit_timeout_s=0.05, atxfer_no_answer_s=60)
    async with running(features=features) as (sim, ami):
        linkedid, leg = await unanswered_consultation(sim, ami)
        await ami.action(Action="Hangup", Channel=leg)
        done = await ami.event("AttendedTransfer")
        assert sim.answer(linkedid, CONSULTED)  # the caller now waits for this phone
        await sim.hangup(linkedid)
        events = await call_ended(ami, linkedid)
    assert ami.frames[done]["Result"] == "Success"  # bridge_basic.c's blond transfer
    assert completed(events) == (AGENT, "transfer")
    assert of_leg(events, f"{CONSULTED}-")[-3:] == ["BridgeEnter", "BridgeLeave", "Hangup"]


async def test_cancelatxfer_takes_the_agent_back_to_the_caller() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await consulting(sim, ami)
        answer = await ami.action(Action="CancelAtxfer", Channel=leg)
        unhold = await ami.event("Unhold", Channel=leg)
        gone = await ami.wait(
            lambda f: f.get("Event") == "Hangup" and f["Channel"].startswith(f"{CONSULTED}-")
        )
        # The call goes on with SIP/1001 until the caller hangs up.
        await sim.hangup(linkedid)
        events = await call_ended(ami, linkedid)
    assert (answer["Response"], answer["Message"]) == (
        "Success",
        "CancelAtxfer successfully queued",
    )
    assert gone > unhold
    assert named(ami.frames, "AttendedTransfer") == []
    assert completed(events) == (AGENT, "caller")
    # Back from the consultation's bridge to the caller's, then off hold.
    assert from_hold(events, leg) == [
        *INTO_THE_CONSULTATION,
        "BridgeLeave",
        "BridgeEnter",
        "Unhold",
        "BridgeLeave",  # the caller hangs up
        "Hangup",
    ]


async def test_the_consulted_phone_not_answering_takes_the_agent_back() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await unanswered_consultation(sim, ami)
        await ami.event("Unhold", Channel=leg)  # after atxfernoanswertimeout
        await sim.hangup(linkedid)
        events = await call_ended(ami, linkedid)
    consulted = [f for f in named(events, "DialEnd") if f["DestChannel"].startswith(CONSULTED)]
    assert [f["DialStatus"] for f in consulted] == ["CANCEL"]
    assert "Up" not in [
        f["ChannelStateDesc"] for f in events if f.get("Channel", "").startswith(CONSULTED)
    ]
    assert named(ami.frames, "AttendedTransfer") == []
    assert completed(events) == (AGENT, "caller")


async def test_the_consulted_agent_hanging_up_takes_the_agent_back() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await consulting(sim, ami)
        phone = next(c.name for c in sim.pbx.channels.values() if c.name.startswith(CONSULTED))
        await ami.action(Action="Hangup", Channel=phone)
        await ami.event("Unhold", Channel=leg)
        await sim.hangup(linkedid, "agent")  # SIP/1001, talking to the caller again
        events = await call_ended(ami, linkedid)
    assert of_leg(events, phone)[-3:] == ["SoftHangupRequest", "BridgeLeave", "Hangup"]
    assert completed(events) == (AGENT, "agent")


async def test_an_extension_without_a_phone_takes_the_agent_back_without_ringing() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await answered(sim, ami)
        answer = await atxfer(ami, leg, exten="1099")
        await ami.event("Unhold", Channel=leg)
        await sim.hangup(linkedid)
        events = await call_ended(ami, linkedid)
    assert answer["Response"] == "Success"  # the digits are queued; the Dial then fails
    assert [f["DestChannel"].split("-")[0] for f in named(events, "DialBegin")] == [AGENT]
    (status,) = [f for f in named(events, "VarSet") if f["Variable"] == "DIALSTATUS"]
    assert (status["Channel"].rsplit("-", 1)[0], status["Value"]) == (
        f"Local/1099@{CONTEXT}",
        "CHANUNAVAIL",
    )


async def test_the_caller_hanging_up_while_the_phone_rings_fails_the_transfer() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await unanswered_consultation(sim, ami)
        await sim.hangup(linkedid)
        events = await call_ended(ami, linkedid)
    (failed,) = named(ami.frames, "AttendedTransfer")
    assert (failed["Result"], failed["DestType"]) == ("Fail", "Fail")
    assert completed(events) == (AGENT, "caller")
    assert of_leg(events, leg)[-1] == "Hangup"


async def test_the_caller_hanging_up_on_hold_leaves_the_two_agents_talking() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await consulting(sim, ami)
        await sim.hangup(linkedid)
        caller_gone = await ami.event("Hangup", Uniqueid=linkedid)
        await sim.hangup(linkedid, "agent")  # SIP/1001, still consulting
        events = await call_ended(ami, linkedid)
    assert named(ami.frames, "AttendedTransfer") == []
    assert completed(events) == (AGENT, "caller")
    after = [f for f in ami.frames[caller_gone + 1 :] if f.get("Event") == "Hangup"]
    assert after[0]["Channel"] == leg  # SIP/1001 ended it; the consulted side follows
    assert {f["Channel"].rsplit("-", 1)[0] for f in after[1:]} == {
        f"Local/1002@{CONTEXT}",
        CONSULTED,
    }


async def test_atxfer_and_cancelatxfer_answer_as_manager_c_does() -> None:
    async with running() as (sim, ami):
        linkedid, leg = await answered(sim, ami)
        caller = next(f["Channel"] for f in ami.of(linkedid) if f["Event"] == "Newchannel")
        answers = {
            "no channel": await ami.action(Action="Atxfer", Exten="1002"),
            "no extension": await ami.action(Action="Atxfer", Channel=leg),
            "no such channel": await atxfer(ami, "SIP/1001-7fffffff"),
            # With no transfer in progress the abort code is played all the same.
            "no transfer": await ami.action(Action="CancelAtxfer", Channel=leg),
            "cancel, no such channel": await ami.action(
                Action="CancelAtxfer", Channel="SIP/1001-7fffffff"
            ),
            "cancel, no channel": await ami.action(Action="CancelAtxfer"),
            # Callers have no transfer feature: the digits go nowhere.
            "the caller's channel": await atxfer(ami, caller),
        }
        await sim.hangup(linkedid)
        events = await call_ended(ami, linkedid)
    assert {k: (a["Response"], a["Message"]) for k, a in answers.items()} == {
        "no channel": ("Error", "No channel specified"),
        "no extension": ("Error", "No extension specified"),
        "no such channel": ("Error", "Channel specified does not exist"),
        "no transfer": ("Success", "CancelAtxfer successfully queued"),
        "cancel, no such channel": ("Error", "Channel specified does not exist"),
        "cancel, no channel": ("Error", "No channel specified"),
        "the caller's channel": ("Success", "Atxfer successfully queued"),
    }
    assert [f["Event"] for f in events if f["Event"] in ("Hold", "Unhold", "LocalBridge")] == []
    assert completed(events) == (AGENT, "caller")


async def test_without_an_atxfer_code_in_features_conf_atxfer_is_refused() -> None:
    async with running(features=FeaturesConfig(atxfer="", atxferabort="")) as (sim, ami):
        linkedid, leg = await answered(sim, ami)
        refused = await atxfer(ami, leg)
        cancel = await ami.action(Action="CancelAtxfer", Channel=leg)
        await sim.hangup(linkedid)
        await call_ended(ami, linkedid)
    assert refused["Message"] == "No attended transfer feature code found"
    assert cancel["Message"] == "No disconnect feature code found"
