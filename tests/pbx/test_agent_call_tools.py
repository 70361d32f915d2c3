"""An agent's own call tools on a real Asterisk: hang up and blind transfer from the panel,
checked against what Asterisk did (its AMI events and queue_log)."""

from __future__ import annotations

import json

from ami_reader import RawAmi
from conftest import LiveDaemon, Pbx
from facts import hung_up, queue_facts, seen
from phones import Caller

from cti.keys import DATABASE


async def _post(daemon: LiveDaemon, path: str, body: dict[str, object]) -> tuple[int, str]:
    agent, csrf = await daemon.signed_in("agent1")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with agent.post(path, headers=headers, json=body) as r:
        return r.status, await r.text()


async def test_the_agent_hangs_up_from_the_panel(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    linkedid, caller = await pbx.answered_support_call(ami, "905320000601", "Deniz Ak", stay_s=30)
    status, text = await _post(daemon, f"/api/calls/{linkedid}/hangup", {})
    assert status == 200, text
    await hung_up(ami, linkedid)
    assert await caller.finished() == 0
    # Nobody's phone asked to hang up (a BYE from the caller or the agent's phone is a
    # HangupRequest): Asterisk ended the call on our AMI Hangup. queue_log says COMPLETECALLER
    # all the same (app_queue sees the bridge dissolve under the caller), and the two legs'
    # Hangup events come in either order.
    assert not [e for e in ami.named("HangupRequest") if e.get("Linkedid") == linkedid]
    row = await daemon.row(linkedid, ended=True)
    assert row["outcome"] == "answered" and row["agent"] == "PJSIP/1001"
    # Well before the caller's 30 s: the call ended when the agent hung up.
    assert row["talk_s"] is not None and row["talk_s"] < 20


async def test_a_call_of_someone_else_cannot_be_hung_up_or_transferred(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    linkedid, caller = await pbx.answered_support_call(ami, "905320000602", "Can Er", stay_s=20)
    other, csrf = await daemon.signed_in("agent2")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    for path, body in (("hangup", {}), ("transfer", {"queue": "sales"})):
        async with other.post(f"/api/calls/{linkedid}/{path}", headers=headers, json=body) as r:
            assert r.status == 404, await r.text()
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    assert not ami.named("BlindTransfer")


async def test_blind_transfer_to_a_queue(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    linkedid, caller = await pbx.answered_support_call(ami, "905320000603", "Ece Tan", stay_s=25)
    path = f"/api/calls/{linkedid}/transfer"
    for wrong in ({"queue": "nowhere"}, {"agent": "PJSIP/9999"}, {"agent": "PJSIP/1001"}, {}):
        status, text = await _post(daemon, path, wrong)
        assert status == 400, (wrong, status, text)
    status, text = await _post(daemon, path, {"queue": "sales"})
    assert status == 200, text
    await seen(ami, "BlindTransfer", "the transfer", TransfereeUniqueid=linkedid, Result="Success")
    await seen(ami, "QueueCallerJoin", "the caller in sales", Queue="sales", Uniqueid=linkedid)
    await seen(ami, "AgentConnect", "a sales agent answering", Queue="sales", Uniqueid=linkedid)
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    facts = queue_facts(pbx.asterisk, linkedid)
    assert "BLINDTRANSFER" in facts.events(), facts.events()
    # The row names where the call ended: its last queue and agent. Each passage is in
    # call_events: answered in support by 1001, then in sales by whoever took it there.
    row = await daemon.row(linkedid, ended=True)
    assert row["outcome"] == "transferred", row
    (connect,) = ami.named("AgentConnect", Queue="sales", Uniqueid=linkedid)
    assert (row["queue"], row["agent"]) == ("sales", connect["Interface"])
    pool = await daemon.app[DATABASE].pool()
    passages = await pool.fetch(
        "SELECT queue, interface FROM call_events WHERE linkedid = $1 AND kind = 'agent_connect'"
        " ORDER BY at",
        linkedid,
    )
    assert [tuple(p) for p in passages] == [
        ("support", "PJSIP/1001"),
        ("sales", connect["Interface"]),
    ]


async def test_blind_transfer_to_an_agent(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    linkedid, caller = await pbx.answered_support_call(ami, "905320000604", "Ilgaz Su", stay_s=20)
    status, text = await _post(daemon, f"/api/calls/{linkedid}/transfer", {"agent": "PJSIP/1002"})
    assert status == 200, text
    await seen(ami, "BlindTransfer", "the transfer", TransfereeUniqueid=linkedid, Result="Success")
    await seen(ami, "DialEnd", "agent 1002 answering", DialStatus="ANSWER", Uniqueid=linkedid)
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    # The row names where the call ended, as after a transfer into a queue: the agent who
    # took it (their phone was rung directly: cti/state/direct_rings.py).
    row = await daemon.row(linkedid, ended=True)
    assert (row["outcome"], row["agent"]) == ("transferred", "PJSIP/1002"), row


async def test_click_to_dial_rings_the_agent_then_the_customer_with_the_notice(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    """The agent's phone rings first; once they take it the customer's phone behind the
    trunk is dialled, hears the recording notice (implied consent) and is recorded; the agent
    hangs up from the panel. The row: outbound, the agent, the customer's number."""
    status, text = await _post(daemon, "/api/agent/dial", {"number": "+90 532 000 06 05"})
    assert status == 202, text
    linkedid = json.loads(text)["linkedid"]
    leg = await seen(ami, "Newchannel", "the agent's leg", Uniqueid=linkedid)
    assert leg["Channel"].startswith("PJSIP/1001-")
    await seen(ami, "DialEnd", "the customer answering", Uniqueid=linkedid, DialStatus="ANSWER")
    consent = await seen(
        ami, "UserEvent", "the notice", UserEvent="RecordingConsent", Linkedid=linkedid
    )
    assert (consent["Consent"], consent["Method"]) == ("granted", "implied")
    await seen(ami, "MixMonitorStart", "the recording", Linkedid=linkedid)
    status, text = await _post(daemon, f"/api/calls/{linkedid}/hangup", {})
    assert status == 200, text
    await hung_up(ami, linkedid)
    row = await daemon.row(linkedid, ended=True)
    assert (row["direction"], row["agent"], row["outcome"]) == (
        "outbound",
        "PJSIP/1001",
        "answered",
    )
    assert (row["caller_number"], row["queue"], row["consent"]) == ("905320000605", None, "granted")
    assert row["recording"] == f"{consent['Uniqueid']}.wav"
    assert (pbx.asterisk.run / "spool" / "monitor" / row["recording"]).is_file()
    status, text = await _post(daemon, "/api/agent/dial", {"number": "not a number"})
    assert status == 400, text


async def _consulting(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon, number: str) -> tuple[str, Caller]:
    """A support call PJSIP/1001 answered, and 1001 consulting PJSIP/1002 about it (1002 has
    answered the consultation)."""
    linkedid, caller = await pbx.answered_support_call(ami, number, "Sena Yurt", stay_s=40)
    body = {"agent": "PJSIP/1002", "attended": True}
    status, text = await _post(daemon, f"/api/calls/{linkedid}/transfer", body)
    assert status == 200, text
    await ami.wait_for(
        lambda events: any(
            e.get("Event") == "DialEnd"
            and e.get("Linkedid") == linkedid
            and e.get("DestChannel", "").startswith("PJSIP/1002-")
            and e.get("DialStatus") == "ANSWER"
            for e in events
        ),
        "PJSIP/1002 answering the consultation",
        60,
    )
    return linkedid, caller


async def test_attended_transfer_completes_when_the_agent_hangs_up(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    linkedid, caller = await _consulting(pbx, ami, daemon, "905320000606")
    status, text = await _post(daemon, f"/api/calls/{linkedid}/hangup", {})  # "Complete"
    assert status == 200, text
    await seen(
        ami, "AttendedTransfer", "the transfer", Result="Success", TransfereeLinkedid=linkedid
    )
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    row = await daemon.row(linkedid, ended=True)
    assert (row["outcome"], row["agent"], row["queue"]) == ("transferred", "PJSIP/1002", "support")


async def test_a_cancelled_consultation_returns_to_the_caller(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    linkedid, caller = await _consulting(pbx, ami, daemon, "905320000607")
    status, text = await _post(daemon, f"/api/calls/{linkedid}/transfer/cancel", {})
    assert status == 200, text
    assert await caller.finished() == 0
    await hung_up(ami, linkedid)
    assert not ami.named("AttendedTransfer")
    row = await daemon.row(linkedid, ended=True)
    assert (row["outcome"], row["agent"]) == ("answered", "PJSIP/1001"), row
