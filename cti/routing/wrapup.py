"""Wrap-up after a call, held by the daemon: the agent finishes notes while Asterisk offers
them no new call.

When a queue call an agent answered ends, the agent is paused in every queue with the reason
``Wrap-up`` (``WRAP_UP_REASON``), which the state core shows as the wrap-up state. It ends
when the agent presses Ready (an unpause through the agent API) or, at the latest, after the
call's queue's wrap-up time (``CTI_CENTER_WRAPUP_BY_QUEUE``, else ``CTI_CENTER_WRAPUP_S``),
when the daemon unpauses them if they are still in wrap-up. A queue given 0 s has no
wrap-up of the daemon's; Asterisk's own ``wrapuptime`` still applies. An agent who paused for
another reason meanwhile stays paused.

Calls the ACD's route point dialled (cti/routing/acd.py) get the same: their queue is the
route's holding queue, whose name the settings above use. app_queue knows nothing of such a
call, so its ``wrapuptime`` does not keep it from ringing the agent afterwards. When the
settings give the call no wrap-up, the daemon pauses the agent for the wrap-up the state core
gave them instead (Asterisk's wrapuptime, ``Agent.routed_wrapup_s``), so that neither the ACD
nor Asterisk's queues offer them a call before a queue call's wrap-up would have ended.

Asterisk may offer the next call in the moment between hangup and our QueuePause; queues.conf
``wrapuptime`` covers that gap (asterisk-conf/queues.conf). For a routed call the state core's
wrap-up, from that same wrapuptime, keeps the ACD away in that moment; app_queue looks for a
free member only every second or so (its ``retry``), later than our QueuePause as a rule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from cti.ami.protocol import AmiError
from cti.state import views
from cti.state.agents import WRAP_UP_REASON
from cti.state.changes import AgentState, CallAnswered, CallEnded, CallsMerged, Change, Outcome
from cti.state.store import CtiState
from cti.tasks import Tasks

log = logging.getLogger(__name__)

# pause(interface, paused, reason): QueuePause in every queue of the member.
Pause = Callable[[str, bool, str], Awaitable[None]]


class WrapUp:
    """A pipeline sink; each wrap-up is a job of the daemon's ``Tasks`` (group ``JOBS``,
    keyed by the agent: a new wrap-up replaces the one running), cancelled by ``close``."""

    JOBS = "wrap-up"

    def __init__(
        self,
        state: CtiState,
        pause: Pause,
        tasks: Tasks,
        seconds: float,
        by_queue: Mapping[str, float] | None = None,
    ) -> None:
        self.state = state
        self.pause = pause
        self.tasks = tasks
        self.seconds = seconds
        self.by_queue = dict(by_queue or {})
        self._routed: set[str] = set()  # Linkedids of calls the route point dialled, answered

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            match change:
                case CallAnswered(linkedid=linkedid, interface=interface):
                    agent = views.agent(self.state, interface)
                    if agent is not None and agent.talking_routed:
                        self._routed.add(linkedid)
                case CallsMerged(absorbed=absorbed, into=into) if absorbed in self._routed:
                    self._routed.discard(absorbed)
                    self._routed.add(into)
                case CallEnded(record=record):
                    routed = record.linkedid in self._routed
                    self._routed.discard(record.linkedid)
                    if (
                        record.agent
                        and record.queue
                        and record.outcome in (Outcome.ANSWERED, Outcome.TRANSFERRED)
                    ):
                        self._ended(record.agent, record.queue, routed)
                case _:
                    pass

    def _ended(self, interface: str, queue: str, routed: bool) -> None:
        seconds = self.by_queue.get(queue, self.seconds)
        if seconds <= 0 and routed:
            # The state core has just started the agent's wrap-up (this very event ended
            # the call); Asterisk's queues must keep off them for as long.
            agent, clock = views.agent(self.state, interface), self.state.clock
            if agent is not None and agent.wrapup_until is not None and clock is not None:
                seconds = agent.wrapup_until - clock
        if seconds > 0:
            self._start(interface, seconds)

    def _start(self, interface: str, seconds: float) -> None:
        agent = views.agent(self.state, interface)
        if agent is None or agent.state is AgentState.PAUSED:
            return  # already on a break of their own: leave it alone
        self.tasks.job(self.JOBS, self._wrap_up(interface, seconds), key=interface)

    def _still_wrapping_up(self, interface: str) -> bool:
        agent = views.agent(self.state, interface)
        return agent is not None and agent.paused_for_wrap_up

    async def _wrap_up(self, interface: str, seconds: float) -> None:
        try:
            await self.pause(interface, True, WRAP_UP_REASON)
            await asyncio.sleep(seconds)
            if self._still_wrapping_up(interface):
                await self.pause(interface, False, "")
                log.info("%s: wrap-up ended after %.0f s", interface, seconds)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            log.warning(
                "%s: wrap-up pause/unpause refused or failed (%s); the agent can press Ready",
                interface,
                exc,
            )

    async def close(self) -> None:
        await self.tasks.end_jobs(self.JOBS, cancel=True)
