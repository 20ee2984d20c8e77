"""The backend contract: every backend keeps `PerceptionBackend`, and refuses what it does not serve."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import backends
from spatialclaw.primitives.backends.base import BackendBase, PerceptionBackend
from spatialclaw.primitives.context import KernelContext


def _video_context(**kwargs: object) -> KernelContext:
    frames = [Frame(i, i / 10, np.zeros((8, 8, 3), np.uint8)) for i in range(2)]
    return KernelContext(frames=frames, source_kind="video", **kwargs)


@pytest.mark.parametrize("name", backends.BACKENDS)
def test_every_backend_keeps_the_protocol(name: str) -> None:
    backend = backends.load_backend(name)
    assert isinstance(backend, PerceptionBackend) and backend.name == name
    assert set(backend.families) <= {"reconstruction", "segmentation", "tracking"}
    context = _video_context()
    for family in ("reconstruction", "segmentation", "tracking"):
        reason = backend.available(family, context)
        assert reason is None or (isinstance(reason, str) and "\n" not in reason)
        if family not in backend.families:
            assert reason == f"the {name} backend has no {family}"


def test_a_family_not_served_is_refused_in_one_line() -> None:
    class DepthOnly(BackendBase):
        name = "depth-only"
        families = ("reconstruction",)

    backend = DepthOnly()
    assert isinstance(backend, PerceptionBackend)
    with pytest.raises(PerceptionError, match="the depth-only backend has no segmentation"):
        backend.segment("chair", [], _video_context())
    with pytest.raises(PerceptionError, match="has no tracking"):
        backend.track("chair", [], _video_context())


def test_get_returns_the_chosen_backend_and_refuses_what_none_serves() -> None:
    context = _video_context()
    context.backends = {"reconstruction": "classical", "segmentation": "none"}
    assert backends.get("reconstruction", context).name == "classical"
    with pytest.raises(PerceptionError, match="no segmentation backend"):
        backends.get("segmentation", context)
    with pytest.raises(PerceptionError, match="unknown perception family"):
        backends.get("depth", context)
    context.backends = {"reconstruction": "gt", "segmentation": "gt"}
    assert backends.get("tracking", context).name == "gt"  # tracking follows segmentation


def test_unknown_backend_names_load_nothing() -> None:
    assert backends.load_backend("oracle") is None
    assert backends.unavailable_reason("oracle", "reconstruction", _video_context()) is not None
