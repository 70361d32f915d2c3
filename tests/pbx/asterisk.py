"""A real Asterisk running the project's own asterisk-conf/ and dialplan/, for the real-PBX tier.

The run folder gets a verbatim copy of the project's files plus the test overlay of
tests/pbx/overlay/: one file per .conf it touches, appended to the copy. The overlay only
adds to sections (``[name](+)``; ``(+type=aor)`` picks one of several same-named sections);
Asterisk applies the later value of a key, so it wins. It holds loopback addresses, free
ports, static contacts for the SIPp phones, short timeouts and the daemon's FastAGI port.

What Asterisk itself records is read back as the reference: its queue_log and CDR files,
its messages log (a test fails on an ERROR), and MixMonitor's recordings. Its durable records
(CDR, CEL, queue_log) go into a real PostgreSQL, as in a deployment: the project's pgsql
confs are pointed at the test's records database, the way compose writes the password in.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

REPO = Path(__file__).resolve().parents[2]
OVERLAY = Path(__file__).resolve().parent / "overlay"
DEBIAN_PROMPTS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
DEBIAN_MOH = Path("/usr/share/asterisk/moh")  # asterisk-moh-opsound-gsm

# The SIPp phones: agents answer on 127.0.0.1; callers come from the carrier's address, and
# outbound calls reach a customer's phone there.
AGENTS = ("1001", "1002", "1003", "1004")
# The project's DIDs (dialplan/): consent explicit, consent implied, the ACD route point.
SUPPORT_DID, SALES_DID, ACD_DID = "4440", "4441", "4442"
MEMBERS = {"support": ("PJSIP/1001", "PJSIP/1002"), "sales": ("PJSIP/1003", "PJSIP/1004")}
CARRIER_IP = "127.0.0.2"


@dataclass(frozen=True, slots=True)
class Ports:
    sip: int
    ami: int
    agi: int  # the daemon's FastAGI route point
    agents: dict[str, int]  # agent extension -> its SIPp phone's SIP port
    customer: int  # the SIPp phone behind the trunk that outbound calls reach


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One line of Asterisk's queue_log: time|callid|queue|agent (member name)|event|data..."""

    time: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def _link(link: Path, target: Path) -> None:
    if not link.exists() and not link.is_symlink():
        link.symlink_to(target)


class Asterisk:
    """One Asterisk process in its own run folder; start, stop, CLI, and what it recorded."""

    def __init__(
        self, home: Path, run: Path, ports: Ports, ami_secret: str, records_url: str
    ) -> None:
        self.home, self.run, self.ports, self.ami_secret = home, run, ports, ami_secret
        self.records_url = records_url  # where cdr_pgsql, cel_pgsql and the queue_log write
        self.process: subprocess.Popen[bytes] | None = None
        self.forgiven: set[str] = set()
        self.env = {**os.environ, "LD_LIBRARY_PATH": str(home / "lib")}
        self.binary = home / "sbin" / "asterisk"
        self.conf = run / "etc" / "asterisk.conf"

    # --- the run folder ------------------------------------------------------------------

    def prepare(self) -> None:
        run, home = self.run, self.home
        for sub in ("etc", "lib", "db", "agi", "spool", "run", "log", "data/sounds"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        for conf in (REPO / "asterisk-conf").glob("*.conf"):
            shutil.copy(conf, run / "etc" / conf.name)
        shutil.copytree(REPO / "dialplan", run / "etc" / "dialplan", dirs_exist_ok=True)
        self._point_records_at_database(run / "etc")
        values = {
            "sip_port": self.ports.sip,
            "ami_port": self.ports.ami,
            "agi_port": self.ports.agi,
            "ami_secret": self.ami_secret,
            "carrier_ip": CARRIER_IP,
            "customer_port": self.ports.customer,
            **{f"agent_{ext}_port": port for ext, port in self.ports.agents.items()},
        }
        for overlay in sorted(OVERLAY.glob("*.conf")):
            with (run / "etc" / overlay.name).open("a", encoding="utf-8") as target:
                target.write("\n; --- test overlay (tests/pbx/overlay) ---\n")
                target.write(overlay.read_text(encoding="utf-8").format(**values))
        # Asterisk's own data (modules' XML docs, images) stays in the build; sounds are
        # Debian's English prompts plus the project's own prompts, as a deployment has them.
        data = home / "var" / "lib" / "asterisk"
        for item in data.iterdir() if data.is_dir() else ():
            if item.name not in ("sounds", "moh") and not (run / "data" / item.name).exists():
                (run / "data" / item.name).symlink_to(item)
        for language in ("en", "tr"):
            sounds = run / "data" / "sounds" / language
            sounds.mkdir(exist_ok=True)
            for prompt in DEBIAN_PROMPTS.iterdir() if language == "en" else ():
                _link(sounds / prompt.name, prompt)
            _link(sounds / "cti", REPO / "dialplan" / "sounds" / language / "cti")
        # The consent AGI as a deployment installs it: the package's console script, whose
        # shebang is this virtual environment's Python (so pyst2 is found).
        _link(run / "agi" / "cti-consent", Path(sys.executable).parent / "cti-consent")
        _link(run / "data" / "moh", DEBIAN_MOH)
        (run / "lib" / "keys").mkdir(exist_ok=True)
        self.conf.write_text(
            "[directories]\n"
            f"astetcdir => {run}/etc\n"
            f"astmoddir => {home}/lib/asterisk/modules\n"
            f"astdatadir => {run}/data\n"
            f"astvarlibdir => {run}/lib\n"
            f"astdbdir => {run}/db\n"
            f"astkeydir => {run}/lib\n"
            f"astagidir => {run}/agi\n"
            f"astspooldir => {run}/spool\n"
            f"astrundir => {run}/run\n"
            f"astlogdir => {run}/log\n"
            f"astsbindir => {home}/sbin\n"
            "[options]\n"
            "runuser = root\nrungroup = root\n",
            encoding="utf-8",
        )

    def _point_records_at_database(self, etc: Path) -> None:
        """Rewrite the connection keys of the pgsql confs (Asterisk reads the first value of
        a key there, so an appended overlay would not win). The embedded PostgreSQL listens
        on a Unix socket: libpq takes its folder as the host."""
        url = urlparse(self.records_url)
        query = parse_qs(url.query)
        values = {
            "hostname": query.get("host", [url.hostname or "127.0.0.1"])[0],
            "port": str(url.port or 5432),
            "dbname": url.path.lstrip("/"),
            "user": url.username or "postgres",
            "password": url.password or "",
        }
        for name in ("cdr_pgsql.conf", "cel_pgsql.conf", "res_pgsql.conf"):
            conf = etc / name
            lines = []
            for line in conf.read_text(encoding="utf-8").splitlines():
                key = line.split("=", 1)[0].strip()
                lines.append(f"{key} = {values[key]}" if key in values and "=" in line else line)
            conf.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # --- process -------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        log = (self.run / "log" / "console.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.binary), "-C", str(self.conf), "-f", "-q"],
            env=self.env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.wait_fully_booted(timeout)
        self.wait_phones_reachable(timeout)

    def wait_phones_reachable(self, timeout: float) -> None:
        """Queues ring a member only once its contact answered a qualify OPTIONS."""
        deadline = time.monotonic() + timeout
        while True:
            contacts = self.cli("pjsip show contacts")
            if all(f"{ext}/sip:{ext}@" in contacts for ext in AGENTS) and contacts.count(
                " Avail "
            ) >= len(AGENTS):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"agents' phones not reachable within {timeout} s:\n{contacts}")
            time.sleep(0.3)

    def wait_fully_booted(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"Asterisk exited with {self.process.returncode}; see {self.run / 'log'}"
                )
            try:
                self.cli("core waitfullybooted", timeout=5)
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Asterisk not fully booted within {timeout} s") from None
                time.sleep(0.2)

    def cli(self, command: str, timeout: float = 15) -> str:
        """A CLI command over the control socket (``asterisk -rx``)."""
        done = subprocess.run(
            [str(self.binary), "-C", str(self.conf), "-rx", command],
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout.decode(errors="replace")

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    # --- what Asterisk recorded ----------------------------------------------------------

    def queue_log(self) -> list[QueueLogLine]:
        path = self.run / "log" / "queue_log"
        if not path.exists():
            return []
        lines = []
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = raw.split("|")
            if len(parts) >= 5 and parts[0].isdigit():
                lines.append(
                    QueueLogLine(
                        int(parts[0]), parts[1], parts[2], parts[3], parts[4], tuple(parts[5:])
                    )
                )
        return lines

    def errors(self) -> list[str]:
        """ERROR lines of Asterisk's messages log (the project's logger.conf writes it),
        but for those a test expected and forgave."""
        path = self.run / "log" / "messages.log"
        if not path.exists():
            return []
        text = path.read_text(encoding="utf-8", errors="replace")
        return [
            line for line in text.splitlines() if " ERROR[" in line and line not in self.forgiven
        ]

    def forgive(self, lines: list[str]) -> None:
        self.forgiven.update(lines)

    def recordings(self) -> set[str]:
        monitor = self.run / "spool" / "monitor"
        return {p.name for p in monitor.iterdir()} if monitor.is_dir() else set()
