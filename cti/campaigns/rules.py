"""Who a campaign may dial now, in what order, and what an attempt changes (pure).

Theory of operation
-------------------
A campaign's list holds one entry per customer: the number to dial and every time zone that
number may be in. An entry may be dialled now when ``why_not`` finds no reason against it; of
those, the dialer takes the one with the smallest ``order_key``; when the attempt is over,
``after_attempt`` gives the entry as it is then (counted, when to try again, done or not).
cti/campaigns/lists.py applies the same rules in SQL to choose among a million entries, and
checks the entry it chose with ``why_not`` here before handing it out.

Calling hours are on the customer's clock, never the center's. We learn it from the number
(``number_zones``: the time zones phonenumbers gives for the number's prefix) without asking
the customer. Some numbers may be in several zones (a mobile number of a country that spans
many), and the customer may then be in any of them: such a number is dialled only when the
hour and the weekday are allowed in every one.

The customer's day, for "attempts today" and for whether a promise has fallen due, is the
earliest of the dates in the number's zones: a new day begins for the customer once it has
begun in all of them, so no zone the customer may be in sees more attempts in a day than the
limit, nor a call on the eve of the day they promised to pay.

Time is always passed in (``now``, an aware datetime): nothing here reads a clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_timezones

# E.164: "+", a country code that does not start with 0, at most 17 digits (phonenumbers'
# "possible" numbers run a little past the ITU's 15). Nothing else, so no CR/LF reaches AMI.
E164 = re.compile(r"\+[1-9][0-9]{1,16}")
# A queue member interface as Asterisk names it (PJSIP/1001, Local/1001@agents/n): it goes
# into AMI actions, so printable ASCII without spaces only.
INTERFACE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*/[!-~]{1,100}")
MAX_RETRY_DELAY = timedelta(days=30)
MAX_ATTEMPTS_PER_DAY = 100
MAX_ATTEMPTS_TOTAL = 1000
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# What phonenumbers answers for a number whose zone it does not know.
UNKNOWN_ZONE = "Etc/Unknown"


class EntryStatus(StrEnum):
    OPEN = "open"
    DONE = "done"  # reached, or out of attempts
    EXCLUDED = "excluded"  # taken off the list by a person


class AttemptOutcome(StrEnum):
    """How an attempt ended. The first four are the call log's outcomes of the same name
    (cti/state/changes.py ``Outcome``); the last two only the agent can tell."""

    ANSWERED = "answered"
    BUSY = "busy"
    UNANSWERED = "unanswered"  # rang out: no answer
    FAILED = "failed"  # unreachable, congestion
    MACHINE = "machine"  # an answering machine took it
    CALLBACK_LATER = "callback_later"  # reached, and asked to be called again later


@dataclass(frozen=True, slots=True)
class RetryDelays:
    """How long after an attempt with each outcome the customer may be dialled again."""

    busy: timedelta = timedelta(minutes=15)
    unanswered: timedelta = timedelta(hours=2)
    failed: timedelta = timedelta(hours=4)
    machine: timedelta = timedelta(hours=4)
    callback_later: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        for outcome, delay in self.by_outcome().items():
            if not timedelta(0) <= delay <= MAX_RETRY_DELAY:
                raise ValueError(f"the retry delay after {outcome} must be 0 to 30 days")
            if delay % timedelta(seconds=1):  # stored in whole seconds
                raise ValueError(f"the retry delay after {outcome} must be whole seconds")

    def by_outcome(self) -> dict[AttemptOutcome, timedelta]:
        return {
            AttemptOutcome.BUSY: self.busy,
            AttemptOutcome.UNANSWERED: self.unanswered,
            AttemptOutcome.FAILED: self.failed,
            AttemptOutcome.MACHINE: self.machine,
            AttemptOutcome.CALLBACK_LATER: self.callback_later,
        }

    def after(self, outcome: AttemptOutcome) -> timedelta | None:
        """None after an answer: the customer was reached, there is nothing to retry."""
        return self.by_outcome().get(outcome)


@dataclass(frozen=True, slots=True)
class CallingHours:
    """When customers may be called, on their own clock: from ``calls_from`` until (not
    including) ``calls_until``, on ISO weekdays (1 Monday .. 7 Sunday)."""

    calls_from: time
    calls_until: time
    weekdays: frozenset[int]

    def __post_init__(self) -> None:
        if self.calls_from.tzinfo is not None or self.calls_until.tzinfo is not None:
            raise ValueError("calling hours are local times, without a time zone")
        if not self.calls_from < self.calls_until:
            raise ValueError("calling hours must start before they end, on the same day")
        if not self.weekdays or not self.weekdays <= frozenset(range(1, 8)):
            raise ValueError("calling days are ISO weekdays, 1 (Monday) to 7 (Sunday)")

    def refusal(self, now: datetime, zone: str) -> str | None:
        """Why ``now`` is not a calling time in ``zone``, or None when it is."""
        local = now.astimezone(ZoneInfo(zone))
        if local.isoweekday() not in self.weekdays:
            return f"it is {WEEKDAY_NAMES[local.isoweekday() - 1]} in {zone}: not a calling day"
        if not self.calls_from <= local.time() < self.calls_until:
            return (
                f"it is {local:%H:%M} in {zone}: outside calling hours "
                f"{self.calls_from:%H:%M}-{self.calls_until:%H:%M}"
            )
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    id: int
    name: str
    caller_id: str  # the number the customers see
    agent_interfaces: tuple[str, ...]  # the queue members who work it (PJSIP/1001)
    hours: CallingHours
    max_attempts_per_day: int
    max_attempts_total: int
    retry: RetryDelays
    paused: bool = True  # a new campaign dials no one until it is resumed

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= 100 or not self.name.isprintable():
            raise ValueError("a campaign's name is 1 to 100 printable characters")
        if not E164.fullmatch(self.caller_id):
            raise ValueError("the caller ID must be an E.164 number such as +902125550000")
        bad = [agent for agent in self.agent_interfaces if not INTERFACE.fullmatch(agent)]
        if bad:
            raise ValueError(f"not member interfaces (such as PJSIP/1001): {bad!r}")
        if not 1 <= self.max_attempts_per_day <= MAX_ATTEMPTS_PER_DAY:
            raise ValueError(f"attempts per day must be 1 to {MAX_ATTEMPTS_PER_DAY}")
        if not 1 <= self.max_attempts_total <= MAX_ATTEMPTS_TOTAL:
            raise ValueError(f"attempts in total must be 1 to {MAX_ATTEMPTS_TOTAL}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One customer on a campaign's list."""

    campaign_id: int
    customer_id: int
    number: str  # E.164
    zones: tuple[str, ...]  # every time zone the number may be in
    priority: int = 0  # higher first
    attempts_total: int = 0
    attempts_today: int = 0
    attempts_day: date | None = None  # the customer's day attempts_today counts for
    last_attempt_at: datetime | None = None
    last_outcome: AttemptOutcome | None = None
    next_attempt_at: datetime | None = None  # not dialled before
    callback_at: datetime | None = None  # "call me back then"
    taken_until: datetime | None = None  # a dialer is calling them (cti/campaigns/lists.py)
    status: EntryStatus = EntryStatus.OPEN

    def __post_init__(self) -> None:
        if not self.zones:
            raise ValueError("an entry needs at least one time zone")


def number_zones(
    e164: str, center_zone: str, known: Collection[str] | None = None
) -> tuple[str, ...]:
    """Every time zone the number may be in, sorted (one spelling per set of zones).

    From phonenumbers' zones for the number's prefix: the customer's local time without
    asking them. Where it knows no zone, or gives one that ``known`` lacks (the database's
    time zone data may be older than phonenumbers'), the center's zone stands in: the number
    is then called on the center's hours, which are at least lawful where the center is."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (center_zone,)
    given = set(number_timezones.time_zones_for_number(parsed))
    usable = {z for z in given if z != UNKNOWN_ZONE and (known is None or z in known)}
    if usable != given:
        usable.add(center_zone)
    return tuple(sorted(usable))


def customer_day(zones: Iterable[str], now: datetime) -> date:
    """The customer's date: the earliest among their zones (see the module's docstring)."""
    return min(now.astimezone(ZoneInfo(zone)).date() for zone in zones)


def promise_pending(open_due_dates: Iterable[date], entry: Entry, now: datetime) -> bool:
    """Whether the customer has an open promise that is not yet due on their own calendar:
    they said they would pay by then, so we do not call before."""
    today = customer_day(entry.zones, now)
    return any(due > today for due in open_due_dates)


def why_not(
    entry: Entry, campaign: Campaign, now: datetime, on_dnc: bool, promise_not_yet_due: bool
) -> str | None:
    """None when the entry may be dialled now; otherwise why not, in plain words.

    ``on_dnc``: the number is on the do-not-call list. ``promise_not_yet_due``: see
    ``promise_pending``."""
    if campaign.paused:
        return "the campaign is paused"
    if entry.status is not EntryStatus.OPEN:
        return f"the entry is {entry.status}"
    if on_dnc:
        return "the number is on the do-not-call list"
    if promise_not_yet_due:
        return "the customer has an open promise that is not yet due"
    if entry.attempts_total >= campaign.max_attempts_total:
        return f"{entry.attempts_total} attempts in all: the campaign's limit"
    today = customer_day(entry.zones, now)
    if (
        entry.attempts_day is not None
        and entry.attempts_day >= today
        and entry.attempts_today >= campaign.max_attempts_per_day
    ):
        return f"{entry.attempts_today} attempts on the customer's {today}: the limit for a day"
    if entry.next_attempt_at is not None and entry.next_attempt_at > now:
        after = f" after {entry.last_outcome}" if entry.last_outcome else ""
        return f"not before {entry.next_attempt_at.isoformat()}{after}"
    if entry.taken_until is not None and entry.taken_until > now:
        return "another agent's call to this customer is under way"
    for zone in entry.zones:
        refusal = campaign.hours.refusal(now, zone)
        if refusal is not None:
            return refusal
    return None


# Never attempted sorts before any attempt; a callback not due sorts with everyone else.
_EARLIEST = datetime.min.replace(tzinfo=UTC)
OrderKey = tuple[int, datetime, int, datetime, int]


def order_key(entry: Entry, now: datetime) -> OrderKey:
    """The dialer takes the smallest: due callbacks first (the earliest promised first), then
    higher priority, then the oldest last attempt (never attempted first); the customer's id
    last, so that the order is total and SQL and these rules agree on every tie."""
    callback_due = entry.callback_at is not None and entry.callback_at <= now
    return (
        0 if callback_due else 1,
        entry.callback_at if callback_due and entry.callback_at is not None else _EARLIEST,
        -entry.priority,
        entry.last_attempt_at or _EARLIEST,
        entry.customer_id,
    )


def after_attempt(
    entry: Entry,
    campaign: Campaign,
    outcome: AttemptOutcome,
    now: datetime,
    callback_at: datetime | None = None,
) -> Entry:
    """The entry once an attempt that ended with ``outcome`` is over.

    The attempt counts for today (the customer's day) and in all. The next one waits for the
    callback the agent set, else for the outcome's retry delay. The entry is done when the
    customer was reached (answered) and no callback is set, or when it has had its attempts
    in all; an entry that was already done or excluded stays so."""
    today = customer_day(entry.zones, now)
    counts_today = entry.attempts_day is not None and entry.attempts_day >= today
    attempts_total = entry.attempts_total + 1
    if callback_at is not None:
        next_attempt_at: datetime | None = callback_at
    else:
        delay = campaign.retry.after(outcome)
        next_attempt_at = None if delay is None else now + delay
    finished = (
        outcome is AttemptOutcome.ANSWERED and callback_at is None
    ) or attempts_total >= campaign.max_attempts_total
    return replace(
        entry,
        attempts_total=attempts_total,
        attempts_today=entry.attempts_today + 1 if counts_today else 1,
        attempts_day=entry.attempts_day if counts_today else today,
        last_attempt_at=now,
        last_outcome=outcome,
        next_attempt_at=next_attempt_at,
        callback_at=callback_at,
        taken_until=None,
        status=EntryStatus.DONE if finished and entry.status is EntryStatus.OPEN else entry.status,
    )
