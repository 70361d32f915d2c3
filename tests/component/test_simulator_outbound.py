"""An agent's outbound call on the simulator ([cti-outbound] in dialplan/extensions_cti.conf),
over real TCP AMI: the Originate the daemon sends for click-to-dial, then what the customer's
side does (answer, busy, no answer, congestion, unreachable, hanging up first or during the
recording notice), the agent's phone not answering, and the agent's AMI Hangup. The answered
call as a whole is checked against the real Asterisk by test_simulator_conformance.py.

No timed assertions: every wait is for an event, and the configured delays are short."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from harness import Frame, RawAmi, running_simulator

from cti.simulator import (
    MemberConfig,
    OutboundBehaviour,
    OutboundConfig,
    QueueConfig,
    SimConfig,
    Simulator,
)

AGENT = "SIP/1001"
NUMBER = "905329900011"
CHANNEL_ID = "1796000000.1000000001"  # the daemon's choice: the agent leg's Uniqueid
FAST = OutboundBehaviour(answer_after_s=0.05, talk_s=None)  # answers, talks until hung up


def config(**overrides: Any) -> SimConfig:
    support = QueueConfig(
        "support",
        "4440",
        (MemberConfig(AGENT, "Agent 1001"), MemberConfig("SIP/1002", "Agent 1002")),
        consent="none",
    )
    base = SimConfig(
        queues=(support,),
        arrival_rate=0,
        announcement_s=0.05,
        originate_answer_s=0.05,
        outbound=OutboundConfig(ring_s=0.3),
    )
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[tuple[Simulator, RawAmi]]:
    async with running_simulator(config(**overrides)) as sim, RawAmi.logged_in(sim.port) as ami:
        yield sim, ami


async def click_to_dial(ami: RawAmi, timeout_ms: int = 30000, **fields: str) -> Frame:
    """The Originate of cti/ami/actions.py for Ayla (SIP/1001) calling the customer."""
    action = {
        "Action": "Originate",
        "Channel": AGENT,
        "Context": "cti-outbound",
        "Exten": NUMBER,
        "Priority": "1",
        "CallerID": f'"Deniz Aksoy" <{NUMBER}>',
        "Timeout": str(timeout_ms),
        "Async": "true",
        "ChannelId": CHANNEL_ID,
    }
    return await ami.action(**(action | fields))


async def call_ended(ami: RawAmi) -> list[Frame]:
    """Every event of the call, once its legs have all hung up."""
    await ami.event("Hangup", Uniqueid=CHANNEL_ID)
    for born in [f for f in ami.of(CHANNEL_ID) if f["Event"] == "Newchannel"]:
        await ami.event("Hangup", Uniqueid=born["Uniqueid"])
    return ami.of(CHANNEL_ID)


# Left aside: the dialplan's noise (a real Asterisk does not send it to the daemon's user)
# and the Cdr, which comes when it likes.
UNCOMPARED = {"Newexten", "VarSet", "Cdr"}


def of_leg(events: list[Frame], prefix: str) -> list[Frame]:
    """The events about one leg."""
    return [
        f
        for f in events
        if f.get("Channel", "").startswith(prefix) and f["Event"] not in UNCOMPARED
    ]


def names(events: list[Frame]) -> list[str]:
    return [f.get("UserEvent") or f["Event"] for f in events if "Event" in f]


@pytest.mark.parametrize(
    ("behaviour", "status", "customer_cause", "agent_cause"),
    [
        (OutboundBehaviour("busy", answer_after_s=0.05), "BUSY", "17", "17"),
        (OutboundBehaviour("no-answer"), "NOANSWER", "0", "16"),
        # Answering later than Dial's timeout (0.3 s here) is no answer either.
        (OutboundBehaviour(answer_after_s=5.0), "NOANSWER", "0", "16"),
        (OutboundBehaviour("congestion", answer_after_s=0.05), "CONGESTION", "34", "34"),
    ],
)
async def test_a_customer_who_does_not_answer_ends_the_dial_with_its_status_and_cause(
    behaviour: OutboundBehaviour, status: str, customer_cause: str, agent_cause: str
) -> None:
    async with running() as (sim, ami):
        sim.set_customer(NUMBER, behaviour)
        answer = await click_to_dial(ami)
        assert (answer["Response"], answer["Message"]) == (
            "Success",
            "Originate successfully queued",
        )
        events = await call_ended(ami)
    (outcome,) = [f for f in ami.frames if f.get("Event") == "OriginateResponse"]
    assert (outcome["ActionID"], outcome["Response"], outcome["Reason"]) == (
        answer["ActionID"],
        "Success",
        "4",
    )  # the agent answered: the Originate succeeded whatever the customer then does
    customer = of_leg(events, "SIP/trunk-")
    (begin,) = [f for f in events if f["Event"] == "DialBegin" and "Channel" in f]
    (end,) = [f for f in events if f["Event"] == "DialEnd" and "Channel" in f]
    assert (begin["Uniqueid"], begin["DestChannel"], begin["DialString"]) == (
        CHANNEL_ID,
        customer[0]["Channel"],
        f"{NUMBER}@trunk",
    )
    assert (end["DialStatus"], end["DestChannel"]) == (status, customer[0]["Channel"])
    (customer_hangup,) = [f for f in customer if f["Event"] == "Hangup"]
    assert customer_hangup["Cause"] == customer_cause
    assert "Up" not in [f.get("ChannelStateDesc") for f in customer]
    agent = [f for f in events if f.get("Uniqueid") == CHANNEL_ID and "Channel" in f]
    # [cti-outbound] goes on after the Dial: Hangup(), with the cause Dial left.
    assert names(agent)[-2:] == ["SoftHangupRequest", "Hangup"]
    assert (agent[-1]["Cause"], agent[-1]["Context"]) == (agent_cause, "cti-outbound")
    assert "BridgeEnter" not in names(events)


async def test_an_unreachable_trunk_makes_no_customer_leg() -> None:
    async with running() as (sim, ami):
        sim.set_customer(NUMBER, OutboundBehaviour("unreachable"))
        await click_to_dial(ami)
        events = await call_ended(ami)
    assert of_leg(events, "SIP/trunk-") == []
    agent = of_leg(events, f"{AGENT}-")
    assert [f for f in agent if f["Event"].startswith("Dial")] == []
    assert names(agent)[-2:] == ["SoftHangupRequest", "Hangup"]
    assert (agent[-1]["Cause"], agent[-1]["Cause-txt"]) == ("3", "No route to destination")


async def test_the_configured_rates_decide_for_a_number_no_test_has_set() -> None:
    only_busy = OutboundConfig(ring_s=0.3, answer_rate=0, busy_rate=1, no_answer_rate=0)
    async with running(outbound=only_busy, seed=1) as (_, ami):
        await click_to_dial(ami)
        events = await call_ended(ami)
    assert [f["DialStatus"] for f in events if f["Event"] == "DialEnd" and "Channel" in f] == [
        "BUSY"
    ]


async def test_the_agent_not_answering_fails_the_originate() -> None:
    async with running() as (sim, ami):
        sim.set_phone(AGENT, answers=False)
        answer = await click_to_dial(ami, timeout_ms=200)
        index = await ami.event("OriginateResponse")
        events = ami.of(CHANNEL_ID)
    outcome = ami.frames[index]
    # Asterisk names the channel it was asked for and the ChannelId: no channel came of it.
    assert {k: outcome[k] for k in ("ActionID", "Response", "Reason", "Channel", "Uniqueid")} == {
        "ActionID": answer["ActionID"],
        "Response": "Failure",
        "Reason": "3",
        "Channel": AGENT,
        "Uniqueid": CHANNEL_ID,
    }
    assert [f["DialStatus"] for f in events if f["Event"] == "DialEnd"] == ["NOANSWER"]
    assert names(events)[-1] == "Hangup"
    assert of_leg(events, "SIP/trunk-") == []


async def test_the_customer_hanging_up_first_ends_the_agents_leg_too(tmp_path: Path) -> None:
    async with running(recordings_dir=tmp_path) as (sim, ami):
        sim.set_customer(NUMBER, OutboundBehaviour(answer_after_s=0.05, talk_s=0.1))
        await click_to_dial(ami)
        events = await call_ended(ami)
    customer = of_leg(events, "SIP/trunk-")
    assert names(customer) == [
        "Newchannel",
        "NewCallerid",
        "NewConnectedLine",
        "Newstate",
        "Newstate",
        "RecordingConsent",
        "MixMonitorStart",
        "BridgeEnter",
        "HangupRequest",
        "BridgeLeave",
        "SoftHangupRequest",
        "Hangup",
    ]
    consent = next(f for f in customer if f.get("UserEvent") == "RecordingConsent")
    assert (consent["Consent"], consent["Method"], consent["Context"]) == (
        "granted",
        "implied",
        "cti-consent",
    )
    uniqueid = customer[0]["Uniqueid"]
    assert (tmp_path / f"{uniqueid}.wav").is_file()  # MixMonitor's stand-in recording
    agent = of_leg(events, f"{AGENT}-")
    assert names(agent)[-3:] == ["BridgeEnter", "BridgeLeave", "Hangup"]  # no request of its own
    hangups = [f for f in events if f["Event"] == "Hangup"]
    assert [(f["Uniqueid"], f["Cause"]) for f in hangups] == [(uniqueid, "16"), (CHANNEL_ID, "16")]


async def test_a_customer_who_hangs_up_during_the_notice_never_reaches_the_agent() -> None:
    async with running() as (sim, ami):
        sim.set_customer(
            NUMBER, OutboundBehaviour(answer_after_s=0.05, talk_s=None, hangs_up_in_notice=True)
        )
        await click_to_dial(ami)
        events = await call_ended(ami)
    assert "RecordingConsent" not in names(events)
    assert "MixMonitorStart" not in names(events)
    assert "BridgeEnter" not in names(events)
    customer = of_leg(events, "SIP/trunk-")
    assert names(customer)[-2:] == ["HangupRequest", "Hangup"]


async def test_the_agents_ami_hangup_ends_the_call_and_a_used_channel_id_is_refused() -> None:
    async with running() as (sim, ami):
        sim.set_customer(NUMBER, FAST)
        await click_to_dial(ami)
        await ami.event("BridgeEnter", Uniqueid=CHANNEL_ID)
        # The same ChannelId again: queued, then the channel cannot be made.
        again = await click_to_dial(ami)
        refused = await ami.event("OriginateResponse", ActionID=again["ActionID"])
        agent = next(c for c in sim.pbx.channels.values() if c.uniqueid == CHANNEL_ID)
        answer = await ami.action(Action="Hangup", Channel=agent.name)
        await call_ended(ami)
    assert again["Response"] == "Success"
    assert (ami.frames[refused]["Response"], ami.frames[refused]["Reason"]) == ("Failure", "0")
    assert (answer["Response"], answer["Message"]) == ("Success", "Channel Hungup")
    after = of_leg(ami.of(CHANNEL_ID, ami.frames.index(answer)), "SIP/")
    # As click-to-dial.ami: the agent's leg leaves the bridge and is asked to hang up, then
    # both hang up; the customer's leg is not asked.
    assert [(f["Event"], f["Channel"].split("-")[0]) for f in after] == [
        ("BridgeLeave", AGENT),
        ("SoftHangupRequest", AGENT),
        ("BridgeLeave", "SIP/trunk"),
        ("Hangup", AGENT),
        ("Hangup", "SIP/trunk"),
    ]


async def test_a_number_that_is_no_extension_of_cti_outbound_is_refused() -> None:
    async with running() as (_, ami):
        answer = await click_to_dial(ami, Exten="+905329900011")
    assert (answer["Response"], answer["Message"]) == ("Error", "Extension does not exist.")
