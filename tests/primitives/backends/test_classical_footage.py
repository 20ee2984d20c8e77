"""The classical backend on inputs nobody here made: degenerate footage is refused or flagged, quietly.

Real footage comes from Debian packages (``opencv-doc``: ``box.mp4``, a box waved before an
almost still camera); the tests skip, saying which package to install, when it is absent. The
photo pan and the slideshow are built from scikit-image's photos. A good synthetic walk must
raise nothing (a gate that flags good reconstructions is as bad as none).
"""

from __future__ import annotations

import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from spatialclaw.errors import PerceptionError
from spatialclaw.inputs.frame import Frame
from spatialclaw.primitives import cache, perception
from spatialclaw.primitives.backends.classical import parallax, quality_report
from spatialclaw.primitives.context import KernelContext

BOX_VIDEO = Path("/usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz")
SIZE = (320, 240)


def _resized(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)


def photo_pan(n: int = 12) -> list[np.ndarray]:
    """A pan and zoom over one real photo (scikit-image's astronaut): no parallax anywhere."""
    import cv2
    from skimage import data

    photo = data.astronaut()
    frames = []
    for t in np.linspace(0.0, 1.0, n):
        zoom = 1.0 + 0.6 * t
        cx, cy, w, h = 180 + 150 * t, 200 + 60 * t, 384 / zoom, 288 / zoom
        src = np.float32([[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx - w / 2, cy + h / 2]])
        dst = np.float32([[0, 0], [SIZE[0], 0], [0, SIZE[1]]])
        frames.append(cv2.warpAffine(photo, cv2.getAffineTransform(src, dst), SIZE, borderMode=cv2.BORDER_REFLECT))
    return frames


def slideshow() -> list[np.ndarray]:
    """Unrelated real photos, one after the other."""
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), np.dstack([data.camera()] * 3), data.immunohistochemistry()]
    return [_resized(np.ascontiguousarray(p[..., :3])) for p in photos]


def _context(images: list[np.ndarray], cache_dir: Path, fps: float = 10.0) -> KernelContext:
    frames = [Frame(i, i / fps, im) for i, im in enumerate(images)]
    return KernelContext(frames=frames, source_kind="video", perception="reconstruction=classical", cache_dir=cache_dir)


def _refused_quietly_and_cached(context: KernelContext, capfd: pytest.CaptureFixture[str], match: str) -> str:
    capfd.readouterr()
    with pytest.raises(PerceptionError, match=match) as first:
        perception.run_reconstruction(None, context)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # no COLMAP, OpenCV or ffmpeg lines
    message = str(first.value)
    assert "\n" not in message
    cache.forget(context)
    start = time.perf_counter()
    with pytest.raises(PerceptionError) as again:
        perception.run_reconstruction(None, context)
    assert time.perf_counter() - start < 1.0 and str(again.value) == message
    return message


def test_a_pan_over_a_photo_is_refused(tmp_path, capfd):
    message = _refused_quietly_and_cached(_context(photo_pan(), tmp_path), capfd, "flat image transform")
    assert "moves through the scene" in message


def test_a_slideshow_is_refused(tmp_path, capfd):
    _refused_quietly_and_cached(_context(slideshow(), tmp_path, fps=0.5), capfd, "share almost no image features")


def test_a_good_synthetic_walk_passes_the_image_motion_gates():
    from spatialclaw.synth import generate_scene, render_scene

    rendering = render_scene(generate_scene(0), 16, *SIZE)
    motion = parallax.measure(list(rendering.rgb))
    assert np.nanmax(motion.parallax[motion.epipolar >= 30]) > 0.3  # measured 0.41
    assert quality_report.motion_check(motion) == []


@pytest.fixture(scope="module")
def box_frames(tmp_path_factory) -> list[Frame]:
    if not BOX_VIDEO.is_file():
        pytest.skip(f"{BOX_VIDEO} is missing: apt-get install opencv-doc for the real-footage tests")
    from spatialclaw.inputs.load import load_input

    video = tmp_path_factory.mktemp("box") / "box.mp4"
    with gzip.open(BOX_VIDEO) as src, open(video, "wb") as dst:
        shutil.copyfileobj(src, dst)
    loaded = load_input(video, frames=16, cache_dir=tmp_path_factory.mktemp("frames"))
    return [Frame(f.index, f.time, _resized(f.image)) for f in loaded.frames]


@pytest.mark.slow
def test_an_almost_still_camera_is_flagged_or_refused(box_frames, tmp_path, capfd):
    context = _context([f.image for f in box_frames], tmp_path)
    context.frames = box_frames  # the video's own frame times
    capfd.readouterr()
    try:
        r = perception.run_reconstruction(None, context)
    except PerceptionError as err:  # other samplings: 3 of 16 registered, or a 5° field of view
        assert "\n" not in str(err) and "registered" in str(err) or "focal length" in str(err)
    else:  # measured: 16/16, the focal length assumed, no floor; at 640×480: floor weak, cameras below it, 7 m/s
        assert not r.quality.ok and r.quality.scale_source == "unknown"
    out, err = capfd.readouterr()
    assert "glog" not in err and "h264" not in err and "Traceback" not in out + err


def test_a_camera_turning_in_place_is_refused():
    """A camera that only turns (a tripod pan) sees no parallax, however textured the room."""
    from scipy.spatial.transform import Rotation

    from spatialclaw.synth import Renderer, generate_scene, render_scene

    scene = generate_scene(0)
    start = render_scene(scene, 2, *SIZE).poses[0]
    renderer = Renderer(scene, *SIZE)
    images = []
    for angle in np.linspace(0.0, 50.0, 10):  # turn about the camera's own vertical axis
        pose = start.copy()
        pose[:3, :3] = start[:3, :3] @ Rotation.from_euler("y", angle, degrees=True).as_matrix()
        images.append(renderer.render(pose)[0])
    with pytest.raises(PerceptionError, match="flat image transform"):
        quality_report.motion_check(parallax.measure(images))


def test_frames_without_texture_are_refused():
    rng = np.random.default_rng(0)
    blank = [np.clip(128 + rng.normal(0, 1.0, (SIZE[1], SIZE[0], 3)), 0, 255).astype(np.uint8) for _ in range(8)]
    with pytest.raises(PerceptionError, match="without texture"):
        quality_report.motion_check(parallax.measure(blank))
