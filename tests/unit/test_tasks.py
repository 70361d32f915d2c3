"""The one owner of the daemon's tasks: a long-running task that dies stops the daemon; a
short job that fails does not; keyed jobs replace each other; shutdown ends each group."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cti.tasks import Tasks


async def fail(message: str) -> None:
    await asyncio.sleep(0)
    raise RuntimeError(message)


async def test_a_long_running_task_that_dies_is_reported_once_armed() -> None:
    reported: list[str] = []
    tasks = Tasks()
    tasks.on_failure = reported.append
    tasks.start("writer", fail("disk on fire"))
    await asyncio.sleep(0.01)
    assert tasks.failure == "task writer died: RuntimeError: disk on fire"
    assert reported == []  # start-up has its own error path
    tasks.arm()
    assert reported == [tasks.failure]


async def test_a_failed_job_is_logged_and_the_daemon_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = Tasks()
    tasks.on_failure = lambda reason: pytest.fail(reason)
    tasks.arm()
    with caplog.at_level(logging.ERROR, "cti.tasks"):
        tasks.job("customer lookup", fail("database gone"))
        await asyncio.sleep(0.01)
    assert tasks.failure == ""
    assert tasks.jobs("customer lookup") == 0
    assert "a customer lookup job failed" in caplog.text
    assert "database gone" in caplog.text


async def test_a_job_under_a_running_key_replaces_it() -> None:
    tasks = Tasks()
    finished: list[str] = []

    async def wrap_up(name: str) -> None:
        await asyncio.sleep(0.05)
        finished.append(name)

    tasks.job("wrap-up", wrap_up("first"), key="PJSIP/1001")
    tasks.job("wrap-up", wrap_up("second"), key="PJSIP/1001")
    tasks.job("wrap-up", wrap_up("other agent"), key="PJSIP/1002")
    assert tasks.jobs("wrap-up") == 2
    await asyncio.sleep(0.1)
    assert sorted(finished) == ["other agent", "second"]
    assert tasks.jobs("wrap-up") == 0


@pytest.mark.parametrize(("cancel", "finished"), [(True, []), (False, ["move"])])
async def test_shutdown_cancels_a_group_or_lets_it_finish(
    cancel: bool, finished: list[str]
) -> None:
    tasks = Tasks()
    done: list[str] = []

    async def move() -> None:
        await asyncio.sleep(0.02)
        done.append("move")

    tasks.job("ACD action", move())
    await tasks.end_jobs("ACD action", cancel=cancel)
    assert done == finished
    assert tasks.jobs("ACD action") == 0
