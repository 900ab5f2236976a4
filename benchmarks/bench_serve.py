"""The studio's speed: predict round trips through `scratchnet serve`, and the page's first load.

Starts a real server (`python -m scratchnet serve`, uvicorn) in a subprocess over a model of the
default network (784-512-256-10; its weights do not change the time, so an untrained one is
saved), then over one kept-alive HTTP connection, as the page does:
- POST /api/predict with a drawn digit (a 280x280 PNG like the page's canvas sends): p50 / p95;
- POST /api/inspect (what the draw view asks for: the layers and templates too): p50 / p95;
- beside them, in the same run, the same work called in-process without HTTP (the reference:
  the ratio is what the server adds);
- the page's first load: GET / and its script and style on fresh connections, and, when
  Chromium and Playwright are installed, the time to the browser's load event (and to the
  first model listed) in headless Chromium.
Targets (issue 16): predict p50 <= 20 ms, p95 <= 50 ms; first load < 1 s.

    .venv/bin/python benchmarks/bench_serve.py --out benchmarks/results

Writes serve.md under --out (and prints it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scratchnet.fileio import atomic_write
from scratchnet.resources import cpu_model


def machine() -> str:
    model = cpu_model(platform.processor() or platform.machine())
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
            f"{i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:
        pass
    return (
        f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}; BLAS: {blas}"
    )


def drawn_digit() -> bytes:
    """A 280x280 PNG of a hand-drawn-like 3: what the page's canvas sends."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line(
        [(90, 70), (170, 60), (140, 135), (185, 190), (95, 215)],
        fill=(0, 0, 0, 255),
        width=20,
        joint="curve",
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def default_model(folder: Path) -> Path:
    from scratchnet import save_model
    from scratchnet.nn import mlp

    model = mlp(784, [512, 256], 10, seed=0)
    path = folder / "default.npz"
    save_model(
        model, path, metadata={"dataset": "mnist", "class_names": [str(i) for i in range(10)]}
    )
    return path


def start_server(path: Path) -> tuple[subprocess.Popen, str, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchnet", "serve", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"http://([\d.]+):(\d+)/", line)
    if not match:
        process.kill()
        raise SystemExit(f"the server did not start: {line!r} {process.stderr.read()!r}")
    return process, match.group(1), int(match.group(2))


def round_trips(host: str, port: int, url: str, body: bytes, count: int) -> list[float]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", url, body=body, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        assert response.status == 200, response.status
    connection.close()
    return times


def in_process(path: Path, body: bytes, count: int) -> tuple[list[float], list[float]]:
    from scratchnet.serve.state import Studio

    studio = Studio([path])
    predict, inspect = [], []
    for _ in range(count):
        started = time.perf_counter()
        studio.predict(body, model=None, top=3, invert="auto")
        predict.append(time.perf_counter() - started)
        started = time.perf_counter()
        studio.inspect(body, model=None)
        inspect.append(time.perf_counter() - started)
    return predict, inspect


def page_load(host: str, port: int) -> float:
    """GET /, its script and style, each on a fresh connection (no cache): seconds in all."""
    started = time.perf_counter()
    for url in ("/", "/static/studio.js", "/static/studio.css", "/api/models"):
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request("GET", url)
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200, (url, response.status)
    return time.perf_counter() - started


def browser_load(host: str, port: int) -> tuple[float, float] | None:
    """Headless Chromium: seconds to the load event and to the first model listed; None when
    Chromium or Playwright is missing."""
    chromium = "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(chromium).is_file():
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(f"http://{host}:{port}/", wait_until="load")
        loaded = time.perf_counter() - started
        while not page.evaluate("document.getElementById('model').value"):
            time.sleep(0.005)
        listed = time.perf_counter() - started
        browser.close()
    return loaded, listed


def ms(values: list[float], q: float) -> float:
    return 1000 * float(np.quantile(values, q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="round trips per route")
    parser.add_argument("--out", type=Path, default=None, help="write serve.md here")
    args = parser.parse_args(argv)
    body = drawn_digit()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        path = default_model(Path(folder))
        process, host, port = start_server(path)
        try:
            first = page_load(host, port)  # cold: the server loads the model for /api/models
            warm_up = round_trips(host, port, "/api/predict", body, 20)
            del warm_up
            predict = round_trips(host, port, "/api/predict", body, args.requests)
            inspect = round_trips(host, port, "/api/inspect", body, args.requests)
            loads = [page_load(host, port) for _ in range(5)]
            browser = browser_load(host, port)
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
        direct_predict, direct_inspect = in_process(path, body, args.requests)
    rows = [
        ("POST /api/predict", predict, direct_predict, 20, 50),
        ("POST /api/inspect (draw view)", inspect, direct_inspect, None, None),
    ]
    lines = [
        "# The studio's speed: predict round trips and the first page load",
        "",
        f"Made by `python benchmarks/bench_serve.py` on {dt.date.today().isoformat()}: "
        f"{args.requests} round trips per route over one kept-alive connection to "
        "`scratchnet serve` (uvicorn, one process), with a 280x280 PNG drawing like the page's "
        "canvas sends, on the default network (784-512-256-10).",
        "",
        f"- Machine: {machine()}.",
        f"- Load average (1 min) at the start: {load:.2f}"
        + (" (a busy machine: these times are inflated)." if load > 1 else "."),
        "- In-process: the same Studio call without HTTP, in the same run (the ratio is what "
        "the server adds; near 1, the time is the picture's preparation by scratchnet.pictures "
        "and the network, not HTTP).",
        "",
        "| route | p50 ms | p95 ms | in-process p50 ms | ratio | target p50 / p95 | met |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for name, times, direct, p50_target, p95_target in rows:
        met = "-"
        if p50_target is not None:
            ok = ms(times, 0.5) <= p50_target and ms(times, 0.95) <= p95_target
            met = "yes" if ok else "NO"
        target = f"{p50_target} / {p95_target} ms" if p50_target else "-"
        lines.append(
            f"| {name} | {ms(times, 0.5):.1f} | {ms(times, 0.95):.1f} | {ms(direct, 0.5):.1f} | "
            f"{ms(times, 0.5) / ms(direct, 0.5):.2f}x | {target} | {met} |"
        )
    lines += [
        "",
        "| first page load | seconds | target | met |",
        "|---|---:|---|---|",
        f"| GET /, studio.js, studio.css, /api/models (cold server) | {first:.3f} | < 1 s | "
        f"{'yes' if first < 1 else 'NO'} |",
        f"| the same, warm (median of 5) | {statistics.median(loads):.3f} | < 1 s | "
        f"{'yes' if statistics.median(loads) < 1 else 'NO'} |",
    ]
    if browser is not None:
        lines += [
            f"| headless Chromium: load event | {browser[0]:.3f} | < 1 s | "
            f"{'yes' if browser[0] < 1 else 'NO'} |",
            f"| headless Chromium: first model listed | {browser[1]:.3f} | < 1 s | "
            f"{'yes' if browser[1] < 1 else 'NO'} |",
        ]
    else:
        lines.append("| headless Chromium | not measured (no Chromium or Playwright) | | |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.out / "serve.md", "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
