"""Matrix layouts chosen by measurement, like cuDNN's benchmark mode.

A Dense layer's three products (forward x @ W, weight gradient x^T @ grad_z, input gradient
grad_z @ W^T) can each be handed to BLAS in several equivalent forms: the weight stored
(n_in, n_out) or transposed, the output written batch-major or feature-major, and so which
operand BLAS reads as transposed. The maths is the same; the speed is not, and which form wins
depends on the CPU and the BLAS kernel (on one AVX-512 Xeon, x @ W ran at 125 GFLOP/s and the
same product written feature-major at 240). So at its first training step each layer times the
candidate layouts at its own shapes (tens of milliseconds for a 1024-wide layer, once) and keeps
the fastest; the result is cached per process, keyed by the shapes, dtype, input layout and BLAS
thread count.

Results are those of the reference layout up to float rounding (BLAS may sum in another order)
and deterministic for a given layout, which a checkpoint records so that a resumed run stays
bitwise. `set_enabled(False)` (the command line's --no-autotune) or SCRATCHNET_AUTOTUNE=0 keeps
the reference layout everywhere. Products under MIN_FLOPS keep it too: their timings are noise.

Separate processes measure afresh, so two runs may choose differently where layouts are close
(and then differ in the last bits). SCRATCHNET_AUTOTUNE_CACHE=FILE keeps the choices in a JSON
file, keyed by CPU model, BLAS kernel and thread count as well: later runs on the machine reuse
them, measuring nothing, and train bitwise alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from .workspace import order_of

# Below this many floating-point operations per product the layouts differ by microseconds,
# less than the timing noise, and tuning would only make tiny networks' bits machine-dependent.
MIN_FLOPS = 4e6
# Time spent measuring one shape: at least MIN_ROUNDS rounds of every candidate product, more
# while under BUDGET_SECONDS, at most MAX_ROUNDS. The minimum over rounds is robust to load.
MIN_ROUNDS, MAX_ROUNDS, BUDGET_SECONDS = 3, 12, 0.02
# A layout must beat the reference by this factor to replace it (no switching on noise).
MARGIN = 0.95


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one Dense layer lays out its matrices: each 'C' (row-major) or 'F' (column-major).

    weight:  the (n_in, n_out) weight, 'F' meaning it is stored transposed, (n_out, n_in)
             row-major (users still see an (n_in, n_out) array);
    output:  the layer's output z, 'C' batch-major (batch, n_out) or 'F' feature-major;
    grad_in: the input gradient handed to the layer below, likewise.
    """

    weight: str = "C"
    output: str = "C"
    grad_in: str = "C"

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if getattr(self, field.name) not in ("C", "F"):
                raise ValueError(
                    f"Layout.{field.name} must be 'C' or 'F'; received "
                    f"{getattr(self, field.name)!r}"
                )

    @property
    def code(self) -> str:
        """Three letters, weight, output, grad_in: 'CCC' is the reference layout."""
        return self.weight + self.output + self.grad_in

    @classmethod
    def parse(cls, code: str) -> Layout:
        """The inverse of `code`; ValueError for anything but three letters from C and F."""
        if not isinstance(code, str) or len(code) != 3:
            raise ValueError(f"a layout is three letters from C and F, like 'CCC'; got {code!r}")
        return cls(*code)


REFERENCE = Layout()


def _env_enabled() -> bool:
    # Off unless asked for: on an Intel Xeon (AVX-512, OpenBLAS SkylakeX and Haswell kernels, 2
    # threads, idle) the layouts chosen by timing each product alone made the 784-1024-1024-10
    # epoch 14-30% slower than the reference layouts in training (benchmarks/results/
    # speed-intel-xeon-processor.md): a product timed alone is not the product inside an epoch.
    return os.environ.get("SCRATCHNET_AUTOTUNE", "0").strip().lower() in ("1", "true", "yes")


_state = {"enabled": _env_enabled()}
_cache: dict[tuple, dict[str, Any]] = {}


def enabled() -> bool:
    """Whether layers time their layouts at their first training step (default: no; turn it on
    with SCRATCHNET_AUTOTUNE=1, set_enabled(True) or `scratchnet train --autotune`)."""
    return _state["enabled"]


def set_enabled(flag: bool) -> None:
    """Turn layout tuning on or off for this process (off: every new layer keeps REFERENCE)."""
    _state["enabled"] = bool(flag)


@contextlib.contextmanager
def switched(flag: bool) -> Iterator[None]:
    """A block in which new layers time their layouts (flag True) or keep the reference."""
    before = _state["enabled"]
    _state["enabled"] = bool(flag)
    try:
        yield
    finally:
        _state["enabled"] = before


def disabled() -> contextlib.AbstractContextManager[None]:
    """A block in which new layers keep the reference layout."""
    return switched(False)


def clear_cache() -> None:
    """Forget every measurement (the next layer to train measures again)."""
    _cache.clear()


def measurements() -> list[dict[str, Any]]:
    """Every shape measured in this process: its key, the seconds per step of each candidate
    layout (the three products summed) and the layout chosen; for benchmark reports."""
    return [dict(entry) for entry in _cache.values()]


def _threads() -> int | None:
    try:
        from ..threads import current_threads
    except ImportError:  # pragma: no cover - scratchnet.threads ships with the package
        return None
    return current_threads()


def choose(
    n_in: int, n_out: int, batch: int, dtype: Any, x_order: str = "C", outputs: str = "CF"
) -> Layout:
    """The fastest layout for a Dense(n_in, n_out) training on (batch, n_in) inputs of `x_order`,
    among those whose output order is in `outputs` ("C" where the next layer would multiply a
    feature-major output elementwise with its own batch-major arrays: that is up to 15x slower).

    REFERENCE when tuning is off; the reference products, with the input gradient in the
    input's order, when they are too small to tell apart; otherwise measured once per process
    for these shapes, dtype, input layout, output orders and BLAS thread count.
    """
    dtype = np.dtype(dtype)
    if not enabled():
        return REFERENCE
    if 2.0 * batch * n_in * n_out < MIN_FLOPS:
        # Untimed, but the input gradient still goes back in the input's order: the layer below
        # multiplies it with its own buffers elementwise, and mixed orders made that 15x slower
        # (0.95 ms against 60 us for a (128, 1024) ReLU backward).
        return Layout("C", "C", x_order)
    key = (n_in, n_out, batch, dtype.str, x_order, outputs, _threads())
    entry = _cache.get(key)
    if entry is None:
        entry = _from_disk(key)
        if entry is not None:
            _cache[key] = entry
    if entry is None:
        seconds = measure(n_in, n_out, batch, dtype, x_order, single_thread=key[-1] == 1)
        entry = _cache[key] = {
            "n_in": n_in,
            "n_out": n_out,
            "batch": batch,
            "dtype": dtype.name,
            "x_order": x_order,
            "outputs": outputs,
            "threads": key[-1],
            "seconds": seconds,
            "chosen": pick({c: t for c, t in seconds.items() if c[1] in outputs}, x_order),
        }
        _to_disk(key, entry)
    return Layout.parse(entry["chosen"])


def _machine() -> str:
    """The CPU model and BLAS kernel: measurements from one do not carry to another."""
    from ..resources import cpu_model

    model = cpu_model()
    try:
        from ..threads import blas_info
    except ImportError:  # pragma: no cover
        return model
    kernels = [
        f"{info.get('internal_api')} {info.get('version')} {info.get('architecture')}"
        for info in blas_info()
    ]
    return " / ".join([model, *kernels, f"numpy {np.__version__}"])


def _disk_key(key: tuple) -> str:
    return _machine() + " | " + " ".join(str(part) for part in key)


def _cache_file() -> str | None:
    return os.environ.get("SCRATCHNET_AUTOTUNE_CACHE") or None


def _read_disk(path: str) -> dict[str, Any]:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}  # missing or unreadable: measure, and write a good one
    return data if isinstance(data, dict) else {}


def _from_disk(key: tuple) -> dict[str, Any] | None:
    path = _cache_file()
    if path is None:
        return None
    entry = _read_disk(path).get(_disk_key(key))
    try:
        Layout.parse(entry["chosen"])
    except (TypeError, KeyError, ValueError):
        return None
    return entry


def _to_disk(key: tuple, entry: dict[str, Any]) -> None:
    import json

    from ..fileio import atomic_write

    path = _cache_file()
    if path is None:
        return
    data = _read_disk(path)
    data[_disk_key(key)] = entry
    try:
        with atomic_write(path, "w") as handle:
            json.dump(data, handle, indent=1)
    except OSError:
        pass  # a cache that cannot be written only costs the next run a measurement


def pick(seconds: dict[str, float], x_order: str = "C") -> str:
    """The fastest layout's code, unless the reference one is within MARGIN of it."""
    best = min(seconds, key=seconds.__getitem__)
    reference = "CC" + x_order
    if reference in seconds and seconds[best] >= MARGIN * seconds[reference]:
        return reference
    return best


def measure(
    n_in: int,
    n_out: int,
    batch: int,
    dtype: Any,
    x_order: str = "C",
    *,
    single_thread: bool = False,
) -> dict[str, float]:
    """Seconds per training step of each candidate layout's three products at these shapes
    (their sum; measure_products has them one by one)."""
    products = measure_products(n_in, n_out, batch, dtype, x_order, single_thread=single_thread)
    return {code: sum(seconds) for code, seconds in products.items()}


def measure_products(
    n_in: int,
    n_out: int,
    batch: int,
    dtype: Any,
    x_order: str = "C",
    *,
    single_thread: bool = False,
) -> dict[str, tuple[float, float, float]]:
    """Seconds of each candidate layout's forward, weight-gradient and input-gradient product.

    single_thread: BLAS runs in the calling thread, so its CPU time (time.thread_time) is the
    product's cost even while other processes share the cores; otherwise wall time counts.

    The candidates are every weight and output order; the input gradient goes back in the
    input's own order (so the layer below reads its gradient in the layout it wrote its
    output), and grad_z is taken in the output's order (the activation's buffers follow it).
    Each product is timed alone, interleaved round by round; the minimum over rounds counts.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)

    def array(rows: int, cols: int, order: str) -> np.ndarray:
        values = rng.standard_normal((rows, cols), dtype=np.float64).astype(dtype)
        return np.asarray(values, order=order)

    x = array(batch, n_in, x_order)
    weights = {order: array(n_in, n_out, order) for order in "CF"}
    outputs = {order: array(batch, n_out, order) for order in "CF"}
    grad_zs = {order: array(batch, n_out, order) for order in "CF"}
    grad_weights = {order: array(n_in, n_out, order) for order in "CF"}
    grad_in = array(batch, n_in, x_order)
    products = {}
    for w in "CF":
        for o in "CF":
            code = w + o + x_order
            products[code] = (
                lambda w=w, o=o: np.matmul(x, weights[w], out=outputs[o]),
                lambda w=w, o=o: np.matmul(x.T, grad_zs[o], out=grad_weights[w]),
                lambda w=w, o=o: np.matmul(grad_zs[o], weights[w].T, out=grad_in),
            )
    best = {(code, i): np.inf for code in products for i in range(3)}
    for functions in products.values():  # warm-up: page faults, BLAS buffers, thread start
        for function in functions:
            function()
    clock = time.thread_time if single_thread else time.perf_counter
    started = time.perf_counter()
    for rounds in range(1, MAX_ROUNDS + 1):
        for code, functions in products.items():
            for i, function in enumerate(functions):
                t0 = clock()
                function()
                best[code, i] = min(best[code, i], clock() - t0)
        if rounds >= MIN_ROUNDS and time.perf_counter() - started > BUDGET_SECONDS:
            break
    return {code: (best[code, 0], best[code, 1], best[code, 2]) for code in products}


def layouts(model: Any) -> list[str | None]:
    """Each layer's layout code ('CCC'...), None for layers without one (or not yet chosen)."""
    out: list[str | None] = []
    for layer in model.layers:
        layout = getattr(layer, "layout", None)
        out.append(layout.code if isinstance(layout, Layout) else None)
    return out


def apply(model: Any, codes: list[str | None]) -> None:
    """Give each layer the recorded layout (from `layouts`), e.g. to resume a run bitwise."""
    if len(codes) != len(model.layers):
        raise ValueError(
            f"{len(codes)} recorded layouts for a network of {len(model.layers)} layers"
        )
    for layer, code in zip(model.layers, codes, strict=True):
        if code is not None and hasattr(layer, "set_layout"):
            layer.set_layout(Layout.parse(code))


__all__ = [
    "REFERENCE",
    "Layout",
    "apply",
    "choose",
    "clear_cache",
    "disabled",
    "enabled",
    "layouts",
    "measure",
    "measure_products",
    "measurements",
    "order_of",
    "pick",
    "set_enabled",
]
