"""Fixtures for the studio's tests: a folder of runs, a sweep and a loose model (trained on
synthetic digits, fast), an HTTP client over the app, and pictures to predict.

Skips, saying why, when Starlette or uvicorn are missing; fails instead in CI.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        reason = f'{module} is not installed (pip install "scratchnet[serve]")'
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI installs the test extra)")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def trained(synthetic_digits):
    """(model, history rows, config dict) of a small network trained on synthetic 28x28 digits."""
    from scratchnet import TrainConfig, train_classifier

    config = TrainConfig(hidden=(16, 8), epochs=3, validation_size=80, batch_size=32)
    result = train_classifier(config, data=synthetic_digits(n_test=60), progress=False)
    return result.model, result.history.rows, config.to_dict()


def write_run(folder: Path, trained, *, epochs: int | None = None) -> Path:
    """A run folder as `scratchnet train --out` leaves it: model, history, config, report."""
    from scratchnet import save_model

    model, rows, config = trained
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, folder / "model.npz")
    rows = rows[:epochs] if epochs else rows
    (folder / "history.json").write_text(json.dumps({"epochs": rows}))
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "report.html").write_text("<!doctype html><title>report</title><p>run report")
    return folder


@pytest.fixture
def served(tmp_path, trained) -> Path:
    """A folder to serve: runs/a (3 epochs), runs/b (2 epochs), loose.npz, and sweep/ with two
    trials; beside it (not served) a secret file and an outside run folder."""
    from scratchnet import save_model

    root = tmp_path / "served"
    write_run(root / "runs" / "a", trained)
    write_run(root / "runs" / "b", trained, epochs=2)
    save_model(trained[0], root / "loose.npz")
    sweep = root / "sweep"
    sweep.mkdir()
    rows = trained[1]
    trials = [
        {
            "trial": f"t{i}",
            "setting": f"s{i}",
            "params": {"learning_rate": lr},
            "seed": 0,
            "status": "ok",
            "val_accuracy": rows[-1]["val_accuracy"],
            "epochs": len(rows),
            "seconds": 1.0,
            "history": rows,
        }
        for i, lr in enumerate((0.1, 0.01))
    ]
    (sweep / "sweep.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trials))
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    write_run(tmp_path / "outside", trained)
    return root


@pytest.fixture
def client(served):
    _need("starlette")
    _need("httpx")
    from starlette.testclient import TestClient

    from scratchnet.serve.app import create_app

    with TestClient(create_app([served]), base_url="http://127.0.0.1") as test_client:
        yield test_client


def png(draw, size: int = 140, mode: str = "L", background=255, fmt: str = "PNG") -> bytes:
    """A picture drawn by `draw(ImageDraw)` on paper, as PNG (or JPEG) bytes."""
    from PIL import Image, ImageDraw

    image = Image.new(mode, (size, size), background)
    draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def pictures():
    """Three pictures: a one, a zero (PNG) and a seven (JPEG)."""
    return {
        "one.png": png(lambda d: d.line([(70, 20), (70, 120)], fill=0, width=12)),
        "zero.png": png(lambda d: d.ellipse([35, 20, 105, 120], outline=0, width=12)),
        "seven.jpg": png(
            lambda d: d.line([(30, 25), (110, 25), (60, 120)], fill=0, width=12), fmt="JPEG"
        ),
    }


@pytest.fixture
def copy_tree():
    return shutil.copytree
