"""The README's "How it is built" table names files and folders that exist, and every package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table_rows() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows.append((cells[0], cells[1]))
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([\w./-]+(?:\.py|/))`", cell)


def test_every_file_the_table_names_exists() -> None:
    rows = table_rows()
    assert len(rows) > 10
    for where, what in rows:
        places = names(where)
        assert places, f"no path in {where!r}"
        first = ROOT / places[0]
        for place in places[1:]:  # `spatialclaw/options.py`, `tasks.py`: siblings of the first
            assert (first.parent / place).exists(), f"README names {place} next to {places[0]}, which does not exist"
        if first.is_dir():
            for name in names(what):
                bare = name.rstrip("/")
                found = "/" in bare and ((first / bare).exists() or (first.parent / bare).exists())
                assert found or list(first.rglob(bare)), f"README names {name} under {places[0]}, which does not exist"
        else:
            assert first.exists(), f"README names {places[0]}, which does not exist"


def test_every_package_of_spatialclaw_has_a_row() -> None:
    listed = {names(where)[0].rstrip("/") for where, _ in table_rows()}
    packages = {f"spatialclaw/{p.parent.name}" for p in (ROOT / "spatialclaw").glob("*/__init__.py")}
    assert packages <= listed, f"packages missing from the README table: {sorted(packages - listed)}"
