"""Identity by tracking: two identical chairs pushed apart stay two tracks (classical optical-flow
linking, and `tracks3d` through the classical backend with a pointing VLM)."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.primitives.types import Masks

from twin_chairs import N, SPEED

pytestmark = pytest.mark.slow  # renders a room, runs the trackers


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


def test_tracks3d_with_classical_tracking_follows_each_twin(twins, tmp_path) -> None:
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
