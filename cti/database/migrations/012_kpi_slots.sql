-- KPIs over days and months without folding every stored event again (issue 16).
--
-- kpi_slots holds, per 15-minute slot and queue, the call passages that entered the queue in
-- that slot, counted by facts (cti/calllog/tallies.py TALLIES: answered wait, abandoned wait,
-- timed out; how many, how many handled, handling seconds). Slots are 15 minutes of epoch
-- time, which is a 15-minute slot of the local clock in every time zone, so any day or
-- month of the center is a whole number of slots.
--
-- A slot is rolled up (kpi_rolled) once its calls are over, by the daemon's rollup task. A
-- stored event that belongs to a passage of a rolled slot (a call completed from Asterisk's
-- records, a spool written after an outage, a call longer than an hour) marks the slot in
-- kpi_dirty, by the trigger below: the KPI API folds such slots from the events again until
-- the task has rolled them up anew. So the figures always equal a fold of the stored events.

CREATE TABLE kpi_slots (
    slot            timestamptz NOT NULL,
    queue           text NOT NULL,
    answered_wait   integer,
    abandoned_wait  integer,          -- unanswered passages only
    timed_out       boolean NOT NULL, -- unanswered passages only
    passages        integer NOT NULL,
    handled         integer NOT NULL,
    handle_s        bigint NOT NULL
);
CREATE INDEX kpi_slots_slot ON kpi_slots (slot);

-- The same per UTC day, for the days whose 96 slots are all rolled up and clean: a month is
-- then about thirty days' rows instead of 2,880 slots' (0.55 s at a million calls a month).
CREATE TABLE kpi_days (LIKE kpi_slots);
ALTER TABLE kpi_days RENAME COLUMN slot TO day;
CREATE INDEX kpi_days_day ON kpi_days (day);

CREATE TABLE kpi_rolled (slot timestamptz PRIMARY KEY);
CREATE TABLE kpi_dirty (slot timestamptz PRIMARY KEY);

-- Events of a period, whatever their queue: where a fold starts looking for passages.
CREATE INDEX call_events_at ON call_events (at);

-- The entry slot of every passage the inserted events belong to, if it is old enough to
-- have been rolled up (cti/calllog/tallies.py rolls up slots that ended 75 minutes ago; an
-- hour leaves a margin, and does not depend on seeing a rollup still in progress).
CREATE FUNCTION kpi_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_dirty (slot)
    SELECT DISTINCT r.slot
    FROM (
        SELECT to_timestamp(floor(extract(epoch FROM min(e.at)) / 900) * 900) AS slot
        FROM call_events e
        JOIN (SELECT DISTINCT linkedid, queue FROM inserted WHERE queue <> '') n
            USING (linkedid, queue)
        WHERE e.kind <> 'call_end'
        GROUP BY e.linkedid, e.queue
    ) r
    WHERE r.slot < now() - interval '1 hour'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER call_events_kpi_dirty AFTER INSERT ON call_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_dirty();
