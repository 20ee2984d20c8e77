"""``spatialclaw benchmarks``: list the supported benchmarks, show one's parsed records, download one.

Only typer and the standard library are imported at start; the benchmark modules load inside the
commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

benchmarks_app = typer.Typer(
    help="""The benchmarks of the published table: list them, check one's records, download one.

Examples:

    spatialclaw benchmarks

    spatialclaw benchmarks download mmsi_bench --data-root data/MMSI-Bench

    spatialclaw benchmarks show mmsi_bench --data-root data/MMSI-Bench --limit 3
""",
    invoke_without_command=True,
    no_args_is_help=False,
)


@benchmarks_app.callback()
def list_benchmarks(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per benchmark, as a list."),
) -> None:
    """List the benchmarks: name, Hugging Face id, media kind, task types, defaults."""
    if ctx.invoked_subcommand is not None:
        return
    from spatialclaw.eval.benchmarks import NOT_SUPPORTED, all_benchmarks

    entries = [
        {"name": b.name, "hf_id": b.hf_id, "title": b.title, "media": b.media, "tasks": list(b.tasks),
         "defaults": b.defaults.to_dict(), "files": b.files, "schema_source": b.schema_source, "supported": True}
        for b in all_benchmarks()
    ]
    entries += [{"name": n, "hf_id": hf, "supported": False, "missing": why} for n, (hf, why) in NOT_SUPPORTED.items()]
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        if e["supported"]:
            d = e["defaults"]
            typer.echo(f"{e['name']:<18} {e['hf_id']:<42} {e['media']:<7} frames={d['frames']} steps={d['max_steps']}")
        else:
            typer.echo(f"{e['name']:<18} {e['hf_id']:<42} not supported yet: {e['missing']}")


@benchmarks_app.command("show")
def show_benchmark(
    name: str = typer.Argument(..., help="Benchmark name (see `spatialclaw benchmarks`)."),
    data_root: Path = typer.Option(..., "--data-root", help="The benchmark's folder: its dataset repository's files as released."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N records."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per record (a JSON list)."),
) -> None:
    """Print the parsed records: id, question, options, answer, task and inputs (one per image or video).

    Nothing is extracted from the shipped archives: an input still in one names its archive.
    """
    from spatialclaw.eval.benchmarks import get_benchmark

    bench = get_benchmark(name)
    records = bench.load(data_root, extract=False)
    shown = records[:limit] if limit else records
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in shown], indent=2, ensure_ascii=False, default=str))
        return
    for r in shown:
        typer.echo(f"── {r.id}  [{r.task}]  answer: {r.answer!r}")
        typer.echo(r.question)
        for option in r.options or []:
            typer.echo(f"  {option}")
        for m in r.inputs:
            where = f"{m.path}" if m.archive is None else f"{m.archive.name} (extracted on first use to {m.path})"
            typer.echo(f"  {m.kind}: {m.name} -> {where}")
    typer.echo(f"{len(records)} records in {bench.name} ({bench.hf_id}); {sum(len(r.inputs) for r in records)} media files")


@benchmarks_app.command("download")
def download_benchmark(
    name: str = typer.Argument(..., help="Benchmark name (see `spatialclaw benchmarks`)."),
    data_root: Path = typer.Option(..., "--data-root", help="Folder to download the dataset repository's files into."),
    token: Optional[str] = typer.Option(None, "--token", envvar="HF_TOKEN", help="Hugging Face token for gated datasets (default: $HF_TOKEN)."),
) -> None:
    """Download a benchmark's files from the Hugging Face Hub (with progress bars)."""
    from spatialclaw.eval.benchmarks import get_benchmark
    from spatialclaw.eval.benchmarks.download import download

    bench = get_benchmark(name)
    path = download(bench.hf_id, data_root, token=token)
    typer.echo(f"{bench.name}: {bench.hf_id} downloaded into {path}")
