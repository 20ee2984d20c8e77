"""Scoring as VSI-Bench scores: exact option letter for multiple choice, Mean Relative Accuracy
for numbers, overall = mean of task means.

Facts taken from VSI-Bench's own evaluation (lmms-eval ``vsibench/utils.py``):

- Multiple choice (``object_rel_distance``, ``object_rel_direction_{easy,medium,hard}``,
  ``route_planning``, ``obj_appearance_order``): 1 if the predicted option letter equals the
  ground-truth letter (case-insensitive), else 0.
- Numeric (``object_counting``, ``object_abs_distance``, ``object_size_estimation``,
  ``room_size_estimation``): Mean Relative Accuracy over the ten thresholds
  ``np.linspace(0.5, 0.95, 10)``; a threshold θ counts when ``|pred - gt| / gt <= 1 - θ``.
- Motion tasks of dynamic scenes are scored the same way: ``object_moved``,
  ``object_approach`` and ``object_move_direction`` by letter; ``object_travel_distance`` and
  ``camera_displacement`` (metres) and ``object_speed`` (metres per second) by MRA.
- Overall: the mean of the task means, where the three ``object_rel_direction_*`` splits are
  first averaged into one ``object_rel_direction`` task. VSI-Bench gives an absent task 0; here
  only the tasks (and splits) present in the results count, so a subset scores what it holds.

Answer parsing is more tolerant than VSI-Bench's "first word" rule, because an agent's
``answer(...)`` may be a number, a letter, an option's text or a sentence:

- Multiple choice accepts ``"B"``, ``"b"``, ``"B."``, ``"B. left"``, ``"(B)"``, ``"Answer: B"``,
  ``"The answer is (B)"``, an option's text (``"left"`` or ``"B. left"``), and a sentence that
  names exactly one option's text. A bare lowercase letter counts only on its own (``"a"``), never
  as the article in ``"a chair ..."``.
- Numbers accept ints and floats, ``" 2.5 m"``, ``"2,5"`` (a comma followed by one or two digits
  is a decimal comma; followed by exactly three digits, as in ``"1,250"``, it separates
  thousands), number words zero–twenty (``"three"``) when no digits are present, and numbers
  inside sentences (the first number after an "answer" marker, else the first number).
- Units: VSI-Bench's numbers are unitless in each task's unit: ``object_abs_distance`` in
  metres, ``object_size_estimation`` in centimetres, ``room_size_estimation`` in square metres,
  ``object_counting`` a count. A stated length or area unit (``"250 cm"``, ``"1.2 m"``,
  ``"3 ft"``, ``"20 m²"``) is converted into the task's unit; a number without a unit is taken
  as already in the task's unit; a length given for an area task is taken as the area's number.
- Anything else is unparsed: it scores 0 and is counted as ``unparsed`` in the summary.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import numpy as np

from spatialclaw.options import option_letters, option_text
from spatialclaw.tasks import SCORED_MULTIPLE_CHOICE_TASKS, SCORED_NUMERIC_TASKS, SUMMARY_ORDER, task_of

MRA_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)
"""The ten confidence thresholds θ of Mean Relative Accuracy."""

# Unit of each numeric task's numbers: ("length", metres per unit) or ("area", m² per unit).
_TASK_UNITS: dict[str, tuple[str, float]] = {
    "object_abs_distance": ("length", 1.0),
    "object_travel_distance": ("length", 1.0),
    "camera_displacement": ("length", 1.0),
    "object_size_estimation": ("length", 0.01),
    "room_size_estimation": ("area", 1.0),
}
_LENGTH_UNITS: dict[str, float] = {
    "mm": 0.001, "millimeter": 0.001, "millimeters": 0.001, "millimetre": 0.001, "millimetres": 0.001,
    "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01, "centimetres": 0.01,
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0, "kilometre": 1000.0, "kilometres": 1000.0,
    "in": 0.0254, "inch": 0.0254, "inches": 0.0254,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048,
    "yd": 0.9144, "yard": 0.9144, "yards": 0.9144,
}
_AREA_PREFIX = r"(?:sq\.?|square)\s*"
_AREA_SUFFIX = r"(?:\s*(?:\^?2|²|sq\.?|squared))"
_NUMBER_WORDS: dict[str, int] = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}

_NUMBER_RE = re.compile(
    r"(?<![\w.])(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:[.,]\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+)"
)
_UNIT_RE = re.compile(
    r"\s*(?P<pre>" + _AREA_PREFIX + r")?(?P<unit>[a-zA-Z]+)(?P<post>" + _AREA_SUFFIX + r")?(?![a-zA-Z])"
)
_PRE_AREA_RE = re.compile(r"\s*" + _AREA_PREFIX + r"(?P<unit>[a-zA-Z]+)(?![a-zA-Z])", re.IGNORECASE)
_ANSWER_TAG_RE = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.IGNORECASE | re.DOTALL)
_BOXED_RE = re.compile(r"\\boxed\{([^{}]*)\}")
_MARKER_RE = re.compile(r"\b(?:final\s+)?answer\s*(?:is|:|=|-)?\s*:?\s*", re.IGNORECASE)
# "answer is B", "Option (C)", "choice: b." — a lowercase letter only where it ends the sentence.
_MARKED_LETTER_RE = re.compile(
    r"\b(?i:answer|option|choice)\s*(?:is|:|=)?\s*:?\s*\(?(?:([A-Z])|([a-z])(?=\)?\s*[.)]?\s*$))\)?(?!\w)"
)

Kind = Literal["multiple_choice", "numeric"]


@dataclass(frozen=True)
class Score:
    """The score of one prediction.

    Attributes:
        score: in [0, 1]: 0/1 for multiple choice, the MRA for numbers.
        parsed: what the prediction was read as: an option letter, a number in the task's unit,
            or ``None`` when it could not be read (then ``score`` is 0).
        kind: ``"multiple_choice"`` or ``"numeric"``.
    """

    score: float
    parsed: str | float | None
    kind: Kind

    @property
    def unparsed(self) -> bool:
        """True when the prediction could not be read as an answer of this kind."""
        return self.parsed is None


def mean_relative_accuracy(pred: float, gt: float) -> float:
    """VSI-Bench's Mean Relative Accuracy of one numeric prediction, in [0, 1].

    The fraction of thresholds θ in ``np.linspace(0.5, 0.95, 10)`` for which the relative error
    ``|pred - gt| / |gt|`` is at most ``1 - θ``. With ``gt == 0`` (undefined in VSI-Bench) the
    score is 1 for an exact prediction and 0 otherwise.

    >>> mean_relative_accuracy(2.2, 2.0)   # relative error 0.1: passes θ = 0.5 ... 0.9
    0.9
    """
    pred, gt = float(pred), float(gt)
    if not (math.isfinite(pred) and math.isfinite(gt)):
        return 0.0
    if gt == 0.0:
        return 1.0 if pred == 0.0 else 0.0
    relative_error = abs(pred - gt) / abs(gt)
    return float(np.mean(relative_error <= 1.0 - MRA_THRESHOLDS))


def task_kind(question_type: str, options: Sequence[str] | None = None) -> Kind:
    """Whether a question type is scored as multiple choice or as a number.

    VSI-Bench's ten question types map as the module docstring says; an unknown type is
    multiple choice when the record has options, else numeric.
    """
    if question_type in SCORED_MULTIPLE_CHOICE_TASKS:
        return "multiple_choice"
    if question_type in SCORED_NUMERIC_TASKS:
        return "numeric"
    return "multiple_choice" if options else "numeric"


def _focus(text: str) -> str:
    """The part of a free-text reply that holds the answer (inside <answer> or \\boxed{}, else all)."""
    for pattern in (_ANSWER_TAG_RE, _BOXED_RE):
        found = pattern.findall(text)
        if found:
            return found[-1]
    return text


def _normalise_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s,/-]", " ", text.lower()).split())


def parse_choice(prediction: object, options: Sequence[str] | None) -> str | None:
    """Read a multiple-choice prediction as an option letter (``"A"``...), or ``None``.

    Args:
        prediction: the agent's answer (usually a string).
        options: the record's options (``["A. left", "B. right", ...]``), or ``None`` when
            unknown (then any letter A–Z is accepted, option texts are not matched).
    """
    if not isinstance(prediction, str):
        return None
    letters = option_letters(options) if options else [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    valid = set(letters)
    texts = {letter: _normalise_text(option_text(o)) for letter, o in zip(letters, options or [])}
    text = _focus(prediction).strip().strip("\"'`*").strip()
    if not text:
        return None

    norm = _normalise_text(text)
    for letter, opt in texts.items():
        if opt and norm == opt:
            return letter

    def pick(letter: str) -> str | None:
        return letter.upper() if letter.upper() in valid else None

    m = re.fullmatch(r"\(?([A-Za-z])\)?\s*[.:)]?", text)
    if m:
        return pick(m.group(1))
    m = re.match(r"\(?([A-Za-z])\)?\s*[.:)]\s+\S|\(([A-Za-z])\)\s+\S", text)
    if m:
        return pick(m.group(1) or m.group(2))
    m = re.match(r"([A-Z])\s+\S", text)
    if m and pick(m.group(1)):
        return m.group(1)
    for m in reversed(list(_MARKED_LETTER_RE.finditer(text))):
        letter = pick(m.group(1) or m.group(2))
        if letter:
            return letter
    bracketed = set(re.findall(r"\(([A-Z])\)", text)) & valid
    if len(bracketed) == 1:
        return bracketed.pop()
    named = [letter for letter, opt in texts.items() if opt and re.search(rf"(?<!\w){re.escape(opt)}(?!\w)", norm)]
    named = [a for a in named if not any(b != a and texts[a] in texts[b] for b in named)]
    if len(named) == 1:
        return named[0]
    return None


def _to_float(token: str) -> float:
    """``"1,250.5"`` → 1250.5; ``"2,5"`` → 2.5 (see the module docstring for the comma rule)."""
    if re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:[eE][-+]?\d+)?", token):
        return float(token.replace(",", ""))
    return float(token.replace(",", "."))


def _unit_factor(text_after: str, question_type: str) -> float:
    """Factor turning a number followed by ``text_after`` into the task's unit (1 if no unit)."""
    target = _TASK_UNITS.get(question_type)
    if target is None:
        return 1.0
    dimension, per_task_unit = target
    m = _PRE_AREA_RE.match(text_after)
    area_stated = bool(m)
    if not m:
        m = _UNIT_RE.match(text_after)
        if not m:
            return 1.0
        area_stated = bool(m.group("post"))
    unit = m.group("unit").lower()
    if unit not in _LENGTH_UNITS:
        return 1.0
    metres = _LENGTH_UNITS[unit]
    if dimension == "length":
        return 1.0 if area_stated else metres / per_task_unit
    if area_stated:
        return metres**2 / per_task_unit
    return 1.0


def parse_number(prediction: object, question_type: str = "") -> float | None:
    """Read a numeric prediction as a float in the task's unit, or ``None``.

    Args:
        prediction: the agent's answer: a number, or text such as ``"2.5 m"``, ``"250 cm"``,
            ``"about 3 chairs"``, ``"Answer: 2,5"``.
        question_type: the VSI-Bench question type, which fixes the unit stated units are
            converted to (metres, centimetres, square metres; counts are unitless).
    """
    if isinstance(prediction, bool):
        return None
    if isinstance(prediction, Real):
        value = float(prediction)
        return value if math.isfinite(value) else None
    if not isinstance(prediction, str):
        return None
    text = _focus(prediction)
    markers = list(_MARKER_RE.finditer(text))
    candidates = [text[markers[-1].end():], text] if markers else [text]
    for part in candidates:
        m = _NUMBER_RE.search(part)
        if m:
            value = _to_float(m.group("num")) * _unit_factor(part[m.end():], question_type)
            return value if math.isfinite(value) else None
    for part in candidates:
        for m in re.finditer(r"[a-z]+", part.lower()):
            if m.group() in _NUMBER_WORDS:
                return float(_NUMBER_WORDS[m.group()]) * _unit_factor(part[m.end():], question_type)
    return None


def normalise_ground_truth(ground_truth: object, question_type: str, options: Sequence[str] | None) -> str | float:
    """The ground truth as a letter (multiple choice) or a float (numeric).

    Raises:
        ValueError: the ground truth cannot be read (a broken record, not a model error).
    """
    if task_kind(question_type, options) == "multiple_choice":
        letter = parse_choice(str(ground_truth), options)
        if letter is None:
            raise ValueError(f"ground truth {ground_truth!r} is not one of the options {list(options or [])}")
        return letter
    value = parse_number(ground_truth, question_type) if isinstance(ground_truth, str) else ground_truth
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"ground truth {ground_truth!r} is not a number")
    return float(value)


def score_prediction(
    prediction: object, ground_truth: object, question_type: str, options: Sequence[str] | None = None
) -> Score:
    """Score one prediction against its record's ground truth, as VSI-Bench does.

    Args:
        prediction: the agent's answer (``None`` when it never answered: scores 0, unparsed).
        ground_truth: the record's ground truth: an option letter or a number (as text or number).
        question_type: the record's VSI-Bench question type.
        options: the record's options, for multiple choice.
    """
    kind = task_kind(question_type, options)
    gt = normalise_ground_truth(ground_truth, question_type, options)
    if kind == "multiple_choice":
        letter = parse_choice(prediction, options)
        return Score(score=float(letter is not None and letter == gt), parsed=letter, kind=kind)
    value = parse_number(prediction, question_type)
    if value is None:
        return Score(score=0.0, parsed=None, kind=kind)
    return Score(score=mean_relative_accuracy(value, float(gt)), parsed=value, kind=kind)


def summarise(rows: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """Aggregate scored rows into VSI-Bench's summary.

    Args:
        rows: one mapping per finished question with at least ``question_type``, ``score``
            and ``unparsed`` (bool).

    Returns:
        ``{"overall", "per_task", "per_question_type", "n", "n_per_task", "unparsed"}``; scores are
        fractions in [0, 1]. ``per_task`` merges the direction splits into
        ``object_rel_direction`` (the mean of the split means present); ``overall`` is the mean
        of ``per_task``, or ``None`` when there are no rows. Tasks appear in VSI-Bench's order,
        unknown question types after them, alphabetically.
    """
    scores: dict[str, list[float]] = defaultdict(list)
    unparsed = 0
    for row in rows:
        scores[str(row["question_type"])].append(float(row["score"]))  # type: ignore[arg-type]
        unparsed += bool(row.get("unparsed"))
    per_type = {qt: float(np.mean(v)) for qt, v in scores.items()}
    per_task_lists: dict[str, list[float]] = defaultdict(list)
    n_per_task: dict[str, int] = defaultdict(int)
    for qt, mean in per_type.items():
        per_task_lists[task_of(qt)].append(mean)
        n_per_task[task_of(qt)] += len(scores[qt])
    order = {t: i for i, t in enumerate(SUMMARY_ORDER)}
    tasks = sorted(per_task_lists, key=lambda t: (order.get(t, len(order)), t))
    per_task = {t: float(np.mean(per_task_lists[t])) for t in tasks}
    return {
        "overall": float(np.mean(list(per_task.values()))) if per_task else None,
        "per_task": per_task,
        "per_question_type": dict(sorted(per_type.items())),
        "n": sum(len(v) for v in scores.values()),
        "n_per_task": {t: n_per_task[t] for t in tasks},
        "unparsed": unparsed,
    }
