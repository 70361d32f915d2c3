"""Every AMI action the daemon sends, as a named, typed function with a timeout.

Nothing else builds actions: the web and the router call these. Each value is checked for
CR/LF first (a value with a line break could smuggle extra AMI headers or a whole second
action), every call is bounded by the client's timeout, and a refusal from Asterisk becomes
``ActionFailed`` carrying Asterisk's own message.
"""

from __future__ import annotations

from typing import Any

from cti.ami.connection import AmiClient
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


async def _run(client: AmiClient, fields: dict[str, str], timeout: float | None = None) -> Any:
    answer = await client.send(fields, timeout)
    if answer.get("Response") != "Success":
        raise ActionFailed(fields["Action"], answer.get("Message", "") or "no reason given")
    return answer


async def ping(client: AmiClient) -> None:
    await _run(client, _fields("Ping"))


async def queue_pause(
    client: AmiClient, interface: str, paused: bool, queue: str | None = None, reason: str = ""
) -> None:
    """Pause or unpause a member; without ``queue``, in every queue it belongs to."""
    await _run(client, _fields("QueuePause", Interface=interface, Paused=paused, Queue=queue,
                               Reason=reason or None))  # fmt: skip


async def queue_add(
    client: AmiClient, queue: str, interface: str, member_name: str = "",
    state_interface: str = "", penalty: int = 0, paused: bool = False,
) -> None:  # fmt: skip
    await _run(client, _fields("QueueAdd", Queue=queue, Interface=interface,
                               MemberName=member_name or None,
                               StateInterface=state_interface or None,
                               Penalty=penalty, Paused=paused))  # fmt: skip


async def queue_remove(client: AmiClient, queue: str, interface: str) -> None:
    await _run(client, _fields("QueueRemove", Queue=queue, Interface=interface))


async def redirect(
    client: AmiClient, channel: str, context: str, exten: str, priority: int = 1
) -> None:
    await _run(client, _fields("Redirect", Channel=channel, Context=context, Exten=exten,
                               Priority=priority))  # fmt: skip


async def setvar(client: AmiClient, channel: str, variable: str, value: str) -> None:
    await _run(client, _fields("Setvar", Channel=channel, Variable=variable, Value=value))


async def originate(
    client: AmiClient, channel: str, context: str, exten: str, priority: int = 1,
    caller_id: str = "", timeout_s: int = 30,
) -> None:  # fmt: skip
    """Queue an asynchronous Originate; its outcome arrives later as OriginateResponse."""
    await _run(client, _fields("Originate", Channel=channel, Context=context, Exten=exten,
                               Priority=priority, CallerID=caller_id or None,
                               Timeout=timeout_s * 1000, Async=True))  # fmt: skip


async def hangup(client: AmiClient, channel: str) -> None:
    await _run(client, _fields("Hangup", Channel=channel))


async def mixmonitor_mute(
    client: AmiClient, channel: str, muted: bool, direction: str = "both"
) -> None:
    """Mute a running recording (there is no PauseMixMonitor action), e.g. for card data."""
    await _run(client, _fields("MixMonitorMute", Channel=channel, Direction=direction,
                               State="1" if muted else "0"))  # fmt: skip
