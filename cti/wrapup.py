"""Wrap-up after a queue call, held by the daemon: the agent finishes notes while Asterisk
offers them no new call.

When a queue call an agent answered ends, the agent is paused in every queue with the reason
``Wrap-up`` (``WRAP_UP_REASON``), which the state core shows as the wrap-up state. It ends
when the agent presses Ready (an unpause through the agent API) or, at the latest, after
``CTI_CENTER_WRAPUP_S`` seconds, when the daemon unpauses them if they are still in wrap-up.
An agent who paused for another reason meanwhile stays paused.

Asterisk may offer the next call in the moment between hangup and our QueuePause; queues.conf
``wrapuptime`` covers that gap (asterisk-conf/queues.conf).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from cti.ami.protocol import AmiError
from cti.state.agents import WRAP_UP_REASON
from cti.state.changes import AgentState, CallEnded, Change, Outcome
from cti.state.store import CtiState

log = logging.getLogger(__name__)

# pause(interface, paused, reason): QueuePause in every queue of the member.
Pause = Callable[[str, bool, str], Awaitable[None]]


class WrapUp:
    """A pipeline sink; each wrap-up is a task of its own, cancelled by ``close``."""

    def __init__(self, state: CtiState, pause: Pause, seconds: float) -> None:
        self.state = state
        self.pause = pause
        self.seconds = seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}  # by agent interface

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if not isinstance(change, CallEnded):
                continue
            record = change.record
            if record.agent and record.queue and record.outcome in (
                Outcome.ANSWERED, Outcome.TRANSFERRED
            ):
                self._start(record.agent)

    def _start(self, interface: str) -> None:
        agent = self.state.agents.get(interface)
        if agent is None or agent.derive_state(self.state.clock)[0] is AgentState.PAUSED:
            return  # already on a break of their own: leave it alone
        previous = self._tasks.pop(interface, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._wrap_up(interface))
        self._tasks[interface] = task
        task.add_done_callback(lambda done: self._forget(interface, done))

    def _forget(self, interface: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(interface) is task:
            del self._tasks[interface]

    def _still_wrapping_up(self, interface: str) -> bool:
        agent = self.state.agents.get(interface)
        return agent is not None and any(
            m.paused and m.paused_reason == WRAP_UP_REASON for m in agent.memberships.values())

    async def _wrap_up(self, interface: str) -> None:
        try:
            await self.pause(interface, True, WRAP_UP_REASON)
            await asyncio.sleep(self.seconds)
            if self._still_wrapping_up(interface):
                await self.pause(interface, False, "")
                log.info("%s: wrap-up ended after %.0f s", interface, self.seconds)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            log.warning("%s: wrap-up pause/unpause refused or failed (%s); the agent can "
                        "press Ready", interface, exc)  # fmt: skip

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
