"""BLAS threads and batch gathering: seconds per MNIST epoch of scratchnet's fit, per setting.

The measurements behind scratchnet.threads.SINGLE_THREAD_MAX_FLOPS (when a second BLAS thread
pays) and behind gathering batches serially by default (scratchnet.data.batches: when copying
them in a background thread, gather="ahead", pays). For each network, every setting trains its
own copy one epoch at a time, interleaved in one process (round r runs every setting once, in
a rotated order), so a machine whose speed drifts over minutes affects them all alike; the
first round is a warm-up. fit trains from the 8-bit images (x_scale=1/255), as `scratchnet
train` does.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_threads.py \
        --data-dir /path/to/data --out benchmarks/results

Writes threads.md under --out (and prints it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
from pathlib import Path

import numpy as np
from speed_workers import load_mnist

import scratchnet
from scratchnet.data.features import PIXEL_SCALE
from scratchnet.fileio import atomic_write
from scratchnet.threads import blas_threads, cpu_count

# (hidden widths, batch size): from a step dominated by Python's per-call costs to a wide one.
CASES = [((16,), 4), ((30,), 10), ((50,), 32), ((100,), 32), ((100,), 100), ((512, 256), 128)]


def settings(cores: int) -> list[tuple[int, str]]:
    counts = sorted({1, cores})
    return [(threads, gather) for threads in counts for gather in ("serial", "ahead")]


def measure(hidden, batch_size, x, labels, rounds: int, cores: int) -> dict[tuple, list[float]]:
    runs = settings(cores)
    models = {run: scratchnet.nn.mlp(784, hidden, 10, seed=0) for run in runs}
    optimizers = {run: scratchnet.optim.SGD(0.1) for run in runs}
    loss = scratchnet.nn.SoftmaxCrossEntropy()
    seconds: dict[tuple, list[float]] = {run: [] for run in runs}
    for round_ in range(rounds + 1):
        shift = round_ % len(runs)
        for run in runs[shift:] + runs[:shift]:
            threads, gather = run
            with blas_threads(threads):
                history = scratchnet.train.fit(
                    models[run],
                    loss,
                    optimizers[run],
                    (x, labels),
                    epochs=1,
                    batch_size=batch_size,
                    seed=round_,
                    gather=gather,
                    x_scale=PIXEL_SCALE,
                )
            if round_:  # round 0 warms up buffers and caches
                seconds[run].append(history.rows[0]["seconds"])
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", default=None, help="folder for threads.md")
    args = parser.parse_args(argv)

    images, labels, _, _ = load_mnist(args.data_dir)
    x = images.reshape(images.shape[0], -1)  # 8-bit, scaled batch by batch
    cores = cpu_count()
    lines = [
        "# BLAS threads and batch gathering",
        "",
        "Made by `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python "
        f"benchmarks/bench_threads.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
        f"on {dt.datetime.now():%Y-%m-%d %H:%M}, {cores} CPUs, NumPy {np.__version__}.",
        "",
        "Seconds per MNIST epoch (60,000 images, kept 8-bit and scaled per batch; plain SGD), "
        "median of "
        f"{args.rounds} interleaved epochs; in brackets, against {cores} BLAS thread(s) "
        "gathering serially.",
        "",
        "| network | batch | largest product | "
        + " | ".join(f"{t} thread{'s' if t > 1 else ''}, {g}" for t, g in settings(cores))
        + " |",
        "|---|---|---|" + "---|" * len(settings(cores)),
    ]
    for hidden, batch_size in CASES:
        seconds = measure(hidden, batch_size, x, labels, args.rounds, cores)
        medians = {run: statistics.median(values) for run, values in seconds.items()}
        base = medians[(cores, "serial")]
        sizes = [784, *hidden, 10]
        largest = 2 * batch_size * max(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        cells = [f"{medians[run]:.3f} ({medians[run] / base:.2f})" for run in settings(cores)]
        network = "-".join(map(str, sizes))
        lines.append(
            f"| {network} | {batch_size} | {largest / 1e6:.2f} MFLOP | " + " | ".join(cells) + " |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with atomic_write(Path(args.out) / "threads.md", "w") as handle:
            handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
