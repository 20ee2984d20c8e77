"""One test per host-crash class: a cell forges Jupyter messages (it holds the signing key) and
`KernelSession.execute` must turn each into a notice or an error, never raise; the next cell runs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from spatialclaw.inputs.frame import Frame
from spatialclaw.inputs.frame import LoadedInput
from spatialclaw.inputs.frame_cache import save_frames
from spatialclaw.kernel.session import KernelSession

SEND = (
    "import json\n"
    "k = get_ipython().kernel\n"
    "def send(kind, content, times=1):\n"
    "    msg = k.session.msg(kind, content, parent=k.get_parent('shell'))\n"
    "    for _ in range(times):\n"
    "        k.session.send(k.iopub_socket, msg)\n"
    "def raw(header, content):\n"  # signed frames whose JSON the kernel's own serializer would never write
    "    parent = dict(k.get_parent('shell')['header'], date='2026-01-01T00:00:00Z')\n"
    "    parts = [header.encode(), json.dumps(parent).encode(), b'{}', content.encode()]\n"
    "    k.iopub_socket.send_multipart([b'x', b'<IDS|MSG>', k.session.sign(parts), *parts])\n"
    "def header(kind, date='2026-01-01T00:00:00Z'):\n"
    "    return json.dumps({'msg_id': kind + str(id(object())), 'msg_type': kind, 'session': 's', 'username': 'u',\n"
    "                       'date': date, 'version': '5.3'})\n"
)


def loaded(folder: Path) -> LoadedInput:
    frames = [Frame(index=k, time=float(k), image=np.full((8, 8, 3), 40 * k, np.uint8)) for k in range(3)]
    save_frames(folder / "frames.npz", frames)
    return LoadedInput("images", [folder], frames, folder / "frames.npz", None, 3)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    with KernelSession(loaded(tmp_path_factory.mktemp("forged")), cell_timeout=30,
                       host_handlers={"echo": lambda payload: payload}) as kernel:
        kernel.execute(SEND)
        yield kernel


def goes_on(session: KernelSession) -> None:
    result = session.execute("answer(len(frames))")
    assert result.error is None and result.answered and result.answer == 3


@pytest.mark.parametrize(
    "forged",
    [
        "send('stream', {'name': 'stdout', 'text': ['a', 'list']})",
        "send('display_data', {'data': {'text/plain': {'a': 'dict'}}, 'metadata': {}})",
        "send('display_data', {'data': {'image/png': 'not base64 !!'}, 'metadata': {}})",
        "send('display_data', {'data': {'image/png': base64.b64encode(b'GIF89a not a png').decode()}, 'metadata': {}})",
        "send('display_data', {'data': {'application/vnd.spatialclaw.answer+json': 'B'}, 'metadata': {}})",
        "send('display_data', {'data': ['a', 'list'], 'metadata': {}})",
        "send('display_data', 'content as a string')",
        "send('error', {'ename': ['x'], 'evalue': {'y': 1}, 'traceback': 'not a list'})",
        "k.iopub_socket.send_multipart([b'garbage', b'<IDS|MSG>', b'bad', b'{', b'{', b'{', b'{'])",
        "raw(header('stream'), '{\"name\": \"stdout\", \"text\": ' + '[' * 200000 + ']' * 200000 + '}')",
        "raw('{\"a\": ' + '[' * 200000 + ']' * 200000 + '}', '{}')",
        "raw(header('error'), json.dumps({'ename': json.loads('[' * 900 + ']' * 900), 'evalue': {'a': [[[]]]}, 'traceback': [{}]}))",
        "raw(header('stream', date='2026-99-99T99:99:99Z'), '{\"name\": \"stdout\", \"text\": \"x\"}')",
        "raw(json.dumps({'msg_id': 'm', 'msg_type': [[[]]], 'session': 's'}), '{}')",
        "raw('[1, 2]', '{}')",
    ],
    ids=["stream-list", "text-dict", "png-not-base64", "png-not-png", "answer-string", "data-list",
         "content-string", "error-types", "unsigned-frames", "content-nested-past-the-decoder",
         "header-nested-past-the-decoder", "error-fields-deeply-nested", "header-bad-date", "msg-type-a-list",
         "header-a-list"],
)
def test_a_malformed_message_becomes_a_notice(session: KernelSession, forged: str) -> None:
    result = session.execute("import base64\n" + forged + "\nprint('sent')")
    assert "sent" in result.text
    assert not result.answered and result.images == [] and (result.notices or result.error is not None)
    goes_on(session)


def test_the_same_message_twice_is_folded_once(session: KernelSession) -> None:
    result = session.execute("send('stream', {'name': 'stdout', 'text': 'once\\n'}, times=2)")
    assert result.text.count("once") == 1
    assert any("came twice" in n or "Duplicate Signature" in n for n in result.notices)
    goes_on(session)


@pytest.mark.parametrize(
    "request_text",
    ["not json", "[1, 2]", '{"method": ["ask_vlm"], "payload": {}}', '{"method": "echo", "payload": "x"}', '"str"'],
)
def test_a_malformed_host_call_gets_an_error_back(session: KernelSession, request_text: str) -> None:
    code = (
        "import json\nfrom spatialclaw.kernel.bootstrap import HOST_CALL_PREFIX\n"
        f"print(json.loads(get_ipython().kernel.raw_input(HOST_CALL_PREFIX + {request_text!r})))"
    )
    result = session.execute(code)
    assert result.error is None and "'error'" in result.text and "malformed" in result.text
    goes_on(session)


def test_a_host_call_nested_past_the_decoder_gets_an_error_back(session: KernelSession) -> None:
    code = (
        "from spatialclaw.kernel.bootstrap import HOST_CALL_PREFIX\n"
        "print(json.loads(k.raw_input(HOST_CALL_PREFIX + '[' * 100000 + ']' * 100000)))"
    )
    result = session.execute(code)
    assert result.error is None and "'error'" in result.text and "malformed" in result.text
    goes_on(session)


def test_a_kernel_that_drops_its_idle_message_is_not_killed(session: KernelSession) -> None:
    """A flood of outputs can make the kernel's publisher drop the 'idle' that ends a cell: once the
    reply is in and outputs stop, the host finishes the cell with a notice instead of waiting for
    its time limit and killing the kernel."""
    code = (
        "publish = k._publish_status\n"
        "def drop_next_idle(status, *args, **kwargs):\n"
        "    if status == 'idle':\n"
        "        k._publish_status = publish\n"
        "        return None\n"
        "    return publish(status, *args, **kwargs)\n"
        "k._publish_status = drop_next_idle\n"
        "print('dropping')"
    )
    result = session.execute(code, timeout=20)
    assert "dropping" in result.text and not result.timed_out and not result.restarted and result.error is None
    assert any("without its 'idle' message" in n for n in result.notices)
    goes_on(session)


def test_a_host_call_whose_result_is_not_json_is_an_error_for_the_cell(session: KernelSession) -> None:
    session.host_handlers["odd"] = lambda payload: {1, 2}
    result = session.execute("from spatialclaw.kernel.bootstrap import host_call\nhost_call('odd', {})")
    assert result.error is not None and "failed on the host" in result.error.evalue
    goes_on(session)


def test_a_decompression_bomb_header_is_refused_at_the_session(session: KernelSession) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(b"\0" * 100000)) + chunk(b"IEND", b"")
    encoded = base64.b64encode(bomb).decode()
    result = session.execute(f"send('display_data', {{'data': {{'image/png': {encoded!r}}}, 'metadata': {{}}}})")
    assert result.images == [] and any("30000×30000" in n for n in result.notices)
    goes_on(session)


def test_a_kernel_that_spoils_its_frames_and_connection_files_and_dies_is_restarted(tmp_path: Path) -> None:
    for mode in ("auto", "none"):
        folder = tmp_path / mode
        folder.mkdir()
        with KernelSession(loaded(folder), sandbox=mode) as kernel:
            frames_file, connection = str(kernel._frames_file), str(kernel._runtime / "connection.json")
            code = (f"import os\nfor path in ({frames_file!r}, {connection!r}):\n    try:\n"
                    "        open(path, 'w').write('{}')\n    except OSError:\n        pass\nos._exit(1)")
            died = kernel.execute(code)
            assert died.restarted and died.error is not None
            again = kernel.execute("print(len(frames), int(frames[2].image[0, 0, 0]))")
            assert again.error is None and again.text.strip() == "3 80", mode


def test_an_oversized_message_is_dropped_and_the_session_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spatialclaw.kernel import session as session_module

    monkeypatch.setattr(session_module, "MAX_MESSAGE_BYTES", 4 * 1024 * 1024)
    with KernelSession(loaded(tmp_path), cell_timeout=5) as kernel:
        kernel.execute(SEND)
        kernel.execute("kept = 'yes'")
        result = kernel.execute("send('stream', {'name': 'stdout', 'text': 'y' * (16 * 2**20)})\nprint('sent')")
        assert len(result.text) <= kernel.max_output_chars + 100
        assert not result.restarted and any("without its 'idle' message" in n for n in result.notices)
        goes_on(kernel)  # the oversized frame was dropped and the connection renewed: the variables are kept
        assert kernel.execute("print(kept)").text == "yes\n"
