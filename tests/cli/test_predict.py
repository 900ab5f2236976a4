"""`scratchnet predict` on many pictures: folders, stdin, bad files, output formats."""

from __future__ import annotations

import csv
import io
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from scratchnet import mlp, save_model


def write_digit(path, *, size=(90, 120)):
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).line([(20, 20), (70, 20), (40, 100)], fill=0, width=9)
    image.save(path)
    return path


@pytest.fixture
def setup(tmp_path):
    model = save_model(mlp(784, [8], 10, seed=0), tmp_path / "m.npz")
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    good = [write_digit(folder / "a.png"), write_digit(folder / "sub" / "b.jpg")]
    return model, folder, good


def test_folder_and_formats(setup, run):
    model, folder, good = setup
    code, out, err = run("predict", model, folder, "--json")
    assert code == 0 and err == ""
    records = json.loads(out)
    assert [r["image"] for r in records] == [str(p) for p in good]
    assert {"probabilities", "score", "decision", "confidence"} <= set(records[0])
    code, out, _ = run("predict", model, folder, "--jsonl")
    assert [json.loads(line) for line in out.splitlines()] == records
    code, out, _ = run("predict", model, folder, "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:5] == ["image", "prediction", "decision", "confidence", "score"]
    assert len(rows[0]) == 15 and len(rows) == 3
    code, out, _ = run("predict", model, folder)
    assert out.splitlines()[0].startswith(f"{good[0]}: ")


def test_output_formats_exclude_each_other(setup, run):
    model, folder, _ = setup
    code, _, err = run("predict", model, folder, "--json", "--csv")
    assert code == 2 and "not allowed with" in err


def test_one_bad_file_is_named_and_stops_without_keep_going(setup, run, one_error_line, tmp_path):
    model, folder, good = setup
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    code, out, err = run("predict", model, good[0], bad, good[1])
    assert code == 1 and out == ""
    assert "broken.png" in one_error_line(err)


def test_keep_going_reports_each_bad_file_and_predicts_the_rest(setup, run, tmp_path):
    model, folder, good = setup
    bad1 = tmp_path / "text.png"
    bad1.write_text("hello")
    missing = tmp_path / "missing.png"
    code, out, err = run(
        "predict", model, bad1, good[0], missing, good[1], "--keep-going", "--json"
    )
    assert code == 1
    assert [r["image"] for r in json.loads(out)] == [str(p) for p in good]
    lines = err.splitlines()
    assert len(lines) == 2 and "text.png" in lines[0] and "missing.png" in lines[1]
    assert "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_not_read(setup, run, tmp_path, one_error_line):
    model, _, good = setup
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code, _, err = run("predict", model, fifo)
    assert code == 1 and "not a regular file" in one_error_line(err)
    code, out, err = run("predict", model, fifo, good[0], "--keep-going", "--jsonl")
    assert code == 1 and len(out.splitlines()) == 1 and "pipe.png" in err


def test_paths_from_stdin(setup, run, monkeypatch):
    model, _, good = setup
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{good[1]}\n\n{good[0]}\n"))
    code, out, _ = run("predict", model, "-", "--jsonl")
    assert code == 0
    assert [json.loads(line)["image"] for line in out.splitlines()] == [str(good[1]), str(good[0])]


def test_show_input_writes_what_the_network_saw(setup, run, tmp_path):
    model, folder, good = setup
    shown = tmp_path / "seen"
    code, _, _ = run("predict", model, folder, "--show-input", shown)
    assert code == 0
    files = sorted(shown.iterdir())
    assert [f.name for f in files] == ["0001-a.png", "0002-b.png"]
    picture = np.asarray(Image.open(files[0]))
    assert picture.shape[0] == 112 and picture.shape[1] > 112  # original | network input


def test_show_input_into_a_file_is_refused_first(setup, run, tmp_path, one_error_line):
    model, folder, _ = setup
    taken = tmp_path / "file.txt"
    taken.write_text("x")
    code, out, err = run("predict", model, folder, "--show-input", taken)
    assert code in (1, 2) and out == "" and "--show-input" in one_error_line(err)


def test_empty_folder_is_named(setup, run, tmp_path, one_error_line):
    model, _, _ = setup
    (tmp_path / "empty").mkdir()
    code, _, err = run("predict", model, tmp_path / "empty")
    assert code == 1 and "no image files" in one_error_line(err)
