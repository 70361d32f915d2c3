"""Queue calls on a real Asterisk: each outcome the daemon logs is checked against Asterisk's
own queue_log, and consent and recording against its UserEvents and MixMonitor's files."""

from __future__ import annotations

import pytest
from ami_reader import RawAmi
from asterisk import SALES_DID, SUPPORT_DID
from conftest import LiveDaemon, Pbx
from facts import consent_events, pause, queue_facts


@pytest.mark.parametrize(
    ("key", "consent", "method"),
    [("1", "granted", "dtmf"), ("2", "declined", "dtmf"), (None, "declined", "timeout")],
)
async def test_answered_call_with_explicit_consent(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon, key: str | None, consent: str, method: str
) -> None:
    number = {"1": "905320000001", "2": "905320000002", None: "905320000003"}[key]
    linkedid = await pbx.call_through(
        ami, number, "Ayşe Çağrı Yılmaz", SUPPORT_DID, stay_s=16, dtmf=key, dtmf_after_s=2.0
    )
    row = await daemon.row(linkedid)

    facts = queue_facts(pbx.asterisk, linkedid)
    connect = facts.one("CONNECT")
    assert "COMPLETECALLER" in facts.events() or "COMPLETEAGENT" in facts.events()
    assert row["outcome"] == "answered"
    assert row["agent_name"] == connect.agent
    assert row["caller_number"] == number and row["caller_name"] == "Ayşe Çağrı Yılmaz"
    assert abs(row["wait_s"] - int(connect.data[0])) <= 1

    (reported,) = consent_events(ami, linkedid)
    assert (reported["Consent"], reported["Method"]) == (consent, method)
    assert (row["consent"], row["consent_method"]) == (consent, method)
    recorded = f"{linkedid}.wav" in pbx.asterisk.recordings()
    assert recorded == (consent == "granted")
    assert (row["recording"] is not None) == recorded
    assert row["recording"] == (f"{linkedid}.wav" if recorded else None)


async def test_implied_consent_is_recorded(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    number = "905320000004"
    linkedid = await pbx.call_through(ami, number, "José Müller", SALES_DID, stay_s=12)
    row = await daemon.row(linkedid)
    (reported,) = consent_events(ami, linkedid)
    assert (reported["Consent"], reported["Method"]) == ("granted", "implied")
    assert (row["consent"], row["outcome"]) == ("granted", "answered")
    assert f"{linkedid}.wav" in pbx.asterisk.recordings()
    assert row["agent_name"] == queue_facts(pbx.asterisk, linkedid).one("CONNECT").agent


async def test_caller_abandon(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    await pause(ami, "sales", "PJSIP/1003", "PJSIP/1004")
    number = "905320000005"
    # The caller hangs up 9 s after the answer: the notice is 3.5 s.
    linkedid = await pbx.call_through(ami, number, "Fatma Demir", SALES_DID, stay_s=9)
    row = await daemon.row(linkedid)
    abandon = queue_facts(pbx.asterisk, linkedid).one("ABANDON")
    assert row["outcome"] == "abandoned" and row["agent"] is None
    assert abs(row["wait_s"] - int(abandon.data[2])) <= 1


async def test_queue_timeout_is_not_an_abandon(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    """Asterisk sends QueueCallerAbandon for a Queue() timeout too; queue_log says
    EXITWITHTIMEOUT. The overlay sets the queue timeout to 16 s."""
    await pause(ami, "sales", "PJSIP/1003", "PJSIP/1004")
    number = "905320000006"
    # The caller would stay 40 s: Asterisk hangs up after the timeout.
    linkedid = await pbx.call_through(ami, number, "Mehmet Öztürk", SALES_DID, stay_s=40)
    row = await daemon.row(linkedid)
    facts = queue_facts(pbx.asterisk, linkedid)
    timeout = facts.one("EXITWITHTIMEOUT")
    assert "ABANDON" not in facts.events()
    assert ami.named("QueueCallerAbandon", Uniqueid=linkedid)  # what misled the daemon
    assert row["outcome"] == "timed_out"
    assert abs(row["wait_s"] - int(timeout.data[2])) <= 1


async def test_ring_no_answer(pbx: Pbx, ami: RawAmi, daemon: LiveDaemon) -> None:
    pbx.phones["1002"].start(answer_after_ms=None)
    await pause(ami, "support", "PJSIP/1001")
    number = "905320000007"
    linkedid = await pbx.call_through(
        ami, number, "Ali Kaya", SUPPORT_DID, stay_s=30, dtmf="1", dtmf_after_s=2.0
    )
    row = await daemon.row(linkedid)
    facts = queue_facts(pbx.asterisk, linkedid)
    no_answers = [line for line in facts.lines if line.event == "RINGNOANSWER"]
    assert no_answers and all(line.agent == "Agent 1002" for line in no_answers)
    assert row["no_answer_count"] == len(no_answers)
    assert row["outcome"] == ("timed_out" if "EXITWITHTIMEOUT" in facts.events() else "abandoned")
