"""``cti replay FILE.ami``: run a capture through the pipeline offline, one JSON line a call.

The capture is fed to the same frame splitter, typed events and state core as a live
connection, in chunks as a socket would deliver it. Lines starting with ``#>>`` (what the
capturing client sent) are annotations, not AMI, and are dropped first.
"""

from __future__ import annotations

import json
import lzma
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cti.ami.events import WANTED_EVENTS, AmiEvent
from cti.ami.frames import FrameSplitter
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.database import Database
from cti.pipeline import Pipeline, Sink
from cti.settings import Settings
from cti.state import views
from cti.state.changes import CallEnded, CallRecord, Change
from cti.state.store import CtiState

ANNOTATION = b"#>>"


def read_capture(path: Path) -> bytes:
    """A capture file's bytes; one named ``*.xz`` is stored xz-compressed (the large load
    capture is kept so in the repository) and is decompressed here."""
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


def capture_bytes(path: Path) -> bytes:
    """The AMI byte stream of a capture file (``.xz`` decompressed), without its ``#>>``
    annotation lines."""
    data = read_capture(path)
    while data.startswith(ANNOTATION):
        data = data[data.index(b"\n") + 1 :]
    return data


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def record_json(record: CallRecord) -> dict[str, Any]:
    row = asdict(record)
    row["outcome"] = str(record.outcome)
    for key in ("started_at", "queued_at", "answered_at", "ended_at"):
        row[key] = iso(row[key])
    return row


class _CallCollector:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if type(change) is CallEnded:
                self.records.append(change.record)


def replay(
    data: bytes,
    chunk_size: int = 65536,
    sinks: Sequence[Sink] = (),
    before: Sequence[AmiEvent] = (),
) -> tuple[list[CallRecord], Pipeline]:
    """Feed an AMI byte stream through the pipeline; return the calls that ended. ``before``:
    what the daemon itself told the core first (an ``OutboundRequested`` for its Originate)."""
    collector = _CallCollector()
    pipeline = Pipeline(CtiState(), [collector, *sinks])
    for event in before:
        pipeline.process(event, None)
    splitter = FrameSplitter(WANTED_EVENTS)
    for start in range(0, len(data), chunk_size):
        for message in splitter.feed(data[start : start + chunk_size]):
            pipeline.process(message, None)
    return collector.records, pipeline


def summary(records: Sequence[CallRecord], pipeline: Pipeline) -> dict[str, Any]:
    consent = Counter(r.consent or "none" for r in records)
    return {
        "calls": len(records),
        "outcomes": dict(Counter(str(r.outcome) for r in records)),
        "total_wait_s": sum(r.wait_s or 0 for r in records),
        "total_talk_s": sum(r.talk_s or 0 for r in records),
        "consent": dict(consent),
        "agents": len({r.agent for r in records if r.agent}),
        "open_calls": views.open_calls(pipeline.state),
        "ami_messages": pipeline.stats.messages,
        "handler_errors": pipeline.stats.handler_errors,
        "anomalies": dict(pipeline.stats.anomalies),
    }


def replay_lines(path: Path) -> Iterator[str]:
    records, pipeline = replay(capture_bytes(path))
    for record in records:
        yield json.dumps(record_json(record), ensure_ascii=False)
    yield json.dumps({"summary": summary(records, pipeline)}, ensure_ascii=False)


async def replay_into_database(path: Path, settings: Settings) -> tuple[list[str], int]:
    """Replay a capture and write what it yields to the call log. Returns the JSON lines
    and how many rows are still waiting in the spool (0 when all were written)."""
    database = await Database.open(settings.database_url, settings.data_dir)
    writer = CallLogWriter(
        database, Spool(settings.data_dir / "call-log.spool"), settings.center_region
    )
    try:
        records, pipeline = replay(capture_bytes(path), sinks=[writer])
        await writer.drain()
    finally:
        await database.close()
    lines = [json.dumps(record_json(r), ensure_ascii=False) for r in records]
    lines.append(json.dumps({"summary": summary(records, pipeline)}, ensure_ascii=False))
    return lines, writer.spool_depth
