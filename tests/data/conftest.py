"""Fixtures for the data tests: an isolated environment, tiny fake data sets, a local HTTP server.

No test here reaches beyond 127.0.0.1; tests marked slow read the real data from SCRATCHNET_DATA.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scratchnet.data import catalog
from scratchnet.data.idx import idx_data, idx_header, write_idx

N_TRAIN, N_TEST = 6, 4
SPLITS = {
    catalog.TRAIN_IMAGES: ("x_train", N_TRAIN),
    catalog.TRAIN_LABELS: ("y_train", N_TRAIN),
    catalog.TEST_IMAGES: ("x_test", N_TEST),
    catalog.TEST_LABELS: ("y_test", N_TEST),
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The uncompressed IDX content of `array`."""
    return idx_header(array) + idx_data(array).tobytes()


@pytest.fixture(autouse=True)
def isolated(request, tmp_path, monkeypatch):
    """Keep every test away from the real home, cache, system copies and network."""
    if request.node.get_closest_marker("slow"):
        return
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    monkeypatch.delenv("SCRATCHNET_DATA", raising=False)
    monkeypatch.delenv("SCRATCHNET_MIRRORS", raising=False)
    # Debian's folder is absolute: point it into tmp_path. Port 9 (discard) refuses quickly.
    debian = str(tmp_path / "usr-share-datasets")
    for name, spec in list(catalog.SPECS.items()):
        dirs = tuple(
            (tool, debian if tool.startswith("Debian") else folder)
            for tool, folder in spec.system_dirs
        )
        monkeypatch.setitem(catalog.SPECS, name, dataclasses.replace(spec, system_dirs=dirs))
        monkeypatch.setitem(catalog.MIRRORS, name, ("http://127.0.0.1:9/",))


@pytest.fixture
def fake(monkeypatch):
    """Tiny MNIST and Fashion-MNIST (6 train, 4 test, 28x28), with the catalog's sizes and
    checksums patched to match; `.write(folder, name)` lays the four files out in a folder."""
    rng = np.random.default_rng(0)
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for name, spec in list(catalog.SPECS.items()):
        monkeypatch.setitem(
            catalog.SPECS, name, dataclasses.replace(spec, n_train=N_TRAIN, n_test=N_TEST)
        )
        arrays[name] = {}
        for file_name, (_, n) in SPLITS.items():
            if "images" in file_name:
                arrays[name][file_name] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
            else:
                arrays[name][file_name] = rng.integers(0, 10, n, dtype=np.uint8)
        checksums = {f: hashlib.sha256(idx_bytes(a)).hexdigest() for f, a in arrays[name].items()}
        monkeypatch.setitem(catalog.SHA256, name, {**catalog.SHA256[name], **checksums})

    def write(folder: Path, name: str = "mnist", *, gz: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, array in arrays[name].items():
            write_idx(folder / (file_name + (".gz" if gz else "")), array)
        return folder

    def gz(name: str, file_name: str) -> bytes:
        return gzip.compress(idx_bytes(arrays[name][file_name]), mtime=0)

    def npz_bytes(name: str = "mnist") -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, **{SPLITS[f][0]: a for f, a in arrays[name].items()})
        return buffer.getvalue()

    def write_npz(path: Path, name: str = "mnist") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(npz_bytes(name))
        return path

    def check(splits, name: str = "mnist") -> None:
        (x_train, y_train), (x_test, y_test) = splits
        expected = arrays[name]
        np.testing.assert_array_equal(x_train, expected[catalog.TRAIN_IMAGES])
        np.testing.assert_array_equal(y_train, expected[catalog.TRAIN_LABELS])
        np.testing.assert_array_equal(x_test, expected[catalog.TEST_IMAGES])
        np.testing.assert_array_equal(y_test, expected[catalog.TEST_LABELS])
        for array in (x_train, y_train, x_test, y_test):
            assert array.dtype == np.uint8 and array.flags.c_contiguous and array.flags.writeable

    def patch_npz_checksum(name: str = "mnist") -> None:
        digest = hashlib.sha256(npz_bytes(name)).hexdigest()
        monkeypatch.setitem(catalog.SHA256[name], catalog.NPZ_NAME, digest)

    return SimpleNamespace(
        arrays=arrays,
        idx_bytes=idx_bytes,
        write=write,
        gz=gz,
        npz_bytes=npz_bytes,
        write_npz=write_npz,
        check=check,
        patch_npz_checksum=patch_npz_checksum,
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() then joins every handler thread: a clean shutdown
    block_on_close = True


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1. Set `routes[path] = (kind, ...)`:
    ("ok", body[, content_type]), ("status", code), ("drop", body) (Content-Length says
    len(body), half is sent, then the connection closes), ("stall", seconds) before any byte,
    ("stall_body", body, seconds) after half the body. `hits` records the paths requested."""
    routes: dict[str, tuple] = {}
    hits: list[str] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output quiet
            pass

        def _send(self, body: bytes, length: int, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_GET(self):
            hits.append(self.path)
            kind, *args = routes.get(self.path, ("status", 404))
            try:
                if kind == "ok":
                    body = args[0]
                    self._send(body, len(body), args[1] if len(args) > 1 else "binary/octet-stream")
                elif kind == "status":
                    self.send_error(args[0])
                elif kind == "drop":
                    body = args[0]
                    self._send(body[: len(body) // 2], len(body), "binary/octet-stream")
                    self.close_connection = True
                elif kind == "stall":
                    stop.wait(args[0])
                elif kind == "stall_body":
                    body, seconds = args
                    self._send(body[: len(body) // 2], len(body), "binary/octet-stream")
                    stop.wait(seconds)
                    self.close_connection = True
                else:
                    raise AssertionError(f"unknown route kind {kind!r}")
            except OSError:
                pass  # the client gave up first (a timeout test): nothing to answer

    httpd = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield SimpleNamespace(
            url=f"http://127.0.0.1:{httpd.server_address[1]}/", routes=routes, hits=hits
        )
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _listing(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def listing():
    """listing(folder): every name under it, hidden ones included (to catch temporary files)."""
    return _listing
