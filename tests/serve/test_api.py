"""The studio's HTTP API, through Starlette's TestClient: what each route returns, and that
POST /api/predict answers exactly what `scratchnet predict --json` prints for the same picture."""

from __future__ import annotations

import json
import re

import pytest


def test_page_has_a_canvas_and_its_own_files(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "<canvas" in response.text and 'id="pad"' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    for name, kind in (("studio.js", "javascript"), ("studio.css", "css")):
        static = client.get(f"/static/{name}")
        assert static.status_code == 200 and kind in static.headers["content-type"]
    assert client.get("/static/nothing.js").status_code == 404
    # No reference to anything off this server (no CDN): every src/href is local.
    assert "http://" not in response.text and "https://" not in response.text


def test_models_list_runs_and_loose_files(client):
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert set(models) == {"runs/a", "runs/b", "loose.npz"}
    a = models["runs/a"]
    assert a["network"] == "784-16-8-3"
    assert a["settings"]["hidden"] == [16, 8]
    assert 0.0 <= a["test_accuracy"] <= 1.0
    assert a["date"].endswith("Z") and a["parameters"] > 784 * 16


def test_runs_and_their_history(client, served):
    runs = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(runs) == {"runs/a", "runs/b"}
    assert (runs["runs/a"]["epochs"], runs["runs/b"]["epochs"]) == (3, 2)
    assert runs["runs/a"]["network"] == "784-16-8-3"
    assert runs["runs/a"]["status"] == "done" and runs["runs/a"]["report"] is True
    saved = json.loads((served / "runs" / "b" / "history.json").read_text())["epochs"]
    history = client.get("/api/runs/runs/b/history").json()
    assert history["history"] == saved and history["progress"] is None
    assert client.get("/api/runs/runs/nope/history").status_code == 404


def test_sweeps_and_their_trials(client):
    sweeps = client.get("/api/sweeps").json()["sweeps"]
    assert [s["name"] for s in sweeps] == ["sweep"] and sweeps[0]["trials"] == 2
    trials = client.get("/api/sweeps/sweep/trials").json()["trials"]
    assert [t["params"]["learning_rate"] for t in trials] == [0.1, 0.01]
    assert len(trials[0]["history"]) == 3


def test_report_is_served_sandboxed(client):
    response = client.get("/reports/runs/a")
    assert response.status_code == 200 and "run report" in response.text
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert client.get("/reports/runs/missing").status_code == 404


@pytest.mark.parametrize("name", ["one.png", "zero.png", "seven.jpg"])
def test_predict_agrees_with_the_cli(client, served, pictures, cli, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(pictures[name])
    code, out, _ = cli("predict", served / "runs" / "a" / "model.npz", path, "--json")
    assert code == 0
    (expected,) = json.loads(out)
    kind = "image/jpeg" if name.endswith(".jpg") else "image/png"
    response = client.post(
        "/api/predict?model=runs/a", content=pictures[name], headers={"Content-Type": kind}
    )
    assert response.status_code == 200
    record = response.json()
    assert record.pop("image") == "upload" and expected.pop("image") == str(path)
    assert record == expected


def test_predict_uses_the_first_model_when_none_is_named(client, pictures):
    response = client.post(
        "/api/predict", content=pictures["one.png"], headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 200 and len(response.json()["top"]) == 3


def test_without_a_name_a_broken_model_file_is_passed_over(served, pictures):
    # "aaa.npz" sorts first: it is listed with its error, and the first model that loads answers.
    from starlette.testclient import TestClient

    from scratchnet.serve.app import create_app

    (served / "aaa.npz").write_bytes(b"not a model")
    with TestClient(create_app([served]), base_url="http://127.0.0.1") as client:
        listed = {m["name"]: m for m in client.get("/api/models").json()["models"]}
        assert "not a scratchnet model file" in listed["aaa.npz"]["error"]
        picture = {"content": pictures["one.png"], "headers": {"Content-Type": "image/png"}}
        assert client.post("/api/predict", **picture).status_code == 200
        named = client.post("/api/predict?model=aaa.npz", **picture)
        assert named.status_code == 422 and "aaa.npz" in named.json()["error"]


def test_a_bad_picture_gets_400_and_the_clis_message(client, served, cli, tmp_path):
    bad = tmp_path / "upload"
    bad.write_bytes(b"this is not a picture")
    code, _, err = cli("predict", served / "loose.npz", bad)
    assert code == 1
    cli_message = re.sub(r"^scratchnet( \w+)?: error: ", "", err.strip()).replace(
        str(bad), "upload"
    )
    response = client.post(
        "/api/predict", content=bad.read_bytes(), headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == cli_message
    assert "\n" not in cli_message


def test_a_blank_picture_is_refused_as_predict_refuses_it(client):
    from PIL import Image

    buffer = __import__("io").BytesIO()
    Image.new("L", (50, 50), 255).save(buffer, format="PNG")
    response = client.post(
        "/api/predict", content=buffer.getvalue(), headers={"Content-Type": "image/png"}
    )
    assert response.status_code == 200
    record = response.json()
    assert record["decision"] == "reject" and record["prediction"] is None


def test_wrong_type_and_bad_options(client, pictures):
    body = pictures["one.png"]
    assert client.post("/api/predict", content=body).status_code == 415
    text = client.post("/api/predict", content=body, headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and "image/png" in text.json()["error"]
    headers = {"Content-Type": "image/png"}
    assert client.post("/api/predict?top=0", content=body, headers=headers).status_code == 400
    assert client.post("/api/predict?invert=x", content=body, headers=headers).status_code == 400
    missing = client.post("/api/predict?model=nope", content=body, headers=headers)
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


def test_inspect_shows_every_hidden_layer_and_the_templates(client, pictures):
    response = client.post(
        "/api/inspect?model=runs/a",
        content=pictures["zero.png"],
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == 200
    result = response.json()
    assert len(result["input"]) == 784 and 0.0 <= min(result["input"]) <= max(result["input"]) <= 1
    assert [len(layer["values"]) for layer in result["layers"]] == [16, 8]
    assert result["layers"][0]["label"].startswith("hidden 1: 16 units")
    probabilities = result["probabilities"]
    assert abs(sum(probabilities) - 1) < 1e-3
    assert result["predicted"] == max(range(len(probabilities)), key=probabilities.__getitem__)
    assert result["record"]["top"][0]["label"] == result["predicted"]
    templates = result["templates"]
    assert 1 <= len(templates) <= 8 and all(len(t["weights"]) == 784 for t in templates)
    contributions = [t["contribution"] for t in templates]
    assert contributions == sorted(contributions, reverse=True)


def test_serving_one_model_file(served, pictures, cli, tmp_path):
    """`scratchnet serve MODEL`: the page, the one model, and predict as the CLI answers."""
    from starlette.testclient import TestClient

    from scratchnet.serve.app import create_app

    model = served / "loose.npz"
    with TestClient(create_app([model]), base_url="http://127.0.0.1") as one:
        assert "<canvas" in one.get("/").text
        assert [m["name"] for m in one.get("/api/models").json()["models"]] == ["loose.npz"]
        assert one.get("/api/runs").json() == {"runs": []}
        response = one.post(
            "/api/predict", content=pictures["zero.png"], headers={"Content-Type": "image/png"}
        )
    picture = tmp_path / "zero.png"
    picture.write_bytes(pictures["zero.png"])
    code, out, _ = cli("predict", model, picture, "--json")
    (expected,) = json.loads(out)
    assert code == 0 and response.status_code == 200
    assert {**response.json(), "image": None} == {**expected, "image": None}


def test_serve_refuses_a_path_that_is_not_a_model_or_folder(served, tmp_path):
    from scratchnet.errors import ScratchnetError
    from scratchnet.serve.catalog import Catalog

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for path, words in ((text, "not a model file"), (tmp_path / "gone", "no such file")):
        with pytest.raises(ScratchnetError, match=words):
            Catalog([path])
