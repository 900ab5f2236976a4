"""Where one scratchnet training epoch goes: matrix products against everything else, per layer.

Runs fit's inner loop (gather a batch, forward, accuracy count, fused loss, backward, optimiser
step) for one epoch of MNIST with a timer around each layer's forward and backward, each matrix
product inside them, the loss, the optimiser and the batch gathering. Timers cost about 0.1 us
each; the un-instrumented epoch is timed too, so the overhead is visible.

    python benchmarks/profile_epoch.py --case small --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import types
from collections import defaultdict
from typing import Any

import numpy as np

import scratchnet
import scratchnet.nn.dense as dense_module
from scratchnet.nn import autotune, blas
from scratchnet.threads import blas_threads


class _Timed(types.ModuleType):
    """A module (numpy, nn/blas.py) whose function `timed` (matmul, gemm) adds its time to the
    layer running now, as a matrix product; everything else is the module's own."""

    def __init__(self, module: types.ModuleType, timed: str, profile: _Profile) -> None:
        super().__init__(module.__name__)
        self._module = module
        function = getattr(module, timed)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            out = function(*args, **kwargs)
            profile.add(f"{profile.current}.matmul", time.perf_counter() - started)
            return out

        setattr(self, timed, wrapper)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class _Profile:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.current = ""

    def add(self, key: str, seconds: float) -> None:
        self.seconds[key] += seconds

    def wrap(self, layer: Any, index: int) -> None:
        forward, backward = layer.forward, layer.backward
        profile = self

        def timed_forward(x: np.ndarray, *, training: bool = False) -> np.ndarray:
            profile.current = f"{index}.forward"
            started = time.perf_counter()
            out = forward(x, training=training)
            profile.add(f"{index}.forward", time.perf_counter() - started)
            return out

        def timed_backward(grad: np.ndarray, *, need_grad_in: bool = True) -> Any:
            profile.current = f"{index}.backward"
            started = time.perf_counter()
            out = backward(grad, need_grad_in=need_grad_in)
            profile.add(f"{index}.backward", time.perf_counter() - started)
            return out

        backward_update = layer.backward_update

        def timed_backward_update(grad: np.ndarray, **kwargs: Any) -> Any:
            profile.current = f"{index}.backward"
            started = time.perf_counter()
            out = backward_update(grad, **kwargs)
            profile.add(f"{index}.backward", time.perf_counter() - started)
            return out

        layer.forward, layer.backward = timed_forward, timed_backward
        layer.backward_update = timed_backward_update


def _epoch(model, loss, optimizer, batches, profile: _Profile | None) -> float:
    """fit's inner loop for one epoch; returns its wall time."""
    clock = time.perf_counter
    started = clock()
    iterator = batches.epoch()
    while True:
        t0 = clock()
        try:
            x_batch, label_batch = next(iterator)
        except StopIteration:
            break
        t1 = clock()
        logits = model.forward(x_batch, training=True)
        t2 = clock()
        int(np.count_nonzero(logits.argmax(axis=1) == label_batch))
        t3 = clock()
        value, grad = loss(logits, label_batch)
        if not math.isfinite(value):
            raise FloatingPointError("the loss diverged")
        t4 = clock()
        # As fit does: a plain SGD step folded into the backward products where it can be.
        applied = model.backward(grad, update=optimizer.fused_coefficients())
        t5 = clock()
        optimizer.step(model, applied=applied)
        t6 = clock()
        if profile is not None:
            profile.add("batches", t1 - t0)
            profile.add("accuracy count", t3 - t2)
            profile.add("loss", t4 - t3)
            profile.add("optimizer", t6 - t5)
            profile.add("forward", t2 - t1)
            profile.add("backward", t5 - t4)
    return clock() - started


def profile_epoch(
    hidden: tuple[int, ...],
    batch_size: int,
    optimizer_name: str,
    learning_rate: float,
    dropout: float,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    x_scale: float | None = None,
) -> dict[str, Any]:
    """Time one plain epoch, then one instrumented epoch; return rows for a report.

    x_scale: x holds 8-bit pixels, scaled as each chunk is gathered (as fit(x_scale=) and
    `scratchnet train` do); None: x holds the float features.
    """
    from scratchnet.data.batches import MiniBatches

    def build():
        model = scratchnet.nn.mlp(784, hidden, 10, dropout=dropout, seed=seed)
        if optimizer_name == "sgd":
            optimizer = scratchnet.optim.SGD(learning_rate)
        else:
            optimizer = scratchnet.optim.Adam(learning_rate)
        batches = MiniBatches(x, labels, batch_size, rng=np.random.default_rng(seed), scale=x_scale)
        return model, scratchnet.nn.SoftmaxCrossEntropy(), optimizer, batches

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        model, loss, optimizer, batches = build()
        _epoch(model, loss, optimizer, batches, None)  # warm-up
        plain = _epoch(model, loss, optimizer, batches, None)

        model, loss, optimizer, batches = build()
        _epoch(model, loss, optimizer, batches, None)  # warm-up
        profile = _Profile()
        for index, layer in enumerate(model.layers):
            profile.wrap(layer, index)
        dense_module.np = _Timed(np, "matmul", profile)
        dense_module.blas = _Timed(blas, "gemm", profile)
        try:
            instrumented = _epoch(model, loss, optimizer, batches, profile)
        finally:
            dense_module.np = np
            dense_module.blas = blas
    seconds = profile.seconds
    layers = []
    for index, layer in enumerate(model.layers):
        forward = seconds.get(f"{index}.forward", 0.0)
        backward = seconds.get(f"{index}.backward", 0.0)
        forward_matmul = seconds.get(f"{index}.forward.matmul", 0.0)
        backward_matmul = seconds.get(f"{index}.backward.matmul", 0.0)
        layers.append(
            {
                "layer": repr(layer),
                "forward_matmul": forward_matmul,
                "forward_other": forward - forward_matmul,
                "backward_matmul": backward_matmul,
                "backward_other": backward - backward_matmul,
            }
        )
    matmul = sum(row["forward_matmul"] + row["backward_matmul"] for row in layers)
    flops = 0.0
    sizes = [784, *hidden, 10]
    n = x.shape[0]
    for position, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        products = 3 if position > 0 else 2  # forward, weight gradient, input gradient
        flops += products * 2.0 * n * a * b
    best = best_formulation_seconds(sizes, batch_size)
    steps = math.ceil(n / batch_size)
    return {
        "plain_epoch": plain,
        "instrumented_epoch": instrumented,
        "layers": layers,
        "layouts": autotune.layouts(model),
        "matmul": matmul,
        "matmul_gflops": flops / matmul / 1e9 if matmul else 0.0,
        "best_matmul": best * steps,
        "best_gflops": flops / (best * steps) / 1e9 if best else 0.0,
        "other": {
            key: seconds.get(key, 0.0) for key in ("batches", "accuracy count", "loss", "optimizer")
        },
        "loop": instrumented
        - seconds.get("forward", 0.0)
        - seconds.get("backward", 0.0)
        - sum(seconds.get(key, 0.0) for key in ("batches", "accuracy count", "loss", "optimizer")),
    }


def best_formulation_seconds(sizes: list[int], batch_size: int) -> float:
    """Seconds per step of every layer's products, each in its fastest formulation here.

    For each layer, each product (forward, weight gradient and, above the first layer, input
    gradient) is timed in every weight, output and input order (nn/autotune.py's candidates,
    for both input orders) and the fastest counts: the rate no choice of layouts can beat.
    """
    total = 0.0
    for position, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        seconds = [
            times
            for x_order in "CF"
            for times in autotune.measure_products(
                n_in, n_out, batch_size, np.float32, x_order
            ).values()
        ]
        wanted = 3 if position > 0 else 2
        total += sum(min(times[i] for times in seconds) for i in range(wanted))
    return total


def markdown(result: dict[str, Any]) -> str:
    """The profile as a Markdown table (milliseconds per epoch and share of the epoch)."""
    total = result["instrumented_epoch"]

    def cell(seconds: float) -> str:
        return f"{seconds * 1e3:.0f} ms ({100 * seconds / total:.0f}%)"

    lines = [
        "| part | matmul | everything else |",
        "|---|---|---|",
    ]
    for row in result["layers"]:
        lines.append(
            f"| {row['layer']} forward | {cell(row['forward_matmul'])} | "
            f"{cell(row['forward_other'])} |"
        )
        lines.append(
            f"| {row['layer']} backward | {cell(row['backward_matmul'])} | "
            f"{cell(row['backward_other'])} |"
        )
    for key, seconds in result["other"].items():
        lines.append(f"| {key} | | {cell(seconds)} |")
    lines.append(f"| fit's loop itself | | {cell(result['loop'])} |")
    other = total - result["matmul"]
    lines.append(f"| **total** | **{cell(result['matmul'])}** | **{cell(other)}** |")
    lines.append("")
    lines.append(
        f"Instrumented epoch {total:.3f} s ({total / result['matmul']:.2f}x its own matrix "
        f"products), plain epoch {result['plain_epoch']:.3f} s (another epoch, so this "
        f"machine's drift between the two shows); the matrix "
        f"products ran at {result['matmul_gflops']:.0f} GFLOP/s, "
        f"{result['matmul_gflops'] / result['best_gflops']:.0%} of the "
        f"{result['best_gflops']:.0f} GFLOP/s of each product's fastest formulation timed "
        f"alone. Layouts (weight, output, input gradient; nn/autotune.py): "
        + ", ".join(code for code in result["layouts"] if code)
        + "."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from speed_workers import CASES, load_mnist

    from scratchnet.data.features import PIXEL_SCALE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=tuple(CASES), default="small")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: auto)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument(
        "--no-autotune", action="store_true", help="keep the reference matrix layouts"
    )
    args = parser.parse_args(argv)
    autotune.set_enabled(not args.no_autotune)
    case = CASES[args.case]
    threads = args.threads
    if threads is None:
        from scratchnet.threads import choose_threads

        threads = choose_threads([784, *case.hidden, 10], case.batch_size)
    x_train, y_train, _, _ = load_mnist(args.data_dir)
    with blas_threads(threads):
        result = profile_epoch(
            case.hidden,
            case.batch_size,
            case.optimizer,
            case.learning_rate,
            case.dropout,
            x_train.reshape(x_train.shape[0], -1),
            y_train,
            x_scale=PIXEL_SCALE,
        )
    result.update(case=args.case, threads=threads)
    print(json.dumps(result) if args.json else markdown(result))


if __name__ == "__main__":
    main()
