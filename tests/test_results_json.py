"""results.json and --json: the results of every command for scripts, checked through real pipes."""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.outputs.files import read_csv
from lenetcli.outputs.results_json import plain, results_document

runner = CliRunner()
QUICK = ["--dataset", "digits", "--epochs", "1", "--train-subset", "200", "--test-subset", "50"]


def lenet(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_in_pipe(args: list, reader: str) -> subprocess.CompletedProcess:
    """`python -m lenetcli ARGS | python -c READER`, through a real shell pipe."""
    lenet_line = shlex.join([sys.executable, "-m", "lenetcli", *map(str, args)])
    line = f"set -o pipefail; {lenet_line} | {shlex.join([sys.executable, '-c', reader])}"
    return subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, timeout=600, env=os.environ.copy()
    )


# --------------------------------------------------------------------------- the document


def runs_table(**columns) -> pd.DataFrame:
    base = {
        "dataset": ["digits"] * 3,
        "setting": ["a", "a", "b"],
        "seed": np.array([42, 43, 42], dtype=np.int64),
        "final_test_acc": [90.0, 92.0, np.nan],
        "best_test_acc": [91.0, 93.0, np.nan],
        "status": ["finished", "diverged", "pending"],
    }
    return pd.DataFrame({**base, **columns})


def test_the_document_lists_runs_and_settings_in_order(tmp_path):
    document = results_document("sweep", tmp_path, runs_table())
    assert document["command"] == "sweep" and document["out"] == str(tmp_path.resolve())
    assert document["runs"][0] == {
        "dataset": "digits", "setting": "a", "seed": 42, "final_test_acc": 90.0,
        "best_test_acc": 91.0, "status": "finished",
    }  # fmt: skip
    assert type(document["runs"][0]["seed"]) is int  # not numpy's int64, which json refuses
    a, b = document["settings"]
    assert (a["setting"], a["n"], a["mean"]) == ("a", 2, 91.0)
    assert math.isclose(a["std"], math.sqrt(2))  # sample std, n-1, as summary.csv's
    # a pending run counts in no statistic, and has no numbers: null, not NaN
    assert b == {"dataset": "digits", "setting": "b", "n": 0, "mean": None, "std": None}
    assert document["runs"][2]["final_test_acc"] is None
    json.dumps(document, allow_nan=False)


def test_one_run_has_no_std_and_no_setting_is_null(tmp_path):
    runs = runs_table(setting=[None, None, None]).iloc[:1]
    (entry,) = results_document("train", tmp_path, runs)["settings"]
    assert entry == {"dataset": "digits", "setting": None, "n": 1, "mean": 90.0, "std": None}


def test_the_columns_that_name_a_setting_are_chosen_by_the_caller(tmp_path):
    runs = runs_table(source=["x", "y", "y"])
    document = results_document("report", tmp_path, runs, by=("source", "dataset", "setting"))
    assert [(s["source"], s["setting"]) for s in document["settings"]] == [
        ("x", "a"), ("y", "a"), ("y", "b"),
    ]  # fmt: skip
    assert list(document["runs"][0])[:3] == ["source", "dataset", "setting"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float64("nan"), None),
        (np.int64(3), 3),
        (float("nan"), None),
        ("", None),
        ("a", "a"),
        (83.14814814666666, 83.14814815),
        (np.float64(48.199999999999996), 48.2),
    ],
)
def test_plain_values(value, expected):
    assert plain(value) == expected and type(plain(value)) is type(expected)


# --------------------------------------------------------------------------- the commands


def test_train_json_goes_through_a_pipe_alone(tmp_path):
    out = tmp_path / "run"
    reader = "import json, sys; d = json.load(sys.stdin); print(d['settings'][0]['mean'])"
    done = run_in_pipe(
        ["train", *QUICK, "--repeats", "2", "--quiet", "--json", "--out", out], reader
    )
    assert done.returncode == 0, done.stderr
    metrics = pd.read_csv(out / "metrics.csv")
    finals = metrics.groupby("seed")["test_acc"].last()
    assert math.isclose(float(done.stdout), finals.mean())
    document = json.loads((out / "results.json").read_text())
    assert document["command"] == "train" and document["out"] == str(out.resolve())
    assert [r["seed"] for r in document["runs"]] == [42, 43]
    assert document["runs"][0]["best_test_acc"] == metrics[metrics.seed == 42]["test_acc"].max()
    assert document["settings"][0]["n"] == 2 and document["runs"][0]["status"] == "finished"


def test_without_quiet_the_json_comes_last(tmp_path):
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--json", "--out", out)
    assert result.exit_code == 0, result.output
    text = (out / "results.json").read_text()
    assert result.stdout.endswith(text) and f"Wrote {out}/" in result.stdout[: -len(text)]


def test_without_json_nothing_is_printed_but_the_file_is_written(tmp_path):
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--quiet", "--out", out)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads((out / "results.json").read_text())["runs"]


def test_sweep_json_goes_through_a_pipe_and_matches_summary_csv(tmp_path):
    out = tmp_path / "sweep"
    reader = "import json, sys; print(json.dumps(json.load(sys.stdin)))"
    args = ["sweep", *QUICK, "--lr", "0.001,0.01", "--repeats", "2", "--quiet", "--json"]
    done = run_in_pipe([*args, "--out", out], reader)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document == json.loads((out / "results.json").read_text())
    summary = read_csv(out / "summary.csv")
    assert [s["setting"] for s in document["settings"]] == summary["setting"].tolist()
    for entry, row in zip(document["settings"], summary.itertuples(), strict=True):
        assert entry["n"] == row.n == 2
        assert math.isclose(entry["mean"], row.final_test_acc_mean, rel_tol=1e-9)
        assert math.isclose(entry["std"], row.final_test_acc_std, rel_tol=1e-9)
    runs = read_csv(out / "runs.csv")
    assert [(r["setting"], r["seed"]) for r in document["runs"]] == list(
        zip(runs["setting"], runs["seed"], strict=True)
    )


def test_noise_confusion_and_report_write_and_print_results(tmp_path):
    noise = tmp_path / "noise"
    result = lenet("noise", *QUICK, "--noise-rate", "0,0.4", "--quiet", "--json", "--out", noise)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["command"] == "noise"
    assert [s["setting"] for s in document["settings"]] == ["none-0", "symmetric-0.4"]

    confusion = tmp_path / "confusion"
    result = lenet("confusion", *QUICK, "--quiet", "--json", "--out", confusion)
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["runs"]
    metrics = pd.read_csv(confusion / "metrics.csv")
    assert run["seed"] == 42 and run["setting"] is None
    assert math.isclose(run["final_test_acc"], metrics["test_acc"].iloc[-1])

    # a checkpoint of a study: the model's setting, and no best epoch (not recorded)
    model = next((noise / "models").rglob("seed-42.pt"))
    result = lenet("hardsamples", "--checkpoint", model, "--test-subset", "50", "--quiet",
                   "--json", "--out", tmp_path / "hard")  # fmt: skip
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["runs"]
    assert run["setting"] == model.parent.name.removeprefix("digits-")
    assert run["best_test_acc"] is None and run["status"] == "finished"

    report = tmp_path / "report"
    result = lenet("report", noise, confusion, "--quiet", "--json", "--out", report)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == json.loads((report / "results.json").read_text())
    results = read_csv(report / "results.csv")
    assert [(s["source"], s["setting"]) for s in document["settings"]] == list(
        zip(results["source"], results["setting"], strict=True)
    )
    assert [s["n"] for s in document["settings"]] == results["n"].tolist()
