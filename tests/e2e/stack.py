"""The e2e tests' Airflow stack: its command, child processes in groups of their own, and
small waits and queries (the fixtures built on them are in ``tests/e2e/conftest.py``)."""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import psycopg2

from tests.conftest import ROOT, airflow_conn_uri

AIRFLOW = str(Path(sys.executable).parent / "airflow")
# news_ingest's nightly runs start at 04:30 UTC (dags/news_ingest.py). A test that dates
# its inputs by the interval the scheduler (or the trigger form) will pick must not see
# 04:30 pass before those runs exist: it starts with this much room before it
# (tests.conftest.utc_now_with_room), and its time limit allows for that wait.
NIGHTLY_RUN = timedelta(hours=4, minutes=30)
ROOM_BEFORE_NIGHTLY_RUN = timedelta(minutes=10)


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A port free now for a child server to listen on, below the kernel's ephemeral range.

    The child binds it later. A port of the ephemeral range (what binding port 0 gives)
    can meanwhile become the local end of any outgoing connection on the machine (Airflow
    opens many) or another test's server; below the range only another explicit choice
    can take it. Never the same port twice in a session.
    """
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    choose = random.SystemRandom()
    for _ in range(1000):
        port = choose.randrange(15000, max(ephemeral, 15001))
        if port in _PORTS_GIVEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
        _PORTS_GIVEN.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


class ProcessGroups:
    """Child processes, each in a process group of its own, all ended on ``close``."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        with open(self.log_dir / f"{name}.log", "wb") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def run(self, name: str, args: list[str], env: dict[str, str], timeout: float = 300) -> None:
        """Run a command to its end in a group of its own; fail with its log unless it succeeds."""
        self.start(name, args, env)
        proc = self.procs.pop(name)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"{name} took over {timeout} s:\n{self.tail(name)}") from None
        assert proc.returncode == 0, f"{name} failed:\n{self.tail(name)}"

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-chars:]

    def all_tails(self, chars: int = 1500) -> str:
        return "".join(f"\n--- {log.name} ---\n" + log.read_text(errors="replace")[-chars:]
                       for log in sorted(self.log_dir.glob("*.log")))

    def close(self) -> None:
        """SIGTERM every group, then SIGKILL what is still there after 5 s; idempotent.

        The checks are over by then and nothing checks a graceful exit: the API server and
        the scheduler took over 20 s to stop on a loaded machine, a wait of every e2e test.
        """
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            # The leader may be gone while its children (task processes) are not.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()


def wait_for(ready: object, timeout: float, processes: ProcessGroups, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        processes.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready after {timeout} s{processes.all_tails()}")
        time.sleep(1)


def sqlalchemy_url(dsn: str) -> str:
    """The DSN as a SQLAlchemy URL for Airflow's metadata database (psycopg2 driver)."""
    return airflow_conn_uri(dsn).replace("postgresql://", "postgresql+psycopg2://", 1)


def query(dsn: str, sql: str, args: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def api_healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/v2/monitor/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False
