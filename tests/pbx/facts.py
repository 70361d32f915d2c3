"""Asterisk's own account of a call, from its queue_log and the raw AMI stream, to compare
the daemon's call log with. Nothing here uses the daemon's parser."""

from __future__ import annotations

from dataclasses import dataclass

from ami_reader import Event, RawAmi
from asterisk import MEMBERS, Asterisk, QueueLogLine


async def pause(ami: RawAmi, queue: str, *interfaces: str) -> None:
    for interface in interfaces:
        answer = await ami.action(
            "QueuePause", Queue=queue, Interface=interface, Paused="true", Reason="Test"
        )
        if answer.get("Response") != "Success":
            raise AssertionError(f"QueuePause {queue} {interface}: {answer}")


async def reset_calls_and_pauses(ami: RawAmi) -> None:
    """No call left and every queue member unpaused, as each scenario starts."""
    await ami.action("Hangup", Channel="/^PJSIP/.*/")
    for queue, members in MEMBERS.items():
        for member in members:
            await ami.action("QueuePause", Queue=queue, Interface=member, Paused="false")


async def linkedid_of(ami: RawAmi, number: str, timeout: float = 30) -> str:
    """The call whose caller channel has this caller ID number (unique per test)."""

    def found(events: list[Event]) -> str | None:
        for e in events:
            if e.get("Event") == "Newchannel" and e.get("CallerIDNum") == number:
                return e["Linkedid"]
        return None

    return str(await ami.wait_for(found, f"a channel for {number}", timeout))


async def seen(ami: RawAmi, name: str, what: str, timeout: float = 60, **match: str) -> Event:
    """The first event ``name`` with these fields, once Asterisk has sent it."""

    def found(events: list[Event]) -> Event | None:
        return next(
            (
                e
                for e in events
                if e.get("Event") == name and all(e.get(k) == v for k, v in match.items())
            ),
            None,
        )

    found_event: Event = await ami.wait_for(found, what, timeout)
    return found_event


async def hung_up(ami: RawAmi, linkedid: str, timeout: float = 120) -> None:
    """Every channel of the call has hung up (Asterisk's Hangup events)."""

    def done(events: list[Event]) -> bool:
        legs = {
            e["Uniqueid"]
            for e in events
            if e.get("Event") == "Newchannel" and e.get("Linkedid") == linkedid
        }
        gone = {e["Uniqueid"] for e in events if e.get("Event") == "Hangup"}
        return bool(legs) and legs <= gone

    await ami.wait_for(done, f"every leg of {linkedid} hung up", timeout)


@dataclass(frozen=True, slots=True)
class QueueFacts:
    """What queue_log says of one caller (callid = the caller channel's Uniqueid)."""

    lines: tuple[QueueLogLine, ...]

    def events(self) -> list[str]:
        return [line.event for line in self.lines]

    def one(self, event: str) -> QueueLogLine:
        matching = [line for line in self.lines if line.event == event]
        assert len(matching) == 1, f"expected one {event} in {self.events()}"
        return matching[0]


def queue_facts(asterisk: Asterisk, callid: str) -> QueueFacts:
    return QueueFacts(tuple(line for line in asterisk.queue_log() if line.callid == callid))


def consent_events(ami: RawAmi, linkedid: str) -> list[Event]:
    legs = {e["Uniqueid"] for e in ami.named("Newchannel") if e.get("Linkedid") == linkedid}
    return [
        e for e in ami.named("UserEvent", UserEvent="RecordingConsent") if e.get("Uniqueid") in legs
    ]


def cdr_of(ami: RawAmi, linkedid: str) -> list[Event]:
    """cdr_manager's Cdr events of the call (asterisk-conf/cdr_manager.conf maps linkedid)."""
    return [e for e in ami.named("Cdr") if e.get("linkedid") == linkedid]
