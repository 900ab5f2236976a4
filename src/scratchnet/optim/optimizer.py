"""The optimiser contract: update a network's parameters in place from its gradients.

State (velocities, moments, the step count) is keyed by (layer index, parameter name), so an
optimiser follows one network. In-place updates (`param -= ...`) keep every reference valid.
Every optimiser also gets global gradient-norm clipping and a max-norm weight constraint, and
can save and restore its state as a flat dict of arrays (for checkpoints). It does not decide
the learning rate over time: that is a schedule's job (schedules.py).

An update is several element-wise operations (scale, decay, accumulate, subtract). Run one
after another over whole arrays, each would stream the parameters, gradients and state through
memory again; `_blocks` runs them all on one cache-sized block before moving to the next, so
memory sees one pass per step (benchmarks/bench_kernels.py measures it against a plain copy of
the same bytes). Each element gets exactly the arithmetic it would get on whole arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

# Elements per block of an update: 65536 float32 are 256 KB per array, so the three arrays of a
# plain SGD step stay in a 1 MB L2 cache between its operations and the five to seven of
# momentum or Adam in L2 and L3. On the 7.4 MB of 784-1024-1024-10's parameters (2-core AMD
# EPYC, under load, best of 15) a Nesterov step with weight decay took 2.46 ms, 2.67 ms with
# blocks of 32768, 3.0 ms with 16384 and 3.14 ms on whole arrays (up to 7.6 ms under heavier
# load: benchmarks/bench_update.py); smaller blocks pay more in per-call overhead.
BLOCK = 1 << 16


def _contiguous(array: np.ndarray) -> bool:
    return array.flags.c_contiguous or array.flags.f_contiguous


def same_layout(arrays: Iterable[np.ndarray]) -> bool:
    """Whether the arrays are contiguous with identical shapes and strides (so that their flat,
    memory-order views pair up element by element)."""
    arrays = list(arrays)
    first = arrays[0]
    return all(
        _contiguous(a) and a.shape == first.shape and a.strides == first.strides for a in arrays
    )


def check_number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """`value` as a finite float within [low, high] (or open ends), else a ValueError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    ok = math.isfinite(number)
    ok = ok and (number > low if low_open else number >= low)
    ok = ok and (number < high if high_open else number <= high)
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open or high == math.inf else "]"
        raise ValueError(
            f"{name} must be in {left}{low:g}, {high:g}{right}; received {name}={value!r}"
        )
    return number


def check_optional_positive(name: str, value: Any) -> float | None:
    """None, or `value` as a finite float > 0, else a ValueError naming it."""
    if value is None:
        return None
    return check_number(name, value, low=0.0, low_open=True, high_open=True)


def global_norm(grads: Iterable[np.ndarray]) -> float:
    """sqrt(sum of g**2 over every array): the L2 norm of all gradients as one vector.

    Each array's squared norm is a BLAS dot in its own dtype (fast, no temporary). If a float32
    sum overflows, which is exactly when clipping matters, it is redone in float64.
    """
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for grad in grads:
            flat = grad.reshape(-1)
            squared = float(np.dot(flat, flat))
            if not math.isfinite(squared) and flat.dtype != np.float64:
                wide = flat.astype(np.float64)
                squared = float(np.dot(wide, wide))
            total += squared
    return math.sqrt(total)


def apply_max_norm(weight: np.ndarray, max_norm: float) -> None:
    """Rescale, in place, each column weight[:, j] whose L2 norm exceeds max_norm down to it.

    weight: (n_in, n_out); column j is output unit j's incoming weights. Columns already within
    the bound are left bitwise unchanged (no blanket shrink by norm / (norm + eps)).
    """
    squared = np.einsum("ij,ij->j", weight, weight)  # (n_out,), no (n_in, n_out) temporary
    norms = np.sqrt(squared, out=squared)
    too_long = norms > max_norm
    if not too_long.any():
        return
    factors = np.ones_like(norms)
    np.divide(max_norm, norms, out=factors, where=too_long)
    weight *= factors


class Optimizer:
    """Base class. `step(model)` applies one update from the gradients the last backward left.

    Parameters (shared by every optimiser, keyword-only)
    ----------
    learning_rate : float, > 0
    clip_norm : float > 0 or None, default None
        Global gradient-norm clipping: when the L2 norm of all the model's gradients taken as one
        vector exceeds clip_norm, every gradient is scaled by clip_norm / norm for this update
        (the layers' grads are not modified; the scale is folded into the update). Weight decay
        (L2) is added after clipping, as torch.nn.utils.clip_grad_norm_ followed by an optimiser
        with weight_decay does. The norm before clipping is kept in `last_grad_norm`.
    max_norm : float > 0 or None, default None
        Max-norm constraint (Srivastava et al. 2014): after each update, every 2-D parameter named
        "weight" has each column (one output unit's incoming weights) rescaled so that its L2
        norm is at most max_norm. Biases and 1-D parameters are not constrained.
    """

    # Names of the per-parameter state arrays a subclass keeps (checked by load_state_dict).
    slots: tuple[str, ...] = ()

    def __init__(
        self,
        learning_rate: float,
        *,
        clip_norm: float | None = None,
        max_norm: float | None = None,
    ) -> None:
        self.learning_rate = check_number("learning_rate", learning_rate, low=0.0, low_open=True)
        self.clip_norm = check_optional_positive("clip_norm", clip_norm)
        self.max_norm = check_optional_positive("max_norm", max_norm)
        self.state: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        self.iterations = 0
        self.last_grad_norm: float | None = None
        # Scratch arrays for the update arithmetic: reused every step, never saved.
        self._scratch: dict[tuple[int, str], np.ndarray] = {}

    def fused_coefficients(self) -> tuple[float, float] | None:
        """(alpha, beta) when this step is param <- beta * param + alpha * grad for every
        parameter, so that layers may apply it inside backward (Sequential.backward(update=));
        None when the update needs more (state, a gradient norm). None here; SGD overrides it.
        """
        return None

    def step(self, model, *, applied: frozenset[tuple[int, str]] = frozenset()) -> None:
        """Update every parameter of `model` in place (clip, update, then constrain).

        applied: the (layer index, name) of parameters the backward pass already updated with
        fused_coefficients() (Sequential.backward's return value): they are not updated again;
        the max-norm constraint still applies to them.
        """
        entries = list(model.parameters())
        if applied and self.clip_norm is not None:
            raise ValueError("a clipped step cannot be fused: its scale needs every gradient")
        grad_scale = 1.0
        if self.clip_norm is not None:
            norm = global_norm(grad for *_, grad in entries)
            self.last_grad_norm = norm
            if not math.isfinite(norm):
                raise FloatingPointError(
                    f"the global gradient norm is {norm} at iteration {self.iterations}: some "
                    "gradients are NaN or infinite, so clipping cannot rescue this step; lower "
                    "the learning rate or check the input"
                )
            if norm > self.clip_norm:
                grad_scale = self.clip_norm / norm
        for index, name, param, grad in entries:
            if (index, name) not in applied:
                self._update((index, name), param, grad, grad_scale)
        if self.max_norm is not None:
            for _, name, param, _ in entries:
                if name == "weight" and param.ndim == 2:
                    apply_max_norm(param, self.max_norm)
        self.iterations += 1

    def _update(
        self, key: tuple[int, str], param: np.ndarray, grad: np.ndarray, grad_scale: float
    ) -> None:
        """Update `param` in place from `grad_scale * grad` (grad_scale is 1.0 unless clipped)."""
        raise NotImplementedError

    def _slot(self, key: tuple[int, str], name: str, param: np.ndarray) -> np.ndarray:
        """The state array `name` for this parameter, created as zeros on first use."""
        state = self.state.get(key)
        if state is None:
            state = self.state[key] = {}
        array = state.get(name)
        if array is None:
            array = state[name] = np.zeros_like(param)
        elif _contiguous(param) and array.shape == param.shape and array.strides != param.strides:
            # The parameter changed layout (a Dense layer's tuned weight order, nn/autotune.py)
            # since this state was made or loaded: the same values, copied into its layout.
            copy = np.empty_like(param)
            np.copyto(copy, array)
            array = state[name] = copy
        return array

    def _blocks(
        self, arrays: tuple[np.ndarray, ...], key: tuple[int, str], scratch: int
    ) -> Iterator[tuple[np.ndarray, ...]]:
        """Matching blocks of `arrays` followed by `scratch` scratch blocks, BLOCK elements at a
        time, as 1-D views in memory order; for small or mismatched arrays, one block: the
        arrays themselves and whole-size scratch arrays.

        The caller applies its update to each block in turn: every element gets the arithmetic
        it would get on the whole arrays, while the block is still in cache.
        """
        param = arrays[0]
        if param.size <= BLOCK or not same_layout(arrays):
            yield (*arrays, *(self._work(key, param, i) for i in range(scratch)))
            return
        flat = [array.ravel(order="K") for array in arrays]
        work = [self._block_scratch(param.dtype, i) for i in range(scratch)]
        size = param.size
        for start in range(0, size, BLOCK):
            stop = min(start + BLOCK, size)
            n = stop - start
            yield (*(f[start:stop] for f in flat), *(w[:n] for w in work))

    def _block_scratch(self, dtype: np.dtype, which: int) -> np.ndarray:
        cache_key = ("block", np.dtype(dtype).str, which)
        array = self._scratch.get(cache_key)
        if array is None:
            array = self._scratch[cache_key] = np.empty(BLOCK, dtype=dtype)
        return array

    def _work(self, key: tuple[int, str], param: np.ndarray, which: int = 0) -> np.ndarray:
        """A scratch array shaped like `param` (uninitialised), reused from step to step."""
        cache_key = (*key, which)
        array = self._scratch.get(cache_key)
        if (
            array is None
            or array.dtype != param.dtype
            or array.shape != param.shape
            or (_contiguous(param) and array.strides != param.strides)
        ):
            array = self._scratch[cache_key] = np.empty_like(param)
        return array

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A flat dict of copies: "learning_rate", "iterations" and "state.<layer>.<name>.<slot>".

        Arrays and plain numbers only, so np.savez can store it and np.load(allow_pickle=False)
        can read it back. The hyperparameters other than the (schedulable) learning rate belong
        to the constructor (get_config), not to the state.
        """
        out: dict[str, Any] = {
            "learning_rate": float(self.learning_rate),
            "iterations": int(self.iterations),
        }
        for (index, name), slots in sorted(self.state.items()):
            for slot, array in slots.items():
                out[f"state.{index}.{name}.{slot}"] = array.copy()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Replace this optimiser's state with (copies of) one from state_dict()."""
        for required in ("learning_rate", "iterations"):
            if required not in state_dict:
                raise ValueError(f"state_dict has no {required!r}; was it made by state_dict()?")
        iterations = state_dict["iterations"]
        if np.ndim(iterations) != 0 or int(iterations) != iterations or int(iterations) < 0:
            raise ValueError(
                f"iterations must be a non-negative integer; received iterations={iterations!r}"
            )
        learning_rate = check_number(
            "learning_rate", state_dict["learning_rate"], low=0.0, low_open=True, high_open=True
        )
        state: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        for full_key, value in state_dict.items():
            if full_key in ("learning_rate", "iterations"):
                continue
            parts = full_key.split(".")
            if len(parts) < 4 or parts[0] != "state" or not parts[1].isdigit():
                raise ValueError(
                    f"unexpected state_dict key {full_key!r}; expected 'learning_rate', "
                    "'iterations' or 'state.<layer index>.<parameter>.<slot>'"
                )
            index, name, slot = int(parts[1]), ".".join(parts[2:-1]), parts[-1]
            if slot not in self.slots:
                raise ValueError(
                    f"state_dict key {full_key!r} holds {slot!r}, which {type(self).__name__} "
                    f"does not keep (its state: {list(self.slots)}); was it saved from another "
                    "optimiser?"
                )
            state.setdefault((index, name), {})[slot] = np.array(value, copy=True)
        self.state = state
        self.iterations = int(iterations)
        self.learning_rate = learning_rate

    # -- description ---------------------------------------------------------------------------
    def _constraint_config(self) -> dict[str, Any]:
        """clip_norm and max_norm, only when set (so existing configs keep their keys)."""
        config: dict[str, Any] = {}
        if self.clip_norm is not None:
            config["clip_norm"] = self.clip_norm
        if self.max_norm is not None:
            config["max_norm"] = self.max_norm
        return config

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, **self._constraint_config()}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"
