"""Fixtures shared by the backend tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory):
    """Two identical chairs side by side that slide apart (`twin_chairs`): (RGB-D folder, Rendering)."""
    from twin_chairs import twin_chairs

    return twin_chairs(tmp_path_factory.mktemp("twins") / "twins")
