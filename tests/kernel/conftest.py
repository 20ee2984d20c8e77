"""Fixtures shared by the kernel tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from spatialclaw.kernel.sandbox import SessionFolders


@pytest.fixture()
def folders(tmp_path: Path) -> SessionFolders:
    """A session's folders (work, sockets, runtime, shared cache, cache layer, config), made empty."""
    paths = {name: tmp_path / name for name in ("work", "runtime", "sockets", "shared", "layer", "config")}
    for path in paths.values():
        path.mkdir()
    return SessionFolders(paths["work"], paths["sockets"], paths["runtime"], paths["shared"], paths["layer"], paths["config"])
