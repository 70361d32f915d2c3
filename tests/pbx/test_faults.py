"""Nothing lost under faults, against the real Asterisk, while calls come and go: a `cti
serve` process killed with SIGKILL at random moments and restarted after a random pause; the
AMI link cut again and again. Every call Asterisk handled must end up in the call log once,
with the end Asterisk reported (its Hangup event, read by an independent AMI reader), the
consent the caller gave and the recording made with it.

The daemon's database is the one Asterisk writes its CDR, CEL and queue_log into, as in a
deployment (docker-compose.yml): what the daemon misses while it is dead, it reconciles from
them when it is back. Figures are printed (run with -s)."""

from __future__ import annotations

import asyncio
import random
import signal
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg
import pytest
from ami_reader import RawAmi
from asterisk import SALES_DID, SUPPORT_DID
from conftest import Pbx, daemon_for
from facts import hung_up, linkedid_of
from harness import cti_serve_process, poll, ready
from link import CuttableLink
from test_resilience import until

from cti.keys import STATE

SEED = 14
KILLS = 6  # SIGKILLs, each followed by a pause of 0 or 1-30 s
CUTS = 60  # AMI link cuts
CALL_EVERY_S = 1.5


def cti_serve(
    pbx: Pbx, data_dir: Path
) -> AbstractAsyncContextManager[tuple[asyncio.subprocess.Process, str]]:
    """`cti serve` against the tier's Asterisk, on the database Asterisk writes its records
    into: (the process, its URL)."""
    return cti_serve_process(
        {
            "CTI_AMI_HOST": "127.0.0.1",
            "CTI_AMI_PORT": str(pbx.asterisk.ports.ami),
            "CTI_AMI_USERNAME": "cti",
            "CTI_AMI_SECRET": pbx.asterisk.ami_secret,
            "CTI_AMI_PING_INTERVAL": "1",
            "CTI_DATABASE_URL": pbx.asterisk.records_url,
            "CTI_RECORDINGS_DIR": str(pbx.asterisk.run / "spool" / "monitor"),
        },
        data_dir,
    )


async def traffic(
    pbx: Pbx, ami: RawAmi, rng: random.Random, faults: asyncio.Task[str]
) -> dict[str, str]:
    """A caller every CALL_EVERY_S until ``faults`` is done, to support (consent asked: 1
    grants, silence declines, which took about 13 s here, so they stay long enough to be
    asked) and sales (consent implied once the notice has played, about 4 s after the answer
    here: a sales caller stays at least 6 s, since one who hangs up during the notice gave no
    consent); returns each call's Linkedid and the consent it must have, once every call has
    ended."""

    async def one_call(i: int) -> tuple[str, str]:
        support = i % 2 == 0
        grant = support and rng.random() < 0.6
        stay_s = rng.uniform(6, 12) if not support else rng.uniform(11, 16) if grant else 22
        number = f"9053255{rng.randrange(10**5):05d}"
        caller = await pbx.call(
            number,
            f"Arayan {i}",
            SUPPORT_DID if support else SALES_DID,
            stay_s=stay_s,
            dtmf="1" if grant else None,
            dtmf_after_s=2.0,
        )
        linkedid = await linkedid_of(ami, number)
        assert await caller.finished() == 0
        await hung_up(ami, linkedid)
        return linkedid, "granted" if (grant or not support) else "declined"

    calls = []
    while not faults.done():
        calls.append(asyncio.ensure_future(one_call(len(calls))))
        await asyncio.sleep(CALL_EVERY_S)
    return dict(await asyncio.gather(*calls))


async def ended_rows(url: str, calls: dict[str, str]) -> dict[str, dict[str, object]]:
    connection = await asyncpg.connect(url)
    try:
        return {
            r["linkedid"]: dict(r)
            for r in await connection.fetch(
                "SELECT linkedid, outcome, consent, recording, facts_source,"
                " extract(epoch FROM ended_at)::float8 AS ended FROM calls"
                " WHERE linkedid = ANY($1::text[]) AND ended_at IS NOT NULL",
                list(calls),
            )
        }
    finally:
        await connection.close()


async def assert_nothing_lost(pbx: Pbx, ami: RawAmi, calls: dict[str, str], faults: str) -> None:
    """Every call once, with Asterisk's end (its Hangup event), its consent and recording."""
    url = pbx.asterisk.records_url
    rows = await ended_rows(url, calls)
    connection = await asyncpg.connect(url)
    try:
        duplicates = await connection.fetchval(
            "SELECT count(*) FROM (SELECT linkedid, kind, interface FROM call_events"
            " WHERE linkedid = ANY($1::text[]) AND kind IN ('queue_join', 'agent_ring',"
            " 'agent_connect', 'call_end') GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
            list(calls),
        )
    finally:
        await connection.close()
    ends = {
        e["Uniqueid"]: float(e["Timestamp"])
        for e in ami.events
        if e.get("Event") == "Hangup" and e.get("Uniqueid") in calls
    }
    off = [
        abs(float(row["ended"]) - ends[linkedid])  # type: ignore[arg-type]
        for linkedid, row in rows.items()
    ]
    sources: dict[str, int] = {}
    for row in rows.values():
        sources[str(row["facts_source"])] = sources.get(str(row["facts_source"]), 0) + 1
    print(
        f"\n{len(calls)} calls, {faults}: {len(rows)} logged with their end, "
        f"{len(calls) - len(rows)} lost; facts from {sources}; worst end error "
        f"{max(off, default=0):.3f} s; duplicated events {duplicates}"
    )
    assert set(rows) == set(calls)
    assert max(off) <= 1.0
    assert {k: rows[k]["consent"] for k in calls} == calls
    # Recorded with consent, once MixMonitor started: a caller who hangs up as the consent
    # step ends (a sales caller staying 4 s, once in CI) has consent and no recording.
    mixed = {e.get("Linkedid") for e in ami.events if e.get("Event") == "MixMonitorStart"}
    recordings = pbx.asterisk.recordings()
    for linkedid, consent in calls.items():
        recording = rows[linkedid]["recording"]
        assert (recording is not None) == (linkedid in mixed), rows[linkedid]
        assert recording is None or (consent == "granted" and recording in recordings)
    assert duplicates == 0


@pytest.mark.timeout(600)
async def test_kills_mid_traffic_lose_no_call(pbx: Pbx, ami: RawAmi, tmp_path: Path) -> None:
    rng = random.Random(SEED)

    async def kills() -> str:
        pauses = []
        for _ in range(KILLS):
            async with cti_serve(pbx, tmp_path) as (daemon, url):
                await poll(lambda: ready(url), "daemon ready")
                await asyncio.sleep(rng.uniform(1, 5))
                daemon.kill()  # SIGKILL: no shutdown code runs
                await daemon.wait()
            pauses.append(rng.choice([0.0, rng.uniform(1, 30)]))
            await asyncio.sleep(pauses[-1])
        return f"{KILLS} SIGKILLs, then pauses of {', '.join(f'{p:.0f}' for p in pauses)} s"

    faults = asyncio.ensure_future(kills())
    calls = await traffic(pbx, ami, rng, faults)
    async with cti_serve(pbx, tmp_path) as (daemon, url):
        await poll(lambda: ready(url), "daemon ready after the traffic")
        try:
            await poll(lambda: _all_ended(pbx, calls), "every call logged with its end", timeout=90)
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(daemon.wait(), 30) == 0
    await assert_nothing_lost(pbx, ami, calls, faults.result())


@pytest.mark.timeout(600)
async def test_ami_cuts_mid_traffic_lose_no_call(pbx: Pbx, ami: RawAmi, tmp_path: Path) -> None:
    """The AMI link cut again and again (a relay closes both sockets and refuses new ones
    for a while) while calls come and go; the daemon reconnects each time."""
    rng = random.Random(SEED + 1)
    link = CuttableLink(pbx.asterisk.ports.ami)
    await link.open()
    async with daemon_for(pbx, pbx.asterisk.records_url, tmp_path, ami_port=link.port) as live:
        state = live.app[STATE]

        async def cuts() -> str:
            downs = []
            for _ in range(CUTS):
                await until(lambda: state.synced, "the daemon resynced")
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                await link.cut()
                downs.append(rng.uniform(0.1, 2.0))
                await asyncio.sleep(downs[-1])
                await link.open()
            return f"{CUTS} AMI cuts of 0.1-2 s (mean {sum(downs) / CUTS:.1f} s)"

        faults = asyncio.ensure_future(cuts())
        calls = await traffic(pbx, ami, rng, faults)
        await until(lambda: state.synced, "the daemon resynced after the traffic")
        await poll(lambda: _all_ended(pbx, calls), "every call logged with its end", timeout=90)
    await assert_nothing_lost(pbx, ami, calls, faults.result())


async def _all_ended(pbx: Pbx, calls: dict[str, str]) -> bool:
    return len(await ended_rows(pbx.asterisk.records_url, calls)) == len(calls)
