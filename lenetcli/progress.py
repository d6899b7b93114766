"""Showing training progress: rich bars on a terminal, plain lines elsewhere, nothing with --quiet."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from lenetcli.engine import Reporter


def make_reporter(console: Console, quiet: bool, label: str = "") -> Reporter:
    if quiet:
        return Reporter()
    if console.is_terminal:
        return RichReporter(console, label)
    return LineReporter(console, label)


def describe_seeds(seeds: list[int]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"


def epoch_summary(rows: list[dict]) -> str:
    """'loss 0.1234 acc 97.50% test 98.10%' averaged over a group's members."""
    n = len(rows)
    mean = {k: sum(r[k] for r in rows) / n for k in ("train_loss", "train_acc", "test_acc")}
    return (
        f"loss {mean['train_loss']:.4f}  train {mean['train_acc']:.2f}%  "
        f"test {mean['test_acc']:.2f}%  {rows[0]['seconds']:.1f}s"
    )


class LineReporter(Reporter):
    """One plain line per epoch: for logs, pipes and CI."""

    def __init__(self, console: Console, label: str = ""):
        self.console, self.label = console, label
        self.epochs, self.seeds = 0, [0]

    def start_group(self, seeds, epochs, batches):
        self.seeds, self.epochs = seeds, epochs

    def epoch(self, epoch, rows):
        prefix = f"{self.label} " if self.label else ""
        self.console.print(
            f"{prefix}{describe_seeds(self.seeds)} epoch {epoch}/{self.epochs}: {epoch_summary(rows)}",
            highlight=False,
            soft_wrap=True,
        )

    def message(self, text):
        self.console.print(text, highlight=False, soft_wrap=True)


class RichReporter(Reporter):
    """A bar for the batches of the current epoch and one for all epochs, with ETA and live metrics.

    Used as a context manager so that the bars are closed even when training fails.
    """

    def __init__(self, console: Console, label: str = ""):
        self.label = label
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console,
            transient=False,
        )
        self.epoch_task = self.batch_task = None

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def start_group(self, seeds, epochs, batches):
        name = f"{self.label} {describe_seeds(seeds)}".strip()
        if self.epoch_task is not None:
            self.progress.remove_task(self.epoch_task)
            self.progress.remove_task(self.batch_task)
        self.epoch_task = self.progress.add_task(name, total=epochs, metrics="")
        self.batch_task = self.progress.add_task("  epoch 1", total=batches, metrics="")

    def batch(self, epoch, done, loss, acc):
        self.progress.update(
            self.batch_task, completed=done, description=f"  epoch {epoch}",
            metrics=f"loss {loss:.4f} acc {acc:.2f}%",
        )  # fmt: skip

    def epoch(self, epoch, rows):
        task = self.progress.tasks[self.batch_task]
        self.progress.update(self.batch_task, completed=task.total)
        self.progress.update(self.epoch_task, completed=epoch, metrics=epoch_summary(rows))
        if epoch < self.progress.tasks[self.epoch_task].total:
            self.progress.reset(self.batch_task, description=f"  epoch {epoch + 1}", metrics="")

    def message(self, text):
        self.progress.console.print(text, highlight=False)


def results_table(title: str, columns: list[str], rows: list[list]) -> Table:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    return table
