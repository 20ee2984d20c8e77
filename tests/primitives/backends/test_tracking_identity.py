"""Identity by tracking: two identical chairs pushed apart stay two tracks (classical optical-flow
linking, and `tracks3d` through the classical backend with a pointing VLM)."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives.types import Masks

W, H, N = 200, 150, 10
SPEED = 0.08  # metres per second, each chair, in opposite directions


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory):
    """A room with two identical chairs side by side that slide apart, seen by a camera that drifts."""
    from spatialclaw.synth import write_rgbd
    from spatialclaw.synth.motion import ObjectMotion
    from spatialclaw.synth.render import Renderer, Rendering
    from spatialclaw.synth.scene import CameraPath, Scene, SceneObject, look_pose
    from spatialclaw.synth.shapes import BASE_COLORS, build_parts

    parts = tuple(build_parts("chair", np.random.default_rng(1)))
    chairs = tuple(SceneObject(i + 1, "chair", (2.2 + 0.65 * i, 2.6), 0.0, parts, BASE_COLORS["chair"]) for i in range(2))
    scene = Scene("twins", 1, (5.0, 4.5, 2.8), chairs, CameraPath((2.5, 1.0), (0.3, 0.3)),
                  motions=(ObjectMotion(1, (-SPEED, 0.0)), ObjectMotion(2, (SPEED, 0.0))))
    renderer = Renderer(scene, W, H)
    poses = np.stack([look_pose(np.array([2.4 + 0.02 * i, 0.6, 1.4]), np.pi / 2, -0.45) for i in range(N)])
    shots = [renderer.render(p, float(i)) for i, p in enumerate(poses)]
    rendering = Rendering(*(np.stack(x) for x in zip(*shots)), poses, renderer.K, 1.0)
    folder = write_rgbd(scene, rendering, tmp_path_factory.mktemp("twins") / "twins")
    return folder, rendering


def _untracked(rendering) -> Masks:
    """Each frame's chair masks without identities, in a shuffled order."""
    rng = np.random.default_rng(0)
    masks, frames = [], []
    for f in range(N):
        for iid in rng.permutation([1, 2]):
            m = rendering.instance[f] == iid
            if m.any():
                masks.append(m)
                frames.append(f)
    return Masks.from_masks(np.stack(masks), ["chair"] * len(masks), frames)


def test_flow_linking_keeps_identical_twins_apart(twins) -> None:
    from spatialclaw.primitives.backends.classical.tracking import link_masks

    _, rendering = twins
    masks = _untracked(rendering)
    linked = link_masks(masks, list(rendering.rgb))
    truth = np.array([int(np.bincount(rendering.instance[f][m]).argmax()) for f, m in zip(masks.frame_ids, masks.masks)])
    assert len(set(linked.instance_ids.tolist())) == 2
    for ident in set(linked.instance_ids.tolist()):
        assert len(set(truth[linked.instance_ids == ident].tolist())) == 1


def test_tracks3d_with_classical_tracking_follows_each_twin(twins, primitives_context, tmp_path) -> None:
    from spatialclaw import primitives
    from spatialclaw.inputs.load import load_input
    from spatialclaw.primitives.context import KernelContext

    folder, rendering = twins
    frames = load_input(folder, frames=None, cache_dir=tmp_path).frames
    calls = []

    def host_call(method: str, payload: dict):
        """A VLM that points at one chair or the other, in turn (the centre of its pixels)."""
        assert method == "locate"
        f = len(calls)
        calls.append(f)
        ys, xs = np.nonzero(rendering.instance[f] == 1 + f % 2)
        return (float(np.median(xs)), float(np.median(ys))) if len(xs) else None

    context = KernelContext(frames=frames, source_kind="rgbd", source_path=folder,
                            perception="reconstruction=gt,segmentation=classical", host_call=host_call, cache_dir=tmp_path)
    namespace: dict = {}
    primitives.install(namespace, context)
    tracks = namespace["tracks3d"]("chair")
    assert len(tracks) == 2 and len(calls) == N
    left, right = sorted(tracks, key=lambda t: t.positions[0, 0])
    assert left.moved and right.moved
    assert left.displacement()[0] < -0.3 and right.displacement()[0] > 0.3
    for t in (left, right):
        assert t.speed() == pytest.approx(SPEED, abs=0.03)
