"""predict_images / predict_picture: every kind of input, one record each, in order."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from scratchnet import ImageError, mlp, predict_images, predict_picture, save_model
from scratchnet.pictures import prepare_object
from scratchnet.train.calibration import (
    REFUSE_SHARE,
    expected_calibration_error,
    fit_temperature,
)

from .conftest import draw_digit

KEYS = {
    "image",
    "prediction",
    "label",
    "decision",
    "verdict",
    "reason",
    "confidence",
    "score",
    "threshold",
    "probabilities",
    "top",
}


@pytest.fixture
def model():
    return mlp(784, [16], 10, seed=0)


def to_png(gray: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((gray * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_input_kind_gives_the_same_record(model, tmp_path):
    gray = draw_digit("7", size=64)
    (tmp_path / "seven.png").write_bytes(to_png(gray))
    rgb = np.repeat((gray * 255).astype(np.uint8)[..., None], 3, axis=2)
    records = predict_images(
        model,
        [
            str(tmp_path / "seven.png"),
            to_png(gray),
            Image.open(io.BytesIO(to_png(gray))),
            rgb,
            (gray * 255).astype(np.uint8),
        ],
    )
    assert len(records) == 5
    assert all(set(r) == KEYS for r in records)
    first = records[0]["probabilities"]
    for record in records[1:]:
        assert record["probabilities"] == pytest.approx(first, abs=0.02)
    assert records[0]["image"] == str(tmp_path / "seven.png")
    assert json.loads(json.dumps(records)) == records  # JSON-able as it is


def test_batches_and_floats(model):
    batch = np.stack([draw_digit(d, size=40) for d in "1470"])
    records = predict_images(model, batch)
    assert [r["image"] for r in records] == [f"array[{i}]" for i in range(4)]
    as_uint8 = predict_images(model, (batch * 255).round().astype(np.uint8))
    for a, b in zip(records, as_uint8, strict=True):
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=0.02)
    rgb_batch = np.repeat(batch[..., None], 3, axis=3)
    assert len(predict_images(model, rgb_batch)) == 4


def test_folders_are_searched_recursively_by_extension(model, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.png").write_bytes(to_png(draw_digit("1")))
    (tmp_path / "a" / "b" / "four.PNG").write_bytes(to_png(draw_digit("4")))
    (tmp_path / "a" / "notes.txt").write_text("not a picture")
    records = predict_images(model, tmp_path)
    assert [os.path.basename(r["image"]) for r in records] == ["one.png", "four.PNG"]


def test_blank_picture_is_refused_not_an_error(model):
    record = predict_picture(model, np.full((40, 40), 255, dtype=np.uint8))
    assert record["decision"] == "reject" and record["prediction"] is None
    assert record["verdict"] == "not a digit"


def test_bad_pictures_raise_or_are_recorded(model, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    good = tmp_path / "good.png"
    good.write_bytes(to_png(draw_digit("7")))
    with pytest.raises(ImageError, match="bad.png"):
        predict_images(model, [str(good), str(bad)])
    records = predict_images(model, [str(bad), str(good)], on_error="record")
    assert "bad.png" in records[0]["error"] and records[1]["decision"] in ("answer", "unsure")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_reading_it(model, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        predict_images(model, str(fifo))  # would block forever if it were opened


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((2, 3, 4, 5, 6)), "expected an image array"),
        (np.array([[300, 0]]), "0..255"),
        (np.array([[np.nan, 0.5]]), "NaN"),
        (np.array([[-0.5, 2.0]]), r"\[0, 1\]"),
    ],
)
def test_bad_arrays_are_named(model, array, message):
    with pytest.raises(ImageError, match=message):
        predict_images(model, array)


def test_a_fashion_picture_already_in_form_is_kept_as_it_is():
    rng = np.random.default_rng(0)
    shirt = np.zeros((28, 28), dtype=np.float32)
    shirt[3:25, 6:22] = rng.uniform(0.3, 1.0, (22, 16))
    np.testing.assert_allclose(prepare_object(shirt).image, shirt, atol=1e-6)
    big = np.kron(shirt, np.ones((4, 4), dtype=np.float32))
    page = np.zeros((150, 150), dtype=np.float32)
    page[10:122, 20:132] = big
    fitted = prepare_object(page).image
    assert fitted.shape == (28, 28)
    rows = np.flatnonzero(fitted.max(axis=1) > 0.05)
    assert rows[-1] - rows[0] + 1 == 28  # the longest side fills the canvas, no 20x20 box


def test_model_metadata_sets_temperature_and_refusal_words(model, tmp_path):
    model.metadata = {"dataset": "fashion-mnist", "calibration": {"temperature": 1000.0}}
    path = save_model(model, tmp_path / "m.npz")
    record = predict_picture(path, np.full((30, 30), 0, dtype=np.uint8))
    assert record["verdict"] == "not clothing"
    model.metadata = {"calibration": {"temperature": 50.0}}
    hot = predict_picture(model, draw_digit("7"))
    model.metadata = {}
    cold = predict_picture(model, draw_digit("7"))
    assert hot["confidence"] < cold["confidence"]


def test_fit_temperature_recovers_the_temperature_of_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (4000, 10))
    true_t = 2.5
    probs = np.exp(logits / true_t)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in probs])
    assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.1)
    raw = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert expected_calibration_error(raw, labels) > 0.1  # overconfident at T = 1
    assert expected_calibration_error(probs, labels) < 0.03


def test_calibrate_saves_temperature_and_threshold_that_predict_uses(synthetic_digits, tmp_path):
    from scratchnet.train.calibration import calibrate

    (x_train, y_train), (x_val, y_val) = synthetic_digits(300, 200)
    model = mlp(784, [16], 10, seed=0)
    features = x_val.reshape(len(x_val), -1).astype(np.float32) / 255
    meta = calibrate(
        model,
        (x_train.reshape(300, -1), y_train),
        (features, y_val.astype(int)),
        x_scale=1 / 255,
        n_pictures=60,
        min_validation=100,
    )
    temperature = meta["calibration"]["temperature"]
    assert 0.05 <= temperature <= 20
    typical = meta["typicality"]
    held_out = 30  # half of n_pictures: the threshold leaves REFUSE_SHARE of them above it
    assert np.isfinite(typical["threshold"])
    assert len(typical["subspace_basis"][0]) == 196  # the training images' 14x14 subspace
    assert typical["validation_refused"] <= REFUSE_SHARE + 1 / held_out + 1e-6
    assert set(typical["non_digits_refused"]) == {
        "noise",
        "texture",
        "blank",
        "letter",
        "two digits",
    }
    assert typical["non_digits_refused"]["blank"] == 1.0
    model.metadata = meta
    path = save_model(model, tmp_path / "calibrated.npz")
    record = predict_picture(path, draw_digit("7"))
    assert record["threshold"] == pytest.approx(typical["threshold"])
    assert record["score"] is not None and np.isfinite(record["score"])  # a log-odds


def test_calibrate_on_a_small_validation_split_only_fits_the_temperature(synthetic_digits):
    from scratchnet.train.calibration import calibrate

    (x_train, y_train), (x_val, y_val) = synthetic_digits(100, 50)
    features = x_val.reshape(len(x_val), -1).astype(np.float32) / 255
    meta = calibrate(mlp(784, [8], 10, seed=0), (x_train, y_train), (features, y_val))
    assert set(meta) == {"calibration"}


def test_truncated_ihdr_is_named(model, tmp_path):
    bad = tmp_path / "short.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00")
    with pytest.raises(ImageError, match="short.png") as raised:
        predict_images(model, str(bad))
    assert "\n" not in str(raised.value)


def test_any_decoder_error_is_named(model, tmp_path, monkeypatch):
    import PIL.ImageOps

    good = tmp_path / "odd.png"
    good.write_bytes(to_png(draw_digit("7")))

    def unsupported(image):
        raise NotImplementedError

    monkeypatch.setattr(PIL.ImageOps, "exif_transpose", unsupported)
    with pytest.raises(ImageError, match=r"odd.png.*NotImplementedError"):
        predict_images(model, str(good))


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1])
def test_calibrate_refuses_a_refuse_share_outside_0_1(share):
    from scratchnet.train.calibration import calibrate

    x = np.zeros((4, 784), dtype=np.float32)
    y = np.arange(4)
    with pytest.raises(ValueError, match="refuse_share must lie in"):
        calibrate(mlp(784, [4], 10, seed=0), (x, y), (x, y), refuse_share=share)


@pytest.mark.slow  # starts worker processes: about a second
def test_worker_processes_give_the_same_records_in_order(model, tmp_path):
    """Prepared in a worker process too (workers=2, chunks of POOL_CHUNK), the records are
    those prepared here alone, in order, with a bad file recorded where it was and raised
    with on_error="raise"; a chunk prepared by a worker is what this process makes of it."""
    from scratchnet.pictures.predict import (
        POOL_CHUNK,
        _prepare_chunk,
        _start_pool,
        _workers_environment,
        expand_inputs,
    )

    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    rng = np.random.default_rng(0)
    pictures: list = [
        draw_digit(str(rng.choice(["1", "4", "7", "0"])), size=int(rng.integers(28, 80)))
        for _ in range(3 * POOL_CHUNK)
    ]
    pictures[2 * POOL_CHUNK + 3] = str(bad)  # in a chunk a worker may take
    here = predict_images(model, pictures, on_error="record", workers=1)
    pooled = predict_images(model, pictures, on_error="record", workers=2)
    assert pooled == here
    assert "bad.png" in pooled[2 * POOL_CHUNK + 3]["error"]
    with pytest.raises(ImageError, match="bad.png"):
        predict_images(model, pictures, workers=2)
    chunk = list(expand_inputs(pictures[2 * POOL_CHUNK : 3 * POOL_CHUNK]))
    pool = _start_pool(1)
    try:
        with _workers_environment():
            future = pool.submit(_prepare_chunk, chunk, "digit", "auto", True)
        remote = future.result()
    finally:
        pool.shutdown()
    local = _prepare_chunk(chunk, "digit", "auto", True)
    for (item_r, gray_r), (item_l, gray_l) in zip(remote, local, strict=True):
        if isinstance(item_l, ImageError):
            assert isinstance(item_r, ImageError) and str(item_r) == str(item_l)
            continue
        assert np.array_equal(gray_r, gray_l)
        assert len(item_r) == len(item_l)
        assert all(np.array_equal(a.image, b.image) for a, b in zip(item_r, item_l, strict=True))
