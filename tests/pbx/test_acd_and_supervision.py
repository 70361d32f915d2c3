"""The ACD route point and the supervisor's actions on a real Asterisk, checked against what
Asterisk did (queue_log, its raw AMI events, its recordings)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg
from ami_reader import Event, RawAmi
from asterisk import ACD_DID, SUPPORT_DID
from conftest import LiveDaemon, Pbx, daemon_for
from facts import hung_up, linkedid_of, pause, queue_facts, seen

from cti.keys import DATABASE, STATE


def dialled_agent(ami: RawAmi, linkedid: str) -> str | None:
    """The agent whose Dial Asterisk answered for this call (the route point's own Dial)."""
    legs = {e["Uniqueid"] for e in ami.named("Newchannel") if e.get("Linkedid") == linkedid}
    for e in ami.named("DialEnd", DialStatus="ANSWER"):
        if e.get("Uniqueid") in legs and e.get("DestChannel", "").startswith("PJSIP/"):
            return e["DestChannel"].rsplit("-", 1)[0]
    return None


def seconds(event: Event) -> float:
    return float(event["Timestamp"])


async def test_route_point_dials_a_ready_agent(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    await pause(ami, "support", "PJSIP/1002")
    number = "905320000101"
    linkedid = await pbx.call_through(ami, number, "Zeynep Arslan", ACD_DID, stay_s=10)
    row = await daemon.row(linkedid)
    assert dialled_agent(ami, linkedid) == "PJSIP/1001"
    assert row["outcome"] == "answered" and row["agent"] == "PJSIP/1001"
    assert "ENTERQUEUE" not in queue_facts(pbx.asterisk, linkedid).events()


async def test_held_call_moved_to_a_freed_agent_is_not_an_abandon(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    """Redirect out of the holding queue makes Asterisk send QueueCallerAbandon."""
    await pause(ami, "support", "PJSIP/1001", "PJSIP/1002")
    number = "905320000102"
    caller = await pbx.call(number, "Emre Şahin", ACD_DID, stay_s=16)
    linkedid = await linkedid_of(ami, number)
    await seen(ami, "QueueCallerJoin", "the call on hold", Queue="collections", Uniqueid=linkedid)
    await asyncio.sleep(2)
    await ami.action("QueuePause", Queue="support", Interface="PJSIP/1001", Paused="false")
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    row = await daemon.row(linkedid)
    assert dialled_agent(ami, linkedid) == "PJSIP/1001"
    assert ami.named("QueueCallerAbandon", Uniqueid=linkedid)  # Asterisk's view of the move
    assert row["outcome"] == "answered" and row["agent"] == "PJSIP/1001"
    (routed,) = ami.named("UserEvent", UserEvent="CtiRoute", Uniqueid=linkedid)
    (answered,) = [
        e for e in ami.named("DialEnd", DialStatus="ANSWER") if e.get("Uniqueid") == linkedid
    ]
    assert abs(row["wait_s"] - (seconds(answered) - seconds(routed))) <= 1
    metrics = await _metrics(daemon)
    assert 'cti_queue_calls_abandoned_total{queue="collections"} 1' not in metrics


async def test_ring_no_answer_pauses_the_agent_and_the_wait_counts_from_the_route_point(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    pbx.phones["1001"].start(answer_after_ms=None)
    await pause(ami, "support", "PJSIP/1002")
    number = "905320000103"
    linkedid = await pbx.call_through(ami, number, "Elif Koç", ACD_DID, stay_s=14)
    row = await daemon.row(linkedid)
    assert ami.named("UserEvent", UserEvent="CtiRouteNoAnswer", Uniqueid=linkedid)
    paused = [
        e for e in ami.named("QueueMemberPause", Interface="PJSIP/1001") if e.get("Paused") == "1"
    ]
    assert paused and paused[-1].get("PausedReason", paused[-1].get("Reason")) == "No answer"
    assert row["outcome"] == "abandoned" and row["no_answer_count"] == 1
    (routed,) = ami.named("UserEvent", UserEvent="CtiRoute", Uniqueid=linkedid)
    (gone,) = [e for e in ami.named("Hangup") if e.get("Uniqueid") == linkedid]
    assert abs(row["wait_s"] - (seconds(gone) - seconds(routed))) <= 1


async def test_daemon_down_the_queue_takes_the_call(
    pbx: Pbx, ami: RawAmi, database_url: str, tmp_path: Path
) -> None:
    """No daemon: the FastAGI fails and the plain queue answers; the daemon started during
    the call finds it (resync) and logs it with the agent Asterisk connected."""
    number = "905320000104"
    caller = await pbx.call(number, "Ali Kaya", ACD_DID, stay_s=14)
    linkedid = await linkedid_of(ami, number)
    await seen(ami, "AgentConnect", "the queue connecting the call", Uniqueid=linkedid)
    async with daemon_for(pbx, database_url, tmp_path) as live:
        assert await caller.finished() == 0
        await hung_up(ami, linkedid)
        row = await live.row(linkedid)
    connect = queue_facts(pbx.asterisk, linkedid).one("CONNECT")
    assert connect.queue == "support"
    assert row["outcome"] == "answered" and row["agent_name"] == connect.agent


async def test_pause_and_unpause_reach_asterisk(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    agent, csrf = await daemon.signed_in("agent1")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with agent.post(
        "/api/agent/state", headers=headers, json={"paused": True, "reason": "Lunch"}
    ) as r:
        assert r.status == 200, await r.text()
    await seen(ami, "QueueMemberPause", "the pause", Interface="PJSIP/1001", Paused="1")
    state = daemon.app[STATE]
    while not state.agents["PJSIP/1001"].memberships["support"].paused:
        await asyncio.sleep(0.05)
    async with agent.post("/api/agent/state", headers=headers, json={"paused": False}) as r:
        assert r.status == 200, await r.text()
    while state.agents["PJSIP/1001"].memberships["support"].paused:
        await asyncio.sleep(0.05)
    logged = [
        (line.event, line.data[:1])
        for line in pbx.asterisk.queue_log()
        if line.agent == "Agent 1001" and line.event in ("PAUSE", "UNPAUSE")
    ]
    assert ("PAUSE", ("Lunch",)) in logged and logged[-1][0] == "UNPAUSE"


async def test_supervisor_listen_whisper_barge(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    """Each mode on a call of its own, ended once ChanSpy runs: ChanSpy (option E) ends with
    the agent's call. (A SIPp phone sends no audio, so ChanSpy would not notice its own
    channel being hung up.)"""
    boss, csrf = await daemon.signed_in("boss")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    await pause(ami, "sales", "PJSIP/1004")  # the supervisor's phone
    spied: list[str] = []
    for n, mode in enumerate(("listen", "whisper", "barge")):
        linkedid, _ = await pbx.answered_support_call(
            ami, f"90532000011{n}", "Fatma Demir", stay_s=60
        )
        spied.append(linkedid)
        before = len(ami.named("ChanSpyStart"))
        async with boss.post(
            "/api/supervisor/spy", headers=headers, json={"interface": "PJSIP/1001", "mode": mode}
        ) as r:
            assert r.status == 200, f"{mode}: {r.status} {await r.text()}"
        started = await ami.wait_for(
            lambda events, n=before: ami.named("ChanSpyStart")[n:], f"ChanSpy for {mode}"
        )
        assert started[0]["SpyeeChannel"].startswith("PJSIP/1001-")
        assert started[0]["SpyerChannel"].startswith("PJSIP/1004-")
        caller = await seen(ami, "Newchannel", "the caller's channel", Uniqueid=linkedid)
        await ami.action("Hangup", Channel=caller["Channel"])
        await hung_up(ami, linkedid)
        # Option E: the supervisor's leg ends with the agent's call. (Its ChanSpyStop may not
        # come: hung up in the moment between ChanSpyStart and the spy attaching, Asterisk
        # logs "Stopped spying due to the spied-on channel hanging up" and sends none.)
        spyer = started[0]["SpyerChannel"]
        await ami.wait_for(
            lambda events, spyer=spyer: ami.named("Hangup", Channel=spyer),
            f"the {mode} leg hung up",
        )
    async with boss.get("/api/supervisor/audit") as r:
        audit = await r.json()
    actions = {(a["action"], a["accepted"]) for a in audit}
    assert {("listen", True), ("whisper", True), ("barge", True)} <= actions
    for linkedid in spied:
        await daemon.row(linkedid)
    spy_calls = {e["Linkedid"] for e in ami.named("Newchannel")} - set(spied)
    pool = await _pool(daemon)
    logged = await pool.fetchval(
        "SELECT count(*) FROM calls WHERE linkedid = ANY($1)", list(spy_calls)
    )
    assert spy_calls and logged == 0, "a supervisor's ChanSpy leg is not a call"


async def test_recording_mute_reaches_mixmonitor(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    agent, csrf = await daemon.signed_in("agent1")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    linkedid, _ = await pbx.answered_support_call(ami, "905320000106", "Fatma Demir", stay_s=12)
    async with agent.post(
        f"/api/calls/{linkedid}/recording", headers=headers, json={"muted": True}
    ) as r:
        assert r.status == 200, await r.text()
    await seen(ami, "MixMonitorMute", "the recording muted", Uniqueid=linkedid, State="1")
    async with agent.post(
        f"/api/calls/{linkedid}/recording", headers=headers, json={"muted": False}
    ) as r:
        assert r.status == 200, await r.text()
    await seen(ami, "MixMonitorMute", "the recording unmuted", Uniqueid=linkedid, State="0")
    await hung_up(ami, linkedid)
    row = await daemon.row(linkedid)
    assert row["recording"] == f"{linkedid}.wav" and row["recording"] in pbx.asterisk.recordings()


async def _metrics(daemon: LiveDaemon) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{daemon.url}/metrics") as r:
        return await r.text()


async def _pool(daemon: LiveDaemon) -> asyncpg.Pool:
    return await daemon.app[DATABASE].pool()


async def test_an_acd_call_gets_wrap_up_in_asterisk_too(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    """A call the route point dialled gets no AgentComplete and no wrapuptime from app_queue:
    the daemon pauses the agent (reason Wrap-up) so that a waiting queue caller is not put
    through the moment the ACD call ends."""
    await pause(ami, "support", "PJSIP/1002")
    acd_call = await pbx.call_through(ami, "905320000301", "Zeynep Arslan", ACD_DID, stay_s=8)
    queued_call = await pbx.call_through(
        ami, "905320000302", "Emre Şahin", SUPPORT_DID, stay_s=25, dtmf="1", dtmf_after_s=2.0
    )
    ended = seconds(next(e for e in ami.named("Hangup") if e["Uniqueid"] == acd_call))
    wrap_up = [
        e
        for e in ami.named("QueueMemberPause", Interface="PJSIP/1001")
        if e.get("Paused") == "1"
        and e.get("PausedReason", e.get("Reason")) == "Wrap-up"
        and seconds(e) >= ended
    ]
    assert wrap_up, "the agent was not paused for wrap-up after the ACD call"
    rang = seconds(next(e for e in ami.named("AgentCalled", Uniqueid=queued_call)))
    assert rang - ended >= 4.5  # Asterisk's clock: queues.conf wrapuptime is 5 s


async def test_a_freed_agent_goes_to_whoever_waited_longest_queue_or_acd(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    """One agent, a support caller waiting since before an ACD call: when the agent frees
    up, app_queue's caller goes first (the ACD used to take every freed agent at once)."""
    await pause(ami, "support", "PJSIP/1001", "PJSIP/1002")
    queued = await pbx.call(
        "905320000401", "Ali Kaya", SUPPORT_DID, stay_s=16, dtmf="1", dtmf_after_s=2.0
    )
    queued_call = await linkedid_of(ami, "905320000401")
    await seen(ami, "QueueCallerJoin", "the support caller waiting", Uniqueid=queued_call)
    routed = await pbx.call("905320000402", "Elif Koç", ACD_DID, stay_s=45)
    routed_call = await linkedid_of(ami, "905320000402")
    await seen(
        ami, "QueueCallerJoin", "the ACD call on hold", Uniqueid=routed_call, Queue="collections"
    )
    await ami.action("QueuePause", Queue="support", Interface="PJSIP/1001", Paused="false")
    assert await queued.finished() == 0 and await routed.finished() == 0
    await hung_up(ami, routed_call)
    first = await seen(ami, "AgentConnect", "the support caller answered", Uniqueid=queued_call)
    assert first["Interface"] == "PJSIP/1001"
    assert dialled_agent(ami, routed_call) == "PJSIP/1001"
    (routed_answer,) = [
        e for e in ami.named("DialEnd", DialStatus="ANSWER") if e.get("Uniqueid") == routed_call
    ]
    assert seconds(routed_answer) > seconds(first)
    assert (await daemon.row(routed_call))["outcome"] == "answered"
