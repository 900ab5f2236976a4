"""One benchmark run in a process of its own: train one implementation on MNIST, print JSON.

bench_speed.py starts this script once per (case, implementation, threads, seed), so that each
run's peak memory (ru_maxrss) is its own and no library's thread pools leak into another's.
By hand: python benchmarks/speed_workers.py '{"impl": "scratchnet", "case": "small",
"threads": 1, "seed": 0, "epochs": 2}'

Every implementation gets the same MNIST arrays (60,000 training images / 255, the 10,000 test
images; scratchnet gets the training images as bytes and scales each batch to the same float32
values, as `scratchnet train` does), architecture, batch size, epochs and BLAS thread count.
Only training is timed, epoch by epoch; test accuracy is measured between epochs with the clock
stopped.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One benchmark case: the architecture and how every implementation trains it."""

    title: str
    hidden: tuple[int, ...]
    batch_size: int
    optimizer: str  # "sgd" (plain, no momentum) or "adam"
    learning_rate: float
    epochs: int
    dropout: float = 0.0
    # The notebook class that has this shape (None: the notebook has no such network).
    notebook: str | None = None
    notebook_learning_rate: float = 1e-4  # what the notebook used (on summed gradients)
    implementations: tuple[str, ...] = ("scratchnet", "torch", "sklearn", "notebook")
    extra: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "small": Case(
        "784-100-10, batch 100, SGD 0.1",
        (100,),
        100,
        "sgd",
        0.1,
        epochs=10,
        notebook="NeuralNetwork_2",
    ),
    "wide": Case(
        "784-1024-1024-10, batch 128, SGD 0.1",
        (1024, 1024),
        128,
        "sgd",
        0.1,
        epochs=6,
        notebook="NeuralNetwork_3",
    ),
    "deep": Case(
        "the notebook's deep network: 784-(100 x 11)-10, batch 100, SGD 0.05",
        (100,) * 11,
        100,
        "sgd",
        0.05,
        epochs=10,
        notebook="NeuralNetwork",
    ),
    "adam": Case(
        "784-512-256-10, Adam 1e-3, dropout 0.2, batch 128",
        (512, 256),
        128,
        "adam",
        1e-3,
        epochs=15,
        dropout=0.2,
        # scikit-learn's MLPClassifier has no dropout; the notebook has no Adam.
        implementations=("scratchnet", "torch", "scratchnet-fast"),
    ),
}

# scratchnet's own fast recipe for the time-to-98% race: scratchnet train's default network and
# optimiser (784-512-256-10, Nesterov SGD 0.05, weight decay 5e-4, batch 128) with the cosine
# schedule compressed to 6 epochs.
FAST_RECIPE = {
    "hidden": (512, 256),
    "learning_rate": 0.05,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "batch_size": 128,
    "epochs": 6,
}


def load_mnist(data_dir: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 images (n, 28, 28) and int64 labels for train and test, from scratchnet's loader."""
    from scratchnet.data import load_dataset

    (x_train, y_train), (x_test, y_test) = load_dataset("mnist", data_dir, download=False)
    return x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64)


def features(images: np.ndarray) -> np.ndarray:
    """(n, 784) float32 in [0, 1], C-contiguous: what scratchnet, PyTorch and sklearn all get."""
    out = images.reshape(images.shape[0], -1).astype(np.float32)
    out *= np.float32(1 / 255)
    return out


def rss_mb() -> float:
    """The current resident set size in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def peak_rss_mb() -> float:
    """The process's peak resident set size so far in MB (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def elapsed(started: tuple[float, float]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) since `started` = (perf_counter, process_time).

    With one BLAS thread the CPU time is what the epoch would take on an idle machine, near
    enough: a useful second reading when other work shares the cores. With more threads it
    also counts the time idle BLAS/OpenMP threads spend spinning, so only wall time counts.
    """
    return time.perf_counter() - started[0], time.process_time() - started[1]


# -- the implementations ---------------------------------------------------------------------
# Each has train_epoch() and predict(x_test rows) -> labels; x_test is passed in its own layout.


class ScratchnetRun:
    """scratchnet.train.fit, one call for all epochs; a callback stops the clock to test.

    Like `scratchnet train`, it keeps the 8-bit training images as bytes and lets fit scale
    each gathered chunk (fit's x_scale=1/255): its batches are bit for bit the float32
    features the other implementations get, copied out of a quarter of the bytes.
    """

    def __init__(self, case: Case, seed: int, x_train, y_train, threads: int, fast: bool = False):
        import scratchnet
        from scratchnet.data.features import PIXEL_SCALE
        from scratchnet.threads import blas_threads

        self.scratchnet = scratchnet
        self.x, self.y = x_train.reshape(x_train.shape[0], -1), y_train
        self.x_scale = PIXEL_SCALE
        settings = FAST_RECIPE if fast else {}
        hidden = settings.get("hidden", case.hidden)
        self.batch_size = settings.get("batch_size", case.batch_size)
        dropout = 0.0 if fast else case.dropout
        self.model = scratchnet.nn.mlp(784, hidden, 10, dropout=dropout, seed=seed)
        self.loss = scratchnet.nn.SoftmaxCrossEntropy()
        self.callbacks = []
        if fast:
            self.optimizer = scratchnet.optim.SGD(
                settings["learning_rate"],
                settings["momentum"],
                nesterov=True,
                weight_decay=settings["weight_decay"],
            )
            steps = settings["epochs"] * -(-self.x.shape[0] // self.batch_size)
            schedule = scratchnet.optim.get_schedule(
                "cosine", settings["learning_rate"], steps, warmup_steps=steps // 50
            )
            self.callbacks.append(scratchnet.train.LearningRateSchedule(schedule))
        elif case.optimizer == "sgd":
            self.optimizer = scratchnet.optim.SGD(case.learning_rate)
        else:
            self.optimizer = scratchnet.optim.Adam(case.learning_rate)
        self.seed = seed
        # For the whole process (training and inference), like the other implementations.
        self.threads = blas_threads(threads)
        self.threads.__enter__()

    def run(self, epochs: int, on_epoch) -> None:
        """Train for `epochs`; on_epoch(wall, cpu) is called after each epoch (clock stopped)."""
        from scratchnet.train import Callback, fit

        class Clock(Callback):
            def on_epoch_begin(self, state) -> None:
                self.started = time.perf_counter(), time.process_time()

            def on_epoch_end(self, state) -> None:
                on_epoch(*elapsed(self.started))

        fit(
            self.model,
            self.loss,
            self.optimizer,
            (self.x, self.y),
            epochs=epochs,
            batch_size=self.batch_size,
            callbacks=[*self.callbacks, Clock()],
            seed=self.seed,
            x_scale=self.x_scale,
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x)

    def test_input(self, images: np.ndarray) -> np.ndarray:
        return features(images)


class TorchRun:
    """PyTorch eager on the CPU, written the efficient way: tensors indexed by a shuffled
    permutation (no DataLoader), zero_grad(set_to_none=True), default initialisation."""

    def __init__(self, case: Case, seed: int, x_train, y_train, threads: int):
        import torch
        from torch import nn

        self.torch = torch
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.x = torch.from_numpy(features(x_train))
        self.y = torch.from_numpy(y_train)
        layers: list[Any] = []
        width = 784
        for hidden in case.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if case.dropout:
                layers.append(nn.Dropout(case.dropout))
            width = hidden
        layers.append(nn.Linear(width, 10))
        self.model = nn.Sequential(*layers)
        if case.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=case.learning_rate)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=case.learning_rate)
        self.batch_size = case.batch_size

    def run(self, epochs: int, on_epoch) -> None:
        torch, model, optimizer = self.torch, self.model, self.optimizer
        functional = torch.nn.functional
        n = self.x.shape[0]
        for _ in range(epochs):
            started = time.perf_counter(), time.process_time()
            model.train()
            order = torch.randperm(n, generator=self.generator)
            loss_sum, correct = 0.0, 0
            for start in range(0, n, self.batch_size):
                index = order[start : start + self.batch_size]
                x_batch, y_batch = self.x[index], self.y[index]
                logits = model(x_batch)
                loss = functional.cross_entropy(logits, y_batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                # The running loss and accuracy that scratchnet's fit also keeps.
                loss_sum += loss.item() * y_batch.shape[0]
                correct += int((logits.argmax(1) == y_batch).sum())
            on_epoch(*elapsed(started))

    def predict(self, x) -> np.ndarray:
        self.model.eval()
        with self.torch.inference_mode():
            return self.model(x).argmax(1).numpy()

    def test_input(self, images: np.ndarray):
        return self.torch.from_numpy(features(images))


class SklearnRun:
    """scikit-learn's MLPClassifier, one partial_fit (one shuffled epoch) at a time, float32."""

    def __init__(self, case: Case, seed: int, x_train, y_train, threads: int):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from threadpoolctl import threadpool_limits

        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        self.limits = threadpool_limits(limits=threads, user_api="blas")
        self.x, self.y = features(x_train), y_train
        self.model = MLPClassifier(
            hidden_layer_sizes=case.hidden,
            activation="relu",
            solver=case.optimizer,
            learning_rate_init=case.learning_rate,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=case.batch_size,
            shuffle=True,
            random_state=seed,
        )

    def run(self, epochs: int, on_epoch) -> None:
        classes = np.arange(10)
        for _ in range(epochs):
            started = time.perf_counter(), time.process_time()
            self.model.partial_fit(self.x, self.y, classes=classes)
            on_epoch(*elapsed(started))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x)

    def test_input(self, images: np.ndarray) -> np.ndarray:
        return features(images)


class NotebookRun:
    """The notebook's own class, as written: float64, (features, batch) columns, no shuffling,
    its initialisation and learning rate, one train(..., EPOCHS=0) call per epoch."""

    def __init__(self, case: Case, seed: int, x_train, y_train, threads: int):
        import notebook_reference as notebook
        from threadpoolctl import threadpool_limits

        self.limits = threadpool_limits(limits=threads, user_api="blas")
        # The notebook draws its weights from NumPy's global generator.
        np.random.seed(seed)  # noqa: NPY002
        # The notebook's own preprocessing: float64 / 255, flattened, transposed to columns.
        self.features = np.reshape(x_train / 255.0, (len(x_train), 784)).T
        self.labels = notebook.one_hot_encoding(y_train)
        self.kind = case.notebook
        self.lr = case.notebook_learning_rate
        self.batch_size = case.batch_size
        width = case.hidden
        if self.kind == "NeuralNetwork_2":
            self.model = notebook.NeuralNetwork_2(784, width[0], 10)
        elif self.kind == "NeuralNetwork_3":
            self.model = notebook.NeuralNetwork_3(784, width[0], width[1], 10)
        else:
            self.model = notebook.NeuralNetwork(
                784, 10, hiddenUnits=width[0], hiddenLayers=len(width) - 1, activation_func="relu"
            )

    def run(self, epochs: int, on_epoch) -> None:
        for _ in range(epochs):
            started = time.perf_counter(), time.process_time()
            if self.kind == "NeuralNetwork":
                self.model.train(self.features, self.labels, self.batch_size, self.lr, 0)
            else:
                self.model.train(self.features, self.labels, self.lr, 0, self.batch_size)
            on_epoch(*elapsed(started))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The forward pass of the notebook's test_accuracy, without its print."""
        model = self.model
        if self.kind == "NeuralNetwork_2":
            hidden = model.hypothesis("relu", model.linear_hypo(model.weight1, x, model.bias1))
            out = model.hypothesis("softmax", model.linear_hypo(model.weight2, hidden, model.bias2))
        elif self.kind == "NeuralNetwork_3":
            h1 = model.hypothesis("relu", model.linear_hypo(model.weight1, x, model.bias1))
            h2 = model.hypothesis("relu", model.linear_hypo(model.weight2, h1, model.bias2))
            out = model.hypothesis("softmax", model.linear_hypo(model.weight3, h2, model.bias3))
        else:
            out = x
            for layer in model.Layers:
                out = layer.forward(out)
        with np.errstate(all="ignore"):
            return np.argmax(out, axis=0)

    def test_input(self, images: np.ndarray) -> np.ndarray:
        return np.reshape(images / 255.0, (len(images), 784)).T


def make_run(impl: str, case: Case, seed: int, x_train, y_train, threads: int):
    if impl in ("scratchnet", "scratchnet-reference", "scratchnet-tuned"):
        # What `scratchnet train` does by default (reference layouts, a plain SGD step fused
        # into the weight gradient's product, nn/blas.py), against the reference arithmetic:
        # np.matmul for every product, then the optimiser's own pass over the weights; and
        # the default with layouts chosen by measurement (train --autotune, nn/autotune.py).
        from scratchnet.nn import autotune, blas

        autotune.set_enabled(impl == "scratchnet-tuned")
        blas.set_enabled(impl != "scratchnet-reference")
        return ScratchnetRun(case, seed, x_train, y_train, threads)
    if impl == "scratchnet-fast":
        return ScratchnetRun(case, seed, x_train, y_train, threads, fast=True)
    if impl == "torch":
        return TorchRun(case, seed, x_train, y_train, threads)
    if impl == "sklearn":
        return SklearnRun(case, seed, x_train, y_train, threads)
    if impl == "notebook":
        return NotebookRun(case, seed, x_train, y_train, threads)
    raise ValueError(f"unknown implementation {impl!r}")


def rows_of(x, start: int, stop: int, column_major: bool):
    return x[:, start:stop] if column_major else x[start:stop]


def inference_throughput(run, x_test, column_major: bool, budget: float = 0.6) -> dict[str, float]:
    """Images per second through run.predict at batch 1 and batch 1000 (best of a few passes)."""
    n = x_test.shape[1] if column_major else x_test.shape[0]
    out: dict[str, float] = {}
    for batch in (1, 1000):
        best = float("inf")
        deadline = time.perf_counter() + budget
        done_images = 0
        while True:
            count = 0
            started = time.perf_counter()
            stop_at = started + budget / 4
            start = 0
            while count < (200 if batch == 1 else 3000) and time.perf_counter() < stop_at:
                run.predict(rows_of(x_test, start, start + batch, column_major))
                start = (start + batch) % (n - batch)
                count += batch
            elapsed = time.perf_counter() - started
            best = min(best, elapsed / count)
            done_images += count
            if time.perf_counter() > deadline:
                break
        out[f"batch_{batch}"] = 1.0 / best
    return out


def main(spec: dict[str, Any]) -> dict[str, Any]:
    case = CASES[spec["case"]]
    impl, seed = spec["impl"], int(spec["seed"])
    threads = spec["threads"]
    if threads == "auto":
        # scratchnet's own choice for this network and batch size (scratchnet.threads).
        from scratchnet.threads import choose_threads

        threads = choose_threads([784, *case.hidden, 10], case.batch_size)
    threads = int(threads)
    epochs = int(spec.get("epochs") or case.epochs)
    if impl == "scratchnet-fast":
        epochs = FAST_RECIPE["epochs"]
    started = time.perf_counter()
    x_train, y_train, x_test_images, y_test = load_mnist(spec.get("data_dir"))
    run = make_run(impl, case, seed, x_train, y_train, threads)
    x_test = run.test_input(x_test_images)
    column_major = impl == "notebook"
    rss_before = rss_mb()
    epoch_seconds: list[float] = []
    epoch_cpu_seconds: list[float] = []
    accuracy: list[float] = []

    def on_epoch(seconds: float, cpu_seconds: float) -> None:
        epoch_seconds.append(seconds)
        epoch_cpu_seconds.append(cpu_seconds)
        predicted = np.asarray(run.predict(x_test))
        accuracy.append(float(np.mean(predicted == y_test)))

    run.run(epochs, on_epoch)
    throughput = inference_throughput(run, x_test, column_major)
    result = {
        **spec,
        "epochs": epochs,
        "threads_used": threads,
        "epoch_seconds": epoch_seconds,
        "epoch_cpu_seconds": epoch_cpu_seconds,
        "test_accuracy": accuracy,
        "inference": throughput,
        "rss_before_training_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "wall_seconds": time.perf_counter() - started,
        "case_settings": asdict(case),
        "blas": blas_description(impl),
        "blas_kernel": blas_kernel(),
    }
    if impl.startswith("scratchnet"):
        from scratchnet.nn import autotune

        result["layouts"] = autotune.layouts(run.model)
    return result


def blas_kernel() -> str | None:
    """The kernel NumPy's OpenBLAS runs here ('Haswell', 'SkylakeX'...; threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return info.get("architecture") or info.get("internal_api")
    return None


def blas_description(impl: str) -> str:
    if impl == "torch":
        import torch

        return (
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"MKL {'on' if torch.backends.mkl.is_available() else 'off'}, "
            f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
        )
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = [
        f"{info.get('internal_api')} {info.get('version')} {info.get('architecture')} "
        f"{info.get('num_threads')} threads"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return "; ".join(parts)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    print(json.dumps(main(json.loads(sys.argv[1]))))
