"""fileio.atomic_write: a reader sees the old file or the complete new one, never a part."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from scratchnet.fileio import atomic_write


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_success_creates_the_file(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_write(target, "w") as handle:
        handle.write("héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert _names(tmp_path) == ["out.txt"]


def test_success_replaces_the_previous_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old content that is longer")
    with atomic_write(target, "wb") as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert _names(tmp_path) == ["out.bin"]


def test_the_target_is_untouched_until_the_block_ends(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_write(target, "wb") as handle:
        handle.write(b"new")
        handle.flush()
        assert target.read_bytes() == b"old"
        temporary = [name for name in _names(tmp_path) if name != "out.bin"]
        assert len(temporary) == 1 and temporary[0].startswith(".out.bin.")
    assert target.read_bytes() == b"new"


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_exception_inside_keeps_the_previous_file_and_no_temp(tmp_path, error):
    target = tmp_path / "out.txt"
    target.write_text("previous")
    with pytest.raises(type(error)):
        with atomic_write(target, "w") as handle:
            handle.write("half-written")
            raise error
    assert target.read_text() == "previous"
    assert _names(tmp_path) == ["out.txt"]


def test_an_exception_with_no_previous_file_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(ValueError, match="boom"):
        with atomic_write(target, "w") as handle:
            handle.write("x")
            raise ValueError("boom")
    assert _names(tmp_path) == []


def test_missing_parent_folders_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    with atomic_write(str(target), "w") as handle:
        handle.write("deep")
    assert target.read_text() == "deep"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_the_file_gets_the_usual_permissions(tmp_path):
    # Not mkstemp's private 0600: a saved model is as readable as any file the user writes.
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    target = tmp_path / "atomic.txt"
    with atomic_write(target, "w") as handle:
        handle.write("x")
    assert stat.S_IMODE(os.stat(target).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_the_block_may_close_the_file_itself(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target) as handle:
        handle.write(b"checked")
        handle.close()
        assert target.exists() is False
    assert target.read_bytes() == b"checked"


@pytest.mark.parametrize("mode", ["r", "a", "rb", "w+", "x"])
def test_only_write_modes_are_accepted(tmp_path, mode):
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"):
        with atomic_write(tmp_path / "out", mode):
            pass
    assert _names(tmp_path) == []


def test_a_failed_write_names_the_path_asked_for_not_the_temporary_one(tmp_path, monkeypatch):
    import errno

    from scratchnet.errors import FileError

    target = tmp_path / "model.npz"

    def refuse(source, dest):
        raise PermissionError(errno.EACCES, "Permission denied", str(source))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(FileError) as caught:
        with atomic_write(target, "wb") as handle:
            handle.write(b"x")
    assert str(caught.value).startswith(f"{target}: cannot write it: Permission denied")
    assert ".part" not in str(caught.value) and _names(tmp_path) == []


def test_a_write_under_a_file_names_the_file_in_the_way(tmp_path):
    from scratchnet.errors import FileError

    (tmp_path / "blocker").write_text("x")
    with pytest.raises(FileError, match="a file stands where a folder is needed"):
        with atomic_write(tmp_path / "blocker" / "out.txt", "w") as handle:
            handle.write("x")


def test_an_error_of_the_block_itself_is_not_renamed(tmp_path):
    with pytest.raises(TimeoutError):
        with atomic_write(tmp_path / "out.bin", "wb"):
            raise TimeoutError("the download stalled")
    assert _names(tmp_path) == []


def test_output_checks_create_nothing(tmp_path):
    from scratchnet.errors import FileError
    from scratchnet.fileio import check_output_file, check_output_folder

    check_output_file(tmp_path / "a" / "b" / "model.npz")
    check_output_folder(tmp_path / "a" / "run")
    assert _names(tmp_path) == []
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(FileError, match="--output .*dir.npz: is a folder"):
        check_output_file(tmp_path / "dir.npz", option="--output")
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "f")
    with pytest.raises(FileError, match="f is a file, not a folder"):
        check_output_file(tmp_path / "f" / "x" / "model.npz")


def test_an_output_folder_that_refuses_files_is_found_before_any_work(tmp_path, monkeypatch):
    # A read-only mount, /proc, or a folder root may "write" by permissions but cannot: the
    # checks try a probe file (removed at once) instead of trusting os.access.
    import errno
    import tempfile

    from scratchnet.errors import FileError
    from scratchnet.fileio import check_output_file, check_output_folder

    check_output_folder(tmp_path)
    assert _names(tmp_path) == []  # the probe is gone

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(FileError, match=r"--out .*: cannot write in this folder \(Read-only"):
        check_output_folder(tmp_path, option="--out")
    with pytest.raises(FileError, match=r"cannot create it in .*\(Read-only file system\)"):
        check_output_folder(tmp_path / "new" / "run")
    (tmp_path / "m.npz").write_bytes(b"x")
    with pytest.raises(FileError, match=r"m.npz: cannot replace it in .*\(Read-only"):
        check_output_file(tmp_path / "m.npz")


def test_check_input_file_refuses_what_is_not_a_regular_file(tmp_path):
    from scratchnet.errors import DataError
    from scratchnet.fileio import check_input_file

    with pytest.raises(DataError, match="no such model file"):
        check_input_file(tmp_path / "none", what="model file")
    with pytest.raises(DataError, match="is a folder; give an IDX file"):
        check_input_file(tmp_path, what="IDX file")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        with pytest.raises(DataError, match="not a regular file"):
            check_input_file(tmp_path / "pipe")
