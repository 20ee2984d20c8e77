"""Folding kernel messages never raises, whatever their shape (unit level, no kernel)."""

from __future__ import annotations

import random
from typing import Any

from spatialclaw.kernel.bootstrap import ANSWER_MIME, HOST_CALL_PREFIX
from spatialclaw.kernel.messages import CappedText, CellCollector, ImageBudget, host_call_reply, parent_id

SHAPES: list[Any] = [None, 0, 1.5, float("nan"), "", "x" * 50, [], [1, "a"], {}, {"a": {"b": []}}, True, b"\x00"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    if depth > 2 or rng.random() < 0.4:
        return rng.choice(SHAPES)
    if rng.random() < 0.5:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["text", "data", "name", "execution_state", "ename", "evalue", "traceback", "status",
            "user_expressions", "image/png", "text/plain", ANSWER_MIME, "value", "msg_id"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_message(rng: random.Random) -> Any:
    if rng.random() < 0.1:
        return random_value(rng)
    kinds = ["status", "stream", "display_data", "execute_result", "update_display_data", "error", "other", 3, None]
    return {
        "msg_type": rng.choice(kinds),
        "header": rng.choice([{"msg_id": str(rng.randint(0, 20))}, {"msg_id": 4}, [], None]),
        "parent_header": rng.choice([{"msg_id": "p"}, [], None, {"msg_id": ["p"]}]),
        "content": random_value(rng),
    }


def test_random_messages_never_raise() -> None:
    rng = random.Random(12)
    collector = CellCollector(CappedText(200), ImageBudget(3, 10**6), 200)
    for _ in range(3000):
        msg = random_message(rng)
        parent_id(msg)
        collector.fold_iopub(msg)
        collector.fold_reply(msg)
    assert len(collector.notices) <= 20 and len(collector.text.value()) <= 200 + 60


def test_random_host_calls_get_a_json_reply() -> None:
    import json

    rng = random.Random(3)
    handlers = {"echo": lambda payload: payload, "boom": lambda payload: 1 / 0}
    for _ in range(500):
        body = rng.choice(['{"method": "echo", "payload": {}}', '{"method": "boom", "payload": {}}', "nope", "[]",
                           json.dumps(random_value(rng), default=str), '{"method": 1, "payload": {}}'])
        reply = host_call_reply(HOST_CALL_PREFIX + body, handlers)
        assert set(json.loads(reply)) <= {"result", "error"}
    assert host_call_reply(["not", "a", "string"], handlers) == "\x04"
