"""Who answered each call that ended lately, known the moment it ends.

An agent acts on a call they answered after it has ended too: the disposition and note in
wrap-up. The call has then left the live state, and its call-log row may still be on its way
(the writer batches rows, and holds them through a database outage), so asking the row alone
answered 404 to the agent who had just taken the call. This sink remembers the answering
phone of the last ``KEEP`` ended calls: at a million calls a day, the last quarter of an hour
at the busiest; older calls are asked of the call log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from cti.state.changes import CallEnded, Change

KEEP = 10_000


class AnsweredLately:
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._agent_of: OrderedDict[str, str] = OrderedDict()  # Linkedid -> interface, oldest first

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if type(change) is not CallEnded or change.record.agent is None:
                continue
            self._agent_of[change.record.linkedid] = change.record.agent
            if len(self._agent_of) > self._keep:
                self._agent_of.popitem(last=False)

    def agent_of(self, linkedid: str) -> str | None:
        """The phone that answered this call, if it ended among the last ``KEEP``."""
        return self._agent_of.get(linkedid)
