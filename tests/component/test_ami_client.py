"""The real AMI client against the PBX simulator over TCP: login, refusal, reconnects,
half-open links, resync mid-call, and captures served byte for byte. No mocks."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from harness import running_simulator, wait_until

from cti.ami import actions
from cti.ami.connection import AmiAuthError, AmiClient, AmiConfig
from cti.ami.protocol import ActionFailed, CtiAmiProtocol
from cti.pipeline import Pipeline
from cti.replay import capture_bytes, replay
from cti.simulator import CaptureServer, SimConfig, Simulator
from cti.state.changes import CallEnded, CallRecord, Change, LinkChanged
from cti.state.store import CtiState

SECRET = "s3cret"


class Recorder:
    """A sink that keeps every change, to look at what the pipeline produced."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def offer(self, changes: Any) -> None:
        self.changes.extend(changes)

    def ended(self) -> list[CallRecord]:
        return [c.record for c in self.changes if isinstance(c, CallEnded)]

    def links(self) -> list[bool]:
        return [c.up for c in self.changes if isinstance(c, LinkChanged)]


def simulator(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Simulator]:
    return running_simulator(replace(SimConfig.demo(), username="cti", secret=SECRET, **overrides))


@contextlib.asynccontextmanager
async def client(
    port: int, secret: str = SECRET, **config: Any
) -> AsyncIterator[tuple[AmiClient, Pipeline, Recorder]]:
    recorder = Recorder()
    pipeline = Pipeline(CtiState(), [recorder])
    ami = AmiClient(
        AmiConfig("127.0.0.1", port, "cti", secret, **config),
        pipeline.submit_message,
        pipeline.submit_event,
    )
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(ami.run())]
    try:
        yield ami, pipeline, recorder
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_login_and_resync_build_queues_and_agents() -> None:
    async with simulator() as sim, client(sim.port) as (ami, pipeline, recorder):
        await asyncio.wait_for(ami.first_login, 10)
        await wait_until(lambda: bool(pipeline.state.agents))
        assert {"support", "sales"} <= set(pipeline.state.queues)
        assert "SIP/1001" in pipeline.state.agents
        assert recorder.links() == [True]


async def test_wrong_secret_is_reported_with_user_host_and_port() -> None:
    async with simulator() as sim:
        pipeline = Pipeline(CtiState())
        ami = AmiClient(
            AmiConfig("127.0.0.1", sim.port, "cti", "wrong"),
            pipeline.submit_message,
            pipeline.submit_event,
            exit_on_auth_failure=True,
        )
        await asyncio.wait_for(ami.run(), 10)  # returns: fatal at startup
        with pytest.raises(AmiAuthError) as failure:
            ami.first_login.result()
        message = str(failure.value)
        assert "'cti'" in message and f"127.0.0.1:{sim.port}" in message
        assert "wrong" not in message  # the secret never reaches a message


async def test_reconnects_after_the_server_drops_the_connection() -> None:
    async with simulator() as sim, client(sim.port, backoff_initial=0.05) as (ami, _, recorder):
        await asyncio.wait_for(ami.first_login, 10)
        await sim.drop_clients()
        await wait_until(lambda: recorder.links() == [True, False, True])
        assert ami.stats.logins == 2


async def test_half_open_connection_is_detected_by_the_ping_watchdog() -> None:
    async with (
        simulator() as sim,
        client(sim.port, ping_interval=0.3, ping_timeout=0.3, backoff_initial=0.05) as (
            ami,
            _,
            recorder,
        ),
    ):
        await asyncio.wait_for(ami.first_login, 10)
        sim.freeze_clients()  # the socket stays open; nothing answers any more
        await wait_until(lambda: recorder.links()[-1:] == [False])
        assert ami.stats.ping_timeouts == 1
        await wait_until(lambda: recorder.links() == [True, False, True])  # a new connection


async def test_resync_mid_call_and_calls_that_ended_while_away() -> None:
    async with simulator() as sim:
        talking = await sim.place_call(
            number="905301110001",
            name="Zeynep Arslan",
            queue="support",
            consent="granted",
            answer_after=0.1,
            talk_s=30,
        )
        await wait_until(lambda: sim.is_answered(talking))
        async with client(sim.port, backoff_initial=1.0) as (ami, pipeline, recorder):
            await asyncio.wait_for(ami.first_login, 10)
            await wait_until(
                lambda: (
                    talking in pipeline.state.calls
                    and pipeline.state.calls[talking].agent is not None
                )
            )
            call = pipeline.state.calls[talking]
            assert (call.caller_name, call.queue) == ("Zeynep Arslan", "support")
            await sim.drop_clients()
            await sim.hangup(talking)  # ends while we are away
            await wait_until(lambda: bool(recorder.ended()), timeout=20)
            (record,) = recorder.ended()
            assert record.linkedid == talking
            assert record.ended_while_disconnected
            assert record.agent is not None and record.caller_name == "Zeynep Arslan"


async def test_a_failing_handler_does_not_kill_the_connection() -> None:
    async with simulator() as sim:
        pipeline = Pipeline(CtiState())
        seen: list[str] = []

        def flaky(message: dict[str, str], received_at: float) -> None:
            seen.append(message.get("Event", ""))
            if len(seen) == 1:
                raise RuntimeError("a bug in a handler")
            pipeline.submit_message(message, received_at)

        ami = AmiClient(
            AmiConfig("127.0.0.1", sim.port, "cti", SECRET), flaky, pipeline.submit_event
        )
        task = asyncio.create_task(ami.run())
        try:
            await asyncio.wait_for(ami.first_login, 10)
            await actions.ping(ami)
            assert ami.stats.sessions == 1 and ami.connected
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_actions_are_answered_or_refused_clearly() -> None:
    async with simulator() as sim, client(sim.port) as (ami, _, _):
        await asyncio.wait_for(ami.first_login, 10)
        await actions.queue_pause(ami, "SIP/1001", True, reason="Lunch")
        with pytest.raises(ActionFailed, match="Interface not found"):
            await actions.queue_pause(ami, "SIP/9999", True, queue="support")
        with pytest.raises(actions.UnsafeValue):
            await actions.queue_pause(ami, "SIP/1001\r\nAction: Hangup", True)
        with pytest.raises(ActionFailed, match="No such channel"):
            await actions.hangup(ami, "SIP/nosuch-00000001")


@pytest.mark.parametrize(
    "capture", ["basic-queue-calls.ami", "ring-no-answer.ami", "login-snapshot-midcall.ami"]
)
async def test_a_capture_over_tcp_yields_what_the_offline_replay_yields(
    captures: Path, capture: str
) -> None:
    expected, _ = replay(capture_bytes(captures / capture))
    server = CaptureServer(captures / capture, speed=0, chunk_size=7, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with client(server.port) as (_, _, recorder):
            await wait_until(lambda: len(recorder.ended()) == len(expected))
            got = recorder.ended()
    finally:
        await server.stop()
    # Live, untimestamped snapshot items get the receive time instead of an estimate.
    strip = lambda r: replace(r, started_at=None, queued_at=None)  # noqa: E731
    assert [strip(r) for r in got] == [strip(r) for r in expected]


async def test_the_socket_is_read_into_the_connections_own_buffer_and_frames_survive_it() -> None:
    # asyncio's plain reads allocate 256 KiB each and glibc kept the holes (bench/soak.py's
    # RSS growth): the protocol reads into one buffer of its own, so what it keeps of a frame
    # not ended yet must be a copy, or the next read overwrites it.
    got: list[dict[str, str]] = []
    protocol = CtiAmiProtocol(lambda message, _: got.append(dict(message)), lambda _: None)
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
    try:
        first = b"Event: QueueCallerJoin\r\nQueue: support\r\nCallerIDNum: 905321112233\r\n\r\n"
        second = b"Event: QueueCallerLeave\r\nQueue: sales\r\nCallerIDNum: 904441234567\r\n\r\n"
        theirs.sendall(b"Asterisk Call Manager/9.0.0\r\n" + first[:30])
        await wait_until(lambda: len(protocol._splitter._tail) > 0)  # a frame's beginning, kept
        theirs.sendall(first[30:] + second)
        await wait_until(lambda: len(got) == 2)
        assert [(m["Event"], m["Queue"], m["CallerIDNum"]) for m in got] == [
            ("QueueCallerJoin", "support", "905321112233"),
            ("QueueCallerLeave", "sales", "904441234567"),
        ]
        # asyncio reads into get_buffer's for a BufferedProtocol only: one, allocated once
        assert isinstance(protocol, asyncio.BufferedProtocol)
        assert protocol.get_buffer(-1) is protocol.get_buffer(65536)
    finally:
        transport.close()
        theirs.close()
