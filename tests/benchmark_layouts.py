"""Writers of tiny benchmark folders in each benchmark's released layout (file names, column names
and types, media encoding), for the tests of `spatialclaw.eval.benchmarks`.

Every writer returns a `Layout`: the folder, and what loading it must give (ids, ground-truth
targets, tasks, number of inputs per question) plus one correct prediction per question. Images
are PNGs of one grey level; videos are tiny H.264 mp4s written with PyAV, also of one grey level,
so a scripted policy can tell inputs apart by brightness.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
"""A Hugging Face ``Image`` feature as stored in parquet."""


@dataclass
class Layout:
    """A written benchmark folder and what it must load as."""

    root: Path
    ids: list[str]
    targets: dict[str, Any]
    tasks: dict[str, str]
    n_inputs: dict[str, int]
    correct: dict[str, Any]
    wrong: dict[str, Any] = field(default_factory=dict)


def png(level: int, size: tuple[int, int] = (24, 16)) -> bytes:
    """PNG bytes of a W×H image of one grey level."""
    buf = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), level, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def mp4(path: Path, level: int, n: int = 4, fps: int = 2) -> Path:
    """A tiny H.264 video of ``n`` frames of one grey level."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), level, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def mp4_bytes(tmp: Path, level: int) -> bytes:
    return mp4(tmp / f"_v{level}.mp4", level).read_bytes()


def write_parquet(path: Path, columns: dict[str, list[Any]], types: dict[str, pa.DataType] | None = None) -> Path:
    """A parquet file with these columns (types inferred unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    types = types or {}
    arrays = {k: pa.array(v, type=types.get(k)) for k, v in columns.items()}
    pq.write_table(pa.table(arrays), path)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def hf_image(level: int) -> dict[str, Any]:
    return {"bytes": png(level), "path": None}


# ----------------------------------------------------------------------------- single image


def erqa(root: Path) -> Layout:
    q = ["Which is nearer? A. cup B. plate C. bowl D. fork", "Where is the arm? A. up B. down"]
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "question": q, "question_type": ["Spatial", "Trajectory"], "answer": ["C", "A"],
        "images": [[hf_image(10)], [hf_image(20), hf_image(30)]], "question_id": ["erqa_0", "erqa_1"],
    }, {"images": pa.list_(IMAGE)})
    return Layout(root, ["erqa_0", "erqa_1"], {"erqa_0": "C", "erqa_1": "A"}, {"erqa_0": "Spatial", "erqa_1": "Trajectory"},
                  {"erqa_0": 1, "erqa_1": 2}, {"erqa_0": "C", "erqa_1": "A. up"}, {"erqa_0": "B", "erqa_1": "nothing"})


def omnispatial(root: Path) -> Layout:
    rows = [
        {"id": "15_1", "question": "Which way?", "options": ["left", "right", "up", "down"], "answer": 1,
         "task_type": "Complex_Logic", "sub_task_type": "Pattern_Recognition"},
        {"id": "15_1", "question": "Who is closer?", "options": ["he", "she", "it", "they"], "answer": 3,
         "task_type": "Perspective_Taking", "sub_task_type": "Egocentric"},
    ]
    write_zip(root / "OmniSpatial-test.zip", {
        "OmniSpatial-test/data.json": json.dumps(rows).encode(),
        "OmniSpatial-test/Complex_Logic/15.png": png(40), "OmniSpatial-test/Perspective_Taking/15.png": png(50),
    })
    ids = ["Complex_Logic/15_1", "Perspective_Taking/15_1"]
    return Layout(root, ids, dict(zip(ids, ["B", "D"])), dict(zip(ids, ["Complex_Logic", "Perspective_Taking"])),
                  dict.fromkeys(ids, 1), dict(zip(ids, ["B", "they"])), dict(zip(ids, ["A", "A"])))


# ----------------------------------------------------------------------------- multi-view


def mindcube(root: Path) -> Layout:
    rows = [
        {"id": "among_group3_q1", "category": ["among"], "type": "among", "question": "From view 2, what is left? A. sofa B. lamp",
         "gt_answer": "A", "images": ["other_all_image/among/group3/1.png", "other_all_image/among/group3/2.png"]},
        {"id": "rotation_x_q2", "category": ["rotation"], "type": "rotation", "question": "After turning, what is ahead? A. door B. desk C. bed",
         "gt_answer": "C", "images": ["other_all_image/rotation/x/1.png"]},
        {"id": "translation_y_q3", "category": ["translation"], "type": "translation", "question": "Moving forward? A. yes B. no",
         "gt_answer": "B", "images": ["other_all_image/translation/y/1.png"]},
    ]
    members = {"data/raw/MindCube_tinybench.jsonl": "".join(json.dumps(r) + "\n" for r in rows).encode()}
    for k, r in enumerate(rows):
        for j, rel in enumerate(r["images"]):
            members[f"data/{rel}"] = png(60 + 10 * k + j)
    write_zip(root / "data.zip", members)
    ids = [r["id"] for r in rows]
    return Layout(root, ids, dict(zip(ids, ["A", "C", "B"])), dict(zip(ids, ["among", "rotation", "translation"])),
                  dict(zip(ids, [2, 1, 1])), dict(zip(ids, ["A", "C", "B"])), dict(zip(ids, ["B", "A", "A"])))


def mmsi_bench(root: Path) -> Layout:
    """Two questions whose answer is the brighter image (A: first, B: second), one whose answer is not."""
    write_parquet(root / "MMSI_Bench.parquet", {
        "id": [0, 1, 2], "images": [[png(200), png(30)], [png(30), png(220)], [png(40), png(230), png(90)]],
        "question_type": ["Positional Relationship (Cam.-Obj.)", "Motion (Cam.)", "MSR"],
        "question": ["Which image is brighter? Options: A: the first, B: the second",
                     "Which image is brighter? Options: A: the first, B: the second",
                     "Which image is brightest? Options: A: the first, B: the second, C: the third"],
        "answer": ["A", "B", "C"], "thought": ["", "", ""],
    }, {"images": pa.list_(pa.binary())})
    ids = ["0", "1", "2"]
    return Layout(root, ids, dict(zip(ids, ["A", "B", "C"])),
                  dict(zip(ids, ["Positional Relationship (Cam.–Obj.)", "Motion (Cam.)", "MSR"])),
                  dict(zip(ids, [2, 2, 3])), dict(zip(ids, ["A", "B", "C"])), dict(zip(ids, ["B", "A", "A"])))


def spar_bench(root: Path) -> Layout:
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "id": ["s0", "s1", "s2"], "image": [[hf_image(70)], [hf_image(80), hf_image(90)], [hf_image(100), hf_image(110)]],
        "question": ["How far is the cup from the camera (m)?", "Which is left? A. cup B. box", "How did the camera move?"],
        "answer": ["2.0", "B", "move_right:1.0,rotate_left:30"],
        "task": ["depth_prediction_oc", "obj_spatial_relation_oo_mv", "view_change_infer"],
    }, {"image": pa.list_(IMAGE)})
    ids = ["s0", "s1", "s2"]
    return Layout(root, ids, dict(zip(ids, [2.0, "B", "move_right:1.0,rotate_left:30"])),
                  dict(zip(ids, ["depth_prediction_oc", "obj_spatial_relation_oo_mv", "view_change_infer"])),
                  dict(zip(ids, [1, 2, 2])), dict(zip(ids, [2.0, "B", "move_right:1.0,rotate_left:30"])),
                  dict(zip(ids, ["ten", "A", "stay"])))


def blink(root: Path) -> Layout:
    def table(subset: str, n: int, answers: list[str], levels: list[int]) -> None:
        write_parquet(root / subset / "val-00000-of-00001.parquet", {
            "idx": [f"val_{subset}_{k + 1}" for k in range(n)], "question": ["Which point is closer?"] * n,
            "sub_task": [subset.replace("_", " ")] * n,
            "image_1": [hf_image(level) for level in levels], "image_2": [hf_image(level + 5) if subset == "Multi-view_Reasoning" else None for level in levels],
            "image_3": [None] * n, "image_4": [None] * n,
            "choices": [["A", "B"]] * n, "answer": answers, "prompt": ["Which point is closer?\nSelect from the following choices.\n(A) A\n(B) B"] * n,
            "explanation": [""] * n,
        }, {f"image_{k}": IMAGE for k in range(1, 5)})
    table("Relative_Depth", 2, ["(A)", "(B)"], [10, 20])
    table("Multi-view_Reasoning", 1, ["(B)"], [30])
    table("Art_Style", 1, ["(A)"], [40])  # not a spatial subset: left out
    ids = ["val_Multi-view_Reasoning_1", "val_Relative_Depth_1", "val_Relative_Depth_2"]  # subsets in name order
    return Layout(root, ids, dict(zip(ids, ["B", "A", "B"])), dict(zip(ids, ["Multi-view Reasoning", "Relative Depth", "Relative Depth"])),
                  dict(zip(ids, [2, 1, 1])), dict(zip(ids, ["B", "(A)", "B"])), dict(zip(ids, ["A", "B", "A"])))


def viewspatial(root: Path) -> Layout:
    rows = [
        {"question_type": "Camera perspective - Relative Direction", "image_path": ["ViewSpatial-Bench/scannetv2_val/scene0011_00/original_images/10.jpg"],
         "question": "Where is the chair relative to the table?", "answer": "B. right", "choices": "A. left\nB. right\nC. front\nD. back"},
        {"question_type": "Person perspective - Relative Direction", "image_path": ["ViewSpatial-Bench/val2017/000000000139.jpg"],
         "question": "From the man's view, where is the dog?", "answer": "A. left", "choices": "A. left\nB. right"},
    ]
    (root).mkdir(parents=True, exist_ok=True)
    (root / "ViewSpatial-Bench.json").write_text(json.dumps(rows))
    write_zip(root / "scannetv2_val.zip", {"scannetv2_val/scene0011_00/original_images/10.jpg": png(120)})
    write_zip(root / "val2017.zip", {"val2017/000000000139.jpg": png(130)})
    ids = ["0", "1"]
    return Layout(root, ids, {"0": "B", "1": "A"}, dict(zip(ids, [r["question_type"] for r in rows])), dict.fromkeys(ids, 1),
                  {"0": "B", "1": "left"}, {"0": "A", "1": "B"})


# ----------------------------------------------------------------------------- video


def osi_bench(root: Path) -> Layout:
    for name, level in (("v1.mp4", 60), ("v2.mp4", 70)):
        mp4(root / name, level)
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "question": ["How far did the car travel (m)?", "How fast is the ball (m/s)?", "Which is closer? "],
        "answer": ["10.0", "0", "A"], "category": ["trajectory_length", "absolute_speed", "relative_distance"],
        "question_type": ["numerical", "numerical", "mcq"], "options": [[], [], ["A. car", "B. tree"]],
        "file_name": ["v1.mp4", "v2.mp4", "v1.mp4"], "video_length": [2.0, 2.0, 2.0],
    })
    ids = ["0", "1", "2"]
    return Layout(root, ids, dict(zip(ids, [10.0, 0.0, "A"])), dict(zip(ids, ["trajectory_length", "absolute_speed", "relative_distance"])),
                  dict.fromkeys(ids, 1), dict(zip(ids, [10.0, 0.1, "A"])), dict(zip(ids, [30.0, 5.0, "B"])))


def pai_bench(root: Path) -> Layout:
    mp4(root / "videos" / "robot" / "c1.mp4", 80)
    mp4(root / "videos" / "nature" / "c2.mp4", 90)
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "question": ["What does the arm do next?", "Is the water flowing?"],
        "index2ans": [{"A": "grasp", "B": "release", "C": "wait", "D": None}, {"A": "yes", "B": "no", "C": None, "D": None}],
        "answer": ["B", "A"], "video_path": ["robot/c1.mp4", "nature/c2.mp4"],
        "category": ["Embodied Reasoning", "Common Sense"], "subcategory": ["robot", "physics"],
    })
    ids = ["0", "1"]
    return Layout(root, ids, {"0": "B", "1": "A"}, {"0": "Embodied Reasoning", "1": "Common Sense"}, dict.fromkeys(ids, 1),
                  {"0": "(B)", "1": "A"}, {"0": "C", "1": "B"})


def vsibench(root: Path, debiased: bool = False) -> Layout:
    write_zip(root / "scannet.zip", {"scannet/scene0011_00.mp4": mp4_bytes(root.parent, 100)})
    columns = {
        "id": [1, 2], "dataset": ["scannet", "scannet"], "scene_name": ["scene0011_00", "scene0011_00"],
        "question_type": ["object_counting", "object_rel_direction_easy"],
        "question": ["How many chair(s) are in this room?", "Is the sofa left or right of the bed?"],
        "options": [None, ["A. left", "B. right"]], "ground_truth": ["4", "B"],
    }
    write_parquet(root / ("test_debiased.parquet" if debiased else "test-00000-of-00001.parquet"), columns, {"options": pa.list_(pa.string())})
    ids = ["1", "2"]
    return Layout(root, ids, {"1": 4.0, "2": "B"}, {"1": "object_counting", "2": "object_rel_direction_easy"}, dict.fromkeys(ids, 1),
                  {"1": 4, "2": "B"}, {"1": 8, "2": "A"})


def vstibench(root: Path) -> Layout:
    write_zip(root / "videos.zip", {"scannet/scene0050_00.mp4": mp4_bytes(root.parent, 110)})
    write_parquet(root / "test-00000-of-00001.parquet", {
        "question_type": ["camera_displacement", "camera_movement_direction", "camera_movement_direction"],
        "question": ["How far did the camera move (m)?", "Where did the camera turn?", "Where did the camera turn next?"],
        "options": [None, ["A. left", "B. right"], ["A. left", "B. right"]], "mc_answer": [None, "A", "B"],
        "ground_truth": ["1.5", "left", "right"], "video_path": ["scannet/scene0050_00.mp4"] * 3,
    }, {"options": pa.list_(pa.string())})
    ids = ["0", "1", "2"]
    return Layout(root, ids, dict(zip(ids, [1.5, "A", "B"])), dict(zip(ids, ["camera_displacement", "camera_movement_direction", "camera_movement_direction"])),
                  dict.fromkeys(ids, 1), dict(zip(ids, [1.5, "A", "B"])), dict(zip(ids, [15.0, "B", "A"])))


def dsi_bench(root: Path) -> Layout:
    header = "cate,relative_path,video_type,question,options,GT,others\n"
    ids, targets = [], {}
    for k, aug in enumerate(("std", "hflip", "reverse", "reverse_hflip")):
        mp4(root / "videos" / aug / "CameraBench" / "a.mp4", 20 + 10 * k)
        answer = "A" if aug in ("std", "reverse_hflip") else "B"
        (root / "metadatas").mkdir(parents=True, exist_ok=True)
        (root / "metadatas" / f"{aug}.csv").write_text(
            header + f'2,CameraBench/a.mp4,0,How does the camera move?,"A: pans left; B: pans right",{answer},\n')
        ids.append(f"{aug}/0")
        targets[f"{aug}/0"] = answer
    return Layout(root, ids, targets, dict.fromkeys(ids, "Cam:static scene"), dict.fromkeys(ids, 1), dict(targets),
                  {i: ("B" if t == "A" else "A") for i, t in targets.items()})


def cvbench(root: Path) -> Layout:
    """Videos of one grey level each; the answer of question 0 and 1 is the brighter video."""
    members = {f"0/{name}.mp4": mp4_bytes(root.parent, level) for name, level in (("dark", 40), ("bright", 210), ("mid", 120))}
    write_zip(root / "CVBench.zip", members)
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "id": [0, 1, 2], "task_type": ["Cross-video Scene Recognition", "Multi-video Attribute Recognition", "Joint-video Counting"],
        "video_1": ["0/dark.mp4", "0/bright.mp4", "0/dark.mp4"], "video_2": ["0/bright.mp4", "0/dark.mp4", "0/mid.mp4"],
        "video_3": [None, None, "0/bright.mp4"], "video_4": [None, None, None],
        "question": ["Which video is brighter?", "Which video is brighter?", "Are there three videos?"],
        "options": [["A. the first.", "B. the second."], ["A. the first.", "B. the second."], ["Yes.", "No."]],
        "answer": ["B", "A", "Yes"],
    })
    ids = ["0", "1", "2"]
    return Layout(root, ids, dict(zip(ids, ["B", "A", "Yes"])),
                  dict(zip(ids, ["Cross-video Scene Recognition", "Multi-video Attribute Recognition", "Joint-video Counting"])),
                  dict(zip(ids, [2, 2, 3])), dict(zip(ids, ["B", "A", "yes"])), dict(zip(ids, ["A", "B", "No"])))


def perceptioncomp(root: Path) -> Layout:
    mp4(root / "data" / "vid7.mp4", 140)
    rows = [{"key": "q1", "video_id": "vid7", "question": "What colour is the third car?", **{f"answer_choice_{k}": t for k, t in enumerate("red blue green white black".split())},
             "answer_id": 3, "answer": "white", "category": "outdoor tour", "difficulty": 2},
            {"key": "q2", "video_id": "vid7", "question": "How many people wave?", **{f"answer_choice_{k}": str(k) for k in range(5)},
             "answer_id": 0, "answer": "0", "category": "sport", "difficulty": 1}]
    (root / "questions.json").write_text(json.dumps(rows))
    return Layout(root, ["q1", "q2"], {"q1": "D", "q2": "A"}, {"q1": "outdoor tour", "q2": "sport"}, {"q1": 1, "q2": 1},
                  {"q1": "D. white", "q2": "A"}, {"q1": "E", "q2": "C"})


def video_mme(root: Path) -> Layout:
    write_zip(root / "videos_chunked_01.zip", {"data/fFjv93ACGo8.mp4": mp4_bytes(root.parent, 150)})
    write_parquet(root / "videomme" / "test-00000-of-00001.parquet", {
        "video_id": ["001", "001"], "duration": ["short", "short"], "domain": ["Knowledge", "Knowledge"],
        "sub_category": ["Humanity & History"] * 2, "url": ["https://www.youtube.com/watch?v=fFjv93ACGo8"] * 2,
        "videoID": ["fFjv93ACGo8"] * 2, "question_id": ["001-1", "001-2"], "task_type": ["Counting Problem", "Object Recognition"],
        "question": ["How many people?", "What is shown?"], "options": [["A. 1.", "B. 2.", "C. 3.", "D. 4."], ["A. a dog.", "B. a cat.", "C. a cow.", "D. a bird."]],
        "answer": ["C", "A"],
    })
    return Layout(root, ["001-1", "001-2"], {"001-1": "C", "001-2": "A"}, {"001-1": "Counting Problem", "001-2": "Object Recognition"},
                  {"001-1": 1, "001-2": 1}, {"001-1": "C", "001-2": "a dog"}, {"001-1": "D", "001-2": "B"})



def mmsi_video_bench(root: Path) -> Layout:
    rows = [
        {"id": 0, "type": "(Cross-Video) Memoery Update", "ref_images": ["0/ref0.png"],
         "video_list": [{"path": "0/a.mp4", "start": 0.0, "end": 2.0, "base_fps": 2}, {"path": "0/b.mp4", "start": 0.0, "end": 2.0, "base_fps": 2}],
         "frames_list": [["00:00.00_frame_0.50_0.jpg"], ["00:00.00_frame_0.50_0.jpg"]], "system_prompt": "You are an expert.",
         "task_prompt": "Compare the clips. ", "user_prompt": "<video><video> What moved in <image>? A. the cup B. the chair C. the door",
         "format_prompt": " Answer with a letter.", "ground_truth": "B"},
        {"id": 1, "type": "Planning", "ref_images": [], "video_list": [{"path": "1/c.mp4", "start": 3.0, "end": 5.0, "base_fps": 2}],
         "frames_list": [[]], "system_prompt": "", "task_prompt": "", "user_prompt": "<video> Where next? A. left B. right",
         "format_prompt": "", "ground_truth": "A"},
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "mmsivideo.json").write_text(json.dumps(rows))
    write_zip(root / "videos.zip", {"videos/0/a.mp4": mp4_bytes(root.parent, 10), "videos/0/b.mp4": mp4_bytes(root.parent, 20),
                                    "videos/1/c.mp4": mp4_bytes(root.parent, 30)})
    write_zip(root / "ref_images.zip", {"ref_images/0/ref0.png": png(40)})
    ids = ["0", "1"]
    return Layout(root, ids, {"0": "B", "1": "A"}, {"0": "(Cross-Video) Memoery Update", "1": "Planning"}, {"0": 3, "1": 1},
                  {"0": "B", "1": "A"}, {"0": "C", "1": "B"})


def video_mme_v2(root: Path) -> Layout:
    """One relevance group and one logic group of four questions each."""
    mp4(root / "videos" / "v001.mp4", 60)
    mp4(root / "videos" / "v002.mp4", 70)
    options = "\n".join(f"{chr(65 + k)}. option {k}" for k in range(8))
    ids = [f"v00{v}-{k}" for v in (1, 2) for k in range(1, 5)]
    answers = ["A", "B", "C", "D", "E", "F", "G", "H"]
    write_parquet(root / "test-00000-of-00001.parquet", {
        "video_id": [i.split("-")[0] for i in ids], "question_id": ids, "question": [f"Question {i}?" for i in ids],
        "options": [options] * 8, "answer": answers, "group_type": ["relevance"] * 4 + ["logic"] * 4,
        "group_structure": ["[1, 2, 3, 4]"] * 4 + ["[1, [2, 3], 4]"] * 4, "level": [1] * 8,
        "second_head": ["perception"] * 8, "third_head": ["counting"] * 8,
    })
    return Layout(root, ids, dict(zip(ids, answers)), dict(zip(ids, ["relevance"] * 4 + ["logic"] * 4)), dict.fromkeys(ids, 1),
                  dict(zip(ids, answers)), dict(zip(ids, ["B", "A", "A", "A", "A", "A", "A", "A"])))


def spbench(root: Path, split: str = "SPBench-SI") -> Layout:
    frames = ["0.jpg"] if split == "SPBench-SI" else ["0.jpg", "1.jpg"]
    write_parquet(root / split / f"{split}.parquet", {
        "id": [10, 11], "dataset": ["scannet", "scannet"], "scene_name": ["scene0001_00", "scene0002_00"],
        "question_type": ["object_counting", "object_rel_direction"], "question": ["How many chairs?", "Is the lamp left or right of the bed?"],
        "options": [None, ["A. left", "B. right"]], "ground_truth": ["3", "A"], "images": [frames, frames],
    }, {"options": pa.list_(pa.string())})
    members = {f"{split}/images/{scene}/{f}": png(50 + k) for scene in ("scene0001_00", "scene0002_00") for k, f in enumerate(frames)}
    write_zip(root / f"{split}.zip", members)
    ids = ["10", "11"]
    return Layout(root, ids, {"10": 3.0, "11": "A"}, {"10": "object_counting", "11": "object_rel_direction"}, dict.fromkeys(ids, len(frames)),
                  {"10": "3 chairs", "11": "A"}, {"10": 9, "11": "B"})


def omni3d_bench(root: Path) -> Layout:
    write_parquet(root / "data" / "train-00000-of-00001.parquet", {
        "image": [hf_image(10), hf_image(10), hf_image(20), hf_image(20)], "image_index": [0, 0, 1, 1], "q_index": [0, 1, 0, 1],
        "question": ["Is the mug taller than the bottle?", "How many chairs?", "How tall is the door (m)?", "Which is closer, mug or lamp?"],
        "answer_type": ["str", "int", "float", "str"], "answer": ["yes", "4", "2.0", "mug"],
    }, {"image": IMAGE})
    ids = ["0_0", "0_1", "1_0", "1_1"]
    return Layout(root, ids, dict(zip(ids, ["yes", 4, 2.0, "mug"])), dict(zip(ids, ["yes/no", "count", "numeric (other)", "multiple choice"])),
                  dict.fromkeys(ids, 1), dict(zip(ids, ["True", 4, 2.0, "Mug"])), dict(zip(ids, ["no", 5, 9.0, "lamp"])))

WRITERS = {
    "erqa": erqa, "omnispatial": omnispatial, "mindcube": mindcube, "mmsi_bench": mmsi_bench, "spar_bench": spar_bench,
    "blink": blink, "viewspatial": viewspatial, "osi_bench": osi_bench, "pai_bench": pai_bench, "vsibench": vsibench,
    "vsibench_debiased": lambda root: vsibench(root, debiased=True), "vstibench": vstibench, "dsi_bench": dsi_bench,
    "cvbench": cvbench, "perceptioncomp": perceptioncomp, "video_mme": video_mme, "mmsi_video_bench": mmsi_video_bench,
    "video_mme_v2": video_mme_v2, "spbench": spbench, "spbench_mv": lambda root: spbench(root, "SPBench-MV"), "omni3d_bench": omni3d_bench,
}
