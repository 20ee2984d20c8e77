"""Reconstructions on disk: what is written is what is read back, the lens included."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives.cache import PerceptionCache
from spatialclaw.primitives.types import Reconstruction

from geometry_scenes import downward_camera

KEY = "0123456789abcdef0123"


def _stored_and_read(tmp_path, recon: Reconstruction) -> Reconstruction:
    PerceptionCache(tmp_path).get_or_compute(Reconstruction, "reconstruction", KEY, lambda: recon)
    fresh = PerceptionCache(tmp_path)
    read = fresh.get_or_compute(Reconstruction, "reconstruction", KEY, lambda: None)
    assert fresh.hits == 1
    return read


def test_a_cached_reconstruction_keeps_its_lens_distortion(tmp_path):
    plain = downward_camera(2.0)
    recon = Reconstruction(plain.depth, plain.pose, plain.K, distortion=np.array([[-0.2, 0.03]]))
    read = _stored_and_read(tmp_path, recon)
    assert read is not recon and np.array_equal(read.distortion, recon.distortion)
    assert np.array_equal(read.points(0), recon.points(0))


def test_a_cached_pinhole_reconstruction_stays_pinhole(tmp_path):
    assert _stored_and_read(tmp_path, downward_camera(2.0)).distortion is None
