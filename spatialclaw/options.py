"""Multiple-choice options, lettered as VSI-Bench letters them: ``"A. left"``, one per line.

One rule for the prompt (`format_options`), the agent's reading of a final answer and the
scoring (`option_letters`, `option_text`): an option is already lettered when it starts with one
letter, optionally in parentheses, then ``.``, ``)`` or ``:`` and a space (``"B. right"``,
``"(c) back"``, ``"D: none"``); otherwise options are lettered A, B, C, ... by position.

>>> format_options(["left", "right"])
['A. left', 'B. right']
>>> option_letters(["(b) near", "c: far"]), option_text("B. right")
(['B', 'C'], 'right')
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

LETTERS = string.ascii_uppercase
_LETTERED = re.compile(r"^\s*\(?([A-Za-z])\)?\s*[.:)](?:\s+|$)")


def letter(position: int) -> str:
    """The letter of the option at ``position`` (0 → ``"A"``)."""
    return LETTERS[position]


def lettered(texts: Sequence[str]) -> list[str]:
    """``texts`` as ``"A. text"`` options, lettered by position."""
    return [f"{letter(i)}. {text}" for i, text in enumerate(texts)]


def format_options(options: Sequence[str] | None) -> list[str]:
    """Options as ``"A. ..."`` lines; ones already lettered are kept as given (stripped)."""
    if not options:
        return []
    return [o.strip() if _LETTERED.match(o) else f"{letter(i)}. {o.strip()}" for i, o in enumerate(options)]


def option_letters(options: Sequence[str]) -> list[str]:
    """The letter of each option: its own prefix (upper-cased), else A, B, C, ... by position."""
    letters = []
    for i, option in enumerate(options):
        m = _LETTERED.match(str(option))
        letters.append(m.group(1).upper() if m else letter(i))
    return letters


def option_text(option: str) -> str:
    """An option without its letter prefix: ``"B. left"`` → ``"left"``."""
    return _LETTERED.sub("", str(option), count=1).strip()
