"""An independent AMI reader: what Asterisk sent, read with none of the daemon's code.

The tier compares the daemon's call log with Asterisk's own records; this reader is one of
them (with queue_log and the CDR events of cdr_manager). It keeps every event in arrival
order, as plain dicts (a repeated key keeps its last value), and can send actions.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

Event = dict[str, str]


class RawAmi:
    def __init__(self, host: str, port: int, username: str, secret: str) -> None:
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.events: list[Event] = []
        self.raw = bytearray()  # every byte received, banner included, as Asterisk sent it
        self._answers: dict[str, asyncio.Future[Event]] = {}
        self._ids = itertools.count(1)
        self._reader_task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._changed = asyncio.Event()

    async def connect(self) -> None:
        reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.raw += await reader.readline()  # the banner
        self._reader_task = asyncio.create_task(self._read(reader), name="raw-ami-reader")
        answer = await self.action("Login", Username=self.username, Secret=self.secret)
        if answer.get("Response") != "Success":
            raise RuntimeError(f"raw AMI login refused: {answer}")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            await asyncio.gather(self._reader_task, return_exceptions=True)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        block: Event = {}
        while True:
            line = await reader.readline()
            self.raw += line
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                block[key] = value
                continue
            if "Response" in block and block.get("ActionID") in self._answers:
                future = self._answers.pop(block["ActionID"])
                if not future.done():
                    future.set_result(block)
            elif "Event" in block:
                self.events.append(block)
                self._changed.set()
            block = {}

    async def action(self, name: str, timeout: float = 10, **fields: Any) -> Event:
        assert self._writer is not None
        action_id = f"raw-{next(self._ids)}"
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._answers[action_id] = future
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await asyncio.wait_for(future, timeout)

    def named(self, name: str, **match: str) -> list[Event]:
        return [
            e
            for e in self.events
            if e.get("Event") == name and all(e.get(k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, test: Callable[[list[Event]], Any], what: str, timeout: float = 60
    ) -> Any:
        """Wait until ``test(events)`` is truthy and return its value."""

        async def loop() -> Any:
            while True:
                found = test(self.events)
                if found:
                    return found
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(loop(), timeout)
        except TimeoutError:
            names = [e.get("Event") for e in self.events[-40:]]
            raise AssertionError(
                f"{what}: not seen within {timeout} s; last events {names}"
            ) from None
