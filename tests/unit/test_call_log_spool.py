"""The call-log spool's file (no database): a torn line or a failed append never costs the
rows appended after it, and committed rows leave the file once all are committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cti.calllog import spool
from cti.calllog.spool import Spool

T0 = 1_795_343_700.0


def event(linkedid: str) -> list[Any]:
    values = {
        "linkedid": linkedid,
        "at": T0,
        "kind": "agent_connect",
        "queue": "support",
        "interface": "PJSIP/1001",
        "seconds": 5,
        "position": None,
    }
    return ["event", values]


def test_an_append_after_a_torn_line_starts_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    first, second = event("a"), event("b")
    Spool(path).append([first])
    with path.open("a") as file:
        file.write('[["call", ["half')  # the process died mid-append
    again = Spool(path)
    assert again.pending == [first]
    again.append([second])
    assert Spool(path).pending == [first, second]


def test_an_append_that_fails_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "spool"
    first, second, third = event("a"), event("b"), event("c")
    kept = Spool(path)
    kept.append([first])
    size = path.stat().st_size

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool.os, "fsync", full_disk)
    with pytest.raises(OSError):
        kept.append([second])
    monkeypatch.undo()
    assert path.stat().st_size == size and kept.pending == [first]
    kept.append([third])
    assert Spool(path).pending == [first, third]
    kept.clear(1)  # the file keeps it until every row is committed: idempotent on a restart
    assert kept.pending == [third] and Spool(path).pending == [first, third]
    kept.clear(1)
    assert path.stat().st_size == 0


def test_the_writers_fast_encoding_reads_back_as_the_plain_one(tmp_path: Path) -> None:
    # orjson writes what the stdlib's json reads back unchanged: text beyond ASCII, times
    # with microseconds, and (encoded by the stdlib instead) a slice orjson refuses.
    rows = [event(f"ü\u2028{i}") for i in range(1_200)]
    rows[0][1]["at"] = T0 + 0.000_001
    rows[700][1]["seconds"] = 2**70
    path = tmp_path / "spool"
    line = spool.encode_checked(rows)
    Spool(path).append(rows, line)
    assert Spool(path).pending == rows


def test_a_row_with_a_time_that_is_no_time_keeps_it_in_the_spool_file(tmp_path: Path) -> None:
    # orjson would write infinity as null: reloaded after a crash, such a row would then be
    # written with no time instead of being quarantined. spooled() keeps it to the stdlib.
    from cti.calllog.writer import spooled

    bad = event("inf")
    bad[1]["at"] = float("inf")
    rows = [event("a"), bad]
    items, line = spooled(rows)
    assert items[1] == bad  # not staged: refused with its reason when written
    path = tmp_path / "spool"
    Spool(path).append(items, line)
    reloaded = Spool(path).pending
    assert reloaded[1][1]["at"] == float("inf") and reloaded[0] == rows[0]
