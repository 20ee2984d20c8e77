"""One image through the learned backend: monocular metric depth, levelled by the floor it sees.

No weights exist here: the depth model is stood in for by the rendered depth (exact metres), so
the test checks what the backend builds from it: the world of design.md (+z up, floor at z = 0),
the model's metres kept, and a quality record that says what rests on one view.
"""

from __future__ import annotations

import numpy as np
import pytest

import spatialclaw.primitives as primitives
from spatialclaw.errors import PerceptionError
from spatialclaw.inputs import rgbd
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import math3d
from spatialclaw.primitives.backends import learned
from spatialclaw.primitives.backends.learned import monocular
from spatialclaw.primitives.context import KernelContext



@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory):
    from spatialclaw.synth import make_test_scene

    root = make_test_scene(tmp_path_factory.mktemp("mono"), seed=2, frames=2, width=320, height=240)
    frame = Frame(0, 0.0, rgbd.read_color(root, 0))
    return frame, rgbd.read_depth(root, 0), rgbd.read_pose(root, 0), rgbd.read_intrinsics(root)[:3, :3]


def _one_image(frame: Frame, monkeypatch: pytest.MonkeyPatch, depth, focal, metric: bool) -> dict:
    monkeypatch.setattr(learned.reconstruction, "missing_models", lambda tasks, ctx: None)
    monkeypatch.setattr(monocular, "depth_and_focal", lambda f, ctx: (depth, focal, metric))
    namespace: dict = {}
    context = KernelContext(frames=[frame], source_kind="images", perception="auto", options={"cache": False})
    info = primitives.install(namespace, context)
    assert info["backends"]["reconstruction"]["backend"] == "learned"
    return namespace


def test_one_image_is_measured_in_metres_with_the_floor_at_zero(photo, monkeypatch):
    frame, depth, pose, K = photo
    r = _one_image(frame, monkeypatch, depth, float(K[0, 0]), True)["reconstruct"]()
    q = r.quality
    assert r.backend == "learned" and len(r) == 1 and r.valid.all()
    assert q.scale_source == "metric-depth" and q.registered == q.total == 1 and not q.ok
    assert monocular.ONE_VIEW_TEXT in q.warnings and monocular.FOCAL_ASSUMED_TEXT not in q.warnings
    assert q.focal_px == pytest.approx(K[0, 0])
    assert r.pose[0, 2, 3] == pytest.approx(pose[2, 3], abs=0.03)  # the camera's height above the floor
    ours = r.points(0, stride=4)[:, 2]
    truth = math3d.backproject(depth, K, pose, stride=4)[:, 2]
    assert np.median(np.abs(ours - truth)) < 0.02  # every point at its true height: levelled, metres kept


def test_without_a_focal_length_the_prior_is_used_and_said(photo, monkeypatch):
    frame, depth, _, _ = photo
    r = _one_image(frame, monkeypatch, depth, None, True)["reconstruct"]()
    assert monocular.FOCAL_ASSUMED_TEXT in r.quality.warnings
    assert r.quality.fov_deg == pytest.approx(monocular.DEFAULT_FOV_DEG)


def test_a_relative_depth_model_refuses_in_one_line(photo, monkeypatch):
    frame, depth, _, K = photo
    namespace = _one_image(frame, monkeypatch, 1.0 / np.maximum(depth, 0.1), float(K[0, 0]), False)
    with pytest.raises(PerceptionError, match="relative"):
        namespace["reconstruct"]()
