"""``python -m cti.simulator``: the PBX simulator alone, for any AMI client."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from dataclasses import replace
from pathlib import Path

from cti.simulator import CaptureServer, SimConfig, Simulator


async def _run(args: argparse.Namespace) -> None:
    server: CaptureServer | Simulator
    if args.capture:
        server = CaptureServer(Path(args.capture), speed=args.speed, host=args.host, port=args.port)
    else:
        config = replace(
            SimConfig.demo(),
            username=args.username,
            secret=args.secret,
            arrival_rate=args.rate,
            seed=args.seed,
        )
        server = Simulator(config, host=args.host, port=args.port)
    await server.start()
    what = (
        f"capture {args.capture} at speed {args.speed}"
        if args.capture
        else (f"{args.rate} calls/s; login {args.username!r} / {args.secret!r}")
    )
    print(f"PBX simulator: AMI on {args.host}:{server.port} ({what})", flush=True)
    if isinstance(server, Simulator):
        server.start_traffic()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m cti.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="cti")
    parser.add_argument("--secret", default="cti-secret")
    parser.add_argument("--rate", type=float, default=0.1, help="calls per second")
    parser.add_argument("--seed", type=int, help="random seed, for repeatable traffic")
    parser.add_argument("--capture", help="serve this .ami capture instead of generating calls")
    parser.add_argument("--speed", type=float, default=1.0, help="capture speed factor (0: max)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
