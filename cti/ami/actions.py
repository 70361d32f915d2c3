"""Every AMI action the daemon sends, as a named, typed function with a timeout.

Nothing else builds actions: the web and the router call these. Each value is checked for
CR/LF first (a value with a line break could smuggle extra AMI headers or a whole second
action), every call is bounded by the client's timeout, and a refusal from Asterisk becomes
``ActionFailed`` carrying Asterisk's own message.

Each of these actions is settled by Asterisk's first answer; what follows it comes as events.
panoramisk would otherwise guess from the answer's text that more messages belong to it:
"Originate successfully queued" (Async) makes it wait for the OriginateResponse event, which
comes only when the called phone answers (or gives up), and then hand back a list; "Added
interface to queue" makes it wait for a second message that never comes. So we ask for the
first answer only, and still read a list as its first message.
"""

from __future__ import annotations

from typing import Any

from cti.ami.connection import AmiClient
from cti.ami.frames import Message
from cti.ami.protocol import ActionFailed, AmiError


class UnsafeValue(AmiError):
    """A value meant for an AMI header contains a line break."""


def _fields(action: str, **values: str | int | bool | None) -> dict[str, str]:
    fields = {"Action": action}
    for key, value in values.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if "\r" in text or "\n" in text:
            raise UnsafeValue(f"{action}: {key} must not contain a line break")
        fields[key] = text
    return fields


def first_answer(answer: Any) -> Message:
    """The response that settles an action: panoramisk's answer, or the first message of the
    list it hands back when it decided more messages belonged to the action."""
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    return {str(key): str(value) for key, value in answer.items()}


async def _run(client: AmiClient, fields: dict[str, str], timeout: float | None = None) -> Message:
    answer = first_answer(await client.send(fields, timeout, first_answer_only=True))
    if answer.get("Response") != "Success":
        raise ActionFailed(fields["Action"], answer.get("Message", "") or "no reason given")
    return answer


async def ping(client: AmiClient) -> None:
    await _run(client, _fields("Ping"))


async def queue_pause(
    client: AmiClient, interface: str, paused: bool, queue: str | None = None, reason: str = ""
) -> None:
    """Pause or unpause a member; without ``queue``, in every queue it belongs to."""
    await _run(
        client,
        _fields(
            "QueuePause", Interface=interface, Paused=paused, Queue=queue, Reason=reason or None
        ),
    )


async def queue_add(
    client: AmiClient,
    queue: str,
    interface: str,
    member_name: str = "",
    state_interface: str = "",
    penalty: int = 0,
    paused: bool = False,
) -> None:
    await _run(
        client,
        _fields(
            "QueueAdd",
            Queue=queue,
            Interface=interface,
            MemberName=member_name or None,
            StateInterface=state_interface or None,
            Penalty=penalty,
            Paused=paused,
        ),
    )


async def queue_remove(client: AmiClient, queue: str, interface: str) -> None:
    await _run(client, _fields("QueueRemove", Queue=queue, Interface=interface))


async def redirect(
    client: AmiClient, channel: str, context: str, exten: str, priority: int = 1
) -> None:
    await _run(
        client,
        _fields("Redirect", Channel=channel, Context=context, Exten=exten, Priority=priority),
    )


async def setvar(client: AmiClient, channel: str, variable: str, value: str) -> None:
    await _run(client, _fields("Setvar", Channel=channel, Variable=variable, Value=value))


async def originate(
    client: AmiClient,
    channel: str,
    context: str,
    exten: str,
    priority: int = 1,
    caller_id: str = "",
    timeout_s: int = 30,
    channel_id: str | None = None,
    variable: str | None = None,
) -> None:
    """Queue an asynchronous Originate. Returns once Asterisk has queued it ("Originate
    successfully queued"), not when ``channel`` answers: the outcome arrives later as the
    OriginateResponse event with the same ActionID. ``channel_id``: the Uniqueid the new
    channel gets (and so its call's Linkedid); ``variable``: ``NAME=value`` set on it."""
    await _run(
        client,
        _fields(
            "Originate",
            Channel=channel,
            Context=context,
            Exten=exten,
            Priority=priority,
            CallerID=caller_id or None,
            Timeout=timeout_s * 1000,
            Async=True,
            ChannelId=channel_id,
            Variable=variable,
        ),
    )


OUTBOUND_CONTEXT = "cti-outbound"  # dialplan/extensions_cti.conf
DIAL_OUT_RING_S = 30  # how long the agent's own phone rings (cti/state/outbound.py)


def outbound_channel_id(now: float, nonce: int) -> str:
    """A Uniqueid for the agent's leg of an outbound call, chosen by us so the state core
    knows the call from its first event (cti/state/outbound.py). Milliseconds, so it never
    takes the shape of Asterisk's own (ten digits of seconds, a dot, a counter) nor reads
    as a time (events.uniqueid_epoch); ``nonce`` tells two requests of one millisecond apart."""
    return f"{int(now * 1000)}.{nonce}"


async def dial_out(
    client: AmiClient,
    phone: str,
    number: str,
    name: str,
    channel_id: str,
    shown_number: str | None = None,
) -> None:
    """Ring the agent's ``phone`` and, once answered, dial ``number`` (E.164 digits, no +)
    through [cti-outbound]. The agent's phone shows the customer it is about to call; the
    customer sees ``shown_number`` (a campaign's caller ID), else the dialplan's
    CTI_OUTBOUND_CALLERID (a channel variable of that name wins over the global)."""
    shown = name.replace('"', "'")[:80]
    await originate(
        client,
        phone,
        OUTBOUND_CONTEXT,
        number,
        caller_id=f'"{shown}" <{number}>',
        timeout_s=DIAL_OUT_RING_S,
        channel_id=channel_id,
        variable=f"CTI_OUTBOUND_CALLERID={shown_number}" if shown_number else None,
    )


SPY_MODES = ("listen", "whisper", "barge")


def spy_destination(mode: str, agent_interface: str) -> tuple[str, str]:
    """Where a supervisor's phone is sent to listen in: the context of the mode and the
    agent's endpoint as the extension, as dialplan/extensions_cti.conf [cti-spy-<mode>]
    expects (a context per mode: a mode's name inside a pattern would be read as digit
    classes)."""
    if mode not in SPY_MODES:
        raise ValueError(f"spy mode must be one of {', '.join(SPY_MODES)}")
    return f"cti-spy-{mode}", agent_interface.split("/", 1)[-1]


async def spy(client: AmiClient, phone: str, mode: str, agent_interface: str) -> None:
    """Ring the supervisor's ``phone``; once answered, ChanSpy joins the agent's call.
    Returns when Asterisk has queued the call, without waiting for the supervisor."""
    context, exten = spy_destination(mode, agent_interface)
    await originate(client, phone, context, exten, caller_id=f'"{mode} {exten}" <{exten}>')


async def hangup(client: AmiClient, channel: str) -> None:
    await _run(client, _fields("Hangup", Channel=channel))


# Where a blind transfer sends the other party (dialplan/extensions_cti.conf): a queue by
# its name, or an agent's phone by its endpoint.
TRANSFER_CONTEXTS = {"queue": "cti-transfer-queue", "agent": "cti-transfer-agent"}


async def blind_transfer(client: AmiClient, channel: str, kind: str, target: str) -> None:
    """Transfer without consulting, as if ``channel``'s phone had done it: whoever it talks
    to goes to the queue or agent ``target`` names, and ``channel`` hangs up. Unlike a
    Redirect of the other party, Asterisk reports it as a transfer (a BlindTransfer event,
    and app_queue's AgentComplete with reason "transfer")."""
    if kind not in TRANSFER_CONTEXTS:
        raise ValueError(f"transfer to one of {', '.join(TRANSFER_CONTEXTS)}")
    exten = target.split("/", 1)[-1] if kind == "agent" else target
    await _run(
        client,
        _fields("BlindTransfer", Channel=channel, Context=TRANSFER_CONTEXTS[kind], Exten=exten),
    )


async def attended_transfer(client: AmiClient, channel: str, agent_interface: str) -> None:
    """Consult before transferring: the other party holds while ``channel``'s phone is
    connected to the agent at ``agent_interface``. Hanging ``channel`` up then completes the
    transfer; ``cancel_attended_transfer`` returns to the held party. Asterisk plays the
    features.conf atxfer code and the agent's endpoint as DTMF into ``channel``
    (asterisk-conf/features.conf): the target must be digits, so an agent, not a queue."""
    exten = agent_interface.split("/", 1)[-1]
    if not exten.isdigit():
        raise ValueError("an attended transfer goes to an agent's numbered phone")
    await _run(
        client,
        _fields("Atxfer", Channel=channel, Context=TRANSFER_CONTEXTS["agent"], Exten=exten),
    )


async def cancel_attended_transfer(client: AmiClient, channel: str) -> None:
    await _run(client, _fields("CancelAtxfer", Channel=channel))


async def mixmonitor_mute(
    client: AmiClient, channel: str, muted: bool, direction: str = "both"
) -> None:
    """Mute a running recording (there is no PauseMixMonitor action), e.g. for card data."""
    await _run(
        client,
        _fields(
            "MixMonitorMute", Channel=channel, Direction=direction, State="1" if muted else "0"
        ),
    )
