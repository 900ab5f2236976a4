"""diagnose --notebook probes held-out images, never the images it trains on."""

from __future__ import annotations

import numpy as np

import scratchnet.experiments.notebook as notebook


def test_the_notebook_diagnosis_probes_images_it_does_not_train_on(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (300, 28, 28)).astype(np.uint8)
    y = rng.integers(0, 10, 300).astype(np.uint8)
    captured = {}

    def fake_run(setting, data, *, quick, seed, callbacks, passes):
        captured["train"], captured["probe"] = data[0][0], callbacks[0]
        return notebook.VariantResult(10.0, 2.3, 0.0, "")

    monkeypatch.setattr(notebook, "run_as_written", fake_run)
    diagnosis = notebook.diagnose_as_written("h", ((x, y), (x[:10], y[:10])), probe_size=50)
    trained = {image.tobytes() for image in captured["train"]}
    probed = captured["probe"].x
    assert len(captured["train"]) == 250 and len(probed) == 50
    originals = {image.tobytes(): image for image in x}
    assert not any((np.rint(p.reshape(28, 28) * 255).astype(np.uint8)).tobytes() in trained
                   for p in probed)
    assert len(originals) == 300 and "held-out" in diagnosis.subject
