"""The answers to AMI actions, as manager.c and app_queue give them.

``server.py`` parses each action and calls one of these with its fields; each answers with
the response frame (or, for a list action, the opening response, the items and the closing
Complete event) and emits the events the action causes. Originate, whose leg outlives the
action, is in ``originate.py``.

Actions: QueuePause, QueueAdd, QueueRemove, Hangup, Redirect, Setvar, MixMonitorMute
(BlindTransfer is in ``transfer.py``, Atxfer and CancelAtxfer in ``atxfer.py``).
Lists: QueueStatus, QueueSummary, CoreShowChannels, Status, and Hangup of a ``/regex/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cti.simulator import app_queue, atxfer, outbound
from cti.simulator.config import MemberConfig
from cti.simulator.model import ROUTE_CONTEXT, Channel, Device, Member
from cti.simulator.wire import Fields, Frame, Pairs, response

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx


def queue_pause(
    pbx: Pbx, action_id: str | None, interface: str, paused: bool, queue: str, reason: str
) -> Fields:
    members = [m for m in app_queue.memberships(pbx, interface) if not queue or m.queue == queue]
    if not members:
        return response(action_id, False, "Interface not found")
    for member in members:
        member.paused, member.reason = paused, reason if paused else ""
        if paused:
            member.last_pause = int(time.time())
        pbx.emit("QueueMemberPause", "agent,all", app_queue.member_fields(pbx, member, live=True))
    if not paused:
        app_queue.dispatch(pbx)
    word = "paused" if paused else "unpaused"
    return response(action_id, True, f"Interface {word} successfully")


def queue_add(
    pbx: Pbx,
    action_id: str | None,
    queue_name: str,
    interface: str,
    name: str,
    penalty: int,
    paused: bool,
    state_interface: str,
) -> Fields:
    queue = pbx.queues.get(queue_name)
    if queue is None:
        return response(action_id, False, "Unable to add interface to queue: No such queue")
    if interface in queue.members:
        return response(action_id, False, "Unable to add interface: Already there")
    config = MemberConfig(interface, name or interface, state_interface=state_interface)
    member = Member(
        config, queue_name, int(time.time()), paused=paused, penalty=penalty, dynamic=True
    )
    queue.members[interface] = member
    pbx.devices.setdefault(member.state_interface, Device(answers=True))
    pbx.emit("QueueMemberAdded", "agent,all", app_queue.member_fields(pbx, member, live=True))
    app_queue.dispatch(pbx)
    return response(action_id, True, "Added interface to queue")


def queue_remove(pbx: Pbx, action_id: str | None, queue_name: str, interface: str) -> Fields:
    queue = pbx.queues.get(queue_name)
    if queue is None:
        return response(action_id, False, "Unable to remove interface from queue: No such queue")
    member = queue.members.get(interface)
    if member is None:
        return response(action_id, False, "Unable to remove interface: Not there")
    fields = app_queue.member_fields(pbx, member, live=True)
    del queue.members[interface]
    pbx.emit("QueueMemberRemoved", "agent,all", fields)
    return response(action_id, True, "Removed interface from queue")


def hangup(pbx: Pbx, action_id: str | None, name: str) -> list[Frame]:
    """AMI Hangup, answered as manager.c does: one channel by its name, or every channel
    whose name matches ``/regex/``, answered as a list (a ChannelHungup per channel)."""
    if not name:
        return [response(action_id, False, "No channel specified")]
    if not name.startswith("/"):
        channel = pbx.channels.get(name)
        if channel is None:
            return [response(action_id, False, "No such channel")]
        _hang_up(pbx, channel)
        return [response(action_id, True, "Channel Hungup")]
    if len(name) < 2 or not name.endswith("/"):
        return [response(action_id, False, "Regex format invalid, Channel param should be /regex/")]
    try:
        pattern = re.compile(name[1:-1])  # regexec: a match anywhere in the name
    except re.error:
        return [response(action_id, False, f"Regex compile failed on: {name}")]
    matched = [c for c in pbx.channels.values() if pattern.search(c.name)]
    for channel in matched:
        _hang_up(pbx, channel)
    items: list[Fields] = [{"Event": "ChannelHungup", "Channel": c.name} for c in matched]
    return _as_list(action_id, "Channels hung up will follow", "ChannelsHungupListComplete", items)


def _hang_up(pbx: Pbx, channel: Channel) -> None:
    """A soft hangup of ``channel``: whatever it is part of ends as that part plays it."""
    if channel.name not in pbx.channels:  # gone with another one just hung up
        return
    if outbound.hang_up(pbx, channel):
        return
    call = pbx.calls.get(channel.linkedid)
    if call is not None and atxfer.hang_up(pbx, call, channel):
        return
    if call is None:  # an originated channel, not part of a queue call
        pbx.hangup_channel(channel)
    elif channel is call.caller:
        pbx.hangup(call.caller.linkedid, "caller")
    elif call.agent is not None and channel is call.agent.channel:
        pbx.hangup(call.caller.linkedid, "agent")
    elif call.dial is not None and channel is call.dial.channel:
        if call.dial.answered_at is not None:
            pbx.hangup(call.caller.linkedid, "agent")
        elif not call.dial.outcome.done():
            call.dial.outcome.set_result("BUSY")  # rejected at the phone
    else:  # a ringing phone rejected: counts as no answer there
        for attempt in list(call.attempts.values()):
            if attempt.channel is channel:
                if attempt.task is not None:
                    attempt.task.cancel()
                app_queue.end_ring(pbx, call, attempt, ("BUSY",), cause=16)
                call.retry_at = time.monotonic() + pbx.queues[call.queue].config.retry_s


def redirect(pbx: Pbx, action_id: str | None, name: str, context: str, exten: str) -> Fields:
    channel = pbx.channels.get(name)
    if channel is None:
        return response(action_id, False, f"Channel does not exist: {name}")
    call = pbx.calls.get(channel.linkedid)
    if (
        context == ROUTE_CONTEXT
        and call is not None
        and channel is call.caller
        and call.redirect is not None
        and not call.redirect.done()
    ):
        # The route walk leaves what the call waits in (a queue, a ringing Dial) and
        # runs that extension of [cti-route], as the async goto does in Asterisk.
        call.redirect.set_result(exten)
        return response(action_id, True, "Redirect successful")
    target = next((q for q in pbx.queues.values() if q.config.did == exten), None)
    channel.context, channel.exten = context, exten
    pbx.exten(channel, 1, "NoOp", f"Redirected to {exten}")
    if (
        call is not None
        and channel is call.caller
        and call.queue
        and target is not None
        and call in pbx.queues[call.queue].waiting
    ):
        app_queue.let_go(pbx, call)
        pbx.exten(channel, 2, "Queue", app_queue.app_data(pbx, target.config.name))
        app_queue.join(pbx, call, target.config.name, pbx.config.queue_timeout_s)
    return response(action_id, True, "Redirect successful")


def setvar(pbx: Pbx, action_id: str | None, name: str, variable: str, value: str) -> Fields:
    """AMI Setvar, answered as manager.c's action_setvar does."""
    if not variable:
        return response(action_id, False, "No variable specified")
    if not name:
        pbx.globals[variable] = value
        return response(action_id, True, "Variable Set")
    channel = pbx.channels.get(name)
    if channel is None:
        return response(action_id, False, "No such channel")
    pbx.varset(channel, variable, value)
    return response(action_id, True, "Variable Set")


def mixmonitor_mute(pbx: Pbx, action_id: str | None, name: str, state: str) -> Fields:
    channel = pbx.channels.get(name)
    if channel is None:
        return response(action_id, False, "No such channel")
    pbx.emit(
        "MixMonitorMute",
        "call,all",
        channel.fields(),
        {"Direction": "both", "State": "1" if state in ("1", "true", "yes") else "0"},
    )
    return response(action_id, True)


# --- lists ------------------------------------------------------------------------------


def queue_status(pbx: Pbx, action_id: str | None, only: str) -> list[Frame]:
    items: list[Fields] = []
    now = time.monotonic()
    for queue in pbx.queues.values():
        if only and queue.config.name != only:
            continue
        done = queue.completed
        items.append(
            {
                "Event": "QueueParams",
                "Queue": queue.config.name,
                "Max": "0",
                "Strategy": queue.config.strategy,
                "Calls": str(len(queue.waiting)),
                "Holdtime": str(queue.hold_total // done if done else 0),
                "TalkTime": str(queue.talk_total // done if done else 0),
                "Completed": str(done),
                "Abandoned": str(queue.abandoned),
                "ServiceLevel": str(queue.config.service_level_s),
                "ServicelevelPerf": "0.0",
                "ServicelevelPerf2": "0.0",
                "Weight": "0",
            }
        )
        for member in queue.members.values():
            items.append(
                {"Event": "QueueMember", **app_queue.member_fields(pbx, member, live=False)}
            )
        for position, call in enumerate(queue.waiting, start=1):
            c = call.caller
            items.append(
                {
                    "Event": "QueueEntry",
                    "Queue": queue.config.name,
                    "Position": str(position),
                    "Channel": c.name,
                    "Uniqueid": c.uniqueid,
                    "CallerIDNum": c.caller_num or "unknown",
                    "CallerIDName": c.caller_name or "unknown",
                    "ConnectedLineNum": "unknown",
                    "ConnectedLineName": "unknown",
                    "Wait": str(int(now - call.joined)),
                    "Priority": str(call.priority),
                }
            )
    return _as_list(action_id, "Queue status will follow", "QueueStatusComplete", items)


def queue_summary(pbx: Pbx, action_id: str | None, only: str) -> list[Frame]:
    items: list[Fields] = []
    now = time.monotonic()
    for queue in pbx.queues.values():
        if only and queue.config.name != only:
            continue
        free = sum(app_queue.is_free(pbx, m, now) for m in queue.members.values())
        done = queue.completed
        longest = max((int(now - c.joined) for c in queue.waiting), default=0)
        items.append(
            {
                "Event": "QueueSummary",
                "Queue": queue.config.name,
                "LoggedIn": str(len(queue.members)),
                "Available": str(free),
                "Callers": str(len(queue.waiting)),
                "HoldTime": str(queue.hold_total // done if done else 0),
                "TalkTime": str(queue.talk_total // done if done else 0),
                "LongestHoldTime": str(longest),
            }
        )
    return _as_list(action_id, "Queue summary will follow", "QueueSummaryComplete", items)


def core_show_channels(pbx: Pbx, action_id: str | None) -> list[Frame]:
    items: list[Fields] = []
    for channel in pbx.channels.values():
        seconds = int(time.time() - channel.created)
        duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        items.append(
            {
                "Event": "CoreShowChannel",
                "ActionID": action_id or "",
                **channel.fields(),
                "Application": channel.application,
                "ApplicationData": channel.app_data,
                "Duration": duration,
                "BridgeId": channel.bridge,
            }
        )
    return _as_list(action_id, "Channels will follow", "CoreShowChannelsComplete", items)


def status(pbx: Pbx, action_id: str | None, variables: Sequence[str] = ()) -> list[Frame]:
    """Status as manager.c answers it: one item per channel, each with a ``Variable:
    NAME=value`` line per variable asked for, after ``Seconds`` (generate_status). A
    variable the channel does not have is printed from a NULL pointer: "(null)"."""
    items: list[Frame] = []
    for channel in pbx.channels.values():
        pairs: Pairs = [
            *{
                "Event": "Status",
                "Privilege": "Call",
                **channel.fields(),
                "Type": "SIP",
                "DNID": "",
                "TimeToHangup": "0",
                "BridgeID": channel.bridge,
                "Application": channel.application,
                "Data": channel.app_data,
                "Seconds": str(int(time.time() - channel.created)),
            }.items()
        ]
        pairs += [
            ("Variable", f"{name}={channel.variables.get(name, '(null)')}") for name in variables
        ]
        items.append(pairs)
    return _as_list(
        action_id,
        "Channel status will follow",
        "StatusComplete",
        items,
        {"Items": str(len(items))},
    )


def _as_list(
    action_id: str | None,
    opening: str,
    complete: str,
    items: Sequence[Frame],
    closing_extra: Fields | None = None,
) -> list[Frame]:
    """A list action's answer: the opening response, the items, the Complete event (with
    ``closing_extra`` after its ListItems)."""
    for item in items:
        if action_id is None:
            continue
        if isinstance(item, dict):
            item["ActionID"] = action_id
        else:
            item.append(("ActionID", action_id))
    closing: Fields = {"Event": complete}
    if action_id is not None:
        closing["ActionID"] = action_id
    closing.update({"EventList": "Complete", "ListItems": str(len(items))})
    closing.update(closing_extra or {})
    return [_opening(action_id, opening), *items, closing]


def _opening(action_id: str | None, message: str) -> Fields:
    fields: Fields = {"Response": "Success"}
    if action_id is not None:
        fields["ActionID"] = action_id
    fields.update({"EventList": "start", "Message": message})
    return fields
