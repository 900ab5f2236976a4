"""Train with probes and diagnose: the one call behind `scratchnet diagnose` (and --repair).

diagnose_training reads the data (datacheck.py), trains as the config says with a
TrainingProbe on the validation split, and runs the rules, giving them the learning-rate range
test (lrfind.py) to call when a rate must be fixed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from ..runs import TrainConfig, train_classifier
from ..runs.workflow import load_data
from .findings import CAUSE, Finding, analyse
from .probes import TrainingProbe


@dataclasses.dataclass
class Diagnosis:
    """What was run, what the probes saw, and what it means."""

    subject: str
    records: list[dict[str, Any]]
    findings: list[Finding]
    n_classes: int
    diverged: str | None = None
    test_accuracy: float | None = None
    val_accuracy: float | None = None
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    data: Any = None  # a DataReport, when the data was read
    lr_range: Any = None  # an LRRange, when a rule ran the range test
    model: Any = dataclasses.field(default=None, repr=False)  # the trained network (not saved)

    @property
    def causes(self) -> list[Finding]:
        return [f for f in self.findings if f.role == CAUSE]

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "healthy": not self.findings,
            "findings": [f.as_dict() for f in self.findings],
            "diverged": self.diverged,
            "test_accuracy": self.test_accuracy,
            "val_accuracy": self.val_accuracy,
            "n_classes": self.n_classes,
            "data": self.data.as_dict() if self.data is not None else None,
            "lr_range": _lr_summary(self.lr_range),
            "history": self.history,
            "records": self.records,
        }

    def _repr_html_(self) -> str:
        """Jupyter's view: the verdict, the findings and the last probe's per-layer numbers."""
        from ..display import html_table

        parts = [f"<p><b>{_escape(self.subject)}</b></p>"]
        if self.diverged:
            parts.append(f"<p>diverged: {_escape(self.diverged)}</p>")
        if not self.findings:
            parts.append("<p>no problem found</p>")
        else:
            rows = [
                [f.as_dict().get(k) for k in ("title", "evidence", "fix")] for f in self.findings
            ]
            parts.append(html_table(["finding", "evidence", "fix"], rows))
        if self.records and self.records[-1].get("layers"):
            layers = self.records[-1]["layers"]
            keys = [k for k in layers[0] if not isinstance(layers[0][k], list | dict)]
            caption = f"per layer, at step {self.records[-1].get('step')}"
            parts.append(
                html_table(keys, [[e.get(k) for k in keys] for e in layers], caption=caption)
            )
        return "".join(parts)

    def to_json(self) -> str:
        """as_dict() as indented JSON (NumPy scalars become plain numbers; NaN and infinity,
        which JSON lacks, become null)."""
        return json.dumps(_finite(self.as_dict()), indent=1, default=_plain)


def _lr_summary(found) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"suggestion": found.suggestion, "minimum": found.minimum, "blowup": found.blowup}


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {value!r}")


def diagnose_training(
    config: TrainConfig,
    *,
    data=None,
    callbacks=(),
    probe_size: int = 500,
    read_data: bool = True,
    range_test: bool = True,
    repair: bool | int = False,
    validation: tuple | None = None,
):
    """Train as `config` says with a TrainingProbe on the validation split, then analyse.

    read_data: also read the training data for data faults; range_test: let rules run the
    learning-rate range test for a rate fix. repair=True (or a number of rounds, default 3)
    returns a Repair (repair.py) instead of a Diagnosis: fix, retrain, diagnose again.
    validation: (images, labels) to validate and probe on instead of a split drawn from the
    training data (which is then trained on whole).
    """
    if repair:
        from .repair import repair_training

        rounds = 3 if repair is True else int(repair)
        return repair_training(config, data=data, rounds=rounds, probe_size=probe_size)
    held = config.validation_size if validation is None else len(validation[1])
    if held == 0:
        raise ValueError("diagnose needs a validation split to probe; use validation_size > 0")
    if data is None:
        data = load_data(config, progress=False)
    report = None
    if read_data:
        from .datacheck import read_data as read

        report = read(data[0][0], data[0][1], seed=config.seed)
    probe = TrainingProbe(size=min(probe_size, held))
    diverged, accuracy, n_classes, model = None, None, 10, None
    try:
        result = train_classifier(
            config, callbacks=[*callbacks, probe], data=data, validation=validation
        )
        accuracy = result.test["accuracy"]
        n_classes, model = result.model.n_out, result.model
    except FloatingPointError as exc:
        diverged = str(exc)
    if probe.n_classes:
        n_classes = probe.n_classes
    found: list = []

    def range_of():
        from .lrfind import lr_range_test

        found.append(lr_range_test(config, data))
        return found[-1]

    findings = analyse(
        probe.records,
        n_classes=n_classes,
        config=config.to_dict(),
        diverged=diverged,
        history=probe.history,
        data=report,
        lr_range=range_of if range_test else None,
    )
    val = [row.get("val_accuracy") for row in probe.history if row.get("val_accuracy") is not None]
    return Diagnosis(
        subject_of(config, n_classes),
        probe.records,
        findings,
        n_classes,
        diverged,
        accuracy,
        val[-1] if val and not diverged else (0.0 if diverged else None),
        probe.history,
        report,
        found[-1] if found else None,
        model,
    )


def subject_of(config: TrainConfig, n_classes: int) -> str:
    """One line naming the trained network, for a Diagnosis."""
    widths = "-".join(map(str, (784, *config.hidden, n_classes)))
    return (
        f"{config.dataset} {widths} {config.activation}, init "
        f"{config.init}, lr {config.learning_rate:g}, {config.epochs} epochs"
    )
