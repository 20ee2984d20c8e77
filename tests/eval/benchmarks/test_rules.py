"""Each benchmark's scoring rule against numbers worked out by hand from the official definition
(the module docstrings say where each rule comes from)."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.eval.benchmarks import get_benchmark
from spatialclaw.eval.benchmarks.base import Record
from spatialclaw.eval.benchmarks.cvbench import read_yes_no
from spatialclaw.eval.benchmarks.dsi_bench import parse_options
from spatialclaw.eval.benchmarks.mindcube import setting_of
from spatialclaw.eval.benchmarks.osi_bench import osi_mra
from spatialclaw.eval.benchmarks.rules import MRA_THRESHOLDS, index_letter, letter, mra, options_from_text
from spatialclaw.eval.benchmarks.spar_bench import spar_mra, view_change_score


def test_thresholds_are_the_official_ten() -> None:
    start, end, interval = 0.5, 0.95, 0.05
    official = np.linspace(start, end, int((end - start) / interval + 2))  # the authors' expression
    assert len(official) == 10 and np.allclose(MRA_THRESHOLDS, official)


@pytest.mark.parametrize(
    ("pred", "gt", "expected"),
    [
        (2.2, 2.0, 0.9),  # error 0.10: passes θ = .50 ... .90 (9 of 10)
        (2.0, 2.0, 1.0),
        (3.0, 2.0, 0.1),  # error 0.50: only θ = .50
        (3.1, 2.0, 0.0),  # error 0.55: none
        (1.6, 2.0, 0.7),  # error 0.20: θ = .50 ... .80 (7)
    ],
)
def test_mra_by_hand(pred: float, gt: float, expected: float) -> None:
    assert mra(pred, gt) == pytest.approx(expected)


def test_osi_zero_ground_truth_rule() -> None:
    assert osi_mra(0.2, 0.0, "absolute_speed") == 1.0  # below 0.30: stationary, right
    assert osi_mra(0.336, 0.0, "absolute_speed") == pytest.approx(0.8)  # vs 0.30: error 0.12 → θ .50-.85
    assert osi_mra(2.2, 0.0, "trajectory_length") == pytest.approx(0.9)  # vs 2.0: error 0.10 → θ .50-.90
    assert osi_mra(0.1, 0.0, "absolute_distance") == 0.0  # other categories: plain MRA, 0 unless exact


def test_spar_zero_target_and_view_change() -> None:
    assert spar_mra(0.22, 0.0) == pytest.approx(0.6)  # |0.22| <= 1 - θ for θ = .50 ... .75
    gt = "move_right:1.0,rotate_left:30"  # components [1, 0, 0, -30, 0]
    assert view_change_score("move_right:1.1,rotate_left:30", gt).score == pytest.approx((0.9 + 1 + 1 + 1 + 1) / 5)
    assert view_change_score("move_left:1.0,rotate_left:30", gt).score == pytest.approx((0 + 1 + 1 + 1 + 1) / 5)
    assert view_change_score("I would move right", gt).unparsed


def _rows(pairs: list[tuple[str, float]]) -> list[dict[str, object]]:
    return [{"task": t, "score": s, "unparsed": False} for t, s in pairs]


def test_blink_overall_is_the_mean_of_subtask_accuracies() -> None:
    summary = get_benchmark("blink").aggregate(_rows([("Relative Depth", 1), ("Relative Depth", 0), ("Counting", 1)]))
    assert summary["per_task"] == {"Counting": 1.0, "Relative Depth": 0.5}
    assert summary["overall"] == pytest.approx(0.75)  # not the 2/3 over questions


def test_mindcube_overall_leaves_translation_out() -> None:
    assert [setting_of(i) for i in ("among_g1_q2", "around_x", "aroundnew_y", "rotation_z", "translation_w", "misc")] == [
        "among", "around", "around", "rotation", "translation", "other"]
    summary = get_benchmark("mindcube").aggregate(_rows([("among", 1), ("rotation", 0), ("translation", 1), ("translation", 1)]))
    assert summary["overall"] == pytest.approx(0.5)
    assert summary["per_task"]["translation"] == 1.0


def test_vsti_and_spar_overall_are_means_of_question_type_scores() -> None:
    rows = _rows([("camera_displacement", 0.9), ("camera_movement_direction", 1), ("camera_movement_direction", 0), ("camera_movement_direction", 0)])
    for name in ("vstibench", "spar_bench"):
        assert get_benchmark(name).aggregate(rows)["overall"] == pytest.approx((0.9 + 1 / 3) / 2)


def test_question_weighted_benchmarks() -> None:
    rows = _rows([("a", 1), ("a", 1), ("b", 0)])
    for name in ("mmsi_bench", "erqa", "viewspatial", "omnispatial", "video_mme", "perceptioncomp", "pai_bench", "osi_bench", "dsi_bench", "cvbench"):
        assert get_benchmark(name).aggregate(rows)["overall"] == pytest.approx(2 / 3), name


def test_vsibench_merges_direction_splits_first() -> None:
    rows = _rows([("object_rel_direction_easy", 1), ("object_rel_direction_hard", 0), ("object_counting", 1)])
    summary = get_benchmark("vsibench").aggregate(rows)
    assert summary["per_task"] == {"object_counting": 1.0, "object_rel_direction": 0.5}
    assert summary["overall"] == pytest.approx(0.75)


def test_ground_truth_forms() -> None:
    assert [letter(v) for v in ("B", "(C)", "A. right", "d")] == ["B", "C", "A", "D"]
    assert index_letter(3) == "D"
    with pytest.raises(ValueError):
        letter("right")
    assert options_from_text("Which? Options: A: the first, B: the second") == ["A. the first", "B. the second"]
    assert options_from_text("Pick A. left B. right C. up") == ["A. left", "B. right", "C. up"]
    assert options_from_text("How many chairs?") is None
    assert parse_options("A: pans left; B: pans right") == ["A. pans left", "B. pans right"]


def test_cvbench_yes_no_questions_score_the_word() -> None:
    bench = get_benchmark("cvbench")
    record = Record("0", "Same room?", ["Yes.", "No."], "No", "No", "t", [], extra={"yes_no": True})
    assert bench.score(record, "No, they differ").score == 1.0
    assert bench.score(record, "yes").score == 0.0
    assert bench.score(record, "B").unparsed
    assert read_yes_no(True) == "Yes"


def test_unparsable_answers_are_counted() -> None:
    bench = get_benchmark("mmsi_bench")
    record = Record("0", "q", ["A. x", "B. y"], "A", "A", "t", [])
    scores = [bench.score(record, p) for p in ("A", "I cannot tell", None, 3)]
    assert [s.score for s in scores] == [1.0, 0.0, 0.0, 0.0]
    assert [s.unparsed for s in scores] == [False, True, True, True]


def test_video_mme_v2_group_scores() -> None:
    from spatialclaw.eval.benchmarks.video_mme_v2 import logic_score, relevance_score

    assert [relevance_score([True] * k + [False] * (4 - k)) for k in range(5)] == pytest.approx([0, 1 / 16, 4 / 16, 9 / 16, 1])
    assert relevance_score([False, True, False, True]) == pytest.approx(4 / 16)  # how many, not which
    assert logic_score([True, False, True, True], "[1, 2, 3, 4]") == pytest.approx(1 / 16)  # the chain breaks at 2
    assert logic_score([True, False, True, False], "[1, [2, 3], 4]") == pytest.approx(4 / 12)  # 3 stands in for 2
    assert logic_score([False, True, False, False], "[[1, 2], 3, 4]") == pytest.approx(1 / 10)  # 2 stands in for 1
    assert logic_score([True, True, True, True], "[[1, 2], 3, 4]") == 1.0
    rows = [{"id": f"v1-{k}", "task": "relevance", "score": s, "video_id": "v1", "group_structure": "[1, 2, 3, 4]"}
            for k, s in enumerate([1, 1, 0, 0], start=1)]
    rows += [{"id": f"v2-{k}", "task": "logic", "score": s, "video_id": "v2", "group_structure": "[1, 2, 3, 4]"}
             for k, s in enumerate([1, 1, 1, 0], start=1)]
    summary = get_benchmark("video_mme_v2").aggregate(rows)
    assert summary["per_task"] == pytest.approx({"logic": 9 / 16, "relevance": 4 / 16})
    assert summary["overall"] == pytest.approx((9 / 16 + 4 / 16) / 2) and summary["question_accuracy"] == pytest.approx(5 / 8)


def test_omni3d_bench_rules() -> None:
    from spatialclaw.eval.benchmarks.omni3d_bench import strict_mra

    assert strict_mra(2.2, 2.0) == pytest.approx(0.8)  # error 0.1 < t for t = .50 ... .15 (8 of 10; not .10, .05)
    assert strict_mra(2.0, 2.0) == 1.0
    bench = get_benchmark("omni3d_bench")
    yes = Record("0_0", "q", None, "yes", "yes", "yes/no", [])
    assert bench.score(yes, "True").score == 1.0 and bench.score(yes, "no").score == 0.0
    count = Record("0_1", "q", None, "4", 4, "count", [])
    assert bench.score(count, "4 chairs").score == 1.0 and bench.score(count, 4.5).score == 0.0
    summary = bench.aggregate(_rows([("count", 1), ("count", 0), ("yes/no", 1)]))
    assert summary["overall"] == pytest.approx(0.75)  # the mean of the kinds present
