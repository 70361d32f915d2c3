"""The AMI link against real TCP peers (the simulator): the reconnect backoff starts over
after a login, the resync waits for FullyBooted after ``core restart now`` and asks again for
a refused QueueStatus, and actions settle on Asterisk's first answer (an async Originate's
outcome comes later, as an event). No mocks; no timing asserts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from harness import running_simulator, wait_until

from cti.ami import actions
from cti.ami.connection import AmiClient, AmiConfig
from cti.ami.frames import Message
from cti.pipeline import Pipeline
from cti.simulator import SimConfig, Simulator
from cti.state.store import CtiState

SECRET = "s3cret"


def simulator(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Simulator]:
    return running_simulator(
        replace(SimConfig.demo(), username="cti", secret=SECRET, arrival_rate=0, **overrides)
    )


@dataclass
class Link:
    ami: AmiClient
    pipeline: Pipeline
    seen: list[Message] = field(default_factory=list)  # every message the client passed on

    def events(self, name: str) -> list[Message]:
        return [m for m in self.seen if m.get("Event") == name]


@contextlib.asynccontextmanager
async def link(port: int, **config: Any) -> AsyncIterator[Link]:
    pipeline = Pipeline(CtiState())
    seen: list[Message] = []

    def on_message(message: Message, received_at: float) -> None:
        seen.append(message)
        pipeline.submit_message(message, received_at)

    ami = AmiClient(
        AmiConfig("127.0.0.1", port, "cti", SECRET, **config), on_message, pipeline.submit_event
    )
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(ami.run())]
    try:
        yield Link(ami, pipeline, seen)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- the reconnect backoff --------------------------------------------------------------


async def test_the_backoff_starts_over_once_a_login_succeeds() -> None:
    initial = 0.01
    async with (
        simulator() as sim,
        link(sim.port, backoff_initial=initial, backoff_max=60.0) as live,
    ):
        ami = live.ami
        await asyncio.wait_for(ami.first_login, 10)
        await sim.go_offline()  # Asterisk away: connections are refused, the backoff grows
        await wait_until(lambda: ami.stats.sessions >= 8)  # 7 refused in a row
        assert ami.stats.reconnect_delay >= initial * 2**5  # 2**6 * jitter (0.5 to 1)
        await sim.go_online()
        await wait_until(lambda: ami.stats.logins == 2)
        assert ami.next_reconnect_delay() == initial  # what the next outage will start with
        await sim.drop_clients()  # the next outage
        await wait_until(lambda: ami.stats.logins == 3)
        # The delay before this reconnect started from the first step again.
        assert ami.stats.reconnect_delay <= initial


# --- FullyBooted and refused snapshots after `core restart now` ---------------------------


async def test_after_core_restart_the_resync_waits_for_fully_booted() -> None:
    async with simulator() as sim, link(sim.port, backoff_initial=0.01) as live:
        ami = live.ami
        await asyncio.wait_for(ami.first_login, 10)
        assert len(live.events("QueueStatusComplete")) == 1
        # Logins are taken again before app_queue is loaded; FullyBooted comes a moment later.
        await sim.core_restart(boot_after_login_s=0.3)
        await wait_until(lambda: len(live.events("QueueStatusComplete")) == 2)
        assert sim.refused_while_booting == 0  # no QueueStatus was sent before FullyBooted
        assert ami.stats.snapshots_refused == 0 and ami.stats.boot_waits_timed_out == 0
        assert (ami.stats.sessions, ami.stats.logins) == (2, 2)  # no session lost to it
        kinds = [
            m.get("Event")
            for m in live.seen
            if m.get("Event") in ("FullyBooted", "QueueStatusComplete")
        ]
        assert kinds == ["FullyBooted", "QueueStatusComplete"] * 2
        assert {"support", "sales"} <= set(live.pipeline.state.queues)


async def test_a_shutdown_event_ends_the_session_at_once() -> None:
    """Asterisk refuses every action while it shuts down (and logs an ERROR for each Ping):
    the client leaves on the Shutdown event instead of waiting to be dropped."""
    async with simulator() as sim, link(sim.port, backoff_initial=0.01) as live:
        ami = live.ami
        await asyncio.wait_for(ami.first_login, 10)
        await sim.core_restart(boot_after_login_s=0.05, drop_sessions=False)
        await wait_until(lambda: ami.stats.logins == 2)
        assert ami.stats.sessions == 2


async def test_a_refused_queue_status_is_asked_again_in_the_same_session() -> None:
    async with simulator() as sim:
        await sim.core_restart(boot_after_login_s=None)  # boots when this test says so
        async with link(
            sim.port, boot_timeout=0.05, snapshot_retry_delay=0.05, snapshot_attempts=1000
        ) as live:
            ami = live.ami
            # No FullyBooted (as for a user without read class system): after the bounded
            # wait the client asks, is refused, and asks again rather than seeing no queues.
            await wait_until(lambda: ami.stats.snapshots_refused >= 1)
            assert ami.stats.boot_waits_timed_out == 1 and not ami.first_login.done()
            assert live.events("QueueStatusComplete") == []
            sim.finish_boot()
            await asyncio.wait_for(ami.first_login, 10)
            assert (ami.stats.sessions, ami.stats.logins) == (1, 1)
            assert len(live.events("QueueStatusComplete")) == 1
            await wait_until(lambda: "SIP/1001" in live.pipeline.state.agents)


async def test_a_queue_status_refused_every_time_ends_the_session_after_a_few_tries() -> None:
    async with simulator() as sim:
        await sim.core_restart(boot_after_login_s=None)  # never boots
        async with link(
            sim.port,
            boot_timeout=0.01,
            snapshot_retry_delay=0.01,
            snapshot_attempts=3,
            backoff_initial=0.01,
        ) as live:
            ami = live.ami
            await wait_until(lambda: ami.stats.sessions >= 3)
            assert ami.stats.snapshots_refused >= 6  # 3 per ended session, then a new one
            assert sim.refused_while_booting >= ami.stats.snapshots_refused  # one may be on its way
            assert not ami.first_login.done()


# --- actions settle on the first answer -----------------------------------------------------


async def test_an_async_originate_is_settled_by_its_first_answer() -> None:
    async with simulator(originate_answer_s=None) as sim, link(sim.port) as live:
        await asyncio.wait_for(live.ami.first_login, 10)
        # Returns while the supervisor's phone still rings: nobody has answered it yet.
        await actions.spy(live.ami, "SIP/1009", "whisper", "PJSIP/1001")
        (leg,) = [c for c in sim.pbx.channels.values() if c.name.startswith("SIP/1009-")]
        assert (leg.context, leg.exten, leg.state) == ("cti-spy-whisper", "1001", 5)
        assert live.events("OriginateResponse") == []
        # The outcome comes later, as the event, once the phone answers.
        assert sim.answer_originated("SIP/1009")
        await wait_until(lambda: bool(live.events("OriginateResponse")))
        (outcome,) = live.events("OriginateResponse")
        assert (outcome["Response"], outcome["Channel"], outcome["Reason"]) == (
            "Success",
            leg.name,
            "4",
        )
        assert (leg.state, leg.application, leg.app_data) == (6, "ChanSpy", "PJSIP/1001-,qwE")


async def test_panoramisks_list_answer_to_an_originate_reads_as_its_first_message() -> None:
    # The phone answers at once, so the OriginateResponse follows the Response closely:
    # panoramisk, left to guess, waits for it and hands back both, as with a real Asterisk.
    async with simulator(originate_answer_s=0.0) as sim, link(sim.port) as live:
        await asyncio.wait_for(live.ami.first_login, 10)
        answer = await live.ami.send(
            {
                "Action": "Originate",
                "ActionID": "spy-1",
                "Channel": "SIP/1009",
                "Context": "cti-spy-barge",
                "Exten": "1001",
                "Priority": "1",
                "Async": "true",
            }
        )
        assert isinstance(answer, list)
        assert [(m.get("Event"), m.get("ActionID"), m.get("Response")) for m in answer] == [
            (None, "spy-1", "Success"),
            ("OriginateResponse", "spy-1", "Success"),
        ]
        first = actions.first_answer(answer)
        assert (first["Response"], first["Message"]) == ("Success", "Originate successfully queued")
        # Through actions it is settled by the first answer; the event goes on as an event.
        await actions.originate(live.ami, "SIP/1009", "cti-spy-listen", "1002")
        await wait_until(lambda: len(live.events("OriginateResponse")) == 1)
        assert live.events("OriginateResponse")[0]["Exten"] == "1002"


async def test_queue_add_is_settled_by_its_first_answer() -> None:
    # "Added interface to queue" made panoramisk wait for a second message that never comes.
    async with simulator() as sim, link(sim.port) as live:
        await asyncio.wait_for(live.ami.first_login, 10)
        await actions.queue_add(live.ami, "sales", "SIP/1009", "Selin Aydın")
        assert "SIP/1009" in sim.pbx.queues["sales"].members
        await actions.queue_remove(live.ami, "sales", "SIP/1009")
        assert "SIP/1009" not in sim.pbx.queues["sales"].members


# --- the watchdog and the resync --------------------------------------------------------


async def test_the_resync_is_applied_before_the_state_says_synced() -> None:
    async with simulator() as sim, link(sim.port) as live:
        await asyncio.wait_for(live.ami.first_login, 10)
        await wait_until(lambda: live.pipeline.state.synced)
        await sim.drop_clients()
        await wait_until(lambda: not live.pipeline.state.synced or live.ami.stats.logins > 1)
        await wait_until(lambda: live.ami.stats.logins == 2 and live.pipeline.state.synced)


async def test_a_peer_that_goes_silent_during_the_resync_is_dropped_by_the_ping_watchdog() -> None:
    """Asterisk answers the login, then nothing: not the snapshot lists, not Ping. The list
    deadline here is two minutes; the watchdog ends the session within one ping."""

    async def silent_after_login(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        frame = await reader.readuntil(b"\r\n\r\n")
        action_id = next(
            line.split(b": ", 1)[1] for line in frame.split(b"\r\n") if line.startswith(b"ActionID")
        )
        writer.write(
            b"Response: Success\r\nActionID: " + action_id + b"\r\n"
            b"Message: Authentication accepted\r\n\r\n"
            b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while await reader.read(4096):
                pass  # swallow every action
        writer.close()

    server = await asyncio.start_server(silent_after_login, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with link(
            port, action_timeout=30.0, ping_interval=0.2, ping_timeout=0.2, backoff_initial=5.0
        ) as live:
            await wait_until(lambda: live.ami.stats.ping_timeouts >= 1, timeout=30)
            assert live.ami.stats.logins >= 1 and not live.pipeline.state.synced
    finally:
        server.close()
        await server.wait_closed()
