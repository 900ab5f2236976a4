"""A worker process that dies while preparing pictures (killed, out of memory) costs only its
chunk, which is prepared again in the calling process: no hang, no thread crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

PICTURE_CLASS = """
import os

from scratchnet.pictures.predict import Picture

PARENT = int(os.environ["PARENT_PID"])


class DiesInAWorker(Picture):
    def gray(self):
        if os.getpid() != PARENT:
            os._exit(1)  # as the out-of-memory killer would end it
        return super().gray()
"""

SCRIPT = """
import os

os.environ["PARENT_PID"] = str(os.getpid())

import numpy as np

from dying import DiesInAWorker
from scratchnet.pictures.predict import prepare_pictures

rng = np.random.default_rng(0)
pictures = [DiesInAWorker(f"p{i}", rng.random((40, 40))) for i in range(160)]
pooled = list(prepare_pictures(pictures, "digit", workers=2))
alone = list(prepare_pictures(pictures, "digit", workers=1))
same = all(
    np.array_equal(a[1][0].image, b[1][0].image) for a, b in zip(alone, pooled, strict=True)
)
print(len(pooled), same)
"""


def test_a_dead_workers_chunks_are_prepared_here(tmp_path):
    (tmp_path / "dying.py").write_text(textwrap.dedent(PICTURE_CLASS))
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["160", "True"]
    assert "Exception in thread" not in done.stderr and "InvalidStateError" not in done.stderr
