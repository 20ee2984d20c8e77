"""The example notebooks run top to bottom, without errors, and show the pictures they promise.

Each notebook is executed with nbclient in a ``python3`` kernel of this interpreter (jupyter_client
starts ``sys.executable`` for a kernelspec whose command is ``python``), in ``examples/``, with the
test's temporary ``SPATIALCLAW_CACHE`` and no model endpoint unless a test sets one. Cells are
found by a piece of their source, so editing the prose around them does not break the tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT_S = 240
IMAGE_TYPES = ("image/png", "image/jpeg")


@pytest.fixture(autouse=True)
def _notebook_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebooks' working folders (``tempfile.mkdtemp``) go under the test's own tmp_path."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))


def execute(name: str) -> nbformat.NotebookNode:
    """Run ``examples/<name>`` and return it with its outputs; a failing cell fails the test."""
    from nbclient import NotebookClient

    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()
    return nb


def cell_with(nb: nbformat.NotebookNode, snippet: str) -> nbformat.NotebookNode:
    """The one code cell whose source contains ``snippet``."""
    found = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(found) == 1, f"{len(found)} code cells contain {snippet!r}"
    return found[0]


def text_of(cell: nbformat.NotebookNode) -> str:
    """Everything the cell printed or returned as text."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out and "text/plain" in out.data:
            parts.append(out.data["text/plain"])
    return "".join(parts)


def images_of(cell: nbformat.NotebookNode, types: tuple[str, ...] = ("image/png",)) -> list[str]:
    """The base64 images the cell displayed, of the given MIME types."""
    return [out.data[t] for out in cell.outputs if "data" in out for t in types if t in out.data]


def no_errors(nb: nbformat.NotebookNode) -> None:
    errors = [out for c in nb.cells if c.cell_type == "code" for out in c.outputs if out.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    tracebacks = [c.source[:80] for c in nb.cells if c.cell_type == "code" and "Traceback" in text_of(c)]
    assert not tracebacks, f"cells printed a kernel traceback: {tracebacks}"


def test_notebooks_are_committed_without_outputs() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_kernel_by_hand.ipynb", "02_ask_agent.ipynb", "03_evaluate.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} holds outputs: strip them"


@pytest.mark.slow
def test_kernel_by_hand_notebook() -> None:
    nb = execute("01_kernel_by_hand.ipynb")
    no_errors(nb)
    assert "'has_depth': True" in text_of(cell_with(nb, "describe_input(scene_dir)"))
    assert "'reconstruction': 'gt'" in text_of(cell_with(nb, "session.start()"))
    pictures = ("np.hstack([frames[i].image", "r = reconstruct()", "show(top_down_map(objs))", "point_cloud_image(")
    for snippet in pictures:
        assert len(images_of(cell_with(nb, snippet), IMAGE_TYPES)) == 1, snippet
    assert "chairs: 2" in text_of(cell_with(nb, 'objs = objects3d("*")'))
    comparison = text_of(cell_with(nb, "object_distance(by_label"))
    distances = re.search(r"exact mesh distance ([\d.]+) m, measured with gt perception ([\d.]+) m", comparison)
    exact, measured = (float(x) for x in distances.groups())
    assert measured == pytest.approx(exact, abs=0.02)
    areas = re.search(r"exact ([\d.]+) m², room_size\(\) with gt perception ([\d.]+) m²", comparison)
    truth_area, measured_area = (float(x) for x in areas.groups())
    assert measured_area == pytest.approx(truth_area, rel=0.1)


@pytest.mark.slow
def test_ask_agent_notebook_without_an_endpoint() -> None:
    nb = execute("02_ask_agent.ipynb")
    no_errors(nb)
    assert "No model endpoint configured" in text_of(cell_with(nb, "ENDPOINT = bool("))
    assert text_of(cell_with(nb, "result = ask(scene_dir")).startswith("skipped: no model endpoint configured")
    first_request = cell_with(nb, "first_request.texts(")
    assert "Question: Measuring from the closest point" in text_of(first_request)
    assert len(images_of(first_request, IMAGE_TYPES)) == 1
    run = cell_with(nb, "show_run(scripted)")
    assert len(images_of(run, IMAGE_TYPES)) == 2  # the top-down map and the point cloud the scripted cells showed
    text = text_of(run)
    assert "answer: 2.35 (answered: True); exact: 2.35 m" in text
    assert "--- observation sent back to the model ---" in text and "3 steps" in text
    listing = text_of(cell_with(nb, "trajectory.json keys"))
    assert all(name in listing for name in ("trajectory.html", "trajectory.ipynb", "trajectory.json"))


@pytest.mark.slow
def test_ask_agent_notebook_with_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """With OPENAI_BASE_URL and SPATIALCLAW_MODEL set, the real-model cells run the agent against that
    server (here the synthetic-benchmark policy behind the scripted server, standing in for a model)."""
    from spatialclaw.testing.scripted_vlm import ScriptedVLM
    from spatialclaw.testing.synth_policy import synth_policy

    with ScriptedVLM(synth_policy) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("SPATIALCLAW_MODEL", server.model)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        nb = execute("02_ask_agent.ipynb")
        model_requests = [r for r in server.requests if r.body.get("model") == server.model]
    no_errors(nb)
    assert f"model={server.model}" in text_of(cell_with(nb, "ENDPOINT = bool("))
    text = text_of(cell_with(nb, "result = ask(scene_dir"))
    assert "distance(objects3d('sofa')[0], objects3d('table')[0])" in text
    assert "answer: 2.35 (answered: True)" in text
    assert len(model_requests) >= 1


@pytest.mark.slow
def test_evaluate_notebook() -> None:
    nb = execute("03_evaluate.ipynb")
    no_errors(nb)
    made = text_of(cell_with(nb, "made = subprocess.run("))
    assert made.startswith("wrote 1 scene(s)") and "\x1b" not in made and "━" not in made  # no progress escapes captured
    run = text_of(cell_with(nb, "eval_cmd = ["))
    assert "SCRIPTED POLICY STAND-IN" in run and "17 of 17 questions finished" in run
    summary = cell_with(nb, 'summary = json.loads((out / "summary.json")')
    table = "".join(out.data["text/markdown"] for out in summary.outputs if "data" in out)
    assert "| **overall** | 17 |" in table
    overall = float(re.search(r"\| \*\*overall\*\* \| 17 \| \*\*([\d.]+)\*\* \|", table).group(1))
    assert overall >= 90.0  # exact perception and a policy that writes the right cell
    for snippet in ("ax.barh(tasks", 'Image(filename=str(out / "summary.png"))', "numeric = [r for r in rows"):
        assert len(images_of(cell_with(nb, snippet), IMAGE_TYPES)) == 1, snippet
    rows = text_of(cell_with(nb, "rows.sort("))
    assert len(re.findall(r"^\s*\d+ (object|obj_|room|route)", rows, flags=re.M)) == 17


@pytest.mark.slow
def test_readme_quickstart_commands(tmp_path: Path) -> None:
    """The quickstart's synth / info / exec commands, as written (relative paths, from the user's folder)."""
    def cli(*args: str) -> str:
        command = [sys.executable, "-m", "spatialclaw", *args]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    made = cli("synth", "demo/", "--scenes", "1", "--frames", "16", "--width", "320", "--height", "240")
    assert "wrote 1 scene(s) under demo/synth and 17 questions to demo/questions.jsonl" in made
    assert "has_depth: False" in cli("info", "demo/synth/synth_0.mp4")
    assert "has_instances: True" in cli("info", "demo/synth/synth_0")
    shown = cli("exec", "demo/synth/synth_0.mp4", "--frames", "8", "-c", "print(len(frames), frames[0])",
                "-c", "show(frames[0], frames[-1])", "--out", "shots/")  # fmt: skip
    assert "8 Frame(index=0, time=0.00s, image=320x240)" in shown
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["cell2-1.jpg", "cell2-2.jpg"]
    measured = cli("exec", "demo/synth/synth_0", "--perception", "gt",
                   "-c", "print(distance(objects3d('sofa')[0], objects3d('table')[0]))",
                   "-c", "show(top_down_map(objects3d('*')))", "--out", "shots/")  # fmt: skip
    assert float(measured.split("\n")[1]) == pytest.approx(2.349, abs=0.02)
    assert (tmp_path / "shots" / "cell2-1.png").stat().st_size > 10_000


def test_notebook_01_text_measures_what_its_code_measures() -> None:
    """Its distance check uses the meshes (`object_distance`); the text must not say boxes."""
    import nbformat

    notebook = nbformat.read(Path(__file__).resolve().parents[1] / "examples" / "01_kernel_by_hand.ipynb", as_version=4)
    about_distance = [c.source for c in notebook.cells if c.cell_type == "markdown" and "object_distance" in c.source]
    assert about_distance and all("meshes" in text for text in about_distance)
    assert not any("distance between the two objects' boxes" in text for text in about_distance)
