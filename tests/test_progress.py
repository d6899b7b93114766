"""The progress bars on narrow terminals: names, counts and times whole; the metrics give way.

The reporters are driven by hand on a fake clock and their bars drawn once into a string,
without starting the live display, so that the text is the same on every run.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from lenetcli.outputs.progress import LineReporter, RichReporter, RichStudyReporter, bar_summary

# A bar line: name, bar, count, elapsed, 'eta', time left, metrics (maybe none, maybe cut).
BAR_LINE = re.compile(
    r" *(?P<name>\S.*?) +[━╸╺ ]+ +(?P<count>\d+/\d+) +(?P<elapsed>\d:\d\d:\d\d) "
    r"eta (?P<eta>\d:\d\d:\d\d|-:--:--) *(?P<metrics>.*)"
)


class Clock:
    """Stands in for the bars' clock: time moves only when a test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def terminal(width: int) -> Console:
    return Console(
        file=io.StringIO(), width=width, force_terminal=True, color_system=None,
        legacy_windows=False, _environ={},
    )  # fmt: skip


def with_clock(reporter):
    reporter.clock = reporter.progress.get_time = Clock()
    return reporter


def drawn(reporter) -> list[dict]:
    """The bars as they would be drawn now, one parsed line per bar; checks each line fits."""
    console = reporter.progress.console
    console.print(reporter.progress.get_renderable())
    lines = console.file.getvalue().splitlines()
    assert all(len(line) <= console.width for line in lines)
    parsed = [BAR_LINE.fullmatch(line.rstrip()) for line in lines]
    assert all(parsed), lines
    return [m.groupdict() for m in parsed]


def row(test_acc: float = 89.44) -> dict:
    return {"train_loss": 0.41334, "train_acc": 86.5, "test_acc": test_acc, "seconds": 1.25}


def train_two_epochs(reporter, epochs: int = 3, batches: int = 45) -> None:
    """A group of one seed: two epochs at 0.25 s a batch, then 20 batches of the third."""
    reporter.start_group([42], epochs, batches)
    for epoch in (1, 2, 3):
        for done in range(1, batches + 1 if epoch < 3 else 21):
            reporter.clock.now += 0.25
            reporter.batch(epoch, done, 0.4133, 86.5)
        if epoch < 3:
            reporter.epoch(epoch, [row()])


@pytest.mark.parametrize("width", [80, 60])
def test_train_bars_keep_counts_and_times_whole(width):
    reporter = with_clock(RichReporter(terminal(width)))
    train_two_epochs(reporter)
    epochs, batches = drawn(reporter)
    # 11.25 s an epoch, 4 batches a second; rich rounds the time left up
    assert (epochs["name"], epochs["count"]) == ("seed 42", "2/3")
    assert (epochs["elapsed"], epochs["eta"]) == ("0:00:27", "0:00:12")
    assert (batches["name"], batches["count"]) == ("epoch 3", "20/45")
    assert (batches["elapsed"], batches["eta"]) == ("0:00:05", "0:00:07")
    if width == 80:  # where there is room, the metrics are whole
        assert epochs["metrics"] == "loss 0.4133 acc 86.50% test 89.44%"
        assert batches["metrics"] == "loss 0.4133 acc 86.50%"
    else:  # otherwise they are cut short, never wrapped onto a second line
        assert epochs["metrics"].startswith("loss 0.4133") and epochs["metrics"].endswith("…")


def test_study_bars_name_the_setting_on_the_runs_bar():
    reporter = with_clock(RichStudyReporter(terminal(80)))
    reporter.start_study(total_runs=4, finished_runs=0)
    reporter.start_setting("digits lr0.002-bs32-ep2", runs=1)
    train_two_epochs(reporter)
    runs, epochs, batches = drawn(reporter)
    assert (runs["name"], runs["count"], runs["elapsed"]) == ("runs", "0/4", "0:00:27")
    assert runs["eta"] == "0:01:53"  # 2/3 of a run in 22.5 s, 3 1/3 runs to go: 112.5 s
    assert runs["metrics"] == "digits lr0.002-bs32-ep2"
    assert (epochs["name"], epochs["count"], epochs["eta"]) == ("seed 42", "2/3", "0:00:12")
    assert epochs["metrics"] == "loss 0.4133 acc 86.50% test 89.44%"
    assert batches["count"] == "20/45"


def test_a_long_name_is_cut_short_not_the_numbers():
    reporter = with_clock(RichReporter(terminal(80), label="fashion-mnist-with-a-long-label"))
    train_two_epochs(reporter, epochs=10, batches=469)
    epochs, batches = drawn(reporter)
    assert epochs["name"].startswith("fashion-mnist") and epochs["name"].endswith("…")
    assert (epochs["count"], batches["count"]) == ("2/10", "20/469")
    assert (epochs["elapsed"], batches["elapsed"]) == ("0:03:59", "0:00:05")


def test_plain_lines_are_unchanged():
    console = Console(file=io.StringIO(), width=80)
    reporter = LineReporter(console, "digits")
    reporter.start_group([42, 43], 2, 45)
    reporter.epoch(1, [row(89.0), row(90.0)])
    assert console.file.getvalue() == (
        "digits seeds 42-43 epoch 1/2: loss 0.4133  train 86.50%  test 89.50%  1.2s\n"
    )


def test_validation_accuracy_joins_the_line_and_the_bar_when_measured():
    console = Console(file=io.StringIO(), width=80)
    reporter = LineReporter(console)
    reporter.start_group([42], 2, 45)
    reporter.epoch(1, [row(89.0) | {"val_loss": 0.3, "val_acc": 91.25}])
    assert "train 86.50%  val 91.25%  test 89.00%" in console.file.getvalue()
    assert bar_summary([row(89.0) | {"val_acc": 91.25}]).endswith("val 91.25% test 89.00%")


@pytest.mark.parametrize(
    ("width", "batches", "validated"), [(80, 1875, False), (100, 45, True), (120, 1875, True)]
)
def test_the_bar_gives_way_to_long_counts_and_validation(width, batches, validated):
    reporter = with_clock(RichReporter(terminal(width)))
    extra = {"val_loss": 0.3, "val_acc": 91.25} if validated else {}
    reporter.start_group([42], 3, batches)
    for epoch in (1, 2):
        for done in range(1, batches + 1):
            reporter.batch(epoch, done, 0.4133, 86.5)
        reporter.epoch(epoch, [row() | extra])
    reporter.batch(3, 20, 0.4133, 86.5)
    epochs, live = drawn(reporter)
    val = " val 91.25%" if validated else ""
    assert epochs["metrics"] == f"loss 0.4133 acc 86.50%{val} test 89.44%"  # whole
    assert live["metrics"] == "loss 0.4133 acc 86.50%"


def test_a_finished_epoch_shows_its_own_loss_and_accuracy_on_the_batch_bar():
    reporter = with_clock(RichReporter(terminal(80)))
    reporter.start_group([42], 1, 45)
    reporter.batch(1, 40, 0.5, 80.0)  # the last live reading, five batches before the end
    reporter.epoch(1, [row() | {"train_loss": 0.45, "train_acc": 82.25}])
    epochs, batches = drawn(reporter)
    assert batches["count"] == "45/45" and batches["metrics"] == "loss 0.4500 acc 82.25%"
    assert epochs["metrics"] == "loss 0.4500 acc 82.25% test 89.44%"


def train_epochs_of(reporter, seeds, batches: int, epochs: int = 3, val: bool = False) -> None:
    """Two finished epochs of a group, then 20 batches of the third, on the fake clock."""
    extra = {"val_loss": 0.3, "val_acc": 91.25} if val else {}
    reporter.start_group(seeds, epochs, batches)
    for epoch in (1, 2):
        for done in range(1, batches + 1):
            reporter.clock.now += 0.25
            reporter.batch(epoch, done, 0.4133, 86.5)
        reporter.epoch(epoch, [row() | extra for _ in seeds])
    reporter.batch(3, 20, 0.4133, 86.5)


@pytest.mark.parametrize(
    ("width", "batches", "study"), [(80, 45, False), (80, 45, True), (100, 1875, True)]
)
def test_a_seeds_label_and_a_study_keep_the_metrics_whole(width, batches, study):
    # 'seeds 42-44' is 4 columns wider than 'seed 42', which the bar was sized for
    seeds = [42, 43, 44]
    if study:
        reporter = with_clock(RichStudyReporter(terminal(width)))
        reporter.start_study(total_runs=12, finished_runs=0)
        reporter.start_setting("mnist lr0.002-bs32-ep10-wd0.0005-relu-max", runs=3)
    else:
        reporter = with_clock(RichReporter(terminal(width)))
    train_epochs_of(reporter, seeds, batches, epochs=10)
    *runs, epochs, live = drawn(reporter)
    assert epochs["name"] == "seeds 42-44" and epochs["count"] == "2/10"
    assert epochs["metrics"] == "loss 0.4133 acc 86.50% test 89.44%"  # whole
    assert live["metrics"] == "loss 0.4133 acc 86.50%"
    if study:  # the setting's long label gives way instead
        assert runs[0]["name"] == "runs" and runs[0]["metrics"].startswith("mnist lr0.002")
        assert runs[0]["metrics"].endswith("…")


@pytest.mark.parametrize("width", [80, 100])
def test_the_last_bar_leaves_room_for_the_terminals_ctrl_c(width):
    """The terminal echoes Ctrl-C as '^C' after the last bar; where that line filled the
    terminal, the echo wrapped, rich redrew the bars a line low and the epoch bar stood on
    screen twice. Recorded as the terminal gets it: the last line ends where its text does."""
    reporter = with_clock(RichReporter(terminal(width)))
    train_epochs_of(reporter, [42], batches=1875)  # the widest counts: the longest lines
    console = reporter.progress.console
    console.print(reporter.progress.get_renderable(), end="")
    *bars, last = console.file.getvalue().split("\n")
    assert len(bars) == 1 and len(bars[0]) >= width - 2  # the epoch bar: as wide as ever
    assert last.startswith("  epoch 3") and len(last) <= width - 2, repr(last)


def test_the_runs_bar_counts_a_job_trained_elsewhere():
    # A Ray worker trains the job: this process sees no epochs, only the job's end.
    reporter = with_clock(RichStudyReporter(terminal(80)))
    reporter.start_study(total_runs=6, finished_runs=1)
    reporter.start_setting("digits lr0.001", runs=3)
    reporter.finish_setting(3)
    reporter.start_setting("digits lr0.002", runs=1)
    train_two_epochs(reporter)  # and a job trained here still counts whole runs
    reporter.finish_setting(1)
    runs = drawn(reporter)[0]
    assert runs["count"] == "5/6"


def test_a_diverged_member_is_counted_not_averaged_into_the_group_line():
    console = Console(file=io.StringIO(), width=200)
    reporter = LineReporter(console, "digits lr0.001 +1 setting")
    reporter.start_group([42, 43, 42, 43], 2, 45)
    lost = row(10.0) | {"train_loss": float("nan")}
    reporter.epoch(1, [row(89.0), row(91.0), row(90.0), lost])
    line = console.file.getvalue()
    assert "loss 0.4133  train 86.50%  test 90.00%  1.2s  (1 of 4 diverged)" in line, line
    assert "nan" not in line
    assert bar_summary([row(89.0), lost]).endswith("test 89.00%  (1 of 2 diverged)")
