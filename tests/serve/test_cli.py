"""`scratchnet serve` as a user runs it: a real uvicorn server in a subprocess. It prints its
URL, serves the page, streams live events as run folders appear, warns when it listens beyond
loopback, refuses a busy port or a missing path in one line, and stops on SIGINT within 10 s
even while a live stream is open."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import write_run


def start(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start `scratchnet serve ARGS --port 0`; -> (process, base URL) once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchnet", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+/)", line)
    if not match:
        process.kill()
        raise AssertionError(f"no URL printed: {line!r} {process.stderr.read()!r}")
    return process, match.group(1)


def stop(process: subprocess.Popen, timeout: float = 10.0) -> tuple[int, float, str, str]:
    """SIGINT, then wait: -> (exit status, seconds it took, the rest of stdout, stderr)."""
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"still running {timeout} s after SIGINT") from None
    return process.returncode, time.monotonic() - started, out, err


@contextlib.contextmanager
def serving(*args: str):
    process, url = start(*args)
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def events(response, wanted, limit: float = 15.0):
    """Read server-sent events until `wanted(kind, data)` is true; -> that event's data."""
    deadline = time.monotonic() + limit
    kind = None
    while time.monotonic() < deadline:
        line = response.readline().decode()
        if not line:
            break
        if line.startswith("event: "):
            kind = line[7:].strip()
        elif line.startswith("data: "):
            data = json.loads(line[6:])
            if wanted(kind, data):
                return data
    raise AssertionError("the awaited event never came")


@pytest.fixture
def tools():
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")


@pytest.mark.slow  # a server process, a signal and a stream: seconds
def test_serve_stops_on_sigint_with_a_live_stream_open(tools, served, trained):
    with serving(str(served), "--port", "0") as (process, url):
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "<canvas" in response.read().decode()
        with urllib.request.urlopen(url + "api/live", timeout=20) as stream:
            first = events(stream, lambda kind, data: kind == "runs")
            assert {r["name"] for r in first["runs"]} == {"runs/a", "runs/b"}
            write_run(served / "runs" / "new", trained)  # a run appears: no reload needed
            later = events(stream, lambda kind, data: kind == "runs" and len(data["runs"]) == 3)
            assert "runs/new" in {r["name"] for r in later["runs"]}
            code, seconds, out, err = stop(process)  # the stream is still open
    assert code == 0 and seconds < 10, err
    assert "stopped" in out and "Traceback" not in err


def test_another_host_warns(tools, served):
    with serving(str(served), "--host", "0.0.0.0", "--port", "0") as (process, url):
        port = url.rstrip("/").rsplit(":", 1)[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=20) as answer:
            assert len(json.load(answer)["runs"]) == 2  # any Host is accepted: it answers
        code, _, _, err = stop(process)
    assert "warning" in err and "other machines" in err
    assert code == 0


@pytest.mark.slow  # about a second: the full suite runs it
def test_busy_port_and_missing_path_are_one_line_errors(tools, served, tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        run = subprocess.run(
            [sys.executable, "-m", "scratchnet", "serve", str(served), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        blocker.close()
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in run.stderr
    assert "--port" in run.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "scratchnet", "serve", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "nope" in missing.stderr and "Traceback" not in missing.stderr


def test_bad_port_is_an_argument_error(cli):
    code, _, err = cli("serve", "--port", "70000")
    assert code == 2 and "port" in err


def test_help_names_the_command(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "serve" in out
