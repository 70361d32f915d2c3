"""Asterisk's side of a FastAGI conversation (``AGI(agi://host:port/script,args)``), enough for
the daemon's route point.

Theory of operation
-------------------
res_agi connects to the script's server, sends its environment (``agi_key: value`` lines,
then an empty line) and reads commands, one a line, answering each with one line. The script
ends the conversation by closing the connection: AGISTATUS is then SUCCESS. A refused or reset
connection, or a conversation that does not end within the timeout, is FAILURE; the dialplan
then takes its safety net, so a daemon that is down or stuck never strands a call.

``SET VARIABLE`` (the route point's answer is a set of variables) and ``GET VARIABLE`` (it
asks for the dialplan's CTI_AGI_SECRET first, when it has a secret) are carried out; any
other command gets Asterisk's answer to a command it does not know.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

GetVariable = Callable[[str], str | None]

log = logging.getLogger(__name__)

SUCCESS, FAILURE = "SUCCESS", "FAILURE"
MAX_LINE = 8 * 1024  # a command line; Asterisk's own buffer is 2 KB
SCRIPT = "route"  # CTI_FASTAGI=agi://127.0.0.1:4573/route in dialplan/extensions_cti.conf

OK = b"200 result=1\n"
UNSET = b"200 result=0\n"  # GET VARIABLE of a variable the channel and globals lack
UNKNOWN = b"510 Invalid or unknown command\n"
USAGE = b"520 Invalid command syntax.  Proper usage not available.\n"


def environment(
    host: str,
    port: int,
    channel: str,
    uniqueid: str,
    caller_num: str,
    caller_name: str,
    dnid: str,
    context: str,
    extension: str,
    priority: int,
    args: tuple[str, ...],
) -> dict[str, str]:
    """What res_agi sends first, in its order, for a SIP caller in ``context``."""
    env = {
        "agi_network": "yes",
        "agi_network_script": SCRIPT,
        "agi_request": f"agi://{host}:{port}/{SCRIPT}",
        "agi_channel": channel,
        "agi_language": "en",
        "agi_type": "SIP",
        "agi_uniqueid": uniqueid,
        "agi_version": "20.5.0",
        "agi_callerid": caller_num or "unknown",
        "agi_calleridname": caller_name or "unknown",
        "agi_callingpres": "0",
        "agi_callingani2": "0",
        "agi_callington": "0",
        "agi_callingtns": "0",
        "agi_dnid": dnid or "unknown",
        "agi_rdnis": "unknown",
        "agi_context": context,
        "agi_extension": extension,
        "agi_priority": str(priority),
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": str(threading.get_ident()),
    }
    for number, arg in enumerate(args, start=1):
        env[f"agi_arg_{number}"] = arg
    return env


def encode_environment(env: dict[str, str]) -> bytes:
    """One ``key: value`` line each, then the empty line. Caller ID is text an attacker
    chooses: a line break in it would end the environment early or forge a variable."""
    lines = "".join(f"{key}: {_flat(value)}\n" for key, value in env.items())
    return (lines + "\n").encode("utf-8")


def _flat(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def split_args(line: str) -> list[str]:
    """A command's words as res_agi's parse_args splits them: blanks separate, double quotes
    group (and are removed), a backslash takes the next character literally."""
    words: list[str] = []
    current: list[str] = []
    started = quoted = escaped = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = started = True
        elif char == '"':
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        words.append("".join(current))
    return words


def answer(
    line: str, set_variable: Callable[[str, str], None], get_variable: GetVariable | None = None
) -> bytes:
    """Asterisk's one-line answer to one command line."""
    words = split_args(line)
    command = [w.upper() for w in words[:2]]
    if command == ["GET", "VARIABLE"]:
        if len(words) != 3:
            return USAGE
        value = get_variable(words[2]) if get_variable is not None else None
        # res_agi: "200 result=1 (value)", the value as it is, even with ")" in it.
        return UNSET if value is None else f"200 result=1 ({value})\n".encode()
    if command != ["SET", "VARIABLE"]:
        return UNKNOWN
    if len(words) != 4:
        return USAGE
    set_variable(words[2], words[3])
    return OK


async def converse(
    host: str,
    port: int,
    env: dict[str, str],
    set_variable: Callable[[str, str], None],
    timeout: float,
    get_variable: GetVariable | None = None,
) -> str:
    """Hold one conversation; returns AGISTATUS. Variables are set as their commands arrive
    (as in Asterisk), so a conversation cut short may still have set some. ``get_variable``
    reads the channel's variables and the dialplan's globals (None: there are none)."""
    try:
        return await asyncio.wait_for(
            _converse(host, port, env, set_variable, get_variable), timeout
        )
    except TimeoutError:
        log.info(
            "simulator: FastAGI agi://%s:%d/%s gave no complete answer within %.1f s; "
            "AGISTATUS=FAILURE",
            host,
            port,
            SCRIPT,
            timeout,
        )
    except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
        # OSError: refused or reset; ValueError: a line longer than MAX_LINE.
        log.info(
            "simulator: FastAGI agi://%s:%d/%s failed (%s); AGISTATUS=FAILURE",
            host,
            port,
            SCRIPT,
            exc or type(exc).__name__,
        )
    return FAILURE


async def _converse(
    host: str,
    port: int,
    env: dict[str, str],
    set_variable: Callable[[str, str], None],
    get_variable: GetVariable | None,
) -> str:
    reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
    try:
        writer.write(encode_environment(env))
        await writer.drain()
        while line := await reader.readline():
            if not line.endswith(b"\n"):
                break  # closed in the middle of a line: that command was never sent
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            writer.write(answer(command, set_variable, get_variable))
            await writer.drain()
        return SUCCESS
    finally:
        # abort, not close: after a timeout nothing more is owed to a peer that never ended.
        writer.transport.abort()
