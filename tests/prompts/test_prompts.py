"""The rendered prompts: a golden system prompt for a fixed small registry, and the first turn's text.

Regenerate the golden file after an intended change as `golden_files` says, and review the diff.
"""

from __future__ import annotations


import numpy as np
import pytest
from golden_files import check_golden

from spatialclaw import prompts
from spatialclaw.primitives.registry import Primitive, describe, render_prompt_section


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Closest-point distance between two point sets, in metres.

    Args:
        a: (N, 3) points in world coordinates, metres.
        b: (M, 3) points in world coordinates, metres.
    """
    raise NotImplementedError


def count_frames(step: int = 1) -> int:
    """How many frames there are, counting every ``step``-th one.

    Args:
        step: take every step-th frame.
    """
    raise NotImplementedError


def _fixed_registry() -> list[Primitive]:
    return [describe(f, group) for f, group in ((count_frames, "frames"), (distance, "geometry"))]


def render_golden_prompt() -> str:
    return prompts.system_prompt(
        primitives=render_prompt_section(_fixed_registry()),
        max_steps=10,
        n_frames=16,
        source_description="a video of 8.0 s",
        has_options=True,
    )


def test_system_prompt_matches_golden_file() -> None:
    check_golden("system_prompt.md", render_golden_prompt() + "\n")


def test_answer_protocol_follows_the_question_kind() -> None:
    section = render_prompt_section(_fixed_registry())
    common = dict(primitives=section, max_steps=4, n_frames=8, source_description="an image")
    with_options = prompts.system_prompt(has_options=True, **common)
    open_ended = prompts.system_prompt(has_options=False, **common)
    assert 'answer("B")' in with_options and "answer(2.4)" not in with_options
    assert "answer(2.4)" in open_ended and 'answer("B")' not in open_ended
    assert "def distance(a: np.ndarray, b: np.ndarray) -> float:" in with_options


def test_task_prompt_lists_options_vsi_bench_style() -> None:
    text = prompts.task_prompt(
        question=" Which is closer? ", options=["sofa", "B) lamp", "C. table"], shown=[0, 4], n_frames=8, max_steps=5
    )
    assert text.startswith("Question: Which is closer?\nOptions:\nA. sofa\nB) lamp\nC. table\n")
    assert "Below are 2 of the 8 frames" in text and "You have 5 cells" in text
    assert "Options:" not in prompts.task_prompt(question="How far?", options=None, shown=[], n_frames=0, max_steps=5)


def test_templates_refuse_missing_variables() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        prompts.render("final.md.j2", max_steps=3)
