"""Command line: ``cti serve | demo | replay``.

Errors people can fix (a missing setting, a refused AMI login, an unreachable database) end
the process with exit status 2 and one message saying what is wrong and what to do. A task
of the daemon that dies ends it with status 70 after a clean shutdown (cti/tasks.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from cti.ami.connection import AmiAuthError
from cti.app import CleanupCtx, create_app
from cti.keys import DATABASE, TASKS
from cti.settings import Settings, SettingsError, load_settings

log = logging.getLogger("cti")

DEMO_AMI_USER = "cti"
EXIT_TASK_FAILED = 70  # EX_SOFTWARE: an internal failure, not a setting to fix (that is 2)


def _panel_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    return f"http://{host}:{settings.http_port}/"


def _run(
    settings: Settings, before: Sequence[CleanupCtx] = (), after: Sequence[CleanupCtx] = ()
) -> None:
    app = create_app(settings, before=before, after=after)

    async def announce(app: web.Application) -> None:
        print(f"CTI panel: {_panel_url(settings)}", flush=True)

    app.on_startup.append(announce)
    tasks = app[TASKS]
    # A task that dies stops the daemon the way SIGTERM does (cleanup runs, nothing in memory
    # is lost), and the exit status then tells its supervisor to restart it.
    tasks.on_failure = lambda reason: os.kill(os.getpid(), signal.SIGTERM)
    web.run_app(
        app, host=settings.http_host, port=settings.http_port, print=None, handle_signals=True
    )
    if tasks.failure:
        print(
            f"cti: stopped because {tasks.failure}; restart it (systemd and compose do)",
            file=sys.stderr,
        )
        sys.exit(EXIT_TASK_FAILED)


def serve(args: argparse.Namespace) -> None:
    settings = load_settings(config_file=args.config)
    settings.require_ami_login()
    _run(settings)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo(args: argparse.Namespace) -> None:
    """The simulator as PBX, an embedded database, and the panel, all in this process."""
    from cti.simulator import SimConfig, Simulator

    settings = load_settings(config_file=args.config)
    secret = secrets.token_urlsafe(12)
    simulator_config = replace(SimConfig.demo(), username=DEMO_AMI_USER, secret=secret)
    if args.rate is not None:
        simulator_config = replace(simulator_config, arrival_rate=args.rate)
    ami_port = args.ami_port or _free_port()  # known before the app starts its AMI client
    # The demo's route point asks this daemon's FastAGI, with the demo's routing file
    # unless one is configured.
    if not settings.routing_file:
        from cti.demo import DEMO_ROUTING

        routing_file = settings.data_dir / "demo-routing.toml"
        routing_file.parent.mkdir(parents=True, exist_ok=True)
        routing_file.write_text(DEMO_ROUTING, encoding="utf-8")
        settings = replace(settings, routing_file=str(routing_file), routing_agi_port=_free_port())
    # The simulated Asterisk's dialplan and the daemon share the route point's secret, new at
    # every start unless one is configured (CTI_AGI_SECRET and CTI_ROUTING_AGI_SECRET).
    agi_secret = settings.routing_agi_secret or secrets.token_urlsafe(16)
    settings = replace(settings, routing_agi_secret=agi_secret)
    simulator_config = replace(
        simulator_config,
        agi_host=settings.routing_agi_host,
        agi_port=settings.routing_agi_port,
        agi_secret=agi_secret,
    )
    simulator = Simulator(simulator_config, host="127.0.0.1", port=ami_port)
    # The demo shows wrap-up (15 s unless configured) so agents see it after each call.
    settings = replace(
        settings,
        ami_host="127.0.0.1",
        ami_username=DEMO_AMI_USER,
        ami_secret=secret,
        ami_port=ami_port,
        center_wrapup_s=settings.center_wrapup_s or 15.0,
    )

    async def simulator_ctx(app: web.Application) -> AsyncIterator[None]:
        await simulator.start()
        print(f"PBX simulator: AMI on 127.0.0.1:{simulator.port}", flush=True)
        simulator.start_traffic()
        yield
        await simulator.stop()

    async def seed_ctx(app: web.Application) -> AsyncIterator[None]:
        from cti.demo import seed_demo

        credentials = await seed_demo(app[DATABASE])
        print("Demo users (new passwords at every start):", flush=True)
        for username, role, password, interfaces in credentials:
            phones = f" phone {', '.join(interfaces)}" if interfaces else ""
            print(f"  {role:<10} {username:<12} password {password}{phones}", flush=True)
        yield

    _run(settings, before=[simulator_ctx], after=[seed_ctx])


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
            writer = CallLogWriter(
                database, Spool(settings.data_dir / "call-log.spool"), settings.center_region
            )
            if not await writer.flush():
                raise ConnectionError(f"spooled rows not written: {writer.stats.last_error}")
        finally:
            await database.close()
        print("database schema is up to date")

    asyncio.run(run())


def user_add(args: argparse.Namespace) -> None:
    """Create a panel user; the password is read from stdin or generated and printed."""
    from cti.auth.users import create_user
    from cti.database import Database

    settings = load_settings(config_file=args.config)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    generated = password is None
    password = password or secrets.token_urlsafe(12)

    async def run() -> None:
        database = await Database.open(settings.database_url, settings.data_dir)
        try:
            user = await create_user(
                await database.pool(),
                args.username.lower(),
                args.name or args.username,
                args.role,
                password,
                tuple(args.interface),
            )
        finally:
            await database.close()
        print(
            f"created {user.role} {user.username}"
            + (f" with password {password}" if generated else "")
        )

    try:
        asyncio.run(run())
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def import_customers_command(args: argparse.Namespace) -> None:
    """Load customers from CSV (columns: see cti/customers/importer.py), with a progress bar."""
    from cti.customers.importer import ImportFileError, import_customers
    from cti.database import Database

    settings = load_settings(config_file=args.config)

    def progress(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        print(f"\r[{bar:<30}] {done:,}/{total:,} rows", end="", file=sys.stderr, flush=True)

    async def run() -> None:
        database = await Database.open(settings.database_url, settings.data_dir)
        try:
            report = await import_customers(
                await database.pool(), Path(args.file), settings.center_region, progress
            )
        finally:
            await database.close()
        print(file=sys.stderr)
        for line, problem in report.errors:
            print(f"{args.file}:{line}: {problem}", file=sys.stderr)
        print(
            f"{report.inserted:,} customers added, {report.updated:,} updated, "
            f"{len(report.errors):,} rows skipped"
        )

    try:
        asyncio.run(run())
    except ImportFileError as exc:
        raise SettingsError(str(exc)) from None


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
    replay_parser.add_argument(
        "--db", action="store_true", help="also write the calls to the call log"
    )
    replay_parser.set_defaults(func=replay_command)
    commands.add_parser(
        "migrate", help="apply database migrations, write spooled rows"
    ).set_defaults(func=migrate_command)
    import_parser = commands.add_parser("import-customers", help="load customers from CSV")
    import_parser.add_argument("file")
    import_parser.set_defaults(func=import_customers_command)
    user_parser = commands.add_parser("user", help="manage panel users")
    user_commands = user_parser.add_subparsers(dest="user_command", required=True)
    add_parser = user_commands.add_parser("add", help="create a user")
    add_parser.add_argument("username")
    add_parser.add_argument("--role", choices=["agent", "supervisor", "admin"], required=True)
    add_parser.add_argument("--name", help="display name")
    add_parser.add_argument(
        "--interface",
        action="append",
        default=[],
        help="the agent's phone, e.g. PJSIP/1001 (repeatable)",
    )
    add_parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin instead of generating one",
    )
    add_parser.set_defaults(func=user_add)
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
