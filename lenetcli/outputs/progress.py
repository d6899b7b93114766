"""Showing training progress: rich bars on a terminal, plain lines elsewhere, nothing with --quiet."""

from __future__ import annotations

import math
import time

from rich.console import Console, ConsoleOptions
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.segment import Segment
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
    """An epoch's metrics averaged over a group's members, those whose training loss is a
    number (one member's nan would make every mean nan; diverged() counts the others)."""
    names = [k for k in ("train_loss", "train_acc", "val_acc", "test_acc") if k in rows[0]]
    finite = [r for r in rows if math.isfinite(r["train_loss"])] or rows
    return {k: sum(r[k] for r in finite) / len(finite) for k in names}


def diverged(rows: list[dict]) -> str:
    """'  (1 of 4 diverged)' where some members' training loss is no number, else ''."""
    bad = sum(not math.isfinite(r["train_loss"]) for r in rows)
    return f"  ({bad} of {len(rows)} diverged)" if bad and len(rows) > 1 else ""


def epoch_summary(rows: list[dict]) -> str:
    """'loss 0.1234  train 97.50%  test 98.10%  1.2s': an epoch in a log line."""
    mean = means(rows)
    val = f"val {mean['val_acc']:.2f}%  " if "val_acc" in mean else ""
    return (
        f"loss {mean['train_loss']:.4f}  train {mean['train_acc']:.2f}%  {val}"
        f"test {mean['test_acc']:.2f}%  {rows[0]['seconds']:.1f}s{diverged(rows)}"
    )


def bar_summary(rows: list[dict]) -> str:
    """'loss 0.1234 acc 97.50% test 98.10%': an epoch next to its bar, where room is short
    (no seconds: the bar shows the time; 'acc' as in the batch bar's live metrics)."""
    mean = means(rows)
    val = f" val {mean['val_acc']:.2f}%" if "val_acc" in mean else ""
    return (
        f"loss {mean['train_loss']:.4f} acc {mean['train_acc']:.2f}%{val} "
        f"test {mean['test_acc']:.2f}%{diverged(rows)}"
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


ECHO = 2  # columns left free after the last bar for the terminal's '^C' (RoomForCtrlC)
NAME_WIDTH = 24  # at most; a longer name ends in '…'
TIMES = 7 + 3 + 7  # '0:00:27', 'eta', '0:00:12'
GAPS = 6  # one space between each two of the seven columns
BAR_WIDTH = 40  # rich's, where there is room


def line_fit(
    console_width: int, names: list[str], totals: list[float], metrics: list[str]
) -> tuple[int, int]:
    """The bar's width and the room left for the metrics on a line console_width wide that
    holds the longest name, the widest 'done/total' count and the longest of metrics.

    The bar is rich's 40 where there is room; where there is not, what the rest of the line
    leaves, so that those metrics stay whole (down to 4, which still reads as a bar: on a
    very narrow terminal, the metrics are cut short instead). Longer metrics than these (a
    study's setting label) end in '…' within the room.
    """
    name = min(NAME_WIDTH, max(map(len, names)))
    count = max(2 * len(str(int(total))) + 1 for total in totals)
    others = name + count + TIMES + GAPS
    bar = max(4, min(BAR_WIDTH, console_width - others - max(map(len, metrics))))
    return bar, max(1, console_width - others - bar)


class RoomForCtrlC(Progress):
    """Progress bars whose last line leaves room for the terminal's '^C'.

    The terminal echoes Ctrl-C as '^C' where the cursor is: after the last line of the bars,
    which rich pads with blanks to the table's width. On a line as wide as the terminal it
    wrapped onto a new line; rich, which redraws the bars by moving up from the cursor, then
    drew them one line low and left the epoch bar on screen twice.
    """

    def get_renderable(self):
        return EchoRoom(super().get_renderable())


class EchoRoom:
    """A renderable whose last line ends with its last character (no padding), at least ECHO
    columns short of the width it is given (the batch bar's live metrics are shorter than
    an epoch's, so the line is rarely cut)."""

    def __init__(self, renderable):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        lines = console.render_lines(self.renderable, options, pad=False)
        for line in lines[:-1]:
            yield from line
            yield Segment.line()
        if lines:
            last = without_trailing_blanks(lines[-1])
            yield from Segment.adjust_line_length(
                last, min(Segment.get_line_length(last), options.max_width - ECHO), pad=False
            )


def without_trailing_blanks(line: list[Segment]) -> list[Segment]:
    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip():
        line.pop()
    if line and not line[-1].control:
        text, style, control = line[-1]
        line[-1] = Segment(text.rstrip(), style, control)
    return line


def kept() -> Column:
    """A column that keeps its full width on a narrow terminal.

    A rich table shrinks its widest wrappable columns first, and every progress column is
    wrappable by default: at 80 columns the counts and times were squeezed to '…'. Only the
    bar stays wrappable; line_fit sizes it and the metrics' room.
    """
    return Column(no_wrap=True)


class RichReporter(Reporter):
    """A bar for the batches of the current epoch and one for all epochs, with ETA and live metrics.

    Used as a context manager so that the bars are closed even when training fails.
    """

    def __init__(self, console: Console, label: str = ""):
        self.label = label
        self.bar = BarColumn(bar_width=BAR_WIDTH)
        self.metrics = Column(no_wrap=True, overflow="ellipsis")  # its max_width: line_fit's
        self.validated = False
        self.progress = RoomForCtrlC(
            # A long name ends in '…' rather than push the numbers off the line.
            TextColumn(
                "[bold]{task.description}",
                table_column=Column(no_wrap=True, max_width=NAME_WIDTH, overflow="ellipsis"),
            ),
            self.bar,
            MofNCompleteColumn(table_column=kept()),
            TimeElapsedColumn(table_column=kept()),
            TextColumn("eta", table_column=kept()),
            TimeRemainingColumn(table_column=kept()),
            MetricsColumn(table_column=self.metrics),
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
        self.fit_bar()

    def fit_bar(self) -> None:
        """Size the bar and the metrics' room (line_fit) from the bars' names (the batch
        bar's as in the last epoch: 'epoch 10' of 10), counts and metrics, and from the
        metrics an epoch will show, before the first one has."""
        expected = {"train_loss": 0.0, "train_acc": 10.0, "test_acc": 10.0}
        if self.validated:
            expected["val_acc"] = 10.0
        tasks = self.progress.tasks
        last_epoch = f"  epoch {self.task(self.epoch_task).total}"
        self.bar.bar_width, self.metrics.max_width = line_fit(
            self.progress.console.width,
            [last_epoch, *(task.description for task in tasks)],
            [task.total for task in tasks],
            [bar_summary([expected]), *(t.fields["metrics"] for t in tasks if self.sized(t))],
        )

    def sized(self, task) -> bool:
        """Whether the bar makes room for the task's metrics: for every task's here."""
        return True

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
        self.validated = "val_acc" in mean  # the epoch's line is longer: the bar gives way
        self.fit_bar()
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

    def sized(self, task) -> bool:
        """Not the runs bar's setting label: a long one ends in '…' rather than cut the
        epoch's metrics short."""
        return task.id != self.runs_task

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


class CourseReporter(StudyReporter):
    """One progress over the studies of several sections (lenet report --study): the runs
    done of all the sections' and the ETA at the pace so far, and the current group, shown
    by the StudyReporter it wraps.

    The totals are the whole study's, given once (start_course). Each section's session then
    calls start_study for its own study: that is no new start (its finished runs are counted
    in the totals already), so it is passed over; the setting labels name the section.
    """

    def __init__(self, shown: StudyReporter):
        self.shown = shown
        self.section = ""

    def __enter__(self):
        self.shown.__enter__()
        return self

    def __exit__(self, *exc):
        return self.shown.__exit__(*exc)

    def start_course(self, total_runs: int, finished_runs: int) -> None:
        self.shown.start_study(total_runs, finished_runs)

    def start_section(self, label: str) -> None:
        self.section = label

    def start_study(self, total_runs, finished_runs):
        pass

    def start_setting(self, label, runs):
        self.shown.start_setting(f"{self.section} {label}".strip(), runs)

    def finish_setting(self, runs):
        self.shown.finish_setting(runs)

    def start_group(self, seeds, epochs, batches):
        self.shown.start_group(seeds, epochs, batches)

    def batch(self, epoch, done, loss, acc):
        self.shown.batch(epoch, done, loss, acc)

    def epoch(self, epoch, rows):
        self.shown.epoch(epoch, rows)

    def message(self, text):
        self.shown.message(text)


def make_course_reporter(console: Console, quiet: bool) -> CourseReporter:
    return CourseReporter(make_study_reporter(console, quiet))
