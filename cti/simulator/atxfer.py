"""AMI Atxfer and CancelAtxfer: an agent's attended transfer of the queue call they talk on.

Theory of operation
-------------------
manager.c answers Atxfer at once ("Atxfer successfully queued") and plays the features.conf
atxfer code, then the extension, as DTMF into the named channel. Only the agent's leg of an
answered queue call has the feature (Queue's t option): on any other channel the digits go
nowhere. The feature then runs in the call's own task, which ``app_queue.wait_in_queue``
hands over (``consult``), through bridge_basic.c's attended transfer states:

1. the agent's leg holds (Hold; the caller hears music) while the digits are collected,
   until transferdigittimeout after the last one;
2. a Local channel to [cti-transfer-agent] is made: its ;1 half joins a new bridge with the
   agent's leg, its ;2 half runs Dial(PJSIP/<exten>,30) of the consulted agent's phone, which
   answers as any phone of the simulator does (``Simulator.set_phone``, the call's answer
   delay, ``Simulator.answer``);
3. then the first of:

   - the agent's leg hangs up (an AMI Hangup, or ``Simulator.hangup(linkedid, "agent")``):
     the transfer completes (``_complete``): the consultation's bridge merges into the
     caller's, AttendedTransfer Success, the leg goes, app_queue reports AgentComplete with
     reason transfer, and the caller talks with the consulted agent until one of them hangs
     up; a phone still ringing then rings on for the caller (a "blond" transfer);
   - CancelAtxfer (the atxferabort code), the consulted phone ringing past
     atxfernoanswertimeout, or the consulted side hung up or unreachable: the agent's leg goes
     back to the caller (Unhold), the Local channel and the consulted phone hang up, and the
     call goes on as before (``_back``);
   - the caller hangs up: app_queue reports AgentComplete with reason caller; while the
     phone rings the transfer fails (AttendedTransfer Fail) and every leg goes, once answered
     the two agents stay on the line until one of them hangs up (``_caller_gone``).

What AMI shows follows attended-transfer.ami of tests/captures/real/ for the consultation,
its completion and the caller's hang-up after it; the other endings follow bridge_basic.c
and stay as close to that capture's orders as the source allows. Not played: the recall of
the transferring agent when a blond transfer's target never answers (the call ends
instead), swap and three-way (their codes are not in features.conf), and a CancelAtxfer
while the digits are collected (Asterisk takes *1 as more digits and fails to dial them;
here the agent is back with the caller at once).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from cti.asterisk_conf import extension_matches
from cti.simulator import app_queue, route_point, transfer
from cti.simulator.model import (
    CAUSE_NONE,
    CAUSE_NORMAL,
    PHONE_CONTEXT,
    Call,
    Channel,
    Consultation,
    TransferAsked,
)
from cti.simulator.wire import Fields, response

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx

PATTERN = "_X."  # [cti-transfer-agent]'s one extension: the consulted agent's endpoint


# --- the actions --------------------------------------------------------------------------


def atxfer(pbx: Pbx, action_id: str | None, fields: Fields) -> Fields:
    """AMI Atxfer, answered as manager.c's action_atxfer answers it; the transfer itself runs
    in the call's task once the answer is out."""
    name, exten = fields.get("Channel", ""), fields.get("Exten", "")
    if not name:
        return response(action_id, False, "No channel specified")
    if not exten:
        return response(action_id, False, "No extension specified")
    channel = pbx.channels.get(name)
    if channel is None:
        return response(action_id, False, "Channel specified does not exist")
    if not pbx.config.features.atxfer:
        return response(action_id, False, "No attended transfer feature code found")
    call = _agents_call(pbx, channel)
    if call is not None and call.transfer is not None and not call.transfer.done():
        # TRANSFER_CONTEXT: the action's Context, else the channel's own.
        context = fields.get("Context") or channel.context
        call.transfer.set_result(TransferAsked(context, exten, attended=True))
    return response(action_id, True, "Atxfer successfully queued")


def cancel_atxfer(pbx: Pbx, action_id: str | None, fields: Fields) -> Fields:
    """AMI CancelAtxfer, answered as manager.c's action_cancel_atxfer answers it: the
    atxferabort code is played into the channel whether a transfer is in progress or not
    (without one, the digits just go to the other party)."""
    name = fields.get("Channel", "")
    if not name:
        return response(action_id, False, "No channel specified")
    channel = pbx.channels.get(name)
    if channel is None:
        return response(action_id, False, "Channel specified does not exist")
    if not pbx.config.features.atxferabort:
        return response(action_id, False, "No disconnect feature code found")
    call = _agents_call(pbx, channel)
    if call is not None and call.consult is not None:
        _tell(call.consult, "abort")
    return response(action_id, True, "CancelAtxfer successfully queued")


def _agents_call(pbx: Pbx, channel: Channel) -> Call | None:
    """The queue call whose answering agent's leg ``channel`` is: the one leg with the
    transfer features (Queue's t option)."""
    call = pbx.calls.get(channel.linkedid)
    if call is None or call.agent is None or call.agent.channel is not channel:
        return None
    return call


def hang_up(pbx: Pbx, call: Call, channel: Channel) -> bool:
    """An AMI Hangup of ``channel``: True when it is on the consulted side of an attended
    transfer (the Local channel's halves, the consulted phone), which the call's task ends."""
    c = call.consult
    if c is None or channel not in (c.one, c.two, c.phone):
        return False
    _tell(c, "target")
    return True


def answer(pbx: Pbx, call: Call, interface: str | None) -> bool:
    """The consulted phone (``interface``, or any) answers now, if it rings."""
    c = call.consult
    if c is None or c.phone is None or c.answered.done() or interface not in (None, c.interface):
        return False
    if c.ringing is not None and c.ringing is not asyncio.current_task():
        c.ringing.cancel()
    assert c.one is not None and c.two is not None
    phone, one, two = c.phone, c.one, c.two
    device = pbx.devices[c.interface]
    device.ringing -= 1
    device.busy_with = call.caller.linkedid
    pbx.set_state(phone, 6)
    phone.exten = ""  # app_dial clears the answered leg's extension
    pbx.dial_status("DialEnd", two, phone, "ANSWER")
    app_queue.device_changed(pbx, c.interface)
    pbx.set_state(two, 6)
    c.phone_bridge = pbx.bridge_create()
    pbx.set_state(one, 6)
    # The bridge reads ;1's answer as a dial without a calling channel.
    pbx.emit("DialEnd", "call,all", one.fields("Dest"), {"DialStatus": "ANSWER"})
    pbx.bridge_enter(c.phone_bridge, phone)
    pbx.bridge_enter(c.phone_bridge, two)
    c.answered.set_result(None)
    return True


# --- the transfer, in the call's task -----------------------------------------------------


async def consult(pbx: Pbx, call: Call, asked: TransferAsked, talk_ends: float) -> bool:
    """The attended transfer ``asked`` for; True: the queue call goes on as before (the
    agent back with the caller, or a hang-up app_queue ends as usual), False: it has ended
    here. ``talk_ends``: when the caller hangs up, whoever they are talking to."""
    assert call.agent is not None
    agent, caller = call.agent.channel, call.caller
    loop = asyncio.get_running_loop()
    c = call.consult = Consultation(
        asked.exten, caller.bridge, loop.create_future(), loop.create_future()
    )
    try:
        pbx.emit("Hold", "call,all", agent.fields())
        pbx.emit("MusicOnHoldStart", "call,all", caller.fields(), {"Class": "default"})
        digits_end = time.monotonic() + pbx.config.features.transfer_digit_timeout_s
        happened = await _next(pbx, call, c, talk_ends, digits_end)
        if happened in ("caller", "agent"):
            return True  # the feature gives up with the channel; app_queue ends the call
        dialled = asked.context == transfer.TO_AGENT and extension_matches(PATTERN, asked.exten)
        if happened == "abort" or not dialled:  # no such extension: the feature gives up
            _unhold(pbx, agent, caller)
            return True
        if not _call_target(pbx, call, c):
            _back(pbx, call, c, "target")
            return True
        return await _consulting(pbx, call, c, talk_ends)
    finally:
        if c.ringing is not None:
            c.ringing.cancel()
        call.consult = None


async def _consulting(pbx: Pbx, call: Call, c: Consultation, talk_ends: float) -> bool:
    """The consulted phone rings, then the agents talk, until something ends it."""
    ring_ends = c.rang_at + pbx.config.features.atxfer_no_answer_s
    while True:
        happened = await _next(pbx, call, c, talk_ends, _ringing_until(c, ring_ends))
        if happened == "answer":
            continue
        if happened == "agent":
            _complete(pbx, call, c)
            return await _transferred(pbx, call, c, talk_ends, ring_ends)
        if happened == "caller":
            return await _caller_gone(pbx, call, c)
        _back(pbx, call, c, happened)  # abort, timeout (no answer), target
        return True


def _call_target(pbx: Pbx, call: Call, c: Consultation) -> bool:
    """The Local channel to [cti-transfer-agent]: ;1 into the consultation's bridge, where
    the agent's leg moves, ;2 Dials the phone. False: Dial could not ring it (no such
    phone, or busy), and ;2 has gone on to Hangup()."""
    assert call.agent is not None
    agent, caller = call.agent.channel, call.caller
    one, two = pbx.new_local_pair(c.exten, transfer.TO_AGENT, caller.linkedid)
    c.one, c.two = one, two
    c.bridge = pbx.bridge_create()
    two.caller_num, two.caller_name = agent.caller_num, agent.caller_name
    pbx.caller_id_changed(two)
    pbx.emit(
        "LocalBridge",
        "call,all",
        one.fields("LocalOne"),
        two.fields("LocalTwo"),
        {"Context": transfer.TO_AGENT, "Exten": c.exten, "LocalOptimization": "Yes"},
    )
    one.connected_num, one.connected_name = agent.caller_num, agent.caller_name
    pbx.emit("NewConnectedLine", "call,all", one.fields())
    pbx.bridge_enter(c.bridge, one)
    pbx.bridge_leave(agent)
    pbx.bridge_enter(c.bridge, agent)
    agent.connected_num, agent.connected_name = "", ""
    pbx.emit("NewConnectedLine", "call,all", agent.fields())
    pbx.exten(two, 1, "NoOp", f"Transferred to agent {c.exten}")
    pbx.exten(two, 2, "Dial", f"PJSIP/{c.exten},{transfer.RING_S:g}")
    interface = transfer.phone(pbx, c.exten) or f"PJSIP/{c.exten}"
    status = route_point.dial_refused(pbx, interface)
    if status is not None:
        pbx.varset(two, "DIALSTATUS", status)
        pbx.exten(two, 3, "Hangup", "")
        return False
    _ring(pbx, call, c, interface)
    return True


def _ring(pbx: Pbx, call: Call, c: Consultation, interface: str) -> None:
    """;2's Dial makes the phone's leg and rings it; the bridge reads ;1's ringing as a dial
    without a calling channel."""
    assert call.agent is not None and c.one is not None and c.two is not None
    agent, one, two = call.agent.channel, c.one, c.two
    device = pbx.devices[interface]
    device.ringing += 1
    c.interface, c.rang_at = interface, time.monotonic()
    phone = c.phone = pbx.new_channel(interface, "", "", agent.linkedid, PHONE_CONTEXT, "s")
    phone.application, phone.app_data = "AppDial", "(Outgoing Line)"
    phone.caller_num, phone.exten = c.exten, c.exten  # Dial names the leg by the number
    phone.connected_num, phone.connected_name = agent.caller_num, agent.caller_name
    pbx.caller_id_changed(phone)
    pbx.emit("NewConnectedLine", "call,all", phone.fields())
    pbx.emit("DialBegin", "call,all", two.fields(), phone.fields("Dest"), {"DialString": c.exten})
    for party in (two, agent):  # both now see whom they call
        party.connected_num, party.connected_name = c.exten, ""
        pbx.emit("NewConnectedLine", "call,all", party.fields())
    pbx.set_state(phone, 5)
    one.caller_num, one.caller_name = c.exten, ""
    pbx.set_state(one, 5)
    pbx.caller_id_changed(one)
    pbx.emit("DialState", "call,all", one.fields("Dest"), {"DialStatus": "RINGING"})
    pbx.dial_status("DialState", two, phone, "RINGING")
    app_queue.device_changed(pbx, interface)
    delay = call.spec.answer_after
    if device.answers and delay is not None:
        c.ringing = pbx.own(_answers_after(pbx, call, delay), f"ring {phone.name}")


async def _answers_after(pbx: Pbx, call: Call, delay: float) -> None:
    await asyncio.sleep(delay)
    answer(pbx, call, None)


async def _next(
    pbx: Pbx, call: Call, c: Consultation, talk_ends: float | None, until: float | None
) -> str:
    """Wait for what happens next: "caller" or "agent" (a hang-up; the caller's talk time
    running out is the caller's), "abort", "target", "answer" (the consulted phone, while it
    rings), or "timeout" (``until`` passed)."""
    ends = [t for t in (talk_ends, until) if t is not None]
    timeout = max(0.0, min(ends) - time.monotonic()) if ends else None
    waits: set[asyncio.Future[Any]] = {call.hangup_by, c.news}
    if c.phone is not None and not c.answered.done():
        waits.add(c.answered)
    await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if call.hangup_by.done():
        return call.hangup_by.result()
    if c.news.done():
        happened = c.news.result()
        c.news = asyncio.get_running_loop().create_future()
        return happened
    if c.answered in waits and c.answered.done():
        return "answer"
    if until is None or (talk_ends is not None and talk_ends <= until):
        pbx.hangup(call.caller.linkedid, "caller")  # their talk is over
        return "caller"
    return "timeout"


def _ringing_until(c: Consultation, ring_ends: float) -> float | None:
    return None if c.answered.done() else ring_ends


def _tell(c: Consultation, news: str) -> None:
    if not c.news.done():  # a second piece of news at once changes nothing: both end it
        c.news.set_result(news)


# --- how it ends ----------------------------------------------------------------------------


def _complete(pbx: Pbx, call: Call, c: Consultation) -> None:
    """The agent's leg hung up: the consultation's bridge merges into the caller's, without
    that leg (attended-transfer.ami)."""
    assert call.agent is not None and c.one is not None
    attempt, caller, one = call.agent, call.caller, c.one
    agent = attempt.channel
    pbx.emit("MusicOnHoldStop", "call,all", caller.fields())
    pbx.bridge_leave(agent)
    pbx.emit(
        "BridgeMerge",
        "call,all",
        pbx.bridge_fields(c.caller_bridge, "To"),
        pbx.bridge_fields(c.bridge, "From"),
    )
    pbx.bridge_leave(one)
    pbx.bridge_enter(c.caller_bridge, one)
    _attended_transfer(
        pbx,
        "Success",
        agent,
        c,
        caller.fields("Transferee"),
        one.fields("TransferTarget"),
        {"IsExternal": "No", "DestType": "Bridge", "DestBridgeUniqueid": c.caller_bridge},
    )
    one.connected_num, one.connected_name = caller.caller_num, caller.caller_name
    pbx.emit("NewConnectedLine", "call,all", one.fields())
    caller.connected_num, caller.connected_name = c.exten, ""
    pbx.emit("NewConnectedLine", "call,all", caller.fields())
    pbx.bridge_destroy(c.bridge)
    pbx.hangup_channel(agent)
    app_queue.free_member(pbx, attempt.member)
    if c.phone is not None:
        c.phone.connected_num, c.phone.connected_name = caller.caller_num, caller.caller_name
        pbx.emit("NewConnectedLine", "call,all", c.phone.fields())
    app_queue.report_complete(pbx, call, "transfer")
    pbx.cdr_of(agent, "ANSWERED", one, "AppQueue", "(Outgoing Line)")
    call.transferred = True
    # The transferring agent's hang-up is spent; the next one is the consulted agent's.
    call.hangup_by = asyncio.get_running_loop().create_future()


async def _transferred(
    pbx: Pbx, call: Call, c: Consultation, talk_ends: float, ring_ends: float
) -> bool:
    """The caller with the consulted agent (or their phone ringing still) until one of
    them hangs up; always False: the call ends here."""
    while True:
        happened = await _next(pbx, call, c, talk_ends, _ringing_until(c, ring_ends))
        if happened == "answer":
            continue
        if happened == "caller":
            _caller_ends(pbx, call, c)
            return False
        if happened in ("agent", "target", "timeout"):
            caller = call.caller
            bridge = caller.bridge
            if happened == "timeout":
                # The phone never answered: Asterisk hangs ;1 up and would ring the first
                # agent back (atxfercallbackretries); not played: the call ends.
                assert c.one is not None
                pbx.bridge_leave(c.one)
                _near_side_ends(pbx, c)
            else:  # the consulted agent's phone (a BYE), or an AMI Hangup of their side
                _far_side_ends(pbx, c, by_phone=happened == "agent")
            pbx.bridge_leave(caller)
            pbx.bridge_destroy(bridge)
            pbx.emit("SoftHangupRequest", "call,all", caller.fields(), {"Cause": str(CAUSE_NORMAL)})
            pbx.hangup_channel(caller)
            pbx.cdr(call, "ANSWERED", c.one)
            _free_phone(pbx, c)
            return False


def _caller_ends(pbx: Pbx, call: Call, c: Consultation) -> None:
    """The caller hangs up on the consulted agent (attended-transfer.ami's end)."""
    caller, one = call.caller, c.one
    assert one is not None
    bridge = caller.bridge
    pbx.emit("HangupRequest", "call,all", caller.fields())
    pbx.bridge_leave(caller)
    pbx.emit("SoftHangupRequest", "call,all", caller.fields(), {"Cause": str(CAUSE_NORMAL)})
    pbx.bridge_leave(one)
    pbx.bridge_destroy(bridge)
    _near_side_ends(pbx, c)
    pbx.hangup_channel(caller)
    _free_phone(pbx, c)
    pbx.cdr(call, "ANSWERED", one)


def _back(pbx: Pbx, call: Call, c: Consultation, why: str) -> None:
    """bridge_basic.c's Rebridge: the agent's leg back in the caller's bridge and off hold,
    the consultation's bridge gone, and with it the Local channel and the consulted phone,
    from whichever side ended it (``why``: "target", the consulted side; else the agent's:
    CancelAtxfer, or the phone rang too long)."""
    assert call.agent is not None and c.one is not None
    agent, caller = call.agent.channel, call.caller
    if why == "target":
        _far_side_ends(pbx, c, by_phone=False)
    pbx.bridge_leave(agent)
    pbx.bridge_enter(c.caller_bridge, agent)
    _unhold(pbx, agent, caller)
    if why != "target":
        pbx.bridge_leave(c.one)
    pbx.bridge_destroy(c.bridge)
    if why != "target":
        _near_side_ends(pbx, c)
    _free_phone(pbx, c)


async def _caller_gone(pbx: Pbx, call: Call, c: Consultation) -> bool:
    """The caller hangs up while the agent consults: their queue call is over (AgentComplete,
    reason caller). With the phone ringing the transfer fails and every leg goes; once it
    answered, the consultation goes on as an ordinary call until an agent hangs up. Always
    False: the call ends here."""
    assert call.agent is not None and c.one is not None
    attempt, caller = call.agent, call.caller
    agent = attempt.channel
    pbx.emit("HangupRequest", "call,all", caller.fields())
    pbx.bridge_leave(caller)
    app_queue.report_complete(pbx, call, "caller")
    pbx.hangup_channel(caller)
    pbx.cdr(call, "ANSWERED", agent)
    if c.answered.done():
        pbx.bridge_destroy(c.caller_bridge)
        call.hangup_by = asyncio.get_running_loop().create_future()
        # Any hang-up asked of the call now is the first agent's: theirs is the only phone
        # left on the caller's side.
        happened = ""
        while happened not in ("agent", "caller", "target"):
            happened = await _next(pbx, call, c, None, None)
        if happened != "target":
            pbx.emit("HangupRequest", "call,all", agent.fields())
            pbx.bridge_leave(agent)
            pbx.hangup_channel(agent)
            pbx.bridge_leave(c.one)
            pbx.bridge_destroy(c.bridge)
            _near_side_ends(pbx, c)
        else:
            _far_side_ends(pbx, c, by_phone=False)
            pbx.bridge_leave(agent)
            pbx.bridge_destroy(c.bridge)
            pbx.hangup_channel(agent)
    else:
        _attended_transfer(pbx, "Fail", agent, c, {"IsExternal": "No", "DestType": "Fail"})
        pbx.bridge_destroy(c.caller_bridge)
        pbx.bridge_leave(agent)
        pbx.bridge_leave(c.one)
        pbx.bridge_destroy(c.bridge)
        pbx.hangup_channel(agent)
        _near_side_ends(pbx, c)
    app_queue.free_member(pbx, attempt.member)
    _free_phone(pbx, c)
    return False


def _attended_transfer(
    pbx: Pbx, result: str, agent: Channel, c: Consultation, *rest: Fields
) -> None:
    """AttendedTransfer as stasis_bridges.c writes it: the agent's leg with the caller's
    bridge, then with the consultation's, then ``rest`` (the parties, where the call went)."""
    pbx.emit(
        "AttendedTransfer",
        "call,all",
        {"Result": result},
        agent.fields("OrigTransferer"),
        pbx.bridge_fields(c.caller_bridge, "Orig"),
        agent.fields("SecondTransferer"),
        pbx.bridge_fields(c.bridge, "Second"),
        *rest,
    )


def _near_side_ends(pbx: Pbx, c: Consultation) -> None:
    """Local ;1, out of its bridge, hangs up; ;2 with it, and Dial's phone (as after the
    caller's hang-up in attended-transfer.ami)."""
    assert c.one is not None and c.two is not None
    if c.ringing is not None:
        c.ringing.cancel()
    one, two, phone = c.one, c.two, c.phone
    pbx.emit("HangupRequest", "call,all", two.fields(), {"Cause": str(CAUSE_NORMAL)})
    pbx.hangup_channel(one)
    if phone is None:
        pbx.hangup_channel(two)
    elif c.answered.done():
        bridge = two.bridge
        pbx.bridge_leave(two)
        pbx.emit("SoftHangupRequest", "call,all", two.fields(), {"Cause": str(CAUSE_NORMAL)})
        pbx.hangup_channel(two)
        pbx.bridge_leave(phone)
        pbx.bridge_destroy(bridge)
        pbx.hangup_channel(phone)
    else:  # Dial gives up on the ringing phone
        pbx.dial_status("DialEnd", two, phone, "CANCEL")
        pbx.hangup_channel(phone, CAUSE_NONE)
        pbx.hangup_channel(two)


def _far_side_ends(pbx: Pbx, c: Consultation, by_phone: bool) -> None:
    """The consulted side hangs up: the phone (``by_phone``: its own BYE; else an AMI
    Hangup), then ;2's Dial returns and its Hangup() runs, and ;1 follows, out of its
    bridge. A phone still ringing rejected the call; a Dial that could not ring it made
    none."""
    assert c.one is not None and c.two is not None
    if c.ringing is not None:
        c.ringing.cancel()
    one, two, phone = c.one, c.two, c.phone
    if phone is not None and c.answered.done():
        if by_phone:
            pbx.emit("HangupRequest", "call,all", phone.fields())
        else:
            pbx.emit("SoftHangupRequest", "call,all", phone.fields(), {"Cause": str(CAUSE_NORMAL)})
        bridge = phone.bridge
        pbx.bridge_leave(phone)
        pbx.hangup_channel(phone)
        pbx.bridge_leave(two)
        pbx.bridge_destroy(bridge)
    elif phone is not None:
        pbx.dial_status("DialEnd", two, phone, "BUSY")
        pbx.hangup_channel(phone, CAUSE_NONE)
    pbx.emit("SoftHangupRequest", "call,all", two.fields(), {"Cause": str(CAUSE_NORMAL)})
    pbx.hangup_channel(two)
    pbx.emit("HangupRequest", "call,all", one.fields(), {"Cause": str(CAUSE_NORMAL)})
    pbx.bridge_leave(one)
    pbx.hangup_channel(one)


def _free_phone(pbx: Pbx, c: Consultation) -> None:
    """The consulted phone is free again (app_queue may ring it for its queues)."""
    if c.phone is None:
        return
    device = pbx.devices[c.interface]
    if c.answered.done():
        device.busy_with = None
    else:
        device.ringing -= 1
    app_queue.device_changed(pbx, c.interface)
    app_queue.dispatch(pbx)


def _unhold(pbx: Pbx, agent: Channel, caller: Channel) -> None:
    pbx.emit("Unhold", "call,all", agent.fields())
    pbx.emit("MusicOnHoldStop", "call,all", caller.fields())
