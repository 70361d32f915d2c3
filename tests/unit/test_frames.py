"""Framing: split UTF-8, noise skipping, malformed input. Pure, no sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami.events import WANTED_EVENTS
from cti.ami.frames import FrameSplitter, FrameTooLarge, parse_message
from cti.replay import capture_bytes

NAMES = ["Ayşe Çağrı Yılmaz", "Иван Петров", "Mehmet Öztürk", "José Müller"]


def parse_all(data: bytes, cuts: list[int], wanted: frozenset[str] | None = None) -> list[dict[str, str]]:
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
        "Response": "Success", "ActionID": "a0", "Message": "Authentication accepted",
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
        "Event": "X", "AccountCode": "", "Value": "a: b",
    }
