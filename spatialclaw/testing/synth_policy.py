"""A scripted *policy* for the scripted VLM server: it answers synthetic-benchmark questions by
writing a real Python cell that uses the kernel's primitives.

    with ScriptedVLM(synth_policy) as vlm:
        spatialclaw eval bench/questions.jsonl --data-root bench --perception gt \\
            --model scripted-vlm --base-url <vlm.base_url> --out runs/x

The policy reads the question from the agent's first user message (``Question: ...``),
recognises which of the eight VSI-Bench task templates of `spatialclaw.synth.questions` (or the
six motion templates of `spatialclaw.synth.motion_questions`) it is, and replies with one
``python`` cell that computes the answer (``objects3d``, ``distance``, ``relative_direction``,
``room_size``; ``tracks3d`` and ``camera_motion`` for motion) and calls ``answer(...)``. The answer is therefore as
good as the perception and the primitives, which is what an end-to-end test should measure.
From the second step on (the first cell failed or did not answer) it gives up with
``answer("unknown")``, which scores 0 as unparsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from spatialclaw.testing.scripted_vlm import ChatRequest

GIVE_UP = 'Nothing more to try.\n```python\nanswer("unknown")\n```'

# Shared by the multiple-choice cells: the letter of the option whose text is `value`.
_PICK = 'letter = {o.split(". ", 1)[1]: o.split(". ", 1)[0] for o in options}[value]\nanswer(letter)'


def _count(m: re.Match[str]) -> str:
    return f"answer(len(objects3d({m['label']!r})))"


def _size(m: re.Match[str]) -> str:
    return f"obj = objects3d({m['label']!r})[0]\nanswer(round(float(max(obj.size)) * 100))"


def _room(m: re.Match[str]) -> str:
    return 'answer(room_size()["floor_area_m2"])'


def _abs_distance(m: re.Match[str]) -> str:
    return f"answer(round(distance(objects3d({m['a']!r})[0], objects3d({m['b']!r})[0]), 2))"


def _rel_distance(m: re.Match[str]) -> str:
    return (
        f"target = objects3d({m['target']!r})[0]\n"
        'd = {o.split(". ", 1)[0]: distance(objects3d(o.split(". ", 1)[1])[0], target) for o in options}\n'
        "print(d)\n"
        "answer(min(d, key=d.get))"
    )


def _direction(key: str) -> Callable[[re.Match[str]], str]:
    def cell(m: re.Match[str]) -> str:
        return (
            f"where = relative_direction(objects3d({m['a']!r})[0], objects3d({m['b']!r})[0], objects3d({m['c']!r})[0])\n"
            f"print(where)\nvalue = where[{key!r}]\n" + _PICK
        )

    return cell


def _route(m: re.Match[str]) -> str:
    return (
        f"s, f, mid, e = (objects3d(name)[0] for name in {[m['s'], m['f'], m['m'], m['e']]!r})\n"
        "def turn(prev, at, nxt):\n"
        "    ahead = at.center + (at.center - prev.center)\n"
        "    angle = relative_direction(at.center, ahead, nxt.center)['angle_deg']\n"
        "    return 'Turn Back' if abs(angle) > 140 else ('Turn Left' if angle > 0 else 'Turn Right')\n"
        "value = ', '.join([turn(s, f, mid), turn(f, mid, e)])\n"
        "print(value)\n" + _PICK
    )


def _appearance(m: re.Match[str]) -> str:
    labels = [x.strip() for x in m["labels"].split(",")]
    return (
        f"first = {{label: min(o.first_frame for o in objects3d(label)) for label in {labels!r}}}\n"
        "print(first)\n"
        "value = ', '.join(sorted(first, key=first.get))\n" + _PICK
    )


# Motion cells: the track of a named object that moved the most (a label named once is one object,
# but a tracker may split it or add a stray track), and times as numbers.
_MOVER = "def mover(name):\n    return max(tracks3d(name), key=lambda t: (t.moved, t.distance_travelled(), len(t)))\n"


def _moved(m: re.Match[str]) -> str:
    return (
        "travel = {}\n"
        "for o in options:\n"
        '    letter, name = o.split(". ", 1)\n'
        "    travel[letter] = max([t.distance_travelled() for t in tracks3d(name) if t.moved] or [0.0])\n"
        "print(travel)\n"
        "answer(max(travel, key=travel.get))"
    )


def _travel(m: re.Match[str]) -> str:
    return (
        "import numpy as np\n" + _MOVER + f"t = mover({m['label']!r})\nprint(t)\n"
        f"answer(round(float(np.linalg.norm(t.displacement({float(m['t0'])}, {float(m['t1'])}))), 2))"
    )


def _speed(m: re.Match[str]) -> str:
    return _MOVER + f"t = mover({m['label']!r})\nprint(t)\nanswer(round(t.speed(), 3))"


def _approach(m: re.Match[str]) -> str:
    t0, t1 = float(m["t0"]), float(m["t1"])
    return (
        "import numpy as np\n" + _MOVER + f"a = mover({m['a']!r})\nb = max(tracks3d({m['b']!r}), key=len)\n"
        f"gap = [float(np.linalg.norm(a.position_at(t)[:2] - b.position_at(t)[:2])) for t in ({t0}, {t1})]\n"
        'print(gap)\nvalue = "closer" if gap[1] < gap[0] else "farther away"\n' + _PICK
    )


def _move_direction(m: re.Match[str]) -> str:
    return (
        _MOVER + f"t = mover({m['label']!r})\nr = reconstruct()\nright = r.pose[r.index(0)][:3, 0]\n"
        "d = t.displacement()\nprint(t, d)\n"
        'value = "right" if float(d[:2] @ right[:2]) > 0 else "left"\n' + _PICK
    )


def _camera(m: re.Match[str]) -> str:
    return f"move = camera_motion(t0={float(m['t0'])}, t1={float(m['t1'])})\nprint(move)\nanswer(move['distance_m'])"


_TIMES = r"(?P<t0>\d+(?:\.\d+)?) s and (?P<t1>\d+(?:\.\d+)?) s"
_DIRECTION = r"If I am standing by the (?P<a>.+?) and facing the (?P<b>.+?), is the (?P<c>.+?) to "
TEMPLATES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    ("object_counting", re.compile(r"How many (?P<label>.+?)\(s\) are in this room\?"), _count),
    ("object_size_estimation", re.compile(r"dimension \(length, width, or height\) of the (?P<label>.+?), measured in centimeters"), _size),
    ("room_size_estimation", re.compile(r"What is the size of this room"), _room),
    ("object_abs_distance", re.compile(r"distance between the (?P<a>.+?) and the (?P<b>.+?) \(in meters\)"), _abs_distance),
    ("object_rel_distance", re.compile(r"which of these objects \(.+?\) is the closest to the (?P<target>.+?)\?"), _rel_distance),
    ("object_rel_direction_easy", re.compile(_DIRECTION + r"the left or the right"), _direction("side")),
    ("object_rel_direction_medium", re.compile(_DIRECTION + r"my left, right, or back"), _direction("left_right_back")),
    ("object_rel_direction_hard", re.compile(_DIRECTION + r"my front-left"), _direction("quadrant")),
    (
        "route_planning",
        re.compile(
            r"beginning at the (?P<s>.+?) facing the (?P<f>.+?)\. You want to navigate to the (?P<e>.+?)\..*?"
            r"3\. Go forward until the (?P<m>.+?) 4\."
        ),
        _route,
    ),
    ("obj_appearance_order", re.compile(r"appearance order of the following categories in the video: (?P<labels>.+?)\?"), _appearance),
    ("object_moved", re.compile(r"Which of these objects \((?P<names>.+?)\) moved during the video\?"), _moved),
    ("object_travel_distance", re.compile(r"How far did the (?P<label>.+?) travel between " + _TIMES), _travel),
    ("object_speed", re.compile(r"average speed of the (?P<label>.+?) while it was moving"), _speed),
    ("object_approach", re.compile(r"Between " + _TIMES + r" of the video, did the (?P<a>.+?) move closer to the (?P<b>.+?) or farther"), _approach),
    ("object_move_direction", re.compile(r"did the (?P<label>.+?) move to the left or to the right\?"), _move_direction),
    ("camera_displacement", re.compile(r"How far did the camera move in a straight line between " + _TIMES), _camera),
]


def question_of(request: ChatRequest) -> str:
    """The question the agent asked about, from its first user message (``Question: ...``)."""
    for msg in request.messages:
        if msg.get("role") == "user":
            text = "\n".join(request_texts(msg))
            m = re.search(r"Question: (.+)", text)
            return m.group(1).strip() if m else text
    return ""


def request_texts(message: dict) -> list[str]:
    """The text parts of one chat message."""
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or [] if p.get("type") == "text"]


def cell_for(question: str) -> tuple[str, str] | None:
    """``(question_type, cell code)`` for a synthetic-benchmark question, or None if unknown."""
    for question_type, pattern, make in TEMPLATES:
        m = pattern.search(question)
        if m:
            return question_type, make(m)
    return None


def synth_policy(request: ChatRequest) -> str:
    """The reply to one chat request (use as ``ScriptedVLM(synth_policy)``)."""
    if any(msg.get("role") == "assistant" for msg in request.messages):
        return GIVE_UP
    found = cell_for(question_of(request))
    if found is None:
        return GIVE_UP
    question_type, code = found
    return f"This is a {question_type} question; I compute it from the 3D objects.\n```python\n{code}\n```"
