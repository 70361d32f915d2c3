"""Keeps one logged-in AMI session alive: connect, login, resync, watch, reconnect.

Theory of operation
-------------------
``AmiClient.run`` is one owned task that loops over sessions. A session connects with our
``CtiAmiProtocol`` through panoramisk's ``Manager`` (which keeps doing what it does well:
ActionIDs and answer futures), logs in, announces ``LinkUp`` to the pipeline, waits for
Asterisk to be fully booted, asks for the snapshot lists (QueueStatus, CoreShowChannels, then
Status with the channel variables of the consent step) so the state core can rebuild itself,
then watches the link: a Ping every ``ping_interval`` must be answered within ``ping_timeout``
(panoramisk never checks), so a half-open TCP connection is noticed within two intervals.
When a session ends for any reason the pipeline gets ``LinkDown`` and the next session starts
after a capped exponential backoff with jitter. The backoff counts failures since the last
successful login: an outage's long delays must not carry over to the next one (after a long
freeze the delay had grown to 21 s and the daemon stayed blind 16 s after Asterisk came back).

After ``core restart now`` Asterisk takes logins before app_queue is loaded, and QueueStatus
is refused ("Invalid/unknown command") until it is. So the resync waits (at most
``boot_timeout``) for ``FullyBooted``, which Asterisk sends at login when it is already
booted and to every session once it is (read class ``system``); a snapshot list that is still
refused is asked again after ``snapshot_retry_delay``, a few times, before the session gives
up: a refusal is never taken for an empty PBX.

A wrong secret is reported loudly with user, host and port (panoramisk retries silently
forever). On the very first attempt it is fatal when ``exit_on_auth_failure`` is set, so
``cti serve`` exits non-zero at startup; later it is logged and retried like any failure.

Deadlines use ``asyncio.timeout``, never ``asyncio.wait_for``: on Python 3.11, ``wait_for``
swallows a cancellation that arrives as its awaitable completes, and this task would then
outlive the shutdown that cancelled it (seen in CI as a test hanging in teardown).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager

from cti.ami.events import RESYNC_VARIABLES, AmiEvent, LinkDown, LinkUp, ResyncDone
from cti.ami.frames import Message
from cti.ami.protocol import ActionFailed, AmiDisconnected, AmiError, CtiAmiProtocol

log = logging.getLogger(__name__)


class AmiAuthError(AmiError):
    def __init__(self, username: str, host: str, port: int, message: str) -> None:
        super().__init__(
            f"Asterisk rejected the AMI login of user {username!r} at {host}:{port} "
            f"({message or 'no reason given'}). Check CTI_AMI_USERNAME and CTI_AMI_SECRET "
            "against the user's section in Asterisk's manager.conf."
        )


class AmiUnreachable(AmiError):
    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"cannot reach Asterisk AMI at {host}:{port} ({reason}). Check CTI_AMI_HOST and "
            "CTI_AMI_PORT, that Asterisk runs, and that manager.conf has enabled = yes and "
            "a bindaddr/permit that lets this host in."
        )


class AmiTimeout(AmiError):
    pass


@dataclass(frozen=True, slots=True)
class AmiConfig:
    host: str
    port: int
    username: str
    secret: str
    connect_timeout: float = 5.0
    action_timeout: float = 5.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    boot_timeout: float = 10.0  # waiting for FullyBooted before the resync
    snapshot_attempts: int = 5  # a refused QueueStatus/CoreShowChannels is asked this often
    snapshot_retry_delay: float = 1.0

    def __repr__(self) -> str:  # the secret must never reach a log line
        return f"AmiConfig(host={self.host!r}, port={self.port}, username={self.username!r})"


@dataclass(slots=True)
class AmiStats:
    sessions: int = 0
    logins: int = 0
    login_failures: int = 0
    ping_timeouts: int = 0
    connected: bool = False
    boot_waits_timed_out: int = 0  # no FullyBooted within boot_timeout after a login
    snapshots_refused: int = 0  # snapshot lists Asterisk refused (asked again if attempts left)
    reconnect_delay: float = 0.0  # the backoff before the latest new session, in seconds


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager, with reconnection left to AmiClient."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False


class AmiClient:
    def __init__(
        self,
        config: AmiConfig,
        on_message: Callable[[Message, float], None],
        on_event: Callable[[AmiEvent], None],
        exit_on_auth_failure: bool = False,
    ) -> None:
        self.config = config
        self.on_message = on_message
        self.on_event = on_event
        self.exit_on_auth_failure = exit_on_auth_failure
        self.stats = AmiStats()
        self.manager = _Manager(
            host=config.host,
            port=config.port,
            username=config.username,
            secret=config.secret,
            encoding="utf8",
        )
        self.first_login: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._protocol: CtiAmiProtocol | None = None
        self._skipped_before: Counter[bytes] = Counter()  # noise skipped by ended sessions
        self._action_ids = itertools.count(1)
        self._failures = 0  # sessions in a row that ended without a successful login

    @property
    def connected(self) -> bool:
        return self.stats.connected

    def skipped_events(self) -> dict[str, int]:
        """Events the current session's framing skipped as noise, by name."""
        counts = self._skipped_before.copy()
        if self._protocol is not None:
            counts.update(self._protocol.skipped)
        return {name.decode("ascii", "replace"): n for name, n in counts.items()}

    def next_reconnect_delay(self) -> float:
        """The backoff if the session ended now: the longest wait before the next attempt
        (jitter takes up to half of it off). Back to ``backoff_initial`` at every login."""
        return min(self.config.backoff_max, self.config.backoff_initial * 2.0**self._failures)

    async def run(self) -> None:
        while True:
            try:
                await self._session()
            except AmiAuthError as exc:
                self.stats.login_failures += 1
                if self.exit_on_auth_failure and not self.first_login.done():
                    self.first_login.set_exception(exc)
                    return
                log.error("%s", exc)
            except (AmiError, OSError, TimeoutError) as exc:
                log.warning("AMI session ended: %s", exc)
            # jitter: many daemons must not retry in step
            delay = self.next_reconnect_delay() * random.uniform(0.5, 1.0)
            self._failures = min(self._failures + 1, 30)
            self.stats.reconnect_delay = delay
            log.info(
                "reconnecting to AMI at %s:%s in %.2f s (attempt %d since the last login)",
                self.config.host,
                self.config.port,
                delay,
                self._failures,
            )
            await asyncio.sleep(delay)

    async def send(
        self, fields: dict[str, str], timeout: float | None = None, first_answer_only: bool = False
    ) -> Any:
        """Send one action and return panoramisk's answer; never waits forever.
        panoramisk answers with a list of messages when it guesses from the first answer
        that more belong to the action; ``first_answer_only`` settles it with the first."""
        if self._protocol is None or self._protocol.closed:
            raise AmiDisconnected("not connected to Asterisk AMI")
        future = self.manager.send_action(
            dict(fields), as_list=False if first_answer_only else None
        )
        try:
            async with asyncio.timeout(timeout or self.config.action_timeout):
                return await future
        except TimeoutError:
            raise AmiTimeout(
                f"no answer to {fields.get('Action')} within "
                f"{timeout or self.config.action_timeout} s"
            ) from None

    async def _session(self) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[str] = loop.create_future()

        def mark_lost(reason: str) -> None:
            if not lost.done():
                lost.set_result(reason)

        def make_protocol() -> CtiAmiProtocol:
            return CtiAmiProtocol(self.on_message, mark_lost)

        self.stats.sessions += 1
        try:
            async with asyncio.timeout(config.connect_timeout):
                _, protocol = await loop.create_connection(make_protocol, config.host, config.port)
        except (OSError, TimeoutError) as exc:
            raise AmiUnreachable(config.host, config.port, str(exc) or "timed out") from None
        self._protocol = protocol
        self.manager.protocol = protocol
        protocol.factory = self.manager
        linked = False
        try:
            answer = await self.send(
                {
                    "Action": "Login",
                    "Username": config.username,
                    "Secret": config.secret,
                    "Events": "on",
                }
            )
            if answer.get("Response") != "Success":
                message = answer.get("Message", "")
                if "shutting down" in message:  # a restart under way, not a wrong secret
                    raise AmiDisconnected(f"login refused: {message}")
                raise AmiAuthError(config.username, config.host, config.port, message)
            self.stats.logins += 1
            self.stats.connected = linked = True
            self._failures = 0  # Asterisk is back: the next outage starts from the first step
            log.info(
                "logged in to Asterisk AMI at %s:%s as %r",
                config.host,
                config.port,
                config.username,
            )
            self.on_event(LinkUp(ts=time.time()))
            await self._watched(self._bring_up(protocol, lost), lost)
        finally:
            protocol.close()
            self._skipped_before.update(protocol.skipped)
            self._protocol = None
            self.stats.connected = False
            if linked:
                reason = lost.result() if lost.done() else "session ended"
                self.on_event(LinkDown(ts=time.time(), reason=reason))

    async def _bring_up(self, protocol: CtiAmiProtocol, lost: asyncio.Future[str]) -> None:
        await self._wait_fully_booted(protocol, lost)
        await self._resync(protocol)
        # Behind the last list item in the pipeline: /readyz turns ready once it is applied.
        self.on_event(ResyncDone(ts=time.time()))
        if not self.first_login.done():
            self.first_login.set_result(None)

    async def _watched(
        self, bring_up: Coroutine[Any, Any, None], lost: asyncio.Future[str]
    ) -> None:
        """Run the resync under the ping watchdog from the moment of login: a link that dies
        while the snapshot lists stream is noticed within one ping, not after their
        deadlines. Returns (raising) only when the watchdog ends the session."""
        watchdog = asyncio.ensure_future(self._watch(lost))
        resync = asyncio.ensure_future(bring_up)
        try:
            await asyncio.wait({watchdog, resync}, return_when=asyncio.FIRST_COMPLETED)
            if resync.done():
                resync.result()  # a refused or timed-out resync ends the session
            await watchdog
        finally:
            for task in (resync, watchdog):
                task.cancel()
            await asyncio.gather(resync, watchdog, return_exceptions=True)

    async def _wait_fully_booted(self, protocol: CtiAmiProtocol, lost: asyncio.Future[str]) -> None:
        """Wait until Asterisk says FullyBooted (its modules, app_queue too, are loaded)."""
        timeout = self.config.boot_timeout
        either: set[asyncio.Future[Any]] = {protocol.fully_booted, lost}
        done, _ = await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if lost in done:
            raise AmiDisconnected(f"connection lost: {lost.result()}")
        if protocol.fully_booted in done:
            return
        self.stats.boot_waits_timed_out += 1
        log.warning(
            "no FullyBooted from Asterisk within %.1f s of logging in: resyncing "
            "anyway. Asterisk may still be starting, or the AMI user %r lacks read "
            "class 'system' in manager.conf",
            timeout,
            self.config.username,
        )

    async def _resync(self, protocol: CtiAmiProtocol) -> None:
        """Ask for the snapshot lists; their items reach the state core in stream order."""
        for action in ("QueueStatus", "CoreShowChannels"):
            await self._snapshot(protocol, {"Action": action})
        # What the dialplan did before we were connected (the consent step, MixMonitor) is
        # only in channel variables: Status lists every channel with a "Variable: NAME=value"
        # line per name asked (manager.c action_status; write class call is enough). After
        # CoreShowChannels, so the channels are known. Optional: a refusal costs those facts,
        # not the session.
        try:
            await self._snapshot(
                protocol, {"Action": "Status", "Variables": ",".join(RESYNC_VARIABLES)}, attempts=1
            )
        except ActionFailed as exc:
            log.warning(
                "Asterisk refused Status (%s): consent and recording of calls that "
                "began before this login stay unknown",
                exc.message,
            )

    async def _snapshot(
        self, protocol: CtiAmiProtocol, fields: dict[str, str], attempts: int | None = None
    ) -> None:
        action = fields["Action"]
        attempts = attempts or self.config.snapshot_attempts
        for attempt in range(1, attempts + 1):
            action_id = f"cti-resync-{next(self._action_ids)}"
            listed = protocol.send_streamed({**fields, "ActionID": action_id})
            try:
                async with asyncio.timeout(self.config.action_timeout * 4):
                    await listed
                return
            except TimeoutError:
                raise AmiTimeout(f"{action} list not complete in time") from None
            except ActionFailed as exc:
                # Refused, not empty: after a restart app_queue answers only once loaded.
                self.stats.snapshots_refused += 1
                if attempt == attempts:
                    raise
                log.warning(
                    "Asterisk refused %s (%s), attempt %d of %d; asking again in %.1f s",
                    action,
                    exc.message,
                    attempt,
                    attempts,
                    self.config.snapshot_retry_delay,
                )
                await asyncio.sleep(self.config.snapshot_retry_delay)

    async def _watch(self, lost: asyncio.Future[str]) -> None:
        config = self.config
        while True:
            done, _ = await asyncio.wait({lost}, timeout=config.ping_interval)
            if done:
                raise AmiDisconnected(f"connection lost: {lost.result()}")
            try:
                pong = await self.send({"Action": "Ping"}, timeout=config.ping_timeout)
            except AmiTimeout:
                self.stats.ping_timeouts += 1
                raise AmiDisconnected(
                    f"no Pong within {config.ping_timeout} s: dropping a dead connection"
                ) from None
            if pong.get("Response") != "Success":
                # Asterisk going down refuses every action ("Asterisk is shutting down")
                # before its Shutdown event: leave, and log in again when it is back.
                raise AmiDisconnected(f"Asterisk refused Ping: {pong.get('Message', '')}")
