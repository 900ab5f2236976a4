"""scratchnet against PyTorch, scikit-learn and the user's notebook: training speed, time to
97%/98% test accuracy, inference throughput and peak memory on MNIST, in one interleaved run,
under each OpenBLAS kernel the CPU can run.

    .venv/bin/python benchmarks/bench_speed.py --out benchmarks/results
    PYTHONPATH=src python3 benchmarks/bench_speed.py --quick     # a few minutes, any machine

Each (kernel, implementation, case, thread count, seed) trains in a fresh process
(speed_workers.py), so peak RSS is per run, and NumPy's OpenBLAS is pinned per process with
OPENBLAS_CORETYPE: the machine's own choice, then Haswell, SkylakeX and Zen where the CPU has
the instructions (/proc/cpuinfo flags; SkylakeX needs AVX-512 and dies with SIGILL without it)
and where OpenBLAS does not map the name onto a kernel already measured (Zen runs Haswell's).
Repetitions are interleaved: seed 0 runs every implementation, then seed 1 runs them all again
in a rotated order, and so on, so slow drift of the machine touches every implementation alike.
Before starting it waits for the 1-minute load average to fall below --max-load; during each
run it measures the CPU time other processes used and reruns a run that shared the machine (up
to --retries times). PyTorch and scikit-learn are optional: an implementation that is not
installed is skipped and the report says so. Writes speed-<cpu model>.md (the tables) and
speed-<cpu model>.json (every epoch of every run) to --out: one pair per machine.
`--summary` reads every speed-*.json there and prints the ranges over machines and kernels
that the README quotes.

Needs NumPy and threadpoolctl; PyTorch and scikit-learn when installed. Runs from a source
checkout (PYTHONPATH=src) without installing scratchnet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if importlib.util.find_spec("scratchnet") is None:  # a source checkout, not installed
    sys.path.insert(0, str(HERE.parent / "src"))

from profile_epoch import markdown as profile_markdown  # noqa: E402
from speed_workers import CASES, FAST_RECIPE  # noqa: E402

from scratchnet import resources  # noqa: E402
from scratchnet.fileio import atomic_write  # noqa: E402

IMPLEMENTATIONS = {
    "scratchnet": ("scratchnet", None),
    "scratchnet-reference": ("scratchnet, reference arithmetic (SCRATCHNET_FUSED_BLAS=0)", None),
    "scratchnet-tuned": ("scratchnet, layouts chosen by measurement (--autotune)", None),
    "scratchnet-fast": ("scratchnet, fast recipe", None),
    "torch": ("PyTorch eager", "torch"),
    "sklearn": ("scikit-learn MLPClassifier", "sklearn"),
    "notebook": ("the notebook's code (float64)", None),
}
TARGETS = (0.97, 0.98)

# OpenBLAS kernels to compare ("own": OPENBLAS_CORETYPE unset, the kernel OpenBLAS picks) and
# the /proc/cpuinfo flags each needs.
KERNELS = ("own", "Haswell", "SkylakeX", "Zen")
KERNEL_FLAGS = {
    "Haswell": {"avx2", "fma"},
    "Zen": {"avx2", "fma"},
    "SkylakeX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
}
# --quick: one seed, few epochs, the comparisons the targets need (a few minutes per kernel).
QUICK_EPOCHS = {"small": 3, "wide": 3, "adam": 6}
QUICK_IMPLEMENTATIONS = {
    "small": ("scratchnet", "torch", "sklearn"),
    "wide": ("scratchnet", "scratchnet-reference", "scratchnet-tuned", "torch"),
    "adam": ("torch", "scratchnet-fast"),
}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform's guess elsewhere)."""
    return resources.cpu_model(platform.processor() or platform.machine() or "unknown CPU")


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo; None where there is no such file."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def machine_slug(model: str | None = None, family: str | None = None) -> str:
    """A file-name-safe form of the CPU model: 'AMD EPYC 7B13' -> 'amd-epyc-7b13'. A name
    without a model number, as virtual machines often show ('AMD EPYC'), gets the CPU's family
    and model numbers ('amd-epyc-25-1'): one such name covers several generations."""
    model = model or cpu_model()
    text = re.sub(r"\((r|tm)\)|\bcpu\b|@.*$", "", model.lower())
    if not re.search(r"\d", text):
        text += " " + (family if family is not None else cpu_family())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown-cpu"


def cpu_family() -> str:
    """'25 1' for /proc/cpuinfo's "cpu family : 25" and "model : 1"; '' where unknown."""
    found: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("cpu family", "model") and key.strip() not in found:
                    found[key.strip()] = value.strip()
                if not line.strip() and found:
                    break
    except OSError:
        pass
    return " ".join(found.get(key, "") for key in ("cpu family", "model")).strip()


def worker_env(kernel: str) -> dict[str, str]:
    """The environment of a worker on `kernel`: OPENBLAS_CORETYPE set, or unset for "own"
    (some machines pin an older kernel with it and OPENBLAS_L2_SIZE; both are dropped)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    if kernel != "own":
        env["OPENBLAS_CORETYPE"] = kernel
    # Workers import the same scratchnet as this process (a source checkout's src/ included,
    # whatever the working directory).
    package = Path(importlib.util.find_spec("scratchnet").origin).resolve().parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package.parent), env.get("PYTHONPATH")]))
    return env


_PROBE = (
    "import numpy as np\n"
    "from threadpoolctl import threadpool_info\n"
    "a = np.ones((64, 64), np.float32); a @ a\n"
    "print(next((i.get('architecture') for i in threadpool_info() if i.get('user_api') == "
    "'blas'), None))"
)


def probe_kernel(kernel: str) -> tuple[str | None, str]:
    """(the kernel OpenBLAS reports under this setting, '') or (None, why it cannot run)."""
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=120,
            env=worker_env(kernel),
        )
    except subprocess.TimeoutExpired:
        return None, "the probe did not finish"
    if completed.returncode != 0:
        reason = f"exit status {completed.returncode}"
        if completed.returncode in (-4, 132):
            reason = "SIGILL: the CPU lacks its instructions"
        return None, reason
    return completed.stdout.strip().splitlines()[-1], ""


def plan_kernels(requested: list[str], log) -> tuple[list[tuple[str, str]], list[str]]:
    """The kernels to measure as (OPENBLAS_CORETYPE or "own", the kernel OpenBLAS reports),
    and a note for each one skipped (missing CPU flags, a crash, a duplicate)."""
    flags = cpu_flags()
    kernels: list[tuple[str, str]] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    for kernel in requested:
        needed = KERNEL_FLAGS.get(kernel, set())
        if kernel != "own" and flags is not None and not needed <= flags:
            missing = ", ".join(sorted(needed - flags))
            notes.append(f"{kernel}: skipped, this CPU lacks {missing}")
            continue
        architecture, why = probe_kernel(kernel)
        if architecture is None:
            notes.append(f"{kernel}: skipped ({why})")
            continue
        if architecture in seen:
            notes.append(
                f"{kernel}: skipped, OpenBLAS runs the same kernel as {seen[architecture]} "
                f"here ({architecture})"
            )
            continue
        seen[architecture] = kernel if kernel != "own" else f"the machine's own ({architecture})"
        kernels.append((kernel, architecture))
        log(f"kernel {kernel}: OpenBLAS reports {architecture}")
    return kernels, notes


def busy_seconds() -> float:
    """CPU seconds spent by every process on the machine so far (from /proc/stat)."""
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(max_load: float, tries: int, log) -> float:
    """Sleep (60 s at a time, `tries` times at most) until the 1-minute load is <= max_load."""
    load = os.getloadavg()[0]
    for attempt in range(tries):
        if load <= max_load:
            break
        log(f"load {load:.2f} > {max_load}: waiting 60 s ({attempt + 1}/{tries})")
        time.sleep(60)
        load = os.getloadavg()[0]
    return load


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one worker process; return its JSON result plus how busy the machine was."""
    busy0, children0, wall0 = busy_seconds(), children_seconds(), time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(HERE / "speed_workers.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE.parent,
        env=worker_env(spec.get("kernel", "own")),
    )
    wall = time.perf_counter() - wall0
    foreign = (busy_seconds() - busy0) - (children_seconds() - children0)
    if completed.returncode != 0:
        raise RuntimeError(
            f"worker {spec} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["foreign_cpu_cores"] = max(foreign, 0.0) / wall
    return result


def run_profile(case: str, threads: int, data_dir: str | None, kernel: str) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "profile_epoch.py"), "--case", case, "--json"]
    command += ["--threads", str(threads)]
    if data_dir:
        command += ["--data-dir", data_dir]
    completed = subprocess.run(
        command, capture_output=True, text=True, check=True, env=worker_env(kernel)
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- statistics and the report ---------------------------------------------------------------


def epoch_stats(
    runs: list[dict[str, Any]], key: str = "epoch_seconds"
) -> tuple[float, float, float]:
    """Median, min and max seconds per epoch over every run, leaving out each run's first
    epoch (it pays for first-touch page faults and thread start-up) when there are others."""
    times = []
    for run in runs:
        seconds = run[key]
        times.extend(seconds[1:] if len(seconds) > 1 else seconds)
    return statistics.median(times), min(times), max(times)


def time_to(run: dict[str, Any], target: float) -> float | None:
    """Training seconds until the first epoch whose test accuracy is >= target."""
    elapsed = 0.0
    for seconds, accuracy in zip(run["epoch_seconds"], run["test_accuracy"], strict=True):
        elapsed += seconds
        if accuracy >= target:
            return elapsed
    return None


def time_to_text(runs: list[dict[str, Any]], target: float) -> tuple[str, float | None]:
    times = [time_to(run, target) for run in runs]
    reached = [t for t in times if t is not None]
    if not reached:
        best = max(max(run["test_accuracy"]) for run in runs)
        return f"not in {runs[0]['epochs']} epochs (best {100 * best:.2f}%)", None
    median = statistics.median(reached)
    text = f"{median:.1f} s"
    if len(reached) < len(times):
        text += f" ({len(reached)}/{len(times)} seeds)"
    epochs = [
        next(i for i, a in enumerate(run["test_accuracy"], 1) if a >= target)
        for run in runs
        if time_to(run, target) is not None
    ]
    text += f", epoch {statistics.median(epochs):g}"
    return text, median


def fmt_rate(value: float) -> str:
    return f"{value / 1e3:,.0f}k" if value >= 1e4 else f"{value:,.0f}"


def case_table(case_name: str, results: list[dict[str, Any]]) -> tuple[list[str], dict]:
    """The Markdown table for one case and the numbers the target checks need."""
    case = CASES[case_name]
    lines = [
        "| implementation | threads | s/epoch median (min-max) | x scratchnet | CPU s/epoch | "
        f"time to {int(100 * TARGETS[0])}% | time to {int(100 * TARGETS[1])}% | "
        "final test acc. | infer. img/s batch 1 | batch 1000 | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault((result["impl"], result["threads_used"]), []).append(result)
    reference = {
        threads: epoch_stats(runs)[0]
        for (impl, threads), runs in groups.items()
        if impl == "scratchnet"
    }
    numbers: dict[str, Any] = {}
    order = list(IMPLEMENTATIONS)
    for (impl, threads), runs in sorted(
        groups.items(), key=lambda item: (-item[0][1], order.index(item[0][0]))
    ):
        median, low, high = epoch_stats(runs)
        ratio = median / reference[threads] if threads in reference else float("nan")
        cpu = f"{epoch_stats(runs, 'epoch_cpu_seconds')[0]:.3f}" if threads == 1 else "-"
        to_97, _ = time_to_text(runs, TARGETS[0])
        to_98, seconds_98 = time_to_text(runs, TARGETS[1])
        final = statistics.median(run["test_accuracy"][-1] for run in runs)
        batch_1 = statistics.median(run["inference"]["batch_1"] for run in runs)
        batch_1000 = statistics.median(run["inference"]["batch_1000"] for run in runs)
        rss = max(run["peak_rss_mb"] for run in runs)
        name = IMPLEMENTATIONS[impl][0]
        if impl == "notebook" and case.notebook:
            name += f" ({case.notebook}, lr {case.notebook_learning_rate:g} on summed gradients)"
        if impl == "scratchnet-fast":
            name += " (Nesterov SGD, cosine over 6 epochs, no dropout)"
        lines.append(
            f"| {name} | {threads} | {median:.3f} ({low:.3f}-{high:.3f}) | {ratio:.2f} | {cpu} "
            f"| {to_97} "
            f"| {to_98} | {100 * final:.2f}% | {fmt_rate(batch_1)} | {fmt_rate(batch_1000)} "
            f"| {rss:.0f} MB |"
        )
        numbers[f"{impl}@{threads}"] = {
            "median": median,
            "cpu": epoch_stats(runs, "epoch_cpu_seconds")[0],
            "time_to_98": seconds_98,
            "peak_rss_mb": rss,
        }
    return lines, numbers


def target_ratios(numbers: dict[str, dict], profiles: dict[str, dict], threads: int) -> dict:
    """The issue's targets as measured ratios (None where not measured), at `threads` threads."""

    def ratio(case: str, mine: str, theirs: str, key: str = "median") -> float | None:
        a = numbers.get(case, {}).get(f"{mine}@{threads}")
        b = numbers.get(case, {}).get(f"{theirs}@{threads}")
        if not a or not b or a.get(key) is None or b.get(key) is None:
            return None
        return a[key] / b[key]

    out = {
        "small_vs_torch": ratio("small", "scratchnet", "torch"),
        "wide_vs_torch": ratio("wide", "scratchnet", "torch"),
        "wide_vs_reference": ratio("wide", "scratchnet", "scratchnet-reference"),
        "wide_tuned_vs_default": ratio("wide", "scratchnet-tuned", "scratchnet"),
        "fast_98_vs_torch_adam": ratio("adam", "scratchnet-fast", "torch", "time_to_98"),
        "wide_matmul_vs_best": None,
        "wide_epoch_vs_matmul": None,
    }
    profile = profiles.get(f"wide@{threads}")
    if profile and profile.get("best_gflops"):
        out["wide_matmul_vs_best"] = profile["matmul_gflops"] / profile["best_gflops"]
        # The products and the epoch they are part of, timed together: a plain epoch timed
        # apart differs by this shared machine's drift (up to 10% from epoch to epoch here).
        # The instrumented epoch also pays the timers' overhead, so the ratio errs high.
        out["wide_epoch_vs_matmul"] = profile["instrumented_epoch"] / profile["matmul"]
    return out


# (key, what is compared, limit); the matmul rate must reach its limit, the rest stay under.
TARGETS_18 = (
    ("wide_vs_torch", "784-1024-1024-10, plain SGD, batch 128: scratchnet / PyTorch s/epoch", 0.9),
    ("small_vs_torch", "784-100-10, plain SGD, batch 100: scratchnet / PyTorch s/epoch", 0.6),
    ("fast_98_vs_torch_adam", "time to 98%: scratchnet's fast recipe / PyTorch's Adam", 0.5),
    (
        "wide_matmul_vs_best",
        "784-1024-1024-10: matrix products' rate in training / the rate of each product's "
        "fastest formulation timed alone",
        0.9,
    ),
    ("wide_epoch_vs_matmul", "784-1024-1024-10: epoch / its matrix products' time", 1.15),
)


def target_lines(ratios: dict[str, float | None], numbers: dict[str, dict], threads: int) -> list:
    """The issue's targets, each with the measured ratio and whether it is met."""
    lines = ["| target (issue 18) | limit | measured | met |", "|---|---|---|---|"]
    for key, words, limit in TARGETS_18:
        value = ratios.get(key)
        at_least = key == "wide_matmul_vs_best"
        bound = f"{'>=' if at_least else '<='} {limit:g}"
        if value is None:
            lines.append(f"| {words} | {bound} | not measured | - |")
            continue
        met = value >= limit if at_least else value <= limit
        lines.append(f"| {words} | {bound} | {value:.2f}x | {'yes' if met else 'NO'} |")
    gain = ratios.get("wide_vs_reference")
    if gain is not None:
        lines.append(
            f"| 784-1024-1024-10: default (fused SGD step) / reference arithmetic | - | "
            f"{gain:.2f}x | - |"
        )
    tuned = ratios.get("wide_tuned_vs_default")
    if tuned is not None:
        lines.append(
            f"| 784-1024-1024-10: layouts chosen by measurement (--autotune) / default | - | "
            f"{tuned:.2f}x | - |"
        )
    rss = [
        entry["peak_rss_mb"]
        for case in numbers.values()
        for key, entry in case.items()
        if key.startswith("scratchnet")
    ]
    if rss:
        peak = max(rss)
        lines.append(
            f"| peak RSS of a scratchnet training process | 450 MB | {peak:.0f} MB | "
            f"{'yes' if peak <= 450 else 'NO'} |"
        )
    return lines


def machine_description() -> str:
    return f"{cpu_model()}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def kernel_section(kernel: str, architecture: str, results: list, profiles: dict, meta: dict):
    """The Markdown for one OpenBLAS kernel: every case's table, the targets, the profiles;
    and the target ratios."""
    title = "the machine's own choice" if kernel == "own" else f"OPENBLAS_CORETYPE={kernel}"
    lines = [f"## OpenBLAS kernel {architecture} ({title})", ""]
    blas = {}
    for result in results:
        blas.setdefault(
            result["impl"], result["blas"].replace(f"{result['threads_used']} threads", "N threads")
        )
    lines.append(
        "BLAS per implementation: "
        + "; ".join(f"{impl}: {text}" for impl, text in sorted(blas.items()))
        + "."
    )
    lines.append("")
    numbers: dict[str, dict] = {}
    for case_name, case in CASES.items():
        case_results = [r for r in results if r["case"] == case_name]
        if not case_results:
            continue
        lines.append(f"### {case.title}")
        lines.append("")
        table, numbers[case_name] = case_table(case_name, case_results)
        lines.extend(table)
        layouts = sorted(
            {
                " ".join(c for c in r.get("layouts", []) if c)
                for r in case_results
                if r["impl"] == "scratchnet"
            }
        )
        if layouts and any(layouts):
            lines.append("")
            lines.append(
                "scratchnet's layouts (weight, output, input gradient per Dense layer; C "
                "row-major, F column-major): " + "; ".join(layouts) + "."
            )
        lines.append("")
        if case_name == "adam":
            lines.append(
                "scratchnet, fast recipe: the network and optimiser of `scratchnet train`'s "
                "defaults (784-512-256-10, Nesterov SGD 0.05, momentum 0.9, weight decay 5e-4, "
                f"batch 128) with the cosine schedule compressed to {FAST_RECIPE['epochs']} "
                "epochs; its time to 98% is the race against PyTorch's Adam recipe."
            )
            lines.append("")
    ratios = target_ratios(numbers, profiles, meta["threads"])
    lines.append(f"### Targets ({meta['threads']} BLAS threads)")
    lines.append("")
    lines.extend(target_lines(ratios, numbers, meta["threads"]))
    lines.append("")
    for key, profile in profiles.items():
        case_name, threads = key.split("@")
        lines.append(
            f"### Where a scratchnet epoch goes: {CASES[case_name].title}, {threads} thread(s)"
        )
        lines.append("")
        lines.append(profile_markdown(profile))
        lines.append("")
    return lines, ratios


def write_report(out: Path, command: str, meta: dict, runs: dict) -> str:
    """speed-<cpu model>.md: the run's conditions, then one section per OpenBLAS kernel."""
    import numpy

    lines = [
        f"# Training speed on MNIST on {meta['cpu_model']}: scratchnet, PyTorch, scikit-learn "
        "and the notebook",
        "",
        f"Made by `{command}` on {meta['date']}.",
        "",
        f"- Machine: {meta['machine']}; NumPy {numpy.__version__}; {meta['torch']}.",
        f"- Load average (1 min) at the start {meta['load_start']:.2f}, at the end "
        f"{meta['load_end']:.2f}; other processes used at most "
        f"{meta['max_foreign']:.2f} cores during any run (median "
        f"{meta['median_foreign']:.2f}).",
        "- OpenBLAS kernels measured: "
        + ", ".join(f"{arch} ({kernel})" for kernel, arch in meta["kernels"])
        + (". Not measured: " + "; ".join(meta["kernel_notes"]) if meta["kernel_notes"] else "")
        + ". PyTorch uses its own MKL whatever the kernel: its rows repeat under each so that "
        "every ratio compares runs made minutes apart.",
        f"- Seeds: {meta['seeds']}, interleaved (each seed runs every implementation, in a "
        "rotated order)"
        + (f"; epochs {meta['epochs']}" if meta.get("epochs") else "")
        + ". Every run is a fresh process; s/epoch is the median over all seeds "
        "and epochs except each run's first (min-max over the same epochs); times to an "
        "accuracy include the first epoch and count training time only (the test set is "
        "scored between epochs with the clock stopped), median over the seeds that reached it.",
        "- Same data (60,000 training images / 255, float32 for all but the notebook), "
        "architecture, batch size, epochs and thread count; each library's own default "
        "initialisation. Inference: predicted labels for test images, best of several passes. "
        "Peak RSS: ru_maxrss of the run's process (data, library and training together).",
        "",
    ]
    if meta.get("skipped"):
        lines.append(f"Skipped (not installed): {', '.join(meta['skipped'])}.")
        lines.append("")
    for kernel, architecture in meta["kernels"]:
        run = runs[kernel]
        section, _ = kernel_section(kernel, architecture, run["results"], run["profiles"], meta)
        lines.extend(section)
    text = "\n".join(lines)
    with atomic_write(out / f"speed-{meta['slug']}.md", "w") as handle:
        handle.write(text)
    return text


def summary(folder: Path) -> str:
    """The ranges of the target ratios over every machine and kernel in folder/speed-*.json."""
    rows: dict[str, list[tuple[float, str]]] = {key: [] for key, *_ in TARGETS_18}
    rows["wide_vs_reference"] = []
    rows["wide_tuned_vs_default"] = []
    machines = []
    for path in sorted(folder.glob("speed-*.json")):
        data = json.loads(path.read_text())
        meta = data["meta"]
        if "kernels" not in meta:
            continue
        names = []
        for kernel, architecture in meta["kernels"]:
            ratios = data["runs"][kernel]["ratios"]
            names.append(architecture)
            for key, value in ratios.items():
                if value is not None and key in rows:
                    rows[key].append((value, f"{meta['cpu_model']}, {architecture}"))
        machines.append(
            f"{meta['cpu_model']} ({meta['threads']} BLAS threads; kernels "
            f"{', '.join(names)}; {meta['date']})"
        )
    lines = [
        "| target (issue 18) | limit | measured: range over machines and kernels | met on all |",
        "|---|---|---|---|",
    ]
    words = {key: (text, limit) for key, text, limit in TARGETS_18}
    words["wide_vs_reference"] = ("784-1024-1024-10: fused SGD step / reference arithmetic", None)
    words["wide_tuned_vs_default"] = ("784-1024-1024-10: --autotune / default layouts", None)
    for key, values in rows.items():
        text, limit = words[key]
        at_least = key == "wide_matmul_vs_best"
        bound = "-" if limit is None else f"{'>=' if at_least else '<='} {limit:g}"
        if not values:
            lines.append(f"| {text} | {bound} | not measured | - |")
            continue
        low, high = min(v for v, _ in values), max(v for v, _ in values)
        if limit is None:
            met = "-"
        elif key == "wide_matmul_vs_best":
            met = "yes" if low >= limit else "NO"
        else:
            met = "yes" if high <= limit else "NO"
        span = f"{low:.2f}x" if len(values) == 1 else f"{low:.2f}-{high:.2f}x"
        runs = f"{len(values)} run{'s' if len(values) > 1 else ''}"
        lines.append(f"| {text} | {bound} | {span} ({runs}) | {met} |")
    lines.append("")
    lines.append("Machines: " + "; ".join(machines) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: scratchnet's)")
    parser.add_argument("--cases", default=None, help="comma-separated cases (default: all)")
    parser.add_argument("--seeds", type=int, default=None, help="repetitions per run (3)")
    parser.add_argument("--epochs", type=int, default=None, help="override every case's epochs")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="BLAS threads for every run (all)"
    )
    parser.add_argument(
        "--kernels",
        default=",".join(KERNELS),
        help="OpenBLAS kernels (OPENBLAS_CORETYPE values; 'own': unset) [default: %(default)s]",
    )
    parser.add_argument(
        "--single-thread-cases",
        default=None,
        help="cases also run with 1 thread (all implementations for small, scratchnet and "
        "PyTorch for the others) [default: small,wide; none with --quick]",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one seed, 3/2/6 epochs of small/wide/adam, only the runs the targets compare "
        "(a few minutes)",
    )
    parser.add_argument("--max-load", type=float, default=None, help="[default: cores * 0.6]")
    parser.add_argument("--wait-tries", type=int, default=None)
    parser.add_argument(
        "--max-foreign", type=float, default=0.25, help="rerun a run if others used more cores"
    )
    parser.add_argument("--retries", type=int, default=None)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print the README's ranges from every speed-*.json in --out, and stop",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.summary:
        print(summary(out))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    seeds = args.seeds or (1 if quick else 3)
    cases = [c.strip() for c in (args.cases or ",".join(CASES)).split(",") if c.strip()]
    if quick and args.cases is None:
        cases = list(QUICK_EPOCHS)
    for name in cases:
        if name not in CASES:
            parser.error(f"unknown case {name!r}; choose from {', '.join(CASES)}")
    single_text = args.single_thread_cases
    if single_text is None:
        single_text = "" if quick else "small,wide"
    single = {name.strip() for name in single_text.split(",") if name.strip()}
    max_load = args.max_load if args.max_load is not None else 0.6 * (os.cpu_count() or 1)
    wait_tries = args.wait_tries if args.wait_tries is not None else (1 if quick else 5)
    retries = args.retries if args.retries is not None else (1 if quick else 2)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    available = {
        impl: module is None or importlib.util.find_spec(module) is not None
        for impl, (_, module) in IMPLEMENTATIONS.items()
    }
    skipped = sorted(IMPLEMENTATIONS[impl][0] for impl, ok in available.items() if not ok)
    plan: list[tuple[str, str, int]] = []
    for name in cases:
        case = CASES[name]
        impls = list(case.implementations)
        if name in ("small", "wide"):
            impls.insert(1, "scratchnet-reference")
        if name == "wide":
            impls.insert(2, "scratchnet-tuned")
        if quick:
            impls = [impl for impl in impls if impl in QUICK_IMPLEMENTATIONS.get(name, impls)]
        for impl in impls:
            if available[impl]:
                plan.append((name, impl, args.threads))
        if name in single and args.threads != 1:
            for impl in impls:
                if available[impl] and (name == "small" or impl in ("scratchnet", "torch")):
                    plan.append((name, impl, 1))

    requested = [k.strip() for k in args.kernels.split(",") if k.strip()]
    kernels, kernel_notes = plan_kernels(requested, log)
    if not kernels:
        log("no OpenBLAS kernel could run: " + "; ".join(kernel_notes))
        return 1
    for note in kernel_notes:
        log(note)

    load_start = wait_for_quiet(max_load, wait_tries, log)
    log(f"load {load_start:.2f}; {len(kernels)} kernel(s) x {len(plan)} runs x {seeds} seed(s)")
    runs: dict[str, dict[str, Any]] = {}
    foreign: list[float] = []
    for kernel, architecture in kernels:
        results: list[dict[str, Any]] = []
        for seed in range(seeds):
            for name in cases:
                entries = [entry for entry in plan if entry[0] == name]
                shift = seed % max(len(entries), 1)
                for case_name, impl, threads in entries[shift:] + entries[:shift]:
                    epochs = args.epochs or (QUICK_EPOCHS.get(case_name) if quick else None)
                    spec = {
                        "impl": impl,
                        "case": case_name,
                        "threads": threads,
                        "seed": seed,
                        "epochs": epochs,
                        "data_dir": args.data_dir,
                        "kernel": kernel,
                    }
                    for attempt in range(retries + 1):
                        result = run_worker(spec, timeout=3600)
                        busy = result["foreign_cpu_cores"]
                        if busy <= args.max_foreign or attempt == retries:
                            break
                        log(f"  others used {busy:.2f} cores during {impl}/{case_name}: rerunning")
                        wait_for_quiet(max_load, 1, log)
                    result["attempts"] = attempt + 1
                    results.append(result)
                    foreign.append(busy)
                    median = statistics.median(result["epoch_seconds"])
                    log(
                        f"{architecture} seed {seed} {case_name:6s} {impl:20s} {threads}t: "
                        f"{median:.3f} s/epoch, acc {result['test_accuracy'][-1]:.4f}, "
                        f"others {busy:.2f} cores"
                    )
        profiles: dict[str, dict] = {}
        if not args.no_profile:
            from scratchnet.threads import choose_threads

            for name in [c for c in cases if c in ("small", "wide")] if quick else cases:
                case = CASES[name]
                chosen = choose_threads([784, *case.hidden, 10], case.batch_size)
                counts = {args.threads} if quick else {args.threads, chosen}
                for threads in sorted(counts, reverse=True):
                    log(f"{architecture}: profiling {name} with {threads} thread(s)")
                    profiles[f"{name}@{threads}"] = run_profile(
                        name, threads, args.data_dir, kernel
                    )
        runs[kernel] = {"architecture": architecture, "results": results, "profiles": profiles}

    torch_text = "PyTorch not installed"
    for run in runs.values():
        for result in run["results"]:
            if result["impl"] == "torch":
                torch_text = result["blas"].split(",")[0] + ", " + result["blas"].split(", ")[-1]
    meta = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine_description(),
        "cpu_model": cpu_model(),
        "slug": machine_slug(),
        "torch": torch_text,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "max_foreign": max(foreign or [0.0]),
        "median_foreign": statistics.median(foreign or [0.0]),
        "kernels": kernels,
        "kernel_notes": kernel_notes,
        "seeds": seeds,
        "epochs": args.epochs or (QUICK_EPOCHS if quick else None),
        "threads": args.threads,
        "quick": quick,
        "skipped": skipped,
    }
    for kernel, architecture in kernels:
        run = runs[kernel]
        _, run["ratios"] = kernel_section(
            kernel, architecture, run["results"], run["profiles"], meta
        )
    with atomic_write(out / f"speed-{meta['slug']}.json", "w") as handle:
        json.dump({"meta": meta, "runs": runs}, handle, indent=1)
    command = "python benchmarks/bench_speed.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = write_report(out, command.strip(), meta, runs)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
