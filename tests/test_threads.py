"""scratchnet.threads: BLAS thread limits through threadpoolctl when it is installed, nothing
(and no error) when it is not, and the thread-count heuristic."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet import threads


def _blas_threads() -> set[int]:
    return {info["num_threads"] for info in threads.blas_info()}


def test_blas_threads_limits_inside_the_block_and_restores_after():
    pytest.importorskip("threadpoolctl")
    if not threads.blas_info():
        pytest.skip("no BLAS library that threadpoolctl can see")
    before = _blas_threads()
    with threads.blas_threads(1):
        assert _blas_threads() == {1}
        a = np.ones((64, 64))
        np.testing.assert_array_equal(a @ a, np.full((64, 64), 64.0))
    assert _blas_threads() == before


def test_blas_threads_restores_after_an_error():
    pytest.importorskip("threadpoolctl")
    before = _blas_threads()
    with pytest.raises(KeyError), threads.blas_threads(1):
        raise KeyError("boom")
    assert _blas_threads() == before


def test_none_leaves_blas_alone():
    before = _blas_threads()
    with threads.blas_threads(None):
        assert _blas_threads() == before


def test_without_threadpoolctl_everything_is_a_quiet_no_op(monkeypatch):
    monkeypatch.setattr(threads, "_threadpoolctl", lambda: None)
    assert not threads.available()
    assert threads.blas_info() == []
    with threads.blas_threads(1):
        pass


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_thread_counts_are_validated(bad):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        threads.check_threads(bad)
    with (
        pytest.raises(ValueError, match="threads must be a positive integer"),
        threads.blas_threads(bad),
    ):
        pass


def test_choose_threads_uses_one_thread_for_small_products_and_every_core_for_big_ones():
    assert threads.choose_threads([784, 16, 10], 4, cores=2) == 1
    assert threads.choose_threads([784, 30, 10], 10, cores=2) == 1
    assert threads.choose_threads([784, 50, 10], 32, cores=2) == 2
    assert threads.choose_threads([784, 100, 10], 100, cores=2) == 2
    assert threads.choose_threads([784, 1024, 1024, 10], 128, cores=2) == 2
    assert threads.choose_threads([784, 1024, 1024, 10], 128, cores=8) == 8
    assert threads.choose_threads([784, 512, 256, 10], 128, cores=1) == 1
    assert 1 <= threads.choose_threads([784, 1024, 10], 128) <= threads.cpu_count()


@pytest.mark.parametrize(
    ("sizes", "batch_size"), [([784], 100), ([784, 0, 10], 100), ([784, 10], 0)]
)
def test_choose_threads_rejects_bad_sizes(sizes, batch_size):
    with pytest.raises(ValueError):
        threads.choose_threads(sizes, batch_size)


def test_choose_threads_never_raises_a_limit_set_from_outside():
    pytest.importorskip("threadpoolctl")
    if not threads.blas_info():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threads.blas_threads(1):
        assert threads.current_threads() == 1
        assert threads.choose_threads([784, 1024, 1024, 10], 128) == 1


def _tiny_data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 3, size=40)
    return (images[:30], labels[:30]), (images[30:], labels[30:])


def test_train_classifier_takes_a_thread_count_and_checks_it():
    from scratchnet.train import TrainConfig, train_classifier

    config = TrainConfig(hidden=(5,), epochs=1, batch_size=8, validation_size=6)
    result = train_classifier(config, data=_tiny_data(), threads=1)
    assert result.history.epochs == 1
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        train_classifier(config, data=_tiny_data(), threads=0)
