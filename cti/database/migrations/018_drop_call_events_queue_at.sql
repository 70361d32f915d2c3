-- call_events_queue_at (migration 001) is read by no query now, and every event the call-log
-- writer stores paid an entry in it: one index of three on the table the writer fills most
-- (about 4.2 events a call; bench/README.md, calllog_writer.py).
--
-- The KPI passages start from call_events_at (012) and follow each call through the primary
-- key (cti/calllog/tallies.py); the rollup's NEXT_UNROLLED reads call_events_at; the
-- writer's look-ups and the dirty-slot trigger (016) go by linkedid, the primary key. A fold
-- of one queue was the only plan to pick it: for the first events of a period it read
-- (queue, at) where call_events_at reads the period's events of every queue and keeps that
-- queue's. Without it, at a million calls a month in ten queues (bench/kpi.py), folds of one
-- queue over 12 minutes, 2 hours and a day, OPEN_PASSAGES and the KPI API over a ragged
-- month took the same time within the noise of the shared machine (bench/README.md, kpi.py).
-- 016 had also to keep the dirty-slot look-up off it (a BitmapAnd with the primary key that
-- read every event of the queue for each passage).

DROP INDEX IF EXISTS call_events_queue_at;
