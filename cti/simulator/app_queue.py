"""app_queue: callers waiting in queues, members rung for them, and how a queue call ends.

Theory of operation
-------------------
Queue() puts the caller in a queue (``join``), seated behind every caller of the same or a
higher priority. ``dispatch`` rings free members for the waiting callers by each queue's
strategy, whenever a caller joins or a phone may have become free (a call or its wrap-up
ended, a ring's retry time passed, a member was unpaused or added, a Dial or an Originate
let go of the phone). A ring is one ``Attempt`` whose task answers after the call's answer
delay or gives up after the queue's ring timeout (AgentRingNoAnswer). The caller's task
waits (``wait_in_queue``) for the first of: an answer (then the talk and ``_complete``, or
the agent's transfer: ``transfer.py``, ``atxfer.py``), its patience running out or its
hangup (``_abandon``), Queue()'s own timeout, or a Redirect that takes it out of the queue.

A phone is one ``Device`` whichever way it rings (here, a route point's Dial, an
Originate), so a queue never rings a phone something else rings, and back. Its state
(ringing, in use, free) reaches AMI as a QueueMemberStatus of each of its memberships
(``device_changed``), as app_queue reports it; there is no DeviceStateChange, which needs
res_manager_devicestate, a module the project's modules.conf does not load.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from cti.simulator import atxfer, transfer
from cti.simulator.model import (
    CAUSE_NONE,
    INUSE,
    NOT_INUSE,
    PHONE_CONTEXT,
    RINGING,
    Attempt,
    Call,
    Member,
    Queue,
)
from cti.simulator.wire import Fields

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx


def app_data(pbx: Pbx, queue: str, timeout_s: float | None = None) -> str:
    """Queue()'s arguments as the dialplan writes them: Queue(<queue>,t,,,<timeout>)."""
    timeout = pbx.config.queue_timeout_s if timeout_s is None else timeout_s
    return f"{queue},t,,,{timeout:g}" if timeout is not None else f"{queue},t"


# --- callers in the queue -------------------------------------------------------------


def join(pbx: Pbx, call: Call, queue_name: str, timeout_s: float | None = None) -> None:
    """The caller enters ``queue_name``; ``timeout_s``: Queue()'s timeout argument."""
    queue = pbx.queues[queue_name]
    call.queue, call.joined, call.leave_at = queue_name, time.monotonic(), None
    if timeout_s is not None:
        call.leave_at = call.joined + timeout_s
    # app_queue seats a caller behind everyone of the same or a higher priority.
    position = next(
        (i for i, other in enumerate(queue.waiting) if other.priority < call.priority),
        len(queue.waiting),
    )
    queue.waiting.insert(position, call)
    call.original_position = position + 1
    pbx.emit(
        "QueueCallerJoin",
        "agent,all",
        call.caller.fields(),
        {
            "Queue": queue_name,
            "Position": str(position + 1),
            "Count": str(len(queue.waiting)),
        },
    )
    dispatch(pbx)


async def wait_in_queue(pbx: Pbx, call: Call) -> str | None:
    """The caller in app_queue until answered (then the talk and the end), gone
    (abandon), moved by a Redirect into [cti-route] (returns that extension), or past
    Queue()'s own timeout (leaves; returns None). "": the call has ended."""
    if call.point is not None:
        call.redirect = asyncio.get_running_loop().create_future()
    try:
        while True:
            ends = [t for t in (call.deadline, call.leave_at) if t is not None]
            timeout = max(0.0, min(ends) - time.monotonic()) if ends else None
            waits: set[asyncio.Future[Any]] = {call.connected, call.hangup_by}
            if call.redirect is not None:
                waits.add(call.redirect)
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            now = time.monotonic()
            if call.connected.done():
                break
            if call.redirect is not None and call.redirect.done():
                let_go(pbx, call)
                return call.redirect.result()
            if call.hangup_by.done() or (call.deadline is not None and now >= call.deadline):
                _abandon(pbx, call)
                return ""
            if call.leave_at is not None and now >= call.leave_at:
                let_go(pbx, call, timed_out=True)
                return None
            # Otherwise a Redirect to another queue's DID moved the caller out of a queue
            # with a timeout into one without: wait on there.
    finally:
        call.redirect = None
    # The caller's talk time runs from the answer, through an attended transfer's
    # consultation and whoever they talk to after it.
    talk_ends = time.monotonic() + call.spec.talk_s
    while True:
        asked = call.transfer = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait(
                {call.hangup_by, asked},
                timeout=max(0.0, talk_ends - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            call.transfer = None
        if not asked.done() or call.hangup_by.done():
            break
        request = asked.result()
        if not request.attended:  # the caller goes on elsewhere
            return await transfer.carry_out(pbx, call, request.context, request.exten)
        if not await atxfer.consult(pbx, call, request, talk_ends):
            return ""  # the call ended during the transfer, or after it completed
    _complete(pbx, call, call.hangup_by.result() if call.hangup_by.done() else "caller")
    return ""


def _record_abandoned(pbx: Pbx, call: Call) -> None:
    """app_queue's record_abandoned: every exit without an agent (the caller hanging up,
    Queue()'s timeout, a Redirect) is a QueueCallerAbandon and counts in the queue's
    Abandoned; only the caller's own hang-up is preceded by their HangupRequest."""
    queue = pbx.queues[call.queue]
    queue.abandoned += 1
    pbx.emit(
        "QueueCallerAbandon",
        "agent,all",
        call.caller.fields(),
        {
            "Queue": call.queue,
            "Position": str(queue.waiting.index(call) + 1),
            "OriginalPosition": str(call.original_position),
            "HoldTime": str(int(time.monotonic() - call.joined)),
        },
    )


def let_go(pbx: Pbx, call: Call, timed_out: bool = False) -> None:
    """The caller leaves the queue unanswered and stays on the line: Queue()'s timeout,
    or a Redirect (Asterisk's async goto hangs nothing up, so no HangupRequest). A phone
    ringing at the timeout rang out: app_queue caps each ring at the time the caller has
    left and reports it as any ring that ran out (AgentRingNoAnswer, then DialEnd
    NOANSWER and CANCEL: ring-no-answer.ami of tests/captures/real/)."""
    if timed_out:
        for attempt in list(call.attempts.values()):
            if attempt.task is not None:
                attempt.task.cancel()
            _no_answer(pbx, call, attempt)
    _stop_ringing(pbx, call)
    _record_abandoned(pbx, call)
    _leave(pbx, call)


def _leave(pbx: Pbx, call: Call) -> None:
    queue = pbx.queues[call.queue]
    position = queue.waiting.index(call) + 1
    queue.waiting.remove(call)
    pbx.emit(
        "QueueCallerLeave",
        "agent,all",
        call.caller.fields(),
        {
            "Queue": call.queue,
            "Position": str(position),
            "Count": str(len(queue.waiting)),
        },
    )


# --- ringing members ------------------------------------------------------------------


def dispatch(pbx: Pbx) -> None:
    """Ring free members for waiting callers, head of each queue first (autofill)."""
    now = time.monotonic()
    for queue in pbx.queues.values():
        for call in list(queue.waiting):
            if call.agent is not None or call.retry_at > now:
                continue
            ringall = queue.config.strategy == "ringall"
            if call.attempts and not ringall:
                continue
            free = [
                m
                for m in queue.members.values()
                if is_free(pbx, m, now) and m.interface not in call.attempts
            ]
            if not free:
                continue
            for member in free if ringall else [_choose(pbx, queue, free)]:
                _ring(pbx, call, member)


def is_free(pbx: Pbx, member: Member, now: float) -> bool:
    device = pbx.devices[member.state_interface]
    return (
        not member.paused
        and device.busy_with is None
        and device.ringing == 0
        and now >= device.free_at
    )


def _choose(pbx: Pbx, queue: Queue, free: list[Member]) -> Member:
    strategy = queue.config.strategy
    if strategy == "leastrecent":
        return min(free, key=lambda m: m.last_call)
    if strategy == "fewestcalls":
        return min(free, key=lambda m: m.calls_taken)
    if strategy == "random":
        return pbx.rng.choice(free)
    order = list(queue.members.values())  # rrmemory: the next one after the last rung
    for offset in range(len(order)):
        member = order[(queue.rr_next + offset) % len(order)]
        if member in free:
            queue.rr_next = (order.index(member) + 1) % len(order)
            return member
    return free[0]


def _ring(pbx: Pbx, call: Call, member: Member) -> None:
    caller = call.caller
    device = pbx.devices[member.state_interface]
    device.ringing += 1
    leg = pbx.new_channel(member.interface, "", "", caller.linkedid, PHONE_CONTEXT, "s")
    leg.application, leg.app_data = "AppQueue", "(Outgoing Line)"
    attempt = Attempt(member, leg, time.monotonic())
    call.attempts[member.interface] = attempt
    leg.connected_num, leg.connected_name = caller.caller_num, caller.caller_name
    pbx.emit(
        "AgentCalled",
        "agent,all",
        caller.fields(),
        leg.fields("Dest"),
        {
            "Queue": call.queue,
            "Interface": member.interface,
            "MemberName": member.config.name,
        },
    )
    pbx.emit(
        "DialBegin",
        "call,all",
        caller.fields(),
        leg.fields("Dest"),
        {"DialString": member.interface},
    )
    pbx.set_state(leg, 5)
    pbx.emit("NewConnectedLine", "call,all", leg.fields())
    device_changed(pbx, member.state_interface)
    pbx.dial_status("DialState", caller, leg, "RINGING")
    attempt.task = pbx.own(_ring_until(pbx, call, attempt), f"ring {leg.name}")


async def _ring_until(pbx: Pbx, call: Call, attempt: Attempt) -> None:
    queue = pbx.queues[call.queue].config
    delay = call.spec.answer_after
    answers = pbx.devices[attempt.member.state_interface].answers and delay is not None
    if answers and delay is not None and delay < queue.ring_timeout_s:
        await asyncio.sleep(delay)
        answer(pbx, call, attempt)
        return
    await asyncio.sleep(queue.ring_timeout_s)
    _no_answer(pbx, call, attempt)
    call.retry_at = time.monotonic() + queue.retry_s
    await asyncio.sleep(queue.retry_s)
    dispatch(pbx)


def end_ring(
    pbx: Pbx, call: Call, attempt: Attempt, statuses: tuple[str, ...], cause: int = CAUSE_NONE
) -> None:
    call.attempts.pop(attempt.member.interface, None)
    pbx.devices[attempt.member.state_interface].ringing -= 1
    for status in statuses:
        pbx.dial_status("DialEnd", call.caller, attempt.channel, status)
    pbx.hangup_channel(attempt.channel, cause)
    device_changed(pbx, attempt.member.state_interface)


def _stop_ringing(pbx: Pbx, call: Call, statuses: tuple[str, ...] = ("CANCEL",)) -> None:
    for attempt in list(call.attempts.values()):
        if attempt.task is not None:
            attempt.task.cancel()
        end_ring(pbx, call, attempt, statuses)


def _no_answer(pbx: Pbx, call: Call, attempt: Attempt) -> None:
    ring_ms = int((time.monotonic() - attempt.started) * 1000)
    pbx.emit(
        "AgentRingNoAnswer",
        "agent,all",
        call.caller.fields(),
        attempt.channel.fields("Dest"),
        {
            "Queue": call.queue,
            "Interface": attempt.member.interface,
            "MemberName": attempt.member.config.name,
            "RingTime": str(ring_ms),
        },
    )
    end_ring(pbx, call, attempt, ("NOANSWER", "CANCEL"))


def answer(pbx: Pbx, call: Call, attempt: Attempt) -> None:
    if call.agent is not None or call.connected.done():
        return
    member, leg, caller = attempt.member, attempt.channel, call.caller
    now = time.monotonic()
    call.attempts.pop(member.interface, None)
    if attempt.task is not None and attempt.task is not asyncio.current_task():
        attempt.task.cancel()
    for other in list(call.attempts.values()):  # ringall: the others stop ringing
        if other.task is not None:
            other.task.cancel()
        end_ring(pbx, call, other, ("CANCEL",))
    device = pbx.devices[member.state_interface]
    device.ringing -= 1
    device.busy_with = caller.linkedid
    call.agent, call.answered_at = attempt, now
    pbx.set_state(leg, 6)
    pbx.dial_status("DialEnd", caller, leg, "ANSWER")
    _leave(pbx, call)
    hold = attempt.hold_s = int(now - call.joined)
    queue = pbx.queues[call.queue]
    queue.hold_total += hold
    pbx.emit(
        "AgentConnect",
        "agent,all",
        caller.fields(),
        leg.fields("Dest"),
        {
            "Queue": call.queue,
            "Interface": member.interface,
            "MemberName": member.config.name,
            "HoldTime": str(hold),
            "RingTime": str(int(now - attempt.started)),
        },
    )
    # The phone in use comes from Asterisk's device state thread, before or after
    # AgentConnect (InCall 0 or 1: two recordings of consent-declined.ami differed);
    # here after it.
    member.in_call = True
    device_changed(pbx, member.state_interface)
    pbx.bridge(leg, caller)
    call.connected.set_result(attempt)
    dispatch(pbx)  # phones that stopped ringing here may take the next caller


# --- the end of a queue call ----------------------------------------------------------


def _complete(pbx: Pbx, call: Call, by: str) -> None:
    assert call.agent is not None
    member, leg, caller = call.agent.member, call.agent.channel, call.caller
    first, second = (caller, leg) if by == "caller" else (leg, caller)
    pbx.emit("HangupRequest", "call,all", first.fields())
    if call.transferred:
        # A caller who came by a transfer: app_queue reports the end only once the agent's
        # leg has gone (blind-transfer.ami of tests/captures/real/).
        pbx.unbridge(first, second)
        pbx.hangup_channel(leg)
        report_complete(pbx, call, by)
    else:
        report_complete(pbx, call, by)
        pbx.unbridge(first, second)
        pbx.hangup_channel(leg)
    pbx.cdr(call, "ANSWERED", leg)
    pbx.hangup_channel(caller)
    free_member(pbx, member)


def report_complete(pbx: Pbx, call: Call, reason: str) -> None:
    """AgentComplete: the agent's part of the call is over (``reason``: caller, agent or
    transfer), in the member's queue, with the queue's statistics."""
    assert call.agent is not None
    member, leg = call.agent.member, call.agent.channel
    talk = int(time.monotonic() - call.answered_at)
    hold = call.agent.hold_s
    queue = pbx.queues[member.queue]
    queue.completed += 1
    queue.talk_total += talk
    pbx.emit(
        "AgentComplete",
        "agent,all",
        call.caller.fields(),
        leg.fields("Dest"),
        {
            "Queue": member.queue,
            "Interface": member.interface,
            "MemberName": member.config.name,
            "HoldTime": str(hold),
            "TalkTime": str(talk),
            "Reason": reason,
        },
    )


def free_member(pbx: Pbx, member: Member) -> None:
    """The member's phone is free once its leg has hung up (QueueMemberStatus after
    AgentComplete, as in every answered call of tests/captures/real/), after app_queue's
    wrap-up: the member's own wrapuptime, else the queue's."""
    queue = pbx.queues[member.queue]
    wrapup_s = member.config.wrapup_s or queue.config.wrapup_s
    device = pbx.devices[member.state_interface]
    member.calls_taken += 1
    member.last_call = int(time.time())
    for m in memberships(pbx, member.interface):
        m.calls_taken, m.last_call = member.calls_taken, member.last_call
    member.in_call = False
    device.busy_with = None
    device.free_at = time.monotonic() + wrapup_s
    device_changed(pbx, member.state_interface)
    asyncio.get_running_loop().call_later(wrapup_s + 0.01, dispatch, pbx)


def _abandon(pbx: Pbx, call: Call) -> None:
    """The caller hangs up in the queue: the far end's BYE is a HangupRequest, before
    app_queue notices (ring-no-answer.ami, Ali Kaya)."""
    caller = call.caller
    pbx.emit("HangupRequest", "call,all", caller.fields())
    _stop_ringing(pbx, call, ("CANCEL", "CANCEL"))
    _record_abandoned(pbx, call)
    _leave(pbx, call)
    pbx.emit("SoftHangupRequest", "call,all", caller.fields(), {"Cause": "16"})
    pbx.hangup_channel(caller, cause=0)
    pbx.cdr(call, "NO ANSWER", None)
    dispatch(pbx)


# --- members as AMI shows them --------------------------------------------------------


def memberships(pbx: Pbx, interface: str) -> list[Member]:
    return [q.members[interface] for q in pbx.queues.values() if interface in q.members]


def device_changed(pbx: Pbx, device_key: str | None) -> None:
    """A phone's state changed: app_queue reports it as a QueueMemberStatus of every
    member whose state interface it is, when the status it computes has changed."""
    device = pbx.devices.get(device_key or "")
    if device is None:
        return
    status = INUSE if device.busy_with is not None else RINGING if device.ringing else NOT_INUSE
    if status == device.reported:
        return
    device.reported = status
    for queue in pbx.queues.values():
        for member in queue.members.values():
            if member.state_interface == device_key:
                pbx.emit("QueueMemberStatus", "agent,all", member_fields(pbx, member, live=True))


def _member_status(pbx: Pbx, member: Member) -> tuple[int, bool]:
    """The member's Status (its device's) and InCall (app_queue's own flag: set at
    AgentConnect of this queue's call, so never for a call Dial or an Originate made)."""
    device = pbx.devices.get(member.state_interface)
    if device is None:
        return NOT_INUSE, member.in_call
    if device.busy_with is not None:
        return INUSE, member.in_call
    return (RINGING if device.ringing else NOT_INUSE), member.in_call


def member_fields(pbx: Pbx, member: Member, live: bool) -> Fields:
    """QueueMember list items say Name/Location; live member events MemberName/Interface."""
    status, in_call = _member_status(pbx, member)
    fields: Fields = {"Queue": member.queue}
    if live:
        fields.update({"MemberName": member.config.name, "Interface": member.interface})
    else:
        fields.update({"Name": member.config.name, "Location": member.interface})
    fields.update(
        {
            "StateInterface": member.state_interface,
            "Membership": "dynamic" if member.dynamic else "static",
            "Penalty": str(member.penalty),
            "CallsTaken": str(member.calls_taken),
            "LastCall": str(member.last_call),
            "LastPause": str(member.last_pause),
            "LoginTime": str(member.login_time),
            "InCall": str(int(in_call)),
            "Status": str(status),
            "Paused": str(int(member.paused)),
            "PausedReason": member.reason,
        }
    )
    if live:
        fields["Ringinuse"] = "0"
    fields["Wrapuptime"] = str(int(member.config.wrapup_s))
    return fields
