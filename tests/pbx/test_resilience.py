"""The daemon against a real Asterisk that restarts, freezes, or whose AMI link is cut, and
calls the daemon only partly saw; and the queue configuration under two waiting callers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ami_reader import Event, RawAmi
from asterisk import MEMBERS, SALES_DID
from conftest import LiveDaemon, Pbx, daemon_for
from facts import hung_up, linkedid_of, pause, queue_facts, seen
from link import CuttableLink

from cti.keys import AMI, STATE

QUEUES_WRAPUP_S = 5  # asterisk-conf/queues.conf


def first(events: list[Event], name: str, **match: str) -> Event:
    return next(
        e for e in events if e.get("Event") == name and all(e.get(k) == v for k, v in match.items())
    )


async def until(probe: object, what: str, timeout: float = 60) -> None:
    async def loop() -> None:
        while not probe():  # type: ignore[operator]
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout} s") from None


async def test_autofill_offers_every_waiting_caller_to_free_agents(pbx: Pbx, ami: RawAmi) -> None:
    """queues.conf must set autofill: Asterisk's default rings only the head caller."""
    await pause(ami, "sales", "PJSIP/1003", "PJSIP/1004")
    # Both members free to ring at once: past the wrap-up (queues.conf wrapuptime) of any
    # call an earlier test gave them (the fault tests end with a burst of calls).
    await asyncio.sleep(QUEUES_WRAPUP_S + 1)
    first_call = await pbx.call("905320000201", "Bir", SALES_DID, stay_s=14)
    second_call = await pbx.call("905320000202", "İki", SALES_DID, stay_s=14)
    one, two = [await linkedid_of(ami, n) for n in ("905320000201", "905320000202")]
    for linkedid in (one, two):
        await seen(ami, "QueueCallerJoin", "both callers waiting", Uniqueid=linkedid)
    for member in ("PJSIP/1003", "PJSIP/1004"):
        await ami.action("QueuePause", Queue="sales", Interface=member, Paused="false")
    assert await first_call.finished() == 0 and await second_call.finished() == 0
    events = ami.events
    second_rang = first(events, "AgentCalled", Uniqueid=two)
    first_answered = first(events, "AgentConnect", Uniqueid=one)
    assert float(second_rang["Timestamp"]) < float(first_answered["Timestamp"])


async def test_consent_and_start_of_a_call_seen_only_by_resync(
    pbx: Pbx, ami: RawAmi, database_url: str, tmp_path: Path
) -> None:
    """The consent step happened before the daemon connected: resync reads it back from the
    channel; the call's start is the channel's creation, not the resync."""
    linkedid, caller = await pbx.answered_support_call(
        ami, "905320000203", "Zeynep Arslan", stay_s=16
    )
    async with daemon_for(pbx, database_url, tmp_path) as live:
        assert await caller.finished() == 0
        await hung_up(ami, linkedid)
        row = await live.row(linkedid)
    # Dated to the second its Uniqueid names (Asterisk's clock at the channel's creation),
    # which Newchannel's Timestamp, taken a moment later, never precedes; not the resync's.
    created = first(ami.events, "Newchannel", Uniqueid=linkedid)
    assert row["started_at"].timestamp() == float(linkedid.split(".")[0])
    assert row["started_at"].timestamp() <= float(created["Timestamp"])
    assert (row["consent"], row["consent_method"]) == ("granted", "dtmf")
    assert row["recording"] == f"{linkedid}.wav"
    assert row["recording"] in pbx.asterisk.recordings()
    assert row["agent_name"] == queue_facts(pbx.asterisk, linkedid).one("CONNECT").agent


async def test_a_call_that_ends_while_the_link_is_down_gets_asterisks_end(
    pbx: Pbx, ami: RawAmi, tmp_path: Path
) -> None:
    """The daemon's database is the one Asterisk writes its CDR, CEL and queue_log into, as
    in a deployment. The call's end, unseen on the cut link, is not the resync's time: it
    comes from Asterisk's records, exact, and the daemon's own facts stay."""
    link = CuttableLink(pbx.asterisk.ports.ami)
    await link.open()
    async with daemon_for(pbx, pbx.asterisk.records_url, tmp_path, ami_port=link.port) as live:
        client = live.app[AMI]
        await until(lambda: client.stats.connected, "the daemon logged in")
        linkedid, caller = await pbx.answered_support_call(
            ami, "905320000204", "Emre Şahin", stay_s=20
        )
        await until(
            lambda: (
                live.app[STATE].calls.get(linkedid) is not None
                and live.app[STATE].calls[linkedid].agent is not None
            ),
            "the daemon saw the call answered",
        )
        await link.cut()
        assert await caller.finished() == 0
        await hung_up(ami, linkedid)
        await asyncio.sleep(3)
        await link.open()
        row = await live.row(linkedid, ended=True)
    gone = first(ami.events, "Hangup", Uniqueid=linkedid)
    answered = first(ami.events, "AgentConnect", Uniqueid=linkedid)
    print(
        f"\nended_at {row['ended_at'].timestamp():.3f}, Asterisk's Hangup "
        f"{float(gone['Timestamp']):.3f}; talk {row['talk_s']} s; {row['facts_source']}"
    )
    assert row["ended_while_disconnected"] and row["facts_source"] == "ami+asterisk"
    assert abs(row["ended_at"].timestamp() - float(gone["Timestamp"])) <= 1
    assert abs(row["talk_s"] - (float(gone["Timestamp"]) - float(answered["Timestamp"]))) <= 1
    assert (row["outcome"], row["agent"], row["consent"]) == ("answered", "PJSIP/1001", "granted")


async def test_a_call_that_ends_while_no_daemon_runs_gets_its_row_from_asterisk(
    pbx: Pbx, ami: RawAmi, tmp_path: Path
) -> None:
    """The daemon stops mid-call (its state is gone with it), the call ends, a new daemon
    starts: the call's row is written from Asterisk's records, with Asterisk's times, the
    agent, the consent and the recording."""
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    async with daemon_for(pbx, pbx.asterisk.records_url, tmp_path / "first") as live:
        await until(lambda: live.app[STATE].synced, "the daemon resynced")
        linkedid, caller = await pbx.answered_support_call(
            ami, "905320000205", "Hülya Koç", stay_s=6
        )
        await until(lambda: linkedid in live.app[STATE].calls, "the daemon saw the call")
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    async with daemon_for(pbx, pbx.asterisk.records_url, tmp_path / "second") as live:
        row = await live.row(linkedid, ended=True)
    created = first(ami.events, "Newchannel", Uniqueid=linkedid)
    answered = first(ami.events, "AgentConnect", Uniqueid=linkedid)
    gone = first(ami.events, "Hangup", Uniqueid=linkedid)
    print(
        f"\nfrom {row['facts_source']}: started {row['started_at'].timestamp():.3f} "
        f"(Newchannel {float(created['Timestamp']):.3f}), ended "
        f"{row['ended_at'].timestamp():.3f} (Hangup {float(gone['Timestamp']):.3f})"
    )
    assert row["facts_source"] == "asterisk"
    assert abs(row["started_at"].timestamp() - float(created["Timestamp"])) <= 1
    assert abs(row["answered_at"].timestamp() - float(answered["Timestamp"])) <= 1
    assert abs(row["ended_at"].timestamp() - float(gone["Timestamp"])) <= 1
    assert (
        row["caller_number"],
        row["caller_name"],
        row["queue"],
        row["agent"],
        row["outcome"],
    ) == ("905320000205", "Hülya Koç", "support", "PJSIP/1001", "answered")
    assert (row["consent"], row["consent_method"]) == ("granted", "dtmf")
    assert row["recording"] == f"{linkedid}.wav" and row["recording"] in pbx.asterisk.recordings()


async def test_core_restart_mid_call(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    """After `core restart now` Asterisk accepts logins before app_queue is loaded; the
    daemon waits for FullyBooted, so its resync sees every queue member again."""
    linkedid, caller = await pbx.answered_support_call(ami, "905320000205", "Elif Koç", stay_s=30)
    client = daemon.app[AMI]
    logins = client.stats.logins
    errors_before = set(pbx.asterisk.errors())
    await asyncio.to_thread(pbx.asterisk.cli, "core restart now")
    await caller.finished()
    await asyncio.to_thread(pbx.asterisk.wait_fully_booted)
    await until(
        lambda: client.stats.logins > logins and client.stats.connected,
        "the daemon back after the restart",
    )
    # While it shuts down Asterisk refuses every action with an ERROR line ("Asterisk is
    # shutting down"); the daemon leaves at the first refusal (or the Shutdown event), and
    # a login refused then is a restart under way, not a wrong secret.
    refused = [
        line
        for line in pbx.asterisk.errors()
        if line not in errors_before and "shutting down" in line
    ]
    assert len(refused) <= 3, refused
    pbx.asterisk.forgive(refused)
    assert client.stats.login_failures == 0
    row = await daemon.row(linkedid)
    assert row["agent"] == "PJSIP/1001"
    # queues.conf's members come back unpaused after a restart: a daemon whose resync was
    # refused keeps its stale view of PJSIP/1002 as paused.
    await ami.connect()  # the restart closed the raw reader's session too
    listed = await ami.action("QueueStatus", Queue="support")
    assert listed["Response"] == "Success"
    state = daemon.app[STATE]
    members = {m for queue in MEMBERS.values() for m in queue}
    await until(
        lambda: (
            members <= set(state.agents)
            and not state.agents["PJSIP/1002"].memberships["support"].paused
        ),
        "the daemon's view of the members after the restart",
        30,
    )


async def test_freeze_of_asterisk_then_back(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    """SIGSTOP: the daemon notices (no Pong), and once Asterisk resumes and a login succeeds
    the backoff starts over, so the next outage is not met with a long wait."""
    client = daemon.app[AMI]
    logins = client.stats.logins
    pbx.asterisk.freeze()
    try:
        await until(lambda: not client.stats.connected, "the daemon noticing the freeze", 30)
        await asyncio.sleep(6)
    finally:
        pbx.asterisk.thaw()
    await until(
        lambda: client.stats.connected and client.stats.logins > logins,
        "the daemon back after the freeze",
        60,
    )
    assert client.next_reconnect_delay() <= 1.0
    number = "905320000206"
    linkedid = await pbx.call_through(ami, number, "Ali Kaya", SALES_DID, stay_s=8)
    row = await daemon.row(linkedid)
    assert row["outcome"] == "answered"
