"""`scratchnet lr-find`: the learning-rate range test for the network that the options describe.

It trains a throw-away copy for a few hundred steps with the rate rising exponentially, prints
the loss against the rate and the rate where it falls fastest (the --lr to train with), and
with --plot draws the curve (matplotlib, imported only then).
"""

from __future__ import annotations

import argparse
import json
import math

from ..errors import ArgumentError


def add_lrfind_arguments(parser: argparse.ArgumentParser) -> None:
    from .args import data_options, positive_float, positive_int, training_options

    parser.description = (
        "The learning-rate range test (Smith 2017; the fastai finder): train the network the "
        "options describe for --steps steps while the rate rises exponentially from --start to "
        "--stop, and suggest the rate where the loss falls fastest. The run's own network, "
        "initialisation, optimiser and batch size; nothing is saved but the --plot."
    )
    data_options(parser, dataset_default=None)
    training_options(parser)
    parser.add_argument("--steps", type=positive_int, default=200, help="[default: 200]")
    parser.add_argument("--start", type=positive_float, default=1e-6, help="[default: 1e-6]")
    parser.add_argument("--stop", type=positive_float, default=10.0, help="[default: 10]")
    parser.add_argument("--plot", default=None, metavar="PNG", help="draw the curve here")
    parser.add_argument("--json", action="store_true", help="print JSON")


def cmd_lrfind(args: argparse.Namespace) -> int:
    from ..diagnose.lrfind import lr_range_test, plot_lr_range
    from ..fileio import check_output_file
    from .train import config_from_args

    if args.steps < 10:
        raise ArgumentError(f"--steps must be at least 10; received {args.steps}")
    if args.start >= args.stop:
        raise ArgumentError(
            f"--start must be below --stop; received --start {args.start:g} --stop {args.stop:g}"
        )
    if args.plot is not None and not str(args.plot).lower().endswith(".png"):
        raise ArgumentError(f"--plot writes a PNG: name it *.png; received {args.plot}")
    if args.plot is not None:
        from ..report.plots import have_matplotlib

        if not have_matplotlib():
            raise ArgumentError('--plot needs matplotlib: pip install "scratchnet[plot]"')
        check_output_file(args.plot, option="--plot")  # before the range test, not after
    config = config_from_args(args)
    result = lr_range_test(config, steps=args.steps, start=args.start, stop=args.stop)
    if args.plot is not None:
        plot_lr_range(result, args.plot)
    if args.json:
        print(json.dumps(_finite(result.as_dict()), indent=1))
        return 0
    print(render(result, args))
    return 0


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render(result, args: argparse.Namespace) -> str:
    lines = ["learning rate   smoothed loss"]
    rates, values = result.learning_rates, result.smoothed
    for i in range(0, len(values), max(1, len(values) // 12)):
        lines.append(f"{rates[i]:>13.3g}   {values[i]:.4f}")
    if result.suggestion is None:
        lines.append("\nno suggestion: the loss never fell (try a wider --start/--stop range)")
        return "\n".join(lines)
    lines.append(f"\nthe loss falls fastest at lr {result.suggestion:.3g}")
    lines.append(f"lowest loss at lr {result.minimum:.3g}")
    if result.blowup is not None:
        lines.append(f"the loss blows up from lr {result.blowup:.3g}")
    lines.append(f"train with: --lr {result.suggestion:.3g}")
    if args.plot:
        lines.append(f"plot: {args.plot}")
    return "\n".join(lines)
