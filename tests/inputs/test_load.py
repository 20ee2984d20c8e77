"""Input loading: each input kind, sampling (which source frames, exact times), the frame cache, bad input.

Every video here is written by the test with PyAV; frame i carries its number i in binary as
eight 16×16 white/black blocks, so the tests can tell exactly which source frames came back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from spatialclaw.inputs import video as video_module
from spatialclaw.errors import InputError
from spatialclaw.inputs.frame import Frame, LoadedInput
from spatialclaw.inputs.frame_cache import load_frames, save_frames
from spatialclaw.inputs.load import describe_input, load_input, rate_positions, uniform_positions
from spatialclaw.inputs.rgbd import write_frame, write_intrinsics, write_meta

W, H = 128, 64
X264_SHORT_GOP = {"x264-params": "keyint=8:min-keyint=8:scenecut=0:bframes=2"}


def coded_image(i: int, width: int = W, height: int = H) -> np.ndarray:
    """H×W×3 uint8 RGB carrying ``i`` (0..255) in binary: block b of row 16..32 is white when bit b is set."""
    img = np.full((height, width, 3), 30, np.uint8)
    img[:16, :16] = (255, 0, 0)  # a red marker at the top-left corner, to check orientation
    for b in range(8):
        if (i >> b) & 1:
            img[16:32, b * 16 : (b + 1) * 16] = 255
    return img


def read_code(img: np.ndarray) -> int:
    """The number ``coded_image`` drew into ``img``."""
    return sum(1 << b for b in range(8) if img[16:32, b * 16 : (b + 1) * 16].mean() > 128)


def write_video(path: Path, n: int, *, fps: int = 10, codec: str = "libx264", options: dict | None = None, rotation: int | None = None) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = options or {}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n):
            for packet in stream.encode(av.VideoFrame.from_ndarray(coded_image(i), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def all_frames_pyav(path: Path) -> list[np.ndarray]:
    """Reference: every frame, decoded in one plain sequential pass."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    return {
        "mp4": write_video(root / "clip.mp4", 40, options=X264_SHORT_GOP),
        "mkv": write_video(root / "clip.mkv", 40, options=X264_SHORT_GOP),
        "avi": write_video(root / "clip.avi", 40, codec="mpeg4"),
        "webm": write_video(root / "clip.webm", 40, codec="libvpx-vp9", options={"auto-alt-ref": "1", "lag-in-frames": "16"}),
        "long_gop": write_video(root / "long_gop.mp4", 60, options={"x264-params": "keyint=10:min-keyint=10:scenecut=0:bframes=3"}),
        "rotated": write_video(root / "rotated.mp4", 10, options=X264_SHORT_GOP, rotation=90),
    }


def codes(loaded: LoadedInput) -> list[int]:
    return [read_code(f.image) for f in loaded.frames]


# --------------------------------------------------------------------------- sampling plans


def test_uniform_positions_include_first_and_last_and_never_repeat() -> None:
    assert uniform_positions(40, 5) == [0, 10, 20, 29, 39]
    assert uniform_positions(5, 32) == [0, 1, 2, 3, 4]
    assert uniform_positions(7, None) == list(range(7))
    assert uniform_positions(9, 1) == [0]
    for count in range(1, 60):
        for n in range(1, count + 1):
            plan = uniform_positions(count, n)
            assert len(plan) == n and len(set(plan)) == n and plan == sorted(plan)
            if n > 1:
                assert plan[0] == 0 and plan[-1] == count - 1


def test_rate_positions_pick_nearest_frame_in_time() -> None:
    times = np.arange(40) / 10.0
    assert rate_positions(times, 2.0) == list(range(0, 40, 5))
    assert rate_positions(times, 3.0) == [round(k * 10 / 3) for k in range(12)]
    assert rate_positions(times, 100.0) == list(range(40))  # never more frames than the source has
    assert rate_positions(np.array([0.0]), 5.0) == [0]


# --------------------------------------------------------------------------- videos


@pytest.mark.parametrize("kind", ["mp4", "mkv", "avi", "webm"])
def test_video_uniform_sampling_returns_the_planned_source_frames(videos: dict[str, Path], kind: str) -> None:
    loaded = load_input(videos[kind], frames=5)
    assert loaded.kind == "video" and loaded.paths == [videos[kind]]
    assert loaded.source_frame_count == 40 and loaded.source_fps == pytest.approx(10.0)
    assert [f.index for f in loaded.frames] == [0, 10, 20, 29, 39]
    assert codes(loaded) == [0, 10, 20, 29, 39]
    assert [f.time for f in loaded.frames] == [i / 10 for i in (0, 10, 20, 29, 39)]
    assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in loaded.frames)


def test_video_fps_sampling_indices_and_times(videos: dict[str, Path]) -> None:
    loaded = load_input(videos["mp4"], frames=None, fps=3.0)
    expected = [round(k * 10 / 3) for k in range(12)]
    assert [f.index for f in loaded.frames] == expected
    assert codes(loaded) == expected
    assert [f.time for f in loaded.frames] == [i / 10 for i in expected]
    assert [f.index for f in load_input(videos["mkv"], fps=2.0).frames] == list(range(0, 40, 5))  # default frames gives way


def test_video_never_more_frames_than_source(videos: dict[str, Path]) -> None:
    assert codes(load_input(videos["mp4"], frames=100)) == list(range(40))
    assert codes(load_input(videos["mp4"], frames=None)) == list(range(40))


@pytest.mark.parametrize("seek_gap", [0, 10**9])
def test_seeking_and_skipping_give_the_same_pixels_as_a_full_decode(videos: dict[str, Path], seek_gap: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_module, "SEEK_GAP", seek_gap)
    reference = all_frames_pyav(videos["long_gop"])
    loaded = load_input(videos["long_gop"], frames=4)
    assert [f.index for f in loaded.frames] == [0, 20, 39, 59]
    for f in loaded.frames:
        assert np.array_equal(f.image, reference[f.index])


def test_opencv_fallback_when_pyav_cannot_open(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise av.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(av, "open", refuse)
    loaded = load_input(videos["mp4"], frames=5)
    assert codes(loaded) == [0, 10, 20, 29, 39]
    assert [f.time for f in loaded.frames] == [i / 10 for i in (0, 10, 20, 29, 39)]


def test_rotation_metadata_turns_frames_upright(videos: dict[str, Path]) -> None:
    frame = load_input(videos["rotated"], frames=1).frames[0]
    assert frame.image.shape == (W, H, 3)  # 90° counter-clockwise: the 128×64 picture stands up
    red = frame.image[..., 0].astype(int) - frame.image[..., 2].astype(int) > 150
    rows, cols = np.nonzero(red)
    assert rows.min() >= W - 16 and cols.max() < 16  # the top-left marker is now bottom-left, as players show it


def test_truncated_video_with_an_index_at_the_end_is_not_decodable(videos: dict[str, Path], tmp_path: Path) -> None:
    data = videos["mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.mp4 has no decodable video frames.*re-export or re-download"):
        load_input(cut)


def test_truncated_streamable_video_samples_what_decodes(videos: dict[str, Path], tmp_path: Path) -> None:
    data = videos["mkv"].read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    loaded = load_input(cut, frames=4)
    got = codes(loaded)
    assert got == [f.index for f in loaded.frames]
    assert got[0] == 0 and 5 < got[-1] < 39 and got == sorted(set(got))


# --------------------------------------------------------------------------- the cache


def test_second_load_reads_the_cache_without_decoding(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_input(videos["mp4"], frames=6)
    assert first.frames_file is not None and first.frames_file.is_file()
    assert first.frames_file.parent == Path(os.environ["SPATIALCLAW_CACHE"]) / "frames"

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the video was opened although the cache holds it")

    monkeypatch.setattr(av, "open", no_decoding)
    monkeypatch.setattr(cv2, "VideoCapture", no_decoding)
    second = load_input(videos["mp4"], frames=6)
    assert second.frames_file == first.frames_file
    assert (second.source_fps, second.source_frame_count) == (first.source_fps, first.source_frame_count)
    assert [(f.index, f.time) for f in second.frames] == [(f.index, f.time) for f in first.frames]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first.frames, second.frames))
    with pytest.raises(AssertionError, match="cache holds it"):
        load_input(videos["mp4"], frames=7)  # other sampling parameters: another entry


def test_changed_file_misses_the_cache(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 12)
    first = load_input(path, frames=3)
    write_video(path, 20)
    second = load_input(path, frames=3)
    assert second.frames_file != first.frames_file
    assert codes(second) == [0, 10, 19]


def test_cache_writes_leave_no_temporary_files(videos: dict[str, Path]) -> None:
    loaded = load_input(videos["avi"], frames=3)
    assert [p.name for p in loaded.frames_file.parent.iterdir()] == [loaded.frames_file.name]


def test_damaged_cache_entry_is_rebuilt(videos: dict[str, Path]) -> None:
    first = load_input(videos["mp4"], frames=3)
    first.frames_file.write_bytes(b"not a zip")
    again = load_input(videos["mp4"], frames=3)
    assert codes(again) == [0, 20, 39]
    assert load_frames(again.frames_file)[2].index == 39


def test_save_and_load_frames_round_trip_mixed_sizes(tmp_path: Path) -> None:
    frames = [Frame(3, 0.5, coded_image(3, 64, 32)), Frame(9, 1.25, coded_image(9, 96, 48)), Frame(11, 2.0, coded_image(11))]
    path = tmp_path / "f.npz"
    save_frames(path, frames)
    back = load_frames(path)
    assert [(f.index, f.time, f.image.shape) for f in back] == [(3, 0.5, (32, 64, 3)), (9, 1.25, (48, 96, 3)), (11, 2.0, (H, W, 3))]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, back))
    save_frames(path, [])
    assert load_frames(path) == []


def test_load_frames_reads_a_compressed_npz_too(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    image = coded_image(5)
    np.savez_compressed(path, index=np.array([5]), time=np.array([0.5]), shape=np.array([[H, W]]), pixels=image.reshape(-1))
    (frame,) = load_frames(path)
    assert (frame.index, frame.time) == (5, 0.5) and np.array_equal(frame.image, image)


def test_load_frames_needs_only_numpy(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    save_frames(path, [Frame(4, 0.4, coded_image(4))])
    script = (
        "import sys; from spatialclaw.inputs.frame_cache import load_frames; "
        f"frames = load_frames({str(path)!r}); "
        "heavy = [m for m in ('cv2', 'av', 'PIL', 'rich', 'torch', 'open3d') if m in sys.modules]; "
        "print(frames[0].index, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "4 []"


# --------------------------------------------------------------------------- images and RGB-D folders


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "shots"
    folder.mkdir()
    sizes = {"10.png": (160, 80), "2.png": (128, 64), "1.png": (144, 96)}
    for name, (w, h) in sizes.items():
        cv2.imwrite(str(folder / name), cv2.cvtColor(coded_image(int(name.split(".")[0]), w, h), cv2.COLOR_RGB2BGR))
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    return folder


def test_image_folder_in_natural_order_sizes_kept(image_folder: Path) -> None:
    loaded = load_input(image_folder)
    assert loaded.kind == "images" and loaded.source_fps is None and loaded.source_frame_count == 3
    assert [p.name for p in loaded.paths] == ["1.png", "2.png", "10.png"]
    assert codes(loaded) == [1, 2, 10]
    assert [(f.index, f.time) for f in loaded.frames] == [(0, 0.0), (1, 1.0), (2, 2.0)]
    assert [f.image.shape for f in loaded.frames] == [(96, 144, 3), (64, 128, 3), (80, 160, 3)]
    assert codes(load_input(image_folder, frames=2)) == [1, 10]
    assert codes(LoadedInput("images", [], load_frames(loaded.frames_file), None, None, 0)) == [1, 2, 10]


def test_one_image_and_several_images(image_folder: Path) -> None:
    one = load_input(image_folder / "2.png")
    assert one.kind == "images" and codes(one) == [2] and one.frames[0].index == 0
    several = load_input([str(image_folder / "10.png"), image_folder / "1.png"])
    assert codes(several) == [10, 1]  # the order given is kept


@pytest.fixture
def rgbd_folder(tmp_path: Path) -> Path:
    root = tmp_path / "scene0000_00"
    for i in range(0, 60, 10):
        pose = np.eye(4)
        pose[0, 3] = i / 100
        write_frame(root, i, coded_image(i), depth_m=np.full((H, W), 1.5), pose=pose)
    write_intrinsics(root, np.array([[100.0, 0, W / 2], [0, 100.0, H / 2], [0, 0, 1]]))
    write_meta(root, fps=30.0)
    return root


def test_rgbd_folder_frames_keep_their_numbers_and_times(rgbd_folder: Path) -> None:
    loaded = load_input(rgbd_folder, frames=3)
    assert loaded.kind == "rgbd" and loaded.paths == [rgbd_folder]
    assert loaded.rgbd is not None and loaded.rgbd.has_depth and loaded.rgbd.has_pose
    assert loaded.source_fps == 30.0 and loaded.source_frame_count == 6
    assert [f.index for f in loaded.frames] == [0, 30, 50]
    assert codes(loaded) == [0, 30, 50]
    assert [f.time for f in loaded.frames] == [0.0, 1.0, 50 / 30]
    by_rate = load_input(rgbd_folder, frames=None, fps=1.5)
    assert [f.index for f in by_rate.frames] == [0, 20, 40]


# --------------------------------------------------------------------------- describe_input


def test_describe_each_kind(videos: dict[str, Path], image_folder: Path, rgbd_folder: Path) -> None:
    v = describe_input(videos["mkv"])
    assert (v["kind"], v["frames"], v["resolution"], v["fps"], v["duration_s"]) == ("video", 40, "128x64", 10.0, 4.0)
    assert describe_input(videos["rotated"])["resolution"] == "64x128"
    images = describe_input(image_folder)
    assert (images["kind"], images["frames"], images["width"], images["height"]) == ("images", 3, 144, 96)
    assert images["resolution"] == "mixed: 3 sizes from 128x64 to 160x80"
    rgbd = describe_input(rgbd_folder)
    assert (rgbd["kind"], rgbd["frames"], rgbd["fps"], rgbd["duration_s"]) == ("rgbd", 6, 30.0, pytest.approx(51 / 30))
    assert rgbd["has_depth"] and rgbd["has_pose"] and rgbd["has_intrinsics"] and not rgbd["has_instances"]
    assert describe_input(None)["kind"] == "none"


def test_no_input_is_valid() -> None:
    loaded = load_input(None)
    assert (loaded.kind, loaded.frames, loaded.frames_file, loaded.source_frame_count) == ("none", [], None, 0)


def test_progress_bar_does_not_change_results(videos: dict[str, Path]) -> None:
    assert codes(load_input(videos["mkv"], frames=3, progress=True)) == [0, 20, 39]


# --------------------------------------------------------------------------- bad input


def _bad(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bad_inputs_give_one_line_errors(tmp_path: Path, videos: dict[str, Path], image_folder: Path, rgbd_folder: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    only_video = tmp_path / "only_video"
    only_video.mkdir()
    (only_video / "a.mp4").write_bytes(videos["mp4"].read_bytes())
    depth_only = tmp_path / "depth_only"
    (depth_only / "depth").mkdir(parents=True)
    bad_meta = tmp_path / "bad_meta"
    write_frame(bad_meta, 0, coded_image(0))
    (bad_meta / "meta.json").write_text("{fps: 30")
    zero_fps = tmp_path / "zero_fps"
    write_frame(zero_fps, 0, coded_image(0))
    write_meta(zero_fps, fps=0.0)
    (rgbd_folder / "depth" / "30.png").unlink()
    cases = [
        (lambda: load_input(tmp_path / "nope.mp4"), r"nope\.mp4 does not exist: check the path"),
        (lambda: load_input(_bad(tmp_path, "notes.txt", b"hello")), r"notes\.txt is not a video or an image .*pass a video"),
        (lambda: load_input(empty), r"empty holds no images .*put images in it"),
        (lambda: load_input(only_video), r"holds no images but 1 video\(s\), e\.g\. a\.mp4: pass one video file instead"),
        (lambda: load_input(_bad(tmp_path, "noise.mp4", os.urandom(4096))), r"noise\.mp4 has no decodable video frames"),
        (lambda: load_input(_bad(tmp_path, "empty.mov", b"")), r"empty\.mov has no decodable video frames"),
        (lambda: load_input(_bad(tmp_path, "broken.jpg", b"\xff\xd8junk")), r"cannot decode the image .*broken\.jpg.*replace or remove it"),
        (lambda: load_input(rgbd_folder), r"partial RGB-D folder: depth/<i>\.png is missing for 1 of 6 frames \(first: 30\)"),
        (lambda: load_input(depth_only), r"depth_only has no color/<i>\.jpg frames"),
        (lambda: load_input(bad_meta), r"meta\.json is not JSON with a number \"fps\": fix it"),
        (lambda: load_input(zero_fps), r"meta\.json gives fps=0\.0: the frame rate must be a positive number"),
        (lambda: load_input([image_folder / "1.png", tmp_path / "gone.mp4"]), r"gone\.mp4 does not exist: check the path"),
        (lambda: load_input([]), r"empty list of inputs"),
        (lambda: load_input(videos["mp4"], frames=0), r"frames=0 is not a positive whole number"),
        (lambda: load_input(videos["mp4"], frames=-3), r"frames=-3 is not a positive whole number"),
        (lambda: load_input(videos["mp4"], frames=None, fps=0), r"fps=0 is not a positive number"),
        (lambda: load_input(videos["mp4"], frames=None, fps=float("nan")), r"fps=nan is not a positive number"),
        (lambda: load_input(videos["mp4"], frames=8, fps=2.0), r"both frames=8 and fps=2\.0 given: .*not both"),
        (lambda: load_input(image_folder, fps=1.0), r"fps sampling needs a video or an RGB-D folder"),
    ]
    for call, pattern in cases:
        with pytest.raises(InputError, match=pattern) as err:
            call()
        assert "\n" not in str(err.value)
