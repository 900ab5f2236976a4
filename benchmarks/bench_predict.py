"""How well does `predict` read pictures nobody here drew for MNIST, and how fast?

Generates labelled pictures in groups, predicts each group with predict_images in one call and
writes a Markdown table (results/predict.md): accuracy (the top class, refused or not), the
share answered, unsure and refused, and pictures per second in one call.

Groups: UCI optical digits (scikit-learn's load_digits: 43 writers, 8x8, enlarged to 64 px,
dark on light); pen strokes drawn in NumPy (thin, normal, thick pens; slant, jitter); digits in
the TrueType fonts found on this machine (20-160 px); and those clean pictures damaged the way
phones and scanners do (Gaussian noise sigma 25, 3% salt and pepper, light falling from one
side, a soft shadow, 10 degrees of rotation, off-centre on a large canvas, JPEG quality 30,
ruled paper, a box drawn around, and a photo-like mix of tilt, margin, shading, noise and JPEG).
Non-digits: noise, textures, blank paper, pen letters, font letters, two digits in one picture.
Fashion-MNIST test images saved as PNG against the same images as arrays (--fashion-model).

Every group is split in two by index: the even half is for tuning (--half tune), the odd half is
reported (--half report); the default, both, writes the report half first and the tuning half
after it, each with the issue's targets checked.

    python benchmarks/bench_predict.py --model scratchnet-mnist.npz \
        [--fashion-model fashion.npz] [--speed-only] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import scratchnet
from scratchnet.pictures.synthetic import DIGIT_STROKES, draw_strokes, non_digits
from scratchnet.threads import cpu_count

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")


def find_fonts(limit: int = 10) -> list[Path]:
    """Up to `limit` TrueType fonts found on this machine (regular styles first)."""
    found = []
    for folder in FONT_DIRS:
        if os.path.isdir(folder):
            for root, _, files in os.walk(folder):
                found += [Path(root) / f for f in files if f.lower().endswith(".ttf")]
    found.sort(key=lambda p: (("Oblique" in p.name or "Italic" in p.name), p.name))
    return found[:limit]


def to_gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def to_image(gray: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(gray, 0, 1) * 255).round().astype(np.uint8))


# --- clean pictures: (label, dark ink on light paper, float32 in [0, 1]) ---------------------


def uci_digits(limit: int) -> list[tuple[int, np.ndarray]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = []
    for image, label in zip(digits.images[:limit], digits.target[:limit], strict=True):
        small = to_image(1.0 - image / 16.0)
        out.append((int(label), to_gray(small.resize((64, 64), Image.BICUBIC))))
    return out


def drawn_digits(rng: np.random.Generator, count: int) -> list[tuple[int, np.ndarray]]:
    out = []
    widths = (0.04, 0.1, 0.18)
    for index in range(count):
        label = index // 2 % 10  # each half (even, odd indices) holds every digit
        size = int(rng.integers(28, 161))
        ink = draw_strokes(
            DIGIT_STROKES[str(label)],
            size,
            width=widths[index // 10 % 3],
            rng=rng,
            jitter=0.025,
            slant=float(rng.uniform(-0.15, 0.35)),
            margin=float(rng.uniform(0.08, 0.25)),
        )
        out.append((label, 1.0 - ink))
    return out


def font_text(text: str, font: Path, size: int) -> np.ndarray:
    face = ImageFont.truetype(str(font), size=size)
    left, top, right, bottom = face.getbbox(text)
    pad = size // 4
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, fill=0, font=face)
    return to_gray(image)


def font_digits(rng: np.random.Generator, fonts: list[Path], count: int):
    out = []
    for index in range(count):
        label = index // 2 % 10  # each half (even, odd indices) holds every digit
        font = fonts[index // 10 % len(fonts)]
        out.append((label, font_text(str(label), font, int(rng.integers(20, 161)))))
    return out


# --- damage ----------------------------------------------------------------------------------


def gaussian(gray, rng):
    return np.clip(gray + rng.normal(0, 25 / 255, gray.shape), 0, 1).astype(np.float32)


def salt_pepper(gray, rng):
    out = gray.copy()
    specks = rng.random(gray.shape) < 0.03
    out[specks] = (rng.random(int(specks.sum())) < 0.5).astype(np.float32)
    return out


def uneven_light(gray, rng):
    low = rng.uniform(0.3, 0.6)
    ramp = np.linspace(low, 1.0, gray.shape[1], dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    return gray * ramp[None, :]


def shadow(gray, rng):
    rows = np.linspace(-1, 1, gray.shape[0], dtype=np.float32)[:, None]
    cols = np.linspace(-1, 1, gray.shape[1], dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    edge = np.cos(angle) * cols + np.sin(angle) * rows
    return gray * (0.5 + 0.5 / (1 + np.exp(-edge * 6)))


def rotate(gray, rng):
    angle = rng.choice([-10, 10])
    return to_gray(to_image(gray).rotate(angle, Image.BILINEAR, expand=True, fillcolor=255))


def off_centre(gray, rng):
    h, w = gray.shape
    canvas = np.ones((h * 3, w * 3), dtype=np.float32)
    top, left = int(rng.integers(0, 2 * h)), int(rng.integers(0, 2 * w))
    canvas[top : top + h, left : left + w] = gray
    return canvas


def jpeg(gray, rng, quality=30):
    buffer = io.BytesIO()
    to_image(gray).save(buffer, format="JPEG", quality=quality)
    return to_gray(Image.open(io.BytesIO(buffer.getvalue())))


def ruled(gray, rng):
    h, w = gray.shape
    page = np.ones((h + h // 2, w + w // 2), dtype=np.float32)
    page[h // 4 : h // 4 + h, w // 4 : w // 4 + w] = gray
    gap = max(6, int(page.shape[0] / rng.uniform(3, 6)))
    thickness = max(1, page.shape[0] // 60)
    for row in range(int(rng.integers(0, gap)), page.shape[0], gap):
        page[row : row + thickness, :] *= 0.55
    return page


def boxed(gray, rng):
    h, w = gray.shape
    page = np.ones((h + h // 2, w + w // 2), dtype=np.float32)
    page[h // 4 : h // 4 + h, w // 4 : w // 4 + w] = gray
    t = max(1, h // 40)
    m = h // 10
    page[m : m + t, m:-m] = page[-m - t : -m, m:-m] = 0.15
    page[m:-m, m : m + t] = page[m:-m, -m - t : -m] = 0.15
    return page


def photo(gray, rng):
    """A phone photo: tilted, with a margin of paper, shaded, noisy and saved as JPEG."""
    tilted = to_gray(
        to_image(gray).rotate(rng.uniform(-8, 8), Image.BILINEAR, expand=True, fillcolor=255)
    )
    h, w = tilted.shape
    page = np.ones((int(h * rng.uniform(1.3, 2.0)), int(w * rng.uniform(1.3, 2.0))), np.float32)
    top = int(rng.integers(0, page.shape[0] - h + 1))
    left = int(rng.integers(0, page.shape[1] - w + 1))
    page[top : top + h, left : left + w] = tilted
    page = page * 0.85 + 0.1  # paper is never white, ink never black
    page = uneven_light(page, rng)
    blurred = to_gray(to_image(page).filter(ImageFilter.GaussianBlur(0.6)))
    return jpeg(gaussian(blurred, rng), rng, quality=int(rng.integers(40, 80)))


DAMAGE = {
    "gaussian noise (sigma 25)": gaussian,
    "salt and pepper (3%)": salt_pepper,
    "uneven light": uneven_light,
    "soft shadow": shadow,
    "rotated 10 degrees": rotate,
    "off-centre, large canvas": off_centre,
    "JPEG quality 30": jpeg,
    "ruled paper": ruled,
    "box drawn around": boxed,
    "photo-like mix": photo,
}


# --- non-digits --------------------------------------------------------------------------------

LETTERS = "AEFHKMNRWXYacdefhkmnrtuvwxy"


def non_digit_pictures(rng, fonts, count):
    out = [(kind, 1.0 - ink) for kind, ink in non_digits(rng, count)]
    if not fonts:
        return out
    # Each kind in a block of its own, so that the even/odd halves split every kind.
    for index in range(count // 5):
        font = fonts[index % len(fonts)]
        out.append(("font letter", font_text(LETTERS[index % len(LETTERS)], font, 64)))
    for index in range(count // 5):
        font = fonts[index % len(fonts)]
        a, b = rng.integers(0, 10, 2)
        out.append(("two font digits", font_text(f"{a}{b}", font, 64)))
    return out


# --- measuring ---------------------------------------------------------------------------------


def half(items: list, which: str) -> list:
    return items[0::2] if which == "tune" else items[1::2]


def score(model, pictures: list[tuple[int | None, np.ndarray]]) -> dict:
    records = scratchnet.predict_images(model, [p for _, p in pictures])
    labels = [label for label, _ in pictures]
    decisions = np.array([r["decision"] for r in records])
    top = np.array([-1 if r["top"] is None else r["top"][0]["label"] for r in records])
    result = {
        "n": len(records),
        "answer": float(np.mean(decisions == "answer")),
        "unsure": float(np.mean(decisions == "unsure")),
        "refused": float(np.mean(decisions == "reject")),
    }
    if labels[0] is not None:
        truth = np.array(labels)
        result["accuracy"] = float(np.mean(top == truth))
        answered = decisions == "answer"
        result["accuracy_answered"] = (
            float(np.mean(top[answered] == truth[answered])) if answered.any() else float("nan")
        )
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            first = info[0]
            blas = f"{first.get('internal_api')} {first.get('version')}"
            blas += f" ({first.get('architecture')})"
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; BLAS {blas}; load average {os.getloadavg()[0]:.1f}"


def speed(model, rng, count: int = 1000, workers: int | None = None) -> tuple[float, float]:
    """Pictures per second in one predict_images call: by the wall clock and by this process's
    CPU time (the second is less spoiled by other processes on a busy machine, but leaves out
    the worker processes' time). workers: predict_images' (None: every core for large batches;
    1: this process only)."""
    sizes = rng.integers(28, 113, count)
    pictures = [
        1.0 - draw_strokes(DIGIT_STROKES[str(i % 10)], int(s), width=0.1)
        for i, s in enumerate(sizes)
    ]
    scratchnet.predict_images(model, pictures[:20])  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    scratchnet.predict_images(model, pictures, workers=workers)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def fashion_round_trip(path: str, which: str) -> tuple[float, float]:
    from scratchnet.data import load_dataset

    model = scratchnet.load_model(path)
    _, (x_test, y_test) = load_dataset("fashion-mnist")
    indices = half(list(range(2000)), which)
    arrays = model.predict(scratchnet.images_to_features(x_test[indices]))
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for i in indices:
            file = Path(folder) / f"{i:05d}.png"
            Image.fromarray(x_test[i]).save(file)
            files.append(str(file))
        records = scratchnet.predict_images(model, files)
    pictures = np.array([r["top"][0]["label"] for r in records])
    truth = y_test[indices]
    return float(np.mean(arrays == truth)), float(np.mean(pictures == truth))


def measure_half(model, which: str, args, fonts) -> tuple[list, list, dict]:
    """Every group's rows and the non-digits' rows for one half of the pictures."""
    rng = np.random.default_rng(0)
    clean: dict[str, list] = {}
    try:
        clean["UCI handwriting (64 px)"] = uci_digits(args.uci)
    except ImportError:
        print("scikit-learn not installed: no UCI group", file=sys.stderr)
    clean["pen strokes (thin, normal, thick)"] = drawn_digits(rng, args.count)
    if fonts:
        clean[f"fonts ({len(fonts)} TrueType faces)"] = font_digits(rng, fonts, args.count)
    rows = []
    for name, pictures in clean.items():
        pictures = half(pictures, which)
        rows.append((name, "clean", score(model, pictures)))
        for damage, function in DAMAGE.items():
            damaged = [(label, function(p, rng)) for label, p in pictures]
            rows.append((name, damage, score(model, damaged)))
        print(f"{which}: {name} done", file=sys.stderr)
    others = half(non_digit_pictures(rng, fonts, args.count), which)
    kinds = sorted({k for k, _ in others})
    non_rows = [(k, score(model, [(None, p) for kk, p in others if kk == k])) for k in kinds]
    non_rows.append(("all non-digits", score(model, [(None, p) for _, p in others])))
    return rows, non_rows, clean


def targets(rows: list, non_rows: list) -> list[str]:
    """The issue's targets, each with the measured value and whether it is met."""
    by = {(name, damage): r for name, damage, r in rows}
    lines = []

    def line(what: str, value: str, met: bool) -> None:
        lines.append(f"| {what} | {value} | {'met' if met else 'NOT met'} |")

    uci = by.get(("UCI handwriting (64 px)", "clean"))
    if uci:
        line("UCI handwriting >= 88%", f"{100 * uci['accuracy']:.1f}%", uci["accuracy"] >= 0.88)
    for name in dict.fromkeys(n for n, _, _ in rows):
        clean = by[(name, "clean")]["accuracy"]
        worst_damage, worst = min(
            ((d, r["accuracy"]) for (n, d), r in by.items() if n == name and d != "clean"),
            key=lambda pair: pair[1],
        )
        line(
            f"{name}: each damaged group within 5 points of clean",
            f"clean {100 * clean:.1f}%, worst {100 * worst:.1f}% ({worst_damage})",
            clean - worst <= 0.05,
        )
        if not name.startswith("UCI"):
            lowest = min(r["accuracy"] for (n, _), r in by.items() if n == name)
            line(f"{name}: >= 90% clean and damaged", f"lowest {100 * lowest:.1f}%", lowest >= 0.9)
    refused = [r["refused"] for _, _, r in rows]
    counts = [r["n"] for _, _, r in rows]
    share = float(np.average(refused, weights=counts))
    worst_refused = max(refused)
    line(
        "real digits refused <= 2%",
        f"{100 * share:.1f}% of all digit pictures (worst group {100 * worst_refused:.1f}%)",
        share <= 0.02,
    )
    everything = non_rows[-1][1]["refused"]
    line("non-digits refused >= 90%", f"{100 * everything:.1f}%", everything >= 0.9)
    return lines


def group_table(rows: list) -> list[str]:
    lines = [
        "| group | damage | pictures | accuracy | answered | unsure | refused "
        "| accuracy when answered |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, damage, r in rows:
        lines.append(
            f"| {name} | {damage} | {r['n']} | {100 * r['accuracy']:.1f}% "
            f"| {100 * r['answer']:.1f}% | {100 * r['unsure']:.1f}% | {100 * r['refused']:.1f}% "
            f"| {100 * r['accuracy_answered']:.1f}% |"
        )
    return lines


def non_digit_table(non_rows: list) -> list[str]:
    lines = ["| non-digits | pictures | refused | unsure | answered |", "|---|---:|---:|---:|---:|"]
    for kind, r in non_rows:
        lines.append(
            f"| {kind} | {r['n']} | {100 * r['refused']:.1f}% | {100 * r['unsure']:.1f}% "
            f"| {100 * r['answer']:.1f}% |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="an MNIST model (scratchnet train)")
    parser.add_argument("--fashion-model", default=None, help="a Fashion-MNIST model")
    parser.add_argument(
        "--half",
        choices=("tune", "report", "both"),
        default="both",
        help="which half of the pictures: tune (even indices), report (odd) or both, reported "
        "side by side [default: both]",
    )
    parser.add_argument("--count", type=int, default=300, help="pictures per generated group")
    parser.add_argument("--uci", type=int, default=1797, help="UCI digits to use (all 1797)")
    parser.add_argument("--speed-only", action="store_true", help="measure pictures/s only")
    parser.add_argument("--out", type=Path, default=None, help="folder for predict.md")
    args = parser.parse_args()

    model = scratchnet.load_model(args.model)
    fonts = find_fonts()
    wall, cpu = speed(model, np.random.default_rng(0))
    load = os.getloadavg()[0]
    alone, _ = speed(model, np.random.default_rng(0), workers=1)
    halves = [] if args.speed_only else (["report", "tune"] if args.half == "both" else [args.half])
    measured = {which: measure_half(model, which, args, fonts) for which in halves}
    fashion = (
        fashion_round_trip(args.fashion_model, "report" if args.half == "both" else args.half)
        if args.fashion_model and not args.speed_only
        else None
    )
    wall_after, cpu_after = speed(model, np.random.default_rng(0))

    calibration = model.metadata.get("calibration", {})
    typical = model.metadata.get("typicality", {})
    lines = [
        "# predict on generated pictures",
        "",
        "Rerun (a few minutes on 2 idle cores; `--speed-only` for the throughput alone):",
        "",
        "```bash",
        "scratchnet train -o /tmp/default.npz    # the default model (seed 0)",
        "python benchmarks/bench_predict.py --model /tmp/default.npz --out benchmarks/results",
        "```",
        "",
        f"Model: `{Path(args.model).name}`, {model.layers[0].n_in}-"
        + "-".join(str(layer.n_out) for layer in model.layers)
        + f", augment {model.metadata.get('config', {}).get('augment', '?')} "
        f"(temperature {calibration.get('temperature', 'none')}, refusal threshold "
        f"{typical.get('threshold', 'none')}).",
        f"Machine: {machine()}.",
        "",
        f"Speed: {wall:.0f} pictures/s in one predict_images call by the wall clock, "
        f"{cpu:.0f} by this process's CPU time (1000 pictures, 28-112 px, load average "
        f"{load:.1f}; prepared in {cpu_count()} processes); the same call with workers=1 (this "
        f"process alone): {alone:.0f} by the wall clock; again after the accuracy runs: "
        f"{wall_after:.0f} and {cpu_after:.0f} (load average {os.getloadavg()[0]:.1f}).",
    ]
    for which in halves:
        rows, non_rows, _ = measured[which]
        tuned = (
            "odd indices: nothing was tuned on them"
            if which == "report"
            else "even indices: the pictures the steps were tuned on"
        )
        lines += [
            "",
            f"## {which.capitalize()} half ({tuned})",
            "",
            "| target | measured | |",
            "|---|---|---|",
            *targets(rows, non_rows),
            "",
            "accuracy: the top class is the digit (refused pictures count too); answered: the "
            "share given as an answer (not unsure, not refused); refused: 'not a digit'.",
            "",
            *group_table(rows),
            "",
            *non_digit_table(non_rows),
        ]
    if fashion:
        lines += [
            "",
            f"Fashion-MNIST test images (1000, the report half; `{args.fashion_model}`): "
            f"{100 * fashion[0]:.1f}% as arrays, {100 * fashion[1]:.1f}% saved as PNG and "
            "predicted.",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        from scratchnet.fileio import atomic_write

        with atomic_write(args.out / "predict.md", "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
