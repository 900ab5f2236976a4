"""The studio is safe by default: only what lies under the served PATHs can be reached (no
`..`, no encoded dots, no symlinks out), bodies are capped (413), the Host header must be a
loopback name (DNS rebinding), and a model file that holds pickled objects is refused unread."""

from __future__ import annotations

import os

import pytest

TRAVERSALS = [
    "/api/runs/../../outside/history",
    "/api/runs/%2e%2e/outside/history",
    "/api/runs/%2e%2e%2foutside/history",
    "/api/runs/..%2F..%2Foutside/history",
    "/api/runs/runs/%2e%2e/%2e%2e/%2e%2e/outside/history",
    "/api/models/%2e%2e%2foutside/mistakes",
    "/api/sweeps/%2e%2e/trials",
    "/reports/..%2foutside",
    "/reports/%2e%2e/outside",
    "/reports/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/static/..%2f..%2fapp.py",
    "/static/%2e%2e%2fapp.py",
    "/static/../app.py",
    "/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_dot_dot_and_encoded_dots_reach_nothing(client, url):
    response = client.get(url)
    assert response.status_code in (404, 405), (url, response.status_code)
    assert "TOP SECRET" not in response.text and "def create_app" not in response.text


def test_predict_cannot_name_a_model_outside(client, served, pictures):
    headers = {"Content-Type": "image/png"}
    for name in ("../outside", "%2e%2e/outside", str(served.parent / "outside"), "/etc/passwd"):
        response = client.post(
            "/api/predict", params={"model": name}, content=pictures["one.png"], headers=headers
        )
        assert response.status_code == 404, name


@pytest.fixture
def with_links(served):
    """Symlinks inside the served folder that point out of it: to a run folder, a model file
    and the secret; and one that points inside (allowed)."""
    outside = served.parent / "outside"
    try:
        os.symlink(outside, served / "linked-run", target_is_directory=True)
        os.symlink(outside / "model.npz", served / "linked.npz")
        os.symlink(served.parent / "secret.txt", served / "runs" / "a" / "report-link.html")
        os.symlink(served / "loose.npz", served / "inside-link.npz")
    except OSError:
        pytest.skip("this file system has no symbolic links")
    return served


def test_symlinks_out_are_not_listed_nor_reachable(client, with_links, pictures):
    client.app.state.studio.catalog.refresh()
    models = {m["name"] for m in client.get("/api/models").json()["models"]}
    runs = {r["name"] for r in client.get("/api/runs").json()["runs"]}
    assert "linked.npz" not in models and "linked-run" not in runs
    assert not any(name.startswith("linked-run") for name in models | runs)
    assert "inside-link.npz" in models  # a link that stays inside the served folder is fine
    assert client.get("/api/runs/linked-run/history").status_code == 404
    assert client.get("/api/models/linked.npz/mistakes").status_code == 404
    response = client.post(
        "/api/predict?model=linked.npz",
        content=pictures["one.png"],
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == 404


def test_a_report_that_is_a_symlink_out_is_refused(client, served):
    report = served / "runs" / "b" / "report.html"
    report.unlink()
    try:
        os.symlink(served.parent / "secret.txt", report)
    except OSError:
        pytest.skip("this file system has no symbolic links")
    response = client.get("/reports/runs/b")
    assert response.status_code == 404 and "TOP SECRET" not in response.text


def test_a_large_body_gets_413(served, pictures):
    from starlette.testclient import TestClient

    from scratchnet.serve.app import create_app

    app = create_app([served], max_body=1000)
    with TestClient(app, base_url="http://127.0.0.1") as small:
        headers = {"Content-Type": "image/png"}
        big = b"\x89PNG" + bytes(5000)
        assert small.post("/api/predict", content=big, headers=headers).status_code == 413

        def chunks():  # no Content-Length: the cap holds while streaming
            for _ in range(10):
                yield bytes(500)

        streamed = small.post("/api/inspect", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        assert "smaller picture" in streamed.json()["error"]


def test_the_default_limit_is_a_few_megabytes(client):
    headers = {"Content-Type": "image/png"}
    response = client.post("/api/predict", content=bytes(11 * 1024 * 1024), headers=headers)
    assert response.status_code == 413


def test_other_host_names_are_refused(client):
    # A page of another site, rebinding its name to 127.0.0.1, sends its own Host header.
    response = client.get("/api/models", headers={"Host": "attacker.example"})
    assert response.status_code == 400
    assert client.get("/api/models", headers={"Host": "localhost:8000"}).status_code == 200


def test_a_model_file_with_pickled_objects_is_refused_unread(client, served, tmp_path):
    import numpy as np

    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.savez(served / "evil.npz", x=np.array([Boom()], dtype=object), allow_pickle=True)
    client.app.state.studio.catalog.refresh()
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert "error" in models["evil.npz"]
    assert not marker.exists()


def test_a_run_whose_history_links_out_is_not_served(client, served):
    import json

    outside = served.parent / "outside.json"
    outside.write_text(json.dumps({"epochs": [{"epoch": 1, "loss": "TOP SECRET"}]}))
    history = served / "runs" / "b" / "history.json"
    history.unlink()
    try:
        os.symlink(outside, history)
    except OSError:
        pytest.skip("this file system has no symbolic links")
    client.app.state.studio.catalog.refresh()
    runs = client.get("/api/runs")
    assert "runs/b" not in {r["name"] for r in runs.json()["runs"]}
    for url in ("/api/runs/runs/b/history", "/api/models/runs/b/mistakes", "/reports/runs/b"):
        response = client.get(url)
        assert response.status_code == 404 and "TOP SECRET" not in response.text, url
    assert "TOP SECRET" not in runs.text


def test_a_loopback_address_of_ones_own_is_accepted(served):
    from starlette.testclient import TestClient

    from scratchnet.cli.serve import _host_names
    from scratchnet.serve.app import create_app

    app = create_app([served], hosts=_host_names("127.0.0.2"))
    with TestClient(app, base_url="http://127.0.0.2:8000") as other:
        assert other.get("/api/runs").status_code == 200
        assert other.get("/api/runs", headers={"Host": "evil.example"}).status_code == 400
