"""Matrix layouts chosen by measurement (scratchnet.nn.autotune) and Dense under each layout.

Every layout must compute the reference layout's results up to float rounding, deterministically,
keep Dense's public contract ((n_in, n_out) weight, params and grads of equal shapes, gradients
that pass a float64 check), and survive a checkpoint so that a resumed run stays bitwise.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scratchnet.nn import Dense, SoftmaxCrossEntropy, autotune, mlp
from scratchnet.nn.autotune import REFERENCE, Layout
from scratchnet.nn.gradcheck import check_layer
from scratchnet.nn.workspace import Workspace, order_of
from scratchnet.optim import SGD

ALL_LAYOUTS = [Layout(*letters) for letters in itertools.product("CF", repeat=3)]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Tuning is opt-in (SCRATCHNET_AUTOTUNE=1, train --autotune): these tests turn it on.
    autotune.clear_cache()
    with autotune.switched(True):
        yield
    autotune.clear_cache()


def test_tuning_is_off_unless_asked_for(monkeypatch):
    monkeypatch.delenv("SCRATCHNET_AUTOTUNE", raising=False)
    assert autotune._env_enabled() is False
    monkeypatch.setenv("SCRATCHNET_AUTOTUNE", "1")
    assert autotune._env_enabled() is True
    with autotune.switched(False):
        assert not autotune.enabled()
    assert autotune.enabled()


def _step(layer: Dense, x: np.ndarray, upstream: np.ndarray):
    y = layer.forward(x, training=True).copy()
    grad_in = layer.backward(upstream).copy()
    return y, grad_in, {name: g.copy() for name, g in layer.grads.items()}


# -- Layout ---------------------------------------------------------------------------------


def test_layout_code_round_trips_and_rejects_anything_else():
    for layout in ALL_LAYOUTS:
        assert Layout.parse(layout.code) == layout
    assert REFERENCE.code == "CCC"
    for bad in ("CC", "CCX", "ccc", None, 3):
        with pytest.raises(ValueError):
            Layout.parse(bad)
    with pytest.raises(ValueError, match="weight"):
        Layout("X", "C", "C")


# -- Dense under every layout -----------------------------------------------------------------


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.code)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_layout_computes_the_reference_results(layout, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 13)).astype(dtype)
    upstream = rng.standard_normal((7, 5)).astype(dtype)
    reference = Dense(13, 5, "relu", seed=1, dtype=dtype)
    reference.set_layout(REFERENCE)
    tuned = Dense(13, 5, "relu", seed=1, dtype=dtype)
    tuned.set_layout(layout)
    assert tuned.weight.shape == (13, 5)
    np.testing.assert_array_equal(tuned.weight, reference.weight)  # a layout copies exactly
    assert order_of(tuned.weight) == layout.weight
    assert {k: v.shape for k, v in tuned.grads.items()} == {
        k: v.shape for k, v in tuned.params.items()
    }
    expected = _step(reference, x, upstream)
    got = _step(tuned, x, upstream)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[0], expected[0], rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(got[1], expected[1], rtol=tolerance, atol=tolerance)
    for name in expected[2]:
        np.testing.assert_allclose(got[2][name], expected[2][name], rtol=tolerance, atol=tolerance)
    # Deterministic for a given layout: the same step again gives the same bits.
    again = _step(tuned, x, upstream)
    for first, second in zip(got[:2], again[:2], strict=True):
        np.testing.assert_array_equal(first, second)
    # The layout reaches the buffers: the output and the input gradient are laid out as asked.
    assert order_of(tuned.forward(x, training=True)) == layout.output
    assert order_of(tuned.backward(upstream)) == layout.grad_in


@pytest.mark.parametrize("code", ["FFF", "FCF", "CFC"])
def test_gradient_check_passes_with_a_transposed_weight(code):
    layer = Dense(4, 3, "tanh", seed=0, dtype=np.float64)
    layer.set_layout(Layout.parse(code))
    rng = np.random.default_rng(0)
    errors = check_layer(layer, rng.standard_normal((5, 4)), rng=rng)
    assert max(errors.values()) < 1e-6, errors


def test_eval_forward_is_the_same_under_any_layout():
    x = np.random.default_rng(0).standard_normal((6, 9)).astype(np.float32)
    reference = Dense(9, 4, seed=2)
    tuned = Dense(9, 4, seed=2)
    tuned.set_layout(Layout("F", "F", "F"))
    np.testing.assert_allclose(tuned.forward(x), reference.forward(x), rtol=1e-6, atol=1e-6)


def test_a_smaller_last_batch_reuses_the_feature_major_buffers():
    layer = Dense(8, 6, "relu", seed=0)
    layer.set_layout(Layout("F", "F", "F"))
    rng = np.random.default_rng(1)
    big = layer.forward(rng.standard_normal((10, 8)).astype(np.float32), training=True)
    small_x = rng.standard_normal((4, 8)).astype(np.float32)
    small = layer.forward(small_x, training=True)
    assert small.shape == (4, 6) and np.shares_memory(big, small)
    expected = np.maximum(small_x @ layer.weight + layer.bias, 0)
    np.testing.assert_allclose(small, expected, rtol=1e-6, atol=1e-6)


# -- choosing -------------------------------------------------------------------------------


def test_no_tuning_when_disabled_or_for_tiny_products(monkeypatch):
    calls = []
    monkeypatch.setattr(autotune, "measure", lambda *a, **k: calls.append(a) or {"CCC": 1.0})
    assert autotune.choose(4, 3, 5, np.float32) == REFERENCE  # 120 FLOP: too small to time
    # ... but its input gradient still goes back in the input's order
    assert autotune.choose(4, 3, 5, np.float32, "F").code == "CCF"
    monkeypatch.setattr(autotune, "MIN_FLOPS", 0)
    with autotune.disabled():
        assert not autotune.enabled()
        assert autotune.choose(400, 300, 50, np.float32) == REFERENCE
    assert autotune.enabled()
    assert calls == []


def test_each_shape_is_measured_once_per_process(monkeypatch):
    monkeypatch.setattr(autotune, "MIN_FLOPS", 0)
    calls = []

    def fake_measure(n_in, n_out, batch, dtype, x_order, **options):
        calls.append((n_in, n_out, batch))
        return {"CC" + x_order: 2.0, "CF" + x_order: 1.0, "FC" + x_order: 3.0}

    monkeypatch.setattr(autotune, "measure", fake_measure)
    model = mlp(12, (9,), 3, seed=0)
    twin = mlp(12, (9,), 3, seed=1)
    x = np.random.default_rng(0).standard_normal((5, 12)).astype(np.float32)
    model.forward(x, training=True)
    twin.forward(x, training=True)
    model.forward(x[:2], training=True)  # a smaller last batch keeps the layer's layout
    assert calls == [(12, 9, 5), (9, 3, 5)]
    # The first layer's output is feature-major, so the second sees (and was tuned for) that;
    # the second's output, which the loss reads, stays batch-major.
    assert autotune.layouts(model) == autotune.layouts(twin) == ["CFC", "CCF"]
    assert [entry["chosen"] for entry in autotune.measurements()] == ["CFC", "CCF"]


def test_pick_keeps_the_reference_unless_clearly_faster():
    assert autotune.pick({"CCC": 1.0, "FCC": 0.99}) == "CCC"
    assert autotune.pick({"CCC": 1.0, "FCC": 0.90}) == "FCC"
    assert autotune.pick({"CCF": 1.0, "FFF": 0.5}, "F") == "FFF"


def test_measure_times_every_weight_and_output_order():
    seconds = autotune.measure(32, 16, 8, np.float32, "C")
    assert set(seconds) == {"CCC", "CFC", "FCC", "FFC"}
    assert all(value > 0 for value in seconds.values())


# -- workspace --------------------------------------------------------------------------------


def test_workspace_hands_out_either_order_and_reuses_it():
    work = Workspace()
    a = work.get("z", 6, 4, np.dtype(np.float32), "F")
    assert a.shape == (6, 4) and order_of(a) == "F"
    b = work.get("z", 3, 4, np.dtype(np.float32), "F")
    assert np.shares_memory(a, b) and order_of(b) == "F"
    c = work.get("z", 6, 4, np.dtype(np.float32))
    assert order_of(c) == "C" and c.flags.c_contiguous
    column = work.get("v", 5, 1, np.dtype(np.float32), "F")
    assert work.get("v", 5, 1, np.dtype(np.float32), "F") is column  # one column: either order


# -- training, checkpoints and optimiser state ---------------------------------------------------


def _train(model, steps, optimizer, seed=0):
    rng = np.random.default_rng(seed)
    loss = SoftmaxCrossEntropy()
    for _ in range(steps):
        x = rng.standard_normal((16, 20)).astype(np.float32)
        labels = rng.integers(0, 4, 16)
        _, grad = loss(model.forward(x, training=True), labels)
        model.backward(grad)
        optimizer.step(model)


def test_optimizer_state_follows_a_layout_change():
    model = mlp(20, (12,), 4, seed=0)
    optimizer = SGD(0.1, momentum=0.9)
    _train(model, 2, optimizer)
    velocity = optimizer.state[(0, "weight")]["velocity"].copy()
    model.layers[0].set_layout(Layout("F", "C", "C"))
    assert order_of(model.layers[0].weight) == "F"
    optimizer.step(model)  # grads are zero after the change: velocity *= momentum, exactly
    moved = optimizer.state[(0, "weight")]["velocity"]
    assert order_of(moved) == "F"
    np.testing.assert_array_equal(moved, (velocity * np.float32(0.9)).astype(np.float32))


def test_a_checkpoint_records_the_layouts_and_resume_restores_them(tmp_path, monkeypatch):
    from scratchnet.train import History
    from scratchnet.train.callbacks import TrainingState
    from scratchnet.train.checkpoint import load_checkpoint, save_checkpoint

    layouts = iter(["FFC", "CFF"])
    monkeypatch.setattr(autotune, "choose", lambda *a, **k: Layout.parse(next(layouts)))
    model = mlp(20, (12,), 4, seed=0)
    optimizer = SGD(0.1, momentum=0.9)
    _train(model, 3, optimizer)
    recorded = autotune.layouts(model)
    assert [code for code in recorded if code] == ["FFC", "CFF"]
    state = TrainingState(
        model=model,
        loss=SoftmaxCrossEntropy(),
        optimizer=optimizer,
        epochs=2,
        steps_per_epoch=3,
        history=History(),
        epoch=1,
    )
    path = save_checkpoint(tmp_path / "run.npz", state, at_epoch_end=True)
    saved = load_checkpoint(path)
    assert saved.layouts == recorded

    monkeypatch.setattr(autotune, "choose", lambda *a, **k: REFERENCE)  # would pick otherwise
    resumed = mlp(20, (12,), 4, seed=5)
    resumed_optimizer = SGD(0.1, momentum=0.9)
    saved.restore(resumed, resumed_optimizer)
    assert autotune.layouts(resumed) == recorded
    for (_, _, a, _), (_, _, b, _) in zip(model.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.strides == b.strides
    _train(model, 2, optimizer, seed=9)
    _train(resumed, 2, resumed_optimizer, seed=9)
    for (_, _, a, _), (_, _, b, _) in zip(model.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)  # bitwise, as if it had never stopped


def test_a_model_with_a_transposed_weight_saves_and_loads_the_same_numbers(tmp_path):
    from scratchnet.nn import load_model, save_model

    model = mlp(20, (12,), 4, seed=0)
    model.layers[0].set_layout(Layout("F", "F", "C"))
    path = save_model(model, tmp_path / "model.npz") or tmp_path / "model.npz"
    loaded = load_model(path)
    x = np.random.default_rng(0).standard_normal((3, 20)).astype(np.float32)
    for (_, _, a, _), (_, _, b, _) in zip(model.parameters(), loaded.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), rtol=1e-6)


def test_a_cache_file_carries_the_choices_to_the_next_process(tmp_path, monkeypatch):
    cache = tmp_path / "autotune.json"
    monkeypatch.setenv("SCRATCHNET_AUTOTUNE_CACHE", str(cache))
    monkeypatch.setattr(autotune, "MIN_FLOPS", 0)
    monkeypatch.setattr(
        autotune, "measure", lambda *a, **k: {"CCC": 2.0, "FFC": 1.0, "CFC": 3.0, "FCC": 3.0}
    )
    assert autotune.choose(30, 20, 8, np.float32).code == "FFC"
    assert cache.is_file()
    autotune.clear_cache()  # a new process, as far as the cache goes
    monkeypatch.setattr(autotune, "measure", lambda *a, **k: pytest.fail("measured again"))
    assert autotune.choose(30, 20, 8, np.float32).code == "FFC"
    cache.write_text("not json")  # a damaged cache is measured over, never an error
    autotune.clear_cache()
    monkeypatch.setattr(autotune, "measure", lambda *a, **k: {"CCC": 1.0, "FFC": 1.0})
    assert autotune.choose(30, 20, 8, np.float32) == REFERENCE


def test_every_layer_hands_its_gradient_back_in_the_order_the_layer_below_wrote(monkeypatch):
    # The middle layer picks a feature-major output; the last layer is too small to time. Its
    # input gradient must come back feature-major too: the ReLU below multiplies it with its own
    # feature-major buffers, and mixed orders made that elementwise product 15x slower.
    monkeypatch.setattr(autotune, "MIN_FLOPS", 5000)  # 2 * 16 * 20 * 20 = 12800 is timed
    monkeypatch.setattr(autotune, "measure", lambda *a, **k: {"CC" + a[4]: 2.0, "CF" + a[4]: 1.0})
    model = mlp(20, (20, 20), 4, seed=0)
    _train(model, 1, SGD(0.1))
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    assert [layer.layout.code for layer in dense] == ["CFC", "CFF", "CCF"]
    for lower, upper in zip(dense[:-1], dense[1:], strict=True):
        assert upper.layout.grad_in == lower.layout.output


def test_a_feature_major_output_only_where_a_dense_layer_reads_it(monkeypatch):
    # Dropout (like BatchNorm, the loss, or a caller of a lone Dense) multiplies the output
    # elementwise with batch-major arrays of its own: there the output stays batch-major.
    from scratchnet.nn import Dropout, Sequential

    monkeypatch.setattr(autotune, "MIN_FLOPS", 0)
    monkeypatch.setattr(
        autotune, "measure", lambda *a, **k: {"CC" + a[4]: 2.0, "CF" + a[4]: 1.0, "FC" + a[4]: 1.5}
    )
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            Dense(20, 20, "relu", rng=rng),
            Dropout(0.2, rng=rng),
            Dense(20, 20, "relu", rng=rng),
            Dense(20, 4, rng=rng),
        ]
    )
    _train(model, 1, SGD(0.1))
    assert autotune.layouts(model) == ["FCC", None, "CFC", "FCF"]
    alone = Dense(20, 20, rng=rng)
    alone.forward(np.ones((16, 20), np.float32), training=True)
    assert alone.layout.output == "C"
