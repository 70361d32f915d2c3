"""Sign-in attempts: who may try a password now, and who waits (pure: the caller passes the
time).

Theory of operation
-------------------
An attempt is *reserved* before its password is checked, without awaiting anything, and
counts as a failure until it succeeds. So N parallel guesses are N reservations and the
limits hold however many arrive at once (checking first and recording after the ~0.2 s hash
let 200 parallel guesses through).

Three counts over sliding windows, keyed so that an attacker cannot lock the real user out:

- per address, all users: an address that fails too often is refused for a while, which
  stops password spraying from one machine and touches no other address;
- per user and address: a few failures refuse that pair only, so guessing at a user from
  elsewhere never locks the user out of their own machine;
- per user, all addresses: a guesser spread over many addresses has no hard lock to trip.
  Past a free allowance, attempts at that user are spaced by a delay that doubles with each
  further failure: the server waits it out (up to ``max_wait_s``, then 429 with Retry-After).
  An address the user signed in from lately skips the delay.

A success removes its own reservation and clears that user's failures from that address,
nothing else: another user's success does not reset an address.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from dataclasses import dataclass

KNOWN_MAX = 10_000  # (user, address) pairs remembered as "signed in from here lately"


@dataclass(frozen=True, slots=True)
class Limits:
    per_address: int = 30
    per_user_address: int = 5
    window_s: float = 300.0
    user_free: int = 10  # failures at one user, all addresses, before delays start
    user_window_s: float = 3600.0
    user_delay_s: float = 1.0  # the first delay, doubled by each further failure
    user_max_delay_s: float = 30.0
    max_wait_s: float = 10.0  # a request is never held longer; past it: 429
    known_s: float = 30 * 86400.0  # how long a successful (user, address) skips the delay


class TooManyAttempts(Exception):
    """Refused before the password check; the message says why and when to try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"{message}; try again in {self.retry_after_s} s")


@dataclass(frozen=True, slots=True)
class Attempt:
    user: str
    address: str
    at: float
    wait_s: float  # how long to wait before checking the password (the per-user delay)


class AttemptLimiter:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._next_slot: dict[str, float] = {}
        self._known: dict[tuple[str, str], float] = {}
        self._swept = 0.0

    def reserve(self, user: str, address: str, now: float) -> Attempt:
        """Count an attempt at ``user`` from ``address`` before its password is checked, or
        raise ``TooManyAttempts``. Never awaits: that is what makes the limits hold."""
        limits = self.limits
        self._sweep(now)
        by_address = self._recent(("a", address), now, limits.window_s)
        if len(by_address) >= limits.per_address:
            raise TooManyAttempts(
                "too many failed sign-ins from this address", by_address[0] + limits.window_s - now
            )
        pair = self._recent(("ua", user, address), now, limits.window_s)
        if len(pair) >= limits.per_user_address:
            raise TooManyAttempts(
                "too many failed sign-ins for this user from this address",
                pair[0] + limits.window_s - now,
            )
        by_user = self._recent(("u", user), now, limits.user_window_s)
        wait = 0.0
        known_at = self._known.get((user, address))
        known = known_at is not None and now - known_at < limits.known_s
        if len(by_user) >= limits.user_free and not known:
            delay = min(
                limits.user_max_delay_s,
                limits.user_delay_s * 2 ** (len(by_user) - limits.user_free),
            )
            slot = max(now, self._next_slot.get(user, now))
            wait = slot - now
            if wait > limits.max_wait_s:
                raise TooManyAttempts(
                    "this user has had many failed sign-ins, so sign-ins for it are slowed down",
                    wait - limits.max_wait_s,
                )
            self._next_slot[user] = slot + delay
        for failures in (by_address, pair, by_user):
            failures.append(now)
        return Attempt(user, address, now, wait)

    def succeeded(self, attempt: Attempt, now: float) -> None:
        self._unreserve(attempt)
        self._failures.pop(("ua", attempt.user, attempt.address), None)
        self._known.pop((attempt.user, attempt.address), None)  # re-insert: newest last
        self._known[(attempt.user, attempt.address)] = now
        if len(self._known) > KNOWN_MAX:
            del self._known[next(iter(self._known))]

    def release(self, attempt: Attempt) -> None:
        """The password was never checked (database down): the attempt does not count."""
        self._unreserve(attempt)

    def _unreserve(self, attempt: Attempt) -> None:
        for key in (
            ("a", attempt.address),
            ("ua", attempt.user, attempt.address),
            ("u", attempt.user),
        ):
            failures = self._failures.get(key)
            if failures is not None:
                with contextlib.suppress(ValueError):  # already out of the window
                    failures.remove(attempt.at)

    def _recent(self, key: tuple[str, ...], now: float, window_s: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - window_s:
            failures.popleft()
        return failures

    def _sweep(self, now: float) -> None:
        """Forget keys nobody used for a window, so random usernames cannot grow memory."""
        limits = self.limits
        if now - self._swept < limits.window_s:
            return
        self._swept = now
        longest = max(limits.window_s, limits.user_window_s)
        for key in [k for k, f in self._failures.items() if not f or f[-1] <= now - longest]:
            del self._failures[key]
        for user in [u for u, slot in self._next_slot.items() if slot <= now]:
            del self._next_slot[user]
