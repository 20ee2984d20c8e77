"""Message texts and the CLI's table of library errors (`spatialclaw.errors`)."""

from __future__ import annotations

import ast
import errno

import pytest
from cli_runner import run_cli
from source_modules import our_modules

from spatialclaw.errors import ConfigError, ModelError, library_error_message


def test_constructors_give_one_line_that_says_what_to_check() -> None:
    where = "the VLM server at http://127.0.0.1:8000/v1"
    for err in (
        ModelError.bad_key(where),
        ModelError.unknown_model(where, "qwen"),
        ModelError.unreachable(where, 3),
        ModelError.http_status(where, 503, "busy", retried=True, attempts=6),
        ConfigError.no_model(["a", "b"]),
    ):
        assert "\n" not in str(err) and ("check" in str(err) or "pass" in str(err) or "gave up" in str(err))
    assert "6 attempts" in str(ModelError.http_status(where, 503, "busy", retried=True, attempts=6))
    assert "(the server lists: a, b)" in str(ConfigError.no_model(["a", "b"]))


ERROR_CLASSES = frozenset({"SpatialClawError", "InputError", "ConfigError", "ModelError", "KernelError", "PerceptionError"})


def _writes_text(node: ast.expr) -> bool:
    """Whether ``node`` writes a message in place: a string, an f-string, ``"..." + x`` or ``TEMPLATE.format(...)``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _writes_text(node.left) or _writes_text(node.right)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr == "format"
    return isinstance(node, ast.JoinedStr)


def inline_messages(source: str) -> list[int]:
    """Lines where one of our error classes is made with a text written there, not by a constructor
    of `spatialclaw.errors` (passing on a message made elsewhere, ``PerceptionError(reply["error"])``, is fine)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in ERROR_CLASSES and _writes_text(node.args[0]):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_finds_texts_written_in_place() -> None:
    source = (
        'raise InputError(f"{path} is missing")\n'
        'raise errors.ConfigError("no cells to run")\n'
        'raise PerceptionError(TEXT.format(n=1))\n'
        'raise ModelError("cannot reach " + where)\n'
        "raise InputError.missing(path)\n"
        'raise PerceptionError(reply["perception_error"])\n'
        "raise KernelError(str(err))\n"
    )
    assert inline_messages(source) == [1, 2, 3, 4]


def test_message_texts_live_in_errors_py() -> None:
    """Issue #10, item 7: every user-facing error's text comes from a constructor or template in errors.py."""
    found = [
        f"{path}:{line}"
        for module, path in our_modules().items()
        if module != "spatialclaw.errors"
        for line in inline_messages(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "add a constructor to spatialclaw/errors.py for each of these: " + ", ".join(found)


def test_with_note_keeps_the_kind() -> None:
    noted = ModelError("cannot reach x").with_note(" (and more)")
    assert type(noted) is ModelError and str(noted) == "cannot reach x (and more)"


def test_library_errors_table() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/runs/a")
    assert library_error_message(full).startswith("no space left on the device /runs/a: free some space")
    missing = ModuleNotFoundError("No module named 'ray'", name="ray")
    assert library_error_message(missing) == "this command needs ray, which is not installed: pip install 'spatialclaw[ray]'"
    assert library_error_message(ModuleNotFoundError("No module named 'oops'", name="oops")) is None  # a bug
    assert library_error_message(KeyError("a bug")) is None


def test_cli_turns_a_library_error_into_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import spatialclaw.inputs.load as load

    def denied(path):  # noqa: ANN001, ANN202
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(load, "describe_input", denied)
    code, out, err = run_cli(["info", "/data/room.mp4"], capsys)
    assert code == 2 and out == ""
    assert err == "error: permission denied /data/room.mp4: check the folder's permissions, or choose another --out / SPATIALCLAW_CACHE\n"


def test_cli_lets_a_bug_raise(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import spatialclaw.inputs.load as load

    def bug(path):  # noqa: ANN001, ANN202
        raise KeyError("a bug")

    monkeypatch.setattr(load, "describe_input", bug)
    with pytest.raises(KeyError):
        run_cli(["info", "/data/room.mp4"], capsys)
