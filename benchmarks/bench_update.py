"""The optimiser's update against a plain copy of the same bytes, and blocked against whole-array.

An update step must at least read every parameter, gradient and state array once and write the
parameters and state once (plain SGD: 3 arrays' worth of bytes; momentum and RMSprop: 5; Adam:
7). The floor is therefore a memory copy moving as many bytes: np.copyto of half that many
bytes reads and writes them all. This times each optimiser's step on the 784-1024-1024-10 and
784-512-256-10 networks' parameters, block by block as the engine runs it
(scratchnet.optim.optimizer.BLOCK) and on whole arrays (one pass per operation), with the copy,
all interleaved round by round in one process (best of --rounds).

    PYTHONPATH=src python benchmarks/bench_update.py --out benchmarks/results

Writes speed-update-<cpu model>.md under --out (and prints it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if importlib.util.find_spec("scratchnet") is None:  # a source checkout, not installed
    sys.path.insert(0, str(HERE.parent / "src"))

from bench_speed import cpu_model, machine_slug  # noqa: E402

import scratchnet  # noqa: E402
import scratchnet.optim.optimizer as optimizer_module  # noqa: E402
from scratchnet.fileio import atomic_write  # noqa: E402
from scratchnet.optim import SGD, Adam, AdamW, RMSprop  # noqa: E402

# (name, constructor, arrays an update must move: read p, g and state, write p and state)
OPTIMIZERS = (
    ("SGD", lambda: SGD(0.1), 3),
    ("SGD, weight decay 5e-4", lambda: SGD(0.1, weight_decay=5e-4), 3),
    (
        "Nesterov SGD 0.9, weight decay 5e-4 (scratchnet train's default)",
        lambda: SGD(0.05, 0.9, nesterov=True, weight_decay=5e-4),
        5,
    ),
    ("RMSprop", lambda: RMSprop(1e-3), 5),
    ("Adam", lambda: Adam(1e-3), 7),
    ("AdamW, weight decay 1e-2", lambda: AdamW(1e-3), 7),
)
NETWORKS = {"784-1024-1024-10": (1024, 1024), "784-512-256-10": (512, 256)}


def measure(hidden: tuple[int, ...], rounds: int) -> list[dict]:
    """Best seconds per step of each optimiser, blocked and whole-array, and of the copy."""
    rng = np.random.default_rng(0)
    model = scratchnet.nn.mlp(784, hidden, 10, seed=0)
    for _, _, _, grad in model.parameters():
        grad[...] = rng.standard_normal(grad.shape) * 1e-2
    n_bytes = sum(param.nbytes for _, _, param, _ in model.parameters())
    rows = []
    for name, make, arrays in OPTIMIZERS:
        optimizers = {"blocked": make(), "whole": make()}
        source = np.ones(arrays * n_bytes // 2 // 4, dtype=np.float32)
        target = np.empty_like(source)
        best = {"blocked": np.inf, "whole": np.inf, "copy": np.inf}
        block = optimizer_module.BLOCK
        for _ in range(rounds):
            for kind, optimizer in optimizers.items():
                optimizer_module.BLOCK = block if kind == "blocked" else 1 << 40
                try:
                    started = time.perf_counter()
                    optimizer.step(model)
                    best[kind] = min(best[kind], time.perf_counter() - started)
                finally:
                    optimizer_module.BLOCK = block
            started = time.perf_counter()
            np.copyto(target, source)
            best["copy"] = min(best["copy"], time.perf_counter() - started)
        rows.append({"optimizer": name, "bytes": arrays * n_bytes, **best})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for speed-update-<cpu>.md")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    lines = [
        "# The optimiser's update against a copy of the same bytes",
        "",
        f"Made by `python benchmarks/bench_update.py` on {dt.datetime.now():%Y-%m-%d %H:%M}, "
        f"{cpu_model()}, NumPy {np.__version__}. Milliseconds per step, best of {args.rounds} "
        "rounds, the three alternating; bandwidth = the bytes an update must move (read "
        "parameters, gradients and state, write parameters and state) per second. Load "
        f"average (1 min) at the start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.",
        "",
    ]
    for network, hidden in NETWORKS.items():
        rows = measure(hidden, args.rounds)
        lines += [
            f"## {network}",
            "",
            "| update | MB moved | copy ms | blocked ms | blocked / copy bandwidth | "
            "whole-array ms | whole-array / copy |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['optimizer']} | {row['bytes'] / 1e6:.1f} | {row['copy'] * 1e3:.2f} | "
                f"{row['blocked'] * 1e3:.2f} | {row['copy'] / row['blocked']:.2f} | "
                f"{row['whole'] * 1e3:.2f} | {row['copy'] / row['whole']:.2f} |"
            )
        lines.append("")
    text = "\n".join(lines)
    if args.out:
        with atomic_write(Path(args.out) / f"speed-update-{machine_slug()}.md", "w") as handle:
            handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
