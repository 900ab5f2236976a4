"""A callback that re-chooses NumPy's BLAS thread count at each epoch from the cores free now.

With other busy processes on the machine a BLAS thread that shares a core waits for its turn
and every other thread waits for it: two threads on two cores shared with two busy processes
ran 3.4x slower than idle, one thread 1.4x slower. Between epochs this callback measures what
other processes used of this process's CPUs during the last epoch (scratchnet.threads.LoadMeter)
and sets the thread count to the cores left free. The count can change the last bits of the
weights: pass a fixed count (train --threads N) for bitwise-reproducible runs.
"""

from __future__ import annotations

from ..threads import ThreadChooser, set_threads
from .callbacks import Callback, TrainingState


class AdaptiveThreads(Callback):
    """Before each epoch, limit the BLAS to `chooser.choose()` threads (when it changed).

    `counts` lists the count used for each epoch, for reports."""

    def __init__(self, chooser: ThreadChooser, initial: int) -> None:
        self.chooser = chooser
        self.current = initial
        self.counts: list[int] = []

    def on_epoch_begin(self, state: TrainingState) -> None:
        if self.counts:  # the first epoch runs with the count chosen before training
            wanted = self.chooser.choose()
            if wanted != self.current:
                set_threads(wanted)
                self.current = wanted
        self.counts.append(self.current)

    def __repr__(self) -> str:
        return f"AdaptiveThreads(cap={self.chooser.cap}, current={self.current})"
