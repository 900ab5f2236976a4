"""What the data sets are: file names, sizes, checksums, public mirrors and class names.

Facts only, as constants that tests may monkeypatch; finding, downloading and reading the
files is done by sources.py, download.py and local.py.
"""

from __future__ import annotations

from dataclasses import dataclass

# The four standard file names (each stored as "<name>.gz" or raw).
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# Keras' single-archive form of MNIST and the arrays it holds.
NPZ_NAME = "mnist.npz"
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

# SHA-256 of the *uncompressed* IDX content (gzip bytes differ between mirrors; content does not),
# and of whole files for downloads that are not IDX. Keyed by data set, then file name.
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        NPZ_NAME: "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    },
    "fashion-mnist": {
        TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

# Public mirrors, tried in order. A URL ending in "/" is a folder holding the four "<name>.gz"
# files; a URL ending in ".npz" is keras' archive. SCRATCHNET_MIRRORS overrides these (sources.py).
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    ),
    "fashion-mnist": (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
}

MNIST_CLASS_NAMES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class DatasetSpec:
    """One data set: its folder name, title, sizes and the places other tools leave copies."""

    name: str  # folder name inside a data directory and key of SHA256 / MIRRORS
    title: str  # for messages
    class_names: tuple[str, ...]
    n_train: int = 60_000
    n_test: int = 10_000
    image_shape: tuple[int, int] = (28, 28)
    has_npz: bool = False  # whether keras' mnist.npz form exists for it
    # (tool, folder) where other tools install it, "~" for the home directory. Each folder is
    # looked at like a data directory, so it may hold "<name>/", mnist.npz or the four files.
    system_dirs: tuple[tuple[str, str], ...] = ()


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    class_names=MNIST_CLASS_NAMES,
    has_npz=True,
    system_dirs=(("keras", "~/.keras/datasets"),),
)
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    class_names=FASHION_MNIST_CLASS_NAMES,
    # keras keeps its copy in ~/.keras/datasets/fashion-mnist/; Debian's dataset-fashion-mnist
    # package installs the four files in /usr/share/datasets/fashion-mnist/.
    system_dirs=(("keras", "~/.keras/datasets"), ("Debian package", "/usr/share/datasets")),
)
SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}
DATASETS: tuple[str, ...] = tuple(SPECS)


def get_spec(name: str) -> DatasetSpec:
    """The spec for a data set name ("mnist", "fashion-mnist"; "_" and case are forgiven)."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in SPECS:
        raise ValueError(f"unknown data set {name!r}; expected one of: {', '.join(DATASETS)}")
    return SPECS[key]
