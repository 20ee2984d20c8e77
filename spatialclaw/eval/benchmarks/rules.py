"""Scoring rules shared by the benchmarks: exact option letter, Mean Relative Accuracy, and the
ground-truth forms benchmarks use for letters (``"A"``, ``"(A)"``, ``"A. right"``, an index).

Reading a prediction: an agent's ``answer(...)`` is a letter, a number or a sentence, so letters
and numbers are read with `spatialclaw.eval.scoring.parse_choice` / ``parse_number`` (a letter,
``"(B)"``, ``"Answer: B"``, an option's text; numbers with units) rather than each benchmark's
own regular expression; the comparison and the aggregation are each benchmark's own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from spatialclaw.eval.scoring import Score, parse_choice, parse_number

MRA_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)
"""VSI-Bench's thresholds θ = 0.50, 0.55, ..., 0.95; official code writes them as
``np.linspace(start, end, int((end - start) / interval + 2))`` with (.5, .95, .05), which is 10
points in floating point."""

_LETTER_RE = re.compile(r"^\s*\(?([A-Za-z])\)?(?:\s*[.:)]|\s|$)")


def letter(value: object) -> str:
    """An option letter from a benchmark's ground truth: ``"B"``, ``"(B)"``, ``"B. right"``, ``"b"``.

    Raises:
        ValueError: the value starts with no option letter.
    """
    m = _LETTER_RE.match(str(value))
    if not m:
        raise ValueError(f"ground truth {value!r} is not an option letter")
    return m.group(1).upper()


def index_letter(index: object) -> str:
    """The letter of a 0-based option index (``2`` → ``"C"``)."""
    i = int(index)  # type: ignore[call-overload]
    if not 0 <= i < 26:
        raise ValueError(f"option index {index!r} is out of range")
    return chr(ord("A") + i)


def lettered(options: Sequence[str]) -> list[str]:
    """Options as ``"A. text"`` lines (kept as they are when already lettered in order)."""
    out = []
    for i, text in enumerate(options):
        text = str(text).strip()
        prefix = chr(ord("A") + i)
        out.append(text if re.match(rf"^\(?{prefix}\)?\s*[.:)]", text) else f"{prefix}. {text}")
    return out


def mra(pred: float, target: float) -> float:
    """Mean Relative Accuracy: the fraction of θ in `MRA_THRESHOLDS` with ``|pred - target| / |target| <= 1 - θ``.

    With ``target == 0``: 1 for an exact prediction, else 0.
    """
    pred, target = float(pred), float(target)
    if not (math.isfinite(pred) and math.isfinite(target)):
        return 0.0
    if target == 0.0:
        return 1.0 if pred == 0.0 else 0.0
    return float(np.mean(abs(pred - target) / abs(target) <= 1.0 - MRA_THRESHOLDS))


def choice_score(prediction: object, target: str, options: Sequence[str] | None) -> Score:
    """1 when the prediction reads as the target letter, else 0 (unparsed when no letter reads)."""
    chosen = parse_choice(prediction, options) if options else parse_choice(prediction, None)
    return Score(score=float(chosen is not None and chosen == target), parsed=chosen, kind="multiple_choice")


def number_score(prediction: object, target: float, unit_task: str = "") -> Score:
    """The MRA of a numeric prediction (unparsed, 0, when no number reads)."""
    value = parse_number(prediction, unit_task)
    if value is None:
        return Score(score=0.0, parsed=None, kind="numeric")
    return Score(score=mra(value, target), parsed=value, kind="numeric")


def options_from_text(text: str) -> list[str] | None:
    """Options written inside a question (``"... A. left B. right"`` or one per line), or None."""
    starts = list(re.finditer(r"(?:(?<=\s)|^)\(?([A-H])\)?[.:)]\s+", text))
    expected, picked = "A", []
    for m in starts:
        if m.group(1) == expected:
            picked.append(m)
            expected = chr(ord(expected) + 1)
    if len(picked) < 2:
        return None
    bounds = [m.start() for m in picked] + [len(text)]
    return [f"{m.group(1)}. {text[m.end():bounds[i + 1]].strip().rstrip(',;')}" for i, m in enumerate(picked)]
