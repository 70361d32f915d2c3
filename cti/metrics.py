"""Prometheus metrics for ops, in our own ``CollectorRegistry`` (served at ``/metrics``).

Two kinds of figures:
- facts that happen (calls offered/answered/abandoned, waits, talk, ring-no-answer) come in
  as state changes: ``Metrics`` is a pipeline sink that counts and observes them;
- levels that exist (callers waiting, agents by state, AMI link, spool depth) are read from
  the live objects at scrape time by ``_LiveCollector``, so they are never stale.

Labels carry only bounded values: queue names, agent states, AMI event names, windows. Never
a caller number, a channel or a Linkedid. Names that come off the AMI wire are bounded here
even when they are names we expect (queues, routes, events): garbage on the wire can hold
any number of them, and every distinct label value is a series kept for good, here and in
Prometheus. Event names outside ``frames.ASTERISK_EVENTS`` count as "other"; queue and route
names keep their first ``MAX_LABEL_VALUES`` distinct values, later ones count as "other".

Service level per window (DESIGN §6): answered within the queue's threshold ÷ answered,
over the last 15 and 60 minutes and since midnight in the center's time zone.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cti.ami.frames import event_label
from cti.ami.protocol import GARBAGE
from cti.state import views
from cti.state.changes import (
    AgentRingEnded,
    AgentState,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    Change,
    RouteFellBack,
)
from cti.state.store import CtiState

WAIT_BUCKETS = (1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600)
TALK_BUCKETS = (5, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
WINDOWS = {"15m": 15 * 60, "60m": 60 * 60}
DEFAULT_SERVICE_LEVEL_TARGET = 0.8
MAX_LABEL_VALUES = 200  # distinct queue (or route) names; far above any real call center
OTHER = "other"


class _CappedLabel:
    """A label's value as given for its first ``limit`` distinct values, then OTHER.
    First come, first kept: a value never changes label once seen, so series stay whole."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return OTHER
        self._seen.add(value)
        return value


class _ServiceLevel:
    """Answered calls of the last hour and of today, per queue, for the SL ratio: counts per
    minute (answered, within the queue's threshold then), so that what it holds does not
    grow with the call rate (at 100 calls/s, one record per answer was 300,000 of them an
    hour). Minutes older than the longest window are dropped as answers come, not only when
    ``/metrics`` is scraped. A window counts the minutes that began inside it: its start is
    exact to the minute."""

    def __init__(self) -> None:
        self.recent: dict[str, deque[list[int]]] = {}  # per queue: [minute, answered, within]
        self.today: dict[str, Counter[str]] = {}
        self.day: str = ""

    def add(self, queue: str, at: float, wait_s: int, threshold_s: int, day: str) -> None:
        if day != self.day:
            self.day, self.today = day, {}
        minute = int(at // 60)
        minutes = self.recent.setdefault(queue, deque())
        if not minutes or minutes[-1][0] < minute:
            minutes.append([minute, 0, 0])
        counts = minutes[-1]  # an answer stamped a little back in time counts in the last
        counts[1] += 1
        counts[2] += wait_s <= threshold_s
        _forget_before(minutes, at - max(WINDOWS.values()))
        today = self.today.setdefault(queue, Counter())
        today["answered"] += 1
        today["within"] += wait_s <= threshold_s

    def ratios(self, now: float, day: str) -> Iterator[tuple[str, str, float]]:
        for queue, minutes in self.recent.items():
            _forget_before(minutes, now - max(WINDOWS.values()))
            for window, seconds in WINDOWS.items():
                first = (now - seconds) // 60
                answered = sum(m[1] for m in minutes if m[0] >= first)
                if answered:
                    yield queue, window, sum(m[2] for m in minutes if m[0] >= first) / answered
        if day == self.day:
            for queue, counts in self.today.items():
                if counts["answered"]:
                    yield queue, "today", counts["within"] / counts["answered"]


def _forget_before(minutes: deque[list[int]], oldest: float) -> None:
    first = oldest // 60
    while minutes and minutes[0][0] < first:
        minutes.popleft()


class Metrics:
    """A pipeline sink; also owns the registry every figure is exported from."""

    def __init__(
        self, state: CtiState, timezone: str = "UTC", pause_reasons: Sequence[str] = ()
    ) -> None:
        self.state = state
        # Asterisk lets a phone set any pause reason text; only configured ones become labels.
        self.pause_reasons = frozenset(pause_reasons)
        # Queue and route names reach us as AMI text (queues are configured in Asterisk in
        # practice, but the wire can say anything): capped. Shared with the live gauges so
        # a queue has the same label in every metric.
        self.queue_label = _CappedLabel()
        self.route_label = _CappedLabel()
        self.registry = CollectorRegistry(auto_describe=True)
        self.zone = ZoneInfo(timezone)
        r = self.registry
        self.offered = PromCounter(
            "cti_queue_calls_offered", "Calls that entered a queue", ["queue"], registry=r
        )
        self.answered = PromCounter(
            "cti_queue_calls_answered", "Queue calls answered by an agent", ["queue"], registry=r
        )
        self.abandoned = PromCounter(
            "cti_queue_calls_abandoned",
            "Queue calls whose caller hung up while waiting",
            ["queue"],
            registry=r,
        )
        self.ring_no_answer = PromCounter(
            "cti_agent_ring_no_answer",
            "Agent phones that rang out unanswered",
            ["queue"],
            registry=r,
        )
        self.wait = Histogram(
            "cti_queue_wait_seconds",
            "Wait in queue of answered and abandoned calls",
            ["queue"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.talk = Histogram(
            "cti_queue_talk_seconds",
            "Talk time of answered queue calls",
            ["queue"],
            buckets=TALK_BUCKETS,
            registry=r,
        )
        self.event_lag = Histogram(
            "cti_ami_event_lag_seconds",
            "Now minus the AMI event's Timestamp, when handled",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag = Histogram(
            "cti_event_loop_lag_seconds",
            "How late the event loop woke the once-a-second clock tick: time taken from AMI, "
            "screen-pops and websockets by work that held the loop",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.screen_pop_latency = Histogram(
            "cti_screen_pop_latency_seconds",
            "From the AgentCalled event's arrival to the websocket write",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.db_write = Histogram(
            "cti_call_log_write_seconds",
            "Duration of one call-log database write",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.alerts_raised = PromCounter(
            "cti_alerts_raised",
            "Wallboard alerts raised (service level, long wait)",
            ["queue", "kind"],
            registry=r,
        )
        self.routing_decisions = PromCounter(
            "cti_routing_decisions",
            "ACD decisions: a new call to an agent, on hold or to the plain queue; a held "
            "call moved to an agent",
            ["route", "outcome"],
            registry=r,
        )
        self.routing_seconds = Histogram(
            "cti_routing_decision_seconds",
            "From the route point's request to its answer",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.routing_fallbacks = PromCounter(
            "cti_routing_fallbacks",
            "Calls of an ACD route point that the plain queue took "
            "(daemon down or slow, or held too long)",
            ["route", "queue"],
            registry=r,
        )
        self.campaign_calls = PromCounter(
            "cti_campaign_calls",
            "Calls the campaign dialer placed for its agents",
            ["campaign"],
            registry=r,
        )
        self.campaign_attempts = PromCounter(
            "cti_campaign_attempts",
            "Campaign attempts by how they ended (answered, busy, unanswered, failed, machine, "
            "callback_later; not_dialled: the agent's own phone was not answered)",
            ["campaign", "outcome"],
            registry=r,
        )
        self.service_level = _ServiceLevel()

    def thresholds(self) -> dict[str, int]:
        return {q.name: q.service_level_s for q in views.all_queues(self.state)}

    def _day(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.zone).date().isoformat()

    def attach(self, live: LiveSources) -> None:
        self.registry.register(_LiveCollector(live, self))

    def offer(self, changes: Sequence[Change]) -> None:
        label = self.queue_label
        for change in changes:
            match change:
                case CallOffered(queue=queue):
                    self.offered.labels(label(queue)).inc()
                case CallAnswered(ts=ts, queue=queue, wait_s=wait_s):
                    self.answered.labels(label(queue)).inc()
                    self.wait.labels(label(queue)).observe(wait_s)
                    if ts is not None:
                        threshold = self.thresholds().get(queue, 0)
                        self.service_level.add(label(queue), ts, wait_s, threshold, self._day(ts))
                case CallAbandoned(queue=queue, wait_s=wait_s):
                    self.abandoned.labels(label(queue)).inc()
                    self.wait.labels(label(queue)).observe(wait_s)
                case AgentRingEnded(queue=queue, reason="no_answer"):
                    self.ring_no_answer.labels(label(queue)).inc()
                case RouteFellBack(route=route, queue=queue):
                    self.routing_fallbacks.labels(self.route_label(route), label(queue)).inc()
                case CallEnded(record=record) if record.queue and record.talk_s is not None:
                    self.talk.labels(label(record.queue)).observe(record.talk_s)
                case _:
                    pass


@dataclass(slots=True)
class LiveSources:
    """What the scrape-time collector reads."""

    pipeline_depth: Callable[[], int]
    pipeline_errors: Callable[[], int]
    events_by_name: Callable[[], dict[str, int]]
    ami_connected: Callable[[], bool]
    ami_sessions: Callable[[], int]
    ami_login_failures: Callable[[], int]
    spool_rows: Callable[[], int]
    write_errors: Callable[[], int]
    quarantined_rows: Callable[[], int]
    reconciled_calls: Callable[[], int]
    database_up: Callable[[], bool]
    websocket_clients: Callable[[], int]
    service_level_targets: dict[str, float]
    pbx: str = "asterisk"


class _LiveCollector(Collector):
    def __init__(self, live: LiveSources, metrics: Metrics) -> None:
        self.live = live
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        live, state, now = self.live, self.metrics.state, time.time()

        def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=list(labels))

        connected = gauge("cti_ami_connected", "1 while logged in to the AMI", ["pbx"])
        connected.add_metric([live.pbx], float(live.ami_connected()))
        yield connected
        yield CounterMetricFamily(
            "cti_ami_reconnects",
            "AMI sessions after the first",
            value=max(0, live.ami_sessions() - 1),
        )
        yield CounterMetricFamily(
            "cti_ami_login_failures", "AMI logins refused", value=live.ami_login_failures()
        )
        events = CounterMetricFamily(
            "cti_ami_events", "AMI messages received, by event", labels=["event"]
        )
        by_label: Counter[str] = Counter()
        for name, count in live.events_by_name().items():
            by_label[event_label(name)] += count  # the sources bound them too; cheap to be sure
        for label, count in sorted(by_label.items()):
            events.add_metric([label], count)
        yield events
        garbage = CounterMetricFamily(
            "cti_ami_garbage_frames",
            "AMI frames we could not read, by kind (oversized ones also cost the connection)",
            labels=["kind"],
        )
        for kind, count in sorted(GARBAGE.counts.items()):
            garbage.add_metric([kind], count)
        yield garbage
        depth = gauge("cti_pipeline_queue_depth", "AMI messages waiting for the state core")
        depth.add_metric([], live.pipeline_depth())
        yield depth
        yield CounterMetricFamily(
            "cti_pipeline_handler_errors",
            "AMI messages whose handling failed",
            value=live.pipeline_errors(),
        )

        waiting = gauge("cti_queue_callers_waiting", "Callers waiting now", ["queue"])
        longest = gauge(
            "cti_queue_longest_wait_seconds", "Wait of the oldest caller now", ["queue"]
        )
        targets = gauge(
            "cti_queue_service_level_target_ratio", "Service level the queue must keep", ["queue"]
        )
        agents = gauge("cti_agents", "Agents by queue and state", ["queue", "state"])
        queue_label = self.metrics.queue_label
        callers: Counter[str] = Counter()
        oldest_wait: dict[str, float] = {}
        for queue in views.all_queues(state):
            label = queue_label(queue.name)  # queues beyond the cap add up under "other"
            callers[label] += queue.waiting
            oldest = queue.oldest_queued_at
            wait = max(0.0, now - oldest) if oldest else 0.0
            oldest_wait[label] = max(wait, oldest_wait.get(label, 0.0))
        for label in sorted(oldest_wait):
            waiting.add_metric([label], callers[label])
            longest.add_metric([label], oldest_wait[label])
            targets.add_metric(
                [label], live.service_level_targets.get(label, DEFAULT_SERVICE_LEVEL_TARGET)
            )
        paused = gauge(
            "cti_agents_paused",
            "Paused agents by queue and configured reason ('other' for any reason not configured)",
            ["queue", "reason"],
        )
        by_state: Counter[tuple[str, str]] = Counter()
        by_reason: Counter[tuple[str, str]] = Counter()
        for agent_state, reason, member_of in views.agent_states(state, now):
            reason = reason if reason in self.metrics.pause_reasons else "other"
            for queue_name in member_of:
                label = queue_label(queue_name)
                by_state[(label, str(agent_state))] += 1
                if agent_state is AgentState.PAUSED:
                    by_reason[(label, reason)] += 1
        for (queue_name, agent_state_name), count in sorted(by_state.items()):
            agents.add_metric([queue_name, agent_state_name], count)
        for (queue_name, reason), count in sorted(by_reason.items()):
            paused.add_metric([queue_name, reason], count)
        yield from (waiting, longest, targets, agents, paused)

        service = gauge(
            "cti_queue_service_level_ratio",
            "Answered within the queue's threshold / answered",
            ["queue", "window"],
        )
        day = self.metrics._day(now)
        for queue_name, window, ratio in self.metrics.service_level.ratios(now, day):
            service.add_metric([queue_name, window], ratio)
        yield service

        spool = gauge("cti_call_log_spool_rows", "Call-log rows waiting for the database")
        spool.add_metric([], live.spool_rows())
        yield spool
        yield CounterMetricFamily(
            "cti_call_log_write_errors", "Failed call-log writes", value=live.write_errors()
        )
        yield CounterMetricFamily(
            "cti_call_log_quarantined_rows",
            "Call-log rows PostgreSQL refused, kept in the quarantine with the reason",
            value=live.quarantined_rows(),
        )
        yield CounterMetricFamily(
            "cti_calls_reconciled",
            "Calls written or completed from Asterisk's CDR, CEL and "
            "queue_log after the daemon missed their end",
            value=live.reconciled_calls(),
        )
        database = gauge("cti_database_up", "1 when the last database write succeeded")
        database.add_metric([], float(live.database_up()))
        yield database
        clients = gauge("cti_websocket_clients", "Open panel websockets")
        clients.add_metric([], live.websocket_clients())
        yield clients
