"""The downloader against a local HTTP server: success, and every failure leaving no file behind."""

from __future__ import annotations

import gzip
import hashlib
import socket
import sys
import time

import pytest

from scratchnet.data.download import download
from scratchnet.errors import DownloadError

CONTENT = b"\x00\x00\x08\x01\x00\x00\x00\x05hello"
GZ = gzip.compress(CONTENT, mtime=0)
SHA = hashlib.sha256(CONTENT).hexdigest()


def test_good_file_is_verified_and_placed(server, tmp_path, listing):
    server.routes["/f.gz"] = ("ok", GZ)
    dest = download(server.url + "f.gz", tmp_path / "f.gz", sha256=SHA, progress=False)
    assert dest == tmp_path / "f.gz"
    assert gzip.decompress(dest.read_bytes()) == CONTENT
    assert listing(tmp_path) == ["f.gz"]


def test_missing_destination_folder_is_created(server, tmp_path):
    server.routes["/f.gz"] = ("ok", GZ)
    download(server.url + "f.gz", tmp_path / "new" / "sub" / "f.gz", sha256=SHA)
    assert (tmp_path / "new" / "sub" / "f.gz").read_bytes() == GZ


def test_non_gz_destination_hashes_the_file_itself(server, tmp_path):
    body = b"PK\x03\x04 a zip archive, nominally"
    server.routes["/a.npz"] = ("ok", body)
    download(server.url + "a.npz", tmp_path / "a.npz", sha256=hashlib.sha256(body).hexdigest())
    assert (tmp_path / "a.npz").read_bytes() == body


def failure(server, tmp_path, route, *, sha=SHA, timeout=None) -> str:
    """Serve `route` at /f.gz, download it, and return the DownloadError message."""
    server.routes["/f.gz"] = route
    with pytest.raises(DownloadError) as info:
        download(server.url + "f.gz", tmp_path / "f.gz", sha256=sha, timeout=timeout)
    message = str(info.value)
    assert message.startswith(server.url + "f.gz: ") and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # nothing left: neither the file nor a temporary one
    return message


def test_wrong_checksum(server, tmp_path):
    message = failure(server, tmp_path, ("ok", GZ), sha="0" * 64)
    assert "wrong SHA-256 of the content: expected 000000000000..., received " + SHA[:12] in message


def test_http_404(server, tmp_path):
    assert failure(server, tmp_path, ("status", 404)).endswith("HTTP 404 Not Found")


def test_http_500(server, tmp_path):
    assert "HTTP 500" in failure(server, tmp_path, ("status", 500))


def test_connection_dropped_halfway(server, tmp_path):
    message = failure(server, tmp_path, ("drop", GZ))
    assert f"connection closed after {len(GZ) // 2} of {len(GZ)} bytes" in message


def test_html_page_with_status_200(server, tmp_path):
    page = b"<!DOCTYPE html><html><body>Please log in</body></html>"
    assert "HTML page" in failure(server, tmp_path, ("ok", page, "text/html; charset=utf-8"))
    # Even when the server calls it binary.
    assert "HTML page" in failure(server, tmp_path, ("ok", b"\n  <html>oops</html>"))


def test_not_gzip_data(server, tmp_path):
    assert "not a .gz file (starts with 00000801)" in failure(server, tmp_path, ("ok", CONTENT))


def test_corrupt_gzip_data(server, tmp_path):
    corrupt = GZ[:12] + bytes(b ^ 0x55 for b in GZ[12:])
    assert "corrupt gzip data" in failure(server, tmp_path, ("ok", corrupt))


def test_empty_body(server, tmp_path):
    assert "empty file" in failure(server, tmp_path, ("ok", b""))


def test_stalled_server_times_out(server, tmp_path):
    start = time.perf_counter()
    message = failure(server, tmp_path, ("stall", 5.0), timeout=0.2)
    assert "timed out (no data for 0.2 s)" in message
    assert time.perf_counter() - start < 3.0


def test_stall_in_the_middle_of_the_body_times_out(server, tmp_path):
    assert "timed out" in failure(server, tmp_path, ("stall_body", GZ, 5.0), timeout=0.2)


def test_connection_refused(tmp_path):
    with socket.socket() as sock:  # a free port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/f.gz"
    with pytest.raises(DownloadError, match=f"{url}: .*[Rr]efused"):
        download(url, tmp_path / "f.gz", sha256=SHA, timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_url(tmp_path):
    with pytest.raises(DownloadError, match="unknown url type"):
        download("nosuch://x/f.gz", tmp_path / "f.gz", sha256=SHA)


def test_progress_bar_with_tqdm(server, tmp_path, capsys):
    server.routes["/f.gz"] = ("ok", GZ)
    download(server.url + "f.gz", tmp_path / "f.gz", sha256=SHA, progress=True)
    assert "f.gz" in capsys.readouterr().err


def test_progress_without_tqdm_is_silently_none(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` raise ImportError
    server.routes["/f.gz"] = ("ok", GZ)
    download(server.url + "f.gz", tmp_path / "f.gz", sha256=SHA, progress=True)
    assert capsys.readouterr().err == ""
