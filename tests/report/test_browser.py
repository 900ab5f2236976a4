"""report.html of a run and of a sweep, opened in a real browser (headless Chromium, Debian's
package, driven by Playwright): no console errors, every image decoded with a non-zero natural
size and shown, and a screenshot that is not blank.

Skips, saying why, only when Chromium or Playwright is missing; in CI (CI set) it fails
instead, since .ci/run installs both.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from scratchnet.report import build_run_report, plots

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser test: .ci/run installs it)")
    pytest.skip(reason)


def chromium_path() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    _missing("no Chromium installed (apt-get install chromium)")
    raise AssertionError  # unreachable


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing('Playwright is not installed (pip install "scratchnet[browser]")')
    if not plots.have_matplotlib():
        _missing('matplotlib is not installed (pip install "scratchnet[plot]"): no plots to check')
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_page(browser, path: Path, expected_images: int) -> None:
    from PIL import Image

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        sizes = page.evaluate(
            "Array.from(document.images)"
            ".map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(sizes) >= expected_images, sizes
        for alt, complete, width, height in sizes:
            assert complete and width > 0 and height > 0, f"image {alt!r} did not decode"
        for image in page.query_selector_all("img"):
            image.scroll_into_view_if_needed()
            box = image.bounding_box()
            assert image.is_visible() and box and box["width"] > 50 and box["height"] > 50
        shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        extrema = shot.getextrema()
        assert any(low != high for low, high in extrema), "the screenshot is a single colour"
        assert len(shot.getcolors(maxcolors=1 << 24)) > 20, "the screenshot is nearly blank"
        assert problems == []
    finally:
        page.close()


@pytest.mark.slow  # a headless Chromium: seconds each, with the other browser tests
def test_run_report_in_chromium(browser, run_dir, digits):
    from scratchnet.diagnose.run import diagnose_training
    from scratchnet.train.recipe import TrainConfig

    config = TrainConfig(hidden=(16,), epochs=2, validation_size=80, batch_size=32)
    (run_dir / "diagnosis.json").write_text(
        __import__("json").dumps(diagnose_training(config, data=digits, probe_size=50).as_dict())
    )
    path = build_run_report(run_dir, test=digits[1])
    check_page(browser, path, expected_images=5)


@pytest.mark.slow
def test_sweep_report_in_chromium(browser, tmp_path, digits):
    from scratchnet.experiments.executors import InlineExecutor
    from scratchnet.experiments.space import grid
    from scratchnet.experiments.sweep import plan_trials, run_sweep
    from scratchnet.train.recipe import TrainConfig

    base = TrainConfig(hidden=(8,), epochs=2, validation_size=80, batch_size=32)
    trials = plan_trials(base, grid({"learning_rate": [0.1, 0.01], "hidden": [4, 8]}), repeats=1)
    run_sweep(trials, tmp_path / "sweep", executor=InlineExecutor(), data=digits)
    check_page(browser, tmp_path / "sweep" / "report.html", expected_images=4)
    check_page(browser, tmp_path / "sweep" / "best" / "report.html", expected_images=4)
