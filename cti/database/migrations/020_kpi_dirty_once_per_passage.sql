-- The dirty marks of migration 016, with each passage's look-up made once, and reading only
-- the stored events that come before the passage's first inserted one.
--
-- 016 computed the slot in a subquery and kept the old ones in the query around it. The
-- planner merges the two, so the slot expression, with its look-up in it, was evaluated
-- twice for each passage whose slot is old: once to filter and once to keep. In
-- bench/calllog_writer.py every slot is old, so every passage paid two look-ups. Each
-- look-up also read from the heap every event of the call, including the ones the same
-- statement had just inserted.
--
-- Now the look-up is a LATERAL subquery. It is not merged, so it runs once per passage. It
-- reads only the stored events earlier than the passage's first inserted event other than
-- call_end (first_at). Those are the only events that can make the minimum smaller. The
-- entry is least(first_at, that minimum). It is the same minimum as before over all of the
-- passage's events. When the statement inserted only a call_end for the passage, first_at is
-- NULL and every event of the passage is read, as before. The bound on at is checked in the
-- primary key's index entries (linkedid, kind, at, interface). So the usual passage, the one
-- whose events are all new, costs one descent of the index and no heap reads. What is marked
-- is unchanged (tests/component/test_kpi_rollup.py).
--
-- Measured on 2026-11-30 around 17:40 UTC with a scratch benchmark (load average 0.9-1.1):
-- 397,754 stored events, 20,005-row INSERTs (about 4,800 calls, 4.2 events each, 12 of them
-- passages entered long ago), the same batch under each form, rolled back after each one.
-- PostgreSQL's CPU per call is given above that of no trigger, as the median over 12
-- batches. With every slot old, as in bench/calllog_writer.py: 016 took 17.9 us, this form
-- 9.2 us. With every call recent: 016 took 11.1 us, this form 8.3 us. A join with GROUP BY
-- took 9.8 and 9.2 us. It gained nothing more and needs hash and merge joins turned off.
-- Turning sorts off for the grouping of the inserted rows gave 8.8 and 8.1 us, within the
-- noise. What is left is one index descent per passage, which cannot be saved: the passage's
-- first event may have been stored by an earlier statement, however recent the new one is.
--
-- The settings keep the look-up on the primary key, as in 016. A FILTER keeps min() from
-- being planned as a walk of call_events_at.
CREATE OR REPLACE FUNCTION kpi_mark_dirty() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    INSERT INTO kpi_dirty (slot)
    SELECT DISTINCT r.slot
    FROM (
        SELECT to_timestamp(floor(extract(epoch FROM least(n.first_at, s.first_at)) / 900) * 900)
                   AS slot
        FROM (SELECT linkedid, queue, min(at) FILTER (WHERE kind <> 'call_end') AS first_at
              FROM inserted WHERE queue <> '' GROUP BY linkedid, queue) n,
        LATERAL (
            SELECT min(e.at) FILTER (WHERE e.queue = n.queue AND e.kind <> 'call_end') AS first_at
            FROM call_events e
            WHERE e.linkedid = n.linkedid AND e.at < coalesce(n.first_at, 'infinity')
        ) s
    ) r
    WHERE r.slot < now() - interval '1 hour'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
