"""Folders written by lenetcli 0.1.0 (tests/fixtures/v0, see its README) still resume, training
nothing, and still report, with the numbers they were written with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.outputs.files import read_csv
from lenetcli.science import engine

FIXTURE = Path(__file__).parent / "fixtures" / "v0"
SMALL = ["--dataset", "digits", "--repeats", "2", "--epochs", "2", "--train-subset", "300",
         "--test-subset", "100"]  # fmt: skip
ARGS = {
    "sweep": ["sweep", *SMALL, "--lr", "0.001,0.005"],
    "noise": ["noise", *SMALL, "--noise-type", "symmetric,pair", "--noise-rate", "0,0.4"],
}


@pytest.fixture
def never_trains(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a kept run was trained again")

    monkeypatch.setattr(engine, "train", refuse)


@pytest.mark.parametrize("command", ["sweep", "noise"])
def test_a_folder_of_0_1_resumes_keeping_every_run_and_its_numbers(command, tmp_path, never_trains):
    out = tmp_path / command
    shutil.copytree(FIXTURE / command, out)
    result = CliRunner().invoke(app, [*ARGS[command], "--resume", "--out", str(out)])
    assert result.exit_code == 0, result.output
    kept = {"sweep": 4, "noise": 6}[command]
    assert f"{kept} finished run(s) in" in result.output
    assert "are kept, 0 to train" in " ".join(result.output.split())
    for name in ("runs.csv", "metrics.csv"):
        pd.testing.assert_frame_equal(read_csv(out / name), read_csv(FIXTURE / command / name))
    pd.testing.assert_frame_equal(
        read_csv(out / "summary.csv"), read_csv(FIXTURE / command / "summary.csv"), rtol=1e-9
    )
    for table in (FIXTURE / command / "tables").glob("*.csv"):
        pd.testing.assert_frame_equal(
            read_csv(out / "tables" / table.name), read_csv(table), rtol=1e-9
        )
    assert (out / "summary.md").read_text() == (FIXTURE / command / "summary.md").read_text()


def test_folders_of_0_1_report_the_numbers_0_1_reported(tmp_path):
    result = CliRunner().invoke(
        app,
        ["report", str(FIXTURE / "sweep"), str(FIXTURE / "noise"), "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 0, result.output
    now, then = read_csv(tmp_path / "r" / "results.csv"), read_csv(FIXTURE / "report-results.csv")
    assert list(now.columns) == list(then.columns)
    numbers = then.select_dtypes("number").columns
    pd.testing.assert_frame_equal(now[numbers], then[numbers], rtol=1e-9)
    words = [c for c in then.columns if c not in numbers and c != "source"]
    pd.testing.assert_frame_equal(now[words], then[words])


def fixture_sweep(tmp_path: Path) -> Path:
    """A copy of 0.1.0's sweep folder, to damage."""
    folder = tmp_path / "sweep"
    shutil.copytree(FIXTURE / "sweep", folder)
    return folder


def report_refusal(folder: Path, tmp_path: Path) -> str:
    """lenet report's one-line error on folder, checked to exit 2 and write nothing."""
    result = CliRunner().invoke(app, ["report", str(folder), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "r").exists()
    return " ".join(result.output.split())


def test_report_refuses_a_runs_csv_damaged_by_hand_naming_line_and_column(tmp_path):
    folder = fixture_sweep(tmp_path)
    runs = read_csv(folder / "runs.csv")
    runs["final_test_acc"] = runs["final_test_acc"].astype(object)
    runs.loc[2, "final_test_acc"] = "5e+307"  # a mean of 5e+307 before
    runs.to_csv(folder / "runs.csv", index=False)
    message = report_refusal(folder, tmp_path)
    assert (
        "runs.csv, line 4, column final_test_acc: 5e+307 is not an accuracy in percent" in message
    )


def test_report_refuses_a_metrics_csv_damaged_by_hand(tmp_path):
    folder = fixture_sweep(tmp_path)
    read_csv(folder / "metrics.csv").assign(test_acc="abc").to_csv(
        folder / "metrics.csv", index=False
    )
    message = report_refusal(folder, tmp_path)
    assert "metrics.csv, line 2, column test_acc: 'abc' is not a number" in message


def test_report_names_a_metrics_csv_cut_short_as_a_value_missing(tmp_path):
    folder = fixture_sweep(tmp_path)
    header, first, *_ = (folder / "metrics.csv").read_text().splitlines()
    cut = ",".join(first.split(",")[:7])  # a disk full after test_loss: the rest is missing
    (folder / "metrics.csv").write_text(f"{header}\n{cut}\n")
    message = report_refusal(folder, tmp_path)
    assert "metrics.csv, line 2, column test_acc: no number (empty, or nan)" in message


def test_a_model_of_0_1_is_studied_by_confusion_with_the_accuracy_it_was_saved_with(tmp_path):
    import json

    import torch

    model = FIXTURE / "sweep" / "models" / "digits-lr0.005" / "seed-42.pt"
    saved = torch.load(model, weights_only=True)
    assert saved["format"] == "lenetcli.checkpoint/1"  # as 0.1.0 wrote it, and lenet writes
    out = tmp_path / "conf"
    args = ["confusion", "--checkpoint", str(model), "--test-subset", "100", "--out", str(out)]
    result = CliRunner().invoke(app, args)  # 100: the test images it was evaluated on
    assert result.exit_code == 0, result.output
    (run,) = json.loads((out / "results.json").read_text())["runs"]
    assert run["final_test_acc"] == saved["final_test_acc"] == 82.0
