"""A run trained with `scratchnet train --out` keeps progress.json while it trains (who, where,
its settings and History rows so far) and removes it at the end; its own files are written
only when it ends."""

from __future__ import annotations

import json

from scratchnet.runs import RunDir
from scratchnet.runs.rundir import find_folders


def test_progress_is_written_while_training_and_removed_at_the_end(
    tiny_cli, cli, tmp_path, monkeypatch
):
    seen = []
    real = RunDir.write_progress

    def spy(self, **position):
        real(self, **position)
        # What a viewer in another process would read at this moment.
        seen.append(
            (self.is_live(), self.read_history(), sorted(p.name for p in self.path.iterdir()))
        )

    monkeypatch.setattr(RunDir, "write_progress", spy)
    import scratchnet.report

    monkeypatch.setattr(scratchnet.report, "build_run_report", lambda *a, **k: None)  # speed
    run = tmp_path / "run"
    args = ("train", "--hidden", "8", "--epochs", "3", "--validation-size", "100", "-q")
    code, out, err = cli(*args, "--out", run)
    assert code == 0, err
    assert seen and all(live for live, _, _ in seen)
    epochs_seen = [len(rows) for _, rows, _ in seen]
    assert epochs_seen == sorted(epochs_seen) and epochs_seen[-1] == 3
    assert all("model.npz" not in names and "config.json" not in names for *_, names in seen)
    folder = RunDir(run)
    assert not folder.progress_path.exists() and not folder.is_live()
    assert len(folder.read_history()) == 3 and folder.read_config()["hidden"] == [8]
    assert find_folders(tmp_path) == [folder]
    assert folder.summary()["epochs_trained"] == 3


def test_a_progress_file_from_another_host_counts_as_live(tmp_path):
    run = RunDir(tmp_path)
    run.write_progress(epoch=1, epochs=2)
    data = json.loads(run.progress_path.read_text())
    data["host"] = "elsewhere.example"
    run.progress_path.write_text(json.dumps(data))
    assert run.is_live()
    run.progress_path.write_text("{broken")
    assert not run.is_live()  # advisory: a bad note means "not live", never an error
