"""How long the tutorials in notebooks/ take to run top to bottom, as the test suite runs them.

    SCRATCHNET_DATA=/path/to/data python benchmarks/bench_notebooks.py    # about a minute idle

Each notebook runs with nbclient in a kernel on this Python, with SCRATCHNET_QUICK=1 (subsets,
fewer epochs), once with one BLAS thread (what tests/test_notebooks.py uses) and once with the
BLAS library's default, so the two can be compared side by side in the same run. The goal is
all five together well under 5 minutes on a 2-core machine. Writes
benchmarks/results/notebooks.md with the CPU, the BLAS kernel and the load average.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scratchnet.fileio import atomic_write  # noqa: E402
from scratchnet.resources import cpu_model  # noqa: E402


def machine() -> str:
    model = cpu_model(platform.processor() or platform.machine())
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:
        blas = "threadpoolctl not installed"
    return f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}; {blas}"


def run_notebook(path: Path, kernel: str, threads: str | None) -> float:
    import nbclient
    import nbformat

    if threads is None:
        os.environ.pop("OPENBLAS_NUM_THREADS", None)
    else:
        os.environ["OPENBLAS_NUM_THREADS"] = threads
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as work:
        client = nbclient.NotebookClient(
            notebook, kernel_name=kernel, timeout=600, resources={"metadata": {"path": work}}
        )
        started = time.perf_counter()
        client.execute()
        return time.perf_counter() - started


def main() -> None:
    os.environ["SCRATCHNET_QUICK"] = "1"
    with tempfile.TemporaryDirectory() as jupyter:
        spec = Path(jupyter) / "kernels" / "bench"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec.joinpath("kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
        os.environ["JUPYTER_PATH"] = jupyter
        load = os.getloadavg()[0]
        rows = []
        for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
            one = run_notebook(path, "bench", "1")
            default = run_notebook(path, "bench", None)
            rows.append((path.stem, one, default))
            print(f"{path.stem}: {one:.1f} s (1 BLAS thread), {default:.1f} s (default)")
    total_one, total_default = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = [
        "# The tutorials, top to bottom with SCRATCHNET_QUICK=1",
        "",
        f"Made by `python benchmarks/bench_notebooks.py` on {time.strftime('%Y-%m-%d %H:%M')}.",
        f"Machine: {machine()}. Load average (1 min) at the start: {load:.2f}.",
        "",
        "| notebook | 1 BLAS thread (the tests) | default threads | ratio |",
        "|---|---|---|---|",
        *[
            f"| {name} | {one:.1f} s | {dflt:.1f} s | {dflt / one:.2f}x |"
            for name, one, dflt in rows
        ],
        f"| all | {total_one:.1f} s | {total_default:.1f} s | {total_default / total_one:.2f}x |",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "notebooks.md"
    with atomic_write(out, "w") as handle:
        handle.write("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
