-- The dirty marks of migration 012, found per passage through the primary key instead of by
-- joining the inserted passages to the whole of call_events.
--
-- The trigger of 012 gave the planner a join of the inserted passages with every event
-- (linkedid, queue) there is: it read all of call_events (a sequential scan and a hash join)
-- for each statement that inserted events, so the call-log writer's batches got slower as
-- the log grew (300 ms for the passages of 20,000 rows at 370,000 events). Each passage's first event is now looked up on its own: the primary key starts
-- with linkedid, so that is a few index entries per inserted passage, whatever the size of
-- the table. bench/calllog_writer.py: PostgreSQL's CPU per call of the writer went from
-- about 140 to 110 µs (100 µs with no trigger at all).
--
-- What is marked is unchanged: the entry slot (the slot of the first event other than
-- call_end, wherever it is stored) of every passage an inserted event belongs to, when that
-- slot began more than an hour ago. Every writer of call_events gets it (the daemon's
-- writer, the reconciler, a hand-written INSERT), as before.
CREATE OR REPLACE FUNCTION kpi_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_dirty (slot)
    SELECT DISTINCT r.slot
    FROM (
        SELECT to_timestamp(floor(extract(epoch FROM (
                   SELECT min(e.at) FROM call_events e
                   WHERE e.linkedid = n.linkedid AND e.queue = n.queue AND e.kind <> 'call_end'
               )) / 900) * 900) AS slot
        FROM (SELECT DISTINCT linkedid, queue FROM inserted WHERE queue <> '') n
    ) r
    WHERE r.slot < now() - interval '1 hour'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
