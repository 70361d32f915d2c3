"""An agent's outbound call (click-to-dial): [cti-outbound] of dialplan/extensions_cti.conf.

Theory of operation
-------------------
The daemon sends an AMI Originate of the agent's phone into [cti-outbound], the customer's
number as the extension and its own ChannelId as the agent leg's Uniqueid (and so the
call's Linkedid). ``originate.py`` rings the agent's phone and answers it; the answered leg
runs the extension here (``dial``): the caller ID the customer sees, the consent mode and
language the customer's leg inherits, then Dial of the number through the trunk, one task
owned by the ``Pbx`` (``_run``).

What the customer's side does is an ``OutboundBehaviour``: the one a test set for the number
(``Pbx.customers``), else one drawn by the configured rates (the demo). Answered, the
customer's leg runs [cti-consent] (Dial's U() option: the recording notice, then
``inbound.consent_step``) before Dial reports the answer and bridges the two legs. The call
ends when either side hangs up: the customer's phone, the agent's, or an AMI Hangup of
either leg (``hang_up``, from ``ami_actions.hangup``).

What AMI shows follows click-to-dial.ami of tests/captures/real/: the customer's leg is born
Down in the trunk's context at ``s`` and takes the agent's connected line (the number and the
name the Originate gave) as its caller ID; DialBegin and DialEnd come from the agent's leg;
the consent events name [cti-consent]; the customer enters the bridge first; the party that
hangs up leaves it first. The other endings follow app_dial's source (Asterisk 22), not a
capture: a carrier's refusal (busy, congestion) is the customer's HangupRequest with its
cause, DialEnd, and that cause on the agent's leg too (app_dial copies it, the dialplan's
Hangup() keeps it); a trunk with no reachable contact makes no customer leg at all.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator import inbound
from cti.simulator.config import OUTBOUND_OUTCOMES, OutboundBehaviour
from cti.simulator.model import CAUSE_NONE, CAUSE_NORMAL, TRUNK_CONTEXT, Channel, OutboundCall

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx

PATTERN = "_X."  # [cti-outbound]'s one extension: the customer's number
# A carrier's refusal: Dial's status, the cause res_pjsip maps the SIP answer to, that answer.
REFUSALS = {"busy": ("BUSY", 17, 486), "congestion": ("CONGESTION", 34, 503)}
# chan_pjsip's cause when it cannot make the channel: the trunk has no contact to send to.
CAUSE_NO_ROUTE = 3
DISPOSITIONS = {
    "ANSWER": "ANSWERED",
    "BUSY": "BUSY",
    "NOANSWER": "NO ANSWER",
    "CANCEL": "NO ANSWER",
}


def dial(pbx: Pbx, agent: Channel) -> None:
    """The agent's answered leg runs [cti-outbound]: the caller ID the customer sees and what
    the customer's leg inherits, then Dial (``_run``)."""
    config = pbx.config.outbound
    number = agent.exten
    hangup_by = asyncio.get_running_loop().create_future()
    call = OutboundCall(agent, number, _behaviour(pbx, number), hangup_by)
    pbx.outbound[agent.linkedid] = call
    pbx.exten(agent, 1, "NoOp", f"Outbound to {number}")
    pbx.exten(agent, 2, "Set", f"CALLERID(all)={config.callerid}")
    agent.caller_num, agent.caller_name = config.callerid, ""
    pbx.caller_id_changed(agent)
    pbx.exten(agent, 3, "Set", f"_CONSENT_MODE={config.consent}")
    pbx.varset(agent, "CONSENT_MODE", config.consent)
    pbx.exten(agent, 4, "Set", f"_CTI_LANGUAGE={config.language}")
    pbx.varset(agent, "CTI_LANGUAGE", config.language)
    pbx.exten(agent, 5, "Dial", _dial_data(pbx, number))
    pbx.own(_run(pbx, call), f"outbound {agent.linkedid}")


def hang_up(pbx: Pbx, channel: Channel) -> bool:
    """An AMI Hangup of ``channel``: True when it is a leg of an outbound call, which then
    ends as its task plays it."""
    for call in pbx.outbound.values():
        for party, leg in (("agent", call.agent), ("customer", call.customer)):
            if leg is channel:
                call.end(party, soft=True)
                return True
    return False


def _behaviour(pbx: Pbx, number: str) -> OutboundBehaviour:
    """The behaviour a test set for ``number``, else one drawn by the configured rates."""
    chosen = pbx.customers.get(number)
    if chosen is not None:
        return chosen
    config, rng = pbx.config.outbound, pbx.rng
    return OutboundBehaviour(
        rng.choices(OUTBOUND_OUTCOMES, config.rates())[0],
        answer_after_s=rng.uniform(*config.answer_delay_s),
        talk_s=rng.uniform(*config.talk_s),
    )


def _dial_data(pbx: Pbx, number: str) -> str:
    config = pbx.config.outbound
    return f"PJSIP/{number}@{config.trunk},{config.ring_s:g},U(cti-consent)"


async def _run(pbx: Pbx, call: OutboundCall) -> None:
    try:
        if call.behaviour.outcome == "unreachable":
            return _no_channel(pbx, call)
        call.customer = _customer_leg(pbx, call)
        status = await _ring(pbx, call)
        if status != "ANSWER":
            return _not_answered(pbx, call, status)
        if await _notice(pbx, call):
            await _talk(pbx, call)
    finally:
        pbx.outbound.pop(call.agent.linkedid, None)


def _no_channel(pbx: Pbx, call: OutboundCall) -> None:
    """The trunk cannot take the call: no channel, so no DialBegin or DialEnd; Dial gives
    the agent's leg the cause chan_pjsip gave (app_dial: "Unable to create channel")."""
    _dialplan_hangup(pbx, call, "CHANUNAVAIL", CAUSE_NO_ROUTE)


def _customer_leg(pbx: Pbx, call: OutboundCall) -> Channel:
    """Dial makes the customer's leg through the trunk, with the agent's connected line (whom
    the agent calls) as its caller ID and the agent's caller ID as its connected line."""
    agent, trunk = call.agent, pbx.config.outbound.trunk
    technology = pbx.config.trunk.split("/", 1)[0]
    customer = pbx.new_channel(f"{technology}/{trunk}", "", "", agent.linkedid, TRUNK_CONTEXT, "s")
    customer.application, customer.app_data = "AppDial", "(Outgoing Line)"
    customer.exten = call.number
    customer.caller_num, customer.caller_name = agent.connected_num, agent.connected_name
    customer.connected_num, customer.connected_name = agent.caller_num, agent.caller_name
    pbx.caller_id_changed(customer)
    pbx.emit("NewConnectedLine", "call,all", customer.fields())
    pbx.emit(
        "DialBegin",
        "call,all",
        agent.fields(),
        customer.fields("Dest"),
        {"DialString": f"{call.number}@{trunk}"},
    )
    return customer


async def _ring(pbx: Pbx, call: OutboundCall) -> str:
    """The customer's phone rings until it is answered or Dial's timeout, or the carrier
    refuses the call; returns Dial's status (CANCEL: the agent hung up first)."""
    assert call.customer is not None
    behaviour, ring_s = call.behaviour, pbx.config.outbound.ring_s
    if behaviour.outcome not in REFUSALS:
        pbx.set_state(call.customer, 5)
        pbx.dial_status("DialState", call.agent, call.customer, "RINGING")
    wait_s = ring_s if behaviour.outcome == "no-answer" else min(behaviour.answer_after_s, ring_s)
    await asyncio.wait({call.hangup_by}, timeout=wait_s)
    if call.hangup_by.done():
        # The customer's leg hung up by AMI while ringing ends the Dial as an unanswered one.
        return "CANCEL" if call.hangup_by.result() == "agent" else "NOANSWER"
    if behaviour.outcome in REFUSALS:
        return REFUSALS[behaviour.outcome][0]
    answered = behaviour.outcome == "answer" and behaviour.answer_after_s < ring_s
    return "ANSWER" if answered else "NOANSWER"


def _not_answered(pbx: Pbx, call: OutboundCall, status: str) -> None:
    customer = call.customer
    assert customer is not None
    if status == "CANCEL":  # app_dial hangs the ringing leg up with the agent's cause
        _hangup_request(pbx, call, call.agent)
        pbx.dial_status("DialEnd", call.agent, customer, status)
        pbx.hangup_channel(customer, CAUSE_NORMAL)
        pbx.hangup_channel(call.agent, CAUSE_NORMAL)
        _cdr(pbx, call, DISPOSITIONS[status])
        return
    cause = CAUSE_NORMAL  # the agent's leg: Hangup()'s own when Dial set none
    if status in ("BUSY", "CONGESTION"):
        _, cause, sip = REFUSALS[call.behaviour.outcome]
        # The carrier's final answer ends the customer's leg with its cause (chan_pjsip).
        pbx.emit(
            "HangupRequest",
            "call,all",
            customer.fields(),
            {"Cause": str(cause), "TechCause": str(sip)},
        )
    elif call.hangup_by.done():  # the ringing customer's leg hung up by AMI: no cause given
        _hangup_request(pbx, call, customer)
    pbx.dial_status("DialEnd", call.agent, customer, status)
    pbx.hangup_channel(customer, CAUSE_NONE if status == "NOANSWER" else cause)
    _dialplan_hangup(pbx, call, status, cause)


def _dialplan_hangup(pbx: Pbx, call: OutboundCall, status: str, cause: int) -> None:
    """[cti-outbound] goes on after an unanswered Dial: Hangup(), which keeps the cause Dial
    left on the agent's leg."""
    agent = call.agent
    pbx.varset(agent, "DIALSTATUS", status)
    pbx.exten(agent, 6, "Hangup", "")
    pbx.emit("SoftHangupRequest", "call,all", agent.fields(), {"Cause": str(cause)})
    pbx.hangup_channel(agent, cause)
    disposition = DISPOSITIONS.get(status, "FAILED")
    _cdr(pbx, call, disposition)


async def _notice(pbx: Pbx, call: OutboundCall) -> bool:
    """The customer answers and hears the recording notice ([cti-consent], run by Dial's U()
    on their leg) before the agent is connected; False when someone hung up meanwhile."""
    customer, behaviour = call.customer, call.behaviour
    assert customer is not None
    config = pbx.config.outbound
    pbx.set_state(customer, 6)
    customer.exten = ""  # app_dial clears the answered leg's extension
    if config.consent == "none":
        return True
    notice_s = pbx.config.announcement_s
    if behaviour.hangs_up_in_notice:
        await asyncio.wait({call.hangup_by}, timeout=notice_s / 2)
        call.end("customer", soft=False)
    await asyncio.wait({call.hangup_by}, timeout=notice_s)
    if call.hangup_by.done():
        _gone_in_notice(pbx, call)
        return False
    inbound.consent_step(pbx, customer, behaviour.consent, config.consent, config.language)
    return True


def _gone_in_notice(pbx: Pbx, call: OutboundCall) -> None:
    """A hang-up during the notice: the gosub ends, Dial reports the answer (U() returned
    without a GOSUB_RESULT) and both legs go without ever being bridged."""
    first, second = _parties(call)
    _hangup_request(pbx, call, first)
    assert call.customer is not None
    pbx.dial_status("DialEnd", call.agent, call.customer, "ANSWER")
    pbx.hangup_channel(first, CAUSE_NORMAL)
    pbx.hangup_channel(second, CAUSE_NORMAL)
    _cdr(pbx, call, "ANSWERED")


async def _talk(pbx: Pbx, call: OutboundCall) -> None:
    """Dial reports the answer and bridges the customer with the agent until one hangs up
    (the customer after their talk time, unless the agent hangs up first)."""
    customer, agent = call.customer, call.agent
    assert customer is not None
    pbx.dial_status("DialEnd", agent, customer, "ANSWER")
    pbx.bridge(customer, agent)
    await asyncio.wait({call.hangup_by}, timeout=call.behaviour.talk_s)
    call.end("customer", soft=False)  # their talk is over, unless someone hung up already
    first, second = _parties(call)
    if not call.soft:
        pbx.emit("HangupRequest", "call,all", first.fields())
    pbx.unbridge(first, second)
    pbx.hangup_channel(first, CAUSE_NORMAL)
    pbx.hangup_channel(second, CAUSE_NORMAL)
    _cdr(pbx, call, "ANSWERED")


def _cdr(pbx: Pbx, call: OutboundCall, disposition: str) -> None:
    pbx.cdr_of(call.agent, disposition, call.customer, "Dial", _dial_data(pbx, call.number))


def _parties(call: OutboundCall) -> tuple[Channel, Channel]:
    """(the leg that hung up, the other one)."""
    assert call.customer is not None
    if call.hangup_by.result() == "agent":
        return call.agent, call.customer
    return call.customer, call.agent


def _hangup_request(pbx: Pbx, call: OutboundCall, channel: Channel) -> None:
    """How a hang-up outside a bridge starts: an AMI Hangup is a soft hangup request, a
    phone's BYE the far end's HangupRequest."""
    if call.soft:
        pbx.emit("SoftHangupRequest", "call,all", channel.fields(), {"Cause": str(CAUSE_NORMAL)})
    else:
        pbx.emit("HangupRequest", "call,all", channel.fields())
