"""CPU time and memory of processes, read from /proc (Linux), for figures per request.

CPU time is utime + stime of the process (all its threads), in clock ticks of 10 ms on most
kernels: over a run of thousands of requests that resolution is ample.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# uvicorn's worker processes are started by multiprocessing's spawn; its resource tracker, a
# sibling, is not a worker.
WORKER_MARK = b"spawn_main"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: fields count from the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / TICKS_PER_SECOND


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def worker_pids(server_pid: int) -> list[int]:
    """The processes that serve requests: uvicorn's spawned workers, or the server itself."""
    workers = [
        child
        for child in children(server_pid)
        if WORKER_MARK in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
    return sorted(workers) or [server_pid]


def pids_named(name: str) -> list[int]:
    """Every process whose command is `name` (e.g. the PostgreSQL backends)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == name:
                found.append(int(entry.name))
        except OSError:
            continue  # ended while we looked
    return found


def total_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, ValueError):
            continue
    return total


@dataclass(frozen=True)
class MachineCpu:
    """Busy and total CPU time of the whole machine (all cores), from /proc/stat."""

    busy: float
    total: float

    @classmethod
    def now(cls) -> MachineCpu:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(value) for value in first]
        idle = ticks[3] + ticks[4]  # idle + iowait
        total = sum(ticks[:8])  # guest time is already counted in user
        return cls(busy=(total - idle) / TICKS_PER_SECOND, total=total / TICKS_PER_SECOND)

    def busy_share_since(self, earlier: MachineCpu) -> float:
        elapsed = self.total - earlier.total
        return (self.busy - earlier.busy) / elapsed if elapsed > 0 else 0.0


def wait_until_idle(pids: list[int], quiet_share: float, longest: float) -> float:
    """Wait until the processes use less than `quiet_share` of a core; seconds waited.

    wrk stops sending at the end of a run, but requests it left queued are still being served
    (a login queue at 64 connections drains for seconds): the next run must not share with them.
    """
    started = time.monotonic()
    interval = 0.25
    previous = total_cpu_seconds(pids)
    while time.monotonic() - started < longest:
        time.sleep(interval)
        now = total_cpu_seconds(pids)
        if (now - previous) / interval < quiet_share:
            break
        previous = now
    return time.monotonic() - started
