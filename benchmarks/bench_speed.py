"""scratchnet against PyTorch, scikit-learn and the user's notebook: training speed, time to
97%/98% test accuracy, inference throughput and peak memory on MNIST, in one interleaved run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        .venv/bin/python benchmarks/bench_speed.py --out benchmarks/results

(Some machines here pin OpenBLAS to an older kernel with those two variables; the command
unsets both for the benchmark only, and the report names the kernel each run used.)

Each (implementation, case, thread count, seed) trains in a fresh process (speed_workers.py),
so peak RSS is per run. Repetitions are interleaved: seed 0 runs every implementation, then
seed 1 runs them all again in a rotated order, and so on, so slow drift of the machine touches
every implementation alike. Before starting it waits for the 1-minute load average to fall
below --max-load; during each run it measures the CPU time other processes used and reruns a
run that shared the machine (up to --retries times). PyTorch and scikit-learn are optional:
an implementation that is not installed is skipped and the report says so. Writes
speed.md (the tables) and speed.json (every epoch of every run) to --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scratchnet.fileio import atomic_write

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from profile_epoch import markdown as profile_markdown  # noqa: E402
from speed_workers import CASES, FAST_RECIPE  # noqa: E402

IMPLEMENTATIONS = {
    "scratchnet": ("scratchnet", None),
    "scratchnet-fast": ("scratchnet, fast recipe", None),
    "torch": ("PyTorch eager", "torch"),
    "sklearn": ("scikit-learn MLPClassifier", "sklearn"),
    "notebook": ("the notebook's code (float64)", None),
}
TARGETS = (0.97, 0.98)


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


def run_profile(case: str, threads: int, data_dir: str | None) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "profile_epoch.py"), "--case", case, "--json"]
    command += ["--threads", str(threads)]
    if data_dir:
        command += ["--data-dir", data_dir]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
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


def target_lines(numbers: dict[str, dict], threads: int) -> list[str]:
    """The issue's targets, each with the measured ratio and whether it is met."""

    def ratio(case: str, impl: str, at: int, key: str = "median") -> float | None:
        mine, theirs = (
            numbers.get(case, {}).get(f"scratchnet@{at}"),
            numbers.get(case, {}).get(f"{impl}@{at}"),
        )
        if not mine or not theirs or mine.get(key) is None or theirs.get(key) is None:
            return None
        return mine[key] / theirs[key]

    lines = ["| target | measured | met |", "|---|---|---|"]

    def add(text: str, value: float | None, limit: float) -> None:
        if value is None:
            lines.append(f"| {text} | not measured | - |")
        else:
            lines.append(f"| {text} | {value:.2f}x | {'yes' if value <= limit else 'NO'} |")

    for at in sorted({int(key.split("@")[1]) for key in numbers.get("small", {})}, reverse=True):
        add(
            f"784-100-10: scratchnet / PyTorch s/epoch <= 0.75 ({at} BLAS thread(s))",
            ratio("small", "torch", at),
            0.75,
        )
        add(
            f"784-100-10: scratchnet / scikit-learn s/epoch <= 0.55 ({at} BLAS thread(s))",
            ratio("small", "sklearn", at),
            0.55,
        )
        if at == 1:
            add(
                "784-100-10: the same two ratios in CPU time (1 thread: robust to other work)",
                None,
                0.75,
            )
            lines[-1] = (
                "| 784-100-10, CPU time per epoch at 1 thread (robust to other work): "
                "scratchnet / PyTorch <= 0.75, scratchnet / scikit-learn <= 0.55 | "
                f"{_fmt(ratio('small', 'torch', 1, 'cpu'))}, "
                f"{_fmt(ratio('small', 'sklearn', 1, 'cpu'))} | "
                f"{_met(ratio('small', 'torch', 1, 'cpu'), 0.75)}, "
                f"{_met(ratio('small', 'sklearn', 1, 'cpu'), 0.55)} |"
            )
    add(
        f"784-1024-1024-10: scratchnet / PyTorch s/epoch <= 1.0 ({threads} BLAS thread(s))",
        ratio("wide", "torch", threads),
        1.0,
    )
    fast = numbers.get("adam", {}).get(f"scratchnet-fast@{threads}")
    torch = numbers.get("adam", {}).get(f"torch@{threads}")
    value = None
    if fast and torch and fast["time_to_98"] and torch["time_to_98"]:
        value = fast["time_to_98"] / torch["time_to_98"]
    add("time to 98%: scratchnet's fast recipe / PyTorch's Adam recipe <= 0.7", value, 0.7)
    rss = [
        entry["peak_rss_mb"]
        for case in numbers.values()
        for key, entry in case.items()
        if key.startswith("scratchnet")
    ]
    if rss:
        peak = max(rss)
        lines.append(
            f"| peak RSS of a scratchnet training process <= 450 MB | {peak:.0f} MB | "
            f"{'yes' if peak <= 450 else 'NO'} |"
        )
    return lines


def _fmt(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.2f}x"


def _met(value: float | None, limit: float) -> str:
    return "-" if value is None else ("yes" if value <= limit else "NO")


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def write_report(out: Path, command: str, meta: dict, results: list, profiles: dict) -> str:
    import numpy

    lines = [
        "# Training speed on MNIST: scratchnet, PyTorch, scikit-learn and the notebook",
        "",
        f"Made by `{command}` on {meta['date']}.",
        "",
        f"- Machine: {meta['machine']}; NumPy {numpy.__version__}.",
        f"- Load average (1 min) at the start {meta['load_start']:.2f}, at the end "
        f"{meta['load_end']:.2f}; other processes used at most "
        f"{meta['max_foreign']:.2f} cores during any run (median "
        f"{meta['median_foreign']:.2f}).",
        f"- OPENBLAS_CORETYPE={meta['coretype']}; BLAS per implementation: "
        + "; ".join(f"{impl}: {blas}" for impl, blas in sorted(meta["blas"].items()))
        + ".",
        f"- Seeds: {meta['seeds']}, interleaved (each seed runs every implementation, in a "
        "rotated order). Every run is a fresh process; s/epoch is the median over all seeds "
        "and epochs except each run's first (min-max over the same epochs); times to an "
        "accuracy include the first epoch and count training time only (the test set is "
        "scored between epochs with the clock stopped), median over the seeds that reached it.",
        "- Same data (60,000 training images / 255, float32 for all but the notebook), "
        "architecture, batch size, epochs and thread count; each library's own default "
        "initialisation. "
        "Inference: predicted labels for test images, best of several passes. "
        "Peak RSS: ru_maxrss of the run's process (data, library and training together).",
        "",
    ]
    numbers: dict[str, dict] = {}
    for case_name, case in CASES.items():
        case_results = [r for r in results if r["case"] == case_name]
        if not case_results:
            continue
        lines.append(f"## {case.title}")
        lines.append("")
        table, numbers[case_name] = case_table(case_name, case_results)
        lines.extend(table)
        lines.append("")
        if case_name == "adam":
            lines.append(
                "scratchnet, fast recipe: the network and optimiser of `scratchnet train`'s "
                "defaults (784-512-256-10, Nesterov SGD 0.05, momentum 0.9, weight decay 5e-4, "
                f"batch 128) with the cosine schedule compressed to {FAST_RECIPE['epochs']} "
                "epochs; its time to 98% is the race against PyTorch's Adam recipe."
            )
            lines.append("")
    lines.append("## Targets (issue 5)")
    lines.append("")
    lines.extend(target_lines(numbers, meta["threads"]))
    lines.append("")
    skipped = meta.get("skipped")
    if skipped:
        lines.append(f"Skipped (not installed): {', '.join(skipped)}.")
        lines.append("")
    if profiles:
        lines.append("## Where a scratchnet epoch goes")
        lines.append("")
        lines.append(
            "One epoch of fit's loop with a timer around every layer's forward and backward and "
            "every matrix product inside them (benchmarks/profile_epoch.py)."
        )
        lines.append("")
        for key, profile in profiles.items():
            case_name, threads = key.split("@")
            lines.append(f"### {CASES[case_name].title}, {threads} BLAS thread(s)")
            lines.append("")
            lines.append(profile_markdown(profile))
            lines.append("")
    text = "\n".join(lines)
    with atomic_write(out / "speed.md", "w") as handle:
        handle.write(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: scratchnet's)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--seeds", type=int, default=3, help="repetitions per run (3)")
    parser.add_argument("--epochs", type=int, default=None, help="override every case's epochs")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="BLAS threads for every run (all)"
    )
    parser.add_argument(
        "--single-thread-cases",
        default="small,wide",
        help="cases also run with 1 thread (all implementations for small, scratchnet and "
        "PyTorch for the others)",
    )
    parser.add_argument("--max-load", type=float, default=1.2)
    parser.add_argument("--wait-tries", type=int, default=5)
    parser.add_argument(
        "--max-foreign", type=float, default=0.25, help="rerun a run if others used more cores"
    )
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    available = {
        impl: module is None or importlib.util.find_spec(module) is not None
        for impl, (_, module) in IMPLEMENTATIONS.items()
    }
    skipped = sorted(IMPLEMENTATIONS[impl][0] for impl, ok in available.items() if not ok)
    cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    single = {name.strip() for name in args.single_thread_cases.split(",") if name.strip()}
    plan: list[tuple[str, str, int]] = []
    for name in cases:
        case = CASES[name]
        for impl in case.implementations:
            if available[impl]:
                plan.append((name, impl, args.threads))
        if name in single and args.threads != 1:
            for impl in case.implementations:
                if available[impl] and (name == "small" or impl in ("scratchnet", "torch")):
                    plan.append((name, impl, 1))

    load_start = wait_for_quiet(args.max_load, args.wait_tries, log)
    log(f"load {load_start:.2f}; {len(plan)} runs x {args.seeds} seeds")
    results: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        for name in cases:
            runs = [entry for entry in plan if entry[0] == name]
            shift = seed % max(len(runs), 1)
            for case_name, impl, threads in runs[shift:] + runs[:shift]:
                spec = {
                    "impl": impl,
                    "case": case_name,
                    "threads": threads,
                    "seed": seed,
                    "epochs": args.epochs,
                    "data_dir": args.data_dir,
                }
                for attempt in range(args.retries + 1):
                    result = run_worker(spec, timeout=3600)
                    busy = result["foreign_cpu_cores"]
                    if busy <= args.max_foreign or attempt == args.retries:
                        break
                    log(f"  others used {busy:.2f} cores during {impl}/{case_name}: rerunning")
                    wait_for_quiet(args.max_load, 2, log)
                result["attempts"] = attempt + 1
                results.append(result)
                median = statistics.median(result["epoch_seconds"])
                log(
                    f"seed {seed} {case_name:6s} {impl:16s} {threads}t: {median:.3f} s/epoch, "
                    f"acc {result['test_accuracy'][-1]:.4f}, others {busy:.2f} cores"
                )

    profiles: dict[str, dict] = {}
    if not args.no_profile:
        from scratchnet.threads import choose_threads

        for name in cases:
            case = CASES[name]
            chosen = choose_threads([784, *case.hidden, 10], case.batch_size)
            for threads in sorted({args.threads, chosen}, reverse=True):
                log(f"profiling {name} with {threads} thread(s)")
                profiles[f"{name}@{threads}"] = run_profile(name, threads, args.data_dir)

    foreign = [r["foreign_cpu_cores"] for r in results] or [0.0]
    blas = {}
    for result in results:
        blas.setdefault(
            result["impl"], result["blas"].replace(f"{result['threads_used']} threads", "N threads")
        )
    meta = {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine_description(),
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "max_foreign": max(foreign),
        "median_foreign": statistics.median(foreign),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "blas": blas,
        "seeds": args.seeds,
        "threads": args.threads,
        "skipped": skipped,
    }
    with atomic_write(out / "speed.json", "w") as handle:
        json.dump({"meta": meta, "results": results, "profiles": profiles}, handle, indent=1)
    command = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python " + " ".join(
        ["benchmarks/bench_speed.py", *(argv if argv is not None else sys.argv[1:])]
    )
    if "OPENBLAS_CORETYPE" in os.environ:
        command = command.replace("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ", "")
    text = write_report(out, command, meta, results, profiles)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
