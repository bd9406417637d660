"""What a worker's resident memory is made of: the RSS each package's import adds.

Builds the app as a uvicorn worker of the HTTP suite does (bench/benchapp.py, settings from the
environment, a PostgreSQL URL so the same driver is loaded) and charges the growth of the
process's resident set during every import to the package imported, less what its own imports
of other packages added. Resident pages of a shared library count where it is first loaded, as
they count in the RSS the suite reports. What the app's construction adds after the imports is
its own line. The figures say where issue 10's RSS target goes, not to the KiB: the allocator
hands out memory in blocks.

    .venv/bin/python bench/rss_breakdown.py [--output FILE]

Writes bench/results/rss_breakdown.json and prints the packages above 0.5 MiB.
"""

from __future__ import annotations

import argparse
import builtins
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procstat import rss_mib as process_rss_mib

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
SHOWN_MIB = 0.5
OURS = "servicekonto"


def rss_mib() -> float:
    return process_rss_mib(os.getpid())


def charged_name(name: str, importer: dict[str, Any] | None, level: int) -> str:
    """The package an import is charged to: its top level; ours by capability."""
    absolute = name
    if level:
        package = (importer or {}).get("__package__") or ""
        absolute = f"{package}.{name}" if name else package
    parts = absolute.split(".")
    return ".".join(parts[:2]) if parts[0] == OURS else parts[0]


class ImportMeter:
    """Wraps `__import__`: the RSS growth of each import, less that of the imports inside it."""

    def __init__(self) -> None:
        self.charged: Counter[str] = Counter()
        self._nested: list[float] = []
        self._original: Callable[..., Any] = builtins.__import__

    def __enter__(self) -> ImportMeter:
        builtins.__import__ = self._import
        return self

    def __exit__(self, *_exc: object) -> None:
        builtins.__import__ = self._original

    def _import(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level == 0 and name in sys.modules and not fromlist:
            return self._original(name, globals, locals, fromlist, level)
        before = rss_mib()
        self._nested.append(0.0)
        try:
            return self._original(name, globals, locals, fromlist, level)
        finally:
            inner = self._nested.pop()
            grown = rss_mib() - before
            self.charged[charged_name(name, globals, level)] += grown - inner
            if self._nested:
                self._nested[-1] += grown


def breakdown() -> dict[str, Any]:
    at_start = rss_mib()
    with tempfile.TemporaryDirectory() as var_dir:
        os.environ.setdefault("SERVICEKONTO_VAR_DIR", var_dir)
        os.environ.setdefault("SERVICEKONTO_SECRET_KEY", "rss-breakdown-" + "x" * 32)
        os.environ.setdefault(
            "SERVICEKONTO_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        with ImportMeter() as meter:
            import benchapp  # noqa: PLC0415 - measured: the import is the point

        after_imports = rss_mib()
        benchapp.create()
        built = rss_mib()
    ours = sum(mib for name, mib in meter.charged.items() if name.startswith(OURS))
    return {
        "python_at_start_mib": round(at_start, 1),
        "after_imports_mib": round(after_imports, 1),
        "after_building_the_app_mib": round(built, 1),
        "building_the_app_mib": round(built - after_imports, 1),
        "servicekonto_modules_mib": round(ours, 1),
        "third_party_and_stdlib_mib": round(after_imports - at_start - ours, 1),
        "modules_loaded": len(sys.modules),
        "by_package_mib": {
            name: round(mib, 2) for name, mib in meter.charged.most_common() if mib >= 0.05
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(RESULTS / "rss_breakdown.json"))
    args = parser.parse_args()
    result = breakdown()
    for name, mib in result["by_package_mib"].items():
        if mib >= SHOWN_MIB:
            print(f"{name:<36} {mib:6.1f} MiB")
    for key in ("python_at_start_mib", "third_party_and_stdlib_mib", "servicekonto_modules_mib"):
        print(f"{key:<36} {result[key]:6.1f}")
    print(f"{'building_the_app_mib':<36} {result['building_the_app_mib']:6.1f}")
    print(f"{'after_building_the_app_mib':<36} {result['after_building_the_app_mib']:6.1f}")
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
