"""Which waiting call goes to which free agent, and why (pure; no I/O, no clock of its own).

One routing round looks at the agents and the waiting calls as they are at ``now`` and
hands out agents one call at a time, in service order: highest priority first, then the
call that has waited longest. For each call:

1. If the customer's last agent (``preferred_agent``) can take it, they get it (sticky).
2. If that agent cannot, the call keeps waiting for them until ``sticky_until``, and takes
   no one else meanwhile; later calls are served as if it were not there.
3. Otherwise the best eligible agent by the policy gets it, or the call keeps waiting.

An agent is eligible when ready, not already given a call in this round, at or above every
level the call requires, and not owed to a plain queue's caller who has waited longer than
the call (``RoutingAgent.queue_wait``: the agents are shared with Asterisk's queues, and the
longest waiting caller goes first across both; cti/routing/acd.py says how it is measured).
Priorities order the ACD's own calls only: the queues' callers carry theirs inside Asterisk.
Every tie is broken by longest idle, then interface name, so the same situation always gives
the same answer whatever order the lists come in.

Each ``Decision`` carries a short reason and every agent considered with why it could or
could not take the call: supervisors read these to understand the ACD, so they are
written for people, with times of day in the center's time zone (``zone``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from enum import StrEnum

from cti.clock import wall_time

MIN_LEVEL = 1
MAX_LEVEL = 10

# Skill name → level, kept as pairs in the order given so that the dataclasses holding it
# stay frozen and hashable (a dict would not be).
SkillLevels = tuple[tuple[str, int], ...]


def skill_levels(levels: Mapping[str, int]) -> SkillLevels:
    """``{"turkish": 5}`` in the frozen form ``RoutingAgent`` and ``WaitingCall`` keep."""
    return tuple(levels.items())


def _skill_problem(name: str, level: int, seen: Iterable[str]) -> str | None:
    if not name.strip():
        return "empty skill name"
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        return f"skill {name!r} has level {level}, outside {MIN_LEVEL}..{MAX_LEVEL}"
    if name in seen:
        return f"skill {name!r} is given twice"
    return None


def _check_levels(levels: SkillLevels, owner: str) -> None:
    seen: set[str] = set()
    for name, level in levels:
        problem = _skill_problem(name, level, seen)
        if problem is not None:
            raise ValueError(f"{owner}: {problem}")
        seen.add(name)


def parse_skills(text: str) -> dict[str, int]:
    """Skills as an admin types them: ``"turkish:5, collections:3"``; blank means none."""
    skills: dict[str, int] = {}
    if not text.strip():
        return skills
    for entry in text.split(","):
        if not entry.strip():
            raise ValueError(f"empty entry in {text!r}: a comma too many?")
        name, colon, level_text = (part.strip() for part in entry.partition(":"))
        if not name:
            raise ValueError(f"{entry.strip()!r} has no skill name before the colon")
        if not colon or not level_text:
            raise ValueError(f"skill {name!r} has no level: write it as {name}:5")
        try:
            level = int(level_text)
        except ValueError:
            raise ValueError(
                f"skill {name!r}: level {level_text!r} is not a whole number "
                f"from {MIN_LEVEL} to {MAX_LEVEL}"
            ) from None
        problem = _skill_problem(name, level, skills)
        if problem is not None:
            raise ValueError(problem)
        skills[name] = level
    return skills


@dataclass(frozen=True, slots=True)
class QueueWait:
    """The longest waiting caller a plain queue would offer an agent next."""

    queue: str
    since: float  # epoch seconds, the same clock as WaitingCall.waiting_since


@dataclass(frozen=True, slots=True)
class RoutingAgent:
    interface: str  # e.g. PJSIP/1001
    skills: SkillLevels
    available: bool  # ready: logged in, not paused, not on a call, not ringing
    idle_since: float  # epoch seconds when they last became free
    calls_handled: int
    # The oldest caller waiting in a plain queue of theirs; only a call that has waited at
    # least as long may take the agent (None: no such caller).
    queue_wait: QueueWait | None = None

    def __post_init__(self) -> None:
        _check_levels(self.skills, f"agent {self.interface}")


@dataclass(frozen=True, slots=True)
class WaitingCall:
    call_id: str  # the Linkedid
    required_skills: SkillLevels  # skill → minimum level
    priority: int  # higher is served first
    waiting_since: float  # epoch seconds
    preferred_agent: str | None = None  # interface of the customer's last agent
    sticky_until: float | None = None  # wait for preferred_agent only until then

    def __post_init__(self) -> None:
        _check_levels(self.required_skills, f"call {self.call_id}")


class Policy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    FEWEST_CALLS = "fewest_calls"
    HIGHEST_SKILL = "highest_skill"  # sum of levels on the call's required skills


@dataclass(frozen=True, slots=True)
class Candidate:
    interface: str
    eligible: bool
    why: str


@dataclass(frozen=True, slots=True)
class Decision:
    call_id: str
    agent: str | None  # None: the call keeps waiting
    reason: str
    considered: tuple[Candidate, ...]  # eligible ones first, best first; then by interface


def decide(
    agents: Iterable[RoutingAgent],
    calls: Iterable[WaitingCall],
    now: float,
    policy: Policy = Policy.LONGEST_IDLE,
    zone: tzinfo = UTC,
) -> tuple[Decision, ...]:
    """One decision per call, in service order; an agent gets at most one call."""
    agent_list = sorted(agents, key=lambda agent: agent.interface)
    call_list = sorted(calls, key=lambda call: (-call.priority, call.waiting_since, call.call_id))
    _refuse_duplicates([agent.interface for agent in agent_list], "agent interface")
    _refuse_duplicates([call.call_id for call in call_list], "call id")
    given: dict[str, str] = {}  # interface → call_id it got in this round
    decisions = []
    for call in call_list:
        decision = _decide_call(call, agent_list, given, now, policy, zone)
        if decision.agent is not None:
            given[decision.agent] = call.call_id
        decisions.append(decision)
    return tuple(decisions)


def _refuse_duplicates(keys: list[str], what: str) -> None:
    # Two entries under one key would make the answer depend on the input order.
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"{what} given more than once: {', '.join(repeated)}")


def _decide_call(
    call: WaitingCall,
    agents: list[RoutingAgent],
    given: Mapping[str, str],
    now: float,
    policy: Policy,
    zone: tzinfo,
) -> Decision:
    ranked = sorted(agents, key=lambda agent: _rank(agent, call, policy))
    why_not = {agent.interface: _why_not(agent, call, given, zone) for agent in agents}
    eligible = [agent for agent in ranked if why_not[agent.interface] is None]
    considered = [
        Candidate(agent.interface, True, _describe(agent, call, now)) for agent in eligible
    ]
    for agent in agents:
        why = why_not[agent.interface]
        if why is not None:
            considered.append(Candidate(agent.interface, False, why))

    prefix = ""
    preferred = call.preferred_agent
    if preferred is not None:
        if any(agent.interface == preferred for agent in eligible):
            reason = f"sticky: last agent {preferred} is free"
            return Decision(call.call_id, preferred, reason, tuple(considered))
        preferred_why = why_not.get(preferred) or "not among the agents"
        if call.sticky_until is None:
            prefix = f"last agent {preferred} not eligible ({preferred_why}); "
        elif now < call.sticky_until:
            seconds_left = math.ceil(call.sticky_until - now)
            reason = (
                f"waiting for last agent {preferred} ({preferred_why}) "
                f"until {wall_time(call.sticky_until, zone)} ({seconds_left} s left)"
            )
            return Decision(call.call_id, None, reason, tuple(considered))
        else:
            prefix = (
                f"stopped waiting for last agent {preferred} ({preferred_why}) "
                f"at {wall_time(call.sticky_until, zone)}; "
            )

    needs = _requirement(call)
    if not eligible:
        reason = prefix + _nobody(call, agents, needs, given)
        return Decision(call.call_id, None, reason, tuple(considered))
    best = eligible[0]
    of_whom = f"of {len(eligible)}" + (f" with {needs}" if needs else "")
    if policy is Policy.FEWEST_CALLS:
        reason = f"fewest calls {of_whom}: {best.interface} handled {best.calls_handled}"
    elif policy is Policy.HIGHEST_SKILL:
        reason = f"highest skill {of_whom}: {best.interface} skill sum {_skill_sum(best, call)}"
    else:
        reason = f"longest idle {of_whom}: {best.interface} idle {_idle_s(best, now)} s"
    return Decision(call.call_id, best.interface, prefix + reason, tuple(considered))


def _rank(agent: RoutingAgent, call: WaitingCall, policy: Policy) -> tuple[int, float, str]:
    """Sort key, best agent first: the policy's own measure, then longest idle, then name."""
    if policy is Policy.FEWEST_CALLS:
        measure = agent.calls_handled
    elif policy is Policy.HIGHEST_SKILL:
        measure = -_skill_sum(agent, call)
    else:
        measure = 0  # longest idle: the tie-break below is the whole policy
    return measure, agent.idle_since, agent.interface


def _skill_sum(agent: RoutingAgent, call: WaitingCall) -> int:
    levels = dict(agent.skills)
    return sum(levels.get(name, 0) for name, _ in call.required_skills)


def _why_not(
    agent: RoutingAgent,
    call: WaitingCall,
    given: Mapping[str, str],
    zone: tzinfo,
    queues: bool = True,
) -> str | None:
    """Why the agent cannot take the call now, or None when they can; ``queues=False``
    leaves out the plain queues' claim on the agent."""
    if not agent.available:
        return "not ready"
    if agent.interface in given:
        return f"already given call {given[agent.interface]} this round"
    levels = dict(agent.skills)
    shortfalls = []
    for name, minimum in call.required_skills:
        if name not in levels:
            shortfalls.append(f"lacks {name}")
        elif levels[name] < minimum:
            shortfalls.append(f"{name} level {levels[name]} < {minimum}")
    if shortfalls:
        return ", ".join(shortfalls)
    wait = agent.queue_wait
    if queues and wait is not None and call.waiting_since > wait.since:
        return (
            f"left to queue {wait.queue}: a caller there has waited longer "
            f"(since {wall_time(wait.since, zone)})"
        )
    return None


def _describe(agent: RoutingAgent, call: WaitingCall, now: float) -> str:
    levels = dict(agent.skills)
    parts = [f"ready, idle {_idle_s(agent, now)} s", f"handled {agent.calls_handled}"]
    parts += [f"{name} {levels[name]}" for name, _ in call.required_skills]
    return ", ".join(parts)


def _nobody(
    call: WaitingCall, agents: list[RoutingAgent], needs: str, given: Mapping[str, str]
) -> str:
    # Tell "nobody here can do this" apart from "the ones who can were taken by calls served
    # before this one" and "the ones who can are due to queue callers who waited longer":
    # the first needs more staff or skills, the others just a moment.
    fits = [agent for agent in agents if _why_not(agent, call, {}, UTC, queues=False) is None]
    if not fits:
        return f"no ready agent has {needs}" if needs else "no agent is ready"
    who = f"ready agents with {needs}" if needs else "ready agents"
    owed = sorted(
        {
            agent.queue_wait.queue
            for agent in fits
            if agent.interface not in given and agent.queue_wait is not None
        }
    )
    if owed:
        return f"{who} are left to callers who waited longer in queue {', '.join(owed)}"
    return f"{who} were all given calls this round"


def _requirement(call: WaitingCall) -> str:
    return " and ".join(f"{name}>={minimum}" for name, minimum in call.required_skills)


def _idle_s(agent: RoutingAgent, now: float) -> int:
    return int(max(0.0, now - agent.idle_since))
