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
-- The look-up must search the primary key whatever the planner thinks of the table. With
-- the queue matched in the WHERE clause, on a table not analysed yet it was planned as a
-- BitmapAnd of the primary key and call_events_queue_at: every event of the queue read for
-- each passage, and the writer's first 20,000-row writes took 11 to 30 s. The queue is
-- matched in the aggregate's FILTER instead, so linkedid is the only column an index is
-- searched by (a FILTER also rules out the plan PostgreSQL makes for a bare min(at): a walk
-- of call_events_at in time order until the passage's event comes up). enable_seqscan is off
-- for this function only, so that a plan made while the table was nearly empty, and kept by
-- the session, still searches the index once the table has grown.
CREATE OR REPLACE FUNCTION kpi_mark_dirty() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
    INSERT INTO kpi_dirty (slot)
    SELECT DISTINCT r.slot
    FROM (
        SELECT to_timestamp(floor(extract(epoch FROM (
                   SELECT min(e.at) FILTER (WHERE e.queue = n.queue AND e.kind <> 'call_end')
                   FROM call_events e
                   WHERE e.linkedid = n.linkedid
               )) / 900) * 900) AS slot
        FROM (SELECT DISTINCT linkedid, queue FROM inserted WHERE queue <> '') n
    ) r
    WHERE r.slot < now() - interval '1 hour'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
