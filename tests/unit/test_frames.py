"""Framing: split UTF-8, noise skipping, malformed input, bounds under garbage. Pure, no
sockets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cti.ami.events import WANTED_EVENTS
from cti.ami.frames import (
    ASTERISK_EVENTS,
    BANNER_PREFIX,
    INVALID_UTF8,
    MAX_FRAME_BYTES,
    NO_EVENT,
    OTHER_EVENTS,
    FrameSplitter,
    FrameTooLarge,
    event_label,
    parse_message,
)
from cti.ami.protocol import GarbageLog
from cti.replay import capture_bytes

NAMES = ["Ayşe Çağrı Yılmaz", "Иван Петров", "Mehmet Öztürk", "José Müller"]


def parse_all(
    data: bytes, cuts: list[int], wanted: frozenset[str] | None = None
) -> list[dict[str, str]]:
    splitter = FrameSplitter(wanted)
    messages = []
    previous = 0
    for cut in [*cuts, len(data)]:
        messages += splitter.feed(data[previous:cut])
        previous = cut
    return messages


def test_banner_is_read_and_not_a_message(captures: Path) -> None:
    data = capture_bytes(captures / "actions.ami")
    splitter = FrameSplitter()
    messages = splitter.feed(data)
    assert splitter.version == "9.0.0"
    assert messages[0] == {
        "Response": "Success",
        "ActionID": "a0",
        "Message": "Authentication accepted",
    }


@pytest.mark.parametrize("capture", ["basic-queue-calls.ami", "login-snapshot-midcall.ami"])
def test_split_at_every_byte_near_multibyte_names(captures: Path, capture: str) -> None:
    data = capture_bytes(captures / capture)
    whole = parse_all(data, [])
    names = [n for n in NAMES if n.encode() in data] or ["Zeynep Arslan", "Emre Şahin", "Elif Koç"]
    checked = 0
    for name in names:
        encoded = name.encode()
        start = data.index(encoded)
        for offset in range(start - 2, start + len(encoded) + 2):
            assert parse_all(data, [offset]) == whole, f"split at byte {offset} broke {name!r}"
            checked += 1
    assert checked > 20
    assert any(m.get("CallerIDName") in [*NAMES, "Emre Şahin"] for m in whole)


def test_one_byte_reads_lose_nothing(captures: Path) -> None:
    data = capture_bytes(captures / "basic-queue-calls.ami")
    assert parse_all(data, list(range(1, len(data)))) == parse_all(data, [])


def test_unwanted_events_are_skipped_and_counted(captures: Path) -> None:
    data = capture_bytes(captures / "basic-queue-calls.ami")
    splitter = FrameSplitter(WANTED_EVENTS)
    messages = splitter.feed(data)
    assert not any(m.get("Event") == "VarSet" for m in messages)
    assert splitter.skipped[b"VarSet"] == 237
    # list items answering an action are kept even when their name is not wanted
    assert any(m.get("Event") == "QueueSummary" for m in messages)


def test_malformed_frame_is_reported_and_the_stream_goes_on() -> None:
    splitter = FrameSplitter()
    good = b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n"
    messages = splitter.feed(good + b"garbage without a colon\r\n\r\n" + good)
    assert [m["Event"] for m in messages] == ["Hangup", "Hangup"]
    assert len(splitter.malformed) == 1 and "garbage" in splitter.malformed[0].text


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    (message,) = FrameSplitter().feed(b"Event: Newchannel\r\nCallerIDName: A\xffB\r\n\r\n")
    assert message["CallerIDName"] == "A\ufffdB"


def test_endless_frame_is_refused() -> None:
    splitter = FrameSplitter()
    with pytest.raises(FrameTooLarge):
        for _ in range(300):
            splitter.feed(b"X: " + b"y" * 4096 + b"\r\n")


def test_parse_message_keeps_empty_values_and_colons_in_values() -> None:
    assert parse_message("Event: X\r\nAccountCode: \r\nValue: a: b") == {
        "Event": "X",
        "AccountCode": "",
        "Value": "a: b",
    }


# --- bounded under garbage -------------------------------------------------------------------


def test_endless_banner_line_is_refused_like_an_endless_frame() -> None:
    splitter = FrameSplitter()
    splitter.feed(BANNER_PREFIX + b"9.0.0")
    with pytest.raises(FrameTooLarge, match="banner"):
        for _ in range(300):
            splitter.feed(b"9" * 4096)  # never a line end


def test_endless_banner_in_one_read_is_refused() -> None:
    with pytest.raises(FrameTooLarge, match="banner"):
        FrameSplitter().feed(BANNER_PREFIX + b"x" * (MAX_FRAME_BYTES + 1))


def test_a_long_banner_within_the_limit_is_still_a_banner() -> None:
    splitter = FrameSplitter()
    data = BANNER_PREFIX + b"9" * 5000 + b"\r\nResponse: Success\r\n\r\n"
    assert parse_all(data, list(range(10, len(data), 1000))) == [{"Response": "Success"}]
    assert splitter.feed(data) == [{"Response": "Success"}]
    assert splitter.version == "9" * 5000


def test_a_frame_just_within_the_limit_passes_in_small_reads() -> None:
    value = b"v" * (MAX_FRAME_BYTES - 100)
    data = b"Event: Hangup\r\nCause-txt: " + value + b"\r\n\r\nEvent: Hangup\r\n\r\n"
    messages = parse_all(data, list(range(1000, len(data), 1000)))
    assert [len(m.get("Cause-txt", "")) for m in messages] == [len(value), 0]


def test_a_frame_end_split_across_reads_is_found() -> None:
    data = b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\nEvent: Hangup\r\n\r\n"
    end = data.index(b"\r\n\r\n")
    for cut in range(end - 1, end + 5):
        assert len(parse_all(data, [5, cut])) == 2, cut


def test_unknown_event_names_are_counted_as_one_label() -> None:
    splitter = FrameSplitter(WANTED_EVENTS)
    garbage = b"".join(b"Event: Junk%d\r\nX: y\r\n\r\n" % n for n in range(1000))
    splitter.feed(garbage + b"Event: VarSet\r\nVariable: A\r\n\r\nEvent: \xff\xfe\r\n\r\n")
    assert splitter.skipped == {b"other": 1001, b"VarSet": 1}


def test_event_labels_are_bounded_and_know_every_event_we_use() -> None:
    assert WANTED_EVENTS <= ASTERISK_EVENTS
    assert {"FullyBooted", "Shutdown", "VarSet", "Newexten"} <= ASTERISK_EVENTS
    assert event_label("Response") == "Response"
    assert event_label("Hangup") == "Hangup"
    assert {event_label(f"Junk{n}") for n in range(1000)} == {OTHER_EVENTS}


def test_invalid_utf8_is_reported_and_delivered() -> None:
    splitter = FrameSplitter()
    (message,) = splitter.feed(b"Event: Newchannel\r\nCallerIDName: A\xffB\r\n\r\n")
    assert message["CallerIDName"] == "A\ufffdB"
    assert [bad.kind for bad in splitter.malformed] == [INVALID_UTF8]


def test_frames_without_event_or_response_are_reported_by_kind() -> None:
    splitter = FrameSplitter()
    splitter.feed(b"no colon\r\n\r\nKey: value\r\n\r\n\x00\x00\r\n\r\n")
    assert [bad.kind for bad in splitter.malformed] == [NO_EVENT] * 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_garbage_is_logged_at_a_bounded_rate_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    garbage = GarbageLog(interval=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="cti.ami.protocol"):
        for _ in range(1000):
            garbage.report(NO_EVENT, logging.WARNING, "malformed AMI frame", "junk")
        garbage.report(INVALID_UTF8, logging.WARNING, "malformed AMI frame", "\ufffd")
        clock.now += 10.0
        garbage.report(NO_EVENT, logging.WARNING, "malformed AMI frame", "junk")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # the first of each kind, then one after the interval
    assert lines[2].endswith("(999 more since the last such line)")
    assert garbage.counts == {NO_EVENT: 1001, INVALID_UTF8: 1}


def test_an_overlong_banner_line_is_refused_even_when_it_ends() -> None:
    data = BANNER_PREFIX + b"9" * MAX_FRAME_BYTES + b"\r\nResponse: Success\r\n\r\n"
    for cuts in ([], [len(data) - 100], list(range(65536, len(data), 65536))):
        with pytest.raises(FrameTooLarge, match="banner"):
            parse_all(data, cuts)
