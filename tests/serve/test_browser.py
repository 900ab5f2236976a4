"""The studio in a real browser (headless Chromium, Debian's package, driven by Playwright)
against a real `scratchnet serve` process and a small network trained on real MNIST: drawing a 1
and a 0 with mouse strokes gets those answers, the page loads with no console error and its
screenshot is not blank, it fits 360 px, the views are keyboard reachable, runs overlay, a mistake
opens in the draw view, and a run being trained appears and grows without a reload.

Skips, saying why, when Chromium or Playwright is missing (fails in CI, which installs both).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

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

pytestmark = pytest.mark.slow  # trains on real MNIST and drives a browser


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests: .ci/run installs them)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = next(
        (c for c in ("/usr/bin/chromium", shutil.which("chromium")) if c and Path(c).is_file()),
        None,
    )
    if executable is None:
        _missing("no Chromium installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing('Playwright is not installed (pip install "scratchnet[browser]")')
    pytest.importorskip("uvicorn")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def mnist_model(mnist):
    """A 784-64-10 network trained for 3 epochs on 10,000 real MNIST images (a few seconds)."""
    from scratchnet import TrainConfig, train_classifier

    (x_train, y_train), test = mnist
    config = TrainConfig(hidden=(64,), epochs=3, validation_size=1000, batch_size=64)
    result = train_classifier(config, data=((x_train[:10000], y_train[:10000]), test))
    return result.model, result.history.rows, config.to_dict()


def _write_run(folder: Path, trained, epochs: int | None = None) -> None:
    from scratchnet import save_model

    model, rows, config = trained
    folder.mkdir(parents=True)
    save_model(model, folder / "model.npz")
    (folder / "history.json").write_text(json.dumps({"epochs": rows[: epochs or len(rows)]}))
    (folder / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def server(tmp_path_factory, mnist_model, data_dir):
    """`scratchnet serve ROOT --port 0` over two runs of the MNIST model; -> (url, root)."""
    root = tmp_path_factory.mktemp("studio")
    _write_run(root / "first", mnist_model)
    _write_run(root / "second", mnist_model, epochs=2)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scratchnet",
            "serve",
            str(root),
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+/)", line)
    try:
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        yield match.group(1), root
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def page(browser, server):
    """A fresh page on the studio; fails the test on any console error or failed request."""
    url, _ = server
    tab = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.goto(url, wait_until="load")
    assert _until(tab, "document.getElementById('model').value !== ''")
    yield tab
    tab.close()
    assert problems == []


def _until(page, script: str, timeout: float = 15.0) -> bool:
    """Poll a JavaScript expression until it is true (wait_for_function would eval it in the
    page, which the studio's Content-Security-Policy rightly forbids); -> whether it became so."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(script):
            return True
        page.wait_for_timeout(100)
    return False


def _stroke(page, points) -> None:
    """One mouse stroke through `points` given as fractions of the drawing pad."""
    box = page.locator("#pad").bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=3)
    page.mouse.up()


def _answer(page, expected: str) -> str:
    _until(page, f"document.getElementById('answer').textContent === {json.dumps(expected)}")
    return page.locator("#answer").text_content()


def test_drawing_a_one_and_a_zero(page):
    _stroke(page, [(0.5, 0.12 + 0.76 * i / 10) for i in range(11)])
    assert _answer(page, "1") == "1"
    assert page.locator("#probs li.top").get_attribute("data-class") == "1"
    assert page.locator("#layers canvas").count() == 1  # one hidden layer, 64 cells
    assert page.locator("#templates canvas").count() == 8
    page.click("#clear")
    assert page.locator("#answer").text_content() == "?"
    ring = [
        (0.5 + 0.24 * math.sin(t / 24 * 2 * math.pi), 0.5 - 0.34 * math.cos(t / 24 * 2 * math.pi))
        for t in range(26)
    ]
    _stroke(page, ring)
    assert _answer(page, "0") == "0"
    assert page.locator("#probs li.top").get_attribute("data-class") == "0"


def test_page_is_not_blank_and_fits_a_phone(page, browser, server, tmp_path):
    from PIL import Image

    _stroke(page, [(0.35, 0.2), (0.65, 0.2), (0.45, 0.85)])  # a seven, so there is a picture
    assert _until(page, "document.getElementById('answer').textContent !== '?'")
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    shot.save(tmp_path / "studio.png")
    assert len(shot.getcolors(maxcolors=1 << 24)) > 50, "the screenshot is nearly blank"
    phone = browser.new_page(viewport={"width": 360, "height": 740})
    try:
        phone.goto(server[0], wait_until="load")
        for view in ("draw", "models", "runs", "live", "mistakes"):
            phone.evaluate(f"window.studio.show({json.dumps(view)})")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 362, (view, width)
    finally:
        phone.close()


def test_keyboard_reaches_the_views(page):
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.view") == "runs":
            break
    assert page.evaluate("document.activeElement.dataset.view") == "runs"
    page.keyboard.press("Enter")
    assert page.locator("#view-runs").is_visible()


def test_runs_table_sorts_and_overlays(page):
    page.click("nav button[data-view=runs]")
    page.wait_for_selector("#runs-table tr[data-run=second]")
    page.click("#runs-table button[data-sort=epochs]")
    first_row = page.locator("#runs-table tbody tr").first.get_attribute("data-run")
    page.click("#runs-table button[data-sort=epochs]")
    assert page.locator("#runs-table tbody tr").first.get_attribute("data-run") != first_row
    for name in ("first", "second"):
        page.check(f"#runs-table tr[data-run={name}] input[type=checkbox]")
    assert _until(page, "document.querySelectorAll('#overlay-legend li').length === 2")


def test_a_mistake_opens_in_the_draw_view(page):
    page.click("nav button[data-view=mistakes]")
    page.select_option("#true-class", "9")
    page.wait_for_selector("#mistakes button", timeout=30000)
    first_is_a_nine = (
        "(() => { const b = document.querySelector('#mistakes button');"
        " return !!b && b.getAttribute('aria-label').includes('true 9'); })()"
    )
    assert _until(page, first_is_a_nine, 30)
    status = page.locator("#mistakes-status").text_content()
    assert "of 10000 mnist test images are wrong" in status
    chosen = page.locator("#mistakes button").first
    assert "true 9" in chosen.get_attribute("aria-label")
    chosen.click()
    assert page.locator("#view-draw").is_visible()
    assert _until(
        page, "document.getElementById('draw-status').textContent.includes('true class 9')"
    )
    assert page.locator("#layers canvas").count() == 1


def test_live_view_sees_a_run_train(page, server, data_dir):
    _, root = server
    page.click("nav button[data-view=live]")
    training = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scratchnet",
            "train",
            "--hidden",
            "16",
            "--epochs",
            "4",
            "--validation-size",
            "1000",
            "--data-dir",
            str(data_dir),
            "--out",
            str(root / "live1"),
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    card = ".live-run[data-run=live1]"
    try:
        page.wait_for_selector(card, timeout=60000)
        # An epoch has ended and the run is still training: the curve grows while it runs.
        growing = (
            f"Number(document.querySelector('{card}').dataset.epochs) >= 1 && "
            f"document.querySelector('{card} .live-text').textContent.startsWith('epoch ')"
        )
        assert _until(page, growing, 90), page.locator(card).text_content()
        assert page.locator(f"{card} progress").count() == 1
        assert "new run: live1" in page.locator("#notice").text_content()
        assert training.wait(timeout=120) == 0
        done = f"document.querySelector('{card} .live-text').textContent.startsWith('done after 4')"
        assert _until(page, done, 30), page.locator(card).text_content()
    finally:
        if training.poll() is None:
            training.kill()
        training.communicate()


def test_a_photo_goes_through_the_same_view(page, tmp_path):
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (300, 240), (235, 230, 220))  # greyish paper, landscape
    ImageDraw.Draw(photo).line([(150, 40), (150, 200)], fill=(30, 30, 40), width=18)
    path = tmp_path / "digit.png"
    photo.save(path)
    page.set_input_files("#photo", str(path))
    status = "document.getElementById('draw-status').textContent.startsWith('photo digit.png: ')"
    assert _until(page, status), page.locator("#draw-status").text_content()
    assert page.locator("#answer").text_content() == "1"
    assert page.locator("#layers canvas").count() == 1
