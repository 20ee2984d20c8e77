"""Synthetic indoor scenes with exact ground truth, rendered with open3d ``RaycastingScene`` (no GL).

The project's one renderer: tests, benchmarks and ``spatialclaw synth`` all use it.

World frame: metric, +z up, floor at z = 0; a room spans ``[0, W] × [0, D] × [0, H]``.
Cameras: 4×4 camera-to-world poses, camera x right, y down, z forward; OpenCV pixel
convention (``K @ [X/Z, Y/Z, 1] = [u, v, 1]`` at pixel centres).

Public API::

    generate_scene(seed, name=None) -> Scene
        A 4–8 m × 3–7 m room (walls 2.6–3 m) with sofa/bed/table/chairs/tv/cabinet/bookshelf/
        lamp/plant/trash can objects that do not overlap; each ``SceneObject`` has ``id``
        (>= 1), ``label``, ``center`` (3,) m, ``size`` (3,) m (own x, y, z), ``yaw`` rad,
        ``contains(points)``, ``mesh()``. ``scene.path`` is the camera's walk.
    render_scene(scene, n_frames=32, width=640, height=480, *, hfov_deg=65, fps=None, on_frame=None) -> Rendering
        ``Rendering.rgb`` (N,H,W,3) uint8, ``.depth`` (N,H,W) float32 z-depth m, ``.instance``
        (N,H,W) uint16 (0 = room), ``.poses`` (N,4,4), ``.K`` (3,3), ``.fps``;
        ``.first_visible(min_pixels)``. ``Renderer(scene, w, h).render(pose)`` renders any view.
    write_rgbd(scene, rendering, out_dir) -> Path
        ScanNet layout via ``spatialclaw.inputs.rgbd`` + ``instance_labels.json``, ``meta.json`` (fps)
        and ``scene.json`` (room size, objects' boxes, camera path).
    write_video(rendering, path, fps=None) -> Path
        H.264 mp4 (PyAV).
    make_questions(scene, rendering, *, dataset="synth", start_id=0, max_per_type=2, min_pixels=None) -> list[dict]
        VSI-Bench records ``{id, dataset, scene_name, question_type, question, options,
        ground_truth}`` of all eight task types (``QUESTION_TYPES``), answers exact from the
        geometry; only objects seen in the rendering, single-object questions only for labels
        that occur once (rules in ``spatialclaw.synth.questions``).
    with_motion(scene, k, n_frames) -> Scene
        ``scene`` with up to k objects sliding on straight constant-speed paths (``scene.motions``,
        :mod:`spatialclaw.synth.motion`); the renderer places them per frame, ``scene.json``
        gets their exact per-frame centres, and the motion questions
        (``MOTION_QUESTION_TYPES``, :mod:`spatialclaw.synth.motion_questions`) are added.
    make_benchmark(out_dir, scenes=10, seed=0, frames=32, width=640, height=480, *, moving=0, on_frame=None) -> Path
        What ``spatialclaw synth`` runs: ``OUT/synth/<scene>/`` + ``OUT/synth/<scene>.mp4`` per
        room and ``OUT/questions.jsonl`` (returned). Same arguments, same bytes.
    make_test_scene(tmp_dir, seed=0, frames=16, width=320, height=240) -> Path
        For other tests: writes ``tmp_dir/synth/synth_<seed>/`` (RGB-D folder, returned) and
        ``tmp_dir/synth/synth_<seed>.mp4`` beside it; ~1–2 s plus open3d's import.
    object_distance(a, b) -> float
        Exact closest-point distance (m) between two objects' meshes (what distance questions
        ask); ``object_box_distance(a, b)``: between their oriented boxes (a lower bound).

Heavy imports (open3d, av, cv2) happen inside the functions that need them.
"""

from spatialclaw.synth.benchmark import DATASET, make_benchmark, make_test_scene
from spatialclaw.synth.motion import ObjectMotion, with_motion
from spatialclaw.synth.motion_questions import MOTION_QUESTION_TYPES
from spatialclaw.synth.questions import make_questions
from spatialclaw.tasks import QUESTION_TYPES
from spatialclaw.synth.render import Renderer, Rendering, intrinsics, render_scene
from spatialclaw.synth.scene import CameraPath, Scene, SceneObject, generate_scene, look_pose, object_box_distance, object_distance
from spatialclaw.synth.write import write_rgbd, write_video

__all__ = [
    "DATASET",
    "MOTION_QUESTION_TYPES",
    "ObjectMotion",
    "QUESTION_TYPES",
    "CameraPath",
    "Renderer",
    "Rendering",
    "Scene",
    "SceneObject",
    "generate_scene",
    "intrinsics",
    "look_pose",
    "make_benchmark",
    "make_questions",
    "make_test_scene",
    "object_box_distance",
    "object_distance",
    "render_scene",
    "write_rgbd",
    "with_motion",
    "write_video",
]
