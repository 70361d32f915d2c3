"""A local append-only spool of call-log rows not yet in the database.

Every batch is appended (one JSON line, flushed and fsynced) *before* the database write is
tried, and the file is emptied only after the rows are committed, so neither a database
outage nor a killed daemon loses a row. A crash between commit and truncation re-writes rows
on the next start: the writes are idempotent, so that costs nothing. A torn last line (the
process died mid-append) is skipped with a warning.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from cti.calllog.rows import Row

log = logging.getLogger(__name__)


class Spool:
    """Used by one writer task at a time (its calls are awaited one after another)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.pending: list[Row] = self._load()

    @property
    def depth(self) -> int:
        return len(self.pending)

    def _load(self) -> list[Row]:
        if not self.path.exists():
            return []
        rows: list[Row] = []
        with self.path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                try:
                    rows.extend(json.loads(line))
                except json.JSONDecodeError:
                    log.warning(
                        "%s line %d is torn (crash while writing); skipped", self.path, number
                    )
        if rows:
            log.info("%d call-log rows from %s are waiting for the database", len(rows), self.path)
        return rows

    def append(self, rows: list[Row]) -> None:
        """Blocking (fsync): call it from a worker thread."""
        line = json.dumps(rows, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())
        self.pending.extend(rows)

    def clear(self, count: int) -> None:
        """Forget the first ``count`` rows (now committed). Blocking: use a worker thread."""
        rest = self.pending[count:]
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as file:
            if rest:
                file.write(json.dumps(rest, ensure_ascii=False, separators=(",", ":")) + "\n")
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(self.path)
        self.pending = rest
