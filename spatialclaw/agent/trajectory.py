"""The record of one agent run, as a folder a person or a program can read back.

```
<out>/trajectory.json    the run: question, config, every step, answer, usage (the source of truth)
<out>/trajectory.ipynb   the cells and their outputs as a notebook (nbformat 4), replayable
<out>/trajectory.html    one self-contained page: steps, code, outputs, images inline
<out>/manifest.json      what the notebook's first cell hands to spatialclaw.kernel.bootstrap.run
<out>/images/            frames shown to the model (JPEG) and images cells returned (PNG)
```

``trajectory.json`` keys: ``format``, ``question``, ``options``, ``input`` (kind, paths, frame
count), ``config`` (model, perception asked for and chosen, limits), ``system_prompt``, ``task``
(the first user turn: ``text``, ``frames`` with their image files), ``steps`` (see
the ``to_record`` of the step kinds in `spatialclaw.agent.steps`), ``answer``, ``answered``, ``usage``, ``duration_s``,
``error`` (the message that stopped the run, or null). Image paths are relative to the folder.
`spatialclaw.agent.conversation.Conversation.from_trajectory` rebuilds from it exactly the messages the model
was sent (a test holds it to that), e.g. to replay a run's prefix against another model.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from spatialclaw.agent.reply_parsing import reply_prose
from spatialclaw.images import mime_of_file

FORMAT = "spatialclaw-trajectory/1"
LIVE_REFRESH_S = 2  # how often the page of a run still in progress reloads itself, seconds
JSON_NAME, NOTEBOOK_NAME, HTML_NAME, MANIFEST_NAME = "trajectory.json", "trajectory.ipynb", "trajectory.html", "manifest.json"


class TrajectoryWriter:
    """Writes a run's folder: image files as they come, the JSON and the live page after every
    step, the notebook and the final page at the end."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        (self.folder / "images").mkdir(parents=True, exist_ok=True)

    def add_image(self, name: str, data: bytes) -> str:
        """Store ``data`` as ``images/<name>``; return the path relative to the folder."""
        rel = f"images/{name}"
        (self.folder / rel).write_bytes(data)
        return rel

    def write_manifest(self, manifest: dict[str, Any]) -> Path:
        """The kernel manifest (``spatialclaw.kernel.bootstrap.run`` keys) the notebook's first cell loads."""
        return _write_text(self.folder / MANIFEST_NAME, json.dumps(manifest, indent=2))

    def write_json(self, record: dict[str, Any]) -> Path:
        """``trajectory.json`` (written atomically, so a reader never sees half a file)."""
        return _write_text(self.folder / JSON_NAME, json.dumps(record, indent=2, default=_jsonable))

    def write_progress(self, record: dict[str, Any]) -> dict[str, Path]:
        """JSON and page of a run still going (after every step): the page says so and reloads
        itself every `LIVE_REFRESH_S` seconds, so `spatialclaw view` shows each step as it lands."""
        return {"json": self.write_json(record), "html": _write_text(self.folder / HTML_NAME, to_html(record, self.folder))}

    def write_evaluation(self, evaluation: dict[str, Any]) -> None:
        """Add how the run was scored (``ground_truth``, ``score``, ...) to its JSON and page."""
        record = load(self.folder)
        record["evaluation"] = evaluation
        self.write_json(record)
        _write_text(self.folder / HTML_NAME, to_html(record, self.folder))

    def write_all(self, record: dict[str, Any]) -> dict[str, Path]:
        """JSON, notebook and page; returns their paths by kind (``json``, ``ipynb``, ``html``)."""
        import nbformat

        paths = {"json": self.write_json(record)}
        notebook = to_notebook(record, self.folder)
        nbformat.validate(notebook)
        paths["ipynb"] = _write_text(self.folder / NOTEBOOK_NAME, nbformat.writes(notebook))
        paths["html"] = _write_text(self.folder / HTML_NAME, to_html(record, self.folder))
        return paths


def load(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``trajectory.json`` of a run folder."""
    return json.loads((Path(folder) / JSON_NAME).read_text())


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _jsonable(value: Any) -> Any:
    """JSON for what ``json`` cannot encode by itself (numpy scalars and arrays, paths)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _b64(folder: Path, rel: str) -> str:
    return base64.b64encode((folder / rel).read_bytes()).decode("ascii")


# ----------------------------------------------------------------------------- notebook


def _answer_text(record: dict[str, Any]) -> str:
    return repr(record.get("answer")) if record.get("answered") else "no answer"


def to_notebook(record: dict[str, Any], folder: Path) -> Any:
    """The run as an nbformat v4 notebook: a setup cell that preloads the same kernel namespace,
    then each step's reasoning (markdown) and cell with its outputs."""
    import nbformat
    from nbformat import v4

    options = record.get("options") or []
    head = ["# SpatialClaw run", "", f"**Question:** {record['question']}"]
    if options:
        head += ["", "**Options:**", ""] + [f"- {o}" for o in options]
    model = record.get("config", {}).get("model", {})
    head += [
        "",
        f"**Model:** `{model.get('model', '?')}` ({model.get('backend', '?')}) · "
        f"**Perception:** {record.get('config', {}).get('perception', '?')} · **Answer:** {_answer_text(record)}",
    ]
    cells = [v4.new_markdown_cell("\n".join(head))]
    cells.append(
        v4.new_code_cell(
            "# Preloads what the agent's kernel had: frames, question, options, show, answer and the primitives.\n"
            "# Nested VLM calls (ask_vlm, locate) need a host and raise here.\n"
            f"__import__('spatialclaw.kernel.bootstrap').kernel.bootstrap.run({MANIFEST_NAME!r})"
        )
    )
    count = 0
    for step in record.get("steps", []):
        prose = reply_prose(step.get("reply", ""))
        title = f"### Step {step['index']}" + (" (final answer turn)" if step["kind"] == "final" else "")
        cells.append(v4.new_markdown_cell(title + ("\n\n" + prose if prose else "")))
        if step["kind"] == "cell":
            count += 1
            cell = v4.new_code_cell(step["code"], execution_count=count)
            cell.outputs = _notebook_outputs(step, folder, count)
            cells.append(cell)
        elif step.get("observation"):
            quoted = "\n".join("> " + line for line in step["observation"].splitlines())
            cells.append(v4.new_markdown_cell(quoted))
    cells.append(v4.new_markdown_cell(f"**Answer:** {_answer_text(record)}"))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["spatialclaw"] = {"format": FORMAT, "question": record["question"], "answer": record.get("answer")}
    return nbformat.from_dict(notebook)


def _notebook_outputs(step: dict[str, Any], folder: Path, count: int) -> list[Any]:
    from nbformat import v4

    out = step.get("output") or {}
    outputs = []
    if out.get("text"):
        outputs.append(v4.new_output("stream", name="stdout", text=out["text"]))
    for rel in step.get("images", []):
        outputs.append(v4.new_output("display_data", data={mime_of_file(rel): _b64(folder, rel)}))
    error = out.get("error")
    if error:
        outputs.append(
            v4.new_output("error", ename=error["ename"], evalue=error["evalue"], traceback=error["traceback"].splitlines())
        )
    if step.get("answered"):
        outputs.append(v4.new_output("execute_result", data={"text/plain": f"answer: {step['answer']!r}"}, execution_count=count))
    return outputs


# ----------------------------------------------------------------------------- page

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if running %}<meta http-equiv="refresh" content="{{ refresh_s }}">{% endif %}
<title>{% if running %}[running] {% endif %}SpatialClaw · {{ record.question|truncate(80) }}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:0}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 18px;margin:14px 0}
.meta{color:#5b6475;font-size:13px} .meta b{color:#1d2330}
.answer{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600}
.ok{background:#dcf5e3;color:#145c2c} .missing{background:#fde2e1;color:#8a1c17}
pre{margin:8px 0;padding:10px 12px;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-word;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
pre.code{background:#1e2230;color:#e6e9ef} pre.out{background:#f0f2f5} pre.err{background:#fff0ef;color:#8a1c17}
pre.obs{background:#fff8e6} .prose{white-space:pre-wrap;margin:6px 0}
.imgs{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0} .imgs figure{margin:0}
.imgs img{max-width:300px;max-height:240px;border:1px solid #dde1e8;border-radius:4px;display:block}
.imgs.big img{max-width:100%;max-height:360px}
figcaption{font-size:12px;color:#5b6475} .tag{font-size:12px;color:#fff;background:#5b6475;border-radius:4px;padding:1px 6px;margin-left:6px}
details summary{cursor:pointer;color:#3554d1} ul.opts{margin:4px 0 0;padding-left:20px}
.status{border-radius:8px;padding:10px 16px;margin:14px 0;font-weight:600}
.status.live{background:#e6eefc;color:#1c3f8a;border:1px solid #b9cbf3} .status.done{background:#eef0f3;color:#39404d;border:1px solid #dde1e8}
</style></head><body><main>
{% if running %}<div class="status live" id="run-status">Run in progress: {{ cells_used }} of {{ config.max_steps }} steps so far. This page reloads every {{ refresh_s }} s until the run ends.</div>
{% else %}<div class="status done" id="run-status">Run ended{% if record.error %} early ({{ record.error }}){% elif record.answered %} with an answer{% else %} without an answer{% endif %} after {{ '%.1f'|format(record.duration_s) }} s and {{ cells_used }} step(s).</div>{% endif %}
{% if evaluation %}<div class="card" id="evaluation"><h2>Evaluation</h2><div class="meta">
<b>Ground truth</b> {{ evaluation.ground_truth }} · <b>Prediction</b> {{ evaluation.prediction if evaluation.prediction is not none else 'none' }} ·
<b>Score</b> {{ evaluation.score_text }}{% if evaluation.question_type %} · <b>Task</b> {{ evaluation.question_type }}{% endif %}</div></div>{% endif %}
<div class="card">
<h1>{{ record.question }}</h1>
{% if record.options %}<ul class="opts">{% for o in record.options %}<li>{{ o }}</li>{% endfor %}</ul>{% endif %}
<p>Answer: {% if record.answered %}<span class="answer ok">{{ record.answer }}</span>{% elif running %}<span class="answer">not yet</span>{% else %}<span class="answer missing">no answer</span>{% endif %}
{% if record.error %}<span class="answer missing">stopped: {{ record.error }}</span>{% endif %}</p>
<div class="meta"><b>Model</b> {{ model.model }} ({{ model.backend }}{% if model.get('base_url') %}, {{ model.base_url }}{% endif %}) ·
<b>Perception</b> {{ config.perception }}{% for family, chosen in backends %}{{ ', ' if not loop.first else ' → ' }}{{ family }}: {{ chosen }}{% endfor %} ·
<b>Input</b> {{ record.input.kind }}, {{ record.input.frames }} frames ·
<b>Sandbox</b> {{ config.get('sandbox', {}).get('kind', 'unknown') }} ·
<b>Cells</b> {{ cells_used }} / {{ config.max_steps }}{% if answer_turn %} + answer turn{% endif %} ·
<b>Tokens</b> {{ record.usage.prompt_tokens }} in, {{ record.usage.completion_tokens }} out ·
<b>Time</b> {% if running %}running{% else %}{{ '%.1f'|format(record.duration_s) }} s{% endif %}</div>
<details><summary>System prompt</summary><pre class="out">{{ record.system_prompt }}</pre></details>
{% if perception_json %}<details><summary>Perception set-up</summary><pre class="out">{{ perception_json }}</pre></details>{% endif %}
</div>
<div class="card"><h2>Task</h2><div class="prose">{{ record.task.text }}</div>
<div class="imgs">{% for f in task_frames %}<figure><img src="{{ f.src }}" alt="frame {{ f.index }}"><figcaption>frames[{{ f.position }}] · #{{ f.index }} · {{ '%.2f'|format(f.time) }} s</figcaption></figure>{% endfor %}</div></div>
{% for s in steps %}
<div class="card" id="step-{{ s.index }}">
<h2>Step {{ s.index }}<span class="tag">{{ s.kind }}</span>{% if s.answered %}<span class="tag" style="background:#1f8a45">answer: {{ s.answer }}</span>{% endif %}</h2>
<div class="meta">model {{ '%.2f'|format(s.timing.model_s) }} s{% if s.kind == 'cell' %} · cell {{ '%.2f'|format(s.timing.cell_s) }} s{% endif %} ·
{{ s.usage.prompt_tokens }} → {{ s.usage.completion_tokens }} tokens · {{ s.input.images }} images sent{% if s.input.images_elided %} ({{ s.input.images_elided }} elided){% endif %}</div>
{% if s.prose %}<div class="prose">{{ s.prose }}</div>{% endif %}
{% if s.code %}<pre class="code">{{ s.code }}</pre>{% endif %}
{% if s.output and s.output.text %}<pre class="out">{{ s.output.text }}</pre>{% endif %}
{% if s.output and s.output.error %}<pre class="err">{{ s.output.error.condensed }}</pre>{% endif %}
{% if s.image_srcs %}<div class="imgs big">{% for src in s.image_srcs %}<figure><img src="{{ src }}" alt="step {{ s.index }} image {{ loop.index }}"></figure>{% endfor %}</div>{% endif %}
{% for n in s.nested %}<details><summary>nested {{ n.method }}: {{ n.prompt|truncate(90) }}</summary><pre class="out">{{ n.reply }}</pre></details>{% endfor %}
{% if s.kind != 'cell' and s.observation %}<pre class="obs">{{ s.observation }}</pre>{% endif %}
</div>
{% endfor %}
</main></body></html>
"""


def to_html(record: dict[str, Any], folder: Path) -> str:
    """The run as one self-contained HTML page (images inline as data URLs, no external files)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    frames = [
        {**f, "src": f"data:image/jpeg;base64,{_b64(folder, f['file'])}"} for f in record.get("task", {}).get("frames", [])
    ]
    steps = []
    for step in record.get("steps", []):
        steps.append(
            {
                **step,
                "prose": reply_prose(step.get("reply", "")) if step["kind"] != "final" else step.get("reply", ""),
                "image_srcs": [f"data:{mime_of_file(rel)};base64,{_b64(folder, rel)}" for rel in step.get("images", [])],
            }
        )
    info = record.get("config", {}).get("perception_info") or {}
    backends = [
        (family, chosen.get("backend", "?") if isinstance(chosen, dict) else chosen)
        for family, chosen in (info.get("backends") or {}).items()
    ]
    return env.from_string(_PAGE).render(
        record=record,
        config=record.get("config", {}),
        model=record.get("config", {}).get("model", {}),
        task_frames=frames,
        steps=steps,
        backends=backends,
        perception_json=json.dumps(info, indent=2) if info else "",
        cells_used=sum(1 for s in steps if s["kind"] != "final"),
        answer_turn=any(s["kind"] == "final" for s in steps),
        running=record.get("duration_s") is None,
        refresh_s=LIVE_REFRESH_S,
        evaluation=_evaluation(record.get("evaluation")),
    )


def _evaluation(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    """The page's view of how an evaluation scored the run (``score`` 0–1 shown as a percentage)."""
    if not evaluation:
        return None
    score = evaluation.get("score")
    score_text = f"{100.0 * score:.0f}%" if isinstance(score, (int, float)) else "not scored"
    return {**evaluation, "score_text": score_text, "prediction": evaluation.get("prediction"),
            "question_type": evaluation.get("question_type")}
