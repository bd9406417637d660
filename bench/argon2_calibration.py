"""Measure argon2id verification time on this machine, to choose the password-hash parameters.

Run: `.venv/bin/python bench/argon2_calibration.py [--samples N]`

For the configured default and a few alternatives it verifies a password repeatedly through
`servicekonto.security.passwords.PasswordHasher` and prints the median and 90th percentile.
The target is 50-100 ms per verification: slow enough to make offline guessing expensive
(NIST SP 800-63B §5.1.1.2), fast enough that a login stays snappy and a burst of logins does not
exhaust the thread pool. This is a report for the operator, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

from servicekonto.config import Argon2Settings
from servicekonto.security.passwords import PasswordHasher

TARGET_MS = (50.0, 100.0)
PASSWORD = "Moselwein im Herbst 2024"
MIB = 1024


def candidates() -> list[Argon2Settings]:
    """The default first, then t=1..3 at 19 MiB (OWASP's minimum), 46 MiB and 64 MiB."""
    default = Argon2Settings()
    grid = [
        Argon2Settings(time_cost=t, memory_cost_kib=m * MIB, parallelism=default.parallelism)
        for m in (19, 46, 64)
        for t in (1, 2, 3)
    ]
    return [default, *(settings for settings in grid if settings != default)]


def measure(settings: Argon2Settings, samples: int) -> list[float]:
    """Milliseconds of each of `samples` verifications of one stored hash."""
    hasher = PasswordHasher(settings)
    stored = hasher.hash(PASSWORD)
    hasher.verify(stored, PASSWORD)  # warm up: first touch of the memory
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def row(settings: Argon2Settings, timings: list[float], is_default: bool) -> str:
    median = statistics.median(timings)
    p90 = statistics.quantiles(timings, n=10)[-1]
    verdict = "yes" if TARGET_MS[0] <= median and p90 <= TARGET_MS[1] else "no"
    label = (
        f"t={settings.time_cost} m={settings.memory_cost_kib // MIB} MiB p={settings.parallelism}"
    )
    marker = " (default)" if is_default else ""
    return f"{label + marker:<32} {median:>9.1f} {p90:>9.1f}   {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="verifications per setting")
    args = parser.parse_args()
    print(
        f"argon2id verify, {args.samples} samples each; target {TARGET_MS[0]:.0f}-"
        f"{TARGET_MS[1]:.0f} ms (median >= lower bound, p90 <= upper bound)"
    )
    print(f"{'parameters':<32} {'median ms':>9} {'p90 ms':>9}   in target")
    for index, settings in enumerate(candidates()):
        print(row(settings, measure(settings, args.samples), is_default=index == 0), flush=True)


if __name__ == "__main__":
    main()
