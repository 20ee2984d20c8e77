"""Reading model replies and condensing kernel errors: the text handling of the agent loop.

- `extract_cells`: the fenced ```python cells of a reply; `reply_prose`: the reply without them.
- `parse_final_answer`: the ``Answer: ...`` line of the last, code-free turn.
- `parse_point`: an image point from a pointing reply, in pixels.
- `condense_traceback`: the last frames and the error line of an IPython traceback.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Literal

from spatialclaw.options import option_letters, option_text

# The opening fence of a python cell: ```python, ```python3 or ```py, alone on its line.
_CELL_START = r"```[ \t]*(?:python3?|py)[ \t]*\r?\n"
_FENCE = re.compile(_CELL_START + r"(.*?)```", re.IGNORECASE | re.DOTALL)
_OPEN_FENCE = re.compile(_CELL_START + r"(.*)\Z", re.IGNORECASE | re.DOTALL)
_CELL_OR_TAIL = re.compile(_CELL_START + r".*?(?:```|\Z)", re.IGNORECASE | re.DOTALL)
_ANSWER_LINE = re.compile(r"^[\s>*_#-]*(?:final\s+)?answer[\s*_]*[:=][\s*_]*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_ANSWER_CALL = re.compile(r"\banswer\((.+?)\)\s*$", re.MULTILINE)
_LETTER = re.compile(r"^[\s(\[*_`\"']*([A-Z])(?:[\s.):\]*_`\"']|$)")
_NUMBER = re.compile(r"^[\s*_`\"'~≈]*(-?\d+(?:[.,]\d+)?)(?![\d/:])")
_NUM = r"(-?\d+(?:\.\d+)?)"
_PAIR = re.compile(r"[\(\[]\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*[\)\]]")
_X = re.compile(r"\bx\W{0,3}\s*[:=]\s*\W{0,2}" + _NUM, re.IGNORECASE)
_Y = re.compile(r"\by\W{0,3}\s*[:=]\s*\W{0,2}" + _NUM, re.IGNORECASE)


def extract_cells(reply: str) -> list[str]:
    """The code of every fenced ```python (or ```py) block of ``reply``, in order.

    A reply cut off inside its only block (no closing fence, e.g. at the token limit) yields
    that block's code.
    """
    cells = [m.group(1).strip("\n") for m in _FENCE.finditer(reply)]
    if not cells:
        tail = _OPEN_FENCE.search(reply)
        if tail and "```" not in tail.group(1):
            cells = [tail.group(1).rstrip()]
    return [c for c in cells if c.strip()]


def reply_prose(reply: str) -> str:
    r"""The reply without its fenced python cells (the reasoning around the code).

    >>> reply_prose("Count them.\n```python\nprint(len(frames))\n```\nThen answer.")
    'Count them.\n\nThen answer.'
    """
    return re.sub(r"\n{3,}", "\n\n", _CELL_OR_TAIL.sub("", reply)).strip()


def _clean(value: str) -> str:
    value = value.strip().strip("`*_").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value.rstrip(".").strip()


def _normalise(value: Any, options: list[str] | None) -> Any:
    """A letter for multiple choice (also from the option's text), else a number where the value starts with one."""
    if not isinstance(value, str):
        return value
    text = _clean(value)
    if options:
        letters = option_letters(options)
        letter = _LETTER.match(text)
        if letter and letter.group(1) in letters:
            return letter.group(1)
        for option_letter, option in zip(letters, options):
            body = option_text(option).lower()
            if body and text.lower() == body:
                return option_letter
        return text
    number = _NUMBER.match(text)
    if number:
        num = float(number.group(1).replace(",", "."))
        return int(num) if num.is_integer() and "." not in number.group(1) and "," not in number.group(1) else num
    return text


def parse_final_answer(reply: str, options: list[str] | None = None) -> tuple[Any, bool]:
    """The answer in a code-free final reply: ``(value, True)``, or ``(None, False)`` if there is none.

    Reads the last ``Answer: ...`` line, else the last ``answer(...)`` call. With ``options`` the
    value becomes the option letter (``"B"``), also when the model wrote the option's text;
    without, a value that starts with a number becomes that number (``"2.5 m"`` → 2.5).
    """
    lines = _ANSWER_LINE.findall(reply)
    if lines and _clean(lines[-1]):
        return _normalise(lines[-1], options), True
    calls = _ANSWER_CALL.findall(reply)
    if calls:
        try:
            return _normalise(ast.literal_eval(calls[-1].strip()), options), True
        except (ValueError, SyntaxError):
            return _normalise(calls[-1], options), True
    if options:
        letter = re.fullmatch(r"[\s(*_`\"']*([A-Z])[\s.)*_`\"']*", reply)
        if letter and letter.group(1) in option_letters(options):
            return letter.group(1), True
    return None, False


def parse_point(
    reply: str, width: int, height: int, coords: Literal["auto", "pixel", "norm1000"] = "auto"
) -> tuple[float, float] | None:
    """A point in a ``width``×``height`` image from a pointing reply, as pixels ``(x, y)``.

    Accepted forms: ``(x, y)``, ``[x, y]`` (also inside JSON such as ``{"point_2d": [x, y]}``)
    and ``x=..., y=...`` / ``{"x": .., "y": ..}``. x grows to the right, y downwards, from the
    top-left corner. None when the reply holds no point (e.g. "not visible").

    ``coords`` says how numbers are read: ``"pixel"`` as pixels of this image, ``"norm1000"``
    as 0–1000 normalised coordinates (Qwen3-VL, Gemini style), ``"auto"`` (default): two values
    in [0, 1] with a decimal point are fractions of the image size, values inside the image are
    pixels, and values up to 1000 that fall outside it are 0–1000 normalised. The result is
    clamped to the image.
    """
    match = None
    for candidate in _PAIR.finditer(reply):
        match = (candidate.group(1), candidate.group(2))
        break
    if match is None:
        mx, my = _X.search(reply), _Y.search(reply)
        if mx and my:
            match = (mx.group(1), my.group(1))
    if match is None:
        return None
    x, y = float(match[0]), float(match[1])
    if coords == "norm1000":
        x, y = x * width / 1000.0, y * height / 1000.0
    elif coords == "auto":
        fractional = "." in match[0] + match[1] and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0
        if fractional:
            x, y = x * width, y * height
        elif not (0 <= x <= width and 0 <= y <= height) and 0 <= x <= 1000 and 0 <= y <= 1000:
            x, y = x * width / 1000.0, y * height / 1000.0
    return min(max(x, 0.0), float(width - 1)), min(max(y, 0.0), float(height - 1))


def condense_traceback(ename: str, evalue: str, traceback: str, *, max_frames: int = 2, max_lines: int = 16) -> str:
    """The last ``max_frames`` frames of an IPython traceback and the error line, at most ``max_lines`` lines.

    Separator rules and the "Traceback (most recent call last)" banner are dropped; long lines
    are shortened; the result always ends with ``ename: evalue``.
    """
    lines = [
        line.rstrip()
        for line in traceback.splitlines()
        if line.strip() and not re.fullmatch(r"\s*-{5,}\s*", line) and "Traceback (most recent call last)" not in line
    ]
    starts = [i for i, line in enumerate(lines) if re.match(r"\s*(Cell In\[|File \"|File [^\s]+, line|Input In \[)", line)]
    if len(starts) > max_frames:
        lines = [f"... ({len(starts) - max_frames} earlier frames)"] + lines[starts[-max_frames] :]
    error_line = f"{ename}: {evalue}" if evalue else ename
    if lines and lines[-1].strip() == error_line.strip():
        lines = lines[:-1]
    if len(lines) > max_lines - 1:
        lines = [f"... ({len(lines) - (max_lines - 2)} lines)"] + lines[-(max_lines - 2) :]
    lines = [line if len(line) <= 300 else line[:297] + "..." for line in lines]
    return "\n".join(lines + [error_line])
