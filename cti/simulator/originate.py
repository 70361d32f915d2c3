"""AMI Originate, and ChanSpy on the legs it makes: a supervisor listening to an agent.

Theory of operation
-------------------
An AMI Originate rings a phone from its endpoint's context ([agents]) and, once answered,
runs the Originate's extension (``_run_originated``): a [cti-spy-<mode>] extension is
ChanSpy on the agent's channel (ChanSpyStart/ChanSpyStop), and with option E the
supervisor's leg ends with it; a [cti-outbound] extension is an agent's outbound call
(``outbound.py``). A ChanSpy with nobody to listen to keeps looking: every new channel may
be the one (``spy_look``, from ``Pbx.new_channel``); every hangup may end one
(``stop_spying``, from ``Pbx.hangup_channel``).

The phone an Originate rings is the same ``Device`` app_queue rings, so a queue does not
ring it meanwhile; ``originated_gone`` frees it and lets app_queue ring it again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.asterisk_conf import extension_matches
from cti.simulator import app_queue, outbound
from cti.simulator.model import OUTBOUND_CONTEXT, UNKNOWN, Channel, Spy
from cti.simulator.wire import Fields, response

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx

# The project's dialplan for an originated supervisor leg (dialplan/extensions_cti.conf):
# context -> (its one extension pattern, ChanSpy's options).
SPY_DIALPLAN = {
    "cti-spy-listen": ("_X.", "qE"),
    "cti-spy-whisper": ("_X.", "qwE"),
    "cti-spy-barge": ("_X.", "qBE"),
}
# The one extension pattern of each context an Originate may name whose dialplan the
# simulator plays.
EXTENSIONS = {
    **{context: pattern for context, (pattern, _) in SPY_DIALPLAN.items()},
    OUTBOUND_CONTEXT: outbound.PATTERN,
}
# OriginateResponse's Reason: the last control frame of the dialled phone; none (a call
# failure: no channel could be made) is 0.
REASON_FAILURE, REASON_NO_ANSWER, REASON_ANSWERED = 0, 3, 4
MAX_UNIQUEID = 149  # AST_MAX_PUBLIC_UNIQUEID: the longest ChannelId manager.c takes


def originate(pbx: Pbx, action_id: str | None, fields: Fields) -> Fields:
    """AMI Originate, answered as manager.c answers one with Async (the only kind the
    daemon sends): "Originate successfully queued" at once; the phone rings, and the
    OriginateResponse event with the same ActionID follows when it answers (after
    ``config.originate_answer_s``, or at ``answer_originated()``; never if the phone does
    not answer, ``Simulator.set_phone``) or when the action's Timeout runs out. The
    answered leg then runs its extension (``_run_originated``).

    As in supervisor-listen.ami and click-to-dial.ami (tests/captures/real/): the leg is
    born Down in the phone's context at ``s`` without caller ID (its Uniqueid the action's
    ChannelId, if any, which is also its Linkedid), gets the Originate's CallerID
    (NewCallerid), is dialled like a Dial's leg (DialBegin and DialEnd without a calling
    channel), and moves to the Originate's context and extension once answered."""
    target, channel_id = fields.get("Channel", ""), fields.get("ChannelId", "")
    if len(channel_id) > MAX_UNIQUEID:
        return response(action_id, False, f"Uniqueid length exceeds maximum of {MAX_UNIQUEID}")
    if not target:
        return response(action_id, False, "Channel not specified")
    try:
        timeout_s = int(fields.get("Timeout") or 30000) / 1000
    except ValueError:
        return response(action_id, False, "Invalid timeout")
    if "/" not in target:
        return response(action_id, False, "Invalid channel")
    context, exten = fields.get("Context", "default"), fields.get("Exten", "s")
    # manager.c looks the extension up first when a Priority is given.
    pattern = EXTENSIONS.get(context)
    if fields.get("Priority") and pattern is not None and not extension_matches(pattern, exten):
        return response(action_id, False, "Extension does not exist.")
    pbx.own(_place(pbx, action_id, fields, timeout_s), f"originate {target}")
    return response(action_id, True, "Originate successfully queued")


async def _place(pbx: Pbx, action_id: str | None, fields: Fields, timeout_s: float) -> None:
    """What manager.c's originating thread does once the action has its answer: make the
    leg, ring the phone and tell how it went (OriginateResponse)."""
    target, channel_id = fields.get("Channel", ""), fields.get("ChannelId", "")
    display, _, number = fields.get("CallerID", "").partition("<")  # "Name" <number>
    caller = number.rstrip(">").strip(), display.strip(' "')
    failed = _failure(action_id, fields, REASON_NO_ANSWER, caller)
    if channel_id and any(c.uniqueid == channel_id for c in pbx.channels.values()):
        # channel.c cannot make the leg ("Channel Unique ID ... already in use").
        pbx.emit("OriginateResponse", "call,all", failed | {"Reason": str(REASON_FAILURE)})
        return
    context, exten = fields.get("Context", "default"), fields.get("Exten", "s")
    leg = pbx.new_channel(target, "", "", None, context, exten, waiting=True, uniqueid=channel_id)
    leg.caller_num, leg.caller_name = caller
    pbx.caller_id_changed(leg)
    leg.connected_num, leg.connected_name = leg.caller_num, leg.caller_name
    leg.application, leg.app_data = fields.get("Application", ""), fields.get("Data", "")
    device = pbx.device_of(target)
    if device is not None:
        pbx.originated_devices[leg.name] = device
        pbx.devices[device].ringing += 1
    pbx.emit("DialBegin", "call,all", leg.fields("Dest"), {"DialString": target.split("/", 1)[-1]})
    pbx.set_state(leg, 5)
    app_queue.device_changed(pbx, device)
    pbx.emit("DialState", "call,all", leg.fields("Dest"), {"DialStatus": "RINGING"})
    answered = pbx.originated[leg.name] = asyncio.get_running_loop().create_future()
    await _ring_originated(pbx, leg, answered, timeout_s, failed)


def _failure(action_id: str | None, fields: Fields, reason: int, caller: tuple[str, str]) -> Fields:
    """OriginateResponse as manager.c's fast_originate writes it when no answered channel
    came of it: Failure, the channel as asked for, the ChannelId (if any) as the Uniqueid.
    It names the extension, or the application, the leg was to run."""
    application = fields.get("Application", "")
    where: Fields = (
        {"Application": application, "Data": fields.get("Data", "")}
        if application
        else {"Context": fields.get("Context", "default"), "Exten": fields.get("Exten", "s")}
    )
    return {
        "ActionID": action_id or "",
        "Response": "Failure",
        "Channel": fields.get("Channel", ""),
        **where,
        "Reason": str(reason),
        "Uniqueid": fields.get("ChannelId") or UNKNOWN,
        "CallerIDNum": caller[0] or UNKNOWN,
        "CallerIDName": caller[1] or UNKNOWN,
    }


def answer_originated(pbx: Pbx, device: str) -> bool:
    """Answer the ringing originated leg to ``device`` (e.g. a supervisor's SIP/1009)."""
    for name, answered in pbx.originated.items():
        if name.startswith(f"{device}-") and not answered.done():
            answered.set_result(None)
            return True
    return False


async def _ring_originated(
    pbx: Pbx,
    leg: Channel,
    answered: asyncio.Future[None],
    timeout_s: float,
    failed: Fields,
) -> None:
    device = pbx.originated_devices.get(leg.name)
    answers = device is None or pbx.devices[device].answers
    answer_s = pbx.config.originate_answer_s if answers else None
    ring_s = answer_s if answer_s is not None and answer_s < timeout_s else timeout_s
    try:
        await asyncio.wait({answered}, timeout=ring_s)
    finally:
        del pbx.originated[leg.name]
    picked_up = answered.done() or ring_s < timeout_s
    if not picked_up or leg.name not in pbx.channels:  # no answer, or hung up meanwhile
        if leg.name in pbx.channels:
            pbx.emit("DialEnd", "call,all", leg.fields("Dest"), {"DialStatus": "NOANSWER"})
            pbx.hangup_channel(leg, cause=19)
        pbx.emit("OriginateResponse", "call,all", failed)
        return
    if device is not None:
        pbx.devices[device].ringing -= 1
        pbx.devices[device].busy_with = leg.linkedid
    pbx.set_state(leg, 6)
    app_queue.device_changed(pbx, device)
    pbx.emit("DialEnd", "call,all", leg.fields("Dest"), {"DialStatus": "ANSWER"})
    answer = failed | {
        "Response": "Success",
        "Channel": leg.name,
        "Reason": str(REASON_ANSWERED),
        "Uniqueid": leg.uniqueid,
    }
    pbx.emit("OriginateResponse", "call,all", answer)
    leg.waiting_in = None  # in the Originate's extension (or application) from now on
    _run_originated(pbx, leg)


def originated_gone(pbx: Pbx, channel: Channel) -> None:
    """An Originate's leg hung up: its phone is free again (or stops ringing)."""
    device = pbx.originated_devices.pop(channel.name, None)
    if device is None:
        return
    phone = pbx.devices[device]
    if phone.busy_with == channel.linkedid:
        phone.busy_with = None
    elif channel.state != 6:
        phone.ringing -= 1
    app_queue.device_changed(pbx, device)
    app_queue.dispatch(pbx)


def _run_originated(pbx: Pbx, leg: Channel) -> None:
    """The answered leg enters the dialplan: a [cti-spy-<mode>] extension starts ChanSpy
    (the supervisor listens in), a [cti-outbound] one dials the customer (the agent calls
    out); an extension the dialplan lacks is hung up, as Asterisk does with "sent to
    invalid extension"."""
    if leg.application:  # Originate with Application: that runs instead of an extension
        return
    if leg.context == OUTBOUND_CONTEXT and extension_matches(outbound.PATTERN, leg.exten):
        outbound.dial(pbx, leg)
        return
    spy = SPY_DIALPLAN.get(leg.context)
    if spy is None or not extension_matches(spy[0], leg.exten):
        pbx.hangup_channel(leg)
        return
    prefix = f"PJSIP/{leg.exten}-"
    pbx.exten(leg, 1, "ChanSpy", f"{prefix},{spy[1]}")
    pbx.spies[leg.name] = Spy(leg, prefix, ends_with_spyee="E" in spy[1])
    spy_look(pbx)


# --- ChanSpy ----------------------------------------------------------------------------


def spy_look(pbx: Pbx) -> None:
    """ChanSpy without a channel to listen to keeps looking: the first channel whose
    name starts with its prefix (the agent's call leg) is spied on (ChanSpyStart)."""
    for spy in pbx.spies.values():
        if spy.spyee is not None:
            continue
        spyee = next(
            (
                c
                for c in pbx.channels.values()
                if c.name.startswith(spy.prefix) and c is not spy.leg
            ),
            None,
        )
        if spyee is not None:
            spy.spyee = spyee
            pbx.emit("ChanSpyStart", "call,all", spy.leg.fields("Spyer"), spyee.fields("Spyee"))


def stop_spying(pbx: Pbx, channel: Channel) -> list[Spy]:
    """``channel`` is going: every ChanSpy listening to it stops (ChanSpyStop), and so does
    its own ChanSpy if it is a spying leg. Returns the spies that listened to it."""
    ended = [spy for spy in pbx.spies.values() if spy.spyee is channel]
    for spy in ended:
        _spy_stop(pbx, spy)
    own = pbx.spies.pop(channel.name, None)
    if own is not None and own.spyee is not None:
        _spy_stop(pbx, own)
    return ended


def _spy_stop(pbx: Pbx, spy: Spy) -> None:
    assert spy.spyee is not None
    pbx.emit("ChanSpyStop", "call,all", spy.leg.fields("Spyer"), spy.spyee.fields("Spyee"))
    spy.spyee = None
    if spy.ends_with_spyee:
        pbx.spies.pop(spy.leg.name, None)
