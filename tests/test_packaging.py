"""The package as a wheel would ship it: setuptools' find_packages only collects folders with
an __init__.py, so a subpackage without one would vanish from `pip install .` (not from an
editable install, which is how the tests run)."""

from __future__ import annotations

from pathlib import Path

import scratchnet

ROOT = Path(scratchnet.__file__).parent


def test_every_source_folder_is_a_regular_package():
    folders = {p.parent for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == [], f"add an __init__.py to: {', '.join(missing)}"
