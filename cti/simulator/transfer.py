"""AMI BlindTransfer from an agent's leg: the caller goes to a queue or to another phone.

As Asterisk 22 does it with the project's dialplan (tests/pbx/test_agent_call_tools.py):
the BlindTransfer event first; the caller leaves the bridge already in the transfer's
context; for [cti-transfer-queue] it joins the queue named by the extension before app_queue
reports AgentComplete with reason "transfer"; the agent's leg leaves, the bridge goes, and
the leg hangs up (no HangupRequest: nobody asked it to). For [cti-transfer-agent] the caller
Dials the extension's phone, outside app_queue, as the route point's Dial does.

Only the answered agent leg of a queue call can transfer here: the action answers "Transfer
failed" for any other channel, as Asterisk does for a channel in no bridge.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cti.simulator import app_queue, route_point
from cti.simulator.model import Call, TransferAsked
from cti.simulator.wire import Fields, response

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx

TO_QUEUE, TO_AGENT = "cti-transfer-queue", "cti-transfer-agent"
RING_S = 30.0  # Dial(PJSIP/${EXTEN},30) in [cti-transfer-agent]


def blind_transfer(pbx: Pbx, action_id: str | None, fields: Fields) -> Fields:
    name, exten = fields.get("Channel", ""), fields.get("Exten", "")
    channel = pbx.channels.get(name)
    if channel is None:
        return response(action_id, False, "Channel specified does not exist")
    if not exten:
        return response(action_id, False, "No extension specified")
    context = fields.get("Context") or channel.context
    call = next(
        (c for c in pbx.calls.values() if c.agent is not None and c.agent.channel is channel),
        None,
    )
    if call is None or call.transfer is None or call.transfer.done():
        return response(action_id, False, "Transfer failed")
    known = {TO_QUEUE: exten in pbx.queues, TO_AGENT: phone(pbx, exten) is not None}
    if not known.get(context, False):  # Asterisk: no such extension in that context
        return response(action_id, False, "Transfer invalid")
    # The transfer takes the agent's leg off hold first, held or not (blind-transfer.ami).
    pbx.emit("Unhold", "call,all", channel.fields())
    pbx.emit(
        "BlindTransfer",
        "call,all",
        {"Result": "Success"},
        channel.fields("Transferer"),
        call.caller.fields("Transferee"),
        pbx.bridge_fields(channel.bridge),
        {"IsExternal": "Yes", "Context": context, "Extension": exten},
    )
    call.transfer.set_result(TransferAsked(context, exten, attended=False))
    return response(action_id, True, "Transfer succeeded")


async def carry_out(pbx: Pbx, call: Call, context: str, exten: str) -> str | None:
    """The transferred caller's walk, once the agent's leg is gone; returns as
    ``app_queue.wait_in_queue`` does ("": the call has ended; None: Queue()'s timeout)."""
    assert call.agent is not None
    attempt, caller = call.agent, call.caller
    bridge = attempt.channel.bridge
    caller.context, caller.exten, caller.priority = context, exten, 1
    call.transferred = True
    pbx.bridge_leave(caller)
    if context == TO_QUEUE:
        pbx.exten(caller, 1, "Queue", app_queue.app_data(pbx, exten))
        app_queue.join(pbx, call, exten, pbx.config.queue_timeout_s)
    app_queue.report_complete(pbx, call, "transfer")
    pbx.bridge_leave(attempt.channel)
    pbx.bridge_destroy(bridge)
    pbx.hangup_channel(attempt.channel)
    app_queue.free_member(pbx, attempt.member)
    call.agent, call.connected = None, asyncio.get_running_loop().create_future()
    if context == TO_QUEUE:
        return await app_queue.wait_in_queue(pbx, call)
    return await _dial_phone(pbx, call, exten)


async def _dial_phone(pbx: Pbx, call: Call, exten: str) -> str:
    interface = phone(pbx, exten)
    assert interface is not None
    pbx.exten(call.caller, 1, "Dial", f"PJSIP/{exten},30")
    status = route_point.dial_refused(pbx, interface)
    if status is None:
        dial = route_point.dial_begin(pbx, call, interface, RING_S, f"PJSIP/{exten},30")
        await asyncio.wait(
            {dial.outcome, call.hangup_by}, timeout=RING_S, return_when=asyncio.FIRST_COMPLETED
        )
        if dial.answered_at is not None:
            talk_ends = await call.hung_up_within(call.spec.talk_s)
            route_point.dial_complete(
                pbx, call, dial, call.hangup_by.result() if talk_ends else "caller"
            )
            return ""
        route_point.dial_end(pbx, call, dial, "CANCEL" if call.hangup_by.done() else "NOANSWER")
    pbx.exten(call.caller, 2, "Hangup", "")
    pbx.dialplan_end(call.caller, call)
    return ""


def phone(pbx: Pbx, exten: str) -> str | None:
    """The device an agent's endpoint names (PJSIP/1002 in Asterisk; the simulator's
    phones may use another technology: matched by the part after the slash)."""
    return next((name for name in pbx.devices if name.split("/", 1)[-1] == exten), None)
