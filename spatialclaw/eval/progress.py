"""A rich progress bar for an evaluation: questions done, failures and the running overall score."""

from __future__ import annotations

from typing import Any

from spatialclaw.eval.runner import Progress
from spatialclaw.terminal import progress_console, shows_progress


class ProgressDisplay:
    """Context manager whose `update` is `run_eval`'s ``on_progress`` callback (draws on stderr
    from the first update on, so a run rejected before it starts prints only its error)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[score]}"),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=progress_console(),
            transient=False,
            disable=not shows_progress(),
        )
        self._task: Any = None

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._bar.stop()

    def update(self, progress: Progress) -> None:
        """Show ``progress`` (called after each question)."""
        score = "score –" if progress.running_score is None else f"score {100.0 * progress.running_score:.1f}%"
        failed = f"[red]{progress.errors} failed" if progress.errors else ""
        if self._task is None:  # drawn from the first update on: nothing shows when the inputs are rejected
            self._bar.start()
            self._task = self._bar.add_task("eval", total=progress.total, completed=progress.done, score=score, failed=failed)
        else:
            self._bar.update(self._task, completed=progress.done, score=score, failed=failed)
