"""`tracks3d` through the learned backend's video tracker (SAM 3 video), on a tiny random
checkpoint loaded by the real ``from_pretrained`` path, and with the tracker's ids standing for
two identical chairs pushed apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from spatialclaw.primitives.types import Masks  # noqa: E402
from spatialclaw.testing import tiny_models  # noqa: E402

from offline_models import no_network, one_torch_thread  # noqa: E402,F401  (autouse fixtures)
from twin_chairs import N, SPEED  # noqa: E402

pytestmark = pytest.mark.slow  # renders a room, runs the trackers


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Hugging Face cache holding a tiny random ``facebook/sam3`` (video) checkpoint."""
    root = tmp_path_factory.mktemp("hub")
    tiny_models.write_hf_cache(root, {"facebook/sam3": lambda folder: tiny_models.sam3(folder)})
    return root


def _kernel(folder: Path, cache: Path):
    from spatialclaw import primitives
    from spatialclaw.inputs.load import load_input
    from spatialclaw.primitives.context import KernelContext

    frames = load_input(folder, frames=None, cache_dir=cache).frames
    context = KernelContext(frames=frames, source_kind="rgbd", source_path=folder, cache_dir=cache,
                            perception="reconstruction=gt,segmentation=learned", options={"device": "cpu"})
    namespace: dict = {}
    info = primitives.install(namespace, context)
    return namespace, context, info


def test_tracks3d_runs_on_the_tiny_sam3_video_tracker(twins, hub, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    folder, _ = twins
    ns, context, info = _kernel(folder, tmp_path)
    assert info["backends"]["segmentation"]["backend"] == "learned"
    tracks = ns["tracks3d"]("chair")
    from spatialclaw.primitives.perception import run_tracking

    ids = set(run_tracking("chair", None, context).instance_ids.tolist())
    assert ids and all(i >= 0 for i in ids)  # random weights still start tracks
    assert len({t.instance_id for t in tracks}) == len(tracks) and {t.instance_id for t in tracks} <= ids
    for t in tracks:
        assert np.isfinite(t.positions).all() and t.times.tolist() == sorted(t.times.tolist())


def test_tracker_ids_keep_identical_twins_apart_in_3d(twins, hub, tmp_path, monkeypatch) -> None:
    """The tracker's identities decide: masks of two identical chairs with ids 7 and 9 give two tracks."""
    from spatialclaw.primitives.backends.learned import backend

    folder, rendering = twins

    class TwinTracker:
        def track(self, images, query):
            masks, frames, ids = [], [], []
            for f in range(len(images)):
                for iid, track_id in ((1, 7), (2, 9)):
                    m = rendering.instance[f] == iid
                    if m.any():
                        masks.append(m)
                        frames.append(f)
                        ids.append(track_id)
            return Masks.from_masks(np.stack(masks), ["chair"] * len(masks), frames, instance_ids=np.array(ids))

    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(backend, "adapter_for", lambda task, context: TwinTracker())
    ns, _, _ = _kernel(folder, tmp_path)
    tracks = ns["tracks3d"]("chair")
    assert sorted(t.instance_id for t in tracks) == [7, 9]
    by_id = {t.instance_id: t for t in tracks}
    assert by_id[7].displacement()[0] < -0.3 and by_id[9].displacement()[0] > 0.3
    for t in tracks:
        assert len(t) == N and t.speed() == pytest.approx(SPEED, abs=0.02)
