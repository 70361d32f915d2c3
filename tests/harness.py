"""The live daemon's parts shared by component and browser tests (fixture in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from cti.app import create_app
from cti.auth.users import set_user
from cti.keys import DATABASE, STATE
from cti.settings import Settings
from cti.simulator import MemberConfig, QueueConfig, SimConfig, Simulator
from cti.simulator.wire import BANNER, encode, parse_action, response
from cti.state.changes import CallEnded, CallRecord, Change

# --- the whole daemon, live: simulator + database + panel --------------------------------

PASSWORD = "correct horse battery"
TEST_USERS = (  # username, display name, role, phones
    ("agent1", "Ayla Demir", "agent", ("SIP/1001",)),
    ("agent2", "Burak Kaya", "agent", ("SIP/1002",)),
    ("boss", "Selin Aydın", "supervisor", ("SIP/1009",)),  # her phone, for listening in
    ("root", "Admin", "admin", ()),
)


@dataclass
class Daemon:
    """A running daemon: its panel at ``url``, its PBX ``sim``, its users (PASSWORD)."""

    url: str
    sim: Simulator
    app: web.Application
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)


def frames(data: bytes) -> list[dict[str, str]]:
    """AMI frames as the wire carries them, each a dict in field order (a repeated key keeps
    its last value; the banner line, which has no ": ", is no field)."""
    out = []
    for block in data.split(b"\r\n\r\n"):
        fields = {}
        for line in block.decode().split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep:
                fields[key] = value
        if fields:
            out.append(fields)
    return out


Frame = dict[str, str]
RAW_WAIT_S = 10.0  # generous: a wait for an event, never a measure of speed


class RawAmi:
    """A raw AMI client: every frame the simulator sends, in order, and actions."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames: list[Frame] = []
        self._arrived = asyncio.Event()
        self._ids = iter(range(1, 1_000_000))
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def login(cls, port: int, username: str = "cti", secret: str = "cti-secret") -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()  # the banner
        ami = cls(reader, writer)
        answer = await ami.action(Action="Login", Username=username, Secret=secret)
        assert answer["Response"] == "Success", answer
        return ami

    @classmethod
    @asynccontextmanager
    async def logged_in(
        cls, port: int, username: str = "cti", secret: str = "cti-secret"
    ) -> AsyncIterator[RawAmi]:
        ami = await cls.login(port, username, secret)
        try:
            yield ami
        finally:
            await ami.close()

    async def _read(self) -> None:
        while True:
            self.frames.extend(frames(await self.reader.readuntil(b"\r\n\r\n")))
            self._arrived.set()

    async def wait(self, match: Callable[[Frame], bool], start: int = 0) -> int:
        """The index of the first frame from ``start`` on that matches; waits for it."""

        async def first() -> int:
            while True:
                for index in range(start, len(self.frames)):
                    if match(self.frames[index]):
                        return index
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(first(), RAW_WAIT_S)

    async def event(self, name: str, start: int = 0, **fields: str) -> int:
        return await self.wait(
            lambda f: f.get("Event") == name and all(f.get(k) == v for k, v in fields.items()),
            start,
        )

    async def action(self, **fields: str) -> Frame:
        action_id = f"t{next(self._ids)}"
        lines = [f"{k}: {v}\r\n" for k, v in {**fields, "ActionID": action_id}.items()]
        self.writer.write("".join(lines).encode() + b"\r\n")
        index = await self.wait(lambda f: f.get("ActionID") == action_id and "Response" in f)
        return self.frames[index]

    def of(self, linkedid: str, start: int = 0) -> list[Frame]:
        """This call's events (the caller's and its legs'), from ``start`` on."""
        return [
            f for f in self.frames[start:] if linkedid in (f.get("Linkedid"), f.get("DestLinkedid"))
        ]

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.writer.close()


class Recorder:
    """A pipeline sink that keeps every change; the calls that ended, by Linkedid."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def offer(self, changes: Any) -> None:
        self.changes.extend(changes)

    def ended(self) -> dict[str, CallRecord]:
        return {c.record.linkedid: c.record for c in self.changes if isinstance(c, CallEnded)}


async def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` until it holds (the test fails with TimeoutError otherwise)."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@asynccontextmanager
async def running_simulator(config: SimConfig) -> AsyncIterator[Simulator]:
    """The simulator with ``config`` on a free port, stopped afterwards."""
    sim = Simulator(config, host="127.0.0.1", port=0)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def live_sim_config() -> SimConfig:
    """Both support phones ring at once (ringall), so a pop can be taken by one agent and
    withdrawn from the other; calls wait for the test to answer them."""
    support = QueueConfig(
        "support",
        "4440",
        (MemberConfig("SIP/1001", "Agent 1001"), MemberConfig("SIP/1002", "Agent 1002")),
        "ringall",
        consent="explicit",
        ring_timeout_s=60,
    )
    sales = QueueConfig(
        "sales",
        "4441",
        (MemberConfig("SIP/1003", "Agent 1003"),),
        "rrmemory",
        consent="implied",
        ring_timeout_s=60,
    )
    return SimConfig(
        queues=(support, sales),
        username="cti",
        secret="sim-secret",
        announcement_s=0.05,
        arrival_rate=0,
    )


async def signed_in(daemon: Daemon, username: str) -> tuple[aiohttp.ClientSession, str]:
    # unsafe=True: keep cookies of an IP-address host (127.0.0.1), as a browser does.
    session = aiohttp.ClientSession(daemon.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post("/api/login", json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
    async with session.get("/api/me") as r:
        csrf = (await r.json())["csrf"]
    return session, csrf


async def posted(daemon: Daemon, username: str, path: str, body: object) -> tuple[int, Any]:
    """POST ``body`` to ``path`` as ``username`` (with the session's CSRF token): the status
    and the answer (JSON, else text)."""
    session, csrf = await signed_in(daemon, username)
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with session, session.post(path, headers=headers, json=body) as r:
        return r.status, await (r.json() if r.content_type == "application/json" else r.text())


async def handled_call(daemon: Daemon, interface: str, consent: str = "granted") -> str:
    """A support call answered at ``interface`` and hung up; returns once it is logged."""
    sim, state = daemon.sim, daemon.app[STATE]
    linkedid = await sim.place_call(
        "905321112233", "Fatma Demir", "support", consent=consent, answer_after=None
    )
    while linkedid not in state.calls or interface not in state.calls[linkedid].ringing:
        await asyncio.sleep(0.02)
    assert sim.answer(linkedid, interface)
    while state.calls[linkedid].agent != interface:
        await asyncio.sleep(0.02)
    await sim.hangup(linkedid)
    pool = await daemon.app[DATABASE].pool()
    while not await pool.fetchval("SELECT count(*) FROM calls WHERE linkedid = $1", linkedid):
        await asyncio.sleep(0.05)
    return linkedid


async def answered(daemon: Daemon, number: str, interface: str) -> str:
    """A support call ``interface`` answered, the daemon following it; returns its Linkedid."""
    sim, state = daemon.sim, daemon.app[STATE]
    linkedid = await sim.place_call(number, "Ece Tan", "support", answer_after=None, talk_s=60)
    await wait_until(lambda: sim.answer(linkedid, interface))
    await wait_until(lambda: linkedid in state.calls and state.calls[linkedid].agent == interface)
    return linkedid


async def logged_row(daemon: Daemon, linkedid: str) -> Any:
    """The call-log row of the call, once it has ended."""
    pool = await daemon.app[DATABASE].pool()
    row = None
    while row is None or row["ended_at"] is None:
        row = await pool.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)
        await asyncio.sleep(0.05)
    return row


@asynccontextmanager
async def running_daemon(
    database_url: str, data_dir: Path, sim_config: SimConfig | None = None, **settings: Any
) -> AsyncIterator[Daemon]:
    """The simulator (``live_sim_config`` unless given), then the daemon on a free port with
    the test users; ``settings`` override the daemon's settings."""
    config = sim_config or live_sim_config()
    sim = Simulator(replace(config, recordings_dir=data_dir / "recordings"), port=0)
    await sim.start()
    try:
        async with daemon_on(sim, database_url, data_dir, **settings) as daemon:
            yield daemon
    finally:
        await sim.stop()


@asynccontextmanager
async def daemon_on(
    sim: Simulator, database_url: str, data_dir: Path, **settings: Any
) -> AsyncIterator[Daemon]:
    """The daemon alone, for a simulator the test runs (and may keep running after it)."""

    async def users_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await app[DATABASE].pool()
        for username, name, role, phones in TEST_USERS:
            await set_user(pool, username, name, role, PASSWORD, phones)
        yield

    port = free_port()
    config = Settings(
        ami_port=sim.port,
        ami_username="cti",
        ami_secret="sim-secret",
        http_port=port,
        database_url=database_url,
        data_dir=data_dir,
        **settings,
    )
    app = create_app(config, after=[users_ctx])
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield Daemon(
            f"http://127.0.0.1:{port}", sim, app, {u: phones for u, _, _, phones in TEST_USERS}
        )
    finally:
        await runner.cleanup()


async def next_message(
    ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 10
) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            message = json.loads((await ws.receive()).data)
            if message.get("type") == kind:
                return message  # type: ignore[no-any-return]

    return await asyncio.wait_for(read(), timeout)


# --- a scripted AMI peer ------------------------------------------------------------------

# What a session plays: bytes to send, in order; None drops the connection at that point.
Play = Callable[[int], AsyncIterator[bytes | None]]
_LISTS = {
    "queuestatus": "QueueStatusComplete",
    "coreshowchannels": "CoreShowChannelsComplete",
    "status": "StatusComplete",
}


class ScriptedAmi:
    """A minimal Asterisk on a free port, for tests that choose every byte the client reads.
    Each connection (session 1, 2, ...) opens with ``banner(session)``; any login succeeds and
    FullyBooted follows; the resync lists (QueueStatus, CoreShowChannels, Status) are answered
    empty, Pings with a Pong, anything else with an error. Once Status is answered, whatever
    ``play(session)`` yields is sent (a None drops the connection); afterwards the session
    stays open, answering, until the client leaves."""

    def __init__(self, play: Play, banner: Callable[[int], bytes] = lambda session: BANNER) -> None:
        self.play = play
        self.banner = banner
        self.sessions = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> ScriptedAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.sessions += 1
        session = self.sessions
        lock = asyncio.Lock()  # one frame at a time on the wire
        resynced = asyncio.Event()
        listener = asyncio.create_task(self._listen(reader, writer, lock, resynced))
        try:
            writer.write(self.banner(session))
            await writer.drain()
            waiting = asyncio.create_task(resynced.wait())
            await asyncio.wait({listener, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if resynced.is_set():
                async for data in self.play(session):
                    if data is None:
                        return
                    async with lock:
                        writer.write(data)
                        await writer.drain()
            await listener
        except ConnectionError:
            pass
        finally:
            listener.cancel()
            writer.transport.abort()
            self._tasks.discard(task)

    async def _listen(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        lock: asyncio.Lock,
        resynced: asyncio.Event,
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                action = parse_action(await reader.readuntil(b"\r\n\r\n"))
                name, action_id = action.get("Action", "").lower(), action.get("ActionID", "")
                if name == "login":
                    out = encode(response(action_id, True, "Authentication accepted"))
                    out += encode(
                        {
                            "Event": "FullyBooted",
                            "Privilege": "system,all",
                            "Status": "Fully Booted",
                        }
                    )
                elif name == "ping":
                    out = encode(response(action_id, True, None, Ping="Pong"))
                elif name in _LISTS:
                    out = encode(response(action_id, True, "List will follow", EventList="start"))
                    out += encode(
                        {
                            "Event": _LISTS[name],
                            "ActionID": action_id,
                            "EventList": "Complete",
                            "ListItems": "0",
                        }
                    )
                else:
                    out = encode(response(action_id, False, f"Not scripted: {name}"))
                async with lock:
                    writer.write(out)
                    await writer.drain()
                if name == "status":
                    resynced.set()


async def ready(url: str) -> bool:
    """The daemon at ``url`` answers /readyz with 200."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def poll(
    probe: Callable[[], Any], what: str, log: Path | None = None, timeout: float = 60.0
) -> None:
    """Wait until the coroutine ``probe()`` returns true; on timeout, fail saying ``what``
    (and showing the daemon's ``log`` when there is one)."""

    async def loop() -> None:
        while not await probe():
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        shown = f"; daemon log:\n{log.read_text(errors='replace')}" if log else ""
        raise AssertionError(f"{what}: not within {timeout} s{shown}") from None


@asynccontextmanager
async def cti_serve_process(
    settings: dict[str, str], data_dir: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A real `cti serve` process with these CTI_* settings, on a free HTTP port, logging to
    ``data_dir``/daemon.log: (the process, its URL). Terminated afterwards if still running
    (a test may have killed it)."""
    port = free_port()
    env = os.environ | settings | {"CTI_HTTP_PORT": str(port), "CTI_DATA_DIR": str(data_dir)}
    with (data_dir / "daemon.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cti", "serve", env=env, stdout=log, stderr=log
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
