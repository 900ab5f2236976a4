"""cli.app.main is the one error boundary: a user's mistake (ScratchnetError) is one line with
its exit status, a diverging run exits 1, running out of memory exits 1 saying how much there
is, a refused file operation exits 1 naming the path, and anything else is a bug: one line
'internal error' and exit 70, with the traceback only under SCRATCHNET_DEBUG=1."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from scratchnet.cli import app
from scratchnet.errors import (
    ArgumentError,
    CheckpointError,
    DataError,
    FileError,
    ModelFileError,
    ResourceError,
    ScratchnetError,
)


@pytest.fixture
def failing(monkeypatch):
    """Make `scratchnet report DIR` raise the exception given to the returned function."""

    def set_error(exc: BaseException) -> None:
        def run(args):
            raise exc

        monkeypatch.setitem(
            app.COMMANDS, "report", app.Command("report", "add_report_arguments", "x", "help")
        )
        monkeypatch.setattr(app.Command, "__call__", lambda self, args: run(args))

    return set_error


def _main(capsys, tmp_path, *argv):
    code = app.main(["report", str(tmp_path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "exc, status",
    [
        (ArgumentError("--x and --y do not go together"), 2),
        (DataError("data.idx: truncated"), 1),
        (ModelFileError("m.npz: not a model"), 1),
        (CheckpointError("c.npz: corrupt"), 1),
        (FileError("out/model.npz: is a folder; give a file name"), 1),
        (ResourceError("training needs 9 GB, this machine has 2 GB available"), 1),
        (ScratchnetError("something the user can fix"), 1),
    ],
)
def test_user_errors_are_one_line_with_their_status(failing, capsys, tmp_path, exc, status):
    failing(exc)
    code, out, err = _main(capsys, tmp_path)
    assert code == status
    assert err.count("\n") == 1 and err.startswith("scratchnet report: error: ")
    assert str(exc) in err
    assert ("see 'scratchnet report --help'" in err) == (status == 2)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("operands could not be broadcast together"),
        KeyError("layers.0.weight"),
        TypeError("unsupported operand"),
        AttributeError("'NoneType' object has no attribute 'shape'"),
        OSError("a library raised an OSError without an errno"),
        ZeroDivisionError("division by zero"),
    ],
)
def test_anything_else_is_an_internal_error_with_status_70(failing, capsys, tmp_path, exc):
    failing(exc)
    code, out, err = _main(capsys, tmp_path)
    assert code == 70
    assert err.count("\n") == 1
    assert err.startswith(f"scratchnet: internal error: {type(exc).__name__}")
    assert "please report it; SCRATCHNET_DEBUG=1 shows the traceback" in err
    assert "Traceback" not in err


def test_scratchnet_debug_shows_the_traceback(failing, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_DEBUG", "1")
    failing(KeyError("boom"))
    code, out, err = _main(capsys, tmp_path)
    assert code == 70
    assert "Traceback (most recent call last)" in err and "KeyError: 'boom'" in err
    assert err.strip().splitlines()[-1].startswith("scratchnet: internal error: KeyError")


def test_a_diverging_run_exits_1(failing, capsys, tmp_path):
    failing(FloatingPointError("the loss is nan at epoch 2, step 17: training diverged"))
    code, out, err = _main(capsys, tmp_path)
    assert code == 1 and err.count("\n") == 1
    assert "training diverged" in err and "internal error" not in err


def test_memory_error_says_how_much_memory_there_is(failing, capsys, tmp_path):
    failing(MemoryError())
    code, out, err = _main(capsys, tmp_path)
    assert code == 1 and err.count("\n") == 1
    assert "out of memory" in err and " GB available" in err and "smaller network" in err


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_refused_file_operation_exits_1_naming_the_path(failing, capsys, tmp_path, number):
    import os

    failing(OSError(number, os.strerror(number), "/some/where/model.npz"))
    code, out, err = _main(capsys, tmp_path)
    assert code == 1 and err.count("\n") == 1
    assert f"/some/where/model.npz: {os.strerror(number)}" in err


def test_a_memory_estimate_refuses_before_allocating(capsys, tmp_path, monkeypatch):
    from scratchnet import resources

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(resources, "available_memory", lambda: 2 * 10**9)
    code = app.main(["train", "--hidden", "20000,20000", "-q"])
    out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1
    assert "training 784-20000-20000-10 at batch 128 (float32) needs " in err
    assert "this machine has 2 GB available" in err
    assert list(tmp_path.iterdir()) == []


def test_the_estimate_grows_with_the_network_batch_and_precision():
    from scratchnet.train import TrainConfig
    from scratchnet.train.memory import estimate_training_bytes

    def need(**settings):
        config = TrainConfig(**settings)
        return estimate_training_bytes(
            config, n_train=60_000, n_test=10_000, n_features=784, n_classes=10
        )

    small = need(hidden=(100,))
    assert 40e6 < small < 400e6  # the 8-bit images alone are 55 MB
    assert need(hidden=(1000,)) > small
    assert need(hidden=(100,), batch_size=10_000) > small
    assert need(hidden=(100,), dtype="float64") > small
    # 784-20000-20000-10: 416 M parameters, float32, with gradients and momentum: > 5 GB
    assert need(hidden=(20_000, 20_000)) > 5e9


def test_check_memory_passes_what_fits():
    from scratchnet.resources import check_memory

    check_memory(1e9, "x", "y", available=4 * 10**9)
    with pytest.raises(ResourceError, match=r"x needs 5 GB, this machine has 4 GB available; y"):
        check_memory(5e9, "x", "y", available=4 * 10**9)


def test_help_and_argument_errors_do_not_import_numpy():
    """The start-up budget (under 0.3 s): --help lists the commands from the registry alone;
    a sub-command's parser loads only its own module."""
    code = (
        "import sys\n"
        "from scratchnet.cli import main\n"
        "for argv in (['--help'], ['--version'], ['bogus']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "names = sorted(m for m in sys.modules if m.startswith('scratchnet'))\n"
        "print('numpy' in sys.modules, names)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    imported, modules = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert imported == "False", result.stdout
    assert "scratchnet.train" not in modules and "scratchnet.cli.train" not in modules


def test_the_public_api_is_loaded_on_first_use():
    import scratchnet

    for name in scratchnet.__all__:
        assert getattr(scratchnet, name) is not None
    assert set(scratchnet.__all__) <= set(dir(scratchnet))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        scratchnet.nope  # noqa: B018
