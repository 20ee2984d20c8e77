"""The evaluation's summary on disk: ``summary.json``, a Markdown table and a bar chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.1f}"


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table: one row per task (scores in percent), then overall."""
    lines = ["| task | n | score (%) |", "|---|---:|---:|"]
    for task, score in summary["per_task"].items():
        lines.append(f"| {task} | {summary['n_per_task'][task]} | {_pct(score)} |")
    lines.append(f"| **overall** | {summary['n']} | **{_pct(summary['overall'])}** |")
    notes = [f"{summary['n']} of {summary['total']} questions finished"]
    if summary["unparsed"]:
        notes.append(f"{summary['unparsed']} answers unparsed (scored 0)")
    if summary["errors"]:
        notes.append(f"{summary['errors']} failed (not scored; rerun with --resume)")
    if summary["missing"] > summary["errors"]:
        notes.append(f"{summary['missing'] - summary['errors']} not run yet")
    lines += ["", "; ".join(notes) + ".", ""]
    return "\n".join(lines)


def write_chart(summary: dict[str, Any], path: Path) -> None:
    """A horizontal bar chart of the task scores (percent) and the overall score, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    tasks = list(summary["per_task"])
    values = [100.0 * summary["per_task"][t] for t in tasks]
    labels = [f"{t} (n={summary['n_per_task'][t]})" for t in tasks]
    if summary["overall"] is not None:
        labels.append(f"overall (n={summary['n']})")
        values.append(100.0 * summary["overall"])
    fig = Figure(figsize=(7.0, 0.45 * len(values) + 1.2), dpi=100)
    ax = fig.subplots()
    colors = ["#4c72b0"] * len(tasks) + ["#dd8452"] * (len(values) - len(tasks))
    bars = ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (%)")
    ax.bar_label(bars, fmt="%.1f", padding=3)
    ax.set_title(f"{benchmark_title(summary)} scores")
    fig.tight_layout()
    fig.savefig(path, format="png")


def benchmark_title(summary: dict[str, Any]) -> str:
    """What was evaluated: the benchmark's name, else the questions file's name."""
    if summary.get("benchmark"):
        return str(summary["benchmark"])
    return Path(summary["questions"]).name if summary.get("questions") else "benchmark"


def write_report(out: Path, summary: dict[str, Any]) -> None:
    """Write ``summary.json``, ``summary.md`` and ``summary.png`` into ``out``."""
    out = Path(out)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(out / "summary.json")
    (out / "summary.md").write_text(summary_markdown(summary))
    write_chart(summary, out / "summary.png")
