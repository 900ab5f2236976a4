"""Presets: named recipes whose settings are spelled out, and overridable option by option."""

from __future__ import annotations

import pytest

from scratchnet.cli.args import Parser, data_options, training_options
from scratchnet.cli.train import config_from_args, describe
from scratchnet.train import TrainConfig
from scratchnet.train.presets import PRESETS


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_config(name):
    config = TrainConfig.from_preset(name)
    assert config.preset == name
    for key, value in PRESETS[name].settings.items():
        assert getattr(config, key) == value


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="preset must be one of default, fast, best, fashion"):
        TrainConfig.from_preset("fastest")


def _parse(*argv):
    parser = Parser(prog="t")
    data_options(parser, dataset_default=None)
    training_options(parser)
    return config_from_args(parser.parse_args(list(argv)))


def test_options_given_override_the_preset_and_the_rest_stays():
    config = _parse("--preset", "fashion", "--epochs", "3", "--hidden", "64")
    assert config.dataset == "fashion-mnist" and config.label_smoothing == 0.1
    assert config.epochs == 3 and config.hidden == (64,)


def test_without_a_preset_the_defaults_apply():
    assert _parse() == TrainConfig(augment="affine")  # the command augments MNIST by default
    assert _parse("--hidden", "100x3").hidden == (100, 100, 100)


def test_describe_spells_out_every_setting():
    text = describe(TrainConfig.from_preset("fast"))
    assert "preset 'fast'" in text and "784-1024-10" in text
    for key in ("learning_rate=0.1", "schedule=onecycle", "augment=affine", "epochs=12"):
        assert key in text
