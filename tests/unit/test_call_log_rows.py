"""Call-log rows name their columns; the writer puts them in the SQL's order. A spool written
by a version whose rows were positional lists is still written after an upgrade."""

from __future__ import annotations

import pytest

from cti.calllog.queries import CALL_COLUMNS, EVENT_COLUMNS, INSERT_EVENT, UPSERT_CALL
from cti.calllog.rows import call_row, event_row
from cti.calllog.writer import prepare
from cti.state.changes import CallRecord, Outcome

T0 = 1_795_000_000.0

RECORD = CallRecord(
    linkedid="1795000000.1",
    caller_number="05321234567",
    caller_name="Ayşe Yılmaz",
    dialed="4440",
    direction="inbound",
    queue="support",
    agent="PJSIP/1001",
    agent_name="Ayla Demir",
    outcome=Outcome.ANSWERED,
    started_at=T0,
    queued_at=T0 + 5,
    answered_at=T0 + 20,
    ended_at=T0 + 80,
    wait_s=15,
    talk_s=60,
    hold_s=0,
    abandon_position=None,
    consent="granted",
    consent_method="dtmf",
    consent_at=T0 + 4,
    recorded=True,
    recording="1795000000.1.wav",
    hangup_cause=16,
    no_answer_count=0,
    ended_while_disconnected=False,
)


def test_a_call_row_names_every_column_of_the_sql() -> None:
    kind, values = call_row(RECORD, "TR")
    assert kind == "call"
    assert tuple(values) == CALL_COLUMNS
    assert values["caller_e164"] == "+905321234567"
    statement, arguments = prepare(call_row(RECORD, "TR"))
    assert statement == UPSERT_CALL
    assert arguments[CALL_COLUMNS.index("talk_s")] == 60


def test_a_positional_row_from_an_older_spool_is_written_the_same() -> None:
    kind, values = call_row(RECORD, "TR")
    assert prepare([kind, list(values.values())]) == prepare([kind, values])
    # ... also from before the campaign columns (the last two), and before through_gap.
    positional = list(values.values())
    assert prepare([kind, positional[:-2]]) == prepare([kind, values])
    assert prepare([kind, positional[:-3]]) == prepare([kind, values])
    # A named row from before the campaign columns has them unknown.
    older = {c: v for c, v in values.items() if c not in ("campaign_id", "attempt")}
    assert prepare([kind, older]) == prepare([kind, values])
    (event,) = event_row(linkedid="1", at=T0, kind="call_end", seconds=60)
    assert prepare([event[0], list(event[1].values())]) == prepare(event)
    assert prepare(event)[0] == INSERT_EVENT


@pytest.mark.parametrize(
    "values",
    [
        {c: None for c in EVENT_COLUMNS if c != "kind"},
        {c: None for c in EVENT_COLUMNS} | {"colour": "red"},
    ],
)
def test_a_row_with_other_columns_is_refused_with_the_columns_it_needs(
    values: dict[str, object],
) -> None:
    with pytest.raises(ValueError, match="must have exactly the columns linkedid, at, kind"):
        prepare(["event", values])


def test_an_event_without_a_time_has_no_row() -> None:
    assert event_row(linkedid="1", at=None, kind="queue_join") == []
