"""Serve a real AMI capture to a client over TCP, as the Asterisk that produced it would.

The capture's answers carry the capturing client's ActionIDs (``login-1``, ``qs-1``, …; its
``#>>`` annotation lines say which action each belongs to). A different client uses its own
ActionIDs, so each answer waits until this client has sent the same kind of action and is
re-labelled with its ActionID; answers to actions this client never sends are left out, as
Asterisk would never have sent them. Everything else goes out byte for byte, in order, in
``chunk_size`` pieces (to exercise split frames and split UTF-8 characters), paced by the
events' ``Timestamp`` divided by ``speed`` (``speed=0``: as fast as the socket takes it).
After the capture, Pings are still answered so the client's watchdog keeps the link. An
action the capture holds no answer of (the client's Status, which the capturing client never
sent) is refused with an error at once: the capture cannot tell what Asterisk would have said.
Those answers go out between the capture's frames, never inside one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import defaultdict
from pathlib import Path

from cti.replay import ANNOTATION, read_capture
from cti.simulator.wire import BANNER, encode, parse_action, response

_ANNOTATED = re.compile(rb"Action: (\w+)\\r\\nActionID: ([^\\]+)\\r\\n")
_ACTION_ID = re.compile(rb"^ActionID: (.*)$", re.MULTILINE)
_TIMESTAMP = re.compile(rb"^Timestamp: ([0-9.]+)\r$", re.MULTILINE)
ACTION_GRACE_S = 1.0  # how long an answer waits for the client to send its action


def load_capture(path: Path) -> tuple[list[bytes], dict[bytes, str]]:
    """The capture's frames (after the banner) and which action each ActionID answered."""
    data = read_capture(path)
    actions: dict[bytes, str] = {}
    while data.startswith(ANNOTATION):
        line, _, data = data.partition(b"\n")
        for name, action_id in _ANNOTATED.findall(line):
            actions[action_id] = name.decode()
    if data.startswith(BANNER):
        data = data[len(BANNER) :]
    frames = [frame + b"\r\n\r\n" for frame in data.split(b"\r\n\r\n") if frame]
    for frame in frames:  # the login answer is not annotated: the client sent it first
        match = _ACTION_ID.search(frame)
        if match and b"Message: Authentication" in frame:
            actions.setdefault(match.group(1).rstrip(b"\r"), "Login")
    return frames, actions


class CaptureServer:
    def __init__(
        self,
        path: Path,
        speed: float = 1.0,
        chunk_size: int = 65536,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.frames, self.actions = load_capture(path)
        self.speed = speed
        self.chunk_size = chunk_size
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._frame_lock = asyncio.Lock()  # one frame at a time on the wire

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        sent: defaultdict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)
        listener = asyncio.create_task(self._listen(reader, writer, sent))
        try:
            await self._send(writer, BANNER)
            await self._play(writer, sent)
            await listener
        except ConnectionError:
            pass
        finally:
            listener.cancel()
            self._connections.discard(writer)
            writer.transport.abort()

    async def _listen(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sent: defaultdict[str, asyncio.Queue[str]],
    ) -> None:
        captured = {name.lower() for name in self.actions.values()}
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                action = parse_action(await reader.readuntil(b"\r\n\r\n"))
                name, action_id = action.get("Action", ""), action.get("ActionID", "")
                if name.lower() == "ping":
                    await self._send(
                        writer,
                        encode(
                            response(
                                action_id, True, None, Ping="Pong", Timestamp=f"{time.time():.6f}"
                            )
                        ),
                    )
                elif name.lower() not in captured:
                    await self._send(
                        writer, encode(response(action_id, False, f"Not in this capture: {name}"))
                    )
                else:
                    sent[name.lower()].put_nowait(action_id)

    async def _play(
        self, writer: asyncio.StreamWriter, sent: defaultdict[str, asyncio.Queue[str]]
    ) -> None:
        relabel: dict[bytes, bytes | None] = {}  # capture ActionID -> the client's, or drop
        previous_ts: float | None = None
        for frame in self.frames:
            match = _ACTION_ID.search(frame)
            if match is not None:
                theirs = match.group(1).rstrip(b"\r")
                if theirs not in relabel:
                    relabel[theirs] = await self._client_id(sent, self.actions.get(theirs))
                ours = relabel[theirs]
                if ours is None:
                    continue
                frame = frame.replace(b"ActionID: " + theirs, b"ActionID: " + ours, 1)
            stamp = _TIMESTAMP.search(frame)
            if stamp is not None and self.speed > 0:
                ts = float(stamp.group(1))
                if previous_ts is not None and ts > previous_ts:
                    await asyncio.sleep((ts - previous_ts) / self.speed)
                previous_ts = ts
            await self._send(writer, frame)

    async def _client_id(
        self, sent: defaultdict[str, asyncio.Queue[str]], action: str | None
    ) -> bytes | None:
        if action is None:
            return None
        try:
            ours = await asyncio.wait_for(sent[action.lower()].get(), ACTION_GRACE_S)
        except TimeoutError:
            return None
        return ours.encode()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Whole frames only: a reply from the listener must not land inside one."""
        async with self._frame_lock:
            for start in range(0, len(data), self.chunk_size):
                writer.write(data[start : start + self.chunk_size])
                await writer.drain()
