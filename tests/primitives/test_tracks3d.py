"""`tracks3d` with ground-truth perception on a rendered room whose objects move, and the time helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # renders a room, runs the trackers


@pytest.fixture(scope="module")
def moving_room(tmp_path_factory: pytest.TempPathFactory):
    from spatialclaw.synth import make_test_scene

    root = tmp_path_factory.mktemp("room")
    folder = make_test_scene(root, seed=2, frames=16, width=240, height=180, moving=2)
    return folder, json.loads((folder / "scene.json").read_text())


@pytest.fixture
def kernel(moving_room, tmp_path):
    from spatialclaw import primitives
    from spatialclaw.inputs.load import load_input
    from spatialclaw.primitives.context import KernelContext

    folder, truth = moving_room
    frames = load_input(folder, frames=None, cache_dir=tmp_path).frames
    namespace: dict = {}
    context = KernelContext(frames=frames, source_kind="rgbd", source_path=folder, perception="gt", cache_dir=tmp_path)
    primitives.install(namespace, context)
    namespace["_spatialclaw_context"] = context  # as the kernel's bootstrap keeps it
    return namespace, frames, truth


def test_tracks_follow_moving_objects_and_keep_static_ones_still(kernel) -> None:
    ns, frames, truth = kernel
    movers = {m["id"]: m for m in truth["motions"]}
    for m in truth["motions"]:
        tracks = ns["tracks3d"](m["label"])
        track = next(t for t in tracks if t.instance_id == m["id"])
        assert track.moved and len(track) >= 2
        assert track.times.tolist() == [frames[i].time for i in track.frame_ids]
        true = np.array(m["positions"])[track.frame_ids]
        relative = (track.positions - track.positions[0]) - (true - true[0])
        assert np.abs(relative[:, :2]).max() < 0.03
        expected = m["speed"] * (track.times[-1] - track.times[0])
        assert track.distance_travelled() == pytest.approx(expected, abs=0.05)
        assert track.speed() == pytest.approx(m["speed"], abs=0.01)
        for other in tracks:
            if other.instance_id not in movers:
                assert not other.moved and other.distance_travelled() < 0.05
    assert ns["tracks3d"](truth["motions"][0]["label"])[0].positions.flags.writeable is False  # cached results are shared


def test_show_draws_a_track_over_the_room(kernel) -> None:
    from spatialclaw.primitives.output import in_context

    ns, _, truth = kernel
    track = ns["tracks3d"](truth["motions"][0]["label"])[0]
    shown = in_context(track, ns["_spatialclaw_context"])
    assert np.array_equal(shown, track.render(recon=ns["reconstruct"]()))
    assert not np.array_equal(shown, track.render())  # alone: the path without the room


def test_objects_named_by_a_query_that_matches_nothing(kernel) -> None:
    ns, _, _ = kernel
    with pytest.warns(UserWarning, match="no such object"):
        assert ns["tracks3d"]("giraffe") == []
    with pytest.raises(ValueError, match="non-empty"):
        ns["tracks3d"]("  ")


def test_frame_at_and_camera_motion_between_times(kernel) -> None:
    ns, frames, _ = kernel
    assert ns["frame_at"](frames[5].time + 0.01) == 5
    assert ns["frame_at"](-3.0) == 0 and ns["frame_at"](1e6) == len(frames) - 1
    by_frames = ns["camera_motion"](2, 7)
    by_times = ns["camera_motion"](t0=frames[2].time, t1=frames[7].time)
    assert by_times == by_frames
    halfway = ns["camera_motion"](t0=frames[2].time, t1=(frames[2].time + frames[3].time) / 2)
    whole = ns["camera_motion"](2, 3)
    assert halfway["distance_m"] == pytest.approx(whole["distance_m"] / 2, rel=0.01)
    with pytest.raises(ValueError, match="two frames"):
        ns["camera_motion"](2, t1=3.0)
    with pytest.raises(ValueError, match="seconds"):
        ns["frame_at"]("soon")


def test_objects3d_reports_a_moving_object_where_it_was_first_seen(kernel) -> None:
    ns, frames, truth = kernel
    movers = {m["id"]: m for m in truth["motions"]}
    labels = sorted({m["label"] for m in truth["motions"]} | {o["label"] for o in truth["objects"]})
    for obj in ns["objects3d"](", ".join(labels)):
        if obj.instance_id in movers:
            first = np.array(movers[obj.instance_id]["positions"][obj.first_frame])
            assert obj.notes and "moves during the video" in obj.notes[0]
            assert np.linalg.norm(obj.center[:2] - first[:2]) < 0.1  # not a box smeared along the path
        else:
            assert obj.notes == [], obj
