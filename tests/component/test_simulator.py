"""The PBX simulator against the real captures: it must answer actions the way Asterisk did in
``actions.ami`` and produce call sequences our pipeline reads like real ones."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from harness import Recorder, frames

from cti.ami.connection import AmiClient, AmiConfig
from cti.pipeline import Pipeline
from cti.simulator import MemberConfig, QueueConfig, SimConfig, Simulator
from cti.state.changes import AgentRinging, Outcome
from cti.state.store import CtiState


async def read_answer(reader: asyncio.StreamReader, action_id: str) -> list[dict[str, str]]:
    """Frames answering one action: a response, or a whole list up to its Complete event."""
    answer: list[dict[str, str]] = []
    while True:
        (frame,) = frames(await reader.readuntil(b"\r\n\r\n"))
        if frame.get("ActionID") != action_id:
            continue  # events of other things
        answer.append(frame)
        is_plain_response = "Event" not in frame and frame.get("EventList") != "start"
        if is_plain_response or frame.get("EventList") == "Complete":
            return answer


async def test_actions_are_answered_like_the_capture(captures: Path) -> None:
    sent = frames((captures / "actions.sent").read_bytes())
    expected = frames((captures / "actions.ami").read_bytes())
    sim = Simulator(SimConfig.demo(), port=0)  # login cti / cti-secret, as in actions.sent
    await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        assert await reader.readline() == b"Asterisk Call Manager/9.0.0\r\n"
        for action in sent:
            if action["Action"] == "Originate":
                continue  # its channel is the PBX's own business; checked below
            writer.write("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
            got = await read_answer(reader, action["ActionID"])
            want = [f for f in expected if f.get("ActionID") == action["ActionID"]]
            # Same response, same message, same field names, in the same order.
            assert [(f.get("Response"), f.get("Message")) for f in got[:1]] == [
                (f.get("Response"), f.get("Message")) for f in want[:1]
            ], action
            if action["Action"] in ("QueueStatus", "QueueSummary"):
                for name in ("QueueParams", "QueueMember", "QueueSummary"):
                    ours = [list(f) for f in got if f.get("Event") == name]
                    theirs = [list(f) for f in want if f.get("Event") == name]
                    assert ours[:1] == theirs[:1], name
                assert list(got[-1]) == list(want[-1])  # the Complete event
            if action["Action"] == "Ping":
                assert list(got[0]) == list(want[0])
    finally:
        writer.close()
        await sim.stop()


def fast_config(**overrides: Any) -> SimConfig:
    support = QueueConfig(
        "support",
        "4440",
        (
            MemberConfig("SIP/1001", "Agent 1001"),
            MemberConfig("SIP/1002", "Agent 1002", answers=False),
        ),
        "rrmemory",
        ring_timeout_s=0.4,
        retry_s=0.1,
        consent="explicit",
    )
    sales = QueueConfig(
        "sales",
        "4441",
        (MemberConfig("SIP/1003", "Agent 1003"), MemberConfig("SIP/1004", "Agent 1004")),
        "ringall",
        consent="none",
    )
    return SimConfig(queues=(support, sales), announcement_s=0.05, **overrides)


async def run_calls(sim: Simulator, scenario: Any, count: int) -> Recorder:
    recorder = Recorder()
    pipeline = Pipeline(CtiState(), [recorder])
    ami = AmiClient(
        AmiConfig("127.0.0.1", sim.port, "cti", "cti-secret"),
        pipeline.submit_message,
        pipeline.submit_event,
    )
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(ami.run())]
    try:
        await asyncio.wait_for(ami.first_login, 10)
        await scenario()

        async def all_ended() -> None:
            while len(recorder.ended()) < count:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(all_ended(), 20)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return recorder


async def test_generated_calls_read_like_real_ones() -> None:
    sim = Simulator(fast_config(), port=0)
    await sim.start()
    ids: dict[str, str] = {}

    async def scenario() -> None:
        ids["declined"] = await sim.place_call(
            "905551112233",
            "Mehmet Öztürk",
            "support",
            consent="declined",
            answer_after=0.05,
            talk_s=1.1,
        )
        await asyncio.sleep(0.3)  # SIP/1001 is busy now: the next caller rings SIP/1002
        ids["abandoned"] = await sim.place_call(
            "905329998877",
            "Ali Kaya",
            "support",
            consent="granted",
            answer_after=0.05,
            talk_s=1,
            patience_s=0.7,
        )
        ids["hostile"] = await sim.place_call(
            "15551234567", "<img src=x onerror=alert(1)>", "sales", answer_after=0.1, talk_s=0.2
        )

    try:
        recorder = await run_calls(sim, scenario, 3)
    finally:
        await sim.stop()
    records = recorder.ended()
    declined, abandoned, hostile = (records[ids[k]] for k in ("declined", "abandoned", "hostile"))
    assert (declined.outcome, declined.agent, declined.consent, declined.recorded) == (
        Outcome.ANSWERED,
        "SIP/1001",
        "declined",
        False,
    )
    assert declined.talk_s == 1 and declined.caller_name == "Mehmet Öztürk"
    assert (abandoned.outcome, abandoned.agent, abandoned.consent, abandoned.recorded) == (
        Outcome.ABANDONED,
        None,
        "granted",
        True,
    )
    assert abandoned.no_answer_count >= 1  # SIP/1002 never answers
    assert hostile.caller_name == "<img src=x onerror=alert(1)>"
    assert hostile.outcome == Outcome.ANSWERED and hostile.consent is None
    # ringall: both sales phones rang for the hostile call, one took it.
    rang = {
        c.interface
        for c in recorder.changes
        if isinstance(c, AgentRinging) and c.linkedid == ids["hostile"]
    }
    assert rang == {"SIP/1003", "SIP/1004"}


async def test_poisson_traffic_runs_and_every_call_ends() -> None:
    config = fast_config(
        arrival_rate=20.0,
        seed=7,
        answer_delay_s=(0.05, 0.2),
        talk_s=(0.1, 0.3),
        patience_s=(0.2, 1.0),
        hostile_ratio=0.2,
    )
    sim = Simulator(config, port=0)
    await sim.start()

    async def scenario() -> None:
        sim.start_traffic()
        await asyncio.sleep(1.5)
        assert sim._traffic is not None
        sim._traffic.cancel()

    try:
        recorder = await run_calls(sim, scenario, 10)
        while sim.pbx.calls:  # let calls in progress finish
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        await sim.stop()
    records = list(recorder.ended().values())
    assert len(records) >= 10
    outcomes = {r.outcome for r in records}
    assert Outcome.ANSWERED in outcomes
    assert all(r.queue in ("support", "sales") for r in records)
    assert all(re.fullmatch(r"\d+\.\d+", r.linkedid) for r in records)


@pytest.mark.parametrize("secret", ["wrong", ""])
async def test_wrong_secret_is_refused_and_the_connection_closed(
    secret: str, captures: Path
) -> None:
    sim = Simulator(SimConfig.demo(), port=0)
    await sim.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(
            f"Action: Login\r\nActionID: a0\r\nUsername: cti\r\nSecret: {secret}\r\n\r\n".encode()
        )
        data = await asyncio.wait_for(reader.read(), 5)  # read() returns at EOF: closed
        expected = (captures / "login-failure.ami").read_bytes()
        assert data == expected
        writer.close()
    finally:
        await sim.stop()
