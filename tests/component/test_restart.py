"""A real `cti serve` process killed (SIGKILL) while its call-log rows wait in the spool for a
database that is down: the restarted daemon writes every one of them, once."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import asyncpg
from harness import cti_serve_process, live_sim_config, poll, ready

from cti.simulator import Simulator

CALLERS = (
    ("905321112233", "Fatma Demir"),
    ("905551112233", "Mehmet Öztürk"),
    ("4930123456", "José Müller"),
)


def cti_serve(
    sim: Simulator, database_url: str, data_dir: Path
) -> AbstractAsyncContextManager[tuple[asyncio.subprocess.Process, str]]:
    """`cti serve` against the simulator: (the process, its URL)."""
    return cti_serve_process(
        {
            "CTI_AMI_HOST": "127.0.0.1",
            "CTI_AMI_PORT": str(sim.port),
            "CTI_AMI_USERNAME": "cti",
            "CTI_AMI_SECRET": sim.config.secret,
            "CTI_DATABASE_URL": database_url,
        },
        data_dir,
    )


def spooled_calls(path: Path) -> set[str]:
    """Linkedids of the finished calls in the spool file."""
    if not path.exists():
        return set()
    linkedids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        linkedids |= {values["linkedid"] for kind, values in json.loads(line) if kind == "call"}
    return linkedids


async def test_a_killed_daemon_writes_its_spooled_rows_after_restart(
    own_pg: Any, tmp_path: Path
) -> None:
    database_url = own_pg.create_database()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log, spool = data_dir / "daemon.log", data_dir / "call-log.spool"
    sim = Simulator(live_sim_config(), port=0)
    await sim.start()
    try:
        async with cti_serve(sim, database_url, data_dir) as (process, url):
            await poll(lambda: ready(url), "daemon ready", log)
            own_pg.stop()
            calls = {
                await sim.place_call(number, name, "sales", answer_after=0.1, talk_s=0.3)
                for number, name in CALLERS
            }
            await poll(
                lambda: asyncio.sleep(0, calls <= spooled_calls(spool)), "calls spooled", log
            )
            process.kill()  # SIGKILL: no shutdown code runs
            await process.wait()
        assert calls <= spooled_calls(spool)
        own_pg.start()

        async def all_written() -> bool:
            connection = await asyncpg.connect(database_url)
            try:
                rows = await connection.fetch("SELECT linkedid FROM calls")
            finally:
                await connection.close()
            return {r["linkedid"] for r in rows} == calls and not spooled_calls(spool)

        async with cti_serve(sim, database_url, data_dir):
            await poll(all_written, "spooled calls written after restart", log)
    finally:
        await sim.stop()
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT caller_name, outcome, agent FROM calls ORDER BY started_at"
        )
        ends = await connection.fetchval("SELECT count(*) FROM call_events WHERE kind = 'call_end'")
    finally:
        await connection.close()
    assert [tuple(r) for r in rows] == [(name, "answered", "SIP/1003") for _, name in CALLERS]
    assert ends == len(CALLERS)
