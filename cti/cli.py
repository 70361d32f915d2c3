"""Command line: ``cti serve | demo | replay``.

Errors people can fix (a missing setting, a refused AMI login, an unreachable database) end
the process with exit status 2 and one message saying what is wrong and what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from cti.ami.connection import AmiAuthError
from cti.app import create_app
from cti.settings import Settings, SettingsError, load_settings

log = logging.getLogger("cti")

DEMO_AMI_USER = "cti"


def _panel_banner(settings: Settings, token: str) -> str:
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    return f"CTI panel: http://{host}:{settings.http_port}/login?token={token}"


def _run(settings: Settings, before: list[object] | None = None) -> None:
    token = settings.admin_token or secrets.token_urlsafe(24)
    app = create_app(settings, token, before=before or [])  # type: ignore[arg-type]

    async def announce(app: web.Application) -> None:
        print(_panel_banner(settings, token), flush=True)

    app.on_startup.append(announce)
    web.run_app(app, host=settings.http_host, port=settings.http_port, print=None,
                handle_signals=True)  # fmt: skip


def serve(args: argparse.Namespace) -> None:
    settings = load_settings(config_file=args.config)
    settings.require_ami_login()
    _run(settings)


def demo(args: argparse.Namespace) -> None:
    """The simulator as PBX, an embedded database, and the panel, all in this process."""
    from cti.simulator import SimConfig, Simulator

    settings = load_settings(config_file=args.config)
    secret = secrets.token_urlsafe(12)
    simulator_config = replace(SimConfig.demo(), username=DEMO_AMI_USER, secret=secret)
    if args.rate is not None:
        simulator_config = replace(simulator_config, arrival_rate=args.rate)
    simulator = Simulator(simulator_config, host="127.0.0.1", port=args.ami_port)
    settings = replace(settings, ami_host="127.0.0.1", ami_username=DEMO_AMI_USER,
                       ami_secret=secret, ami_port=args.ami_port)  # fmt: skip

    async def simulator_ctx(app: web.Application) -> AsyncIterator[None]:
        await simulator.start()
        print(f"PBX simulator: AMI on 127.0.0.1:{simulator.port}", flush=True)
        simulator.start_traffic()
        yield
        await simulator.stop()

    _run(settings, before=[simulator_ctx])


def replay_command(args: argparse.Namespace) -> None:
    from cti.replay import replay_into_database, replay_lines

    if not args.db:
        for line in replay_lines(Path(args.file)):
            print(line)
        return
    settings = load_settings(config_file=args.config)
    lines, waiting = asyncio.run(replay_into_database(Path(args.file), settings))
    for line in lines:
        print(line)
    if waiting:
        raise ConnectionError(
            f"the database is unavailable: {waiting} call-log rows are kept in "
            f"{settings.data_dir / 'call-log.spool'} and will be written by the next "
            "`cti replay --db`, `cti migrate` or daemon start"
        )


def migrate_command(args: argparse.Namespace) -> None:
    """Apply pending migrations, then write any spooled call-log rows."""
    from cti.calllog.spool import Spool
    from cti.calllog.writer import CallLogWriter
    from cti.database import Database

    settings = load_settings(config_file=args.config)

    async def run() -> None:
        database = await Database.open(settings.database_url, settings.data_dir)
        try:
            await database.pool()  # connects and migrates, or says why it cannot
            writer = CallLogWriter(database, Spool(settings.data_dir / "call-log.spool"),
                                   settings.center_region)  # fmt: skip
            if not await writer.flush():
                raise ConnectionError(f"spooled rows not written: {writer.stats.last_error}")
        finally:
            await database.close()
        print("database schema is up to date")

    asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cti", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML settings file (or CTI_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run against a real Asterisk").set_defaults(func=serve)
    demo_parser = commands.add_parser("demo", help="run with the built-in PBX simulator")
    demo_parser.add_argument("--ami-port", type=int, default=0, help="simulator port (0: any)")
    demo_parser.add_argument("--rate", type=float, help="calls per second")
    demo_parser.set_defaults(func=demo)
    replay_parser = commands.add_parser("replay", help="run an AMI capture offline")
    replay_parser.add_argument("file")
    replay_parser.add_argument("--db", action="store_true",
                               help="also write the calls to the call log")  # fmt: skip
    replay_parser.set_defaults(func=replay_command)
    commands.add_parser("migrate", help="apply database migrations, write spooled rows"
                        ).set_defaults(func=migrate_command)  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("CTI_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        args.func(args)
    except (SettingsError, AmiAuthError, ConnectionError, OSError) as exc:
        print(f"cti: {exc}", file=sys.stderr)
        sys.exit(2)
