"""AMI messages for the pure state core's tests, built as the live stream builds them."""

from __future__ import annotations

from cti.ami.events import AmiEvent, to_event


def ami_event(event: str, ts: float, *parts: dict[str, str], **fields: str) -> AmiEvent:
    """The typed event of message ``event`` at Timestamp ``ts``, with the fields of
    ``parts`` (channel snapshots) and ``fields``, the later winning."""
    message = {"Event": event, "Timestamp": f"{ts:.6f}"}
    for part in parts:
        message.update(part)
    message.update(fields)
    built = to_event(message)
    assert built is not None, message
    return built
