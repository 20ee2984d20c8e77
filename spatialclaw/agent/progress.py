"""Live terminal progress of an agent run (rich, on stderr): step, the model's words, the cell, a
short output. The spinner shows only on a terminal; the step summaries always print."""

from __future__ import annotations

import re
from typing import Any

from spatialclaw.agent.events import AgentEvent
from spatialclaw.agent.steps import Step

CODE_LINES = 12
OUTPUT_LINES = 6
REPLY_CHARS = 240  # the excerpt of the model's words shown per step

_FENCED = re.compile(r"```[^\n]*\n.*?(```|$)", re.DOTALL)


def reply_excerpt(reply: str, limit: int = REPLY_CHARS) -> str:
    """The model's words in ``reply`` without its code blocks, on one line, cut at ``limit`` characters."""
    words = " ".join(_FENCED.sub(" ", reply).split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def _short(text: str, lines: int) -> str:
    rows = text.rstrip().splitlines()
    if len(rows) <= lines:
        return "\n".join(rows)
    return "\n".join(rows[:lines] + [f"... ({len(rows) - lines} more lines)"])


class ConsoleProgress:
    """An ``on_event`` callback for `spatialclaw.agent.Agent` that shows a spinner while the model
    thinks or a cell runs, then a summary of each finished step.

    Args:
        console: a ``rich.console.Console``; one writing to stderr if None.
    """

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._status: Any = None

    def __call__(self, event: AgentEvent) -> None:
        where = f"step {event.index}/{event.max_steps}" if event.index <= event.max_steps else "final answer"
        if event.kind == "model":
            self._spin(f"{where} · waiting for the model")
        elif event.kind == "cell":
            self._spin(f"{where} · running the cell")
        elif event.step is not None:
            self._stop()
            self._print_step(where, event.step)

    def _spin(self, text: str) -> None:
        from spatialclaw.terminal import shows_progress

        if not shows_progress(self.console.file):
            return
        if self._status is None:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def close(self) -> None:
        """Take the spinner off the terminal (after Ctrl-C, before a last message)."""
        self._stop()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _print_step(self, where: str, step: Step) -> None:
        from rich.markup import escape
        from rich.syntax import Syntax

        timing = f"model {step.model_s:.1f} s" + (f" · cell {step.cell_s:.1f} s" if step.code else "")
        self.console.print(f"[bold]{where}[/bold] [dim]{timing} · {step.usage.total_tokens} tokens[/dim]")
        words = reply_excerpt(step.reply)
        if words:
            self.console.print(escape(words), style="italic", highlight=False, soft_wrap=True)
        if step.code:
            self.console.print(Syntax(_short(step.code, CODE_LINES), "python", theme="ansi_dark", line_numbers=False))
        result = step.result
        if result is not None:
            if result.text.strip():
                self.console.print(escape(_short(result.text, OUTPUT_LINES)), style="dim", highlight=False)
            if result.error is not None:
                self.console.print(escape(f"{result.error.ename}: {result.error.evalue}"), style="red", highlight=False)
            if result.images:
                self.console.print(f"[dim]{len(result.images)} image(s)[/dim]")
        elif step.kind != "final":
            self.console.print(escape(step.observation.splitlines()[0]), style="yellow", highlight=False)
        if step.answered:
            self.console.print(f"[bold green]answer: {escape(repr(step.answer))}[/bold green]")
        elif step.kind == "final":
            self.console.print("[bold red]no answer[/bold red]")
