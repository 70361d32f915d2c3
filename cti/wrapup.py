"""Wrap-up after a queue call, held by the daemon: the agent finishes notes while Asterisk
offers them no new call.

When a queue call an agent answered ends, the agent is paused in every queue with the reason
``Wrap-up`` (``WRAP_UP_REASON``), which the state core shows as the wrap-up state. It ends
when the agent presses Ready (an unpause through the agent API) or, at the latest, after the
call's queue's wrap-up time (``CTI_CENTER_WRAPUP_BY_QUEUE``, else ``CTI_CENTER_WRAPUP_S``),
when the daemon unpauses them if they are still in wrap-up. A queue given 0 s has no
wrap-up. An agent who paused for another reason meanwhile stays paused.

Asterisk may offer the next call in the moment between hangup and our QueuePause; queues.conf
``wrapuptime`` covers that gap (asterisk-conf/queues.conf).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from cti.ami.protocol import AmiError
from cti.state.agents import WRAP_UP_REASON
from cti.state.changes import AgentState, CallEnded, Change, Outcome
from cti.state.store import CtiState

log = logging.getLogger(__name__)

# pause(interface, paused, reason): QueuePause in every queue of the member.
Pause = Callable[[str, bool, str], Awaitable[None]]


def seconds_by_queue(items: Iterable[str]) -> dict[str, float]:
    """``("collections:60", "sales:10")`` -> ``{"collections": 60.0, "sales": 10.0}``."""
    seconds: dict[str, float] = {}
    for item in items:
        queue, _, value = (part.strip() for part in item.rpartition(":"))
        try:
            seconds[queue] = float(value)
        except ValueError:
            seconds[queue] = -1.0
        if not queue or not 0 <= seconds[queue] <= 3600:
            raise ValueError(f"{item!r}: write queue:seconds, seconds from 0 to 3600")
    return seconds


class WrapUp:
    """A pipeline sink; each wrap-up is a task of its own, cancelled by ``close``."""

    def __init__(self, state: CtiState, pause: Pause, seconds: float,
                 by_queue: Mapping[str, float] | None = None) -> None:  # fmt: skip
        self.state = state
        self.pause = pause
        self.seconds = seconds
        self.by_queue = dict(by_queue or {})
        self._tasks: dict[str, asyncio.Task[None]] = {}  # by agent interface

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if not isinstance(change, CallEnded):
                continue
            record = change.record
            if record.agent and record.queue and record.outcome in (
                Outcome.ANSWERED, Outcome.TRANSFERRED
            ):
                seconds = self.by_queue.get(record.queue, self.seconds)
                if seconds > 0:
                    self._start(record.agent, seconds)

    def _start(self, interface: str, seconds: float) -> None:
        agent = self.state.agents.get(interface)
        if agent is None or agent.derive_state(self.state.clock)[0] is AgentState.PAUSED:
            return  # already on a break of their own: leave it alone
        previous = self._tasks.pop(interface, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._wrap_up(interface, seconds))
        self._tasks[interface] = task
        task.add_done_callback(lambda done: self._forget(interface, done))

    def _forget(self, interface: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(interface) is task:
            del self._tasks[interface]

    def _still_wrapping_up(self, interface: str) -> bool:
        agent = self.state.agents.get(interface)
        return agent is not None and any(
            m.paused and m.paused_reason == WRAP_UP_REASON for m in agent.memberships.values())

    async def _wrap_up(self, interface: str, seconds: float) -> None:
        try:
            await self.pause(interface, True, WRAP_UP_REASON)
            await asyncio.sleep(seconds)
            if self._still_wrapping_up(interface):
                await self.pause(interface, False, "")
                log.info("%s: wrap-up ended after %.0f s", interface, seconds)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            log.warning("%s: wrap-up pause/unpause refused or failed (%s); the agent can "
                        "press Ready", interface, exc)  # fmt: skip

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
