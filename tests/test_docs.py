"""The docs name tests as evidence (docs/reliability.md's table, among others): each test
named as FILE::NAME exists, so a renamed or moved test cannot leave a claim without one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMED = re.compile(r"(test_\w+\.py)::(test_\w+)")


def test_every_test_the_docs_name_exists():
    named = {
        (doc.name, file, test)
        for doc in sorted((ROOT / "docs").glob("*.md"))
        for file, test in NAMED.findall(doc.read_text(encoding="utf-8"))
    }
    assert len(named) > 50  # the reliability table alone names more
    missing = [
        f"{doc}: {file}::{test}"
        for doc, file, test in sorted(named)
        if not (ROOT / "tests" / file).is_file()
        or not re.search(rf"^def {test}\(", (ROOT / "tests" / file).read_text(), re.M)
    ]
    assert missing == []
