"""The one bubblewrap probe the tests share: whether the default sandbox works on this machine."""

from __future__ import annotations

import pytest

from spatialclaw.kernel.sandbox import bwrap_available

BWRAP_WORKS, BWRAP_WHY = bwrap_available()
needs_bwrap = pytest.mark.skipif(not BWRAP_WORKS, reason=f"bubblewrap cannot sandbox here: {BWRAP_WHY}")
