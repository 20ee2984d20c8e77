"""Running a reconstruction backend: failures cached and one line, native output silenced, warnings shown once."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.backends.base import BackendBase
from spatialclaw.primitives import backends, cache, perception
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.quality import ReconstructionQuality
from spatialclaw.primitives.types import Reconstruction


class StubBackend(BackendBase):
    """A reconstruction backend that counts its calls and does what the test says."""

    name = "classical"
    families = ("reconstruction",)

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.calls = 0

    def reconstruct(self, frames, context):
        self.calls += 1
        return self.behaviour(frames)


def _reconstruction(frames, warnings=()):
    n = len(frames)
    K = np.tile(np.array([[50.0, 0, 8], [0, 50.0, 6], [0, 0, 1]]), (n, 1, 1))
    quality = ReconstructionQuality(n, n, "unknown", warnings=list(warnings))
    return Reconstruction(np.ones((n, 12, 16), np.float32), np.tile(np.eye(4), (n, 1, 1)), K, backend="classical", quality=quality)


@pytest.fixture
def context(tmp_path, monkeypatch):
    frames = [Frame(i, i / 10, np.full((12, 16, 3), i * 20, np.uint8)) for i in range(5)]
    ctx = KernelContext(frames=frames, source_kind="video", perception="reconstruction=classical", cache_dir=tmp_path)

    def use(stub):
        monkeypatch.setattr(backends, "get", lambda family, c: stub)
        return stub

    return ctx, use


def test_a_failure_is_cached_on_disk_and_asking_again_is_instant(context):
    ctx, use = context

    def refuse(frames):
        time.sleep(0.5)  # an expensive attempt
        raise PerceptionError("classical reconstruction refused: the frames share almost no image features")

    stub = use(StubBackend(refuse))
    with pytest.raises(PerceptionError) as first:
        perception.run_reconstruction(None, ctx)
    cache.forget(ctx)  # a new kernel: only the disk remains
    start = time.perf_counter()
    with pytest.raises(PerceptionError) as again:
        perception.run_reconstruction(None, ctx)
    assert time.perf_counter() - start < 0.3
    assert str(again.value) == str(first.value) and stub.calls == 1


def test_an_unexpected_backend_error_becomes_one_line_naming_the_backend(context):
    ctx, use = context

    def crash(frames):
        return np.array([])[0]  # the IndexError COLMAP's empty model once caused

    use(StubBackend(crash))
    with pytest.raises(PerceptionError) as err:
        perception.run_reconstruction(None, ctx)
    message = str(err.value)
    assert "the classical reconstruction backend failed unexpectedly (IndexError" in message and "\n" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_native_output_does_not_reach_the_cell(context, capfd):
    ctx, use = context

    def noisy(frames):
        os.write(2, b"I20261201 glog: Registering image #3\n")
        os.write(1, b"[h264 @ 0x55] A non-intra slice\n")
        return _reconstruction(frames)

    use(StubBackend(noisy))
    perception.run_reconstruction(None, ctx)
    out, err = capfd.readouterr()
    assert "glog" not in err and "h264" not in out


def test_warnings_are_printed_once_in_the_first_cell_that_uses_the_reconstruction(context, capsys):
    ctx, use = context
    stub = use(StubBackend(lambda frames: _reconstruction(frames, ["the floor fit is weak: the metric scale is unknown"])))
    r = perception.run_reconstruction(None, ctx)
    shown = capsys.readouterr().out
    assert "the floor fit is weak" in shown and "r.quality" in shown
    assert perception.run_reconstruction(None, ctx).quality.warnings == r.quality.warnings
    assert capsys.readouterr().out == "" and stub.calls == 1


def test_a_clean_reconstruction_prints_nothing(context, capsys):
    ctx, use = context
    use(StubBackend(lambda frames: _reconstruction(frames)))
    perception.run_reconstruction(None, ctx)
    assert capsys.readouterr().out == ""


def test_cached_objects_still_show_the_reconstruction_warnings_in_a_new_kernel(context, capsys, monkeypatch):
    ctx, use = context
    use(StubBackend(lambda frames: _reconstruction(frames, ["only 4 of 5 frames were registered"])))
    monkeypatch.setattr(perception, "object_masks", lambda query, positions, context: (None, False))
    fused = []

    def fuse(masks, recon, tracked=False):
        fused.append(recon)
        return []

    assert perception.run_objects("chair", fuse, {}, ctx) == []
    assert "only 4 of 5" in capsys.readouterr().out
    cache.forget(ctx)
    ctx.announced.clear()  # a new kernel on the same cache folder
    assert perception.run_objects("chair", fuse, {}, ctx) == []
    assert "only 4 of 5" in capsys.readouterr().out and len(fused) == 1  # the objects came from the cache
