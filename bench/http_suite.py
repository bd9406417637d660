"""Requests per second and latency of the provider's endpoints, against a bare endpoint.

Starts the real server (bench/benchapp.py: the service's app plus `GET /bench/bare`, under
uvicorn with the options of `servicekonto serve`) on a fresh PostgreSQL schema migrated and
seeded with the demo data, then drives each endpoint with wrk at each concurrency for each run,
for one worker count after another. Single-use credentials (authorization codes, refresh
tokens) are issued through the service's own GrantStore right before each run, sized to what
the run can consume. Every run counts the answers that were not the expected status, and the
suite exits with 1 if there were any.

    .venv/bin/python bench/http_suite.py [--duration 10] [--runs 3] [--concurrency 1,8,32,64]
        [--workers 1,2] [--endpoints bare,jwks,...] [--profile token_code_exchange]

The server runs with SERVICEKONTO_ENV=development, because production refuses the plain-http
issuer a loopback benchmark has; everything else is as in production: JSON logs at INFO, one
line per request, an explicit secret key, PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from credentials import Credentials, PreparationError
from endpoints import BARE, ENDPOINTS, Endpoint, Invocation, RunPlan
from harness import (
    POSTGRES_URL,
    RESULTS,
    drop_schema,
    machine,
    postgres_schema,
)
from procstat import rss_mib, wait_until_idle
from profiling import profile_endpoint
from report import Measurements, table, targets, targets_table
from stage import (
    SNAPSHOT,
    SNAPSHOT_COMMIT,
    Stage,
    build_stage,
    database_backends,
    run_on_snapshot,
    serving,
)
from wrkrun import Watched, WrkRun, require_wrk, run_wrk

# Single-use credentials per run: the best rate seen so far times the duration, with margin.
CREDENTIAL_MARGIN = 2.0
CREDENTIAL_CAP = 60_000
# Before any rate is known (the warm-up), assume this many requests per second per worker.
GUESSED_RATE = 600.0
# Between runs: until the workers use less than this share of a core, for at most this long.
IDLE_SHARE = 0.05
IDLE_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    duration: int
    runs: int
    concurrency: list[int]
    workers: list[int]
    endpoints: list[Endpoint]
    warmup: int
    threads: int
    profile: list[str]
    profile_seconds: int
    output: Path | None
    working_tree: bool


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of the matrix; medians are reported"
    )
    parser.add_argument(
        "--concurrency", default="1,8,32,64", help="open connections, comma-separated"
    )
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts, comma-separated")
    parser.add_argument(
        "--endpoints", default=",".join(ENDPOINTS), help="comma-separated; bare is always run"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of warm-up per endpoint (0: none)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (at most the concurrency)"
    )
    parser.add_argument("--profile", default="", help="endpoints to profile with py-spy afterwards")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument(
        "--working-tree",
        action="store_true",
        help="measure the working tree as it is, not a snapshot of the last commit",
    )
    parser.add_argument(
        "--output",
        default=str(RESULTS / "http_suite.json"),
        help="result file; '-' writes none",
    )
    args = parser.parse_args(argv)
    return Options(
        duration=args.duration,
        runs=args.runs,
        concurrency=_numbers(args.concurrency),
        workers=_numbers(args.workers),
        endpoints=_endpoints(args.endpoints),
        warmup=args.warmup,
        threads=args.threads,
        profile=[name for name in args.profile.split(",") if name],
        profile_seconds=args.profile_seconds,
        output=None if args.output == "-" else Path(args.output),
        working_tree=args.working_tree,
    )


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _endpoints(text: str) -> list[Endpoint]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENDPOINTS]
    if unknown:
        raise SystemExit(f"unknown endpoints {unknown}; known: {', '.join(ENDPOINTS)}")
    # The bare endpoint first: every ratio needs it, and it is the least disturbed by the others.
    return [ENDPOINTS[BARE], *(ENDPOINTS[name] for name in names if name != BARE)]


# --- the server and its data -----------------------------------------------------------------


# --- measuring -------------------------------------------------------------------------------


class Driver:
    """Runs wrk against one server, preparing each run's credentials first."""

    def __init__(
        self, options: Options, stage: Stage, credentials: Credentials, watched: Watched
    ) -> None:
        self.options = options
        self.stage = stage
        self.credentials = credentials
        self.watched = watched
        self.best_rate: dict[str, float] = {}
        self.scratch = stage.workdir / "runs"
        self.scratch.mkdir(exist_ok=True)

    def run(self, endpoint: Endpoint, concurrency: int, seconds: int) -> WrkRun:
        invocation, threads = self.prepare(endpoint, concurrency, seconds)
        return self.execute(endpoint, invocation, concurrency, threads, seconds)

    def run_sized(self, endpoint: Endpoint, concurrency: int, seconds: int) -> WrkRun:
        """A run; once more with the rate it reached if single-use credentials ran short."""
        result = self.run(endpoint, concurrency, seconds)
        if not result.exhausted:
            return result
        print(
            f"{endpoint.name} c={concurrency}: {result.exhausted} requests found no credential;"
            " measuring again with more",
            flush=True,
        )
        return self.run(endpoint, concurrency, seconds)

    def prepare(self, endpoint: Endpoint, concurrency: int, seconds: int) -> tuple[Invocation, int]:
        """The run's credentials and files; single-use ones issued now, right before the run."""
        threads = max(1, min(self.options.threads, concurrency))
        plan = RunPlan(self.scratch, threads, self._credentials_needed(endpoint, seconds, threads))
        return endpoint.prepare(self.credentials, plan), threads

    def execute(
        self,
        endpoint: Endpoint,
        invocation: Invocation,
        concurrency: int,
        threads: int,
        seconds: int,
    ) -> WrkRun:
        result = run_wrk(
            self.stage.base_url + endpoint.path,
            invocation,
            connections=concurrency,
            threads=threads,
            seconds=seconds,
            watched=self.watched,
            scratch=self.scratch,
        )
        self.best_rate[endpoint.name] = max(self.best_rate.get(endpoint.name, 0.0), result.rate)
        wait_until_idle(self.watched.workers, IDLE_SHARE, IDLE_WAIT_SECONDS)
        return result

    def _credentials_needed(self, endpoint: Endpoint, seconds: int, threads: int) -> int:
        if not endpoint.single_use:
            return 0
        rate = self.best_rate.get(endpoint.name, GUESSED_RATE * len(self.watched.workers))
        # Each thread sends only its own share, so each share carries its own slack.
        needed = math.ceil(rate * seconds * CREDENTIAL_MARGIN) + 50 * threads
        return min(needed, CREDENTIAL_CAP)


def measure(
    options: Options, stage: Stage, workers: int, into: Measurements | None = None
) -> Measurements:
    """Every run of the matrix on one server; `into` collects runs of servers started before."""
    measurements = into if into is not None else Measurements(workers)
    credentials = Credentials(
        stage.base_url,
        stage.env["SERVICEKONTO_DATABASE_URL"],
        stage.env["SERVICEKONTO_SECRET_KEY"],
        stage.seeded,
    )
    try:
        with serving(stage, workers) as pids:
            watched = Watched(pids, database_backends(stage.application_name))
            driver = Driver(options, stage, credentials, watched)
            measurements.rss_at_start = [rss_mib(pid) for pid in pids]
            _warm_up(options, driver, measurements)
            for run_index in range(options.runs):
                for endpoint in options.endpoints:
                    for concurrency in options.concurrency:
                        try:
                            result = driver.run_sized(endpoint, concurrency, options.duration)
                        except PreparationError as error:
                            # Recorded and reported as a failure; the other cells still count.
                            measurements.preparation_failures.append(
                                f"{endpoint.name} c={concurrency} run {run_index + 1}: {error}"
                            )
                            continue
                        measurements.add(endpoint.name, concurrency, result)
                        _progress(workers, run_index, endpoint.name, concurrency, result)
                    measurements.note_rss(endpoint.name, [rss_mib(pid) for pid in pids])
            measurements.rss_mib = [rss_mib(pid) for pid in pids]
            # Profiles of the first server only: one picture per endpoint, not overwritten.
            for name in options.profile if workers == options.workers[0] else []:
                _profile(measurements, driver, ENDPOINTS[name], options, pids[0])
    finally:
        credentials.close()
    return measurements


def _profile(
    measurements: Measurements, driver: Driver, endpoint: Endpoint, options: Options, pid: int
) -> None:
    try:
        measurements.profiles[endpoint.name] = profile_endpoint(
            driver, endpoint, max(options.concurrency), options.profile_seconds, pid
        )
    except (RuntimeError, PreparationError) as error:
        # A profile is an extra: its failure is reported, the measurements stand.
        print(f"profiling {endpoint.name} failed: {error}", file=sys.stderr)


def _warm_up(options: Options, driver: Driver, measurements: Measurements) -> None:
    """Fill caches and pools, and learn each endpoint's rate to size its credentials."""
    if options.warmup <= 0:
        return
    for endpoint in options.endpoints:
        result = driver.run(endpoint, max(options.concurrency), options.warmup)
        # Running short of guessed credentials is expected here; anything else is a failure.
        measurements.warmup_failures[endpoint.name] = result.failed - result.exhausted
        if result.exhausted:
            driver.best_rate[endpoint.name] = result.rate  # an overestimate: errors are quick


def _progress(workers: int, run_index: int, name: str, concurrency: int, result: WrkRun) -> None:
    flag = f"  FAILED {result.failed}" if result.failed else ""
    print(
        f"[{workers}w run {run_index + 1}] {name:<26} c={concurrency:<3} "
        f"{result.rate:8.1f} req/s  p50 {result.latency_ms['p50']:7.2f} ms  "
        f"p99 {result.latency_ms['p99']:7.2f} ms{flag}",
        flush=True,
    )


# --- the whole suite -------------------------------------------------------------------------


def login_overhead_p50() -> float | None:
    """The login target is measured by bench/login_overhead.py; its last PostgreSQL result."""
    path = RESULTS / "login_overhead_postgresql.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    return float(result["login_minus_its_argon2_server_side"]["p50_ms"])


def main() -> int:
    options = parse_options()
    if not options.working_tree and SNAPSHOT not in os.environ:
        return run_on_snapshot()
    # Stopped with SIGTERM (kill, CI's timeout), still stop the server and drop the schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    require_wrk()
    schema = postgres_schema("bench_http")
    if schema is None:
        raise SystemExit(f"PostgreSQL does not answer at {POSTGRES_URL}; the suite needs it")
    measured: list[Measurements] = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            stage = build_stage(Path(scratch), schema)
            for workers in options.workers:
                measured.append(measure(options, stage, workers))
                save(options, measured)  # what is measured survives a later failure
    finally:
        drop_schema(schema)
    return conclude(options, measured)


def conclude(options: Options, measured: list[Measurements]) -> int:
    for measurements in measured:
        print(table(measurements))
    one_worker = next((m for m in measured if m.workers == 1), None)
    found = targets(one_worker, login_overhead_p50()) if one_worker else []
    if found:
        print(targets_table(found))
    failures = [line for measurements in measured for line in measurements.failures()]
    save(options, measured)
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if failures else 0


def save(options: Options, measured: list[Measurements]) -> None:
    if options.output is None:
        return
    one_worker = next((m for m in measured if m.workers == 1), None)
    failures = [line for measurements in measured for line in measurements.failures()]
    result = {
        "benchmark": "http_suite",
        "machine": machine(os.environ.get(SNAPSHOT_COMMIT)),
        "options": {
            "duration_s": options.duration,
            "runs": options.runs,
            "concurrency": options.concurrency,
            "wrk_threads": options.threads,
            "warmup_s": options.warmup,
            "environment": "SERVICEKONTO_ENV=development, JSON logs at INFO, PostgreSQL",
        },
        "workers": {str(m.workers): m.as_json() for m in measured},
        "targets": targets(one_worker, login_overhead_p50()) if one_worker else [],
        "failures": failures,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {options.output}")


if __name__ == "__main__":
    sys.exit(main())
