"""`scratchnet predict`: classify pictures (files, folders, paths on stdin) with a saved model.

Each picture goes through scratchnet.pictures (paper, noise, ink, strokes, the data set's 28x28
form) and the model; the answer is a class, "unsure" or a refusal ("not a digit"). Output as a
table, JSON, JSON lines or CSV; --show-input saves what the network saw beside each original.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import ImageError
from ..fileio import check_output_folder

CHUNK = 512  # pictures run through the model at a time (bounded memory)


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    from .args import positive_int

    parser.description = (
        "Classify pictures of digits (or clothes, with a Fashion-MNIST model): photos, scans or "
        "drawings, as files, folders (searched recursively for image files) or '-' for paths "
        "read from stdin. Each picture is cleaned (uneven light, noise, specks, ruled lines, box "
        "borders) and brought to the data set's 28x28 form; the answer is a class, 'unsure' "
        "(low calibrated confidence) or 'not a digit' (unlike the training pictures)."
    )
    parser.add_argument("model", type=Path, help="a model file written by scratchnet train")
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="an image file, a folder of them, or '-' to read paths from stdin (one a line)",
    )
    parser.add_argument("--top", type=positive_int, default=3, help="how many classes to show")
    parser.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="yes: dark ink on light paper; no: light ink on dark; auto: guess [default]",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON list of records")
    output.add_argument("--jsonl", action="store_true", help="print one JSON record a line")
    output.add_argument(
        "--csv", action="store_true", help="print CSV, a probability column a class"
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="report each unreadable picture on stderr and predict the rest (exit 1 if any failed)",
    )
    parser.add_argument(
        "--show-input",
        type=Path,
        default=None,
        metavar="DIR",
        help="save, per picture, what the network saw beside the original as DIR/NNNN-NAME.png",
    )


def _paths(items: list[str]) -> list[str]:
    """The inputs with each '-' replaced by the paths read from stdin."""
    paths: list[str] = []
    for item in items:
        if item == "-":
            paths.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            paths.append(item)
    return paths


def _check_show_dir(path: Path | None) -> None:
    """--show-input's folder must be, or be able to become, a writable folder (fileio)."""
    if path is not None:
        check_output_folder(path, option="--show-input")


def cmd_predict(args: argparse.Namespace) -> int:
    from ..nn import load_model
    from ..pictures.predict import Reader, expand_inputs, prepare_pictures

    _check_show_dir(args.show_input)
    reader = Reader(load_model(args.model))
    invert = {"auto": "auto", "yes": True, "no": False}[args.invert]
    failures = 0

    def fail(exc: ImageError) -> None:
        nonlocal failures
        if not args.keep_going:
            raise exc
        failures += 1
        print(f"scratchnet: error: {exc}", file=sys.stderr)

    pictures = []
    for item in _paths(args.images):
        try:
            pictures.extend(expand_inputs(item))
        except ImageError as exc:
            fail(exc)
    records: list[dict] = []
    shown: list[tuple[str, np.ndarray, np.ndarray]] = []
    batch: list[tuple[str, list, np.ndarray | None]] = []

    def run_model() -> None:
        names, prepared, grays = zip(*batch, strict=True) if batch else ((), (), ())
        for gray, (record, chosen) in zip(
            grays, reader.choose(list(names), list(prepared), args.top), strict=True
        ):
            records.append(record)
            if args.show_input is not None:
                shown.append((record["image"], gray, chosen.image))
        batch.clear()

    keep_gray = args.show_input is not None
    steps = prepare_pictures(pictures, reader.kind, invert, keep_gray=keep_gray)
    with contextlib.closing(steps):  # an error stops the worker processes at once
        for picture, item, gray in steps:
            if isinstance(item, ImageError):
                fail(item)
                continue
            batch.append((picture.name, item, gray))
            if len(batch) == CHUNK:
                run_model()
    run_model()
    if args.show_input is not None:
        _write_show_input(args.show_input, shown)
    _print(records, args, reader.names)
    return 1 if failures else 0


def _print(records: list[dict], args: argparse.Namespace, names: list[str]) -> None:
    if args.json:
        print(json.dumps(records, indent=1))
    elif args.jsonl:
        for record in records:
            print(json.dumps(record))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(
            ["image", "prediction", "decision", "confidence", "score", *(f"p_{n}" for n in names)]
        )
        for r in records:
            writer.writerow(
                [
                    r["image"],
                    "" if r["prediction"] is None else r["prediction"],
                    r["decision"],
                    r["confidence"],
                    "" if r["score"] is None else r["score"],
                    *(r["probabilities"][n] for n in names),
                ]
            )
    else:
        for r in records:
            others = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in r["top"])
            note = f"; {r['reason']}" if r["reason"] else ""
            print(f"{r['image']}: {r['verdict']}   ({others}{note})")


def _write_show_input(folder: Path, shown: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """DIR/NNNN-NAME.png per picture: the original (gray, 112 px high) | the 28x28 input x4."""
    from PIL import Image

    from ..fileio import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, gray, image) in enumerate(shown):
        height = 112
        width = max(1, round(gray.shape[1] * height / gray.shape[0]))
        original = Image.fromarray((gray * 255).round().astype(np.uint8)).resize((width, height))
        seen = Image.fromarray((image * 255).round().astype(np.uint8)).resize(
            (height, height), Image.NEAREST
        )
        canvas = Image.new("L", (width + 8 + height, height), 128)
        canvas.paste(original, (0, 0))
        canvas.paste(seen, (width + 8, 0))
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).stem)[:60]
        with atomic_write(folder / f"{index + 1:04d}-{stem}.png", "wb") as handle:
            canvas.save(handle, format="PNG")
