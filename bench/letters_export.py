"""How fast a print-shop batch of PIN letters renders, and whether memory stays flat.

Renders a batch of synthetic letters (10,000 by default) with `LetterPdfWriter` into one PDF
plus its manifest, in this single process, and reports letters per second, wall time, peak RSS
and output size. The target of the PIN-letter issue: at least 200 letters/s.

Memory: each measurement runs in a fresh child process, because peak RSS (`ru_maxrss`) is a
high-water mark per process. The writer is measured at 1,000, 5,000 and the batch size; for
contrast, one plain reportlab Canvas for the whole batch (which keeps every page until
`save()`) at 1,000 and 5,000.

    .venv/bin/python bench/letters_export.py [--letters 10000] [--chunk-size 250]

Results are printed and written to bench/results/letters_export.json. Not a pass/fail test:
these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from servicekonto.pinletters.letter import LetterContent
from servicekonto.pinletters.manifest import ManifestRow, write_manifest
from servicekonto.pinletters.render import LetterPdfWriter, draw_letter, new_canvas

RESULTS = Path(__file__).resolve().parent / "results"
PIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
FIRST_NAMES = ("Anna Maria", "Jürgen", "Özlem", "Zoë", "Hans-Peter", "Жанна", "Mehmet", "Søren")
LAST_NAMES = ("Schmitz-Müller", "Weißgerber", "Nguyễn", "Иванова", "Kaya", "Østergaard", "Bär")
STREETS = (
    "Moselstraße 7",
    "Am Marktplatz 12a",
    "Oberbürgermeister-Dr.-Friedrich-Wilhelm-von-Hohenzollern-Straße 123",
    "Unterer Graben 3",
)


def synthetic_letters(count: int) -> Iterator[LetterContent]:
    """Varied names (umlauts, Cyrillic, Vietnamese), some very long streets, random PINs."""
    for n in range(1, count + 1):
        name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[n % len(LAST_NAMES)]}"
        yield LetterContent(
            letter_number=f"SK-2026-{n:06d}",
            recipient_lines=(name,),
            street_line=STREETS[n % len(STREETS)],
            city_line="56812 Cochem",
            pin="".join(secrets.choice(PIN_ALPHABET) for _ in range(10)),
            pin_entry_url="https://konto.example.de/account/pin",
            issued_on=date(2026, 9, 21),
            valid_until=date(2026, 12, 21),
            sender_name="Kreisverwaltung Cochem-Zell",
            sender_address="Endertplatz 2, 56812 Cochem",
            salutation=f"Guten Tag {name},",
        )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_writer(count: int, chunk_size: int, directory: Path) -> dict[str, Any]:
    pdf, manifest = directory / "batch.pdf", directory / "batch.csv"
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    with LetterPdfWriter(pdf, chunk_size=chunk_size) as writer:
        # Both files are written as the letters come: nothing in memory grows with the batch.
        rows = (ManifestRow.for_letter(c, writer.add(c)) for c in synthetic_letters(count))
        write_manifest(manifest, rows)
    seconds = time.perf_counter() - started
    return {
        "mode": "writer",
        "letters": count,
        "chunk_size": chunk_size,
        "wall_s": round(seconds, 2),
        "letters_per_s": round(count / seconds, 1),
        "peak_rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "pdf_mib": round(pdf.stat().st_size / 2**20, 2),
        "pdf_kib_per_letter": round(pdf.stat().st_size / 1024 / count, 2),
        "manifest_kib": round(manifest.stat().st_size / 1024, 1),
    }


def run_single_canvas(count: int, directory: Path) -> dict[str, Any]:
    """The naive way, for contrast: one Canvas, every page kept until save()."""
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    with (directory / "naive.pdf").open("wb") as handle:
        canvas = new_canvas(handle)
        for content in synthetic_letters(count):
            draw_letter(canvas, content)
        canvas.save()
    seconds = time.perf_counter() - started
    return {
        "mode": "single_canvas",
        "letters": count,
        "wall_s": round(seconds, 2),
        "letters_per_s": round(count / seconds, 1),
        "peak_rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def child(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        if args.mode == "writer":
            result = run_writer(args.letters, args.chunk_size, Path(directory))
        else:
            result = run_single_canvas(args.letters, Path(directory))
    print(json.dumps(result))


def measure(mode: str, letters: int, chunk_size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--letters", str(letters)]
    command += ["--chunk-size", str(chunk_size)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--child", dest="mode", choices=("writer", "single_canvas"))
    args = parser.parse_args()
    if args.mode:
        child(args)
        return
    batch = measure("writer", args.letters, args.chunk_size)
    memory = [measure("writer", n, args.chunk_size) for n in (1_000, 5_000)]
    memory += [measure("single_canvas", n, args.chunk_size) for n in (1_000, 5_000)]
    report = {
        "benchmark": "letters_export",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "target_letters_per_s": 200,
        "batch": batch,
        "memory": memory,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "letters_export.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
