"""The ground-truth backend and the primitives on rendered synthetic rooms with exact answers.

Scenes come from `spatialclaw.synth` (the project's one renderer); their ``scene.json`` and
instance images are the ground truth.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import spatialclaw.primitives as primitives
from spatialclaw.inputs import rgbd
from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import backends, fusion, math3d, perception
from spatialclaw.primitives.backends import gt
from spatialclaw.primitives.context import KernelContext
from spatialclaw.primitives.geometry import distance, relative_direction

pytestmark = pytest.mark.slow

SEEDS = (1, 2)
# Labels built from boxes only: their visible points span their whole oriented box.
BOXY = {"cabinet", "bookshelf", "chair", "table", "sofa", "bed"}




@pytest.fixture(scope="module", params=SEEDS)
def scene_root(request, tmp_path_factory) -> Path:
    from spatialclaw.synth import make_test_scene

    return make_test_scene(tmp_path_factory.mktemp(f"scene{request.param}"), seed=request.param, frames=16, width=320, height=240)


def load_frames(root: Path) -> list[Frame]:
    layout = rgbd.scan_rgbd(root)
    return [Frame(i, i / layout.fps, rgbd.read_color(root, i)) for i in layout.indices]


def install(root: Path, cache_dir: Path | None = None, perception_setting: str = "auto") -> SimpleNamespace:
    """A kernel on ``root``: its primitives as attributes (``kernel.reconstruct()``), ``kernel.context``,
    and what `install` reported (``kernel.info``)."""
    ctx = KernelContext(frames=load_frames(root), source_kind="rgbd", source_path=root,
                        perception=perception_setting, cache_dir=cache_dir, options={"cache": cache_dir is not None})
    namespace: dict = {}
    info = primitives.install(namespace, ctx)
    return SimpleNamespace(**namespace, context=ctx, info=info)


def times(kernel: SimpleNamespace) -> list[float]:
    """Seconds of each of the kernel's frames (what `objects3d` gives `fusion.fuse`)."""
    return [f.time for f in kernel.context.frames]


def truth(root: Path) -> tuple[dict, dict[int, int]]:
    """scene.json, and the first frame where each instance id covers at least one pixel."""
    scene = json.loads((root / "scene.json").read_text())
    first: dict[int, int] = {}
    for k, i in enumerate(rgbd.scan_rgbd(root).indices):
        for iid in np.unique(rgbd.read_instance(root, i)):
            first.setdefault(int(iid), k)
    first.pop(0, None)
    return scene, first


def by_id(objects) -> dict:
    ids = [o.instance_id for o in objects]
    assert len(set(ids)) == len(ids) and -1 not in ids
    return dict(zip(ids, objects))


# -- selection --------------------------------------------------------------------------------

def test_auto_selects_gt_for_an_rgbd_folder_and_records_it(scene_root):
    kernel = install(scene_root)
    assert {f: c["backend"] for f, c in kernel.info["backends"].items()} == {"reconstruction": "gt", "segmentation": "gt"}
    assert kernel.context.backends == {"reconstruction": "gt", "segmentation": "gt"}


def test_explicit_gt_on_a_video_is_a_clear_error():
    ctx = KernelContext(frames=[Frame(0, 0.0, np.zeros((8, 8, 3), np.uint8))], source_kind="video", perception="gt")
    with pytest.raises(PerceptionError, match="--perception gt cannot serve reconstruction"):
        primitives.install({}, ctx)
    with pytest.raises(PerceptionError, match="unknown perception"):
        backends.parse_perception("oracle")
    assert backends.parse_perception("segmentation=gt") == {"reconstruction": "auto", "segmentation": "gt"}


# -- reconstruction ---------------------------------------------------------------------------

def test_reconstruction_matches_the_folder_and_is_level(scene_root):
    kernel = install(scene_root)
    r = kernel.reconstruct()
    layout = rgbd.scan_rgbd(scene_root)
    assert len(r) == len(layout.indices) and r.backend == "gt"
    assert r.info["levelling"]["applied"].startswith("identity")
    k = 5
    assert np.array_equal(r.pose[k], rgbd.read_pose(scene_root, layout.indices[k]))
    assert np.array_equal(r.depth[k], rgbd.read_depth(scene_root, layout.indices[k]))
    floor_ids = rgbd.read_instance(scene_root, layout.indices[k]) == 0
    pts = r.points(k, mask=floor_ids)
    assert np.percentile(pts[:, 2], 1) == pytest.approx(0.0, abs=0.005)
    sub = kernel.reconstruct(frames=[3, 7])
    assert sub.frame_ids.tolist() == [3, 7] and np.array_equal(sub.depth[1], r.depth[7])


def test_camera_motion_matches_the_poses(scene_root):
    kernel = install(scene_root)
    layout = rgbd.scan_rgbd(scene_root)
    a, b = rgbd.read_pose(scene_root, layout.indices[2]), rgbd.read_pose(scene_root, layout.indices[9])
    turn = math3d.wrap_deg(math3d.heading_deg(b[:3, 2]) - math3d.heading_deg(a[:3, 2]))
    m = kernel.camera_motion(2, 9)
    assert m["turn_deg"] == pytest.approx(turn, abs=0.01)
    assert m["distance_m"] == pytest.approx(np.linalg.norm(b[:3, 3] - a[:3, 3]), abs=1e-3)


def test_room_size_estimates_the_floor_area(scene_root):
    kernel = install(scene_root)
    scene, _ = truth(scene_root)
    assert kernel.room_size()["floor_area_m2"] == pytest.approx(scene["floor_area"], rel=0.04)


# -- segmentation and objects -----------------------------------------------------------------

def test_segment_returns_one_mask_per_instance_per_frame(scene_root):
    kernel = install(scene_root)
    labels = rgbd.read_instance_labels(scene_root)
    chair_ids = {i for i, lab in labels.items() if lab == "chair"}
    masks = kernel.segment("Chairs")
    expected = sum(len(chair_ids & set(np.unique(rgbd.read_instance(scene_root, i)).tolist()))
                   for i in rgbd.scan_rgbd(scene_root).indices)
    assert len(masks) == expected and set(masks.labels) <= {"chair"}
    k = 0
    inst = rgbd.read_instance(scene_root, rgbd.scan_rgbd(scene_root).indices[masks.frame_ids[k]])
    assert np.array_equal(masks.masks[k], inst == masks.instance_ids[k])
    with pytest.warns(UserWarning, match="no such object"):
        assert len(kernel.segment("piano")) == 0


def test_objects_counts_sizes_and_first_appearance_are_exact(scene_root):
    kernel = install(scene_root)
    scene, first = truth(scene_root)
    objects = by_id(kernel.objects3d("*"))
    assert set(objects) == set(first)  # one object per instance seen, no more
    for label in {o["label"] for o in scene["objects"]}:
        seen = [o for o in scene["objects"] if o["label"] == label and o["id"] in first]
        assert len(kernel.objects3d(label)) == len(seen), label
    for g in scene["objects"]:
        if g["id"] not in objects:
            continue
        o = objects[g["id"]]
        assert o.label == g["label"]
        assert o.first_frame == first[g["id"]]
        assert max(o.size) == pytest.approx(max(g["size"]), abs=0.03), g["label"]
        if g["label"] in BOXY:
            expected = sorted(g["size"][:2], reverse=True) + [g["size"][2]]
            assert o.size == pytest.approx(expected, abs=0.03), g["label"]


def test_closest_distances_match_the_exact_surfaces(scene_root):
    """Against the closest points of the objects' true surfaces (dense samples of their meshes).

    (Not against the question generator's box distance: a table's box fills the space between
    its legs, so boxes can be closer than the surfaces.)
    """
    import open3d as o3d
    from scipy.spatial import cKDTree

    from spatialclaw.synth import generate_scene

    o3d.utility.random.seed(0)
    kernel = install(scene_root)
    scene, _ = truth(scene_root)
    exact = {o.id: o for o in generate_scene(scene["seed"]).objects}
    objects = by_id(kernel.objects3d("*"))
    surface = {i: np.asarray(exact[i].mesh().sample_points_uniformly(8000).points) for i in objects}
    for a, b in itertools.combinations(sorted(objects), 2):
        true = float(cKDTree(surface[b]).query(surface[a])[0].min())
        assert distance(objects[a], objects[b]) == pytest.approx(true, abs=0.03), (exact[a].label, exact[b].label)


def test_relative_directions_agree_with_the_question_generator(scene_root):
    from spatialclaw.synth.questions import direction_easy, direction_hard, direction_medium, signed_angle

    kernel = install(scene_root)
    scene, _ = truth(scene_root)
    centers = {o["id"]: np.array(o["center"]) for o in scene["objects"]}
    objects = by_id(kernel.objects3d("*"))
    checked = 0
    for a, b, c in itertools.permutations(sorted(objects), 3):
        angle = signed_angle((centers[b] - centers[a])[:2], (centers[c] - centers[a])[:2])
        d = relative_direction(objects[a], objects[b], objects[c])
        for expected, got in ((direction_easy(angle), d["side"]), (direction_medium(angle), d["left_right_back"]),
                              (direction_hard(angle), d["quadrant"])):
            if expected is not None:
                assert got == expected, (a, b, c, angle, d)
                checked += 1
    assert checked > 100


def test_fusion_without_instance_ids_finds_the_same_objects(scene_root):
    """Clustering by 3D overlap (what learned and classical masks go through) on exact masks."""
    kernel = install(scene_root)
    _, first = truth(scene_root)
    masks = perception.run_segmentation("*", None, kernel.context)
    recon = perception.run_reconstruction(None, kernel.context)
    objects = fusion.fuse(dataclasses.replace(masks, instance_ids=None), recon, times=times(kernel))
    reference = by_id(fusion.fuse(masks, recon, times=times(kernel)))
    assert len(objects) == len(first)
    for o in objects:
        ref = min(reference.values(), key=lambda r: np.linalg.norm(r.center - o.center))
        assert o.label == ref.label and o.frames == ref.frames
        assert max(o.size) == pytest.approx(max(ref.size), abs=0.03)


def test_fusion_is_robust_to_noisy_masks(scene_root):
    """Masks grown by 1 px onto the background, 10% of their pixels dropped, no identities.

    Counts and first appearances stay exact; most objects' longest side stays within 5 cm
    (a chair whose loose masks take in the wall behind it can grow by decimetres).
    """
    import cv2

    kernel = install(scene_root)
    _, first = truth(scene_root)
    masks = perception.run_segmentation("*", None, kernel.context)
    rng = np.random.default_rng(0)
    grow = np.ones((3, 3), np.uint8)
    noisy = np.stack([cv2.dilate(m.astype(np.uint8), grow).astype(bool) & (rng.random(m.shape) > 0.1) for m in masks.masks])
    recon = perception.run_reconstruction(None, kernel.context)
    objects = fusion.fuse(dataclasses.replace(masks, masks=noisy, instance_ids=None), recon, times=times(kernel))
    reference = by_id(fusion.fuse(masks, recon, times=times(kernel)))
    assert len(objects) == len(first)
    errors = []
    for o in objects:
        ref = min(reference.values(), key=lambda r: np.linalg.norm(r.center - o.center))
        assert o.label == ref.label and o.first_frame == ref.first_frame
        errors.append(abs(max(o.size) - max(ref.size)))
    assert np.median(errors) <= 0.02
    assert np.mean(np.array(errors) <= 0.05) >= 0.75


# -- re-levelling -----------------------------------------------------------------------------

def test_a_tilted_shifted_world_is_relevelled(scene_root, tmp_path):
    kernel = install(scene_root)
    level = by_id(kernel.objects3d("*"))
    cams = kernel.reconstruct().camera_centers()
    tilted_root = tmp_path / "tilted"
    shutil.copytree(scene_root, tilted_root)
    T = np.eye(4)
    T[:3, :3] = math3d.rotation_between([0, 0, 1], [0.4, -0.2, 0.9])
    T[:3, 3] = (1.0, -2.0, 0.8)
    for i in rgbd.scan_rgbd(tilted_root).indices:
        np.savetxt(tilted_root / "pose" / f"{i}.txt", T @ rgbd.read_pose(scene_root, i), fmt="%.8f")
    kernel = install(tilted_root)
    r = kernel.reconstruct()
    assert r.info["levelling"]["applied"] == "re-levelled", r.info
    assert r.camera_centers()[:, 2] == pytest.approx(cams[:, 2], abs=0.015), r.info
    moved = by_id(kernel.objects3d("*"))
    assert set(moved) == set(level)
    for i, o in moved.items():
        assert o.size == pytest.approx(level[i].size, abs=0.02)
        assert o.center[2] == pytest.approx(level[i].center[2], abs=0.015)
    a, b = sorted(moved)[:2]
    assert distance(moved[a], moved[b]) == pytest.approx(distance(level[a], level[b]), abs=0.01)


# -- cache ------------------------------------------------------------------------------------

def test_a_second_question_reuses_cached_perception(scene_root, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    kernel = install(scene_root, cache_dir)
    first_recon = kernel.reconstruct()
    first_masks = kernel.segment("chair")
    first_chairs = kernel.objects3d("chair")
    assert len(list((cache_dir / "perception" / "reconstruction").glob("*.npz"))) == 1
    assert len(list((cache_dir / "perception" / "segmentation").glob("*.npz"))) == 1
    assert len(list((cache_dir / "perception" / "objects").glob("*.npz"))) == 1

    # a new kernel (install makes a new context): nothing in memory, the files stay
    calls: list[str] = []
    real_reconstruct, real_segment = gt.reconstruct, gt.segment
    monkeypatch.setattr(gt, "reconstruct", lambda *a, **k: calls.append("reconstruct") or real_reconstruct(*a, **k))
    monkeypatch.setattr(gt, "segment", lambda *a, **k: calls.append("segment") or real_segment(*a, **k))
    kernel = install(scene_root, cache_dir)
    again = kernel.reconstruct()
    masks = kernel.segment("chair")
    chairs = kernel.objects3d("chair")
    assert calls == []
    assert [o.instance_id for o in chairs] == [o.instance_id for o in first_chairs]
    for o, first in zip(chairs, first_chairs):
        assert np.array_equal(o.points, first.points) and o.frames == first.frames and o.label == first.label
        assert np.array_equal(o.size, first.size) and o.yaw == first.yaw
    assert np.array_equal(again.depth, first_recon.depth) and np.array_equal(again.pose, first_recon.pose)
    assert np.array_equal(masks.masks, first_masks.masks) and masks.labels.tolist() == first_masks.labels.tolist()
    assert np.array_equal(masks.instance_ids, first_masks.instance_ids)
    kernel.segment("table")  # a new query is computed, then cached
    assert calls == ["segment"]
    with pytest.raises(ValueError, match="read-only"):
        again.depth[0, 0, 0] = 1.0


def test_fusion_of_tracked_identities_repairs_switches_and_splits(scene_root):
    """Exact masks with a faulty tracker's ids: one id on two objects, one object under two ids.

    ``tracked=True`` checks the ids in 3D: the objects found are the scene's, one per object.
    """
    kernel = install(scene_root)
    _, first = truth(scene_root)
    masks = perception.run_segmentation("*", None, kernel.context)
    recon = perception.run_reconstruction(None, kernel.context)
    reference = by_id(fusion.fuse(masks, recon, times=times(kernel)))
    ids = masks.instance_ids.copy()
    objects_by_size = sorted(set(ids.tolist()))
    merged_pair = objects_by_size[:2]  # two different objects under one id (an identity switch)
    ids[np.isin(ids, merged_pair)] = 1000
    split = objects_by_size[2]  # one object under two ids (lost, then re-detected)
    seen = np.flatnonzero(masks.instance_ids == split)
    ids[seen[len(seen) // 2 :]] = 2000
    objects = fusion.fuse(dataclasses.replace(masks, instance_ids=ids), recon, tracked=True, times=times(kernel))
    assert len(objects) == len(first)
    for o in objects:
        ref = min(reference.values(), key=lambda r: np.linalg.norm(r.center - o.center))
        assert o.label == ref.label and o.frames == ref.frames
        assert max(o.size) == pytest.approx(max(ref.size), abs=0.05)
