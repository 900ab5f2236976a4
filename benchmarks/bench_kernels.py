"""The small kernels of a training step, each against the plainer form it replaced.

Times, side by side in one run, the pieces whose faster form the engine uses: the bias gradient
(np.sum over the batch against ones @ grad_z, a BLAS matrix-vector product), the softmax
cross-entropy (a row-major log-softmax reference against scratchnet's class-major
SoftmaxCrossEntropy), the batch gathering (one np.take per batch against one per chunk of
about 2 MB, as MiniBatches does) and the shuffled batches of an epoch drawn from float32
features against 8-bit images scaled chunk by chunk (MiniBatches(scale=1/255), what fit's
x_scale and `scratchnet train` use), and whole 784-100-10 training epochs both ways. Each pair
alternates, best of several repeats (the epochs: the median of five).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_kernels.py \
        --out benchmarks/results

Writes kernels.md under --out (and prints it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from scratchnet.data.batches import CHUNK_BYTES, MiniBatches
from scratchnet.data.features import PIXEL_SCALE, images_to_features
from scratchnet.fileio import atomic_write
from scratchnet.nn import SoftmaxCrossEntropy, mlp
from scratchnet.optim import SGD
from scratchnet.threads import blas_threads
from scratchnet.train import fit


def best_of(function, calls: int, repeats: int = 7) -> float:
    """Microseconds per call, the best of `repeats` runs of `calls` calls."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def row_major_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """The plain form: log-softmax along each row, then (softmax - one_hot) / batch."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(logits.shape[0])
    value = -float(log_probs[rows, labels].sum(dtype=np.float64)) / logits.shape[0]
    grad = np.exp(log_probs)
    grad[rows, labels] -= 1
    grad /= logits.shape[0]
    return value, grad


def pairs(rng: np.random.Generator) -> list[tuple[str, str, object, str, object]]:
    """(what, plain form, its call, engine form, its call)."""
    out = []
    for batch, width in ((100, 100), (100, 10), (128, 1024)):
        grad = rng.standard_normal((batch, width)).astype(np.float32)
        bias = np.empty(width, np.float32)
        ones = np.ones(batch, np.float32)
        out.append(
            (
                f"bias gradient of a ({batch}, {width}) grad_z",
                "np.sum(axis=0)",
                lambda g=grad, b=bias: np.sum(g, axis=0, out=b),
                "ones @ grad_z",
                lambda g=grad, b=bias, o=ones: np.matmul(o, g, out=b),
            )
        )
    loss = SoftmaxCrossEntropy()
    for batch in (100, 128):
        logits = rng.standard_normal((batch, 10)).astype(np.float32)
        labels = rng.integers(0, 10, batch)
        out.append(
            (
                f"softmax cross-entropy and gradient, ({batch}, 10) logits",
                "row-major log-softmax",
                lambda z=logits, y=labels: row_major_cross_entropy(z, y),
                "SoftmaxCrossEntropy (class-major)",
                lambda z=logits, y=labels: loss(z, y),
            )
        )
    x = rng.random((60_000, 784), dtype=np.float32)
    order = rng.permutation(60_000)
    batch = 100
    chunk = max(1, CHUNK_BYTES // (x[:1].nbytes * batch)) * batch
    buffer = np.empty((chunk, 784), np.float32)

    def per_batch():
        for start in range(0, 60_000, batch):
            np.take(x, order[start : start + batch], axis=0, out=buffer[:batch], mode="clip")

    def per_chunk():
        for start in range(0, 60_000, chunk):
            index = order[start : start + chunk]
            np.take(x, index, axis=0, out=buffer[: index.size], mode="clip")

    out.append(
        (
            "gathering one shuffled epoch of (60000, 784) float32, batch 100",
            "np.take per batch",
            per_batch,
            f"np.take per chunk of {chunk} rows",
            per_chunk,
        )
    )
    pixels = rng.integers(0, 256, (60_000, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, 60_000)
    as_floats = MiniBatches(images_to_features(pixels), labels, batch, rng=rng)
    as_bytes = MiniBatches(pixels, labels, batch, rng=rng, scale=PIXEL_SCALE)

    def epoch(batches: MiniBatches) -> None:
        for _ in batches.epoch(order):
            pass

    out.append(
        (
            "the shuffled batches of one epoch of (60000, 784) images, batch 100",
            "MiniBatches of float32 features",
            lambda: epoch(as_floats),
            "MiniBatches of uint8, scale=1/255",
            lambda: epoch(as_bytes),
        )
    )
    return out


def training_epochs(rng: np.random.Generator, rounds: int = 5) -> tuple[float, float]:
    """Seconds per fit epoch of 784-100-10 (plain SGD 0.1, batch 100) on float32 features and
    on the same images kept 8-bit (x_scale=1/255): one epoch of each in turn, in alternating
    order, the median of `rounds` after a warm-up round. The images are MNIST-like noise
    (60,000 of 28 x 28, four pixels in five blank)."""
    pixels = rng.integers(1, 256, (60_000, 784), dtype=np.uint8)
    pixels[rng.random(pixels.shape) < 0.8] = 0
    labels = rng.integers(0, 10, 60_000)
    forms = [(images_to_features(pixels), None), (pixels, PIXEL_SCALE)]
    runs = [(mlp(784, [100], 10, seed=0), SGD(0.1)) for _ in forms]
    loss = SoftmaxCrossEntropy()
    seconds: list[list[float]] = [[], []]
    for round_ in range(rounds + 1):
        for k in (0, 1) if round_ % 2 == 0 else (1, 0):
            (x, x_scale), (model, optimizer) = forms[k], runs[k]
            history = fit(
                model,
                loss,
                optimizer,
                (x, labels),
                epochs=1,
                batch_size=100,
                seed=round_,
                x_scale=x_scale,
            )
            if round_:  # round 0 warms up buffers and caches
                seconds[k].append(history.rows[0]["seconds"])
    return statistics.median(seconds[0]), statistics.median(seconds[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--out", default=None, help="folder for kernels.md")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = [
        "# Kernels of a training step: the plain form against the engine's",
        "",
        "Made by `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python "
        f"benchmarks/bench_kernels.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
        f"on {dt.datetime.now():%Y-%m-%d %H:%M}, NumPy {np.__version__}. Microseconds per "
        "call, best of 7 repeats, the two forms alternating.",
        "",
        "| kernel | plain form | us | engine's form | us | engine / plain |",
        "|---|---|---|---|---|---|",
    ]
    with blas_threads(args.threads), np.errstate(all="ignore"):
        for what, plain_name, plain, engine_name, engine in pairs(rng):
            calls = 3 if "epoch" in what else 2000
            times = {"plain": [], "engine": []}
            for _ in range(2):  # alternate the two forms
                times["plain"].append(best_of(plain, calls))
                times["engine"].append(best_of(engine, calls))
            plain_us, engine_us = min(times["plain"]), min(times["engine"])
            lines.append(
                f"| {what} | {plain_name} | {plain_us:,.1f} | {engine_name} | {engine_us:,.1f} "
                f"| {engine_us / plain_us:.2f} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
        as_floats, as_bytes = training_epochs(rng)
        lines.append(
            "| a 784-100-10 training epoch (fit, SGD 0.1, batch 100; median of 5, alternating) "
            f"| float32 features | {as_floats * 1e6:,.0f} | uint8, x_scale=1/255 | "
            f"{as_bytes * 1e6:,.0f} | {as_bytes / as_floats:.2f} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with atomic_write(Path(args.out) / "kernels.md", "w") as handle:
            handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
