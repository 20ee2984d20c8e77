"""KernelSession: state, outputs, errors, time limits, restarts, limits, answer and host_call protocols."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialclaw.kernel import session as kernel_module
from spatialclaw.errors import KernelError
from spatialclaw.inputs.frame import Frame
from spatialclaw.kernel.session import CellResult, KernelSession, cut_middle, strip_ansi
from bwrap_probe import needs_bwrap

N_FRAMES = 4


def make_frames() -> list[Frame]:
    """Four 32×24 frames; frame k has pixel (0, 0) = (10k, 20, 30), source index 5k, time 0.5k s."""
    frames = []
    for k in range(N_FRAMES):
        image = np.zeros((24, 32, 3), np.uint8)
        image[0, 0] = (10 * k, 20, 30)
        frames.append(Frame(index=5 * k, time=0.5 * k, image=image))
    return frames


def saved_input(folder: Path):
    """A LoadedInput whose frames live in an .npz written by spatialclaw.inputs.save_frames."""
    from spatialclaw.inputs.frame import LoadedInput
    from spatialclaw.inputs.frame_cache import save_frames

    frames = make_frames()
    frames_file = folder / "frames.npz"
    save_frames(frames_file, frames)
    return LoadedInput(
        kind="images",
        paths=[folder],
        frames=frames,
        frames_file=frames_file,
        source_fps=None,
        source_frame_count=N_FRAMES,
        rgbd=None,
    )


def _fail(payload: dict) -> None:
    raise ValueError("model offline")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    """One kernel shared by the tests that do not depend on a fresh or specially configured kernel."""
    source = saved_input(tmp_path_factory.mktemp("input"))
    handlers = {"echo": lambda payload: {"got": payload}, "fail": _fail}
    with KernelSession(
        source, question="How many chairs?", options=["A. 1", "B. 2"], cell_timeout=30, host_handlers=handlers
    ) as s:
        yield s


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(png)).size


def run_ok(session: KernelSession, code: str, **kw) -> CellResult:
    result = session.execute(code, **kw)
    assert result.error is None, result.error
    return result


# ----------------------------------------------------------------------------- state and text


def test_state_persists_across_cells(session: KernelSession) -> None:
    run_ok(session, "counter = 41")
    assert run_ok(session, "counter += 1\ncounter").text == "42\n"


def test_text_keeps_order_of_stdout_stderr_and_result(session: KernelSession) -> None:
    code = "import sys\nprint('one', flush=True)\nsys.stderr.write('two\\n'); sys.stderr.flush()\nprint('three', flush=True)\n7 * 6"
    assert run_ok(session, code).text == "one\ntwo\nthree\n42\n"


def test_preloaded_frames_question_and_options(session: KernelSession) -> None:
    assert session.frame_count == N_FRAMES
    code = "print(repr(([(f.index, f.time, f.image.shape, int(f.image[0, 0, 0])) for f in frames], question, options)))"
    text = run_ok(session, code).text
    expected = [(5 * k, 0.5 * k, (24, 32, 3), 10 * k) for k in range(N_FRAMES)]
    assert text == repr((expected, "How many chairs?", ["A. 1", "B. 2"])) + "\n"


def test_kernel_runs_in_its_own_working_directory(session: KernelSession) -> None:
    assert session.workdir is not None
    text = run_ok(session, "import os\nopen('note.txt', 'w').write('hi')\nos.getcwd()").text
    assert text.strip() == repr(str(session.workdir))
    assert (session.workdir / "note.txt").read_text() == "hi"


def test_long_text_is_cut_in_the_middle(session: KernelSession) -> None:
    result = run_ok(session, "print('START' + 'x' * 50000 + 'END')")
    total = len("START") + 50000 + len("END") + 1
    limit = session.max_output_chars
    assert result.text.startswith("STARTxxx")
    assert result.text.endswith("xxxEND\n")
    assert f"[... {total - limit} characters cut ...]" in result.text
    assert len(result.text) < limit + 100


def test_cut_middle_and_strip_ansi() -> None:
    assert cut_middle("abcdef", 10) == "abcdef"
    assert cut_middle("0123456789", 4) == "01\n[... 6 characters cut ...]\n89"
    assert strip_ansi("\x1b[0;31mZeroDivisionError\x1b[0m: x") == "ZeroDivisionError: x"


# ----------------------------------------------------------------------------- images


def test_matplotlib_figure_comes_back_by_itself(session: KernelSession) -> None:
    result = run_ok(session, "import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 1), dpi=50)\nplt.plot([0, 1])")
    assert len(result.images) == 1
    width, height = png_size(result.images[0])  # 100×50 px figure, trimmed or padded a little by bbox "tight"
    assert 80 <= width <= 120 and 40 <= height <= 70
    assert "<Figure" not in result.text


def test_show_accepts_every_kind_of_image(session: KernelSession) -> None:
    code = """
import numpy as np, matplotlib.pyplot as plt
from PIL import Image
class View:
    def render(self):
        return np.full((5, 6, 3), 200, np.uint8)
fig = plt.figure(figsize=(1, 1), dpi=40)
show(frames[1], np.zeros((7, 9, 3), np.uint8), np.full((7, 9, 3), 0.5), np.zeros((7, 9)),
     Image.new('RGB', (11, 3)), fig, View(), caption='seven views')
"""
    result = run_ok(session, code)
    assert result.text == "seven views\n"
    sizes = [png_size(png) for png in result.images]
    assert len(sizes) == 7  # the figure shown once, not again by the inline backend
    assert sizes[:5] == [(32, 24), (9, 7), (9, 7), (9, 7), (11, 3)] and sizes[6] == (6, 5)
    gray = np.asarray(Image.open(io.BytesIO(result.images[2])))
    assert gray.shape == (7, 9, 3) and int(gray[0, 0, 0]) == 128
    first = np.asarray(Image.open(io.BytesIO(result.images[0])))
    assert tuple(first[0, 0]) == (10, 20, 30)


def test_show_sends_a_photo_as_jpeg_and_a_drawing_as_png(session: KernelSession) -> None:
    code = (
        "import numpy as np\nphoto = np.random.default_rng(0).integers(0, 256, (240, 320, 3), np.uint8)\n"
        "drawing = np.zeros((240, 320, 3), np.uint8)\ndrawing[50:100, 60:200] = 255\nshow(photo, drawing)"
    )
    result = run_ok(session, code)
    photo, drawing = result.images
    assert photo.startswith(b"\xff\xd8\xff") and Image.open(io.BytesIO(photo)).size == (320, 240)
    assert png_size(drawing) == (320, 240)


def test_bare_frame_at_end_of_cell_displays_image_and_repr(session: KernelSession) -> None:
    result = run_ok(session, "frames[2]")
    assert len(result.images) == 1 and png_size(result.images[0]) == (32, 24)
    assert result.text.startswith("Frame(index=10")


def test_show_draws_masks_over_the_kernel_frames_and_the_context_stays_private(session: KernelSession) -> None:
    code = (
        "import numpy as np\nfrom spatialclaw.primitives.types import Masks\n"
        "pixels = np.zeros((1, 24, 32), bool); pixels[0, 10:20, 10:20] = True\n"
        "show(Masks.from_masks(pixels, labels=['box'], frame_ids=[3]))\n%who"
    )
    result = run_ok(session, code)
    shown = np.asarray(Image.open(io.BytesIO(result.images[0])))
    assert shown.shape == (24, 32 + 4, 3) and tuple(shown[0, 0]) == (30, 20, 30)  # frames[3] under the mask
    assert "frames" in result.text and "_spatialclaw_context" not in result.text  # %who lists the model's names only
    assert run_ok(session, "print(_spatialclaw_context.frames is frames)").text == "True\n"


def test_show_refuses_what_it_cannot_draw(session: KernelSession) -> None:
    assert session.execute("show('a string')").error.ename == "TypeError"
    result = session.execute("import numpy as np\nshow(np.full((4, 4), 3.0))")
    assert result.error.ename == "ValueError" and "[0, 1]" in result.error.evalue
    assert result.images == []


def test_outputs_without_text_or_png_are_reported(session: KernelSession) -> None:
    result = run_ok(session, "from IPython.display import publish_display_data\npublish_display_data({'text/html': '<b>x</b>'})")
    assert result.notices == ["an output of type text/html was not shown: only text/plain, image/png and image/jpeg come back"]


# ----------------------------------------------------------------------------- errors and time limits


def test_error_is_data_with_clean_traceback(session: KernelSession) -> None:
    result = session.execute("def f(x):\n    return x / 0\nf(1)")
    assert result.error is not None
    assert (result.error.ename, result.error.evalue) == ("ZeroDivisionError", "division by zero")
    assert "\x1b" not in result.error.traceback
    assert "return x / 0" in result.error.traceback
    assert run_ok(session, "1 + 1").text == "2\n"


def test_a_spatialclaw_error_in_a_cell_is_one_line(session: KernelSession) -> None:
    code = "from spatialclaw.errors import PerceptionError\ndef deep():\n    raise PerceptionError('the input has no parallax: use a moving camera')\ndeep()"
    result = session.execute(code)
    assert (result.error.ename, result.error.evalue) == ("PerceptionError", "the input has no parallax: use a moving camera")
    assert result.error.traceback.strip() == "PerceptionError: the input has no parallax: use a moving camera"
    assert run_ok(session, "1 + 1").text == "2\n"


def test_syntax_error(session: KernelSession) -> None:
    result = session.execute("for x in")
    assert result.error.ename == "SyntaxError" and "\x1b" not in result.error.traceback


def test_input_is_disabled_with_a_clear_message(session: KernelSession) -> None:
    result = session.execute("input('your name? ')")
    assert result.error.ename == "RuntimeError" and "input() is disabled" in result.error.evalue


def test_timeout_interrupts_and_keeps_state(session: KernelSession) -> None:
    result = session.execute("marker = 'before'\nimport time\ntime.sleep(30)\nmarker = 'after'", timeout=1.0)
    assert result.timed_out and not result.restarted
    assert result.error.ename == "TimeoutError" and "1 s" in result.error.evalue
    assert "KeyboardInterrupt" in result.error.traceback
    assert 1.0 <= result.duration_s < 5.0
    assert run_ok(session, "marker").text == "'before'\n"


# ----------------------------------------------------------------------------- memory limit


def test_memory_limit_is_set_in_the_kernel(session: KernelSession) -> None:
    limit = run_ok(session, "import resource\nresource.getrlimit(resource.RLIMIT_AS)[0]").text
    assert int(limit) == 8192 * 1024 * 1024


def test_huge_allocation_fails_and_session_goes_on(session: KernelSession) -> None:
    result = session.execute("import numpy as np\nbig = np.ones(20 * 10**9, dtype=np.uint8)")
    assert result.error.ename == "MemoryError" and not result.restarted
    assert run_ok(session, "counter_after_oom = 3\ncounter_after_oom * 2").text == "6\n"


# ----------------------------------------------------------------------------- answer and host_call


def test_answer_protocol(session: KernelSession) -> None:
    assert not run_ok(session, "x = 1").answered
    result = run_ok(session, "print('done')\nanswer('B')")
    assert (result.answered, result.answer, result.text) == (True, "B", "done\n")
    assert run_ok(session, "import numpy as np\nanswer(np.float32(2.5))").answer == 2.5
    assert run_ok(session, "answer((1, True, 'x'))").answer == [1, True, "x"]
    bad = session.execute("answer(object())")
    assert bad.error.ename == "TypeError" and not bad.answered
    assert session.execute("answer(float('nan'))").error.ename == "ValueError"


def test_host_call_round_trip(session: KernelSession) -> None:
    result = run_ok(session, "_spatialclaw_context.host_call('echo', {'a': [1, 2], 'b': 'c'})")
    assert result.text == repr({"got": {"a": [1, 2], "b": "c"}}) + "\n"
    missing = session.execute("_spatialclaw_context.host_call('ask_vlm', {'prompt': 'hi'})")
    assert missing.error.ename == "RuntimeError" and "no VLM configured" in missing.error.evalue
    failed = session.execute("_spatialclaw_context.host_call('fail', {})")
    assert failed.error.ename == "RuntimeError" and "ValueError: model offline" in failed.error.evalue
    assert run_ok(session, "1").text == "1\n"


# ----------------------------------------------------------------------------- death and restart


def test_crash_restarts_and_preloads_frames_again(session: KernelSession) -> None:
    run_ok(session, "survivor = 1")
    result = session.execute("import os\nprint('going', flush=True)\nshow(frames[0])\nimport time; time.sleep(0.3)\nos._exit(1)")
    assert result.restarted and result.error.ename == "KernelDied"
    assert result.text == "going\n" and len(result.images) == 1  # what came before the crash is kept
    assert "exit code 1" in result.error.evalue and "variables are gone" in result.error.evalue
    assert session.execute("survivor").error.ename == "NameError"
    assert run_ok(session, "len(frames), int(frames[3].image[0, 0, 0]), question").text == "(4, 30, 'How many chairs?')\n"


def test_kernel_dead_before_a_cell_is_restarted(session: KernelSession) -> None:
    os.kill(session._km.provisioner.process.pid, signal.SIGKILL)
    session._km.provisioner.process.wait(timeout=10)
    result = session.execute("len(frames)")
    assert result.restarted and result.error is None and result.text == "4\n"
    assert any("before this cell" in n and "SIGKILL" in n for n in result.notices)


# ----------------------------------------------------------------------------- configured sessions


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory):
    """A kernel with small limits, a given workdir, a launch prefix and a secret in the environment."""
    workdir = tmp_path_factory.mktemp("work")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", "sk-secret")
        mp.setenv("MPLBACKEND", "Agg")
        session = KernelSession(
            memory_limit_mb=1536,
            image_budget=2,
            max_output_chars=100,
            workdir=workdir,
            launch_prefix=["env", "SPATIALCLAW_LAUNCHED_BY=prefix"],
        )
        session.start()
    with session:
        yield session


def test_no_input_session_is_empty(tight: KernelSession) -> None:
    assert tight.frame_count == 0
    assert run_ok(tight, "frames, question, options").text == "([], None, None)\n"


def test_launch_prefix_wraps_the_kernel_and_secrets_stay_out(tight: KernelSession) -> None:
    code = "import os\nos.environ.get('SPATIALCLAW_LAUNCHED_BY'), 'OPENAI_API_KEY' in os.environ"
    assert run_ok(tight, code).text == "('prefix', False)\n"


def test_figures_come_back_whatever_the_host_backend(tight: KernelSession) -> None:
    # The host's environment says MPLBACKEND=Agg; the kernel still uses the inline backend.
    assert run_ok(tight, "import matplotlib\nmatplotlib.get_backend()").text.strip().endswith("backend_inline'")


def test_restart_clears_variables_and_preloads_again(tight: KernelSession) -> None:
    run_ok(tight, "temporary = 1")
    tight.restart()
    assert tight.execute("temporary").error.ename == "NameError"
    assert run_ok(tight, "callable(show) and callable(answer), frames").text == "(True, [])\n"


def test_image_budget_refuses_with_notice(tight: KernelSession) -> None:
    code = "import numpy as np\nshow(*[np.zeros((2, 2, 3), np.uint8)] * 3)"
    first = run_ok(tight, code)
    assert len(first.images) == 2
    assert first.notices == ["1 image(s) refused: the session's image budget of 2 images / 64 MiB is spent"]
    second = run_ok(tight, code)
    assert second.images == [] and second.notices == ["3 image(s) refused: the session's image budget of 2 images / 64 MiB is spent"]


def test_allocation_over_a_small_limit_fails(tight: KernelSession) -> None:
    # 3 GB of untouched memory is granted without a limit (the kernel never writes it); 1536 MiB refuses it.
    result = tight.execute("import numpy as np\nblock = np.empty(3 * 10**9, dtype=np.uint8)")
    assert result.error.ename == "MemoryError" and not result.restarted
    assert run_ok(tight, "print('alive')").text == "alive\n"


def test_traceback_is_cut_too(tight: KernelSession) -> None:
    result = tight.execute("raise ValueError('why' * 1000)")
    assert result.error.ename == "ValueError"
    assert "characters cut" in result.error.traceback and len(result.error.traceback) < 200


def test_given_workdir_is_used(tight: KernelSession) -> None:
    assert run_ok(tight, "import os\nos.getcwd()").text.strip() == repr(str(tight.workdir))


def test_segfault_is_reported_and_restarted(tight: KernelSession) -> None:
    result = tight.execute("import ctypes\nctypes.string_at(0)")
    assert result.restarted and result.error.ename == "KernelDied" and "killed by SIGSEGV" in result.error.evalue
    assert run_ok(tight, "3 * 3").text == "9\n"


def test_kernel_ignoring_interrupt_is_killed_and_restarted(tight: KernelSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_module, "INTERRUPT_GRACE_S", 0.5)
    code = "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass"
    result = tight.execute(code, timeout=0.5)
    assert result.timed_out and result.restarted and result.error.ename == "KernelDied"
    assert "ignored the interrupt" in result.error.evalue
    assert run_ok(tight, "2 + 2").text == "4\n"


# ----------------------------------------------------------------------------- lifecycle


def test_shutdown_removes_temporary_folders_and_process() -> None:
    session = KernelSession()
    session.start()
    workdir, runtime = session.workdir, session._runtime
    process = session._km.provisioner.process
    assert workdir.is_dir() and runtime.is_dir()
    session.shutdown()
    assert not workdir.exists() and not runtime.exists()
    assert process.poll() is not None
    assert not session.is_alive


def test_kernel_that_cannot_start_is_a_kernel_error() -> None:
    session = KernelSession(launch_prefix=["false"], start_timeout=20)
    with pytest.raises(KernelError, match="did not start"):
        session.start()
    assert session.workdir is None and session._runtime is None


def test_execute_before_start_is_a_kernel_error() -> None:
    with pytest.raises(KernelError, match="not started"):
        KernelSession().execute("1")


def test_session_loads_a_path_itself(tmp_path: Path) -> None:
    paths = []
    for k in range(2):
        paths.append(tmp_path / f"view{k}.png")
        Image.new("RGB", (20, 10), (70 + k, 0, 0)).save(paths[-1])
    with KernelSession([str(p) for p in paths], frames=None) as session:
        assert session.input is not None and session.input.kind == "images"
        assert session.frame_count == 2
        assert run_ok(session, "[int(f.image[0, 0, 0]) for f in frames]").text == "[70, 71]\n"


@needs_bwrap
def test_sandboxed_kernel_is_interrupted_not_killed() -> None:
    # The interrupt travels as a control message: a signal to bwrap's process group would kill the sandbox.
    sandbox = ["bwrap", "--ro-bind", "/", "/", "--bind", "/tmp", "/tmp", "--dev", "/dev", "--proc", "/proc",
               "--unshare-net", "--die-with-parent"]
    with KernelSession(launch_prefix=sandbox, sandbox="none") as session:
        run_ok(session, "kept = 'yes'")
        result = session.execute("import time\ntime.sleep(30)", timeout=1.0)
        assert result.timed_out and not result.restarted and result.error.ename == "TimeoutError"
        assert run_ok(session, "kept").text == "'yes'\n"
        code = "import socket\ntry:\n    socket.create_connection(('10.255.255.1', 80), timeout=1)\nexcept OSError as err:\n    print(err.errno)"
        assert run_ok(session, code).text in ("101\n", "13\n")  # ENETUNREACH: no network inside; EACCES: Landlock


def test_the_kernel_knows_the_files_of_an_image_sequence(session: KernelSession) -> None:
    """Structure-from-motion reads more frames of the sequence than were sampled (primitives' sampling)."""
    files = run_ok(session, "print([p.name for p in _spatialclaw_context.source_files])").text
    assert files.strip() == repr([Path(session.input.paths[0]).name])


def test_a_refused_preload_is_the_same_kind_of_one_line_error(tmp_path: Path) -> None:
    from spatialclaw.errors import PerceptionError

    session = KernelSession(saved_input(tmp_path), perception="magic", start_timeout=60)
    with pytest.raises(PerceptionError, match=r"^unknown perception 'magic': use one of") as raised:
        session.start()
    assert "\n" not in str(raised.value)
    session.shutdown()


def test_a_refusal_is_rebuilt_only_from_the_kinds_the_report_may_name() -> None:
    from spatialclaw.errors import ConfigError, InputError, refusal_from_report

    assert isinstance(refusal_from_report({"kind": "config", "message": "set  X\n now"}), ConfigError)
    assert str(refusal_from_report({"kind": "input", "message": "a\nb"})) == "a b"
    assert len(str(refusal_from_report({"kind": "input", "message": "x" * 10**6}))) == 2000
    assert isinstance(refusal_from_report({"kind": "input", "message": "m"}), InputError)
    for forged in ({"kind": "KernelError", "message": "m"}, {"kind": "input", "message": ["m"]},
                   {"kind": ["input"], "message": "m"}, {"kind": "input", "message": "  "}, "input", None):
        assert refusal_from_report(forged) is None
