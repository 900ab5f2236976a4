"""What this machine can give a command: memory, checked before a large allocation; and what
it is (cpu_model), for results and caches that hold for one machine only.

`check_memory(needed, what, fix)` raises ResourceError ("... needs N GB, this machine has M GB
available") when an estimate exceeds the memory available now; the estimates themselves live
next to what they estimate (scratchnet.train.memory for a training run). Standard library only.
"""

from __future__ import annotations

import os

from .errors import ResourceError

# Leave this share of the available memory to everything else (the interpreter, NumPy's
# temporaries that the estimates do not count, the page cache).
HEADROOM = 0.9


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux's MemAvailable, bounded by a
    cgroup limit); None where that cannot be read."""
    free = _meminfo_available()
    limit = _cgroup_free()
    candidates = [value for value in (free, limit) if value is not None]
    return min(candidates) if candidates else _sysconf_total()


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_free() -> int | None:
    """cgroup v2: memory.max minus memory.current, when a limit is set."""
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as handle:
            text = handle.read().strip()
        if text == "max":
            return None
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as handle:
            current = int(handle.read().strip())
        return max(int(text) - current, 0)
    except (OSError, ValueError):
        return None


def _sysconf_total() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def gigabytes(n_bytes: float) -> str:
    """1.5e9 -> '1.5 GB' (decimal gigabytes; two significant digits below 10)."""
    value = n_bytes / 1e9
    return f"{value:.2g} GB" if value < 10 else f"{value:.0f} GB"


def check_memory(needed: float, what: str, fix: str, *, available: int | None = None) -> None:
    """Raise ResourceError if `needed` bytes exceed what is available (with headroom).

    what: the thing that needs it ('training 784-1000000-10 at batch 128'); fix: what to
    change ('use fewer or narrower hidden layers')."""
    free = available_memory() if available is None else available
    if free is None or needed <= HEADROOM * free:
        return
    raise ResourceError(
        f"{what} needs {gigabytes(needed)}, this machine has {gigabytes(free)} available; {fix}"
    )


def cpu_model(default: str = "unknown CPU") -> str:
    """The CPU's model name from /proc/cpuinfo ("AMD EPYC"), or `default` where unreadable."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default
