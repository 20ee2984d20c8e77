"""VSI-Bench scoring: Mean Relative Accuracy, answer parsing, summary (hand-worked cases)."""

from __future__ import annotations

import numpy as np
import pytest

from spatialclaw.eval import mean_relative_accuracy
from spatialclaw.options import option_letters
from spatialclaw.eval.scoring import (
    parse_choice,
    parse_number,
    score_prediction,
    summarise,
    task_kind,
)

OPTIONS = ["A. left", "B. right", "C. back", "D. front-left"]


def _vsi_bench_mra(pred: float, target: float) -> float:
    """VSI-Bench's own formula, written from its definition: start .5, end .95, interval .05,
    int((end - start) / interval + 2) points, accuracy where abs(pred - target) / target <= 1 - θ."""
    start, end, interval = 0.5, 0.95, 0.05
    thresholds = np.linspace(start, end, int((end - start) / interval + 2))
    return float((abs(pred - target) / target <= 1 - thresholds).mean())


@pytest.mark.parametrize(
    ("pred", "gt", "expected"),
    [
        # exact: relative error 0 passes all ten thresholds.
        (2.0, 2.0, 1.0),
        # The ten 1-θ are .50 .45 .40 .35 .30 .25 .20 .15 .10 .05.
        # |2.09 - 2| / 2 = 0.045 <= all ten → 1.0.
        (2.09, 2.0, 1.0),
        # |2.2 - 2| / 2 = 0.1 (0.10000000000000009 in floats, and 1 - 0.9 from linspace is the same float):
        # passes .50 ... .10 (9), fails .05 → 0.9.
        (2.2, 2.0, 0.9),
        # |2.3 - 2| / 2 = 0.15: passes .50 ... .15 (8), fails .10 .05 → 0.8.
        (2.3, 2.0, 0.8),
        # |2.45 - 2| / 2 = 0.225: passes .50 .45 .40 .35 .30 .25 (6), fails .20 .15 .10 .05 → 0.6.
        (2.45, 2.0, 0.6),
        # |1.0 - 2| / 2 = 0.5: passes only 1-θ = 0.5 (θ = 0.5, exact in floats) → 0.1.
        (1.0, 2.0, 0.1),
        # |3 - 2| / 2 = 0.5 again from above → 0.1.
        (3.0, 2.0, 0.1),
        # |0 - 2| / 2 = 1 > 0.5 → 0.
        (0.0, 2.0, 0.0),
        # counting: |5 - 4| / 4 = 0.25: 0.25 <= 1 - 0.75 is a float boundary; VSI-Bench's linspace gives
        # 1 - 0.75 = 0.25 exactly, so .50 .45 .40 .35 .30 .25 pass (6) → 0.6.
        (5.0, 4.0, 0.6),
        # |7 - 10| / 10 = 0.3: passes .50 .45 .40 .35 and .30 (0.3 <= 0.30000000000000004) → 5/10 = 0.5.
        (7.0, 10.0, 0.5),
    ],
)
def test_mean_relative_accuracy_hand_worked(pred: float, gt: float, expected: float) -> None:
    assert mean_relative_accuracy(pred, gt) == pytest.approx(expected, abs=1e-12)
    assert mean_relative_accuracy(pred, gt) == pytest.approx(_vsi_bench_mra(pred, gt), abs=1e-12)


def test_mean_relative_accuracy_agrees_with_vsi_bench_on_a_grid_including_boundaries() -> None:
    gts = [0.5, 1.0, 2.0, 3.7, 4.0, 10.0, 123.0]
    for gt in gts:
        for rel in np.linspace(-1.2, 1.2, 241):  # steps of 0.01 hit every threshold boundary
            pred = gt * (1 + rel)
            assert mean_relative_accuracy(pred, gt) == _vsi_bench_mra(pred, gt), (pred, gt)


def test_mean_relative_accuracy_degenerate_values() -> None:
    assert mean_relative_accuracy(0.0, 0.0) == 1.0
    assert mean_relative_accuracy(0.1, 0.0) == 0.0
    assert mean_relative_accuracy(float("nan"), 2.0) == 0.0
    assert mean_relative_accuracy(float("inf"), 2.0) == 0.0


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("B", "B"),
        ("B.", "B"),
        ("B. left", "B"),  # the letter wins over text that belongs to another option (VSI-Bench's first word)
        ("(B)", "B"),
        ("b", "B"),
        (" b. ", "B"),
        ("Answer: B", "B"),
        ("The answer is (C).", "C"),
        ("I think the answer is b.", "B"),
        ("<answer>D</answer>", "D"),
        ("right", "B"),  # an option's text
        ("B. right", "B"),
        ("Front-Left", "D"),
        ("The chair is to the front-left of me.", "D"),  # names one option ("left" is inside "front-left")
        ("A chair", "A"),  # VSI-Bench's first-word rule for a capital letter
    ],
)
def test_parse_choice_accepts(text: str, letter: str) -> None:
    assert parse_choice(text, OPTIONS) == letter


@pytest.mark.parametrize(
    "text",
    ["", "E", "x", "the answer is a chair", "left or right", "42", "a lamp near the door"],
)
def test_parse_choice_rejects(text: str) -> None:
    assert parse_choice(text, OPTIONS) is None


def test_parse_choice_non_string_and_letters_without_prefix() -> None:
    assert parse_choice(2, OPTIONS) is None
    assert parse_choice(None, OPTIONS) is None
    assert option_letters(["sofa", "table", "lamp"]) == ["A", "B", "C"]
    assert parse_choice("table", ["sofa", "table", "lamp"]) == "B"


@pytest.mark.parametrize(
    ("value", "question_type", "number"),
    [
        (3, "object_counting", 3.0),
        (2.75, "object_abs_distance", 2.75),
        (" 2.5 m", "object_abs_distance", 2.5),
        ("2.5m", "object_abs_distance", 2.5),
        ("2,5", "object_abs_distance", 2.5),  # decimal comma: one or two digits after it
        ("1,250", "object_size_estimation", 1250.0),  # thousands: exactly three digits after it
        ("250 cm", "object_abs_distance", 2.5),  # converted to the task's unit (metres)
        ("1.2 m", "object_size_estimation", 120.0),  # object size is in centimetres
        ("85", "object_size_estimation", 85.0),  # no unit: already the task's unit
        ("20 m²", "room_size_estimation", 20.0),
        ("20 square meters", "room_size_estimation", 20.0),
        ("100 sq ft", "room_size_estimation", 100 * 0.3048**2),
        ("There are 4 chairs in the room.", "object_counting", 4.0),
        ("three", "object_counting", 3.0),
        ("Counting frame 12 again... Answer: 7", "object_counting", 7.0),  # the number after the marker
        ("about .5 m", "object_abs_distance", 0.5),
        ("-1", "object_counting", -1.0),
    ],
)
def test_parse_number(value: object, question_type: str, number: float) -> None:
    assert parse_number(value, question_type) == pytest.approx(number, rel=1e-12)


@pytest.mark.parametrize("value", ["", "B", "no idea", None, True, float("nan"), "inf", [3]])
def test_parse_number_rejects(value: object) -> None:
    assert parse_number(value, "object_counting") is None


def test_task_kinds() -> None:
    assert task_kind("object_counting") == "numeric"
    assert task_kind("room_size_estimation") == "numeric"
    for qt in ("object_rel_direction_hard", "route_planning", "obj_appearance_order", "object_rel_distance"):
        assert task_kind(qt) == "multiple_choice"
    assert task_kind("my_new_task", ["A. x", "B. y"]) == "multiple_choice"
    assert task_kind("my_new_task", None) == "numeric"


def test_score_prediction() -> None:
    s = score_prediction("B. right", "B", "object_rel_direction_easy", OPTIONS)
    assert (s.score, s.parsed, s.unparsed) == (1.0, "B", False)
    s = score_prediction("C", "B", "object_rel_direction_easy", OPTIONS)
    assert (s.score, s.parsed, s.unparsed) == (0.0, "C", False)
    s = score_prediction("no idea", "B", "route_planning", OPTIONS)
    assert (s.score, s.parsed, s.unparsed) == (0.0, None, True)
    s = score_prediction(None, "2.0", "object_abs_distance")
    assert (s.score, s.unparsed) == (0.0, True)
    # 245 cm for a 2 m distance: relative error 0.225 → 0.6 (worked above).
    s = score_prediction("245 cm", "2.0", "object_abs_distance")
    assert s.parsed == pytest.approx(2.45) and s.score == pytest.approx(0.6)
    # a ground truth given as option text is read as its letter
    assert score_prediction("D", "front-left", "object_rel_direction_hard", OPTIONS).score == 1.0
    with pytest.raises(ValueError):
        score_prediction("A", "Z", "route_planning", OPTIONS)
    with pytest.raises(ValueError):
        score_prediction("3", "many", "object_counting")


def test_summarise_merges_direction_splits_and_averages_task_means() -> None:
    rows = [
        # object_counting: scores 1.0, 0.6 → mean 0.8
        {"question_type": "object_counting", "score": 1.0, "unparsed": False},
        {"question_type": "object_counting", "score": 0.6, "unparsed": False},
        # direction splits: easy mean (1 + 0) / 2 = 0.5, hard mean 1.0 → object_rel_direction = 0.75
        # (a pooled mean over the three rows would be 2/3: the splits are averaged first)
        {"question_type": "object_rel_direction_easy", "score": 1.0, "unparsed": False},
        {"question_type": "object_rel_direction_easy", "score": 0.0, "unparsed": True},
        {"question_type": "object_rel_direction_hard", "score": 1.0, "unparsed": False},
        # route_planning: 0.0
        {"question_type": "route_planning", "score": 0.0, "unparsed": False},
    ]
    summary = summarise(rows)
    assert list(summary["per_task"]) == ["object_counting", "object_rel_direction", "route_planning"]
    assert summary["per_task"]["object_counting"] == pytest.approx(0.8)
    assert summary["per_task"]["object_rel_direction"] == pytest.approx(0.75)
    assert summary["per_task"]["route_planning"] == 0.0
    # overall = (0.8 + 0.75 + 0.0) / 3 = 0.516666...
    assert summary["overall"] == pytest.approx(1.55 / 3)
    assert summary["n"] == 6
    assert summary["unparsed"] == 1
    assert summary["n_per_task"] == {"object_counting": 2, "object_rel_direction": 3, "route_planning": 1}
    assert summary["per_question_type"]["object_rel_direction_easy"] == pytest.approx(0.5)


def test_summarise_empty() -> None:
    summary = summarise([])
    assert summary["overall"] is None and summary["n"] == 0 and summary["per_task"] == {}
