"""Start-up: wall seconds until `scratchnet --help` and an argument error answer (issue 14's
target: under 0.3 s), the median of REPEATS fresh processes each, with `python -c pass` (the
interpreter alone) and `import numpy` beside them as references measured in the same run.

    .venv/bin/python benchmarks/bench_startup.py --out benchmarks/results

Writes startup.md under --out (and prints it). A few seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 0.3
COMMANDS = {
    "python -c pass (reference)": [sys.executable, "-c", "pass"],
    "python -c 'import numpy' (reference)": [sys.executable, "-c", "import numpy"],
    "scratchnet --help": [sys.executable, "-m", "scratchnet", "--help"],
    "scratchnet --version": [sys.executable, "-m", "scratchnet", "--version"],
    "scratchnet train --help": [sys.executable, "-m", "scratchnet", "train", "--help"],
    "scratchnet train --hidden 8x0 (exit 2)": [
        sys.executable,
        "-m",
        "scratchnet",
        "train",
        "--hidden",
        "8x0",
    ],
    "scratchnet predict --top 0 m x (exit 2)": [
        sys.executable,
        "-m",
        "scratchnet",
        "predict",
        "--top",
        "0",
        "m",
        "x",
    ],
    "scratchnet bogus (exit 2)": [sys.executable, "-m", "scratchnet", "bogus"],
}


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=None, help="folder for startup.md")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = []
    for name, command in COMMANDS.items():
        seconds(command)  # warm the file cache
        times = sorted(seconds(command) for _ in range(args.repeats))
        median = statistics.median(times)
        verdict = "" if "reference" in name else ("met" if median < TARGET else "NOT met")
        rows.append(f"| {name} | {median:.3f} | {times[0]:.3f} | {verdict} |")
    text = "\n".join(
        [
            "# Start-up",
            "",
            f"Median and fastest wall seconds of {args.repeats} fresh processes each; target "
            f"under {TARGET} s. One-minute load average at the start: {load:.2f}"
            + (" (NOT idle)" if load > 0.5 else " (idle)")
            + ".",
            "",
            "| command | median s | fastest s | target |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(text)
    if args.out:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        from scratchnet.fileio import atomic_write

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "startup.md", "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
