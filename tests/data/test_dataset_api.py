"""The public face: names, class names, keras-style modules, and what the package imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import scratchnet.data as data
from scratchnet.datasets import fashion_mnist, mnist


def test_names_and_class_names():
    assert data.DATASETS == ("mnist", "fashion-mnist")
    assert mnist.CLASS_NAMES == tuple("0123456789")
    assert fashion_mnist.CLASS_NAMES[0] == "T-shirt/top"
    assert fashion_mnist.CLASS_NAMES[9] == "Ankle boot"
    assert len(fashion_mnist.CLASS_NAMES) == 10
    assert data.class_names("Fashion_MNIST") == fashion_mnist.CLASS_NAMES


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match="unknown data set 'cifar10'; expected one of: mnist, fashion-mnist"
    ):
        data.load_dataset("cifar10")


def test_keras_style_modules_load(fake, tmp_path):
    fake.write(tmp_path / "mnist")
    fake.write(tmp_path / "fashion-mnist", "fashion-mnist")
    fake.check(mnist.load_data(tmp_path))
    fake.check(fashion_mnist.load_data(data_dir=tmp_path, download=False), "fashion-mnist")
    fake.check(data.load_dataset("fashion_mnist", tmp_path), "fashion-mnist")


LOADER_MODULES = [
    "__init__",
    "catalog",
    "download",
    "fashion_mnist",
    "idx",
    "local",
    "mnist",
    "sources",
]


@pytest.mark.parametrize("module", LOADER_MODULES)
def test_loader_imports_only_stdlib_numpy_and_scratchnet_errors(module):
    """Module-level imports only: tqdm may be imported lazily, inside a function."""
    path = Path(data.__file__).parent / f"{module}.py"
    allowed_own = ("scratchnet.errors", "scratchnet.fileio", "scratchnet.data")
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else ["scratchnet.data"]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            ok = top in sys.stdlib_module_names or top == "numpy" or name.startswith(allowed_own)
            assert ok, f"{path.name} imports {name}"
