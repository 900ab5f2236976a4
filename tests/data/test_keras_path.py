"""load_data(path=...), keras' keyword: a .npz file, a data folder, or keras' cache name."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.datasets import fashion_mnist, mnist
from scratchnet.errors import DataError, DatasetNotFoundError


def write_keras_npz(path, n_train=60_000, n_test=10_000):
    """keras' mnist.npz layout, blank images (the archive is checked for shapes, not content)."""
    np.savez(
        path,
        x_train=np.zeros((n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train, dtype=np.uint8) % 10,
        x_test=np.zeros((n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test, dtype=np.uint8) % 10,
    )


def test_path_to_a_keras_npz(tmp_path):
    write_keras_npz(tmp_path / "mine.npz")
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=tmp_path / "mine.npz")
    assert x_train.shape == (60_000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10_000, 28, 28) and y_test[:4].tolist() == [0, 1, 2, 3]


def test_path_to_a_folder_is_a_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    write_keras_npz(tmp_path / "mnist.npz")
    (x_train, _), _ = mnist.load_data(path=str(tmp_path))
    assert x_train.shape == (60_000, 28, 28)


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="nowhere.npz: no such file or folder"):
        fashion_mnist.load_data(path=tmp_path / "nowhere.npz")


def test_a_bad_npz_is_a_data_error(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz: not a valid NumPy .npz"):
        mnist.load_data(path=tmp_path / "bad.npz")


def test_keras_default_name_falls_back_to_the_search(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    write_keras_npz(tmp_path / "mnist.npz")
    (x_train, _), _ = mnist.load_data(path="mnist.npz")
    assert x_train.shape == (60_000, 28, 28)
