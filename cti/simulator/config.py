"""What the simulated call center looks like: queues, agents' phones, callers, traffic.

Defaults follow the real captures in ``../shared/ami-captures/`` (queues ``support`` and
``sales``, chan_sip agents ``SIP/1001``…, DID 4440 with explicit consent), so the simulator
and the captures exercise the same code paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STRATEGIES = ("rrmemory", "leastrecent", "fewestcalls", "random", "ringall")
CONSENT_MODES = ("explicit", "implied", "none")  # none: the dialplan never asks


@dataclass(frozen=True, slots=True)
class MemberConfig:
    interface: str  # e.g. SIP/1001, PJSIP/1001 or Local/1001@agents/n
    name: str
    answers: bool = True  # False: the phone rings until app_queue gives up on it
    state_interface: str = ""  # Local/ members name the device that says whether they are busy


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
    wrapup_s: float = 0.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.name}: strategy must be one of {STRATEGIES}")
        if self.consent not in CONSENT_MODES:
            raise ValueError(f"queue {self.name}: consent must be one of {CONSENT_MODES}")


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
    queue_weights: tuple[float, ...] = field(default=())
    # Where MixMonitor "records" (a short tone per recorded call, named <Uniqueid>.wav as
    # our dialplan names it); None: no files.
    recordings_dir: Path | None = None

    @classmethod
    def demo(cls) -> SimConfig:
        return cls(
            queues=(
                QueueConfig("support", "4440", _agents("1001", "1002"), "rrmemory", 20,
                            consent="explicit", wrapup_s=3.0),
                QueueConfig("sales", "4441", (*_agents("1003"), MemberConfig(
                    "SIP/1004", "Agent 1004", answers=False)), "leastrecent", 30,
                            consent="implied", wrapup_s=3.0),
            ),
            hostile_ratio=0.1,
        )  # fmt: skip

    def queue(self, name: str) -> QueueConfig:
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise KeyError(f"no queue {name!r} in the simulator (have: "
                       f"{', '.join(q.name for q in self.queues)})")  # fmt: skip
