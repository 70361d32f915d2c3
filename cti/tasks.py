"""The one owner of the daemon's long-running tasks.

Every background task (the AMI link, the pipeline, the call-log writer, the clock tick, the
alert watcher, the ACD) is started here under a name, kept, and stopped by name, cancelled
and awaited, in the order the application's contexts unwind. None of them is meant to end
while the daemon runs: one that dies (an exception, or a return) is a failure the daemon
cannot mend by itself. It is logged with its traceback, ``failure`` says which task and why
(``/readyz`` answers 503 with it), and ``on_failure`` is called once so that ``cti serve``
shuts down cleanly and exits non-zero for its supervisor (systemd, compose) to restart it.
Before that, a writer task died silently while ``/readyz`` stayed green.

Failures during start-up are recorded only: start-up has its own error path (a wrong AMI
secret stops the process with its message), so ``on_failure`` waits for ``arm()``.

Features also start short jobs on the side of their long-running work: a customer lookup for
a pop, an ACD call moved by a Redirect, an agent's wrap-up pause. ``job`` owns those too, in a
named group: a job may end, one that fails is logged and the daemon goes on (one pop without
its customer card, one move the next routing round retries). At shutdown ``end_jobs``
cancels a group's jobs or lets them finish. A job started under a key already running
replaces it (an agent's new wrap-up replaces the old one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Tasks:
    def __init__(self) -> None:
        self.failure = ""  # the first task that died, and why; empty while all is well
        self.on_failure: Callable[[str], None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._jobs: dict[str, dict[object, asyncio.Task[None]]] = {}  # group → key → job
        self._armed = False

    @property
    def names(self) -> list[str]:
        return sorted(self._running)

    def start(self, name: str, coroutine: Coroutine[Any, Any, None]) -> None:
        if name in self._running:
            coroutine.close()
            raise ValueError(f"a task named {name!r} is already running")
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._running[name] = task
        task.add_done_callback(self._ended)

    def job(self, group: str, coroutine: Coroutine[Any, Any, None], key: object = None) -> None:
        """Run a short job of ``group``; without a key, each job is its own."""
        jobs = self._jobs.setdefault(group, {})
        task = asyncio.get_running_loop().create_task(coroutine, name=group)
        key = task if key is None else key
        previous = jobs.pop(key, None)
        if previous is not None:
            previous.cancel()
        jobs[key] = task
        task.add_done_callback(lambda done: self._job_ended(group, key, done))

    def jobs(self, group: str) -> int:
        """How many jobs of the group are running."""
        return len(self._jobs.get(group, {}))

    async def end_jobs(self, group: str, *, cancel: bool) -> None:
        """At shutdown: cancel the group's jobs, or let them finish (each is short), and
        wait until they are gone."""
        jobs = list(self._jobs.get(group, {}).values())
        if cancel:
            for task in jobs:
                task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    def arm(self) -> None:
        """Start-up is over: from now on a failure stops the daemon."""
        self._armed = True
        if self.failure and self.on_failure is not None:
            self.on_failure(self.failure)

    async def stop(self, *names: str) -> None:
        """Cancel these tasks and wait until they are gone, in the order given."""
        stopping = [self._running.pop(name) for name in names if name in self._running]
        for task in stopping:
            task.cancel()
        for task in stopping:
            # A task that had died already was reported when it did.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _ended(self, task: asyncio.Task[None]) -> None:
        name = task.get_name()
        if self._running.get(name) is not task or task.cancelled():
            return  # stopped by us
        del self._running[name]
        error = task.exception()
        if error is None:
            reason = f"task {name} ended although it should run until shutdown"
            log.critical("%s", reason)
        else:
            reason = f"task {name} died: {type(error).__name__}: {error}"
            log.critical("%s", reason, exc_info=error)
        if self.failure:
            return
        self.failure = reason
        if self._armed and self.on_failure is not None:
            self.on_failure(reason)

    def _job_ended(self, group: str, key: object, task: asyncio.Task[None]) -> None:
        jobs = self._jobs.get(group, {})
        if jobs.get(key) is task:
            del jobs[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("a %s job failed; the daemon goes on", group, exc_info=task.exception())
