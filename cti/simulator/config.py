"""What the simulated call center looks like: queues, route points, agents' phones, callers,
customers called back, traffic.

Defaults follow the real captures in ``tests/captures/`` (queues ``support`` and
``sales``, chan_sip agents ``SIP/1001``…, DID 4440 with explicit consent), so the simulator
and the captures exercise the same code paths. Route points follow ``[cti-route]`` in
``dialplan/extensions_cti.conf``, agents' outbound calls ``[cti-outbound]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STRATEGIES = ("rrmemory", "leastrecent", "fewestcalls", "random", "ringall")
CONSENT_MODES = ("explicit", "implied", "none")  # none: the dialplan never asks
# What the customer's side does with an agent's outbound call (OutboundBehaviour).
OUTBOUND_OUTCOMES = ("answer", "busy", "no-answer", "congestion", "unreachable")


@dataclass(frozen=True, slots=True)
class MemberConfig:
    interface: str  # e.g. SIP/1001, PJSIP/1001 or Local/1001@agents/n
    name: str
    answers: bool = True  # False: the phone rings until app_queue gives up on it
    state_interface: str = ""  # Local/ members name the device that says whether they are busy
    # The member's own wrapuptime (``member => interface,penalty,name,state,ringinuse,
    # wrapuptime``); 0: the queue's applies. Member events report this one, never the
    # queue's: a real Asterisk with queues.conf's wrapuptime only says ``Wrapuptime: 0``.
    wrapup_s: float = 0.0


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    did: str  # the number callers dial; the dialplan extension that leads to this queue
    members: tuple[MemberConfig, ...]
    strategy: str = "rrmemory"
    service_level_s: int = 20
    consent: str = "explicit"
    ring_timeout_s: float = 12.0  # app_queue's member timeout, then AgentRingNoAnswer
    retry_s: float = 1.0  # pause before ringing again after a no-answer
    wrapup_s: float = 0.0  # the queue's wrapuptime (unless a member has its own)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.name}: strategy must be one of {STRATEGIES}")
        if self.consent not in CONSENT_MODES:
            raise ValueError(f"queue {self.name}: consent must be one of {CONSENT_MODES}")


@dataclass(frozen=True, slots=True)
class RoutePointConfig:
    """An ACD route point: a DID whose calls ask the daemon's FastAGI where to go: one agent
    (Dial), or a wait in ``hold_queue`` until the daemon redirects the call to an agent.
    ``fallback_queue`` takes the call when the daemon is away, says anything else, or leaves
    it holding longer than ``hold_s``."""

    name: str  # the route, passed as the AGI's argument (a [routes.<name>] of the daemon)
    did: str
    hold_queue: str  # a queue without members: music until the daemon moves the call
    fallback_queue: str
    consent: str = "implied"
    hold_s: float = 60.0  # CTI_HOLD_S: Queue()'s timeout in the hold queue
    agi_timeout_s: float = 3.0  # no complete AGI answer within it: AGISTATUS=FAILURE
    ring_s: float = 15.0  # the Dial's timeout when the AGI sets no CTI_ROUTE_RING_S

    def __post_init__(self) -> None:
        if self.consent not in CONSENT_MODES:
            raise ValueError(f"route point {self.name}: consent must be one of {CONSENT_MODES}")
        if min(self.hold_s, self.agi_timeout_s, self.ring_s) <= 0:
            raise ValueError(
                f"route point {self.name}: hold_s, agi_timeout_s and ring_s must be positive"
            )


@dataclass(frozen=True, slots=True)
class OutboundBehaviour:
    """What the customer's side does when an agent calls them ([cti-outbound]), as the trunk
    reports it to Asterisk:

    - ``answer``: their phone rings ``answer_after_s``, they answer and hear the recording
      notice, then talk ``talk_s`` (None: until the agent hangs up) and hang up; with
      ``hangs_up_in_notice`` they hang up during the notice and never reach the agent;
    - ``busy``: ``answer_after_s`` after the INVITE the carrier answers 486 Busy Here
      (DialStatus BUSY, cause 17);
    - ``no-answer``: it rings until Dial's timeout (CTI_OUTBOUND_RING_S): NOANSWER;
    - ``congestion``: as busy, with 503 Service Unavailable (CONGESTION, cause 34);
    - ``unreachable``: the trunk has no reachable contact, so Dial cannot even make the
      customer's channel (CHANUNAVAIL, cause 3 "No route to destination").
    """

    outcome: str = "answer"
    answer_after_s: float = 1.5
    talk_s: float | None = 20.0
    hangs_up_in_notice: bool = False
    consent: str = "granted"  # their answer where the outbound consent mode asks (explicit)

    def __post_init__(self) -> None:
        if self.outcome not in OUTBOUND_OUTCOMES:
            raise ValueError(f"outbound outcome must be one of {OUTBOUND_OUTCOMES}")
        if self.consent not in ("granted", "declined"):
            raise ValueError("outbound consent must be granted or declined")


@dataclass(frozen=True, slots=True)
class OutboundConfig:
    """Agents' outbound calls: the globals of [cti-outbound] in dialplan/extensions_cti.conf,
    and, for the demo, what the customers do. A number no test has set a behaviour for
    (``Simulator.set_customer``) gets an outcome drawn by these rates (relative weights,
    in the order of OUTBOUND_OUTCOMES) from the simulator's seeded random generator."""

    # CTI_OUTBOUND_TRUNK: the endpoint calls leave by (asterisk-conf/pjsip.conf). The
    # customer's leg is <technology of SimConfig.trunk>/<trunk>-<n>, as Asterisk names it.
    trunk: str = "trunk"
    callerid: str = "4440"  # CTI_OUTBOUND_CALLERID: the number the customer sees
    ring_s: float = 30.0  # CTI_OUTBOUND_RING_S: Dial's timeout
    consent: str = "implied"  # CTI_OUTBOUND_CONSENT
    language: str = "tr"  # CTI_OUTBOUND_LANGUAGE: the recording notice's
    answer_rate: float = 0.6
    busy_rate: float = 0.15
    no_answer_rate: float = 0.15
    congestion_rate: float = 0.05
    unreachable_rate: float = 0.05
    answer_delay_s: tuple[float, float] = (2.0, 8.0)  # ringing before an answer (or a 486)
    talk_s: tuple[float, float] = (15.0, 90.0)

    def __post_init__(self) -> None:
        if self.consent not in CONSENT_MODES:
            raise ValueError(f"outbound consent must be one of {CONSENT_MODES}")
        if min(self.rates()) < 0 or sum(self.rates()) <= 0:
            raise ValueError("outbound rates must be non-negative, and not all zero")
        if self.ring_s <= 0:
            raise ValueError("outbound ring_s must be positive")

    def rates(self) -> tuple[float, ...]:
        """The outcomes' weights, in the order of OUTBOUND_OUTCOMES."""
        return (
            self.answer_rate,
            self.busy_rate,
            self.no_answer_rate,
            self.congestion_rate,
            self.unreachable_rate,
        )


@dataclass(frozen=True, slots=True)
class FeaturesConfig:
    """asterisk-conf/features.conf as the simulator plays it. AMI Atxfer plays ``atxfer`` into
    the agent's leg and CancelAtxfer ``atxferabort``: empty, features.conf maps none and
    manager.c refuses the action."""

    atxfer: str = "*2"
    atxferabort: str = "*1"
    # transferdigittimeout: the consultation is dialled this long after the target's last digit.
    transfer_digit_timeout_s: float = 2.0
    # atxfernoanswertimeout (not set in features.conf: Asterisk's default): how long the
    # consulted phone rings before the agent is back with the caller. Below the 30 s of
    # [cti-transfer-agent]'s Dial, so it is the one that counts.
    atxfer_no_answer_s: float = 15.0

    def __post_init__(self) -> None:
        if min(self.transfer_digit_timeout_s, self.atxfer_no_answer_s) <= 0:
            raise ValueError(
                "features: transfer_digit_timeout_s and atxfer_no_answer_s must be positive"
            )


@dataclass(frozen=True, slots=True)
class Caller:
    number: str
    name: str


# Callers the demo customers are seeded for, names in several scripts, and callers whose
# names are hostile markup: caller ID is text an attacker chooses.
DEMO_CALLERS: tuple[Caller, ...] = (
    Caller("905321234567", "Ayşe Çağrı Yılmaz"),
    Caller("905551112233", "Mehmet Öztürk"),
    Caller("905301110001", "Zeynep Arslan"),
    Caller("905301110002", "Emre Şahin"),
    Caller("905301110003", "Elif Koç"),
    Caller("905321112233", "Fatma Demir"),
    Caller("74951234567", "Иван Петров"),
    Caller("4930123456", "José Müller"),
    Caller("905449998877", ""),  # no name: an unknown caller the agent can create
)
HOSTILE_CALLERS: tuple[Caller, ...] = (
    Caller("15551234567", "<img src=x onerror=alert(1)>"),
    Caller("15557654321", '"><script>alert(1)</script>'),
)


def _agents(*numbers: str) -> tuple[MemberConfig, ...]:
    return tuple(MemberConfig(f"SIP/{n}", f"Agent {n}") for n in numbers)


@dataclass(frozen=True, slots=True)
class SimConfig:
    queues: tuple[QueueConfig, ...]
    callers: tuple[Caller, ...] = DEMO_CALLERS
    username: str = "cti"
    secret: str = "cti-secret"
    trunk: str = "SIP/trunk"  # caller legs are named <trunk>-<hex counter>
    arrival_rate: float = 0.1  # calls per second, Poisson
    answer_delay_s: tuple[float, float] = (1.5, 4.0)  # ringing before a phone answers
    talk_s: tuple[float, float] = (8.0, 40.0)
    patience_s: tuple[float, float] = (30.0, 120.0)  # waiting before a caller gives up
    announcement_s: float = 0.5  # the recording notice before consent is known
    decline_ratio: float = 0.25  # share of callers who decline recording when asked
    hostile_ratio: float = 0.0  # share of calls from HOSTILE_CALLERS
    seed: int | None = None
    # Random traffic's share per destination(), in its order; empty: all alike.
    queue_weights: tuple[float, ...] = field(default=())
    # Where MixMonitor "records" (a short tone per recorded call, named <Uniqueid>.wav as
    # our dialplan names it); None: no files.
    recordings_dir: Path | None = None
    route_points: tuple[RoutePointConfig, ...] = ()
    agi_host: str = "127.0.0.1"  # the daemon's FastAGI server (CTI_FASTAGI in the dialplan)
    agi_port: int = 4573
    # The dialplan's global CTI_AGI_SECRET, which the route point asks for (GET VARIABLE);
    # empty: the global is not set.
    agi_secret: str = ""
    # Queue()'s timeout in the dialplan's plain queues (CTI_QUEUE_TIMEOUT_S): the caller
    # leaves unanswered and the dialplan hangs up. None: callers wait until answered or gone.
    queue_timeout_s: float | None = None
    # A phone called by an AMI Originate (a supervisor's, to listen in) answers after this;
    # None: it rings until Simulator.answer_originated() or the Originate's Timeout.
    originate_answer_s: float | None = 1.0
    outbound: OutboundConfig = OutboundConfig()  # agents' outbound calls (click-to-dial)
    features: FeaturesConfig = FeaturesConfig()  # transfer codes and timers (features.conf)

    def __post_init__(self) -> None:
        queues = {q.name: q for q in self.queues}
        dids = {q.did: q.name for q in self.queues}
        for point in self.route_points:
            for role, name in (("hold", point.hold_queue), ("fallback", point.fallback_queue)):
                if name not in queues:
                    raise ValueError(
                        f"route point {point.name}: its {role} queue {name!r} is "
                        f"not one of the queues ({', '.join(queues)})"
                    )
            if queues[point.hold_queue].members:
                raise ValueError(
                    f"route point {point.name}: hold queue {point.hold_queue!r} "
                    "must have no members (nobody rings there; the daemon moves "
                    "the call)"
                )
            # place_call() and random traffic name a destination by its name, calls arrive
            # by DID: both must say which one they mean.
            if point.name in queues:
                raise ValueError(f"route point {point.name}: a queue has the same name")
            if point.did in dids:
                raise ValueError(
                    f"route point {point.name}: DID {point.did} already leads to "
                    f"{dids[point.did]!r}"
                )
            dids[point.did] = point.name

    @classmethod
    def demo(cls) -> SimConfig:
        return cls(
            queues=(
                QueueConfig(
                    "support",
                    "4440",
                    _agents("1001", "1002"),
                    "rrmemory",
                    20,
                    consent="explicit",
                    wrapup_s=3.0,
                ),
                QueueConfig(
                    "sales",
                    "4441",
                    (*_agents("1003"), MemberConfig("SIP/1004", "Agent 1004", answers=False)),
                    "leastrecent",
                    30,
                    consent="implied",
                    wrapup_s=3.0,
                ),
                # The ACD route point's holding queue (cti demo writes the routing file).
                QueueConfig("collections", "4449", (), "ringall", 20, consent="none"),
            ),
            route_points=(
                RoutePointConfig("collections-tr", "4442", "collections", "support", hold_s=120),
            ),
            queue_timeout_s=45.0,  # CTI_QUEUE_TIMEOUT_S of dialplan/extensions_cti.conf
            hostile_ratio=0.1,
        )

    def queue(self, name: str) -> QueueConfig:
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise self._unknown(name)

    def route_point(self, name: str) -> RoutePointConfig:
        for point in self.route_points:
            if point.name == name:
                return point
        raise self._unknown(name)

    def destination(self, name: str) -> QueueConfig | RoutePointConfig:
        """Where a call named by ``name`` goes: a queue's DID or a route point's DID."""
        places: tuple[QueueConfig | RoutePointConfig, ...] = (*self.queues, *self.route_points)
        for where in places:
            if where.name == name:
                return where
        raise self._unknown(name)

    def destinations(self) -> tuple[QueueConfig | RoutePointConfig, ...]:
        """Where callers dial: every queue but the route points' hold queues (reached only
        through their route point), then the route points."""
        holds = {p.hold_queue for p in self.route_points}
        return (*(q for q in self.queues if q.name not in holds), *self.route_points)

    def _unknown(self, name: str) -> KeyError:
        return KeyError(
            f"no queue or route point {name!r} in the simulator (queues: "
            f"{', '.join(q.name for q in self.queues) or 'none'}; route points: "
            f"{', '.join(p.name for p in self.route_points) or 'none'})"
        )
