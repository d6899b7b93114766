"""Real `lenet` processes stopped as a user, a scheduler or a closed terminal stops them.

Each test starts `python -m lenetcli` with its output piped, as a script or a batch job runs
it, and sends SIGINT (Ctrl-C), SIGTERM (kill, systemd, Slurm, Docker), SIGHUP (a closed
terminal) or SIGKILL at a chosen moment: in the first epochs, between the settings of a
sweep, or during the final writes. The moments are found from the process's own output
lines and files, never from sleeps alone. Each case checks the message, the exit code, the
state of the folder, and for a sweep that --resume completes it to the CSVs an
uninterrupted sweep writes.

Startup dominates (python imports torch, pandas, matplotlib: about 5 s a process), so the
processes that are independent are started together, and the runs that need no signal
(the uninterrupted sweep, the resumes) run in this process.
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.outputs.files import HOLDING

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TRAIN = ["train", "--dataset", "digits", "--train-subset", "300", "--test-subset", "100"]
SWEEP = [
    "sweep", "--dataset", "digits", "--lr", "0.001,0.002,0.005", "--epochs", "2",
    "--group-by", "setting",  # stopped between settings: one group each
    "--train-subset", "300", "--test-subset", "100", "--repeats", "2",
]  # fmt: skip
WAIT = 120  # seconds: at most, on a loaded machine; a passing test waits far less


class Lenet:
    """A `lenet` process whose stdout and stderr are read as they come, line by line."""

    def __init__(self, *args, head: int | None = None):
        """head: read that many lines of stdout, then close it, as `| head -N` does."""
        self.head = head
        # One thread, as the tests in this process train: the same numbers to the last digit.
        env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120"}
        command = [sys.executable, "-m", "lenetcli", *map(str, args)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self.read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self.read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def read(self, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            if into is self.out:
                self.lines.put(line)
                if len(into) == self.head:
                    stream.close()
                    return

    def wait_for_line(self, pattern: str) -> str:
        """The first stdout line matching pattern (from its start), once it is printed."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, f"lenet ended: {''.join(self.err)}"
                continue
            if re.match(pattern, line):
                return line
        raise AssertionError(f"no line {pattern!r} in {WAIT} s: {''.join(self.out)}")

    def wait_until(self, condition) -> None:
        """Until condition() holds, checked every 2 ms (the final writes take a second)."""
        deadline = time.monotonic() + WAIT
        while not condition():
            assert self.process.poll() is None, f"lenet ended first: {''.join(self.err)}"
            assert time.monotonic() < deadline, "the moment never came"
            time.sleep(0.002)

    def send(self, number: int) -> None:
        self.process.send_signal(number)

    def stop_at(self, moment, number: int) -> None:
        """Send signal `number` once moment() returns (say, wait_for_line): in a thread of
        its own, so that several processes are each stopped at their moment."""

        def wait_and_send():
            try:
                moment()
                self.send(number)
            except AssertionError as failure:
                self.failures.append(failure)

        self.failures: list[AssertionError] = []
        self.stopper = threading.Thread(target=wait_and_send, daemon=True)
        self.stopper.start()

    def finish(self) -> tuple[int, str, str]:
        """The exit code (negative: killed by that signal), stdout and stderr."""
        if hasattr(self, "stopper"):
            self.stopper.join(timeout=WAIT)
            if self.failures:
                self.process.kill()
                raise self.failures[0]
        code = self.process.wait(timeout=WAIT)
        for reader in self.readers:
            reader.join(timeout=WAIT)
        return code, "".join(self.out), "".join(self.err)


def lenet(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def record_of(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):  # not there yet, or being replaced
        return {}


def being_written(folder: Path) -> bool:
    """Whether the command is in its final writes (config.json says so meanwhile)."""
    return record_of(folder).get("interrupted") == "while writing its outputs"


def without_seconds(path: Path) -> str:
    """A CSV as written, less its seconds column (the time each run took)."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    return "\n".join(",".join(row[i] for i in keep) for row in rows)


# --------------------------------------------------------------------------- lenet train


def test_sigterm_and_sighup_in_the_first_epochs_stop_as_ctrl_c_does(tmp_path):
    """What Ctrl-C keeps (tests/test_cli.py), SIGTERM and SIGHUP keep too, with the same
    message and the shell's exit code: 128 + the signal's number."""
    stops = {signal.SIGTERM: 143, signal.SIGHUP: 129}
    runs = {
        number: Lenet(*TRAIN, "--epochs", "40", "--out", tmp_path / number.name) for number in stops
    }  # started together: their imports overlap
    for number, run in runs.items():
        run.stop_at(lambda run=run: run.wait_for_line(r"seed 42 epoch 1/40:"), number)
    for number, run in runs.items():
        code, out, err = run.finish()
        folder = tmp_path / number.name
        assert code == stops[number], (number, err)
        done = int(re.match(r"interrupted after epoch (\d+) of 40: ", err).group(1))
        assert err == (
            f"interrupted after epoch {done} of 40: {folder} keeps metrics.csv and curves.png "
            "of the finished epochs, and no model; run the command again to train in full "
            "(add --overwrite to reuse the folder)\n"
        )
        assert f"epoch {done + 1}/40:" not in out  # the epoch it stopped in: not shown done
        assert sorted(p.name for p in folder.iterdir()) == [
            "config.json", "curves.png", "metrics.csv",
        ]  # fmt: skip
        assert len((folder / "metrics.csv").read_text().splitlines()) == 1 + done
        assert record_of(folder)["interrupted"] == f"after epoch {done} of 40"


def test_ctrl_c_during_the_final_writes_lets_them_finish_and_sigkill_leaves_them_marked(
    tmp_path,
):
    ctrl_c = Lenet(*TRAIN, "--epochs", "2", "--repeats", "2", "--out", tmp_path / "ctrl-c")
    kill = Lenet(*TRAIN, "--epochs", "2", "--repeats", "2", "--out", tmp_path / "kill")
    ctrl_c.stop_at(
        lambda: ctrl_c.wait_until(lambda: being_written(tmp_path / "ctrl-c")), signal.SIGINT
    )
    kill.stop_at(lambda: kill.wait_until(lambda: being_written(tmp_path / "kill")), signal.SIGKILL)

    code, _, err = ctrl_c.finish()
    folder = tmp_path / "ctrl-c"
    assert code == 130
    assert err == (
        f"{HOLDING}\n"
        f"interrupted while writing the outputs, which were finished first: {folder} is complete\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "curves.png", "metrics.csv", "model.pt", "models", "predictions.csv",
        "results.json",
    ]  # fmt: skip
    assert "interrupted" not in record_of(folder)
    assert lenet("report", folder, "--out", tmp_path / "report", "--quiet").exit_code == 0

    code, _, _ = kill.finish()
    assert code == -signal.SIGKILL  # no handler can run: the folder says what it is
    assert being_written(tmp_path / "kill")
    report = lenet("report", tmp_path / "kill", "--out", tmp_path / "no-report")
    assert report.exit_code == 2
    assert "lenet train was interrupted while writing its outputs" in report.stderr


def test_a_closed_stdout_silences_the_output_not_the_run(tmp_path):
    """`lenet train ... | head -1`: the reader takes one line and goes."""
    folder = tmp_path / "run"
    code, out, err = Lenet(*TRAIN, "--epochs", "3", "--out", folder, head=1).finish()
    assert out.startswith("LeNet-5 on Digits") and out.count("\n") == 1
    assert (code, err) == (0, "")
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "curves.png", "metrics.csv", "model.pt", "predictions.csv",
        "results.json",
    ]  # fmt: skip
    assert len((folder / "metrics.csv").read_text().splitlines()) == 1 + 3
    assert "interrupted" not in record_of(folder)


# --------------------------------------------------------------------------- lenet sweep


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """An uninterrupted sweep (in this process), and two stopped and then resumed: SIGINT
    between its settings, SIGKILL during its final writes, while a figure was half-written."""
    root = tmp_path_factory.mktemp("sweeps")
    between = Lenet(*SWEEP, "--out", root / "between")
    killed = Lenet(*SWEEP, "--out", root / "killed")

    def figure_half_written() -> bool:
        folder = root / "killed"
        return (folder / "summary.csv").exists() and any(folder.rglob(".*.png.lenet-*.tmp"))

    second = r"\[2/6 runs\] digits lr0.002: training"
    between.stop_at(lambda: between.wait_for_line(second), signal.SIGINT)
    killed.stop_at(lambda: killed.wait_until(figure_half_written), signal.SIGKILL)
    # meanwhile, in this process:
    assert lenet(*SWEEP, "--out", root / "reference", "--quiet").exit_code == 0
    state = {"between": between.finish(), "killed": killed.finish()}
    state["killed_report"] = lenet("report", root / "killed", "--out", root / "report")
    state["temporaries"] = sorted(p.name for p in (root / "killed").rglob("*.tmp"))
    for name in ("between", "killed"):
        resumed = lenet(*SWEEP, "--resume", "--out", root / name, "--quiet")
        assert resumed.exit_code == 0, resumed.output
    return root, state


def test_sigint_between_settings_keeps_the_finished_ones_and_names_the_resume(sweeps):
    root, state = sweeps
    code, _, err = state["between"]
    folder = root / "between"
    assert code == 130
    saved = int(re.match(r"interrupted: (\d) of 6 runs are finished and saved in ", err).group(1))
    assert saved in (2, 4)  # the signal came in the second setting, or as it was saved
    assert err == (
        f"interrupted: {saved} of 6 runs are finished and saved in {folder}; run the same "
        f"command with --resume --out {folder} to continue\n"
    )


def test_sigkill_during_the_final_writes_leaves_no_temporary_after_resume(sweeps):
    root, state = sweeps
    code, _, _ = state["killed"]
    assert code == -signal.SIGKILL
    assert state["temporaries"]  # the killed write left its temporary: --resume removed it
    assert not list((root / "killed").rglob("*.tmp"))
    for name in ("summary.md", "compare.png", "accuracy.png"):
        assert (root / "killed" / name).is_file()


def test_a_sweep_killed_during_its_final_writes_is_not_reported_as_finished(sweeps):
    _, state = sweeps
    report = state["killed_report"]
    assert report.exit_code == 2
    assert "lenet sweep was interrupted while writing its outputs" in report.stderr


@pytest.mark.parametrize("name", ["runs.csv", "metrics.csv", "summary.csv"])
@pytest.mark.parametrize("stopped", ["between", "killed"])
def test_resume_completes_to_the_csvs_of_an_uninterrupted_sweep(sweeps, stopped, name):
    root, _ = sweeps
    assert without_seconds(root / stopped / name) == without_seconds(root / "reference" / name)
