"""MiniBatches: every index exactly once per epoch, batch sizes, shuffling, validation."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchnet.data.batches import MiniBatches, check_batch_size
from scratchnet.data.features import PIXEL_SCALE, images_to_features

# The data tests' autouse `isolated` fixture only points environment variables at tmp_path;
# it is harmless to share it between hypothesis examples.
PROPERTY = settings(
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _epoch(batches: MiniBatches) -> list[tuple[np.ndarray, np.ndarray]]:
    # The yielded arrays are views of reused buffers: copy each before drawing the next.
    return [(x.copy(), labels.copy()) for x, labels in batches.epoch()]


def _column(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n, dtype=np.int64).reshape(n, 1)
    labels = np.arange(n, dtype=np.int64) * 10  # tied to x, so pairing errors show
    return x, labels


@PROPERTY
@given(n=st.integers(1, 200), batch_size=st.integers(1, 250), shuffle=st.booleans())
def test_one_epoch_covers_every_index_exactly_once(n, batch_size, shuffle):
    x, labels = _column(n)
    rng = np.random.default_rng(n * 1000 + batch_size) if shuffle else None
    batches = MiniBatches(x, labels, batch_size, rng=rng)
    epoch = _epoch(batches)
    seen = np.concatenate([xb[:, 0] for xb, _ in epoch])
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    for xb, lb in epoch:
        np.testing.assert_array_equal(lb, xb[:, 0] * 10)  # x and labels stay paired
    # All batches have the requested size (capped at n) except possibly a smaller last one.
    size = min(batch_size, n)
    sizes = [xb.shape[0] for xb, _ in epoch]
    assert all(s == size for s in sizes[:-1])
    assert 1 <= sizes[-1] <= size
    assert len(epoch) == len(batches) == -(-n // size)
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(n))


def test_two_epochs_give_different_orders_with_shuffling():
    x, labels = _column(50)
    batches = MiniBatches(x, labels, 8, rng=np.random.default_rng(0))
    first = np.concatenate([xb[:, 0] for xb, _ in _epoch(batches)])
    second = np.concatenate([xb[:, 0] for xb, _ in _epoch(batches)])
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(50))
    np.testing.assert_array_equal(np.sort(first), np.sort(second))


def test_no_shuffle_order_is_0_to_n_minus_1_every_epoch():
    x, labels = _column(23)
    batches = MiniBatches(x, labels, 5)
    for _ in range(2):
        epoch = _epoch(batches)
        assert [xb.shape[0] for xb, _ in epoch] == [5, 5, 5, 5, 3]
        np.testing.assert_array_equal(np.concatenate([xb[:, 0] for xb, _ in epoch]), np.arange(23))


def test_same_seed_same_batches():
    x, labels = _column(30)
    a = MiniBatches(x, labels, 7, rng=np.random.default_rng(3))
    b = MiniBatches(x, labels, 7, rng=np.random.default_rng(3))
    for (xa, la), (xb, lb) in zip(_epoch(a), _epoch(b), strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(la, lb)


def test_batches_keep_feature_shape_and_dtype():
    x = np.random.default_rng(0).standard_normal((10, 3, 2)).astype(np.float32)
    labels = np.arange(10)
    for rng in (None, np.random.default_rng(0)):
        for xb, lb in MiniBatches(x, labels, 4, rng=rng).epoch():
            assert xb.shape[1:] == (3, 2) and xb.dtype == np.float32
            assert lb.dtype == labels.dtype
            assert xb.flags.c_contiguous
            np.testing.assert_array_equal(xb, x[lb])


def test_batches_do_not_modify_the_data():
    x, labels = _column(12)
    before = x.copy()
    batches = MiniBatches(x, labels, 5, rng=np.random.default_rng(0))
    for xb, _ in batches.epoch():
        xb += 1000  # a consumer scribbling on its batch writes into the buffer, not into x
    np.testing.assert_array_equal(x, before)
    # ... and the next epoch still draws from the original data.
    again = np.concatenate([b[:, 0] for b, _ in _epoch(batches)])
    np.testing.assert_array_equal(np.sort(again), np.arange(12))


def test_empty_data_raises():
    with pytest.raises(ValueError, match="empty"):
        MiniBatches(np.zeros((0, 3)), np.zeros(0), 4)


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="same length; received 5 and 4"):
        MiniBatches(np.zeros((5, 3)), np.zeros(4), 2)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, "8", True, None])
def test_bad_batch_size_raises(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer; received"):
        MiniBatches(np.zeros((5, 3)), np.zeros(5), batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        check_batch_size(batch_size)


def test_check_batch_size_accepts_numpy_integers():
    assert check_batch_size(np.int64(16)) == 16
    assert type(check_batch_size(np.int32(3))) is int


# -- gathering modes ---------------------------------------------------------------------------


@PROPERTY
@given(
    n=st.integers(1, 120),
    batch_size=st.integers(1, 30),
    chunk_batches=st.integers(1, 5),
    start=st.integers(0, 6),
)
def test_every_gathering_mode_draws_the_same_batches(n, batch_size, chunk_batches, start):
    x, labels = _column(n)
    order = np.random.default_rng(n).permutation(n)
    epochs = {}
    for gather in ("serial", "ahead"):
        batches = MiniBatches(
            x,
            labels,
            batch_size,
            rng=np.random.default_rng(0),
            gather=gather,
            chunk_batches=chunk_batches,
        )
        start = min(start, len(batches))
        epochs[gather] = [(xb.copy(), lb.copy()) for xb, lb in batches.epoch(order, start=start)]
    size = min(batch_size, n)
    expected = order[start * size :]
    for epoch in epochs.values():
        drawn = np.concatenate([xb[:, 0] for xb, _ in epoch]) if epoch else np.empty(0, int)
        np.testing.assert_array_equal(drawn, expected)
        assert all(xb.shape[0] == size for xb, _ in epoch[:-1])
        for xb, lb in epoch:
            np.testing.assert_array_equal(lb, xb[:, 0] * 10)


def test_a_batch_gathered_ahead_holds_until_the_next_is_drawn():
    # Each batch is checked when it arrives and again just before the next one is drawn, after
    # the background thread has had time to fill the other chunk buffer.
    x, labels = _column(200)
    batches = MiniBatches(
        x, labels, 8, rng=np.random.default_rng(1), gather="ahead", chunk_batches=2
    )
    order = batches.order()
    for k, (xb, lb) in enumerate(batches.epoch(order)):
        expected = order[k * 8 : (k + 1) * 8]
        np.testing.assert_array_equal(xb[:, 0], expected)
        time.sleep(0.002)
        np.testing.assert_array_equal(xb[:, 0], expected)
        np.testing.assert_array_equal(lb, expected * 10)


def test_an_error_while_gathering_ahead_reaches_the_caller(monkeypatch):
    x, labels = _column(40)
    batches = MiniBatches(
        x, labels, 4, rng=np.random.default_rng(0), gather="ahead", chunk_batches=2
    )
    real = batches._gather
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("no room for the third chunk")
        return real(*args)

    monkeypatch.setattr(batches, "_gather", failing)
    drawn = []
    with pytest.raises(MemoryError, match="third chunk"):
        for xb, _ in batches.epoch():
            drawn.append(xb.copy())
    assert len(drawn) == 4  # the two chunks gathered before the failure


def test_an_abandoned_epoch_stops_the_background_thread():
    x, labels = _column(400)
    batches = MiniBatches(x, labels, 4, rng=np.random.default_rng(0), gather="ahead")
    epoch = batches.epoch()
    next(epoch)
    epoch.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("scratchnet-batches")]


def test_batches_are_gathered_serially_unless_asked():
    x, labels = _column(10)
    assert MiniBatches(x, labels, 4).gather == "serial"
    assert MiniBatches(x, labels, 4, gather="ahead").gather == "ahead"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gather": "parallel"}, "gather must be one of serial, ahead; received gather='parall"),
        ({"gather": None}, "gather must be one of serial, ahead; received gather=None"),
        ({"chunk_batches": 0}, "chunk_batches must be a positive integer; received"),
    ],
)
def test_bad_gathering_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MiniBatches(np.zeros((5, 3)), np.zeros(5), 2, **kwargs)


# -- 8-bit pixels scaled on the way ------------------------------------------------------------


def _pixels(n: int, width: int = 6, dtype=np.uint8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    return rng.integers(0, 256, (n, width)).astype(dtype), rng.integers(0, 10, n)


@PROPERTY
@given(
    n=st.integers(1, 90),
    batch_size=st.integers(1, 25),
    chunk_batches=st.integers(1, 4),
    gather=st.sampled_from(["serial", "ahead"]),
    shuffle=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    raw=st.sampled_from([np.uint8, np.int64]),
)
def test_scaled_batches_are_bitwise_the_float_features(
    n, batch_size, chunk_batches, gather, shuffle, dtype, raw
):
    images, labels = _pixels(n, dtype=raw)
    features = images_to_features(images, dtype)

    def batches(x, **kwargs):
        rng = np.random.default_rng(4) if shuffle else None
        return MiniBatches(
            x, labels, batch_size, rng=rng, gather=gather, chunk_batches=chunk_batches, **kwargs
        )

    scaled = _epoch(batches(images, scale=PIXEL_SCALE, dtype=dtype))
    plain = _epoch(batches(features))
    assert len(scaled) == len(plain)
    for (xs, ls), (xp, lp) in zip(scaled, plain, strict=True):
        assert xs.dtype == np.dtype(dtype)
        # Bit for bit: view the floats as integers so that -0.0 and 0.0 would differ too.
        np.testing.assert_array_equal(xs.view(f"u{xs.itemsize}"), xp.view(f"u{xp.itemsize}"))
        np.testing.assert_array_equal(ls, lp)


def test_scaled_batches_hold_values_in_zero_one_and_keep_x_unchanged():
    images, labels = _pixels(50)
    before = images.copy()
    batches = MiniBatches(images, labels, 8, rng=np.random.default_rng(0), scale=1 / 255)
    drawn = np.concatenate([xb for xb, _ in _epoch(batches)])
    assert drawn.dtype == np.float32 and drawn.min() >= 0 and drawn.max() <= 1
    assert sorted(np.round(drawn * 255).astype(int).sum(axis=1)) == sorted(
        images.astype(int).sum(axis=1)
    )
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (np.zeros((5, 3), np.float32), {"scale": 1 / 255}, "scale is for integer x .* float32"),
        (np.zeros((5, 3), np.uint8), {"scale": 0}, r"scale must be a finite number > 0; .*=0"),
        (np.zeros((5, 3), np.uint8), {"scale": -1.0}, "scale must be a finite number > 0"),
        (np.zeros((5, 3), np.uint8), {"scale": float("nan")}, "scale must be a finite number"),
        (np.zeros((5, 3), np.uint8), {"scale": "x"}, "scale must be a finite number"),
        (np.zeros((5, 3), np.uint8), {"scale": True}, "scale must be a finite number"),
        (np.zeros((5, 3), np.uint8), {"scale": 1.0, "dtype": np.int32}, "dtype must be float32"),
        (np.zeros((5, 3), np.uint8), {"scale": 1.0, "dtype": "nope"}, "dtype must be float32"),
        (np.zeros((5, 3), np.uint8), {"scale": 1.0, "dtype": None}, "dtype must be float32"),
    ],
)
def test_bad_scaling_options_raise(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MiniBatches(x, np.zeros(5), 2, **kwargs)
