"""One wrk run, with the CPU time everyone involved spent on it.

wrk's own CPU time comes from the kernel's accounting of the child (wait4), so the report can
show the load generator was not the limit; the server's from /proc of its worker processes and
the database's from /proc of the PostgreSQL backends serving this server's connections.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from endpoints import Invocation
from procstat import MachineCpu, total_cpu_seconds

WRK_TIMEOUT = "10s"
SUMMARY_MARK = "BENCH "


@dataclass(frozen=True)
class Watched:
    """The processes whose CPU time a run is charged with; database backends are looked up anew
    for every run, as the pool may open connections under load."""

    workers: list[int]
    database_backends: Callable[[], list[int]]


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    latency_ms: dict[str, float]
    errors: dict[str, int]
    unexpected: int
    exhausted: int
    wrk_cpu_seconds: float
    server_cpu_seconds: float
    database_cpu_seconds: float
    machine_busy_share: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Requests that did not get the expected answer, or no answer at all."""
        transport = sum(v for k, v in self.errors.items() if k != "status")
        return self.unexpected + transport

    def per_request_ms(self, cpu_seconds: float) -> float:
        return cpu_seconds * 1000 / self.requests if self.requests else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "requests_per_s": round(self.rate, 1),
            "p50_ms": self.latency_ms["p50"],
            "p99_ms": self.latency_ms["p99"],
            "server_cpu_ms_per_request": round(self.per_request_ms(self.server_cpu_seconds), 3),
            "database_cpu_ms_per_request": round(self.per_request_ms(self.database_cpu_seconds), 3),
            "wrk_cpu_share_of_one_core": round(self.wrk_cpu_seconds / self.seconds, 3),
            "machine_busy_share": round(self.machine_busy_share, 3),
            "failed": self.failed,
            "exhausted": self.exhausted,
        }


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it)")
    return found


def run_wrk(
    url: str,
    invocation: Invocation,
    *,
    connections: int,
    threads: int,
    seconds: int,
    watched: Watched,
    scratch: Path,
) -> WrkRun:
    command = [
        require_wrk(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        f"--script={invocation.script}",
        *(f"--header={header}" for header in invocation.headers),
        url,
        "--",
        *(f"{key}={value}" for key, value in invocation.arguments.items()),
    ]
    output = scratch / "wrk.out"
    workers_before = total_cpu_seconds(watched.workers)
    backends_before = _each_cpu(watched.database_backends())
    machine_before = MachineCpu.now()
    with output.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        # wait4 reports the child's own CPU time; communicate() would reap it without.
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    workers_after = total_cpu_seconds(watched.workers)
    backends_after = _each_cpu(watched.database_backends())
    machine_busy = MachineCpu.now().busy_share_since(machine_before)
    text = output.read_text(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{text}")
    return _parsed(
        _summary(text),
        wrk_cpu=usage.ru_utime + usage.ru_stime,
        server_cpu=workers_after - workers_before,
        database_cpu=_database_cpu(backends_before, backends_after),
        machine_busy=machine_busy,
    )


def _each_cpu(pids: list[int]) -> dict[int, float]:
    return {pid: total_cpu_seconds([pid]) for pid in pids}


def _database_cpu(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU of the backends alive at the end; one the pool opened in the run counts from zero.

    A backend the pool closed during the run (an overflow connection) took its time with it:
    the figure is a lower bound.
    """
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _summary(text: str) -> dict[str, Any]:
    for line in text.splitlines():
        if line.startswith(SUMMARY_MARK):
            summary: dict[str, Any] = json.loads(line[len(SUMMARY_MARK) :])
            return summary
    raise SystemExit(f"wrk printed no summary line:\n{text}")


def _parsed(
    summary: dict[str, Any],
    *,
    wrk_cpu: float,
    server_cpu: float,
    database_cpu: float,
    machine_busy: float,
) -> WrkRun:
    latency = {name: round(value / 1000, 3) for name, value in summary["latency_us"].items()}
    return WrkRun(
        requests=int(summary["requests"]),
        seconds=summary["duration_us"] / 1e6,
        latency_ms=latency,
        errors={name: int(count) for name, count in summary["errors"].items()},
        unexpected=int(summary["unexpected"]),
        exhausted=int(summary["exhausted"]),
        wrk_cpu_seconds=wrk_cpu,
        server_cpu_seconds=server_cpu,
        database_cpu_seconds=database_cpu,
        machine_busy_share=machine_busy,
    )
