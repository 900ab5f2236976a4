"""nn/blas.py: gemm with alpha and beta through NumPy's own BLAS, checked against np.matmul."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scratchnet.nn import blas

pytestmark = pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS has no CBLAS gemm here")


def _array(rng, shape, dtype, order):
    return np.asarray(rng.standard_normal(shape), dtype=dtype, order=order)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", list(itertools.product("CF", repeat=3)))
@pytest.mark.parametrize("shape", [(7, 5, 9), (1, 4, 6), (6, 4, 1), (1, 1, 1), (3, 1, 2)])
def test_gemm_is_alpha_ab_plus_beta_out_for_every_layout(dtype, orders, shape):
    rng = np.random.default_rng(sum(shape))
    m, k, n = shape
    a = _array(rng, (m, k), dtype, orders[0])
    b = _array(rng, (k, n), dtype, orders[1])
    out = _array(rng, (m, n), dtype, orders[2])
    expected = -0.25 * (a.astype(np.float64) @ b) + 0.75 * out.astype(np.float64)
    assert blas.supported(a, b, out)
    result = blas.gemm(a, b, out, -0.25, 0.75)
    assert result is out
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)


def test_views_with_a_leading_dimension_and_transposes():
    rng = np.random.default_rng(1)
    big = rng.standard_normal((10, 12)).astype(np.float32)
    a = big[1:6, 2:9]  # rows of 12 floats apart
    b = rng.standard_normal((6, 7)).astype(np.float32).T  # column-major view
    out = np.zeros((20, 8), np.float32)[3:8, 1:7]
    expected = a @ b
    blas.gemm(a, b, out, 1.0, 0.0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_beta_zero_ignores_nan_in_out():
    a = np.ones((2, 3), np.float32)
    out = np.full((2, 2), np.nan, np.float32)
    blas.gemm(a, a.T, out, 1.0, 0.0)
    assert np.array_equal(out, np.full((2, 2), 3.0, np.float32))


@pytest.mark.parametrize(
    "a, b, out",
    [
        (np.ones((2, 3)), np.ones((3, 2), np.float32), np.ones((2, 2), np.float32)),  # dtypes
        (np.ones((2, 3), np.float32), np.ones((4, 2), np.float32), np.ones((2, 2), np.float32)),
        (np.ones((2, 3), np.float32), np.ones((3, 2), np.float32), np.ones((2, 3), np.float32)),
        (
            np.ones((2, 6), np.float32)[:, ::2],
            np.ones((3, 2), np.float32),
            np.ones((2, 2), np.float32),
        ),
        (np.ones((2, 3), np.int64), np.ones((3, 2), np.int64), np.ones((2, 2), np.int64)),
        (np.ones((2, 0), np.float32), np.ones((0, 2), np.float32), np.ones((2, 2), np.float32)),
    ],
    ids=["mixed-dtype", "inner-mismatch", "out-shape", "no-unit-stride", "integers", "empty"],
)
def test_what_cannot_be_handed_to_blas_is_refused(a, b, out):
    assert not blas.supported(a, b, out)


def test_out_overlapping_an_operand_is_refused():
    a = np.ones((3, 3), np.float32)
    assert not blas.supported(a, np.ones((3, 3), np.float32), a)
    assert not blas.supported(np.ones((3, 3), np.float32), a[:, :], a)


def test_read_only_out_is_refused():
    out = np.ones((2, 2), np.float32)
    out.flags.writeable = False
    a = np.ones((2, 2), np.float32)
    assert not blas.supported(a, a, out)


def test_set_enabled_turns_it_off_and_on():
    try:
        blas.set_enabled(False)
        assert not blas.available()
        a = np.ones((2, 2), np.float32)
        assert not blas.supported(a, a, a.copy())
    finally:
        blas.set_enabled(True)
    assert blas.available()
