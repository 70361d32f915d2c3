"""The campaign rules (cti/campaigns/rules.py): each reason not to dial, shown with the
clock moved to either side of it; the dialer's order; what an attempt changes. Every moment
is written out with its zone: nothing reads the machine's clock or time zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cti.campaigns.rules import (
    AttemptOutcome,
    CallingHours,
    Campaign,
    Entry,
    EntryStatus,
    RetryDelays,
    after_attempt,
    customer_day,
    number_zones,
    order_key,
    promise_pending,
    why_not,
)

ISTANBUL = "Europe/Istanbul"  # UTC+3 all year
NEW_YORK = "America/New_York"
LOS_ANGELES = "America/Los_Angeles"
TOKYO = "Asia/Tokyo"

MONDAY, TUESDAY, WEDNESDAY, SATURDAY = (date(2026, 3, d) for d in (2, 3, 4, 7))
RETRY = RetryDelays(
    busy=timedelta(minutes=15),
    unanswered=timedelta(hours=2),
    failed=timedelta(hours=4),
    machine=timedelta(hours=6),
    callback_later=timedelta(days=1),
)
CAMPAIGN = Campaign(
    id=1,
    name="Overdue March",
    caller_id="+902125550000",
    agent_interfaces=("PJSIP/1001", "Local/1002@agents/n"),
    hours=CallingHours(time(9), time(20), frozenset({1, 2, 3, 4, 5})),  # Monday to Friday
    max_attempts_per_day=2,
    max_attempts_total=5,
    retry=RETRY,
    paused=False,
)


def at(day: date, hh_mm: str, zone: str) -> datetime:
    """That wall time on that day in that zone."""
    return datetime.combine(day, time.fromisoformat(hh_mm), ZoneInfo(zone))


def entry(**changes: object) -> Entry:
    fields: dict[str, object] = {
        "campaign_id": 1,
        "customer_id": 7,
        "number": "+905321234567",
        "zones": (ISTANBUL,),
    }
    return Entry(**(fields | changes))  # type: ignore[arg-type]


def refusal(
    e: Entry, now: datetime, on_dnc: bool = False, promise: bool = False, c: Campaign = CAMPAIGN
) -> str | None:
    return why_not(e, c, now, on_dnc, promise)


def test_the_days_are_the_weekdays_the_tests_say() -> None:
    assert [d.isoweekday() for d in (MONDAY, TUESDAY, WEDNESDAY, SATURDAY)] == [1, 2, 3, 6]


def test_within_hours_on_a_calling_day_the_customer_may_be_dialled() -> None:
    assert refusal(entry(), at(MONDAY, "10:00", ISTANBUL)) is None


@pytest.mark.parametrize(
    ("hh_mm", "allowed"),
    [("08:59:59", False), ("09:00", True), ("19:59:59", True), ("20:00", False), ("23:30", False)],
)
def test_calling_hours_start_at_their_start_and_end_before_their_end(
    hh_mm: str, allowed: bool
) -> None:
    reason = refusal(entry(), at(MONDAY, hh_mm, ISTANBUL))
    if allowed:
        assert reason is None
    else:
        assert reason is not None and "outside calling hours 09:00-20:00" in reason
        assert ISTANBUL in reason


def test_not_on_a_day_the_campaign_does_not_call() -> None:
    assert refusal(entry(), at(SATURDAY, "11:00", ISTANBUL)) == (
        f"it is Saturday in {ISTANBUL}: not a calling day"
    )


def test_the_customers_clock_counts_not_the_centers() -> None:
    afternoon_in_istanbul = at(MONDAY, "14:00", ISTANBUL)
    assert refusal(entry(), afternoon_in_istanbul) is None
    in_los_angeles = entry(number="+12135550100", zones=(LOS_ANGELES,))
    assert refusal(in_los_angeles, afternoon_in_istanbul) == (
        f"it is 03:00 in {LOS_ANGELES}: outside calling hours 09:00-20:00"
    )
    in_tokyo = entry(number="+81312345678", zones=(TOKYO,))
    assert "20:00 in Asia/Tokyo" in (refusal(in_tokyo, afternoon_in_istanbul) or "")
    # Friday evening in Los Angeles is Saturday in Tokyo.
    friday_evening = at(date(2026, 3, 6), "18:00", LOS_ANGELES)
    assert refusal(in_los_angeles, friday_evening) is None
    assert "Saturday in Asia/Tokyo" in (refusal(in_tokyo, friday_evening) or "")


def test_a_number_in_two_zones_is_called_only_when_both_are_within_hours() -> None:
    both = entry(number="+18005550100", zones=(LOS_ANGELES, NEW_YORK))
    assert refusal(both, at(MONDAY, "17:00", NEW_YORK)) is None  # 14:00 in Los Angeles
    early = refusal(both, at(MONDAY, "09:30", NEW_YORK))  # 06:30 in Los Angeles
    assert early == f"it is 06:30 in {LOS_ANGELES}: outside calling hours 09:00-20:00"
    late = refusal(both, at(MONDAY, "19:30", LOS_ANGELES))  # 22:30 in New York
    assert late == f"it is 22:30 in {NEW_YORK}: outside calling hours 09:00-20:00"


def test_a_numbers_zones_come_from_its_prefix_and_the_center_stands_in_for_the_unknown() -> None:
    assert number_zones("+905321234567", ISTANBUL) == (ISTANBUL,)
    assert number_zones("+12125551234", ISTANBUL) == (NEW_YORK,)
    russian_mobile = number_zones("+79161234567", ISTANBUL)
    assert {"Europe/Moscow", "Asia/Vladivostok"} <= set(russian_mobile)
    assert list(russian_mobile) == sorted(russian_mobile)
    assert number_zones("+15551234567", ISTANBUL) == (ISTANBUL,)  # 555: no zone known
    assert number_zones("+999", ISTANBUL) == (ISTANBUL,)
    # A zone the database does not know by name is read as the center's instead.
    assert number_zones("+12125551234", ISTANBUL, known={ISTANBUL}) == (ISTANBUL,)


def test_attempts_today_at_the_limit_wait_for_the_customers_next_day() -> None:
    twice_on_monday = entry(attempts_today=2, attempts_total=2, attempts_day=MONDAY)
    reason = refusal(twice_on_monday, at(MONDAY, "15:00", ISTANBUL))
    assert reason == "2 attempts on the customer's 2026-03-02: the limit for a day"
    assert (
        refusal(replace(twice_on_monday, attempts_today=1), at(MONDAY, "15:00", ISTANBUL)) is None
    )
    assert refusal(twice_on_monday, at(TUESDAY, "09:00", ISTANBUL)) is None


def test_the_day_that_resets_attempts_is_the_customers_not_utcs() -> None:
    in_los_angeles = entry(zones=(LOS_ANGELES,), attempts_today=2, attempts_day=MONDAY)
    tuesday_in_utc = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # Monday 19:00 in Los Angeles
    assert refusal(in_los_angeles, tuesday_in_utc) is not None
    assert refusal(in_los_angeles, at(TUESDAY, "09:00", LOS_ANGELES)) is None
    # Several zones: the day is new only once it is new in all of them.
    late_monday_in_los_angeles = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # Tuesday in Tokyo
    assert customer_day((TOKYO, LOS_ANGELES), late_monday_in_los_angeles) == MONDAY


def test_the_total_limit_is_final() -> None:
    five = entry(attempts_total=5, attempts_today=0, attempts_day=MONDAY)
    assert refusal(five, at(WEDNESDAY, "10:00", ISTANBUL)) == (
        "5 attempts in all: the campaign's limit"
    )
    assert refusal(replace(five, attempts_total=4), at(WEDNESDAY, "10:00", ISTANBUL)) is None


@pytest.mark.parametrize(
    ("outcome", "delay"),
    [
        (AttemptOutcome.BUSY, RETRY.busy),
        (AttemptOutcome.UNANSWERED, RETRY.unanswered),
        (AttemptOutcome.FAILED, RETRY.failed),
        (AttemptOutcome.MACHINE, RETRY.machine),
        (AttemptOutcome.CALLBACK_LATER, RETRY.callback_later),
    ],
)
def test_each_outcome_waits_its_own_retry_delay(outcome: AttemptOutcome, delay: timedelta) -> None:
    dialled = at(TUESDAY, "10:00", ISTANBUL)
    after = after_attempt(entry(), CAMPAIGN, outcome, dialled)
    assert after.next_attempt_at == dialled + delay and after.status is EntryStatus.OPEN
    reason = refusal(after, dialled + delay - timedelta(seconds=1))
    assert reason == f"not before {(dialled + delay).isoformat()} after {outcome}"
    assert refusal(after, dialled + delay) is None


def test_a_number_on_the_do_not_call_list_is_never_dialled() -> None:
    assert refusal(entry(), at(MONDAY, "10:00", ISTANBUL), on_dnc=True) == (
        "the number is on the do-not-call list"
    )


def test_a_promise_not_yet_due_holds_calls_until_its_day_on_the_customers_calendar() -> None:
    promised_for = [WEDNESDAY]
    for now, pending in [
        (at(MONDAY, "10:00", ISTANBUL), True),
        (at(TUESDAY, "19:59", ISTANBUL), True),
        (at(WEDNESDAY, "09:00", ISTANBUL), False),  # due today: a reminder is in order
    ]:
        assert promise_pending(promised_for, entry(), now) is pending
        reason = refusal(entry(), now, promise=promise_pending(promised_for, entry(), now))
        assert reason == (
            "the customer has an open promise that is not yet due" if pending else None
        )
    in_los_angeles = entry(zones=(LOS_ANGELES,))
    wednesday_in_utc = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Tuesday 18:00 there
    assert promise_pending(promised_for, in_los_angeles, wednesday_in_utc)
    assert not promise_pending([], entry(), at(MONDAY, "10:00", ISTANBUL))


def test_a_paused_campaign_dials_no_one() -> None:
    paused = replace(CAMPAIGN, paused=True)
    assert refusal(entry(), at(MONDAY, "10:00", ISTANBUL), c=paused) == "the campaign is paused"


def test_only_open_entries_are_dialled() -> None:
    for status in (EntryStatus.DONE, EntryStatus.EXCLUDED):
        reason = refusal(entry(status=status), at(MONDAY, "10:00", ISTANBUL))
        assert reason == f"the entry is {status}"


def test_an_entry_taken_by_a_dialer_waits_for_its_lease() -> None:
    now = at(MONDAY, "10:00", ISTANBUL)
    taken = entry(taken_until=now + timedelta(minutes=5))
    assert refusal(taken, now) == "another agent's call to this customer is under way"
    assert refusal(taken, now + timedelta(minutes=5)) is None


def test_the_order_due_callbacks_then_priority_then_the_oldest_attempt() -> None:
    now = at(TUESDAY, "10:00", ISTANBUL)
    hour = timedelta(hours=1)
    listed = {
        "callback due first": entry(customer_id=1, callback_at=now - 2 * hour),
        "callback due later": entry(customer_id=2, callback_at=now - hour, priority=-5),
        "priority 3": entry(customer_id=3, priority=3, last_attempt_at=now - hour),
        "never attempted": entry(customer_id=9),
        "never attempted, higher id": entry(customer_id=10),
        "attempted two days ago": entry(customer_id=4, last_attempt_at=now - 48 * hour),
        "attempted yesterday": entry(customer_id=5, last_attempt_at=now - 24 * hour),
        "callback not yet due": entry(
            customer_id=6, callback_at=now + hour, last_attempt_at=now - 12 * hour
        ),
    }
    ordered = sorted(listed, key=lambda name: order_key(listed[name], now))
    assert ordered == [
        "callback due first",
        "callback due later",
        "priority 3",
        "never attempted",
        "never attempted, higher id",
        "attempted two days ago",
        "attempted yesterday",
        "callback not yet due",
    ]


def test_an_answer_closes_the_entry_unless_a_callback_is_set() -> None:
    now = at(TUESDAY, "10:00", ISTANBUL)
    taken = entry(taken_until=now + timedelta(hours=2))
    reached = after_attempt(taken, CAMPAIGN, AttemptOutcome.ANSWERED, now)
    assert reached.status is EntryStatus.DONE and reached.next_attempt_at is None
    assert (reached.attempts_total, reached.attempts_today, reached.attempts_day) == (1, 1, TUESDAY)
    assert reached.last_outcome is AttemptOutcome.ANSWERED and reached.last_attempt_at == now
    assert reached.taken_until is None

    thursday_noon = at(date(2026, 3, 5), "12:00", ISTANBUL)
    call_me = after_attempt(taken, CAMPAIGN, AttemptOutcome.ANSWERED, now, thursday_noon)
    assert call_me.status is EntryStatus.OPEN
    assert (call_me.callback_at, call_me.next_attempt_at) == (thursday_noon, thursday_noon)
    assert refusal(call_me, thursday_noon - timedelta(minutes=1)) is not None
    assert refusal(call_me, thursday_noon) is None
    assert order_key(call_me, thursday_noon)[0] == 0  # a due callback comes first


def test_attempts_count_per_day_and_in_all_and_the_last_one_closes_the_entry() -> None:
    e = entry()
    for now in (at(MONDAY, "10:00", ISTANBUL), at(MONDAY, "16:00", ISTANBUL)):
        e = after_attempt(e, CAMPAIGN, AttemptOutcome.UNANSWERED, now)
    assert (e.attempts_today, e.attempts_day, e.attempts_total) == (2, MONDAY, 2)
    e = after_attempt(e, CAMPAIGN, AttemptOutcome.BUSY, at(TUESDAY, "10:00", ISTANBUL))
    assert (e.attempts_today, e.attempts_day, e.attempts_total) == (1, TUESDAY, 3)
    for hh_mm in ("11:00", "12:00"):
        e = after_attempt(e, CAMPAIGN, AttemptOutcome.FAILED, at(WEDNESDAY, hh_mm, ISTANBUL))
    assert e.attempts_total == 5 and e.status is EntryStatus.DONE


def test_an_excluded_entry_stays_excluded_when_a_late_attempt_is_recorded() -> None:
    excluded = entry(status=EntryStatus.EXCLUDED)
    after = after_attempt(excluded, CAMPAIGN, AttemptOutcome.BUSY, at(MONDAY, "10:00", ISTANBUL))
    assert after.status is EntryStatus.EXCLUDED and after.attempts_total == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"caller_id": "+902125550000\r\nAction: Originate"},
        {"caller_id": "02125550000"},
        {"agent_interfaces": ("PJSIP/1001\r\n",)},
        {"agent_interfaces": ("PJSIP/10 01",)},
        {"name": ""},
        {"name": "a\x00b"},
        {"max_attempts_per_day": 0},
        {"max_attempts_total": 1001},
    ],
)
def test_a_campaign_refuses_settings_that_could_reach_ami_wrong(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(CAMPAIGN, **changes)  # type: ignore[arg-type]


def test_calling_hours_and_retry_delays_are_checked() -> None:
    with pytest.raises(ValueError, match="start before"):
        CallingHours(time(20), time(9), frozenset({1}))
    with pytest.raises(ValueError, match="ISO weekdays"):
        CallingHours(time(9), time(20), frozenset({0, 1}))
    with pytest.raises(ValueError, match="ISO weekdays"):
        CallingHours(time(9), time(20), frozenset())
    with pytest.raises(ValueError, match="busy"):
        RetryDelays(busy=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="whole seconds"):
        RetryDelays(machine=timedelta(milliseconds=1500))
