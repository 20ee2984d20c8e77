"""Prompt templates, as files (installed as ``spatialclaw.prompts``), rendered with jinja2.

- ``system.md.j2``: the role, the working rules, the kernel's preloaded names, the primitives
  section (generated from the registered primitives by the caller) and the answer protocol.
- ``answer.md.j2``: the answer protocol, included by the system prompt.
- ``task.md.j2``: the text of the first user turn (question, ``Options:`` block, frame legend).
- ``final.md.j2``: the last turn at the step budget: answer without code.

Undefined template variables are errors, so a template and its caller cannot drift apart.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from spatialclaw.options import format_options

TEMPLATE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(name: str, **context: Any) -> str:
    """Render template ``name`` (e.g. ``"system.md.j2"``) with ``context``; surrounding blank space stripped."""
    return _environment().get_template(name).render(**context).strip()


def system_prompt(
    *,
    primitives: str,
    max_steps: int,
    n_frames: int,
    source_description: str,
    has_options: bool,
    vlm_calls_per_cell: int | None = None,
    vlm_calls_per_run: int | None = None,
) -> str:
    """The system prompt.

    Args:
        primitives: the toolbox section, from ``spatialclaw.primitives.render_prompt_section()``.
        max_steps: cells the model may run.
        n_frames: frames preloaded in the kernel.
        source_description: what the frames come from, e.g. ``"a video (12.0 s)"``.
        has_options: whether the question is multiple choice (changes the answer protocol).
        vlm_calls_per_cell: the cap on nested VLM questions (``ask_vlm``, ``locate``) in one cell; None: not stated.
        vlm_calls_per_run: the cap on nested VLM questions in the whole task.
    """
    return render(
        "system.md.j2",
        primitives=primitives,
        max_steps=max_steps,
        n_frames=n_frames,
        source_description=source_description,
        has_options=has_options,
        vlm_calls_per_cell=vlm_calls_per_cell,
        vlm_calls_per_run=vlm_calls_per_run,
    )


def task_prompt(
    *, question: str, options: list[str] | None, shown: list[int], n_frames: int, max_steps: int, inputs: list[str] | None = None
) -> str:
    """The text of the first user turn (the key frames follow it as images).

    Args:
        question: the question.
        options: the answer options or None; rendered as an ``Options:`` block, one ``A. ...`` per line.
        shown: positions in ``frames`` of the key frames attached to this turn.
        n_frames: frames preloaded in the kernel.
        max_steps: cells the model may run.
        inputs: one line per input when the question has several (``"inputs[0]: image 'a.jpg', frames[0:1]"``).
    """
    return render(
        "task.md.j2",
        question=question.strip(),
        options=format_options(options),
        shown=shown,
        n_frames=n_frames,
        max_steps=max_steps,
        inputs=inputs or [],
    )


def final_prompt(*, max_steps: int, has_options: bool) -> str:
    """The last user turn once the step budget is spent: answer on an ``Answer:`` line, without code."""
    return render("final.md.j2", max_steps=max_steps, has_options=has_options)
