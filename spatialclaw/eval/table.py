"""One table over several runs (``spatialclaw eval report RUN_DIR...``): a column per run, a row per
benchmark, overall scores in percent, as the paper's table; written as Markdown and PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spatialclaw.errors import InputError


def read_run(run_dir: Path) -> dict[str, Any]:
    """A run's ``summary.json`` (with its benchmark name: ``benchmark``, else ``vsibench``).

    Raises:
        InputError: the folder holds no readable summary.json.
    """
    path = run_dir / "summary.json"
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise InputError.not_a_run(path) from None
    summary.setdefault("benchmark", "vsibench")
    return summary


def _run_label(run_dir: Path) -> str:
    run = run_dir / "run.json"
    try:
        model = json.loads(run.read_text()).get("model")
    except (OSError, json.JSONDecodeError):
        model = None
    return str(model or run_dir.parent.name or run_dir.name)


def cross_table(run_dirs: list[Path]) -> tuple[list[str], list[str], dict[tuple[str, str], float | None]]:
    """(system labels, benchmark names, {(benchmark, label): overall}) over the runs; several runs
    of one system (the label: the run's model, else the parent folder) fill its column."""
    labels: list[str] = []
    names: list[str] = []
    cells: dict[tuple[str, str], float | None] = {}
    for run_dir in run_dirs:
        summary, label = read_run(run_dir), _run_label(run_dir)
        if label not in labels:
            labels.append(label)
        if summary["benchmark"] not in names:
            names.append(summary["benchmark"])
        cells[(summary["benchmark"], label)] = summary.get("overall")
    return labels, names, cells


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100.0 * value:.1f}"


def table_markdown(labels: list[str], names: list[str], cells: dict[tuple[str, str], float | None]) -> str:
    """Markdown table: a row per benchmark, a column per system, and the average row (benchmarks a
    system has all count; a missing cell shows ``–`` and keeps that system's average out)."""
    lines = ["| benchmark | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(_pct(cells.get((name, label))) for label in labels) + " |")
    averages = []
    for label in labels:
        values = [cells.get((n, label)) for n in names]
        averages.append(None if any(v is None for v in values) else sum(values) / len(values))  # type: ignore[arg-type]
    lines.append("| **average** | " + " | ".join(f"**{_pct(a)}**" for a in averages) + " |")
    return "\n".join(lines) + "\n"


def write_table(run_dirs: list[Path], out: Path) -> Path:
    """Write ``out/table.md`` and ``out/table.png``; returns the Markdown file."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels, names, cells = cross_table(run_dirs)
    out.mkdir(parents=True, exist_ok=True)
    markdown = table_markdown(labels, names, cells)
    (out / "table.md").write_text(markdown)
    rows = [[name, *(_pct(cells.get((name, label))) for label in labels)] for name in names]
    fig = Figure(figsize=(2.0 + 1.6 * len(labels), 0.4 * len(rows) + 1.0), dpi=100)
    ax = fig.subplots()
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["benchmark", *labels], loc="center", cellLoc="center")
    table.scale(1.0, 1.3)
    fig.tight_layout()
    fig.savefig(out / "table.png", format="png")
    return out / "table.md"
