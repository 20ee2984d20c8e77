"""Structure-from-motion for the classical backend: attempts, motion checks, extra video frames, silence.

The accuracy tests render rooms that differ from the shared fixture of ``test_classical.py`` (another
seed, so another layout and walk, and a wider lens the 60° prior has to be refined towards).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives.backends.classical import sfm, sfm_quality
from spatialclaw.primitives.backends.classical.sampling import sfm_sample
from spatialclaw.primitives.context import KernelContext


def walk(n: int, step: float = 0.1) -> np.ndarray:
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, 0, 3] = np.arange(n) * step
    return poses


def test_a_walk_joined_in_the_wrong_place_is_cut_at_the_join():
    poses = walk(20)
    poses[12:, :3, 3] += np.array([3.0, 1.0, 0.0])  # the last 8 frames placed 3 m away
    registered = np.ones(20, bool)
    assert np.flatnonzero(sfm.path_breaks(poses, registered)).tolist() == list(range(12, 20))


def test_a_camera_that_pauses_and_moves_again_is_not_a_break():
    steps = np.r_[np.full(8, 0.01), np.linspace(0.01, 0.5, 6), np.full(8, 0.5)]
    poses = np.tile(np.eye(4), (len(steps) + 1, 1, 1))
    poses[1:, 0, 3] = np.cumsum(steps)
    assert not sfm.path_breaks(poses, np.ones(len(poses), bool)).any()


def test_the_score_prefers_a_plausible_camera_over_more_registered_frames():
    wrong = sfm_quality.score_attempt("a", frames=32, registered=32, rejected=0, reprojection_px=0.8, observations=32 * 150,
                                      fov=sfm_quality.fov_deg(23303.0, 640))
    right = sfm_quality.score_attempt("b", frames=32, registered=29, rejected=0, reprojection_px=0.9, observations=29 * 150,
                                      fov=sfm_quality.fov_deg(560.0, 640))
    assert wrong.score == 0.0 and right.score > 0.7


def test_the_score_falls_with_reprojection_error_rejections_and_sparse_frames():
    base = dict(frames=20, registered=20, rejected=0, reprojection_px=0.5, observations=20 * 200, fov=60.0)
    good = sfm_quality.score_attempt("x", **base).score
    assert sfm_quality.score_attempt("x", **{**base, "reprojection_px": 3.0}).score < 0.5 * good
    assert sfm_quality.score_attempt("x", **{**base, "rejected": 6}).score < good
    assert sfm_quality.score_attempt("x", **{**base, "observations": 20 * 20}).score < 0.5 * good


def test_failed_structure_from_motion_is_an_error_and_prints_nothing(capfd):
    noise = [np.random.default_rng(k).integers(0, 255, (120, 160, 3), dtype=np.uint8) for k in range(5)]
    with pytest.raises(PerceptionError, match="registered"):
        sfm.run_sfm(noise, min_registered=3)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.fixture(scope="module")
def video_scene(tmp_path_factory):
    """A synthetic walk written as an RGB-D folder and an mp4 of 48 frames."""
    from spatialclaw.synth import make_test_scene

    return make_test_scene(tmp_path_factory.mktemp("video"), seed=5, frames=48, width=160, height=120)


def test_extra_video_frames_are_decoded_between_the_requested_ones(video_scene):
    from spatialclaw.inputs.load import load_input

    video = video_scene.with_suffix(".mp4")
    loaded = load_input(video, frames=12, cache_dir=video_scene.parent / "cache")
    context = KernelContext(frames=loaded.frames, source_kind="video", source_path=video)
    sample = sfm_sample(loaded.frames, context, total=30)
    assert len(sample.images) == 30
    assert sample.positions == sorted(sample.positions)
    for frame, p in zip(loaded.frames, sample.positions):
        assert sample.images[p] is frame.image
    assert "30 frames of the input" in sample.note


@pytest.mark.parametrize("layout", ["images", "rgbd"])
def test_extra_frames_come_from_an_image_sequence_or_rgbd_folder(video_scene, layout):
    from spatialclaw.inputs.load import load_input

    loaded = load_input(video_scene / "color" if layout == "images" else video_scene, frames=8, cache_dir=video_scene.parent / "cache")
    assert loaded.kind == layout
    context = KernelContext(frames=loaded.frames, source_kind=layout, source_path=loaded.paths[0],
                            source_files=loaded.paths if layout == "images" else [])
    sample = sfm_sample(loaded.frames, context, total=20)
    assert len(sample.images) == 20
    assert all(sample.images[p] is f.image for f, p in zip(loaded.frames, sample.positions))
    assert np.array_equal(np.diff(sample.positions) > 0, np.ones(7, bool))


def test_without_the_input_on_disk_only_the_given_frames_are_used(video_scene):
    frames = [Frame(i, i / 10.0, np.zeros((8, 8, 3), np.uint8)) for i in range(6)]
    sample = sfm_sample(frames, KernelContext(frames=frames, source_kind="images", source_path=video_scene))
    assert len(sample.images) == 6 and sample.positions == list(range(6))
    mixed = [Frame(i, 0.0, np.zeros((8, 8, 3), np.uint8), source=i % 2) for i in range(6)]
    assert len(sfm_sample(mixed, KernelContext(frames=mixed, source_kind="multi", source_path=video_scene)).images) == 6


# --- accuracy on rooms unlike the shared fixture (slow: SfM + stereo) -------------------------------


VARIANTS = [(11, 80.0, 24)]  # seed (layout, walk, colours), horizontal field of view (°), frames


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: f"seed{v[0]}-fov{v[1]:.0f}-{v[2]}frames")
def room(request, tmp_path_factory):
    from spatialclaw.primitives.backends import classical
    from spatialclaw.synth import generate_scene, render_scene

    seed, fov, n = request.param
    scene = generate_scene(seed)
    rendering = render_scene(scene, n, 320, 240, hfov_deg=fov)
    frames = [Frame(i, i / 10.0, rendering.rgb[i]) for i in range(n)]
    context = KernelContext(frames=frames, source_kind="images", cache_dir=tmp_path_factory.mktemp("cache"),
                            options={"camera_height": scene.path.height})
    return rendering, classical.reconstruct(frames, context)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # builds the reconstruction: SfM + stereo, minutes on a busy 2-core machine
def test_rooms_unlike_the_fixture_get_the_path_scale_and_depth_right(room):
    rendering, recon = room
    n = len(rendering.poses)
    registered = np.flatnonzero(recon.valid)
    assert len(registered) >= 0.9 * n
    est, gt = recon.pose[registered, :3, 3], rendering.poses[registered, :3, 3]
    s, R, t = sfm.similarity_align(est, gt)
    ate = np.sqrt(np.mean(np.sum((s * est @ R.T + t - gt) ** 2, axis=1)))
    path = np.linalg.norm(np.diff(rendering.poses[:, :3, 3], axis=0), axis=1).sum()
    assert ate <= 0.03 * path
    assert s == pytest.approx(1.0, rel=0.15)
    good = []
    for i in registered:
        valid = rendering.depth[i] > 0
        rel = np.abs(recon.depth[i][valid] - rendering.depth[i][valid]) / rendering.depth[i][valid]
        good.append(np.mean(rel <= 0.15))
    assert np.mean(good) >= 0.6
    assert recon.K[0][0, 0] == pytest.approx(rendering.K[0, 0], rel=0.1)


def _plan(found: dict, exhaustive: bool = True):
    """The attempt plan with ``found`` standing for the best model so far (its focal, k1, and
    whether the focal was measured)."""
    from spatialclaw.primitives.backends.classical.sfm_colmap import CameraGuess

    def best_camera():
        return CameraGuess("SIMPLE_RADIAL", found["focal"], fixed=True, k1=found.get("k1", 0.0)), found["measured"]

    return sfm._attempt_plan(500.0, exhaustive, 32, best_camera)


def test_a_self_calibration_that_measured_the_focal_is_kept_by_every_later_attempt():
    found = {"focal": 500.0, "measured": False}
    plan = _plan(found)
    first = next(plan)
    assert first.name == "incremental-self-calibrated" and first.probe and not first.camera.fixed
    found.update(focal=640.0, k1=-0.05, measured=True)  # the views measured a 28 % longer focal
    later = list(plan)
    assert [a.name for a in later] == ["global", "incremental-neighbours", "incremental-free"]
    assert all(a.focal_measured and a.camera.fixed and (a.camera.focal, a.camera.k1) == (640.0, -0.05) for a in later[:2])
    assert not later[2].focal_measured and not later[2].camera.fixed  # free intrinsics measure their own focal


def test_without_a_measured_focal_the_prior_is_held_then_refined_then_mapped_again():
    found = {"focal": 500.0, "measured": False}
    plan = _plan(found)
    assert [next(plan).name, next(plan).name] == ["incremental-self-calibrated", "incremental"]
    found.update(focal=640.0, measured=True)  # the bundle adjustment after mapping at the prior moved it by 28 %
    later = list(plan)
    assert [a.name for a in later] == ["incremental-refocused", "global", "incremental-neighbours", "incremental-free"]
    assert all(a.focal_measured and a.camera.focal == 640.0 for a in later[:3])

    found.update(focal=500.0, measured=False)
    unrefined = list(_plan(found, exhaustive=False))
    assert [a.name for a in unrefined] == ["incremental-self-calibrated", "incremental", "global", "incremental-free"]
    assert not any(a.focal_measured for a in unrefined)


def _orbit_model(focal: float, *, flat: bool = False, views: int = 8, points: int = 400):
    """A pycolmap model built by hand, as a mapper with a free focal would leave it: a 640×480
    camera of focal ``focal`` (pixels) orbiting 1 rad around a 4 m cube of points 6 m away
    (``flat``: sliding 2 m along a wall 5 m away, facing it), 0.3 px of noise on every observation."""
    import pycolmap

    rng = np.random.default_rng(0)
    width, height = 640, 480
    recon = pycolmap.Reconstruction()
    recon.add_camera_with_trivial_rig(pycolmap.Camera.create_from_model_name(1, "SIMPLE_RADIAL", focal, width, height))
    if flat:
        world = np.c_[rng.uniform(-3, 3, points), rng.uniform(-2, 2, points), np.full(points, 5.0)]
    else:
        world = rng.uniform(-2, 2, (points, 3)) + [0, 0, 6.0]
    K = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
    tracks: list[list[tuple[int, int]]] = [[] for _ in range(points)]
    for i in range(views):
        t = i / (views - 1) - 0.5
        if flat:
            R, centre = np.eye(3), np.array([2.0 * t, 0.0, 0.0])
        else:
            yaw = 1.0 * t
            R = np.array([[np.cos(yaw), 0, -np.sin(yaw)], [0, 1, 0], [np.sin(yaw), 0, np.cos(yaw)]])
            centre = np.array([0, 0, 6.0]) - 6.0 * R.T @ np.array([0, 0, 1.0])
        cam = (world - centre) @ R.T
        uv = cam @ K.T
        uv = uv[:, :2] / uv[:, 2:] + rng.normal(0, 0.3, (points, 2))
        seen = np.flatnonzero((uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height) & (cam[:, 2] > 0))
        image = pycolmap.Image(name=f"{i}.png", keypoints=uv[seen], camera_id=1, image_id=i + 1)
        recon.add_image_with_trivial_frame(image, pycolmap.Rigid3d(np.c_[R, -R @ centre]))
        for k, p in enumerate(seen):
            tracks[p].append((i + 1, k))
    for p, observed in enumerate(tracks):
        if len(observed) >= 2:
            track = pycolmap.Track()
            for image_id, k in observed:
                track.add_element(image_id, k)
            recon.add_point3D(world[p], track)
    recon.update_point_3d_errors()
    return recon


def test_a_free_focal_counts_as_measured_only_where_the_prior_cannot_explain_the_views(monkeypatch):
    from spatialclaw.primitives.backends.classical import sfm_colmap

    prior = sfm_colmap.prior_focal(640, 480)
    assert sfm._focal_evidenced(_orbit_model(1.3 * prior), prior, 640)
    assert sfm._focal_evidenced(_orbit_model(0.8 * prior), prior, 640)
    assert not sfm._focal_evidenced(_orbit_model(prior), prior, 640)  # the prior was right: nothing to tell apart
    assert not sfm._focal_evidenced(_orbit_model(1.3 * prior, flat=True), prior, 640)  # focal and depth trade off
    wide = 320 / np.tan(np.radians(139 / 2))
    assert not sfm._focal_evidenced(_orbit_model(wide), prior, 640)  # a 139° field of view is no ordinary camera
    monkeypatch.setattr(sfm, "_adjusted_copy", lambda recon, refine_focal: recon)  # the adjustment at the prior diverges
    assert not sfm._focal_evidenced(_orbit_model(1.3 * prior), prior, 640)


def test_threaded_extraction_writes_the_database_a_single_thread_writes(tmp_path, monkeypatch):
    import pycolmap

    from spatialclaw.primitives.backends.classical import sfm_colmap
    from spatialclaw.synth import generate_scene, render_scene

    images = list(render_scene(generate_scene(2), 8, 160, 120).rgb)

    def contents(root):
        db, _, names = sfm_colmap.build_database(images, root, max_features=512, seed=0)
        database = pycolmap.Database.open(str(db))
        try:
            ids = {image.name: image.image_id for image in database.read_all_images()}
            features = [(np.asarray(database.read_keypoints(ids[n])), np.asarray(database.read_descriptors(ids[n]).data)) for n in names]
            pairs, geometries = database.read_two_view_geometries()
            verified = {int(p): np.asarray(g.inlier_matches) for p, g in zip(pairs, geometries)}
        finally:
            database.close()
        return [ids[n] for n in names], features, verified

    (tmp_path / "threads").mkdir()
    threaded = contents(tmp_path / "threads")

    def one_thread(db, image_dir, names, reader, extraction):
        extraction.num_threads = 1
        pycolmap.extract_features(db, image_dir, image_names=names, camera_mode=pycolmap.CameraMode.SINGLE,
                                  reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu)

    monkeypatch.setattr(sfm_colmap, "_extract_in_frame_order", one_thread)
    (tmp_path / "one").mkdir()
    single = contents(tmp_path / "one")
    assert threaded[0] == single[0] == list(range(1, 9))  # image ids in frame order
    assert all(np.array_equal(a, b) for fa, fb in zip(threaded[1], single[1]) for a, b in zip(fa, fb))
    assert threaded[2].keys() == single[2].keys() and len(single[2]) > 0
    assert all(np.array_equal(threaded[2][k], single[2][k]) for k in single[2])


# --- the budget of attempts of the search (fake attempts) ------------------------------------------


def _fake_result(name: str, score: float, registered_fraction: float) -> sfm.SfmResult:
    n = 8
    quality = sfm_quality.AttemptQuality(name, registered_fraction, 0.5, 200.0, 60.0, 0.0, score)
    return sfm.SfmResult(
        K=np.eye(3), camera_model="SIMPLE_RADIAL", distortion=np.zeros(1), pose=np.tile(np.eye(4), (n, 1, 1)),
        registered=np.arange(n) < round(registered_fraction * n), posed_by_pnp=np.zeros(n, bool), rejected=np.zeros(n, bool),
        image_error=np.zeros(n), points=np.zeros((0, 3)), point_error=np.zeros(0), observations=[], focal_refined=False,
        quality=quality,
    )


def _search(monkeypatch, attempts, *, score: float = 0.3, fraction: float = 0.5, measured: bool = False):
    """`sfm._best_attempt` over fake attempts, under a budget of ``attempts`` (None: thorough);
    the self-calibration keeps its model (with a measured focal) only if ``measured``;
    (names of the attempts that ran, the result)."""
    ran: list[str] = []

    def attempt(plan, ws):
        ran.append(plan.name)
        if plan.probe and not measured:
            return []
        return [dataclasses.replace(_fake_result(plan.name, score, fraction), focal_refined=plan.probe)]

    monkeypatch.setattr(sfm, "_run_attempt", attempt)
    ws = sfm._Workspace(None, None, None, [f"{i}" for i in range(32)], 640, 0, 500.0)
    return ran, sfm._best_attempt(ws, True, {}, sfm._Budget(attempts))


def test_the_budget_counts_attempts_and_names_those_it_left_out(monkeypatch):
    ran, best = _search(monkeypatch, sfm.NORMAL_ATTEMPTS, measured=True)
    assert ran == ["incremental-self-calibrated", "global"]
    assert best.skipped == ["incremental-neighbours", "incremental-free"]
    ran, best = _search(monkeypatch, sfm.NORMAL_ATTEMPTS)  # a self-calibration that kept nothing is not counted
    assert ran == ["incremental-self-calibrated", "incremental", "global"]
    assert best.skipped == ["incremental-neighbours", "incremental-free"]
    ran, best = _search(monkeypatch, 1)
    assert ran == ["incremental-self-calibrated", "incremental"] and best.skipped == ["global", "incremental-neighbours", "incremental-free"]


def test_a_thorough_search_a_good_attempt_or_a_poor_model_ignore_the_budget(monkeypatch):
    ran, best = _search(monkeypatch, None)  # effort="thorough"
    assert ran == ["incremental-self-calibrated", "incremental", "global", "incremental-neighbours", "incremental-free"]
    assert best.skipped == []
    ran, best = _search(monkeypatch, sfm.NORMAL_ATTEMPTS, fraction=0.25)  # under half the frames kept: keep looking
    assert len(ran) == 5 and best.skipped == []
    ran, best = _search(monkeypatch, sfm.NORMAL_ATTEMPTS, score=0.9, fraction=1.0, measured=True)  # good: nothing more to look for
    assert ran == ["incremental-self-calibrated"] and best.skipped == []


def test_an_unknown_effort_is_refused():
    with pytest.raises(ValueError, match="effort"):
        sfm.run_sfm([np.zeros((8, 8, 3), np.uint8)] * 2, effort="fast")


def test_a_search_cut_short_is_a_quality_warning():
    from spatialclaw.primitives.backends.classical import quality_report
    from spatialclaw.primitives.backends.classical.pipeline import ClassicalResult

    n = 6
    pose = np.tile(np.eye(4), (n, 1, 1))
    pose[:, 0, 3] = np.arange(n) * 0.3
    pose[:, 2, 3] = 1.5

    def warnings(skipped):
        result = ClassicalResult(
            depth=np.full((n, 12, 16), 2.0, np.float32), measured=np.ones((n, 12, 16), bool), pose=pose,
            K=np.array([[14.0, 0, 8], [0, 14.0, 6], [0, 0, 1]]), registered=np.ones(n, bool), points=np.random.default_rng(0).normal(size=(500, 3)),
            scale=1.0, camera_height=1.5,
            info={"sfm": {"skipped": skipped, "score": 0.31, "focal_refined": True}, "sparse_points": 500, "scene_depth_m": 2.0},
        )
        return quality_report.assess(result).warnings

    cut = [w for w in warnings(["global", "incremental-free"]) if "stopped looking" in w]
    assert len(cut) == 1 and "not tried: global, incremental-free" in cut[0] and "sfm_effort='thorough'" in cut[0]
    assert not any("stopped looking" in w for w in warnings([]))


def test_the_effort_option_is_read_from_the_context():
    from spatialclaw.primitives.backends import classical

    assert classical._sfm_effort(KernelContext(frames=[])) == "normal"
    assert classical._sfm_effort(KernelContext(frames=[], options={"sfm_effort": "thorough"})) == "thorough"
    with pytest.raises(PerceptionError, match="sfm_effort must be one of 'normal', 'thorough', got 'fast'"):
        classical._sfm_effort(KernelContext(frames=[], options={"sfm_effort": "fast"}))
