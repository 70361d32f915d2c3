"""``parse_message`` has three ways to read a frame (a learnt layout, str methods, the
general pattern); whichever it takes, it must read the frame as the general pattern
(``_parse_by_pattern``) does. Checked over every frame of the reference captures and over
real frames with generated values: line ends, colons, control characters, any letters."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami.frames import (
    _LAYOUTS,
    BANNER_PREFIX,
    FRAME_END,
    _parse_by_pattern,
    parse_message,
)
from cti.replay import capture_bytes

CAPTURES = Path(__file__).resolve().parents[1] / "captures"


def capture_texts() -> list[str]:
    paths = sorted(
        [*CAPTURES.glob("*.ami"), *CAPTURES.glob("*.ami.xz"), *CAPTURES.glob("real/*.ami")]
    )
    texts = []
    for path in paths:
        data = capture_bytes(path)
        if data.startswith(BANNER_PREFIX):
            data = data[data.index(b"\r\n") + 2 :]
        texts += [frame.decode("utf-8", "replace") for frame in data.split(FRAME_END) if frame]
    return texts


TEXTS = capture_texts()


def test_every_captured_frame_is_read_as_the_general_pattern_reads_it() -> None:
    for _ in range(2):  # the first pass learns the layouts, the second reads with them
        for text in TEXTS:
            assert parse_message(text) == _parse_by_pattern(text), text
    assert sum(map(len, _LAYOUTS.values())) >= 10  # the layouts were used


# Real frames of the kinds that have a layout, each a list of its lines.
LAID_OUT = [text.split("\r\n") for text in TEXTS if text[: text.find("\r")] in _LAYOUTS]
PIECES = ["a", "Ş", "Ж", " ", ":", ": ", "\r", "\n", "\r\n", "\x00", "Event: X"]
VALUE = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)


@settings(max_examples=400, deadline=None)  # shared, noisy machines: no per-example limit
@given(lines=st.sampled_from(LAID_OUT), edits=st.lists(st.tuples(st.integers(0, 99), VALUE)))
def test_frames_with_odd_values_are_read_as_the_general_pattern_reads_them(
    lines: list[str], edits: list[tuple[int, str]]
) -> None:
    learnt = {kind: list(layouts) for kind, layouts in _LAYOUTS.items()}
    try:
        parse_message("\r\n".join(lines))  # its kind's layout learnt from the real frame
        lines = list(lines)
        for where, value in edits:  # a line's value replaced, its key kept
            number = where % len(lines)
            key, _, _ = lines[number].partition(": ")
            lines[number] = f"{key}: {value}"
        text = "\r\n".join(lines)
        assert parse_message(text) == _parse_by_pattern(text)
    finally:  # what this example learnt is forgotten: no test depends on another
        for kind, layouts in learnt.items():
            _LAYOUTS[kind][:] = layouts
