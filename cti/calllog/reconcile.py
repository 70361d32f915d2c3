"""The call log completed from Asterisk's own records after every gap.

Theory of operation
-------------------
The AMI stream is not durable: a call that ends while the daemon is away (killed, restarting,
its link cut) ends unseen. Asterisk writes its own records into PostgreSQL meanwhile
(asterisk-conf/: CEL, CDR and the queue_log, tables of migration 008). After each resync the
state core says ``Resynced``; the ``Reconciler`` then looks for calls whose end Asterisk
recorded (CEL ``LINKEDID_END``) within ``HORIZON_S`` and that the call log has not closed:

- a call the daemon never saw gets its whole row from Asterisk (``facts_source`` 'asterisk');
- a call the daemon followed until the gap (``ended_while_disconnected``, no end) keeps what
  it knew, and what it lacked is filled in: Asterisk's exact end, talk time, consent,
  recording, an outcome instead of 'unknown' (``facts_source`` 'ami+asterisk');
- a call the daemon saw end but that was in progress during a gap (``through_gap``) may
  lack a fact it missed (the consent decision, the caller's hang-up): the same filling, and
  app_queue's outcome wins over the daemon's guess. Such a call's end asks for a
  reconciliation too, since no resync follows it.

From the records: the first leg's CHAN_START (the call's start, caller, dialled number), the
queue_log of the caller's channel (ENTERQUEUE, CONNECT: wait and agent, COMPLETE*: talk,
ABANDON / EXITWITHTIMEOUT: position and wait), and the CDR variables the dialplan sets
(``cti_consent``, ``cti_consent_method``, ``recording``). The queue_log names an agent by
member name; the daemon's members map it back to the interface the call log uses.

A call whose consent may still come when a reconciliation runs (its CDR not written yet, or
its end the daemon's own to write) is looked at again every ``FOLLOW_UP_S``, ``FOLLOW_UPS``
times, and its consent filled in from the CDR once both are there: after a reconciliation no
other may come for hours.

Calls still in progress are left to the live stream. Supervisors' listen/whisper/barge calls
(dialplan contexts ``cti-spy-*``) are never logged, as live. Writes never replace what the
daemon itself recorded, and a daemon row written later (its spool) wins over Asterisk's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from cti.calllog.queries import (
    CDR_FACTS,
    CONSENT_TO_COME,
    FILL_CONSENT,
    FILL_CONSENT_OF,
    FIRST_LEGS,
    MISSED_CALLS,
    QUEUE_LOG,
    RECONCILE_CALL,
)
from cti.calllog.rows import Row, call_row, event_row
from cti.calllog.writer import is_outage, prepare, write_rows
from cti.database import Database
from cti.state.changes import CallEnded, CallRecord, Change, Outcome, Resynced

log = logging.getLogger(__name__)

HORIZON_S = 24 * 3600  # how far back a reconciliation looks for calls Asterisk ended
RETRY_S = 30.0
RECORDS_SETTLE_S = 1.0
SETTLE_MAX_S = 10.0  # the longest a reconciliation waits for the call log's own rows
# A call a reconciliation found whose consent may still come (its CDR not written yet, or
# its end the daemon's to write) is looked at again this often, this many times: five
# minutes, then it is left as it is (a call with no CDR ever: Asterisk's CDR switched off).
FOLLOW_UP_S = 30.0
FOLLOW_UPS = 10


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    at: float
    queue: str
    agent: str  # member name
    event: str
    data: tuple[str, str, str]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def record_from(
    linkedid: str,
    ended_at: float,
    first_leg: dict[str, Any] | None,
    queue_log: Sequence[QueueLogLine],
    cdr: dict[str, Any] | None,
    interface_of: Callable[[str], str],
) -> CallRecord:
    """One call as Asterisk recorded it (pure)."""
    started_at = first_leg["eventtime"] if first_leg else None
    record: dict[str, Any] = {
        "queue": None,
        "agent": None,
        "agent_name": None,
        "outcome": Outcome.UNKNOWN,
        "queued_at": None,
        "answered_at": None,
        "wait_s": None,
        "talk_s": None,
        "abandon_position": None,
    }
    for line in queue_log:
        if line.event == "ENTERQUEUE":
            record.update(queue=line.queue, queued_at=line.at)
        elif line.event == "CONNECT":  # holdtime, bridged channel's uniqueid, ringtime
            record.update(
                queue=line.queue,
                agent=interface_of(line.agent),
                agent_name=line.agent,
                answered_at=line.at,
                wait_s=_int(line.data[0]),
                outcome=Outcome.ANSWERED,
            )
        elif line.event in ("COMPLETECALLER", "COMPLETEAGENT"):  # holdtime, calltime, pos
            record["talk_s"] = _int(line.data[1])
        elif line.event == "ABANDON":  # position, original position, waittime
            record.update(
                outcome=Outcome.ABANDONED,
                abandon_position=_int(line.data[0]),
                wait_s=_int(line.data[2]),
            )
        elif line.event in ("EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"):
            record.update(outcome=Outcome.TIMED_OUT, wait_s=_int(line.data[2]))
    if record["answered_at"] is not None and record["talk_s"] is None:
        record["talk_s"] = max(0, round(ended_at - record["answered_at"]))
    if record["outcome"] is Outcome.UNKNOWN and not queue_log:
        record["outcome"] = Outcome.UNANSWERED if first_leg else Outcome.UNKNOWN
    consent = (cdr or {}).get("consent")
    consent = consent if consent in ("granted", "declined") else None
    recording = (cdr or {}).get("recording") if consent == "granted" else None
    return CallRecord(
        linkedid=linkedid,
        caller_number=(first_leg or {}).get("cid_num") or "",
        caller_name=(first_leg or {}).get("cid_name") or "",
        dialed=(first_leg or {}).get("exten") or "",
        # Known only from the queue_log here: an agent's outbound call reads as "other".
        direction="inbound" if record["queue"] else "other",
        started_at=started_at,
        ended_at=ended_at,
        hold_s=0,
        consent=consent,
        consent_method=(cdr or {}).get("consent_method") if consent else None,
        consent_at=None,
        recorded=recording is not None,
        recording=recording,
        hangup_cause=None,
        no_answer_count=sum(1 for q in queue_log if q.event == "RINGNOANSWER"),
        ended_while_disconnected=True,
        through_gap=True,
        **record,
    )


def event_rows(
    record: CallRecord, queue_log: Iterable[QueueLogLine], interface_of: Callable[[str], str]
) -> list[Row]:
    """The per-call events KPIs are computed from, written only where the call has none."""
    rows: list[Row] = []

    def add(
        at: float | None,
        kind: str,
        queue: str,
        interface: str = "",
        seconds: int | None = None,
        position: int | None = None,
    ) -> None:
        rows.extend(
            event_row(
                linkedid=record.linkedid,
                at=at,
                kind=kind,
                queue=queue,
                interface=interface,
                seconds=seconds,
                position=position,
                once=True,
            )
        )

    for line in queue_log:
        if line.event == "ENTERQUEUE":
            add(line.at, "queue_join", line.queue, position=_int(line.data[2]))  # url, cid, pos
        elif line.event == "CONNECT":
            add(line.at, "agent_connect", line.queue, interface_of(line.agent), _int(line.data[0]))
        elif line.event == "ABANDON":
            add(line.at, "queue_abandon", line.queue, "", _int(line.data[2]), _int(line.data[0]))
        elif line.event in ("EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"):
            add(line.at, "queue_leave", line.queue, "", _int(line.data[2]))
    add(record.ended_at, "call_end", record.queue or "", record.agent or "", record.talk_s)
    return rows


@dataclass(frozen=True, slots=True)
class Reconciled:
    written: int  # calls written from Asterisk's records
    consent_to_come: set[str]  # of the calls found, those whose consent may still come


async def reconcile(
    pool: asyncpg.Pool,
    region: str,
    now: float,
    interface_of: Callable[[str], str],
    left_to_daemon: Callable[[Sequence[str]], set[str]] = lambda linkedids: set(),
) -> Reconciled:
    """Write every call Asterisk ended within the horizon that the call log has not closed,
    except those whose end is the daemon's to write (``left_to_daemon``). Consents the call
    log lacks and the CDR has are filled in too."""
    # ``left_to_daemon`` is asked right after the read, with no await between: a call
    # Asterisk has just ended (CEL's LINKEDID_END is in) while its Hangup has not reached the
    # daemon yet, or its row not the database, is the daemon's own to write, with its own
    # end. Written from the records first, its CDR (written by another thread of Asterisk)
    # may not be there yet: the call was closed without its consent, never to be looked at
    # again, and the daemon's end made a second call_end event.
    found = await pool.fetch(MISSED_CALLS, now - HORIZON_S)
    theirs = left_to_daemon([r["linkedid"] for r in found]) if found else set()
    missed = [r for r in found if r["linkedid"] not in theirs]
    written = await _write_missed(pool, region, missed, interface_of) if missed else 0
    # After the calls above, which get their whole reconciliation (their consent too).
    await pool.execute(FILL_CONSENT, now - HORIZON_S)
    return Reconciled(written, await consent_to_come(pool, [r["linkedid"] for r in found]))


async def fill_consent_of(pool: asyncpg.Pool, linkedids: Sequence[str]) -> set[str]:
    """A reconciliation's follow-up: the consents of these calls filled in from their CDRs
    if both are there now; returns those whose consent may still come."""
    await pool.execute(FILL_CONSENT_OF, linkedids)
    return await consent_to_come(pool, linkedids)


async def consent_to_come(pool: asyncpg.Pool, linkedids: Sequence[str]) -> set[str]:
    if not linkedids:
        return set()
    return {r["linkedid"] for r in await pool.fetch(CONSENT_TO_COME, linkedids)}


async def _write_missed(
    pool: asyncpg.Pool,
    region: str,
    missed: Sequence[asyncpg.Record],
    interface_of: Callable[[str], str],
) -> int:
    linkedids = [r["linkedid"] for r in missed]
    first_legs = {r["linkedid"]: dict(r) for r in await pool.fetch(FIRST_LEGS, linkedids)}
    cdrs = {r["linkedid"]: dict(r) for r in await pool.fetch(CDR_FACTS, linkedids)}
    queue_logs: dict[str, list[QueueLogLine]] = {}
    for r in await pool.fetch(QUEUE_LOG, linkedids):
        line = QueueLogLine(
            r["at"],
            r["queuename"] or "",
            r["agent"] or "",
            r["event"] or "",
            (r["data1"] or "", r["data2"] or "", r["data3"] or ""),
        )
        queue_logs.setdefault(r["callid"], []).append(line)
    calls, events = [], []
    for row in missed:
        linkedid = row["linkedid"]
        lines = queue_logs.get(linkedid, [])
        record = record_from(
            linkedid,
            row["ended_at"],
            first_legs.get(linkedid),
            lines,
            cdrs.get(linkedid),
            interface_of,
        )
        # The call log's own conversion, with the statement that keeps the daemon's facts.
        calls.append((RECONCILE_CALL, prepare(call_row(record, region))[1]))
        events += [prepare(r) for r in event_rows(record, lines, interface_of)]
    await write_rows(pool, calls + events)  # one transaction, calls first
    return len(calls)


def _database_failed(exc: Exception) -> bool:
    """The database was away or refused: tried again later. Anything else is a bug."""
    return is_outage(exc) or isinstance(exc, asyncpg.PostgresError)


class Reconciler:
    """A sink: each ``Resynced``, and the end of a call that lived through a gap, asks for
    one reconciliation, run by its own task (requests that come meanwhile make one more)."""

    def __init__(
        self,
        database: Database,
        region: str,
        clock: Callable[[], float],
        interface_of: Callable[[str], str],
        unwritten_rows: Callable[[], int] = lambda: 0,
        left_to_daemon: Callable[[Sequence[str]], set[str]] = lambda linkedids: set(),
    ) -> None:
        # The call log's rows not yet in the database: the resync's own rows (calls it
        # closed as ended while away) go first, so that what the daemon knew is there to keep.
        self.unwritten_rows = unwritten_rows
        # Of some calls, those whose end is the daemon's to write: followed by the state
        # core now, or ended with the row that says so not yet committed.
        self.left_to_daemon = left_to_daemon
        self.database = database
        self.region = region
        self.clock = clock
        self.interface_of = interface_of
        self.reconciled = 0  # calls written from Asterisk's records since the start
        self.runs = 0
        # Calls whose consent may still come, looked at again every FOLLOW_UP_S: after a
        # reconciliation no other may come for hours (only a gap brings one).
        self.consent_to_come: set[str] = set()
        self._follow_ups_left = 0
        self._wanted = asyncio.Event()

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if type(change) is Resynced or (
                type(change) is CallEnded and change.record.through_gap
            ):
                self._wanted.set()

    async def run(self) -> None:
        while True:
            if not await self._asked():
                await self._follow_up()
                continue
            # Asterisk writes a call's CDR and CEL as it hangs up, a moment after the AMI
            # events that told us: give it that moment.
            await asyncio.sleep(RECORDS_SETTLE_S)
            self._wanted.clear()
            for _ in range(int(SETTLE_MAX_S / 0.1)):  # a database that is down: go on anyway
                if not self.unwritten_rows():
                    break
                await asyncio.sleep(0.1)
            try:
                pool = await self.database.pool()
                done = await reconcile(
                    pool, self.region, self.clock(), self.interface_of, self.left_to_daemon
                )
            except Exception as exc:
                if not _database_failed(exc):
                    raise
                log.warning(
                    "reconciliation from Asterisk's records failed (%s: %s); trying "
                    "again in %.0f s",
                    type(exc).__name__,
                    exc,
                    RETRY_S,
                )
                await asyncio.sleep(RETRY_S)
                self._wanted.set()
                continue
            self.runs += 1
            self.reconciled += done.written
            if done.written:
                log.info(
                    "%d calls that ended while the daemon was away were written from "
                    "Asterisk's records (CEL, CDR, queue_log)",
                    done.written,
                )
            self.consent_to_come |= done.consent_to_come
            self._follow_ups_left = FOLLOW_UPS

    async def _asked(self) -> bool:
        """Wait until a reconciliation is asked for (True) or a follow-up is due (False)."""
        if not self.consent_to_come:
            await self._wanted.wait()
            return True
        try:
            await asyncio.wait_for(self._wanted.wait(), FOLLOW_UP_S)
        except TimeoutError:
            return False
        return True

    async def _follow_up(self) -> None:
        self._follow_ups_left -= 1
        try:
            pool = await self.database.pool()
            self.consent_to_come = await fill_consent_of(pool, sorted(self.consent_to_come))
        except Exception as exc:
            if not _database_failed(exc):
                raise
            log.warning(
                "filling in the consent of %d calls from their CDRs failed (%s: %s); trying "
                "again in %.0f s",
                len(self.consent_to_come),
                type(exc).__name__,
                exc,
                FOLLOW_UP_S,
            )
        if self.consent_to_come and self._follow_ups_left <= 0:
            log.warning(
                "%d calls stay without a recording consent in the call log: within %.0f s "
                "Asterisk wrote no CDR of them (is cdr_pgsql loaded?) or the call log did "
                "not close them; e.g. Linkedid %s",
                len(self.consent_to_come),
                FOLLOW_UP_S * FOLLOW_UPS,
                min(self.consent_to_come),
            )
            self.consent_to_come = set()
