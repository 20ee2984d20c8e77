"""The synthetic renderer: exact depth and instances, deterministic output, files others can read."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.inputs import rgbd
from spatialclaw.synth import generate_scene, make_test_scene, render_scene, write_rgbd, write_video

W, H, N = 320, 240, 12


@pytest.fixture(scope="module")
def scene():
    return generate_scene(0)


@pytest.fixture(scope="module")
def rendering(scene):
    return render_scene(scene, N, W, H)


def _backproject(rendering, i: int) -> np.ndarray:
    """(H*W, 3) world points of frame i from depth, K and pose."""
    K, pose, z = rendering.K, rendering.poses[i], rendering.depth[i].astype(np.float64)
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=-1).reshape(-1, 3)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def test_generate_scene_is_deterministic_and_objects_do_not_overlap(scene):
    again = generate_scene(0)
    assert again.to_json() == scene.to_json()
    assert generate_scene(1).to_json() != scene.to_json()
    W_, D_, H_ = scene.room_size
    assert 4.0 <= W_ <= 8.0 and 3.0 <= D_ <= 7.0 and 2.6 <= H_ <= 3.0
    assert len(scene.objects) >= 5
    from spatialclaw.synth import object_distance

    for a in scene.objects:
        fp = a.footprint()
        assert fp[:, 0].min() > 0 and fp[:, 1].min() > 0 and fp[:, 0].max() < W_ and fp[:, 1].max() < D_
        assert a.center[2] - a.size[2] / 2 == pytest.approx(0.0, abs=1e-9)  # stands on the floor
        for b in scene.objects:
            if a.id < b.id:
                assert object_distance(a, b) >= 0.1 - 1e-9


def test_render_is_deterministic(scene, rendering):
    again = render_scene(scene, N, W, H)
    assert np.array_equal(again.rgb, rendering.rgb)
    assert np.array_equal(again.depth, rendering.depth)
    assert np.array_equal(again.instance, rendering.instance)
    assert rendering.rgb.shape == (N, H, W, 3) and rendering.depth.dtype == np.float32
    assert rendering.instance.dtype == np.uint16


def test_depth_is_z_depth_to_the_floor(scene, rendering):
    Wr, Dr, _ = scene.room_size
    K = rendering.K
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    checked = 0
    for i in range(N):
        pose = rendering.poses[i]
        dirs = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u, dtype=float)], -1) @ pose[:3, :3].T
        t_floor = -pose[2, 3] / np.minimum(dirs[..., 2], -1e-9)  # z-depth where the ray meets z = 0
        hit = pose[:3, 3] + dirs * t_floor[..., None]
        on_floor = (
            (dirs[..., 2] < -1e-6)
            & (hit[..., 0] > 0.01) & (hit[..., 0] < Wr - 0.01)
            & (hit[..., 1] > 0.01) & (hit[..., 1] < Dr - 0.01)
            & (rendering.instance[i] == 0)
        )
        err = np.abs(rendering.depth[i][on_floor] - t_floor[on_floor])
        assert err.max() < 1e-3
        checked += int(on_floor.sum())
        z = _backproject(rendering, i).reshape(H, W, 3)[..., 2][on_floor]
        assert np.abs(z).max() < 1e-3
    assert checked > N * W * H * 0.05


def test_instance_pixels_lie_inside_their_boxes(scene, rendering):
    seen = set()
    for i in range(N):
        points = _backproject(rendering, i)
        ids = rendering.instance[i].ravel()
        for obj in scene.objects:
            mine = ids == obj.id
            if mine.any():
                seen.add(obj.id)
                assert obj.contains(points[mine], tol=1e-3).all(), obj.label
        # room pixels lie on the room's boundary planes
        room = points[ids == 0]
        Wr, Dr, Hr = scene.room_size
        to_plane = np.min(np.abs(np.stack([room[:, 0], room[:, 0] - Wr, room[:, 1], room[:, 1] - Dr, room[:, 2], room[:, 2] - Hr])), axis=0)
        assert to_plane.max() < 1e-3
    assert len(seen) >= len(scene.objects) - 1


def test_surfaces_are_textured(rendering):
    """Enough corners for feature matching: SIFT finds hundreds of keypoints per frame."""
    import cv2

    sift = cv2.SIFT_create()
    counts = [len(sift.detect(cv2.cvtColor(rendering.rgb[i], cv2.COLOR_RGB2GRAY), None)) for i in range(0, N, 4)]
    assert min(counts) > 150


def test_written_folder_round_trips(tmp_path, scene, rendering):
    root = write_rgbd(scene, rendering, tmp_path / "scene")
    layout = rgbd.scan_rgbd(root)
    assert layout.indices == tuple(range(N))
    assert layout.has_depth and layout.has_pose and layout.has_intrinsics and layout.has_instances
    assert layout.fps == pytest.approx(rendering.fps)
    assert rgbd.read_instance_labels(root) == scene.labels()
    np.testing.assert_allclose(rgbd.read_intrinsics(root), rendering.K, atol=1e-5)
    for i in (0, N - 1):
        np.testing.assert_allclose(rgbd.read_depth(root, i), rendering.depth[i], atol=1e-3)
        np.testing.assert_allclose(rgbd.read_pose(root, i), rendering.poses[i], atol=1e-7)
        assert np.array_equal(rgbd.read_instance(root, i), rendering.instance[i])
        assert np.abs(rgbd.read_color(root, i).astype(int) - rendering.rgb[i]).mean() < 6


def test_video_decodes_with_every_frame(tmp_path, rendering):
    import av

    path = write_video(rendering, tmp_path / "v.mp4")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == N
    assert frames[0].shape == (H, W, 3)
    assert np.abs(frames[3].astype(int) - rendering.rgb[3]).mean() < 8


def test_make_test_scene(tmp_path):
    folder = make_test_scene(tmp_path, seed=3, frames=4, width=160, height=120)
    assert folder == tmp_path / "synth" / "synth_3"
    assert rgbd.scan_rgbd(folder).indices == (0, 1, 2, 3)
    assert folder.with_suffix(".mp4").is_file()
    assert (folder / "scene.json").is_file()


# --- questions on a hand-built room -------------------------------------------------------------

import functools
import json
import math
import re

from spatialclaw.synth import CameraPath, Scene, SceneObject
from spatialclaw.synth.questions import default_min_pixels, make_questions
from spatialclaw.tasks import QUESTION_TYPES
from spatialclaw.synth.shapes import Part

# label, (width, depth, height) m, floor centre (x, y) m, yaw rad: plain boxes, so sizes are known
HAND_OBJECTS = [
    ("sofa", (2.0, 0.9, 0.8), (3.0, 0.5), 0.0),
    ("tv", (1.2, 0.3, 1.2), (3.0, 4.8), math.pi),
    ("table", (1.2, 0.8, 0.75), (0.8, 2.5), math.pi / 2),
    ("chair", (0.5, 0.5, 0.9), (0.8, 1.2), 0.3),
    ("chair", (0.5, 0.5, 0.9), (0.8, 3.8), -0.4),
    ("bookshelf", (1.0, 0.35, 1.8), (5.8, 2.5), math.pi / 2),
    ("lamp", (0.4, 0.4, 1.6), (5.5, 0.5), 0.0),
    ("plant", (0.5, 0.5, 0.9), (5.4, 4.5), 0.0),
    ("cabinet", (0.8, 0.45, 1.0), (1.9, 4.7), math.pi),
]
HW, HH, HN = 160, 120, 16


@pytest.fixture(scope="module")
def hand_scene():
    objects = tuple(
        SceneObject(i + 1, label, xy, yaw, (Part("box", (0.0, 0.0, size[2] / 2), size),), (0.6, 0.4, 0.3))
        for i, (label, size, xy, yaw) in enumerate(HAND_OBJECTS)
    )
    path = CameraPath(center=(3.0, 2.5), radii=(1.2, 0.9), start_angle=0.0, direction=1, height=1.5, phase=-math.pi / 2)
    return Scene("hand", 0, (6.0, 5.0, 2.8), objects, path)


@pytest.fixture(scope="module")
def hand_rendering(hand_scene):
    return render_scene(hand_scene, HN, HW, HH)


def _box_points(label: str, step: float = 0.02) -> np.ndarray:
    """Points on the surface of a hand-built object's box, on a grid: an independent way to measure distances."""
    (size, xy, yaw) = next((s, p, y) for lab, s, p, y in HAND_OBJECTS if lab == label)
    axes = [np.linspace(-s / 2, s / 2, max(2, int(round(s / step)) + 1)) for s in size]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    g = g[np.any(np.isclose(np.abs(g), np.asarray(size) / 2), axis=1)]
    c, s = math.cos(yaw), math.sin(yaw)
    return np.stack([xy[0] + c * g[:, 0] - s * g[:, 1], xy[1] + s * g[:, 0] + c * g[:, 1], g[:, 2] + size[2] / 2], 1)


@functools.lru_cache(maxsize=None)
def _distance(a: str, b: str) -> float:
    from scipy.spatial import cKDTree

    return float(cKDTree(_box_points(a)).query(_box_points(b))[0].min())


def _centre(label: str) -> np.ndarray:
    return np.array(next(p for lab, _, p, _ in HAND_OBJECTS if lab == label))


def _angle(a: str, b: str, c: str) -> float:
    """Degrees from the direction a->b to a->c, positive to the left (counter-clockwise)."""
    f, t = _centre(b) - _centre(a), _centre(c) - _centre(a)
    return math.degrees(math.atan2(f[0] * t[1] - f[1] * t[0], f @ t))


def _answer(record) -> str:
    """The text of the ground-truth option."""
    return next(o[3:] for o in record["options"] if o.startswith(record["ground_truth"] + ". "))


def test_questions_cover_every_task_with_exact_answers(hand_scene, hand_rendering):
    records = make_questions(hand_scene, hand_rendering, start_id=100)
    assert {r["question_type"] for r in records} == set(QUESTION_TYPES)
    assert [r["id"] for r in records] == list(range(100, 100 + len(records)))
    assert make_questions(hand_scene, hand_rendering, start_id=100) == records
    min_pixels = default_min_pixels(HW, HH)
    for r in records:
        q, t = r["question"], r["question_type"]
        assert r["dataset"] == "synth" and r["scene_name"] == "hand"
        if r["options"] is not None:
            assert [o[:3] for o in r["options"]] == [f"{L}. " for L in "ABCD"[: len(r["options"])]]
        if t == "object_counting":
            label = re.fullmatch(r"How many (.+)\(s\) are in this room\?", q).group(1)
            assert r["ground_truth"] == str(sum(lab == label for lab, *_ in HAND_OBJECTS)) and label == "chair"
        elif t == "object_size_estimation":
            label = re.search(r"dimension \(length, width, or height\) of the (.+), measured", q).group(1)
            size = next(s for lab, s, *_ in HAND_OBJECTS if lab == label)
            assert int(r["ground_truth"]) == round(max(size) * 100)
        elif t == "room_size_estimation":
            assert float(r["ground_truth"]) == pytest.approx(30.0)
        elif t == "object_abs_distance":
            a, b = re.search(r"between the (.+) and the (.+) \(in meters\)", q).groups()
            assert float(r["ground_truth"]) == pytest.approx(_distance(a, b), abs=0.02)
        elif t == "object_rel_distance":
            names, target = re.search(r"which of these objects \((.+)\) is the closest to the (.+)\?", q).groups()
            choices = names.split(", ")
            assert [o[3:] for o in r["options"]] == choices
            assert _answer(r) == min(choices, key=lambda c: _distance(target, c))
        elif t.startswith("object_rel_direction"):
            a, b, c = re.search(r"standing by the (.+) and facing the (.+), is the (.+?) to ", q).groups()
            ang = _angle(a, b, c)
            side = "left" if ang > 0 else "right"
            if t.endswith("easy"):
                assert _answer(r) == side
            elif t.endswith("medium"):
                assert _answer(r) == ("back" if abs(ang) >= 135 else side)
            else:
                assert _answer(r) == ("front-" if abs(ang) < 90 else "back-") + side
        elif t == "route_planning":
            s, f = re.search(r"beginning at the (.+) facing the (.+?)\.", q).groups()
            m, e = re.search(r"3\. Go forward until the (.+) 4\. .* 5\. Go forward until the (.+?)\.", q).groups()
            turns = []
            for p0, p1, p2 in ((s, f, m), (f, m, e)):
                u, v = _centre(p1) - _centre(p0), _centre(p2) - _centre(p1)
                ang = math.degrees(math.atan2(u[0] * v[1] - u[1] * v[0], u @ v))
                turns.append("Turn Back" if abs(ang) >= 150 else ("Turn Left" if ang > 0 else "Turn Right"))
            assert _answer(r) == ", ".join(turns)
        elif t == "obj_appearance_order":
            asked = q.split("in the video: ")[1].rstrip("?").split(", ")
            first = {}
            for label in asked:
                ids = [i + 1 for i, (lab, *_) in enumerate(HAND_OBJECTS) if lab == label]
                seen = [k for k in range(HN) if any((hand_rendering.instance[k] == i).sum() >= min_pixels for i in ids)]
                first[label] = seen[0]
            assert len(set(first.values())) == 4
            assert _answer(r) == ", ".join(sorted(asked, key=first.get))


def test_questions_name_only_seen_unique_objects(hand_scene, hand_rendering):
    """An object never seen is never asked about; a label seen twice is never named as one object."""
    hidden = SceneObject(99, "trash can", (3.0, 2.5), 0.0, (Part("box", (0, 0, 0.2), (0.3, 0.3, 0.4)),), (0.5, 0.5, 0.5))
    scene = Scene("hand", 0, hand_scene.room_size, hand_scene.objects + (hidden,), hand_scene.path)
    records = make_questions(scene, hand_rendering)  # the rendering has no pixels of id 99
    text = " ".join(r["question"] + " ".join(r["options"] or []) for r in records)
    assert "trash can" not in text
    for r in records:
        if r["question_type"] not in ("object_counting", "obj_appearance_order"):
            assert "chair" not in r["question"]


def test_synth_cli_is_deterministic(tmp_path):
    from typer.testing import CliRunner

    from spatialclaw.cli import app
    from spatialclaw.eval.records import parse_record

    args = ["--scenes", "2", "--frames", "4", "--width", "96", "--height", "72", "--seed", "3"]
    for out in ("a", "b"):
        result = CliRunner().invoke(app, ["synth", str(tmp_path / out), *args])
        assert result.exit_code == 0, result.output
        assert "questions to" in result.output
    bad = CliRunner().invoke(app, ["synth", str(tmp_path / "c"), "--width", "97"])
    assert bad.exit_code != 0 and not (tmp_path / "c" / "questions.jsonl").exists()
    qa, qb = (tmp_path / "a" / "questions.jsonl").read_bytes(), (tmp_path / "b" / "questions.jsonl").read_bytes()
    assert qa == qb
    rows = [json.loads(line) for line in qa.decode().splitlines()]
    assert rows and [r["id"] for r in rows] == list(range(len(rows)))
    for i, row in enumerate(rows):
        parse_record(row, f"questions.jsonl:{i + 1}")
    names = sorted({r["scene_name"] for r in rows})
    assert names == ["synth_300000", "synth_300001"]
    for name in names:
        a, b = tmp_path / "a" / "synth" / name, tmp_path / "b" / "synth" / name
        assert rgbd.scan_rgbd(a).indices == tuple(range(4))
        assert (tmp_path / "a" / "synth" / f"{name}.mp4").is_file()
        for k in range(4):
            assert (a / "color" / f"{k}.jpg").read_bytes() == (b / "color" / f"{k}.jpg").read_bytes()
            assert (a / "depth" / f"{k}.png").read_bytes() == (b / "depth" / f"{k}.png").read_bytes()


def test_box_distance_matches_brute_force():
    """Exact prism distance agrees with the nearest pair of densely sampled surface points."""
    from scipy.spatial import cKDTree

    from spatialclaw.synth.geometry import box_distance

    def surface(center, size, yaw, step=0.01):
        axes = [np.linspace(-s / 2, s / 2, int(round(s / step)) + 1) for s in size]
        g = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        g = g[np.any(np.isclose(np.abs(g), np.asarray(size) / 2), axis=1)]
        c, s = math.cos(yaw), math.sin(yaw)
        return np.stack([c * g[:, 0] - s * g[:, 1], s * g[:, 0] + c * g[:, 1], g[:, 2]], 1) + center

    rng = np.random.default_rng(5)
    for _ in range(6):
        ca, cb = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
        sa, sb = rng.uniform(0.2, 0.8, 3), rng.uniform(0.2, 0.8, 3)
        ya, yb = rng.uniform(-math.pi, math.pi, 2)
        exact = box_distance(ca, sa, ya, cb, sb, yb)
        brute = cKDTree(surface(ca, sa, ya)).query(surface(cb, sb, yb))[0].min()
        if exact == 0.0:
            assert brute < 0.015
        else:
            assert exact <= brute + 1e-9 and brute - exact < 0.015


def _grid_samples(triangles: np.ndarray, step: float) -> np.ndarray:
    """Points on a barycentric grid over each triangle (T, 3, 3), edges cut into pieces <= ``step`` metres."""
    out = []
    for a, b, c in triangles:
        n = max(1, math.ceil(max(np.linalg.norm(b - a), np.linalg.norm(c - a), np.linalg.norm(c - b)) / step))
        i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = i + j <= n
        u, w = i[keep] / n, j[keep] / n
        out.append(a + u[:, None] * (b - a) + w[:, None] * (c - a))
    return np.concatenate(out)


def _brute_mesh_distance(a, b, step: float = 0.005) -> float:
    """Grid points on each object's mesh triangles (those that can hold the closest point), against the other
    mesh with open3d's point-to-mesh distance: the smaller of the two minima (too large by at most ~``step``)."""
    import open3d as o3d

    meshes = [(np.asarray(o.mesh().vertices), np.asarray(o.mesh().triangles)) for o in (a, b)]
    scenes = []
    for v, t in meshes:
        rc = o3d.t.geometry.RaycastingScene()
        rc.add_triangles(o3d.core.Tensor(v.astype(np.float32)), o3d.core.Tensor(t.astype(np.uint32)))
        scenes.append(rc)

    def to_mesh(k: int, points: np.ndarray) -> np.ndarray:
        return scenes[k].compute_distance(o3d.core.Tensor(points.astype(np.float32))).numpy()

    upper = min(to_mesh(1, meshes[0][0]).min(), to_mesh(0, meshes[1][0]).min())  # from the vertices
    best = np.inf
    for k, (v, t) in enumerate(meshes):
        tri, other = v[t], meshes[1 - k][0]
        gap = np.maximum(np.maximum(other.min(axis=0) - tri.max(axis=1), tri.min(axis=1) - other.max(axis=0)), 0.0)
        points = _grid_samples(tri[np.linalg.norm(gap, axis=1) <= upper + 1e-6], step)
        gap = np.maximum(np.maximum(other.min(axis=0) - points, points - other.max(axis=0)), 0.0)
        best = min(best, float(to_mesh(1 - k, points[np.linalg.norm(gap, axis=1) <= upper + 1e-6]).min()))
    return best


# (seed, label, label): legs under a top (table, chair), a bed, 24-sided cylinders (lamps), a faceted
# sphere (plant) beside boxes and beside a cylinder; first instance of each label
MESH_PAIRS = [(2, "table", "chair"), (1, "bed", "table"), (0, "lamp", "table"), (0, "chair", "plant"), (3, "lamp", "plant")]


@pytest.mark.parametrize("seed,label_a,label_b", MESH_PAIRS)
def test_object_distance_matches_brute_force_on_the_meshes(seed, label_a, label_b):
    """Exact mesh distance: within 1 cm above the nearest pair of densely sampled mesh points, never above it,
    and never below the boxes' distance."""
    from spatialclaw.synth import object_box_distance, object_distance

    scene = generate_scene(seed)
    a = next(o for o in scene.objects if o.label == label_a)
    b = next(o for o in scene.objects if o.label == label_b)
    exact = object_distance(a, b)
    brute = _brute_mesh_distance(a, b)
    assert exact <= brute + 1e-5 and brute - exact < 0.01  # float32 in open3d
    assert exact >= object_box_distance(a, b) - 1e-12
    assert object_distance(b, a) == pytest.approx(exact, abs=1e-12)


def test_object_distance_sees_through_gaps_and_facets():
    """Hand-built cases with known answers: a seat under a table's top, a faceted sphere, a cylinder, contact."""
    from spatialclaw.synth import object_box_distance, object_distance

    def obj(parts, xy=(0.0, 0.0), yaw=0.0):
        return SceneObject(1, "thing", xy, yaw, tuple(parts), (0.5, 0.5, 0.5))

    top = Part("box", (0.0, 0.0, 0.73), (1.2, 0.8, 0.04))
    legs = [Part("box", (sx * 0.52, sy * 0.32, 0.355), (0.06, 0.06, 0.71)) for sx in (-1, 1) for sy in (-1, 1)]
    table = obj([top, *legs])
    seat = obj([Part("box", (0.0, 0.0, 0.225), (0.4, 0.4, 0.45))], xy=(0.0, 0.3))
    assert object_box_distance(table, seat) == 0.0
    assert object_distance(table, seat) == pytest.approx(0.71 - 0.45, abs=1e-9)  # up to the top's underside

    r = 0.3
    ball = obj([Part("sphere", (0.0, 0.0, 1.0), (2 * r, 2 * r, 2 * r))], yaw=math.pi / 24)
    wall = obj([Part("box", (0.0, 0.0, 1.0), (0.1, 2.0, 2.0))], xy=(0.55, 0.0))  # its face at x = 0.5
    # turned by half a facet, the sphere's mesh reaches x = r cos(pi/24) along the equator, not r
    assert object_distance(ball, wall) == pytest.approx(0.5 - r * math.cos(math.pi / 24), abs=1e-9)
    above = obj([Part("box", (0.0, 0.0, 1.5), (0.2, 0.2, 0.2))], xy=(0.0, 0.0))  # underside 0.1 above the pole
    assert object_distance(ball, above) == pytest.approx(0.1, abs=1e-9)

    post = obj([Part("cylinder", (0.0, 0.0, 0.5), (0.2, 0.2, 1.0))], xy=(1.0, 1.0))
    block = obj([Part("box", (0.0, 0.0, 0.5), (0.2, 0.2, 1.0))], xy=(1.3, 1.0))  # face at x = 1.2
    assert object_distance(post, block) == pytest.approx(0.1, abs=1e-9)  # a vertex of the 24-gon at angle 0
    assert object_distance(post, ball) == pytest.approx(math.hypot(1.0, 1.0) - 0.1 - r, abs=0.02)

    touching = obj([Part("sphere", (0.0, 0.0, 1.0), (0.4, 0.4, 0.4))], xy=(0.0, 0.0))
    assert object_distance(ball, touching) == 0.0  # one sphere inside the other: their solids overlap
