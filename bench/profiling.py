"""Where a worker's time goes while wrk drives one endpoint: py-spy, sampled from outside.

Three wrk runs of the same endpoint, each under `py-spy record`:

- `--gil --format flamegraph`: bench/results/<endpoint>.svg, for people. Only the thread holding
  the GIL is sampled, so the picture is the Python work that limits one worker process.
- `--gil --format raw`: the same view as numbers, summed here into the heaviest frames
  (inclusive and self) and the share of each library.
- `--format raw` without --gil: every thread. Threads of the pool that wait for a request and
  the event loop waiting in select() are dropped; what remains is the time of threads serving a
  request, including the time they wait for PostgreSQL, which the GIL view cannot show.

py-spy's own idle detection is not used: in this VM it counts waiting threads as busy.
The analysis is kept beside the picture as bench/results/<endpoint>.profile.json.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import RESULTS

if TYPE_CHECKING:
    from endpoints import Endpoint
    from http_suite import Driver

SAMPLES_PER_SECOND = 100
ATTACH_SECONDS = 1.0
TOP = 25


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def profile_endpoint(
    driver: Driver, endpoint: Endpoint, concurrency: int, seconds: int, pid: int
) -> dict[str, Any]:
    svg = RESULTS / f"{endpoint.name}.svg"
    gil = driver.scratch / f"{endpoint.name}.gil.collapsed"
    wall = driver.scratch / f"{endpoint.name}.wall.collapsed"
    settings = {"concurrency": concurrency, "seconds": seconds, "pid": pid}
    _record(driver, endpoint, **settings, options=["--gil", "--format=flamegraph"], output=svg)
    rate = _record(driver, endpoint, **settings, options=["--gil", "--format=raw"], output=gil)
    _record(driver, endpoint, **settings, options=["--format=raw"], output=wall)
    analysis = {
        "endpoint": endpoint.name,
        "concurrency": concurrency,
        "seconds": seconds,
        "requests_per_s_while_sampled": round(rate, 1),
        "gil_holder": summarise(gil.read_text()),
        "request_threads": summarise(wall.read_text(), drop=_waiting_for_work),
    }
    (RESULTS / f"{endpoint.name}.profile.json").write_text(json.dumps(analysis, indent=2) + "\n")
    print(render(analysis))
    return analysis


# A pool thread waiting for its next request, and the event loop waiting for the network.
IDLE_FRAMES = ("Queue.get (queue.py", "select (selectors.py")


def _waiting_for_work(frames: list[str]) -> bool:
    return any(frame.startswith(IDLE_FRAMES) for frame in frames)


def _record(
    driver: Driver,
    endpoint: Endpoint,
    *,
    concurrency: int,
    seconds: int,
    pid: int,
    options: list[str],
    output: Path,
) -> float:
    """One wrk run under py-spy; credentials are issued before sampling starts."""
    invocation, threads = driver.prepare(endpoint, concurrency, seconds)
    command = [
        py_spy(),
        "record",
        f"--pid={pid}",
        f"--duration={seconds}",
        f"--rate={SAMPLES_PER_SECOND}",
        *options,
        f"--output={output}",
    ]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(ATTACH_SECONDS)
    result = driver.execute(endpoint, invocation, concurrency, threads, seconds)
    _, problems = sampler.communicate(timeout=seconds + 30)
    if sampler.returncode != 0:
        raise RuntimeError(f"py-spy failed: {problems.decode(errors='replace')}")
    if result.failed:
        raise RuntimeError(f"{endpoint.name} failed {result.failed} requests while profiled")
    if output.suffix == ".svg":
        retitle(output, f"{endpoint.name}, {concurrency} connections, {' '.join(options)}")
    return result.rate


_TITLE = re.compile(r'(<text id="title"[^>]*>)[^<]*(</text>)')


def retitle(svg: Path, title: str) -> None:
    """py-spy titles its picture with its own command line, paths of this machine included."""
    text = _TITLE.sub(lambda found: found[1] + escape(title) + found[2], svg.read_text(), count=1)
    svg.write_text(text)


def summarise(
    collapsed: str, drop: Callable[[list[str]], bool] = lambda _: False
) -> dict[str, Any]:
    """Inclusive and self shares of frames, and self share per library, from collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or not count_text.isdigit() or drop(frames):
            continue
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
        libraries[library(frames[-1])] += count
    return {
        "samples": total,
        "inclusive_top": _shares(inclusive, total),
        "self_top": _shares(own, total),
        "self_by_library": _shares(libraries, total),
    }


def library(frame: str) -> str:
    """`name (sqlalchemy/orm/session.py:123)` -> `sqlalchemy`; the standard library by module."""
    _, _, location = frame.rpartition("(")
    path = location.rstrip(")").rsplit(":", 1)[0]
    parts = [part for part in path.split("/") if part]
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    elif "src" in parts:
        parts = parts[parts.index("src") + 1 :]
    if not parts:
        return "?"
    first = parts[0]
    return first.removesuffix(".py") if len(parts) == 1 else first


def _shares(counter: Counter[str], total: int) -> list[dict[str, Any]]:
    return [
        {"frame": frame, "share": round(count / total, 4)}
        for frame, count in counter.most_common(TOP)
    ]


def render(analysis: dict[str, Any]) -> str:
    lines = [f"--- py-spy: {analysis['endpoint']} at c={analysis['concurrency']} ---"]
    for view in ("gil_holder", "request_threads"):
        summary = analysis[view]
        lines += [
            f"{view} ({summary['samples']} samples), self time by library:",
            *(
                f"  {item['share']:6.1%}  {item['frame']}"
                for item in summary["self_by_library"][:10]
            ),
            f"{view}, heaviest frames (inclusive):",
            *(f"  {item['share']:6.1%}  {item['frame']}" for item in summary["inclusive_top"]),
        ]
    return "\n".join(lines)
