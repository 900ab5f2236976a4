"""scratchnet train augments MNIST by default (shifts, turns, scalings) and nothing else."""

from __future__ import annotations

import pytest

from scratchnet.cli import build_parser
from scratchnet.cli.train import config_from_args


def config(*options: str):
    return config_from_args(build_parser().parse_args(["train", *options]))


@pytest.mark.parametrize(
    ("options", "augment"),
    [
        ((), "affine"),
        (("--preset", "default"), "affine"),
        (("--augment", "none"), "none"),
        (("--augment", "elastic"), "elastic"),
        (("--dataset", "fashion-mnist"), "none"),
        (("--preset", "fashion"), "none"),
        (("--preset", "best"), "elastic"),
    ],
)
def test_mnist_is_augmented_unless_told_otherwise(options, augment):
    assert config(*options).augment == augment


def test_help_says_the_commands_default(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "[default: affine for MNIST, none for other data]" in help_text
