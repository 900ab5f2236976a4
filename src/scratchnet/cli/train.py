"""`scratchnet train`: one training run, printed epoch by epoch, saved with its history.

With --out RUN_DIR the run is checkpointed every epoch; SIGINT or SIGTERM saves a checkpoint at
the next step and exits (130 or 143) naming the resume command, and --resume RUN_DIR continues
it bitwise. A diverging run stops with diagnose's explanation and keeps its last good
checkpoint. Signal handlers are installed here only, for the run, and restored afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from ..errors import ArgumentError, CheckpointError, ScratchnetError
from ..fileio import check_output_file, remove_stale_parts
from ..runs import RunDir, TrainConfig, history_paths, write_history_files
from ..runs.config import COMMAND_AUGMENT, command_augment
from ..runs.live import LiveRecord
from ..train.callbacks import Callback, TrainingState
from ..train.checkpoint import StopRequest, TrainingInterrupted, load_checkpoint
from .args import output_path

TRAINING_FIELDS = tuple(
    f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("preset", "data_dir")
)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the options describe: the preset's settings (or the defaults),
    then every option the user gave."""
    given = {name: getattr(args, name) for name in TRAINING_FIELDS if hasattr(args, name)}
    if given.get("dataset") is None:
        given.pop("dataset", None)
    given["data_dir"] = str(args.data_dir) if args.data_dir else None
    if given.get("data") is not None and (given.get("dataset") or args.data_dir):
        raise ArgumentError(
            "--data trains on your own data; drop --dataset and --data-dir (they choose MNIST "
            "or Fashion-MNIST)"
        )
    if given.get("data") is not None and "validation_size" not in given:
        from ..data.own import default_validation_size, load_own

        # Own data: a validation share that suits its size (MNIST's 5,000 would be most of it).
        given["validation_size"] = default_validation_size(len(load_own(given["data"]).train[1]))
    preset = getattr(args, "preset", None)
    if preset in (None, "default") and "augment" not in given:
        # MNIST is augmented unless told otherwise (runs.config.command_augment).
        given["augment"] = command_augment(given.get("dataset", "mnist"), given.get("data"))
    _check_early_stopping(given, preset)
    try:
        if preset:
            config = TrainConfig.from_preset(preset, **given)
        else:
            config = TrainConfig(**given)
    except ValueError as exc:  # TrainConfig checks each setting; here they came from options
        raise ArgumentError(str(exc)) from None
    _check_validation_size(config)
    return config


def _check_validation_size(config: TrainConfig) -> None:
    """The held-out examples must leave some to train on (the sizes are the data set's)."""
    from ..data.catalog import get_spec

    spec = get_spec(config.dataset)
    if config.validation_size >= spec.n_train:
        raise ArgumentError(
            f"--validation-size {config.validation_size} leaves nothing to train on: "
            f"{spec.title} has {spec.n_train} training examples; give fewer"
        )


def _check_early_stopping(given: dict, preset: str | None) -> None:
    from ..train.presets import PRESETS

    settings = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    if preset in PRESETS:
        settings.update(PRESETS[preset].settings)
    settings.update(given)
    patience, held_out = settings.get("early_stopping"), settings.get("validation_size")
    if patience and held_out == 0:
        raise ArgumentError(
            f"--early-stopping {patience} compares validation accuracies, and --validation-size "
            "is 0; give --validation-size N or drop --early-stopping"
        )


def describe(config: TrainConfig) -> str:
    """Every setting of the run, on a few lines (a preset's settings spelled out)."""
    hidden = ",".join(map(str, config.hidden)) or "none"
    head = f"training on {config.data}" if config.data else f"training {config.dataset}"
    if config.preset:
        head += f" with preset {config.preset!r}"
    settings = {
        k: v
        for k, v in config.to_dict().items()
        if k not in ("dataset", "preset", "data_dir", "hidden")
    }
    pairs = ", ".join(f"{k}={v}" for k, v in settings.items())
    return f"{head}: 784-{hidden.replace(',', '-')}-10\nsettings: {pairs}"


class EpochPrinter(Callback):
    """One line per epoch on `stream`; with a non-finite policy, a warning per repaired step."""

    def __init__(self, stream, on_nonfinite: str = "stop") -> None:
        self.stream = stream
        self.policy = on_nonfinite

    def on_epoch_end(self, state: TrainingState) -> None:
        row = state.logs
        text = (
            f"epoch {row['epoch']:>3}/{state.epochs}  loss {row['loss']:.4f}  "
            f"acc {100 * row['accuracy']:6.2f}%"
        )
        if "val_loss" in row:
            text += f"  val_loss {row['val_loss']:.4f}  val_acc {100 * row['val_accuracy']:6.2f}%"
        text += f"  lr {row['learning_rate']:.3g}  {row['seconds']:.1f}s"
        print(text, file=self.stream, flush=True)

    def on_nonfinite(self, state: TrainingState, error: FloatingPointError) -> bool:
        if self.policy != "stop":  # with "stop" the error itself is the message
            what = "skipping the batch" if self.policy == "skip-batch" else "halving the rate"
            first = str(error).split(": training diverged")[0]
            print(
                f"warning: {first}; restoring the weights from before the last update and "
                f"{what} (--on-nonfinite {self.policy})",
                file=sys.stderr,
                flush=True,
            )
        return False  # it only reports: the policy callback repairs


def _interactive(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class _Signals:
    """SIGINT and SIGTERM during a run. Once armed (training can save itself), the first one
    asks for a checkpoint at the next step; before that, or a second time, it interrupts at
    once (KeyboardInterrupt). Installed only from the main thread; restored on exit."""

    def __init__(self, stop: StopRequest) -> None:
        self.stop = stop
        self.armed = False
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame) -> None:
        first = self.received is None
        if first:
            self.received = number
        if self.armed and first:
            self.stop.request(signal.Signals(number).name)
            return
        raise KeyboardInterrupt

    @property
    def status(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT)."""
        return 128 + (self.received or signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.received or signal.SIGINT).name


def _options_given_with_resume(args: argparse.Namespace) -> list[str]:
    # Training options are absent from the namespace unless typed (argparse.SUPPRESS);
    # --dataset is always there, None unless typed.
    given = [name for name in TRAINING_FIELDS if hasattr(args, name)]
    given = [name for name in given if name != "dataset" or args.dataset is not None]
    if hasattr(args, "preset"):
        given.append("preset")
    if getattr(args, "threads", None) is not None:
        given.append("threads")  # the checkpoint's own count keeps the resumed run bitwise
    return ["--" + name.replace("_", "-") for name in given]


def _resume_command(run_dir: Path) -> str:
    return f"scratchnet train --resume {shlex.quote(str(run_dir))}"


def _read_checkpoint(run: RunDir):
    if not run.checkpoint_path.is_file():
        if run.checkpoint_path.exists():
            raise CheckpointError(f"{run.checkpoint_path}: not a regular file; give a run folder")
        raise CheckpointError(
            f"{run.checkpoint_path}: no checkpoint to resume from (a run started with --out "
            f"{run.path} writes one after each epoch)"
        )
    saved = load_checkpoint(run.checkpoint_path)
    try:
        config = TrainConfig(**saved.config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{run.checkpoint_path}: the checkpoint's settings are invalid ({exc})"
        ) from exc
    return saved, config


def _explain_divergence(probe, config: TrainConfig, message: str) -> list[str]:
    """diagnose's findings on what the probe saw before the run blew up, as lines."""
    if probe is None or not probe.records:
        return []
    from ..diagnose import analyse

    findings = analyse(
        probe.records, n_classes=probe.n_classes or 10, config=config.to_dict(), diverged=message
    )
    lines = []
    for finding in findings[:3]:
        lines.append(f"  diagnosis: {finding.title}")
        lines.append(f"    evidence: {finding.evidence}")
        lines.append(f"    fix: {finding.fix}")
    return lines


def check_memory(config: TrainConfig) -> None:
    """Refuse a run that cannot fit in memory before loading anything (ResourceError)."""
    from ..data.catalog import get_spec
    from ..train.memory import check_training_memory

    spec = get_spec(config.dataset)
    check_training_memory(config, n_train=spec.n_train, n_test=spec.n_test)


def _thread_setting(forced: int | None) -> int | str:
    """--threads N (capped at the cores this process may use, with a note), else "auto": the
    cores free now, re-checked at each epoch."""
    from ..threads import cpu_count

    if forced is None:
        return "auto"
    cores = cpu_count()
    if forced > cores:
        print(
            f"scratchnet: note: --threads {forced} is more than the {cores} core(s) this process "
            f"may use; using {cores}",
            file=sys.stderr,
        )
        return cores
    return forced


def _threads(count: int) -> str:
    return "1 BLAS thread" if count == 1 else f"{count} BLAS threads"


def _write_report(run: RunDir, config: TrainConfig, probe, test) -> Path | None:
    """diagnosis.json from the run's probe, then report.html; a report that cannot be drawn
    is a warning, not a failed run (the model and history are already saved)."""
    from ..report import build_run_report

    if probe is not None and probe.records:
        from ..diagnose import analyse
        from ..diagnose.run import Diagnosis, subject_of

        n_classes = probe.n_classes or 10
        findings = analyse(
            probe.records, n_classes=n_classes, config=config.to_dict(), history=probe.history
        )
        subject = subject_of(config, n_classes) + " (probed during scratchnet train)"
        diagnosis = Diagnosis(subject, probe.records, findings, n_classes, history=probe.history)
        run.write_diagnosis(diagnosis.to_json())
    else:
        # No probe (no validation split): a diagnosis left by an earlier run here is not this one's.
        run.remove_diagnosis()
    try:
        return build_run_report(run.path, test=test)
    except (ScratchnetError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(
            f"scratchnet: warning: report.html not written ({first}); rebuild it with "
            f"scratchnet report {run.path}",
            file=sys.stderr,
        )
        return None


def _preflight(run: RunDir | None, output: Path, option: str) -> None:
    """Every output checked before any data is read: nothing is created if one cannot be."""
    if run is not None:
        run.preflight(option=option)
        return
    check_output_file(output, option="--output")
    for path in history_paths(output):
        check_output_file(path, option="--output")


def _load_data(args: argparse.Namespace, config: TrainConfig):
    if config.data:  # the user's own data (--data)
        from ..runs.workflow import load_data

        return load_data(config)
    from ..data import load_dataset

    return load_dataset(config.dataset, config.data_dir, progress=None if not args.quiet else False)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from .args import data_options, positive_int, thread_count, training_options

    parser.description = (
        "Train a fully-connected network on MNIST or Fashion-MNIST, evaluate it once on the "
        "test set and save it with its training history."
    )
    data_options(parser, dataset_default=None)
    training_options(parser, {"augment": f"{COMMAND_AUGMENT} for MNIST, none for other data"})
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o",
        "--output",
        type=output_path("--output"),
        default=None,
        metavar="PATH",
        help="where to save the model (.npz); the history goes beside it "
        "[default: scratchnet-DATASET.npz]",
    )
    where.add_argument(
        "--out",
        type=output_path("--out"),
        default=None,
        metavar="RUN_DIR",
        help="a run folder instead: model.npz, history.csv, history.json and config.json, and "
        "checkpoint.npz after every epoch; SIGINT or SIGTERM saves it mid-epoch and stops",
    )
    where.add_argument(
        "--resume",
        type=output_path("--resume"),
        default=None,
        metavar="RUN_DIR",
        help="continue the run saved in RUN_DIR/checkpoint.npz with its own settings (only "
        "--quiet, --data-dir and --checkpoint-every may be given too); the final weights are "
        "bitwise those of a run that never stopped",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=None,
        metavar="N",
        help="with --out: save the checkpoint every N epochs (and after the last) [default: 1]",
    )
    parser.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="N",
        help="BLAS threads for training, recorded in the checkpoint; more than this process "
        "may use are capped with a note [default: the cores free now (CPU affinity less the "
        "load of other processes), re-checked every epoch; 1 when a step's largest matrix "
        "product is under 1 MFLOP (tiny networks or batches), where a second thread does not "
        "pay]",
    )
    tuning = parser.add_mutually_exclusive_group()
    tuning.add_argument(
        "--autotune",
        dest="autotune",
        action="store_true",
        default=None,
        help="time the equivalent matrix layouts of each layer at the first step and keep the "
        "fastest (a resumed run keeps its checkpoint's layouts) [default: off, or "
        "SCRATCHNET_AUTOTUNE=1]",
    )
    tuning.add_argument(
        "--no-autotune",
        dest="autotune",
        action="store_false",
        help="keep the reference matrix layouts (the default)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary")


def cmd_train(args: argparse.Namespace) -> int:
    saved = None
    resume = getattr(args, "resume", None)
    every = getattr(args, "checkpoint_every", None)
    run: RunDir | None = None
    if resume is not None:
        extra = _options_given_with_resume(args)
        if extra:
            raise ArgumentError(
                f"--resume continues a run with the settings in its checkpoint; drop "
                f"{', '.join(extra)}"
            )
        run = RunDir(resume)
        saved, config = _read_checkpoint(run)
        if args.data_dir:
            config = dataclasses.replace(config, data_dir=str(args.data_dir))
        if every is None:
            every = saved.extra.get("checkpoint_every", 1)
            every = every if isinstance(every, int) and every >= 1 else 1
    else:
        if every is not None and args.out is None:
            raise ArgumentError("--checkpoint-every needs --out RUN_DIR (a folder for the run)")
        config = config_from_args(args)
        run = RunDir(args.out) if args.out is not None else None
    check_memory(config)
    if run is not None:
        _preflight(run, run.model_path, "--resume" if saved is not None else "--out")
        output, checkpoint = run.model_path, run.checkpoint_path
        if saved is None and checkpoint.exists():
            previous = load_checkpoint(checkpoint)
            if not previous.finished:
                raise ScratchnetError(
                    f"{run.path} holds an unfinished run ({previous.describe()}); continue it "
                    f"with {_resume_command(run.path)}, or delete {checkpoint} to start afresh"
                )
    else:
        name = Path(config.data).stem if config.data else config.dataset
        output = args.output or Path(f"scratchnet-{name}.npz")
        checkpoint = None
        _preflight(None, output, "--output")
    stop = StopRequest()
    with _Signals(stop) as signals, contextlib.ExitStack() as held:
        try:
            locked = run is not None and run.path.is_dir()
            if locked:
                held.enter_context(run.lock())  # in use by another run: say so before loading
            data = _load_data(args, config)  # nothing is created before the data are valid
            if run is not None and not locked:
                held.enter_context(run.lock())
            return _run(args, config, run, output, data, every or 1, saved, signals)
        except TrainingInterrupted as exc:
            print(
                f"scratchnet: {exc}; resume with: {_resume_command(run.path)}",
                file=sys.stderr,
                flush=True,
            )
            return signals.status
        except KeyboardInterrupt:
            if checkpoint is not None and checkpoint.is_file():
                kept = load_checkpoint(checkpoint).describe()
                text = (
                    f"the last checkpoint ({kept}) is kept; resume with: "
                    f"{_resume_command(run.path)}"
                )
            else:
                text = "nothing was saved"
            print(f"scratchnet: interrupted ({signals.name}); {text}", file=sys.stderr)
            return signals.status
        finally:
            if run is not None:
                run.clear_progress()


def _run(args, config, run, output, data, every, saved, signals) -> int:
    from ..diagnose import TrainingProbe
    from ..nn import autotune, save_model
    from ..runs import workflow
    from ..train.callbacks import ProgressBar

    started = time.perf_counter()
    checkpoint = run.checkpoint_path if run is not None else None
    signals.armed = checkpoint is not None  # from here on a signal saves rather than aborts
    callbacks: list[Callback] = []
    if not args.quiet:
        if _interactive(sys.stderr):
            callbacks.append(ProgressBar(sys.stderr))
        callbacks.append(EpochPrinter(sys.stdout, config.on_nonfinite))
        if saved is not None:
            print(f"resuming {run.path} ({saved.describe()})", flush=True)
        print(describe(config), flush=True)
    probe = None
    if config.validation_size:
        # So that a diverging run can say why. Cheap: statistics on 128 examples five times an
        # epoch cost 0.7% of an epoch of the default network (3.3 ms each, a step 5.5 ms).
        steps = -(-(len(data[0][0]) - config.validation_size) // config.batch_size)
        probe = TrainingProbe(size=min(128, config.validation_size), every=max(1, steps // 4))
        callbacks.append(probe)
    if run is not None:
        callbacks.append(LiveRecord(run, config.to_dict()))
    # --autotune / --no-autotune: whether layers time their matrix layouts (nn.autotune).
    tuning = contextlib.nullcontext()
    if getattr(args, "autotune", None) is not None:
        tuning = autotune.switched(args.autotune)
    try:
        with tuning:
            result = workflow.train_classifier(
                config,
                callbacks=callbacks,
                data=data,
                checkpoint=checkpoint,
                checkpoint_every=every,
                resume=saved,
                stop=signals.stop if checkpoint is not None else None,
                threads=_thread_setting(getattr(args, "threads", None)),
            )
    except FloatingPointError as exc:
        message = str(exc).replace("\n", " ")
        lines = [f"scratchnet: error: {message}"]
        if checkpoint is not None and checkpoint.is_file():
            kept = load_checkpoint(checkpoint).describe()
            lines.append(f"  the last good checkpoint ({kept}) is kept in {checkpoint}")
        lines += _explain_divergence(probe, config, message)
        if config.on_nonfinite == "stop":
            lines.append(
                "  to go on past such steps, rerun with --on-nonfinite skip-batch or halve-lr"
            )
        print("\n".join(lines), file=sys.stderr, flush=True)
        return 1
    report = None
    if run is not None:
        run.save_model(result.model)
        csv_path, json_path = run.write_history(result.history)
        run.write_config(config.to_dict())
        report = _write_report(run, config, probe, data[1])
    else:
        save_model(result.model, output)
        remove_stale_parts(output)
        csv_path, json_path = write_history_files(result.history.rows, *history_paths(output))
    elapsed = time.perf_counter() - started
    val = result.history.last("val_accuracy")
    print(
        f"test accuracy {100 * result.test['accuracy']:.2f}%  (test loss "
        f"{result.test['loss']:.4f}"
        + (f", validation {100 * val:.2f}%" if val is not None else "")
        + f")\ntime {result.train_seconds:.1f}s training"
        + (f" ({_threads(result.threads)})" if result.threads else "")
        + f", {elapsed:.1f}s in all\n"
        f"model saved to {output}\nhistory saved to {csv_path} and {json_path}"
        + (f"\nreport saved to {report}" if report is not None else "")
    )
    if signals.stop:
        print(
            f"scratchnet: {signals.name} received as training finished; the run is complete",
            file=sys.stderr,
        )
        return signals.status
    return 0
