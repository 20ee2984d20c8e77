"""Reading replies: fenced cells, final answers, pointing replies, condensed tracebacks."""

from __future__ import annotations

import pytest

from spatialclaw.agent.reply_parsing import condense_traceback, extract_cells, parse_final_answer, parse_point

FENCE = "```"


def test_extract_cells_counts_python_blocks_only() -> None:
    reply = f"Plan.\n{FENCE}python\nx = 1\nprint(x)\n{FENCE}\nThen:\n{FENCE}py\ny = 2\n{FENCE}\n{FENCE}text\nnot code\n{FENCE}"
    assert extract_cells(reply) == ["x = 1\nprint(x)", "y = 2"]
    assert extract_cells("No code, just words.") == []
    assert extract_cells(f"{FENCE}python\n\n{FENCE}") == []  # an empty cell is no cell


def test_extract_cells_takes_a_block_cut_off_at_the_token_limit() -> None:
    assert extract_cells(f"Measuring.\n{FENCE}python\nr = reconstruct()\nprint(r") == ["r = reconstruct()\nprint(r"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("I compared them.\nAnswer: B", "B"),
        ("**Answer:** C. table", "C"),
        ("Answer: (A)", "A"),
        ("Answer: lamp", "B"),  # the option's text maps to its letter
        ("B", "B"),
        ("answer('A')", "A"),
    ],
)
def test_final_answer_with_options(reply: str, expected: str) -> None:
    assert parse_final_answer(reply, ["A. sofa", "B. lamp", "C. table"]) == (expected, True)


def test_final_answer_without_options() -> None:
    assert parse_final_answer("So about\nAnswer: 2.5 m") == (2.5, True)
    assert parse_final_answer("Answer: 3 chairs") == (3, True)
    assert parse_final_answer("Answer: kitchen") == ("kitchen", True)
    assert parse_final_answer("answer(4.25)") == (4.25, True)
    assert parse_final_answer("First answer: 1\nFinal answer: 7") == (7, True)  # the last line wins


def test_final_answer_missing() -> None:
    assert parse_final_answer("I cannot tell from these frames.") == (None, False)
    assert parse_final_answer("Answer:", ["A. x"]) == (None, False)
    assert parse_final_answer("Definitely D", ["A. x", "B. y"]) == (None, False)


def test_parse_point_forms_and_coordinate_conventions() -> None:
    assert parse_point("It is at (320, 240).", 640, 480) == (320.0, 240.0)
    assert parse_point('{"point_2d": [100, 50]}', 640, 480) == (100.0, 50.0)
    assert parse_point('{"x": 12.5, "y": 40}', 640, 480) == (12.5, 40.0)
    # outside the image but within 0–1000: read as 0–1000 normalised
    assert parse_point("(800, 900)", 640, 480) == (512.0, 432.0)
    # two fractions: read as fractions of the image
    assert parse_point("(0.5, 0.25)", 640, 480) == (320.0, 120.0)
    # forced conventions
    assert parse_point("(500, 500)", 640, 480, coords="norm1000") == (320.0, 240.0)
    assert parse_point("(800, 100)", 640, 480, coords="pixel") == (639.0, 100.0)  # clamped
    assert parse_point("none", 640, 480) is None
    assert parse_point("It is not visible in this image.", 640, 480) is None


IPYTHON_TRACEBACK = """---------------------------------------------------------------------------
ZeroDivisionError                         Traceback (most recent call last)
Cell In[7], line 9
      7 kept = 'yes'
----> 9 outer()

Cell In[7], line 5, in outer()
      4 def outer():
----> 5     return inner(3)

Cell In[7], line 2, in inner(v)
      1 def inner(v):
----> 2     return v / 0

ZeroDivisionError: division by zero"""


def test_condense_traceback_keeps_last_frames_and_error_line() -> None:
    text = condense_traceback("ZeroDivisionError", "division by zero", IPYTHON_TRACEBACK)
    lines = text.splitlines()
    assert lines[0] == "... (1 earlier frames)"
    assert "Cell In[7], line 5, in outer()" in lines and "----> 2     return v / 0" in lines
    assert "outer()" not in lines[1:2] and "-----" not in text and "Traceback (most recent" not in text
    assert lines[-1] == "ZeroDivisionError: division by zero" and lines.count(lines[-1]) == 1


def test_condense_traceback_bounds_length() -> None:
    long = "\n".join(f"line {i} " + "x" * 400 for i in range(100))
    text = condense_traceback("ValueError", "bad", long, max_lines=10)
    lines = text.splitlines()
    assert len(lines) == 10 and lines[-1] == "ValueError: bad" and lines[0].startswith("... (")
    assert max(len(line) for line in lines) <= 300
    assert condense_traceback("KeyboardInterrupt", "", "") == "KeyboardInterrupt"
