"""The compiled builders (cti/ami/events.py ``_builder``) make each event without calling its
``__init__``: here every kind of ``BUILDERS`` is checked against the event its spec says,
made the plain way (``Event(**fields)`` from the cleaned message), over every frame of the
reference captures, the same frames made dirty, and generated values. Equal means ``==``,
the same ``hash`` and the same type; the events stay frozen."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami.events import (
    BUILDERS,
    EVENTS,
    MAX_TEXT,
    USER_EVENTS,
    AmiEvent,
    ChannelHungUp,
    Spec,
    _builder,
    _stamp,
    clean_message,
    to_event,
)
from cti.ami.frames import FrameSplitter, Message, parse_message
from cti.replay import capture_bytes

# Kinds the reference captures lack, as Asterisk 20 prints them (values made up).
MORE_FRAMES = [
    "Event: Hold\r\nPrivilege: call,all\r\nTimestamp: 1700000000.100000\r\nChannel: PJSIP/1001-00000001\r\nUniqueid: 1700000000.11\r\nLinkedid: 1700000000.10\r\nMusicClass: default",
    "Event: Unhold\r\nPrivilege: call,all\r\nTimestamp: 1700000001.200000\r\nChannel: PJSIP/1001-00000001\r\nUniqueid: 1700000000.11\r\nLinkedid: 1700000000.10",
    "Event: BlindTransfer\r\nPrivilege: call,all\r\nTimestamp: 1700000002.300000\r\nResult: Success\r\nTransfererChannel: PJSIP/1001-00000001\r\nTransfererUniqueid: 1700000000.11\r\nTransfererLinkedid: 1700000000.10\r\nIsExternal: No\r\nContext: agents\r\nExtension: 4440",
    "Event: AttendedTransfer\r\nPrivilege: call,all\r\nTimestamp: 1700000003.400000\r\nResult: Fail\r\nOrigTransfererChannel: PJSIP/1001-00000001\r\nOrigTransfererUniqueid: 1700000000.11\r\nOrigTransfererLinkedid: 1700000000.10\r\nSecondTransfererLinkedid: 1700000002.20\r\nDestType: Bridge",
    "Event: QueueMemberAdded\r\nPrivilege: agent,all\r\nTimestamp: 1700000004.500000\r\nQueue: support\r\nMemberName: Ayşe Çağrı\r\nInterface: PJSIP/1001\r\nStateInterface: PJSIP/1001\r\nMembership: dynamic\r\nPenalty: 0\r\nCallsTaken: 0\r\nLastCall: 0\r\nLastPause: 0\r\nLoginTime: 1700000004\r\nInCall: 0\r\nStatus: 1\r\nPaused: 1\r\nPausedReason: lunch\r\nRinginuse: 0\r\nWrapuptime: 15",
    "Event: QueueMemberRemoved\r\nPrivilege: agent,all\r\nTimestamp: 1700000005.600000\r\nQueue: support\r\nMemberName: Ayşe Çağrı\r\nInterface: PJSIP/1001\r\nStateInterface: PJSIP/1001",
    "Event: UserEvent\r\nPrivilege: user,all\r\nTimestamp: 1700000006.700000\r\nUserEvent: CtiRouteNoAnswer\r\nUniqueid: 1700000006.30\r\nLinkedid: 1700000006.30\r\nAgent: PJSIP/1002\r\nDialStatus: NOANSWER",
]


DIRTY_PER_KIND = 50  # messages of each kind also made dirty (the load capture repeats itself)


def reference(message: Message, received_at: float | None) -> AmiEvent | None:
    """The event the tables say, made by its ``__init__`` from the cleaned message."""
    name = message["Event"]
    if name == "Status":
        return BUILDERS["Status"](message, received_at)  # built by its __init__ already
    m = clean_message(message)
    spec = USER_EVENTS.get(m.get("UserEvent", "")) if name == "UserEvent" else EVENTS[name]
    if spec is None:
        return None
    event, sources = spec
    fields: dict[str, object] = {"ts": _stamp(m.get("Timestamp", ""), received_at)}
    for field, source in sources.items():
        if isinstance(source, str):
            fields[field] = m.get(source, "")
        elif isinstance(source, tuple):
            fields[field] = source[1](m.get(source[0], ""))
        else:
            fields[field] = source(m)
    return event(**fields)


def assert_same(built: AmiEvent | None, expected: AmiEvent | None) -> None:
    assert type(built) is type(expected)
    assert built == expected
    assert hash(built) == hash(expected)
    if built is not None:
        assert dataclasses.astuple(built) == dataclasses.astuple(expected)  # field by field


def messages(captures: Path) -> Iterator[Message]:
    paths = sorted(
        [*captures.glob("*.ami"), *captures.glob("*.ami.xz"), *captures.glob("real/*.ami")]
    )
    for path in paths:
        for message in FrameSplitter().feed(capture_bytes(path)):
            if message.get("Event") in BUILDERS:
                yield message
    for text in MORE_FRAMES:
        yield parse_message(text)


def dirty(message: Message) -> Iterator[Message]:
    """The message with a control character in every value, with every value too long, and
    without its Timestamp: each takes the builders' cleaning path."""
    yield {key: value if key == "Event" else f"\x00{value}\x1b" for key, value in message.items()}
    yield {
        key: value if key == "Event" else value + "x" * MAX_TEXT for key, value in message.items()
    }
    yield {key: value for key, value in message.items() if key != "Timestamp"}


def test_every_kind_is_built_as_its_init_would_over_the_captures(captures: Path) -> None:
    seen: Counter[tuple[str, str]] = Counter()  # kind (and UserEvent name): messages
    for message in messages(captures):
        kind = (message["Event"], message.get("UserEvent", ""))
        seen[kind] += 1
        # every message as it came; the first ones of each kind made dirty too
        variants = [message, *dirty(message)] if seen[kind] <= DIRTY_PER_KIND else [message]
        for variant in variants:
            for received_at in (None, 1700000100.5):
                assert_same(to_event(variant, received_at), reference(variant, received_at))
    assert {event for event, _ in seen} == set(BUILDERS)
    assert set(USER_EVENTS) <= {name for event, name in seen if event == "UserEvent"}


# Any text: control characters, line ends, non-Latin letters, values longer than MAX_TEXT.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=MAX_TEXT + 20)
# The headers a spec may read besides its own: computed fields' and the UserEvent name.
OTHER_HEADERS = {"Interface", "Location", "StateInterface", "MemberName", "Name"}
OTHER_HEADERS |= {"TransfererLinkedid", "OrigTransfererLinkedid"}


def headers_of(spec: Spec) -> list[str]:
    named = {s if isinstance(s, str) else s[0] for s in spec[1].values() if not callable(s)}
    return sorted(named | OTHER_HEADERS | {"Timestamp"})


@settings(max_examples=300, deadline=None)  # shared, noisy machines: no per-example limit
@given(
    kind=st.sampled_from([*EVENTS, *(f"UserEvent/{name}" for name in USER_EVENTS)]),
    data=st.data(),
)
def test_generated_values_are_built_as_init_would(kind: str, data: st.DataObject) -> None:
    event, _, user_event = kind.partition("/")
    spec = USER_EVENTS[user_event] if user_event else EVENTS[event]
    values = data.draw(st.dictionaries(st.sampled_from(headers_of(spec)), TEXT))
    message = {**values, "Event": event} | ({"UserEvent": user_event} if user_event else {})
    for received_at in (None, 5.0):
        assert_same(to_event(message, received_at), reference(message, received_at))


def test_events_stay_frozen() -> None:
    message = parse_message(
        "Event: Hangup\r\nTimestamp: 1700000000.5\r\nChannel: PJSIP/1001-00000001\r\n"
        "Uniqueid: 1.1\r\nLinkedid: 1.0\r\nCause: 16\r\nCause-txt: Normal Clearing"
    )
    event = to_event(message)
    assert isinstance(event, ChannelHungUp)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.cause = 17  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del event.channel  # type: ignore[misc]
    assert dataclasses.replace(event, cause=17).cause == 17
    assert event.cause == 16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    ts: float | None
    value: str

    def __post_init__(self) -> None:
        if not self.value:
            raise ValueError("empty")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Defaulted:
    ts: float | None
    value: str
    other: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class NoSlots:
    ts: float | None
    value: str


@pytest.mark.parametrize(
    ("spec", "refusal"),
    [
        ((Checked, {"value": "Value"}), "__post_init__"),
        ((Defaulted, {"value": "Value"}), "every field"),  # other would be left unset
        ((NoSlots, {"value": "Value"}), "not a slot"),
    ],
)
def test_a_builder_is_refused_for_a_class_it_cannot_make_without_init(
    spec: Spec, refusal: str
) -> None:
    with pytest.raises(TypeError, match=refusal):
        _builder(spec)
