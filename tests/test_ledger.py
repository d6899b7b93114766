"""The ledger (studies/ledger.py) and what it reads back: spreadsheet-safe run keys, keys of
lenetcli 0.1 that looked like numbers, and runs.csv files that lenet did not write as they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError
from lenetcli.outputs.files import read_csv, write_csv
from lenetcli.science import engine
from lenetcli.studies.results import checked_metrics
from lenetcli.studies.study import NUMBER_LIKE, legacy_run_key, run_key

# digits, 1 epoch, subsets 100/50: seed 1130's hash begins with 16 decimal digits
NUMERIC_SEED = 1130
ARGS = ["sweep", "--dataset", "digits", "--epochs", "1", "--train-subset", "100",
        "--test-subset", "50", "--repeats", "1"]  # fmt: skip


def config() -> TrainConfig:
    return TrainConfig(dataset="digits", epochs=1, train_subset=100, test_subset=50)


def test_a_key_that_would_read_as_a_number_gets_a_letter():
    assert legacy_run_key(config(), NUMERIC_SEED) == "9468978663034975"
    assert run_key(config(), NUMERIC_SEED) == "p468978663034975"
    assert legacy_run_key(config(), 42) == run_key(config(), 42)  # the others stay as they were


def test_no_key_looks_like_a_number():
    keys = [run_key(config(), seed) for seed in range(3000)]
    assert not [key for key in keys if NUMBER_LIKE.fullmatch(key)]
    assert len(set(keys)) == len(keys)
    assert NUMBER_LIKE.fullmatch("45027745186914e6") and NUMBER_LIKE.fullmatch("2735294447379883")


def sweep(out: Path, *args: str):
    return CliRunner().invoke(app, [*ARGS, "--seed", str(NUMERIC_SEED), "--out", str(out), *args])


@pytest.fixture(scope="module")
def numeric(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("keys") / "out"
    assert sweep(out, "--quiet").exit_code == 0
    return out


def test_pandas_reads_the_key_column_as_text(numeric):
    runs = pd.read_csv(numeric / "runs.csv")  # no dtype given, as a user would
    assert runs["run_key"].tolist() == ["p468978663034975"]


def test_a_folder_with_a_numeric_key_of_0_1_resumes_and_gets_the_new_key(
    numeric, tmp_path, monkeypatch
):
    out = tmp_path / "old"
    shutil.copytree(numeric, out)
    for name in ("runs.csv", "metrics.csv"):  # as lenetcli 0.1 wrote the key
        frame = read_csv(out / name)
        frame["run_key"] = "9468978663034975"
        write_csv(out / name, frame)
    monkeypatch.setattr(engine, "train", lambda *a, **k: pytest.fail("a kept run trained again"))
    assert sweep(out, "--resume", "--quiet").exit_code == 0
    assert read_csv(out / "runs.csv")["run_key"].tolist() == ["p468978663034975"]
    assert set(read_csv(out / "metrics.csv")["run_key"]) == {"p468978663034975"}


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("final_test_acc", "abc", "'abc' is not a finite number"),
        ("final_test_acc", "nan", "'nan' is not a finite number"),
        ("final_train_acc", "inf", "'inf' is not a finite number"),
        ("final_test_acc", "5e+307", "5e+307 is not an accuracy in percent (0 to 100)"),
        ("best_test_acc", "-3", "-3 is not an accuracy in percent (0 to 100)"),
        ("seconds", "-1", "-1 is negative"),
        (
            "status",
            "done",
            "unknown status 'done' (lenet writes finished, diverged, pending, failed)",
        ),
    ],
)
def test_a_damaged_runs_csv_is_refused_naming_line_and_column_and_left_as_it_was(
    numeric, tmp_path, column, value, message
):
    out = tmp_path / "damaged"
    shutil.copytree(numeric, out)
    text = (out / "runs.csv").read_text()
    runs = read_csv(out / "runs.csv")
    runs[column] = runs[column].astype(object)
    runs.loc[0, column] = value
    runs.to_csv(out / "runs.csv", index=False)
    damaged = (out / "runs.csv").read_text()
    assert damaged != text
    result = sweep(out, "--resume")
    assert result.exit_code == 2
    assert f"runs.csv, line 2, column {column}: {message}" in " ".join(result.output.split())
    assert (out / "runs.csv").read_text() == damaged  # never rewritten as finished


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("epoch", "x", "'x' is not a number"),
        ("epoch", "0", "0 is not a whole number from 1"),
        ("seed", "1.5", "1.5 is not a whole number from 0"),
        ("test_acc", "abc", "'abc' is not a number"),
        ("train_acc", "101", "101 is not an accuracy in percent (0 to 100)"),
        ("train_loss", "low", "'low' is not a number"),
        ("seconds", "-2", "-2 is not a number from 0 up"),
    ],
)
def test_a_damaged_metrics_csv_is_refused_naming_line_and_column_and_left_as_it_was(
    numeric, tmp_path, column, value, message
):
    out = tmp_path / "damaged"
    shutil.copytree(numeric, out)
    metrics = read_csv(out / "metrics.csv")
    metrics[column] = metrics[column].astype(object)
    metrics.loc[0, column] = value
    metrics.to_csv(out / "metrics.csv", index=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    result = sweep(out, "--resume")
    assert result.exit_code == 2, result.output
    assert f"metrics.csv, line 2, column {column}: {message}" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("column", ["test_acc", "seconds"])
def test_a_metrics_csv_without_a_column_lenet_writes_is_refused_and_left_as_it_was(
    numeric, tmp_path, column
):
    out = tmp_path / "cut"
    shutil.copytree(numeric, out)
    read_csv(out / "metrics.csv").drop(columns=[column]).to_csv(out / "metrics.csv", index=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    result = sweep(out, "--resume")
    assert result.exit_code == 2, result.output
    assert f"metrics.csv: no column '{column}'" in " ".join(result.output.split())
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_diverged_run_s_nan_loss_passes_the_metrics_check():
    metrics = pd.DataFrame(
        {"seed": [1, 1], "epoch": [1, 2], "train_loss": [0.5, float("nan")],
         "test_loss": [0.4, float("inf")], "train_acc": [50.0, 10.0], "test_acc": [60.0, 9.8],
         "val_acc": [float("nan"), float("nan")]}
    )  # fmt: skip
    checked = checked_metrics(metrics, Path("metrics.csv"), "fix it")
    assert checked["epoch"].dtype == "int64" and checked["train_loss"].isna().iloc[1]
    with pytest.raises(LenetError, match="holds no epochs"):
        checked_metrics(metrics.iloc[:0], Path("metrics.csv"), "fix it")


def test_a_run_listed_twice_is_refused(numeric, tmp_path):
    out = tmp_path / "twice"
    shutil.copytree(numeric, out)
    runs = read_csv(out / "runs.csv")
    write_csv(out / "runs.csv", pd.concat([runs, runs]))
    result = sweep(out, "--resume")
    assert result.exit_code == 2
    assert "line 3, column run_key: run p468978663034975 is listed twice" in " ".join(
        result.output.split()
    )
