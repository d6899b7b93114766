"""Showing training progress: rich bars on a terminal, plain lines elsewhere, nothing with --quiet."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table
from rich.text import Text

from lenetcli.outputs.tables import describe_seeds
from lenetcli.science.engine import Reporter


def stdout_console(quiet: bool = False) -> Console:
    """The console for a command's output. A pipe or a log file has no width of its own:
    rich then assumes 80 columns and squeezes the result tables, so give it room."""
    console = Console(quiet=quiet)
    if not console.is_terminal:
        console = Console(quiet=quiet, width=max(console.width, 160))
    return console


def make_reporter(console: Console, quiet: bool, label: str = "") -> Reporter:
    if quiet:
        return Reporter()
    if console.is_terminal:
        return RichReporter(console, label)
    return LineReporter(console, label)


def means(rows: list[dict]) -> dict[str, float]:
    """An epoch's metrics averaged over a group's members."""
    names = [k for k in ("train_loss", "train_acc", "val_acc", "test_acc") if k in rows[0]]
    return {k: sum(r[k] for r in rows) / len(rows) for k in names}


def epoch_summary(rows: list[dict]) -> str:
    """'loss 0.1234  train 97.50%  test 98.10%  1.2s': an epoch in a log line."""
    mean = means(rows)
    val = f"val {mean['val_acc']:.2f}%  " if "val_acc" in mean else ""
    return (
        f"loss {mean['train_loss']:.4f}  train {mean['train_acc']:.2f}%  {val}"
        f"test {mean['test_acc']:.2f}%  {rows[0]['seconds']:.1f}s"
    )


def bar_summary(rows: list[dict]) -> str:
    """'loss 0.1234 acc 97.50% test 98.10%': an epoch next to its bar, where room is short
    (no seconds: the bar shows the time; 'acc' as in the batch bar's live metrics)."""
    mean = means(rows)
    val = f" val {mean['val_acc']:.2f}%" if "val_acc" in mean else ""
    return (
        f"loss {mean['train_loss']:.4f} acc {mean['train_acc']:.2f}%{val} "
        f"test {mean['test_acc']:.2f}%"
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


class MetricsColumn(ProgressColumn):
    """A task's `metrics` text on one line, cut short with '…' where the terminal is narrow."""

    def render(self, task) -> Text:
        return Text(task.fields["metrics"], no_wrap=True, overflow="ellipsis")


def bar_width(console_width: int, batches: int = 45, validation: bool = False) -> int:
    """Rich's 40 on a wide terminal; on a narrow one, what the rest of the line leaves: the
    names and numbers take about 37 columns with 'seed 42' and a two-digit batch count (2
    more for each further digit, shown twice in 'done/total'), an epoch's metrics 34, or 45
    with validation accuracy. On a very narrow one the metrics are cut short instead
    (MetricsColumn)."""
    numbers = 37 + 2 * max(0, len(str(batches)) - 2)
    metrics = 45 if validation else 34
    return max(4, min(40, console_width - numbers - metrics))  # 4: still reads as a bar


def kept() -> Column:
    """A column that keeps its full width on a narrow terminal.

    A rich table shrinks its widest wrappable columns first, and every progress column is
    wrappable by default: at 80 columns the counts and times were squeezed to '…'. Only the
    bar and the metrics stay wrappable, so they give up the room.
    """
    return Column(no_wrap=True)


class RichReporter(Reporter):
    """A bar for the batches of the current epoch and one for all epochs, with ETA and live metrics.

    Used as a context manager so that the bars are closed even when training fails.
    """

    def __init__(self, console: Console, label: str = ""):
        self.label = label
        self.bar = BarColumn(bar_width=bar_width(console.width))
        self.batches = 45
        self.progress = Progress(
            # A long name ends in '…' rather than push the numbers off the line.
            TextColumn(
                "[bold]{task.description}",
                table_column=Column(no_wrap=True, max_width=24, overflow="ellipsis"),
            ),
            self.bar,
            MofNCompleteColumn(table_column=kept()),
            TimeElapsedColumn(table_column=kept()),
            TextColumn("eta", table_column=kept()),
            TimeRemainingColumn(table_column=kept()),
            MetricsColumn(),
            console=console,
            transient=False,
            # Epochs can take minutes: rich's default pace over the last 30 s would leave the
            # ETA of the epochs bar blank ('-:--:--') for the whole run.
            speed_estimate_period=24 * 3600,
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
        self.progress.advance(self.epoch_task, 0)  # the first sample: the pace counts from now
        self.batch_task = self.progress.add_task("  epoch 1", total=batches, metrics="")
        self.batches = batches
        self.bar.bar_width = bar_width(self.progress.console.width, batches)

    def batch(self, epoch, done, loss, acc):
        self.progress.update(
            self.batch_task, completed=done, description=f"  epoch {epoch}",
            metrics=f"loss {loss:.4f} acc {acc:.2f}%",
        )  # fmt: skip

    def epoch(self, epoch, rows):
        task = self.task(self.batch_task)
        mean = means(rows)  # the whole epoch's: the live ones were read some batches before
        final = f"loss {mean['train_loss']:.4f} acc {mean['train_acc']:.2f}%"
        self.progress.update(self.batch_task, completed=task.total, metrics=final)
        self.progress.update(self.epoch_task, completed=epoch, metrics=bar_summary(rows))
        if "val_acc" in mean:  # the epoch's line is longer: the bar gives way
            self.bar.bar_width = bar_width(self.progress.console.width, self.batches, True)
        if epoch < self.task(self.epoch_task).total:
            self.progress.reset(self.batch_task, description=f"  epoch {epoch + 1}", metrics="")

    def message(self, text):
        self.progress.console.print(text, highlight=False)

    def task(self, task_id):
        # Progress.tasks is a list, not indexed by id: ids keep growing as groups replace tasks.
        return next(t for t in self.progress.tasks if t.id == task_id)


def results_table(title: str, columns: list[str], rows: list[list], left: int = 1) -> Table:
    """A rich table: the first `left` columns text, aligned left; the rest numbers."""
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i < left else "right")
    for row in rows:
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    return table


# --------------------------------------------------------------------------- studies


class StudyReporter(Reporter):
    """Progress of a whole study: the engine's calls for each group, plus these. Silent."""

    def start_study(self, total_runs: int, finished_runs: int) -> None: ...

    def start_setting(self, label: str, runs: int) -> None: ...

    def finish_setting(self, runs: int) -> None: ...


def make_study_reporter(console: Console, quiet: bool):
    """A StudyReporter: an overall bar over runs plus the current group's bars, or lines."""
    if quiet:
        return StudyReporter()
    if console.is_terminal:
        return RichStudyReporter(console)
    return LineStudyReporter(console)


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class StudyPace:
    """Runs done and left, and the time left at the pace of the runs trained so far."""

    def __init__(self):
        self.total = self.done = self.trained = 0.0
        self.started = time.perf_counter()

    def start(self, total: int, finished: int) -> None:
        self.total, self.done, self.trained = total, finished, 0.0
        self.started = time.perf_counter()

    def advance(self, runs: float) -> None:
        self.done += runs
        self.trained += runs

    def eta(self) -> str:
        if self.trained <= 0:
            return "?"
        elapsed = time.perf_counter() - self.started
        return clock(elapsed / self.trained * (self.total - self.done))


class LineStudyReporter(LineReporter, StudyReporter):
    """Plain lines: one when a setting starts, one per epoch, one with the ETA per setting."""

    def __init__(self, console: Console):
        super().__init__(console)
        self.pace = StudyPace()

    def start_study(self, total_runs, finished_runs):
        self.pace.start(total_runs, finished_runs)

    def start_setting(self, label, runs):
        self.label = label
        self.console.print(
            f"[{int(self.pace.done)}/{int(self.pace.total)} runs] {label}: training {runs} run(s)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip

    def finish_setting(self, runs):
        self.pace.advance(runs)
        self.console.print(
            f"[{int(self.pace.done)}/{int(self.pace.total)} runs] "
            f"elapsed {clock(time.perf_counter() - self.pace.started)}, eta {self.pace.eta()}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip


class RichStudyReporter(RichReporter, StudyReporter):
    """RichReporter's epoch and batch bars under an overall bar over the study's runs.

    The overall bar moves a fraction of a run per epoch, so its ETA is live from the first
    epoch on rather than from the first finished setting. It also names the setting in
    training, so the group's bars keep short names ('seed 42') and leave room for the bars.
    """

    def __init__(self, console: Console):
        super().__init__(console)
        self.runs_task = None
        self.runs_this_group = 0
        self.runs_before = 0  # runs done when the setting in training started

    def start_study(self, total_runs, finished_runs):
        self.runs_task = self.progress.add_task(
            "runs", total=total_runs, completed=finished_runs, metrics=""
        )
        self.progress.advance(self.runs_task, 0)  # the first sample: the pace counts from now

    def start_setting(self, label, runs):
        self.runs_before = round(self.task(self.runs_task).completed)
        self.progress.update(self.runs_task, metrics=label)

    def start_group(self, seeds, epochs, batches):
        super().start_group(seeds, epochs, batches)
        self.runs_this_group = len(seeds)

    def epoch(self, epoch, rows):
        super().epoch(epoch, rows)
        total = self.task(self.epoch_task).total
        self.progress.advance(self.runs_task, self.runs_this_group / total)

    def finish_setting(self, runs):
        # Whole runs again, whatever rounding the fractions left; and the runs of a job
        # trained in another process (a Ray worker), whose epochs were never shown here.
        self.progress.update(self.runs_task, completed=self.runs_before + runs)
