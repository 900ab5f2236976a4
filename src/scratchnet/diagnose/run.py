"""Train with probes and diagnose: the one-call version used by `scratchnet diagnose`."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from ..runs import TrainConfig, train_classifier
from .findings import Finding, analyse
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "healthy": not self.findings,
            "findings": [f.as_dict() for f in self.findings],
            "diverged": self.diverged,
            "test_accuracy": self.test_accuracy,
            "n_classes": self.n_classes,
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
        """as_dict() as indented JSON (NumPy scalars in the records become plain numbers)."""
        return json.dumps(self.as_dict(), indent=1, default=_plain)


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {value!r}")


def diagnose_training(
    config: TrainConfig, *, data=None, callbacks=(), probe_size: int = 1000
) -> Diagnosis:
    """Train as `config` says with a TrainingProbe on the validation split, then analyse."""
    if config.validation_size == 0:
        raise ValueError("diagnose needs a validation split to probe; use validation_size > 0")
    probe = TrainingProbe(size=min(probe_size, config.validation_size))
    diverged, accuracy, n_classes = None, None, 10
    try:
        result = train_classifier(config, callbacks=[*callbacks, probe], data=data)
        accuracy = result.test["accuracy"]
        n_classes = result.model.n_out
    except FloatingPointError as exc:
        diverged = str(exc)
    if probe.n_classes:
        n_classes = probe.n_classes
    findings = analyse(
        probe.records, n_classes=n_classes, config=config.to_dict(), diverged=diverged
    )
    return Diagnosis(
        subject_of(config, n_classes), probe.records, findings, n_classes, diverged, accuracy
    )


def subject_of(config: TrainConfig, n_classes: int) -> str:
    """One line naming the trained network, for a Diagnosis."""
    widths = "-".join(map(str, (784, *config.hidden, n_classes)))
    return (
        f"{config.dataset} {widths} {config.activation}, init "
        f"{config.init}, lr {config.learning_rate:g}, {config.epochs} epochs"
    )
