"""Findings: what a rule concluded, and `analyse`, which runs every rule and ranks them.

A Finding is a cause (the setting or data that explains the failure) or a symptom (what the
run shows; it never ranks above a cause). Its fix is data: the settings to change
({"init": "he-normal"}), shown as command-line flags (fix_args) or keyword arguments
(fix_kwargs). The rules live in rules/; docs/diagnose.md lists each with its threshold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from .numbers import fmt

CAUSE, SYMPTOM = "cause", "symptom"

#: Causes that change the first forward pass itself (the init rules defer to them).
FIRST_PASS_CAUSES = ("data_scale", "symmetric_weights", "no_nonlinearity")

#: Settings whose command-line flag is not "--" + the name with dashes.
_FLAG_NAMES = {"learning_rate": "lr"}


@dataclasses.dataclass
class Finding:
    """One problem: what (kind, title), cause or symptom, how sure (severity 0..1), the
    numbers behind it (evidence), the fix in words and as settings, and any fix to the data.

    `stage` orders causes the way data flows: the data (0), the network's structure (1), its
    initialisation (2), the optimisation (3), the fit (4). An earlier fault explains a later
    one's evidence (inputs scaled by 255 look like an exploding initialisation), so it ranks first.
    """

    kind: str
    severity: float
    title: str
    evidence: str
    fix: str
    role: str = CAUSE
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    data_fix: str | None = None  # "rescale", "balance" or "clean-labels": no setting does it
    stage: int = 3

    @property
    def fix_kwargs(self) -> dict[str, Any]:
        """The fix as keyword arguments of TrainConfig / diagnose_training."""
        return dict(self.settings)

    @property
    def fix_args(self) -> list[str]:
        """The fix as command-line arguments for the same `scratchnet train` command."""
        return settings_to_args(self.settings)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["fix_args"] = self.fix_args
        return data


def settings_to_args(settings: dict[str, Any]) -> list[str]:
    """{"init": "he-normal", "hidden": [128]} -> ["--init", "he-normal", "--hidden", "128"]."""
    args: list[str] = []
    for name, value in settings.items():
        flag = "--" + _FLAG_NAMES.get(name, name).replace("_", "-")
        if isinstance(value, bool):
            if value:
                args.append(flag)
            continue
        if isinstance(value, list | tuple):
            value = ",".join(map(str, value)) or "none"
        elif isinstance(value, float):
            value = f"{value:.3g}"
        args += [flag, str(value)]
    return args


@dataclasses.dataclass
class Context:
    """What the rules may read besides the probe records.

    config: the run's settings (TrainConfig.to_dict(); may be partial or empty); diverged: the
    message when training blew up; history: fit's per-epoch rows; data: a DataReport (read
    from the data itself, see datacheck.py) or None; lr_range: a function returning the
    learning-rate range test (lrfind.py) or None, called only by a rule that needs a rate.
    """

    n_classes: int
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    diverged: str | None = None
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    data: Any = None
    lr_range: Callable[[], Any] | None = None
    found: list = dataclasses.field(default_factory=list)  # what earlier rules concluded
    _lr_cache: list = dataclasses.field(default_factory=list, repr=False)

    def explained(self, stage: int) -> bool:
        """Whether a cause from an earlier stage than `stage` was found: its evidence (a
        vanishing signal, inputs 255x too large) also distorts what later rules measure, so
        they wait for the repaired run."""
        return any(f.role == CAUSE and f.stage < stage for f in self.found)

    def first_pass_explained(self) -> bool:
        """Whether the first forward pass is already explained: by the inputs' scale or the
        network's structure (labels do not change a forward pass)."""
        return any(f.kind in FIRST_PASS_CAUSES for f in self.found)

    def suggested_lr(self) -> Any:
        """The range test's result (computed once, on first use), or None."""
        if self.lr_range is None:
            return None
        if not self._lr_cache:
            try:
                self._lr_cache.append(self.lr_range())
            except (FloatingPointError, ValueError, ArithmeticError):
                self._lr_cache.append(None)
        return self._lr_cache[0]

    @property
    def lr(self) -> float | None:
        value = self.config.get("learning_rate")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    def lr_text(self) -> str:
        return f" (now {fmt(self.lr)})" if self.lr else ""


Rule = Callable[[list[dict[str, Any]], Context], "Finding | None"]


def rank(findings: list[Finding]) -> list[Finding]:
    """Causes before symptoms; causes in data-flow order (stage), then by severity."""
    return sorted(findings, key=lambda f: (f.role != CAUSE, f.stage, -f.severity))


def analyse(
    records: list[dict[str, Any]],
    *,
    n_classes: int,
    config: dict[str, Any] | None = None,
    diverged: str | None = None,
    history: list[dict[str, Any]] | None = None,
    data: Any = None,
    lr_range: Callable[[], Any] | None = None,
    rules: list[Rule] | None = None,
) -> list[Finding]:
    """Findings from probe records, most important first (an empty list: nothing wrong).

    Each rule in the registry (rules.RULES) sees the records and a Context; a rule that fails
    on odd numbers is a bug, but a diagnosis must never crash a training run, so its error
    becomes a finding of its own ("diagnose_error") instead of a traceback.
    """
    from .rules import RULES

    if not records or not isinstance(n_classes, int) or n_classes < 1:
        return []
    context = Context(
        n_classes,
        dict(config or {}),
        diverged,
        list(history or []),
        data,
        lr_range,
    )
    found: list[Finding] = []
    for rule in RULES if rules is None else rules:
        try:
            finding = rule(records, context)
        except Exception as exc:  # noqa: BLE001 - reported, never raised: see the docstring
            finding = Finding(
                "diagnose_error",
                0.0,
                f"the {getattr(rule, '__name__', 'rule')} check failed on these records",
                f"{type(exc).__name__}: {exc}",
                "report this as a bug in scratchnet diagnose",
                role=SYMPTOM,
            )
        if finding is not None:
            found.append(finding)
            context.found.append(finding)
    return rank(found)


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
