"""The resync after a login, over TCP against the PBX simulator and into a real PostgreSQL:
a daemon that connects after a call's consent step still logs its consent and recording and
its true start; a call that ended while the link was down is logged with its end and talk
time unknown (NULL), not the resync's time. No mocks; no timing asserts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from harness import Recorder, daemon_on, live_sim_config, running_simulator, wait_until

from cti.ami.connection import AmiClient, AmiConfig
from cti.keys import AMI, DATABASE, STATE
from cti.pipeline import Pipeline
from cti.simulator import SimConfig
from cti.state.changes import Outcome
from cti.state.store import CtiState

SECRET = "s3cret"


def born(linkedid: str) -> float:
    """The second the simulator (like Asterisk) created the call's first channel in."""
    return float(linkedid.split(".")[0])


async def test_a_client_that_logs_in_after_the_consent_step_learns_consent_and_recording() -> None:
    config = replace(SimConfig.demo(), username="cti", secret=SECRET, arrival_rate=0)
    async with running_simulator(config) as sim:
        granted = await sim.place_call(
            "905301110001",
            "Zeynep Arslan",
            "support",
            consent="granted",
            answer_after=0.1,
            talk_s=60,
        )
        declined = await sim.place_call(
            "905301110002",
            "Emre Şahin",
            "support",
            consent="declined",
            answer_after=None,
            talk_s=60,
        )
        # Both consent steps are over (one caller talks, the other waits in the queue)
        # before the client connects: no RecordingConsent event will ever reach it.
        await wait_until(
            lambda: sim.is_answered(granted) and sim.pbx.calls[declined].queue == "support"
        )
        recorder = Recorder()
        pipeline = Pipeline(CtiState(), [recorder])
        ami = AmiClient(
            AmiConfig("127.0.0.1", sim.port, "cti", SECRET),
            pipeline.submit_message,
            pipeline.submit_event,
        )
        tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(ami.run())]
        try:
            await asyncio.wait_for(ami.first_login, 10)  # the resync's lists are all in
            await sim.hangup(granted)
            await sim.hangup(declined)
            await wait_until(lambda: len(recorder.ended()) == 2)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    records = recorder.ended()
    talked, refused = records[granted], records[declined]
    assert (talked.consent, talked.consent_method, talked.recorded, talked.recording) == (
        "granted",
        "dtmf",
        True,
        f"{granted}.wav",
    )  # MixMonitor(${UNIQUEID}.wav,b)
    assert talked.outcome is Outcome.ANSWERED and talked.agent is not None
    assert (refused.consent, refused.consent_method, refused.recorded, refused.recording) == (
        "declined",
        "dtmf",
        False,
        None,
    )
    # Both calls began before the login: dated by their Linkedid, not by the QueueStatus.
    assert (talked.started_at, refused.started_at) == (born(granted), born(declined))


async def calls_row(pool: asyncpg.Pool, linkedid: str) -> asyncpg.Record:
    while (row := await pool.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)) is None:
        await asyncio.sleep(0.05)
    return row


async def test_a_daemon_started_after_the_consent_step_logs_consent_recording_and_start(
    database_url: str, tmp_path: Path
) -> None:
    async with running_simulator(live_sim_config()) as sim:
        linkedid = await sim.place_call(
            "905321112233", "Fatma Demir", "support", consent="granted", answer_after=0.1, talk_s=60
        )
        await wait_until(lambda: sim.is_answered(linkedid))
        async with daemon_on(sim, database_url, tmp_path) as daemon:
            await asyncio.wait_for(daemon.app[AMI].first_login, 10)
            await sim.hangup(linkedid)
            pool = await daemon.app[DATABASE].pool()
            row = await asyncio.wait_for(calls_row(pool, linkedid), 15)
    assert (row["consent"], row["consent_method"], row["recording"]) == (
        "granted",
        "dtmf",
        f"{linkedid}.wav",
    )
    assert row["started_at"] == datetime.fromtimestamp(born(linkedid), UTC)
    assert row["ended_at"] is not None and not row["ended_while_disconnected"]


async def test_a_call_that_ended_while_the_link_was_down_is_logged_with_unknown_end_and_talk(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_simulator(live_sim_config()) as sim,
        daemon_on(sim, database_url, tmp_path) as daemon,
    ):
        state = daemon.app[STATE]
        await asyncio.wait_for(daemon.app[AMI].first_login, 10)
        linkedid = await sim.place_call(
            "905321112233",
            "Fatma Demir",
            "support",
            consent="granted",
            answer_after=None,
            talk_s=600,
        )
        await wait_until(
            lambda: linkedid in state.calls and "SIP/1001" in state.calls[linkedid].ringing
        )
        assert sim.answer(linkedid, "SIP/1001")
        await wait_until(lambda: state.calls[linkedid].agent == "SIP/1001")  # answered live
        await sim.go_offline()  # Asterisk restarting: the daemon sees nothing for a while
        await sim.hangup(linkedid)
        await wait_until(lambda: linkedid not in sim.pbx.calls)
        await sim.go_online()
        pool = await daemon.app[DATABASE].pool()
        row = await asyncio.wait_for(calls_row(pool, linkedid), 20)
    assert row["ended_while_disconnected"] and row["outcome"] == "answered"
    assert row["answered_at"] is not None and row["agent"] == "SIP/1001"
    # Nobody told us when it ended: unknown, for a later reconciliation from the CDR.
    assert (row["ended_at"], row["talk_s"]) == (None, None)
    assert (row["consent"], row["recording"]) == ("granted", f"{linkedid}.wav")
