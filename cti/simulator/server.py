"""The simulator's AMI server: TCP sessions, Login, actions, and the event broadcast.

Each client connection is a ``_Session`` with its own reader task. Until it logs in, a
session may only send Login or Logoff (Asterisk answers anything else with "Permission
denied"). A wrong secret is answered with ``Authentication failed`` and the connection is
closed, exactly as in ``tests/captures/login-failure.ami``. Logged-in sessions that
asked for events receive every event the ``Pbx`` emits. A client that stops reading is
disconnected once its send buffer passes ``MAX_BUFFER`` (Asterisk's writetimeout does the
same), so one stuck client never slows the PBX down.

For tests, ``drop_clients`` closes every connection (Asterisk restarting),
``freeze_clients`` stops answering while keeping the sockets open (a half-open link), and
``core_restart`` plays what AMI clients see of ``core restart now``: logins are taken before
app_queue is loaded, so its actions are unknown commands until FullyBooted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from cti.simulator import ami_actions, atxfer, originate, transfer
from cti.simulator.config import OutboundBehaviour, SimConfig
from cti.simulator.model import CallSpec
from cti.simulator.pbx import Pbx
from cti.simulator.wire import BANNER, Fields, Frame, encode, parse_action, response

log = logging.getLogger(__name__)

MAX_BUFFER = 8 * 1024 * 1024
MAX_ACTION = 64 * 1024
# Actions of app_queue: while Asterisk boots they do not exist yet.
APP_QUEUE_ACTIONS = frozenset(
    {"queuestatus", "queuesummary", "queuepause", "queueadd", "queueremove"}
)


class _Session:
    def __init__(
        self, server: Simulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.events = True
        self.frozen = False

    def send(self, data: bytes) -> None:
        if self.frozen or self.writer.is_closing():
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_BUFFER:
            log.warning("simulator: client stopped reading; disconnecting it")
            transport.abort()
            return
        self.writer.write(data)

    def reply(self, *frames: Frame) -> None:
        self.send(b"".join(encode(frame) for frame in frames))

    async def serve(self) -> None:
        self.send(BANNER)
        while True:
            try:
                frame = await self.reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                log.warning("simulator: action larger than %d bytes; disconnecting", MAX_ACTION)
                return
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if self.frozen:
                continue  # a half-open link: read and drop, answer nothing
            if not self.handle(parse_action(frame)):
                return

    def handle(self, action: Fields) -> bool:
        """Answer one action; False ends the session."""
        name = action.get("Action", "").lower()
        action_id = action.get("ActionID")
        if name == "login":
            return self.login(action_id, action)
        if name == "logoff":
            self.reply(
                response(action_id, False, "Thanks for all the fish.") | {"Response": "Goodbye"}
            )
            return False
        if not self.authenticated:
            self.reply(response(action_id, False, "Permission denied"))
            return True
        pbx = self.server.pbx
        if name in APP_QUEUE_ACTIONS and not self.server.fully_booted:
            self.server.refused_while_booting += 1
            self.reply(_unknown_command(action_id, action))
        elif name == "ping":
            self.reply(response(action_id, True, None, Ping="Pong", Timestamp=f"{time.time():.6f}"))
        elif name in _LISTS:
            self.reply(*_LISTS[name](pbx, action_id, action))
        elif name in _ACTIONS:
            self.reply(_ACTIONS[name](pbx, action_id, action))
        else:
            self.reply(_unknown_command(action_id, action))
        return True

    def login(self, action_id: str | None, action: Fields) -> bool:
        config = self.server.config
        if action.get("Username") != config.username or action.get("Secret") != config.secret:
            self.reply(response(action_id, False, "Authentication failed"))
            return False  # Asterisk closes the connection after a failed login
        self.authenticated = True
        self.events = action.get("Events", "on").lower() not in ("off", "no", "0")
        self.reply(response(action_id, True, "Authentication accepted"))
        if not self.server.fully_booted:  # FullyBooted comes to every session at boot's end
            self.server.boot_after_login()
        elif self.events:
            uptime = str(self.server.uptime())
            self.reply(
                {
                    "Event": "FullyBooted",
                    "Privilege": "system,all",
                    "Uptime": uptime,
                    "LastReload": uptime,
                    "Status": "Fully Booted",
                }
            )
        return True


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def _unknown_command(action_id: str | None, action: Fields) -> Fields:
    return response(
        action_id,
        False,
        f"Invalid/unknown command: {action.get('Action', '')}. "
        "Use Action: ListCommands to show available commands.",
    )


Handler = Callable[[Pbx, str | None, Fields], Fields]
ListHandler = Callable[[Pbx, str | None, Fields], list[Frame]]

_ACTIONS: dict[str, Handler] = {
    "queuepause": lambda pbx, aid, a: ami_actions.queue_pause(
        pbx,
        aid,
        a.get("Interface", ""),
        _flag(a.get("Paused")),
        a.get("Queue", ""),
        a.get("Reason", ""),
    ),
    "queueadd": lambda pbx, aid, a: ami_actions.queue_add(
        pbx,
        aid,
        a.get("Queue", ""),
        a.get("Interface", ""),
        a.get("MemberName", ""),
        int(a.get("Penalty") or 0),
        _flag(a.get("Paused")),
        a.get("StateInterface", ""),
    ),
    "queueremove": lambda pbx, aid, a: ami_actions.queue_remove(
        pbx, aid, a.get("Queue", ""), a.get("Interface", "")
    ),
    "redirect": lambda pbx, aid, a: ami_actions.redirect(
        pbx, aid, a.get("Channel", ""), a.get("Context", ""), a.get("Exten", "")
    ),
    "setvar": lambda pbx, aid, a: ami_actions.setvar(
        pbx, aid, a.get("Channel", ""), a.get("Variable", ""), a.get("Value", "")
    ),
    "originate": originate.originate,
    "blindtransfer": transfer.blind_transfer,
    "atxfer": atxfer.atxfer,
    "cancelatxfer": atxfer.cancel_atxfer,
    "mixmonitormute": lambda pbx, aid, a: ami_actions.mixmonitor_mute(
        pbx, aid, a.get("Channel", ""), a.get("State", "")
    ),
}

_LISTS: dict[str, ListHandler] = {
    "queuestatus": lambda pbx, aid, a: ami_actions.queue_status(pbx, aid, a.get("Queue", "")),
    "queuesummary": lambda pbx, aid, a: ami_actions.queue_summary(pbx, aid, a.get("Queue", "")),
    "coreshowchannels": lambda pbx, aid, a: ami_actions.core_show_channels(pbx, aid),
    # One response for a channel by name, a list for a /regex/.
    "hangup": lambda pbx, aid, a: ami_actions.hangup(pbx, aid, a.get("Channel", "")),
    # Variables: names separated by commas (manager.c splits them as dialplan arguments).
    "status": lambda pbx, aid, a: ami_actions.status(
        pbx, aid, [v.strip() for v in a.get("Variables", "").split(",") if v.strip()]
    ),
}


class Simulator:
    """The PBX simulator: ``await start()``, then connect an AMI client to ``port``."""

    def __init__(self, config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._port = port
        self.pbx = Pbx(config, self._broadcast)
        self.sessions: set[_Session] = set()
        self.started = 0.0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._traffic: asyncio.Task[None] | None = None
        # Booting after core_restart(): app_queue not loaded, no FullyBooted at login.
        self.fully_booted = True
        self.refused_while_booting = 0  # app_queue actions answered as unknown meanwhile
        self._boot_after_login_s: float | None = None
        self._boot: asyncio.TimerHandle | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self.started = asyncio.get_running_loop().time()
        await self.go_online()

    async def stop(self) -> None:
        if self._boot is not None:
            self._boot.cancel()
        if self._traffic is not None:
            self._traffic.cancel()
            await asyncio.gather(self._traffic, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        await self.drop_clients()
        await self.pbx.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await session.serve()
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self.sessions.discard(session)
            if task is not None:
                self._handlers.discard(task)
            writer.transport.abort()

    def _broadcast(self, frame: bytes) -> None:
        for session in list(self.sessions):
            if session.authenticated and session.events:
                session.send(frame)

    # --- traffic ------------------------------------------------------------------------

    def start_traffic(self) -> None:
        """Poisson arrivals at ``config.arrival_rate`` calls per second, until stop()."""
        if self._traffic is None and self.config.arrival_rate > 0:
            self._traffic = asyncio.get_running_loop().create_task(self._arrivals())

    async def _arrivals(self) -> None:
        rng = self.pbx.rng
        while True:
            await asyncio.sleep(rng.expovariate(self.config.arrival_rate))
            self.pbx.place_call(self.pbx.random_call())

    async def place_call(
        self,
        number: str,
        name: str,
        queue: str,
        consent: str | None = None,
        answer_after: float | None = 2.0,
        talk_s: float = 20.0,
        patience_s: float | None = None,
    ) -> str:
        """One call now, with every choice made by the caller of this method (for tests);
        ``queue`` names a queue or a route point (the call dials its DID);
        ``answer_after=None`` rings until ``answer()`` or the ring timeout."""
        self.config.destination(queue)  # a clear error for one the simulator does not have
        return self.pbx.place_call(
            CallSpec(number, name, queue, consent, answer_after, talk_s, patience_s)
        )

    def answer(self, linkedid: str, interface: str | None = None) -> bool:
        """Answer a ringing call now: a queue member's ring or a route point's Dial."""
        return self.pbx.answer(linkedid, interface)

    def is_answered(self, linkedid: str) -> bool:
        return self.pbx.is_answered(linkedid)

    def set_phone(self, device: str, answers: bool) -> None:
        """From now on the phone ``device`` (a member's state interface) answers when it
        rings, or rings until app_queue or the Dial gives up on it."""
        self.pbx.set_phone(device, answers)

    def set_customer(self, number: str, behaviour: OutboundBehaviour | None) -> None:
        """From now on an agent's outbound call to ``number`` meets ``behaviour`` (answered,
        busy, ...); None: an outcome drawn by ``config.outbound``'s rates again."""
        self.pbx.set_customer(number, behaviour)

    async def hangup(self, linkedid: str, by: str = "caller") -> None:
        """The caller's phone (``caller``; an outbound call's customer) or the agent's
        (``agent``) hangs up the call ``linkedid``. During an agent's attended transfer the
        agent's phone is theirs until it completes, the consulted agent's after."""
        self.pbx.hangup(linkedid, by)
        await asyncio.sleep(0)  # let the call's task emit its hangup events

    # --- faults, for tests ----------------------------------------------------------------

    async def drop_clients(self) -> None:
        for session in list(self.sessions):
            session.writer.transport.abort()
        handlers = list(self._handlers)
        if handlers:
            await asyncio.wait(handlers, timeout=2)

    async def go_offline(self) -> None:
        """Close the AMI port and drop every session, as an Asterisk restart would; calls
        in progress carry on inside the PBX. ``go_online`` listens on the same port again."""
        self._port = self.port
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.drop_clients()

    async def go_online(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, self.host, self._port, limit=MAX_ACTION
            )

    def freeze_clients(self) -> None:
        for session in self.sessions:
            session.frozen = True

    def answer_originated(self, device: str) -> bool:
        """The phone ``device`` (e.g. SIP/1009) answers the call an Originate placed to it."""
        return originate.answer_originated(self.pbx, device)

    async def core_restart(
        self, boot_after_login_s: float | None = 0.2, drop_sessions: bool = True
    ) -> None:
        """What AMI clients see of ``core restart now``: a Shutdown event, every session
        dropped (``drop_sessions=False`` keeps them open, as Asterisk does for a moment while
        it shuts down: a client must leave by itself), and the manager takes logins again
        before app_queue is loaded, so QueueStatus and the other queue actions are unknown
        commands and no FullyBooted is sent at login. Booting ends ``boot_after_login_s``
        after the next login, or at ``finish_boot()`` when None; then every session gets
        FullyBooted. (Calls in progress carry on inside the PBX.)"""
        self.pbx.emit("Shutdown", "system,all", {"Shutdown": "Cleanly", "Restart": "True"})
        self.fully_booted = False
        self._boot_after_login_s = boot_after_login_s
        if drop_sessions:
            await self.drop_clients()

    def boot_after_login(self) -> None:
        """A login while booting: the first one starts the clock of ``core_restart``."""
        if self._boot is None and self._boot_after_login_s is not None:
            self._boot = asyncio.get_running_loop().call_later(
                self._boot_after_login_s, self.finish_boot
            )

    def finish_boot(self) -> None:
        """Every module is loaded: FullyBooted to every session, as Asterisk broadcasts it."""
        if self._boot is not None:
            self._boot.cancel()
            self._boot = None
        if self.fully_booted:
            return
        self.fully_booted = True
        uptime = str(self.uptime())
        self.pbx.emit(
            "FullyBooted",
            "system,all",
            {"Status": "Fully Booted", "Uptime": uptime, "LastReload": uptime},
        )

    def uptime(self) -> int:
        return int(asyncio.get_running_loop().time() - self.started)
