"""docs/reliability.md's fault table names real tests: every `file::name` it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_test_the_fault_table_names_exists():
    cited = []
    for row in (REPO / "docs" / "reliability.md").read_text().splitlines():
        if not row.startswith("|"):
            continue
        current = None
        for match in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", row):
            current = match.group(1) or current
            name = match.group(2) or match.group(3)
            assert (REPO / current).is_file(), current
            if name:
                cited.append((current, name))
    assert len(cited) > 60
    missing = [
        f"{path}::{name}" for path, name in cited if f"def {name}(" not in (REPO / path).read_text()
    ]
    assert not missing
