"""The free-space test projects through the frame's lens."""

from __future__ import annotations

import numpy as np

from spatialclaw.primitives import view_evidence
from spatialclaw.primitives.types import Reconstruction

K = np.array([[300.0, 0.0, 160.0], [0.0, 300.0, 120.0], [0.0, 0.0, 1.0]])


def test_free_space_is_judged_where_the_lens_puts_a_point():
    depth = np.full((240, 320), 3.0, np.float32)
    depth[:, 306:] = 1.0  # a pillar along the right edge, in front of a wall 3 m away
    recon = Reconstruction(depth[None], np.eye(4)[None], K[None], distortion=np.array([[-0.2, 0.0]]))
    point = np.array([[0.5 * 2.0, 0.0, 2.0]])  # 2 m away: a pinhole would see it at x = 310 (the pillar), the lens at 302.5 (the wall)
    assert recon.project(point, 0)[0, 0] < 306 < K[0, 0] * 0.5 + K[0, 2]
    assert view_evidence.free_space_violation(point, view_evidence.depth_view(recon, 0)) == 1.0  # the wall shows through it
    pinhole = view_evidence.DepthView(depth, K, np.eye(4))
    assert view_evidence.free_space_violation(point, pinhole) == 0.0
