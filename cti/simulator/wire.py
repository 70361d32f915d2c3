"""AMI on the wire, server side: frames out, actions in."""

from __future__ import annotations

BANNER = b"Asterisk Call Manager/9.0.0\r\n"

Fields = dict[str, str]
# A frame in which a key repeats, as Asterisk writes one "Variable: NAME=value" line per
# variable into a Status list item: (key, value) pairs in order.
Pairs = list[tuple[str, str]]
Frame = Fields | Pairs


def encode(fields: Frame) -> bytes:
    """One AMI frame. Values never contain CR/LF: caller ID with line breaks is flattened,
    as Asterisk itself does, so a hostile name cannot inject fields."""
    pairs = fields.items() if isinstance(fields, dict) else fields
    lines = [f"{key}: {_flat(value)}\r\n" for key, value in pairs]
    return ("".join(lines) + "\r\n").encode("utf-8")


def _flat(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ") if "\r" in value or "\n" in value else value


def parse_action(frame: bytes) -> Fields:
    """An action as the client sent it; keys are matched case-insensitively by Asterisk, so
    we normalise them to the capitalisation our handlers use."""
    fields: Fields = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            fields[_canonical(key.strip())] = value.strip()
    return fields


_KNOWN_KEYS = {
    k.lower(): k
    for k in (
        "Action",
        "ActionID",
        "Username",
        "Secret",
        "Events",
        "Queue",
        "Interface",
        "Paused",
        "Reason",
        "MemberName",
        "Penalty",
        "StateInterface",
        "Channel",
        "ExtraChannel",
        "Context",
        "Exten",
        "Priority",
        "Application",
        "Data",
        "Async",
        "CallerID",
        "Timeout",
        "Variable",
        "Direction",
        "State",
        "Cause",
        "Value",
        "Variables",
        "ChannelId",
        "OtherChannelId",
    )
}


def _canonical(key: str) -> str:
    return _KNOWN_KEYS.get(key.lower(), key)


def response(action_id: str | None, ok: bool, message: str | None = None, **extra: str) -> Fields:
    fields: Fields = {"Response": "Success" if ok else "Error"}
    if action_id is not None:
        fields["ActionID"] = action_id
    if message is not None:
        fields["Message"] = message
    fields.update(extra)
    return fields
