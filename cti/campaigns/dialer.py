"""Progressive dialing: when an agent who works a running campaign is ready, the daemon calls
the campaign's next customer for them, and the agent sees the customer before they answer.

Theory of operation
-------------------
A pipeline sink and one owned task. ``offer`` (the pipeline, never waiting) notes the agents
who became ready and the attempts whose call ended; ``run`` makes dialing rounds, at once
after such a change and at least every ``ROUND_S`` (a campaign resumed, calling hours
opening, a retry falling due come with no change of ours). In a round, each agent of each
running campaign who is ready now and has no attempt under way gets the campaign's next
customer (``lists.next_entry``: the rules of rules.py, in SQL, the entry taken for them), and
the call is placed as click-to-dial's is (cti/outbound.py), with the campaign and the attempt
number, so the screen-pop shows the customer while the agent's own phone rings and the call
log keeps both.

An attempt ends with its call (``CallEnded``):

- the customer was never dialled (the agent did not take their phone): no attempt counts,
  the entry is given back, and the agent is paused ("No answer", as the ACD does), so the
  dialer does not ring an empty desk again and again;
- the customer did not answer, was busy or unreachable: the attempt counts with that outcome
  (its retry delay), the agent stays ready, and the next round calls the next customer;
- the customer answered: the agent is held in wrap-up (paused "Wrap-up") for the call's
  notes, until they are ready or at most ``CTI_CENTER_WRAPUP_S`` as after a queue call, and
  the attempt counts when they leave it, with the outcome their disposition names
  (``DISPOSITION_OUTCOMES``: an answering machine, a call back later) and the callback they
  set on that call, if any; else answered, which takes the customer off the list.

Pausing a campaign stops its new calls at once (``next_entry`` reads the campaign again in
its own transaction); calls under way finish and are counted. A call whose channel never came
(Asterisk refused the Originate later) gives its entry back after ``LOST_AFTER_S``. Attempts
under way live in this process: a daemon restarted meanwhile does not count them, and their
entries come back once their lease ends (``lists.next_entry``), never lost from the list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from cti.ami.protocol import AmiError
from cti.campaigns import lists
from cti.campaigns.rules import AttemptOutcome, Campaign
from cti.clock import CenterClock
from cti.database import Database, DatabaseUnavailable
from cti.state import views
from cti.state.agents import WRAP_UP_REASON
from cti.state.changes import AgentState, AgentStateChanged, CallEnded, CallRecord, Change
from cti.state.store import CtiState
from cti.tasks import Tasks

log = logging.getLogger(__name__)

ROUND_S = 2.0
LOST_AFTER_S = 150.0  # longer than the agent's phone rings (actions.DIAL_OUT_RING_S)
# An agent who lets a campaign's call to their own phone ring out: as the ACD pauses them.
NO_ANSWER_REASON = "No answer"
# The dispositions (CTI_CENTER_DISPOSITIONS) that tell an attempt's outcome, when the customer
# was reached by their phone but not, or not yet, dealt with.
DISPOSITION_OUTCOMES = {
    "Answering machine": AttemptOutcome.MACHINE,
    "Callback requested": AttemptOutcome.CALLBACK_LATER,
}
# How a call that rang the customer ended (the Dial's status), when they did not answer.
_NOT_REACHED = {
    "BUSY": AttemptOutcome.BUSY,
    "NOANSWER": AttemptOutcome.UNANSWERED,
    "CANCEL": AttemptOutcome.UNANSWERED,  # the agent gave up while it rang
    "CHANUNAVAIL": AttemptOutcome.FAILED,
    "CONGESTION": AttemptOutcome.FAILED,
}

# call_out(phone, number, name, campaign_id, attempt, shown_number) -> the call's Linkedid
CallOut = Callable[[str, str, str, int, int, str], Awaitable[str]]
# pause(interface, paused, reason): QueuePause in every queue of the member.
Pause = Callable[[str, bool, str], Awaitable[None]]
# observe(campaign id, outcome or "placed"): the metrics (cti_campaign_calls, _attempts).
Observe = Callable[[int, str], None]


@dataclass(slots=True)
class Attempt:
    campaign: Campaign
    customer_id: int
    interface: str
    linkedid: str
    placed_at: float  # the daemon's clock
    wrapping_up: bool = False  # answered: the agent's wrap-up has begun


class Dialer:
    JOBS = "campaign attempts"  # short; finished at shutdown
    WRAP_UPS = "campaign wrap-ups"  # waiting out CTI_CENTER_WRAPUP_S; cancelled at shutdown

    def __init__(
        self,
        state: CtiState,
        database: Database,
        call_out: CallOut,
        pause: Pause,
        clock: CenterClock,
        tasks: Tasks,
        observe: Observe,
        wrapup_s: float = 0.0,
    ) -> None:
        self.state, self.database, self.clock, self.tasks = state, database, clock, tasks
        self.call_out, self.pause, self.observe = call_out, pause, observe
        self.wrapup_s = wrapup_s  # the longest wrap-up, as after a queue call; 0: until Ready
        self._wake = asyncio.Event()
        self._by_linkedid: dict[str, Attempt] = {}
        self._by_agent: dict[str, Attempt] = {}  # under way, or in its wrap-up

    # --- the sink -------------------------------------------------------------------------

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            match change:
                case AgentStateChanged(interface=interface, state=state):
                    attempt = self._by_agent.get(interface)
                    if attempt is not None and attempt.wrapping_up and state is not WRAP_UP:
                        del self._by_agent[interface]  # they left wrap-up: Ready, a break
                        self.tasks.job(self.JOBS, self._close(attempt))
                    if state is AgentState.READY:
                        self._wake.set()
                case CallEnded(record=record) if record.linkedid in self._by_linkedid:
                    self._ended(self._by_linkedid.pop(record.linkedid), record)

    def _ended(self, attempt: Attempt, record: CallRecord) -> None:
        if record.answered_at is not None:
            self.tasks.job(self.WRAP_UPS, self._wrap_up(attempt), key=attempt.interface)
            return
        del self._by_agent[attempt.interface]
        if record.dial_status is None:  # the agent's own phone was never answered
            self.observe(attempt.campaign.id, "not_dialled")
            self.tasks.job(self.JOBS, self._not_dialled(attempt))
            return
        outcome = _NOT_REACHED.get(record.dial_status, AttemptOutcome.FAILED)
        self.tasks.job(self.JOBS, self._record(attempt, outcome, None))

    # --- the jobs -------------------------------------------------------------------------

    async def _wrap_up(self, attempt: Attempt) -> None:
        """Hold the agent for the answered call's notes; the attempt closes when they leave
        wrap-up (``offer``), at the latest after ``wrapup_s``, or at once if Asterisk would
        not pause them."""
        try:
            await self.pause(attempt.interface, True, WRAP_UP_REASON)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            log.warning("%s: no wrap-up after a campaign call (%s)", attempt.interface, exc)
            self._by_agent.pop(attempt.interface, None)
            await self._close(attempt)
            return
        attempt.wrapping_up = True
        live = views.agent(self.state, attempt.interface)
        if live is not None and live.state is not WRAP_UP:  # left it while we asked
            self._by_agent.pop(attempt.interface, None)
            await self._close(attempt)
            return
        if self.wrapup_s > 0:
            await asyncio.sleep(self.wrapup_s)
            if self._by_agent.get(attempt.interface) is attempt:  # still in this wrap-up
                await self.pause(attempt.interface, False, "")  # then offer() closes it

    async def _close(self, attempt: Attempt) -> None:
        """The answered attempt, counted with what the agent recorded on the call."""
        try:
            pool = await self.database.pool()
            disposition = await pool.fetchval(_DISPOSITION, attempt.linkedid)
            callback_at = await pool.fetchval(_CALLBACK, attempt.linkedid)
        except (DatabaseUnavailable, OSError) as exc:
            log.warning("campaign call %s: its notes unreadable (%s)", attempt.linkedid, exc)
            disposition = callback_at = None
        if callback_at is not None:
            outcome = AttemptOutcome.CALLBACK_LATER
        else:
            outcome = DISPOSITION_OUTCOMES.get(disposition or "", AttemptOutcome.ANSWERED)
        await self._record(attempt, outcome, callback_at)

    async def _record(
        self, attempt: Attempt, outcome: AttemptOutcome, callback_at: datetime | None
    ) -> None:
        self.observe(attempt.campaign.id, str(outcome))
        try:
            pool = await self.database.pool()
            await lists.record_attempt(
                pool, attempt.campaign, attempt.customer_id, outcome, self._now(), callback_at
            )
        except (DatabaseUnavailable, OSError) as exc:
            # The entry stays taken until its lease ends, then is dialled again: a customer
            # may be called once more than counted, never lost from the list.
            log.warning("campaign %d: attempt not counted (%s)", attempt.campaign.id, exc)
        self._wake.set()

    async def _not_dialled(self, attempt: Attempt) -> None:
        try:
            await self.pause(attempt.interface, True, NO_ANSWER_REASON)
        except (AmiError, ConnectionError, TimeoutError) as exc:
            log.warning("%s: not paused after a missed campaign call (%s)", attempt.interface, exc)
        await self._give_back(attempt)

    async def _give_back(self, attempt: Attempt) -> None:
        try:
            pool = await self.database.pool()
            await lists.release_entry(pool, attempt.campaign.id, attempt.customer_id)
        except (DatabaseUnavailable, OSError) as exc:
            log.warning(
                "campaign %d: entry kept until its lease ends (%s)", attempt.campaign.id, exc
            )

    # --- the rounds -----------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(ROUND_S):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._round()
            except (DatabaseUnavailable, OSError) as exc:
                log.warning("campaign dialing round skipped: %s", exc)

    async def _round(self) -> None:
        self._forget_lost_calls()
        pool = await self.database.pool()
        for campaign_id in await pool.fetch(
            "SELECT id FROM campaigns WHERE NOT paused ORDER BY id"
        ):
            campaign = await lists.get_campaign(pool, campaign_id["id"])
            if campaign is None or campaign.paused:
                continue
            for interface in campaign.agent_interfaces:
                live = views.agent(self.state, interface)
                if (
                    interface in self._by_agent
                    or live is None
                    or live.state is not AgentState.READY
                ):
                    continue
                if not await self._dial_next(pool, campaign, interface):
                    break  # no one to call in this campaign now

    async def _dial_next(self, pool: asyncpg.Pool, campaign: Campaign, interface: str) -> bool:
        entry = await lists.next_entry(pool, campaign, self._now())
        if entry is None:
            return False
        name = await pool.fetchval(
            "SELECT full_name FROM customers WHERE id = $1", entry.customer_id
        )
        try:
            linkedid = await self.call_out(
                interface,
                entry.number.removeprefix("+"),
                name or "",
                campaign.id,
                entry.attempts_total + 1,
                campaign.caller_id,
            )
        except AmiError as exc:
            log.warning(
                "campaign %d: call to customer %d refused: %s", campaign.id, entry.customer_id, exc
            )
            await lists.release_entry(pool, campaign.id, entry.customer_id)
            return True
        attempt = Attempt(campaign, entry.customer_id, interface, linkedid, self.clock.now())
        self._by_linkedid[linkedid] = self._by_agent[interface] = attempt
        self.observe(campaign.id, "placed")
        return True

    def _forget_lost_calls(self) -> None:
        now = self.clock.now()
        for linkedid, attempt in list(self._by_linkedid.items()):
            lost = (
                now - attempt.placed_at > LOST_AFTER_S and views.call(self.state, linkedid) is None
            )
            if lost:
                del self._by_linkedid[linkedid]
                self._by_agent.pop(attempt.interface, None)
                self.observe(attempt.campaign.id, "not_dialled")
                self.tasks.job(self.JOBS, self._give_back(attempt))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    async def close(self) -> None:
        await self.tasks.end_jobs(self.WRAP_UPS, cancel=True)
        await self.tasks.end_jobs(self.JOBS, cancel=False)


WRAP_UP = AgentState.WRAP_UP
_DISPOSITION = (
    "SELECT disposition FROM call_notes WHERE linkedid = $1 AND disposition IS NOT NULL"
    " ORDER BY created_at DESC LIMIT 1"
)
_CALLBACK = (
    "SELECT due_at FROM callbacks WHERE linkedid = $1 AND done_at IS NULL"
    " ORDER BY created_at DESC LIMIT 1"
)
