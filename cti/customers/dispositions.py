"""Dispositions an agent owes: in the queues ``CTI_CENTER_DISPOSITION_REQUIRED`` names, an
agent who answered a call is not made ready (Ready on their screen, ``POST /api/agent/state``)
until a note with a disposition is saved for that call.

``OwedDispositions`` is a pipeline sink: for each agent's phone, the last call they answered
that ended in such a queue, known the moment the call ends (the call log's row may still be
on its way). ``owed`` then asks the notes, which the agent saved through the API, whether
the disposition is there; one given is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from cti.state.changes import CallEnded, Change, Outcome

_GIVEN = "SELECT 1 FROM call_notes WHERE linkedid = $1 AND disposition IS NOT NULL LIMIT 1"


@dataclass(frozen=True, slots=True)
class Owed:
    linkedid: str
    queue: str
    caller: str  # as the agent saw it: the name, else the number


class OwedDispositions:
    def __init__(self, queues: Iterable[str]) -> None:
        self.required_in = frozenset(queues)
        self._last: dict[str, Owed] = {}  # by interface: one call each, at most

    def offer(self, changes: Sequence[Change]) -> None:
        if not self.required_in:
            return
        for change in changes:
            if type(change) is not CallEnded:
                continue
            record = change.record
            answered = record.outcome in (Outcome.ANSWERED, Outcome.TRANSFERRED)
            if record.agent and answered and record.queue in self.required_in:
                caller = record.caller_name or record.caller_number
                self._last[record.agent] = Owed(record.linkedid, record.queue, caller)

    async def owed(self, pool: asyncpg.Pool, interfaces: Iterable[str]) -> Owed | None:
        """The call of these phones whose disposition is still to be given, if any."""
        for interface in interfaces:
            owed = self._last.get(interface)
            if owed is None:
                continue
            if not await pool.fetchval(_GIVEN, owed.linkedid):
                return owed
            del self._last[interface]
        return None
