"""How much does augmentation cost next to the training step it feeds?

Times, interleaved in one run (so that both see the same machine state), the median over many
repetitions of: one SGD step of a 784-512-256-10 MLP on a batch of 128 float32 images; the
Augmenter with affine warps only; the Augmenter with affine warps and elastic distortion.
Prints a Markdown table. Run it on an idle machine: python benchmarks/bench_augment.py
(on a busy one, threaded OpenBLAS calls stall for whole time slices and the GEMM-based rows
explode; OPENBLAS_NUM_THREADS=1 gives steadier, if pessimistic, numbers there).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import scratchnet
from scratchnet.data.augment import Augmenter


def mnist_like(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 784) float32 in [0, 1]: ink (about a fifth of the pixels) in the central 20x20 box."""
    images = np.zeros((n, 28, 28), dtype=np.float32)
    box = rng.random((n, 20, 20), dtype=np.float32)
    images[:, 4:24, 4:24] = np.where(box < 0.4, box * 2.5, 0.0)
    return images.reshape(n, 784)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300, help="timed repetitions (300)")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    batch_size = args.batch_size
    x = mnist_like(batch_size, rng)
    labels = rng.integers(0, 10, batch_size)

    model = scratchnet.nn.mlp(784, [512, 256], 10, seed=0)
    loss = scratchnet.nn.SoftmaxCrossEntropy()
    optimizer = scratchnet.optim.SGD(0.05, 0.9)

    def train_step() -> None:
        logits = model.forward(x, training=True)
        _, grad = loss(logits, labels)
        model.backward(grad)
        optimizer.step(model)

    affine = Augmenter(seed=1)
    elastic = Augmenter(seed=2, elastic_alpha=34.0, elastic_sigma=4.0)
    tasks = {
        "SGD step, MLP 784-512-256-10": train_step,
        "Augmenter, affine only": lambda: affine(x),
        "Augmenter, affine + elastic (alpha=34, sigma=4)": lambda: elastic(x),
    }
    for task in tasks.values():  # warm up caches, BLAS threads and the optimiser's state
        for _ in range(20):
            task()
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(args.repeats):
        for name, task in tasks.items():
            started = time.perf_counter()
            task()
            times[name].append(time.perf_counter() - started)

    medians = {name: 1e3 * float(np.median(values)) for name, values in times.items()}
    step = medians["SGD step, MLP 784-512-256-10"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"batch {batch_size} float32, median of {args.repeats} interleaved repetitions, "
        f"{os.cpu_count()} CPUs, load average {load:.2f}, NumPy {np.__version__}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n"
    )
    print("| what | ms per batch | / training step |")
    print("|---|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value:.3f} | {value / step:.2f}x |")


if __name__ == "__main__":
    main()
