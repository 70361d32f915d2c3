"""Nothing lost under faults, against the real Asterisk: a `cti serve` process killed with
SIGKILL at random moments while calls come and go, restarted after a random pause. Every call
Asterisk handled must end up in the call log once, with the end Asterisk reported (its
Hangup event, read by an independent AMI reader) and the consent the caller gave.

The daemon's database is the one Asterisk writes its CDR, CEL and queue_log into, as in a
deployment (docker-compose.yml): what the daemon misses while it is dead, it reconciles from
them when it is back. Figures are printed (run with -s)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
from ami_reader import RawAmi
from asterisk import SALES_DID, SUPPORT_DID
from conftest import Pbx
from facts import hung_up, linkedid_of
from harness import free_port

SEED = 14
CALLS = 14
KILLS = 4


@asynccontextmanager
async def cti_serve(pbx: Pbx, data_dir: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    port = free_port()
    env = os.environ | {
        "CTI_AMI_HOST": "127.0.0.1", "CTI_AMI_PORT": str(pbx.asterisk.ports.ami),
        "CTI_AMI_USERNAME": "cti", "CTI_AMI_SECRET": pbx.asterisk.ami_secret,
        "CTI_AMI_PING_INTERVAL": "1", "CTI_HTTP_PORT": str(port),
        "CTI_DATABASE_URL": pbx.asterisk.records_url, "CTI_DATA_DIR": str(data_dir),
        "CTI_RECORDINGS_DIR": str(pbx.asterisk.run / "spool" / "monitor"),
    }  # fmt: skip
    with (data_dir / "daemon.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cti", "serve", env=env, stdout=log, stderr=log)
    process.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def ready(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def poll(probe: object, what: str, timeout: float = 90.0) -> None:
    async def loop() -> None:
        while not await probe():  # type: ignore[operator]
            await asyncio.sleep(0.2)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout} s") from None


async def test_kills_mid_traffic_lose_no_call(pbx: Pbx, ami: RawAmi, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data_dir = tmp_path / "daemon"
    data_dir.mkdir()

    async def one_call(i: int) -> tuple[str, str | None]:
        """A caller; support asks consent (1 grants; silence declines, which took about
        13 s here), so its callers stay long enough to be asked."""
        await asyncio.sleep(i * 1.5)
        support = i % 2 == 0
        grant = support and rng.random() < 0.6
        stay_s = rng.uniform(4, 12) if not support else rng.uniform(11, 16) if grant else 22
        caller = await pbx.call(f"9053255500{i:02d}", f"Arayan {i}",
                                SUPPORT_DID if support else SALES_DID, stay_s=stay_s,
                                dtmf="1" if grant else None, dtmf_after_s=2.0)  # fmt: skip
        linkedid = await linkedid_of(ami, f"9053255500{i:02d}")
        assert await caller.finished() == 0
        await hung_up(ami, linkedid)
        return linkedid, "granted" if (grant or not support) else "declined"

    traffic = asyncio.gather(*(one_call(i) for i in range(CALLS)))
    pauses = []
    for _ in range(KILLS):
        async with cti_serve(pbx, data_dir) as daemon:
            await poll(lambda: ready(daemon.url), "daemon ready")  # type: ignore[attr-defined]
            await asyncio.sleep(rng.uniform(1, 5))
            daemon.kill()  # SIGKILL: no shutdown code runs
            await daemon.wait()
        pause = rng.choice([0.0, rng.uniform(1, 8)])
        pauses.append(round(pause, 1))
        await asyncio.sleep(pause)
    calls = dict(await traffic)
    async with cti_serve(pbx, data_dir) as daemon:
        await poll(lambda: ready(daemon.url), "daemon ready after the traffic")  # type: ignore[attr-defined]

        async def all_logged() -> bool:
            connection = await asyncpg.connect(pbx.asterisk.records_url)
            try:
                ended = await connection.fetchval(
                    "SELECT count(*) FROM calls WHERE linkedid = ANY($1::text[])"
                    " AND ended_at IS NOT NULL", list(calls))
            finally:
                await connection.close()
            return ended == len(calls)

        try:
            await poll(all_logged, "every call logged with its end")
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(daemon.wait(), 30) == 0
    connection = await asyncpg.connect(pbx.asterisk.records_url)
    try:
        rows = {r["linkedid"]: dict(r) for r in await connection.fetch(
            "SELECT linkedid, outcome, consent, recording, facts_source,"
            " extract(epoch FROM ended_at)::float8 AS ended FROM calls"
            " WHERE linkedid = ANY($1::text[])", list(calls))}
        duplicates = await connection.fetchval(
            "SELECT count(*) FROM (SELECT linkedid, kind, interface FROM call_events"
            " WHERE linkedid = ANY($1::text[]) AND kind IN ('queue_join', 'agent_ring',"
            " 'agent_connect', 'call_end') GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
            list(calls))
    finally:
        await connection.close()
    ends = {e["Uniqueid"]: float(e["Timestamp"]) for e in ami.events
            if e.get("Event") == "Hangup" and e.get("Uniqueid") in calls}  # fmt: skip
    off = {linkedid: abs(rows[linkedid]["ended"] - ends[linkedid]) for linkedid in calls}
    sources: dict[str, int] = {}
    for row in rows.values():
        sources[row["facts_source"]] = sources.get(row["facts_source"], 0) + 1
    print(f"\n{len(calls)} calls, {KILLS} SIGKILLs, pauses {pauses} s: {len(rows)} logged, "
          f"{len(calls) - len(rows)} lost; facts from {sources}; worst end error "
          f"{max(off.values()):.3f} s; duplicated events {duplicates}")
    assert set(rows) == set(calls)
    assert max(off.values()) <= 1.0
    assert {k: rows[k]["consent"] for k in calls} == calls
    recordings = pbx.asterisk.recordings()
    for linkedid, consent in calls.items():
        recording = rows[linkedid]["recording"]
        assert (recording is not None) == (consent == "granted"), rows[linkedid]
        assert recording is None or recording in recordings
    assert duplicates == 0
