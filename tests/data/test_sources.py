"""Where data sets are found: the search order, the folder and .npz forms, and the error that
lists every place tried. Tiny fake data sets; downloads go to a server on 127.0.0.1."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from scratchnet.data import catalog, load_dataset
from scratchnet.data.sources import cache_dir, mirrors_for
from scratchnet.errors import DataError, DatasetNotFoundError, IDXError


def corrupt(folder, name="mnist"):
    """A dataset folder whose files are there but truncated: loading from it must fail loudly."""
    folder.mkdir(parents=True, exist_ok=True)
    for file_name in catalog.IDX_FILES:
        (folder / f"{file_name}.gz").write_bytes(
            gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x09")[:-3]
        )


# --- the search order -----------------------------------------------------------------------


PLACES = ["data_dir", "env", "cache", "keras", "download"]


@pytest.mark.parametrize("winner", PLACES)
def test_first_place_holding_the_data_wins(winner, fake, tmp_path, monkeypatch, server):
    """The data sits in `winner`, earlier places are empty and later ones hold corrupt copies:
    loading succeeds only if places are visited in order and the search stops at the first hit."""
    home = tmp_path / "home"
    roots = {
        "data_dir": tmp_path / "arg",
        "env": tmp_path / "env",
        "cache": tmp_path / "cache" / "scratchnet",
    }
    monkeypatch.setenv("SCRATCHNET_DATA", str(roots["env"]))
    monkeypatch.delenv("SCRATCHNET_NO_DOWNLOAD")
    monkeypatch.setitem(catalog.MIRRORS, "mnist", (server.url + "idx/",))
    for file_name in catalog.IDX_FILES:
        server.routes[f"/idx/{file_name}.gz"] = ("ok", fake.gz("mnist", file_name))
    later = PLACES[PLACES.index(winner) + 1 :]
    for place, root in roots.items():
        if place == winner:
            fake.write(root / "mnist")
        elif place in later:
            corrupt(root / "mnist")
    keras_npz = home / ".keras" / "datasets" / "mnist.npz"
    if winner == "keras":
        fake.write_npz(keras_npz)
    elif "keras" in later:
        keras_npz.parent.mkdir(parents=True)
        keras_npz.write_bytes(b"PK\x03\x04 not really a zip")

    fake.check(load_dataset("mnist", roots["data_dir"]))
    assert bool(server.hits) == (winner == "download")


def test_corrupt_copy_is_reported_not_skipped(fake, tmp_path):
    corrupt(tmp_path / "arg" / "mnist")
    with pytest.raises(IDXError, match=r"arg/mnist/t.*-idx.-ubyte.gz: corrupt or truncated gzip"):
        load_dataset("mnist", tmp_path / "arg")


def test_explicit_dir_without_the_data_is_skipped_but_remembered(fake, tmp_path, monkeypatch):
    fake.write(tmp_path / "env" / "mnist")
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "env"))
    (tmp_path / "empty").mkdir()
    fake.check(load_dataset("mnist", tmp_path / "empty"))
    monkeypatch.delenv("SCRATCHNET_DATA")
    with pytest.raises(
        DatasetNotFoundError, match=f"data_dir {tmp_path / 'empty'}: no mnist/ folder"
    ):
        load_dataset("mnist", tmp_path / "empty")


def test_data_dir_may_be_the_dataset_folder_itself(fake, tmp_path):
    fake.write(tmp_path / "just-the-files", "fashion-mnist")
    fake.check(load_dataset("fashion-mnist", tmp_path / "just-the-files"), "fashion-mnist")


def test_uncompressed_files(fake, tmp_path):
    fake.write(tmp_path / "d" / "mnist", gz=False)
    fake.check(load_dataset("mnist", tmp_path / "d"))


def test_data_dir_accepts_str_and_tilde(fake, tmp_path):
    fake.write(tmp_path / "home" / "data" / "mnist")
    fake.check(load_dataset("mnist", "~/data"))


def test_debian_copy_of_fashion_mnist(fake, tmp_path):
    fake.write(tmp_path / "usr-share-datasets" / "fashion-mnist", "fashion-mnist")
    fake.check(load_dataset("fashion_mnist"), "fashion-mnist")


def test_keras_copy_of_fashion_mnist(fake, tmp_path):
    fake.write(tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist", "fashion-mnist")
    fake.check(load_dataset("fashion-mnist"), "fashion-mnist")


def test_cache_location_follows_xdg(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "cache" / "scratchnet"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec says: ignore it
    assert cache_dir() == tmp_path / "home" / ".cache" / "scratchnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == tmp_path / "home" / ".cache" / "scratchnet"


# --- checks on local copies -----------------------------------------------------------------


def test_npz_form(fake, tmp_path):
    fake.write_npz(tmp_path / "d" / "mnist.npz")
    fake.check(load_dataset("mnist", tmp_path / "d"))


def test_data_dir_may_be_the_npz_itself(fake, tmp_path):
    fake.check(load_dataset("mnist", fake.write_npz(tmp_path / "elsewhere.npz")))


def test_npz_is_mnist_only(fake, tmp_path):
    fake.write_npz(tmp_path / "d" / "mnist.npz")
    with pytest.raises(DatasetNotFoundError):
        load_dataset("fashion-mnist", tmp_path / "d")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("y_test"), "the archive lacks y_test"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "dtype float32"),
        (lambda a: a.update(x_train=a["x_train"][:, :27]), r"shape \(6, 27, 28\)"),
        (lambda a: a.update(y_train=a["y_train"][:5]), r"expected train labels of shape \(6,\)"),
        (
            lambda a: a.update(y_test=a["y_test"] + 10),
            "labels must lie in 0..9; received a label 1",
        ),
        (
            lambda a: a.update(y_test=np.array([{}] * 4, dtype=object)),
            "holds pickled Python objects, which scratchnet never loads",
        ),
    ],
)
def test_bad_npz_raises_data_error(fake, tmp_path, change, match):
    arrays = {"x_train": fake.arrays["mnist"][catalog.TRAIN_IMAGES]}
    arrays["y_train"] = fake.arrays["mnist"][catalog.TRAIN_LABELS]
    arrays["x_test"] = fake.arrays["mnist"][catalog.TEST_IMAGES]
    arrays["y_test"] = fake.arrays["mnist"][catalog.TEST_LABELS]
    change(arrays)
    (tmp_path / "d").mkdir()
    np.savez(tmp_path / "d" / "mnist.npz", **arrays)
    with pytest.raises(DataError, match=match):
        load_dataset("mnist", tmp_path / "d")


def test_garbage_npz(fake, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mnist.npz").write_bytes(b"this is not an archive")
    with pytest.raises(DataError, match=r"mnist.npz: not a valid NumPy .npz archive"):
        load_dataset("mnist", tmp_path / "d")


def test_wrong_content_is_caught_and_named(fake, tmp_path):
    fake.write(tmp_path / "d" / "mnist", "fashion-mnist")  # a mixed-up folder
    with pytest.raises(DataError, match="content is not MNIST's .*; it is Fashion-MNIST's"):
        load_dataset("mnist", tmp_path / "d")


def test_wrong_counts_and_labels_are_caught(fake, tmp_path, monkeypatch):
    from scratchnet.data import write_idx

    folder = fake.write(tmp_path / "d" / "mnist")
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3], np.uint8))
    with pytest.raises(
        DataError, match=r"expected test labels of shape \(4,\).*received shape \(3,\)"
    ):
        load_dataset("mnist", tmp_path / "d")
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3, 10], np.uint8))
    with pytest.raises(DataError, match="labels must lie in 0..9; received a label 10"):
        load_dataset("mnist", tmp_path / "d")
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3, 4], np.int32))
    with pytest.raises(DataError, match="dtype int32"):
        load_dataset("mnist", tmp_path / "d")


def test_incomplete_folder_is_reported(fake, tmp_path):
    folder = fake.write(tmp_path / "d" / "mnist")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="mnist/ lacks t10k-labels-idx1-ubyte"):
        load_dataset("mnist", tmp_path / "d")


# --- downloads through the search -------------------------------------------------------------


@pytest.fixture
def online(monkeypatch, server, fake):
    """Downloads allowed, from mirrors on the local server; returns the server."""
    monkeypatch.delenv("SCRATCHNET_NO_DOWNLOAD")
    for name in catalog.DATASETS:
        for file_name in catalog.IDX_FILES:
            server.routes[f"/good/{name}/{file_name}.gz"] = ("ok", fake.gz(name, file_name))
    return server


def test_download_falls_back_to_the_next_mirror(online, fake, tmp_path, monkeypatch, listing):
    bad = online.url + "bad/"
    online.routes[f"/bad/{catalog.TRAIN_IMAGES}.gz"] = (
        "ok",
        fake.gz("mnist", catalog.TRAIN_IMAGES),
    )
    online.routes[f"/bad/{catalog.TRAIN_LABELS}.gz"] = (
        "ok",
        fake.gz("fashion-mnist", catalog.TRAIN_LABELS),
    )
    monkeypatch.setitem(catalog.MIRRORS, "mnist", (bad, online.url + "good/mnist/"))
    fake.check(load_dataset("mnist"))
    cache = tmp_path / "cache" / "scratchnet"
    assert listing(cache) == ["mnist"] + [f"mnist/{f}.gz" for f in sorted(catalog.IDX_FILES)]
    # The good file from the first mirror was kept, the one with the wrong checksum was not.
    assert f"/good/mnist/{catalog.TRAIN_IMAGES}.gz" not in online.hits
    assert f"/good/mnist/{catalog.TRAIN_LABELS}.gz" in online.hits
    # A second load reads the cache: no new request.
    count = len(online.hits)
    fake.check(load_dataset("mnist"))
    assert len(online.hits) == count


def test_download_of_keras_npz(online, fake, tmp_path, monkeypatch, listing):
    fake.patch_npz_checksum()
    online.routes["/keras/mnist.npz"] = ("ok", fake.npz_bytes())
    monkeypatch.setitem(
        catalog.MIRRORS, "mnist", (online.url + "missing/", online.url + "keras/mnist.npz")
    )
    fake.check(load_dataset("mnist"))
    assert "mnist.npz" in listing(tmp_path / "cache" / "scratchnet")


def test_mirrors_from_the_environment(online, fake, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_MIRRORS", f"{online.url}nothing/  {online.url}good/{{dataset}}")
    spec = catalog.get_spec("fashion-mnist")
    assert mirrors_for(spec) == (f"{online.url}nothing/", f"{online.url}good/fashion-mnist")
    fake.check(load_dataset("fashion-mnist"), "fashion-mnist")


def test_downloads_can_be_disabled(online, fake, monkeypatch):
    monkeypatch.setitem(catalog.MIRRORS, "mnist", (online.url + "good/mnist/",))
    with pytest.raises(DatasetNotFoundError, match=r"download: disabled \(download=False\)"):
        load_dataset("mnist", download=False)
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "1")
    with pytest.raises(DatasetNotFoundError, match="SCRATCHNET_NO_DOWNLOAD is set"):
        load_dataset("mnist")
    assert online.hits == []
    monkeypatch.setenv("SCRATCHNET_NO_DOWNLOAD", "0")
    fake.check(load_dataset("mnist"))


def test_everything_failing_gives_one_line_listing_every_place(
    online, fake, tmp_path, monkeypatch, listing
):
    from scratchnet.data import download as download_module

    monkeypatch.setattr(download_module, "TIMEOUT_S", 0.2)
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    base = online.url
    online.routes[f"/html/{catalog.TRAIN_IMAGES}.gz"] = ("ok", b"<html>moved</html>", "text/html")
    online.routes[f"/cut/{catalog.TRAIN_IMAGES}.gz"] = (
        "drop",
        fake.gz("mnist", catalog.TRAIN_IMAGES),
    )
    online.routes[f"/slow/{catalog.TRAIN_IMAGES}.gz"] = ("stall", 5.0)
    online.routes["/sum/mnist.npz"] = ("ok", fake.npz_bytes())  # the real checksum: mismatch
    mirrors = (base + "404/", base + "html/", base + "cut/", base + "slow/", base + "sum/mnist.npz")
    monkeypatch.setitem(catalog.MIRRORS, "mnist", mirrors)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", tmp_path / "nowhere")
    message = str(info.value)
    print(message)
    assert "\n" not in message
    images = catalog.TRAIN_IMAGES + ".gz"
    for fragment in (
        "MNIST not found; tried: ",
        f"data_dir {tmp_path / 'nowhere'}: does not exist; ",
        f"$SCRATCHNET_DATA {tmp_path / 'env'}: no mnist/ folder, mnist.npz or IDX files; ",
        f"cache {tmp_path / 'cache' / 'scratchnet'}: does not exist; ",
        f"keras {tmp_path / 'home' / '.keras' / 'datasets'}: does not exist; ",
        f"{base}404/{images}: HTTP 404 Not Found; ",
        f"{base}html/{images}: the server sent an HTML page, not the data file; ",
        f"{base}cut/{images}: connection closed after ",
        f"{base}slow/{images}: timed out (no data for 0.2 s); ",
        f"{base}sum/mnist.npz: wrong SHA-256: expected 731c5ac60275...",
        "; to fix it, set SCRATCHNET_DATA or pass --data-dir",
        "holding mnist/ with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzip or uncompressed), "
        "or keras' mnist.npz",
    ):
        assert fragment in message
    # The cache folder was created for the downloads but holds nothing, not even a partial file.
    assert listing(tmp_path / "cache" / "scratchnet") == ["mnist"]


def test_unwritable_cache_is_reported(online, fake, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    monkeypatch.setitem(catalog.MIRRORS, "mnist", (online.url + "good/mnist/",))
    with pytest.raises(DatasetNotFoundError, match="good/mnist/: cannot write to the cache"):
        load_dataset("mnist")
