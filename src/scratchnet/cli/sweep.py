"""`scratchnet sweep`: grid or random search over any train option, in parallel, resumable.

Parameters are named as train's options are (lr, batch-size, hidden, weight-decay...) and
their values are read by the same argument types, so `hidden=256,128|512` or `lr=1e-3` mean
what they mean to train. The search itself lives in scratchnet.experiments.sweep.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
import textwrap
from pathlib import Path
from typing import Any

from ..errors import ArgumentError
from ..runs.config import TrainConfig, command_augment
from .args import data_options, training_options

ALIASES = {"lr": "learning-rate"}
BOOLEAN_FIELDS = ("nesterov", "batch_norm")
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class _ValueParser(argparse.ArgumentParser):
    """Parses one option to read one value with train's own type and checks."""

    def error(self, message: str):  # type: ignore[override]
        raise ValueError(message)


def _value_parser() -> argparse.ArgumentParser:
    parser = _ValueParser(prog="sweep", add_help=False)
    data_options(parser, dataset_default=None)
    training_options(parser)
    return parser


def sweepable() -> list[str]:
    """Names a sweep parameter can have (train's option names without the dashes)."""
    parser = _value_parser()
    names = []
    for action in parser._actions:
        if action.dest in ("preset", "data_dir", "help"):
            continue
        names += [s.lstrip("-") for s in action.option_strings if s.startswith("--")]
    return names + ["nesterov"]


def resolve(name: str) -> tuple[str, str]:
    """A parameter name as typed ('lr', 'batch-size', 'batch_size') -> (option, field)."""
    option = name.strip().lower().replace("_", "-")
    option = ALIASES.get(option, option)
    if option == "nesterov":
        return option, "nesterov"
    parser = _value_parser()
    for action in parser._actions:
        if f"--{option}" in action.option_strings and action.dest not in ("preset", "data_dir"):
            return option, action.dest
    raise ValueError(
        f"cannot sweep {name!r}: expected one of train's options: {', '.join(sweepable())}"
    )


def read_value(name: str, text: str) -> Any:
    """One value of parameter `name`, read as train reads its option (same checks)."""
    option, field = resolve(name)
    if field in BOOLEAN_FIELDS:
        word = text.strip().lower()
        if word not in TRUE + FALSE:
            raise ValueError(f"{name}: expected true or false; received {text!r}")
        value = word in TRUE
        return not value if option == "no-nesterov" else value
    namespace = _value_parser().parse_args([f"--{option}", text])
    return getattr(namespace, field)


def split_values(text: str) -> list[str]:
    """'0.1,0.01' -> ['0.1', '0.01']; with a '|' anywhere, '|' separates instead (so that
    hidden=256,128|512 is two settings of hidden)."""
    separator = "|" if "|" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def _pair(text: str) -> tuple[str, str]:
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise ValueError(f"expected NAME=VALUES (such as lr=0.1,0.01); received {text!r}")
    return name.strip(), values.strip()


def parse_grid(items: list[str]) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """['lr=0.1,0.01', 'hidden=20,50'] -> ({field: values}, {field: name as typed})."""
    space: dict[str, list[Any]] = {}
    labels: dict[str, str] = {}
    for item in items:
        name, values = _pair(item)
        _, field = resolve(name)
        if field in space:
            raise ValueError(f"{name} is given twice")
        space[field] = [read_value(name, value) for value in split_values(values)]
        labels[field] = name
    return space, labels


def parse_random(items: list[str]):
    """['20', 'lr=loguniform:1e-4:1e-1', ...] -> (20, {field: Distribution}, labels)."""
    from ..experiments.space import parse_distribution

    if not items:
        raise ValueError("--random needs a count and NAME=DISTRIBUTION pairs")
    try:
        count = int(items[0])
    except ValueError:
        raise ValueError(
            f"--random: expected the number of settings first (--random 20 lr=...); "
            f"received {items[0]!r}"
        ) from None
    if count < 1:
        raise ValueError(f"--random: expected a positive number of settings; received {count}")
    space, labels = {}, {}
    for item in items[1:]:
        name, spec = _pair(item)
        _, field = resolve(name)
        space[field] = parse_distribution(spec, lambda text, name=name: read_value(name, text))
        labels[field] = name
    if not space:
        raise ValueError("--random needs at least one NAME=DISTRIBUTION (lr=loguniform:1e-4:1e-1)")
    return count, space, labels


# -- the winner as a command ---------------------------------------------------------------
def _flag_value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(map(str, value)) or "none"
    if value is None:
        return "none"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as exactly this number
    return str(value)


def train_command(config: TrainConfig, *, data_dir: str | None = None) -> str:
    """The `scratchnet train` command that trains exactly `config` (options for every
    setting that differs from train's defaults)."""
    defaults = TrainConfig()
    words = ["scratchnet", "train"]
    for field in dataclasses.fields(TrainConfig):
        name = field.name
        if name in ("preset", "data_dir"):
            continue
        value, default = getattr(config, name), getattr(defaults, name)
        if name == "augment":
            default = command_augment(config.dataset, config.data)  # train's own default
        if value == default:
            continue
        if name == "nesterov":
            words.append("--no-nesterov")  # differs from the default True
        elif name == "batch_norm":
            words.append("--batch-norm")
        elif name == "learning_rate":
            words += ["--lr", _flag_value(value)]
        else:
            words += ["--" + name.replace("_", "-"), _flag_value(value)]
    if data_dir:
        words += ["--data-dir", str(data_dir)]
    return shlex.join(words)


# -- the command ----------------------------------------------------------------------------
MAX_TRIALS = 10_000  # trials in one sweep: at a second each, close to three hours
MAX_REPEATS = 1_000  # seeds per setting
MAX_WORKERS = 1_024  # worker processes


def add_sweep_arguments(sweep: argparse.ArgumentParser) -> None:
    from .args import bounded_int, output_path, seed_int

    sweep.description = textwrap.fill(
        "Train many settings (a grid, or random draws) in parallel worker processes, "
        "compare them on the validation split, score only the winner on the test set and "
        "print the command that retrains it. Results stream to OUT/sweep.csv and "
        "OUT/sweep.jsonl as trials finish; running the same command again after an "
        "interruption runs only the missing trials. Any train option below sets the base "
        "that every setting starts from.",
        width=79,
    )
    sweep.epilog = (
        "examples:\n"
        "  scratchnet sweep --grid lr=0.1,0.01,0.001 batch-size=10,50,100 --epochs 5\n"
        "  scratchnet sweep --random 20 lr=loguniform:1e-4:1e-1 'hidden=choice:100|256,128' "
        "dropout=uniform:0:0.5\n"
        "distributions: loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH, logint:LOW:HIGH, "
        "choice:A|B|C"
    )
    sweep.formatter_class = argparse.RawDescriptionHelpFormatter
    search = sweep.add_mutually_exclusive_group(required=True)
    search.add_argument(
        "--grid",
        nargs="+",
        metavar="NAME=V1,V2",
        help="every combination of these values (separate values by | when they hold commas, "
        "as hidden=256,128|512)",
    )
    search.add_argument(
        "--random",
        nargs="+",
        metavar="N NAME=DIST",
        help="N settings drawn from these distributions",
    )
    sweep.add_argument(
        "--repeats",
        type=bounded_int(1, MAX_REPEATS, "repeats", f"a sweep runs at most {MAX_TRIALS} trials"),
        default=1,
        metavar="K",
        help="seeds per setting [1]",
    )
    sweep.add_argument(
        "--search-seed",
        type=seed_int,
        default=0,
        metavar="S",
        help="seed of the random search's draws [0]",
    )
    sweep.add_argument(
        "--workers",
        type=bounded_int(1, MAX_WORKERS, "workers", f"more than {MAX_WORKERS} is surely a typo"),
        default=None,
        metavar="N",
        help="worker processes [the number of cores]; 1 runs the trials in this process",
    )
    sweep.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local worker processes, or a Dask cluster (with --scheduler) [local]",
    )
    sweep.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="the Dask scheduler, tcp://host:8786"
    )
    sweep.add_argument(
        "--out",
        type=output_path("--out"),
        default=Path("sweep"),
        metavar="DIR",
        help="where results, the winner's run folder and report.html go [sweep]",
    )
    sweep.add_argument(
        "--keep-models", action="store_true", help="keep every trial's model in OUT/trials"
    )
    sweep.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    data_options(sweep, dataset_default=None)
    training_options(sweep)


def _check_size(settings: int, repeats: int) -> None:
    """Refuse a sweep of more than MAX_TRIALS trials before planning it (a typo such as
    --repeats 100000000 would otherwise plan for minutes and run for years)."""
    if settings * repeats > MAX_TRIALS:
        raise ArgumentError(
            f"{settings:_} settings x {repeats:_} seeds is {settings * repeats:_} trials; a "
            f"sweep runs at most {MAX_TRIALS:_} (fewer values, a smaller --random count or "
            "fewer --repeats)"
        )


def _check_trials_memory(trials) -> None:
    """The largest trial must fit in memory (each worker process trains one at a time)."""
    from ..data.catalog import get_spec
    from ..train.memory import check_training_memory, estimate_training_bytes

    def need(config) -> int:
        spec = get_spec(config.dataset)
        return estimate_training_bytes(
            config, n_train=spec.n_train, n_test=spec.n_test, n_features=784, n_classes=10
        )

    if trials:
        largest = max(trials, key=lambda trial: need(trial.config)).config
        check_training_memory(largest)


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..experiments.executors import cpu_count, make_executor
    from ..experiments.space import grid, sample
    from ..experiments.sweep import plan_trials, run_sweep
    from ..report.tables import settings_table, text_table
    from .train import config_from_args

    if args.executor == "dask" and not args.scheduler:
        raise ArgumentError("--executor dask needs --scheduler ADDRESS")
    if args.scheduler and args.executor != "dask":
        raise ArgumentError("--scheduler is for --executor dask; add it or drop --scheduler")
    base = config_from_args(args)
    try:
        if args.grid:
            space, labels = parse_grid(args.grid)
            _check_size(math.prod(len(values) for values in space.values()), args.repeats)
            settings = grid(space)
            kind = "grid"
        else:
            count, space, labels = parse_random(args.random)
            _check_size(count, args.repeats)
            settings = sample(space, count, seed=args.search_seed)
            kind = "random"
        trials = plan_trials(base, settings, repeats=args.repeats)
    except ArgumentError:
        raise
    except ValueError as exc:
        # A bad search space is a bad argument: argparse's exit status and one line.
        raise ArgumentError(str(exc)) from None
    _check_trials_memory(trials)
    from ..data import load_dataset
    from ..runs import SweepDir
    from ..runs.workflow import load_data

    SweepDir(args.out).preflight()  # every output checked before anything is read or made
    executor = make_executor(
        args.executor,
        workers=args.workers or min(cpu_count(), len(trials)),
        scheduler=args.scheduler,
    )
    # The data are read (and checked) here, once, before the sweep's folder exists, and sent
    # to the workers: a sweep without data leaves nothing behind.
    if base.data:
        data = load_data(base)  # --data: the user's own data
    else:
        data = load_dataset(base.dataset, base.data_dir, progress=False)
    params = list(labels)

    def label(params_: dict[str, Any]) -> str:
        from ..report.tables import format_value

        return " ".join(f"{labels.get(k, k)}={format_value(v)}" for k, v in params_.items())

    def progress(record: dict[str, Any], finished: int, total: int) -> None:
        if args.quiet:
            return
        if record["val_accuracy"] is None:
            score = record["status"]
        else:
            score = f"val_acc {100 * record['val_accuracy']:6.2f}%"
        width = len(str(total))
        print(
            f"[{finished:>{width}}/{total}] {label(record['params'])} seed={record['seed']}  "
            f"{score}  {record['seconds']:.1f}s",
            flush=True,
        )

    workers = getattr(executor, "workers", None)
    if not args.quiet:
        where = f"{workers} worker process(es)" if args.executor == "local" else args.scheduler
        print(
            f"sweep ({kind}): {len(trials)} trials ({len(settings)} settings x {args.repeats} "
            f"seed(s)) on {where}; results in {args.out}",
            flush=True,
        )
    data_dir = str(args.data_dir) if args.data_dir else None
    finished_before = [0]

    def counting(record, finished, total):
        finished_before[0] = finished
        progress(record, finished, total)

    try:
        result = run_sweep(
            trials,
            args.out,
            executor=executor,
            data=data,
            on_result=counting,
            keep_models=args.keep_models,
            describe={
                "kind": kind,
                "labels": labels,
                "repeats": args.repeats,
                "base": base.to_dict(),
                "space": {k: str(v) for k, v in space.items()},
            },
            command=lambda config: train_command(config, data_dir=data_dir),
        )
    except KeyboardInterrupt:
        print(
            f"scratchnet: interrupted; {finished_before[0]} of {len(trials)} trials are saved in "
            f"{args.out / 'sweep.jsonl'}: run the same command again to do the rest",
            file=sys.stderr,
        )
        return 130
    if result.reused and not args.quiet:
        print(f"{result.reused} trial(s) were already done and were not run again")
    header, rows = settings_table(result.settings, params, labels=labels)
    print("\n" + text_table(header, rows))
    if result.winner is None:
        print("\nno trial produced a validation accuracy: every trial failed")
        return 1
    best = result.settings[0]
    print(
        f"\nbest: {label(best['params'])}: validation {100 * best['val_accuracy']['mean']:.2f}%"
        + (f" (mean of {best['n']} seeds)" if best["n"] > 1 else "")
        + f"; test accuracy {100 * result.test['accuracy']:.2f}% (seed {result.winner['seed']}, "
        "the only test evaluation of the sweep)"
    )
    print(f"retrain it: {result.command}")
    print(
        f"time {result.wall_seconds:.1f}s; results in {args.out / 'sweep.csv'}, the winner's run "
        f"folder {args.out / 'best'}, report {args.out / 'report.html'}"
    )
    return 0
