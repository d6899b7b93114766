"""`lenet noise` (lenetcli/noise_study.py) end to end on a small subset of scikit-learn's digits (no files needed)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.outputs.transition_file import read_transition_csv
from lenetcli.science import engine
from lenetcli.science.data import load_dataset
from lenetcli.science.noise import (
    achieved_noise_rate,
    pair_transition,
    sample_noisy_labels,
    symmetric_transition,
)
from lenetcli.studies.study import Setting, run_key

K = 10
TRAIN = 200
# Tiny and fast: 2 batches per epoch, one epoch, two repeats, rates 0 and 0.4 of both types.
SMALL = [
    "--dataset", "digits", "--train-subset", str(TRAIN), "--test-subset", "100",
    "--batch-size", "100", "--epochs", "1", "--device", "cpu", "--quiet",
]  # fmt: skip
STUDY = [*SMALL, "--noise-type", "symmetric,pair", "--noise-rate", "0,0.4", "--repeats", "2"]
SETTINGS = ["none-0", "symmetric-0.4", "pair-0.4"]


class TrainSpy:
    """Wraps engine.train to see what the study hands it."""

    def __init__(self, train):
        self.train, self.calls = train, []

    def __call__(self, config, data, device, **kwargs):
        self.calls.append(
            {
                "test_labels": data.test.labels.clone(),
                "train_labels": data.train.labels.clone(),
                "noisy": kwargs["train_labels"].clone(),
                "seeds": list(kwargs["seeds"]),
            }
        )
        return self.train(config, data, device, **kwargs)


def invoke(args, spy=None):
    with pytest.MonkeyPatch.context() as patch:
        if spy is not None:
            patch.setattr(engine, "train", spy)
        # a setting at a time, as the spy follows the draws of one setting per call
        return CliRunner().invoke(app, ["noise", "--group-by", "setting", *args])


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", train_subset=TRAIN, test_subset=100)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise") / "study"
    spy = TrainSpy(engine.train)
    result = invoke([*STUDY, "--out", str(out)], spy)
    assert result.exit_code == 0, result.output
    return out, spy


def test_every_file_is_written(study):
    out, _ = study
    names = ["config.json", "runs.csv", "metrics.csv", "summary.csv", "accuracy_vs_noise.png"]
    for label in SETTINGS:
        names += [
            f"transition-{label}.csv",
            f"noisy-confusion-{label}.csv",
            f"noisy-confusion-{label}.png",
            f"curves/digits-{label}.png",
        ]
    missing = [name for name in names if not (out / name).is_file()]
    assert not missing
    record = json.loads((out / "config.json").read_text())
    assert record["command"] == "noise" and record["options"]["noise_seed"] == 0
    # every run's model, saying which noise it trained under
    runs = pd.read_csv(out / "runs.csv")
    for run in runs.itertuples():
        path = out / "models" / f"digits-{run.setting}" / f"seed-{run.seed}.pt"
        setting = torch.load(path, weights_only=True)["setting"]
        assert setting == {
            "name": run.setting, "noise_type": run.noise_type, "noise_rate": run.noise_rate
        }  # fmt: skip


def test_overwrite_never_writes_over_a_file_of_the_users(tmp_path):
    out = tmp_path / "study"
    assert invoke([*SMALL, "--noise-rate", "0", "--out", str(out)]).exit_code == 0
    mine = out / "transition-symmetric-0.2.csv"
    mine.write_text("my notes")
    result = invoke([*SMALL, "--noise-rate", "0.2", "--out", str(out), "--overwrite"])
    assert result.exit_code == 2 and "is not a file of the earlier noise study" in result.stderr
    assert mine.read_text() == "my notes" and (out / "transition-none-0.csv").is_file()


def test_a_rate_is_written_alike_in_every_file(study):
    out, _ = study
    for name in ("runs.csv", "summary.csv"):
        assert ",none,0," in (out / name).read_text() and ",0.0," not in (out / name).read_text()
    assert "| none-0 | none | 0 |" in (out / "summary.md").read_text()


def test_runs_record_noise_seeds_and_the_achieved_rates(study, digits):
    out, _ = study
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["setting"]) == [s for s in SETTINGS for _ in range(2)]
    assert list(runs["seed"]) == [42, 43] * 3
    assert list(runs["noise_seed"]) == [0, 1] * 3
    matrices = {"none": np.eye(K), "symmetric": symmetric_transition(K, 0.4)}
    matrices["pair"] = pair_transition(K, 0.4)
    standard_error = (0.4 * 0.6 / TRAIN) ** 0.5
    for row in runs.itertuples():
        redrawn = sample_noisy_labels(digits.train.labels, matrices[row.noise_type], row.noise_seed)
        assert row.achieved_noise_rate == pytest.approx(
            achieved_noise_rate(digits.train.labels, redrawn), abs=1e-6
        )
        assert abs(row.achieved_noise_rate - row.noise_rate) < 4 * standard_error


def test_metrics_hold_training_accuracy_against_the_true_labels(study):
    out, _ = study
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["train_acc_clean"].notna().all()
    clean = metrics[metrics["noise_type"] == "none"]
    np.testing.assert_allclose(clean["train_acc_clean"], clean["train_acc"])
    assert len(metrics) == 6  # 3 settings x 2 repeats x 1 epoch


def test_summary_is_recomputed_from_runs(study):
    out, _ = study
    runs, summary = pd.read_csv(out / "runs.csv"), pd.read_csv(out / "summary.csv")
    expected = (
        runs.groupby(["noise_type", "noise_rate"], sort=False)["final_test_acc"]
        .agg(["count", "mean", "std", "min", "max"])
        .reset_index()
    )
    assert list(summary["noise_type"]) == ["none", "symmetric", "pair"]
    np.testing.assert_array_equal(summary["n"], expected["count"])
    for stat in ("mean", "std", "min", "max"):
        np.testing.assert_allclose(summary[f"final_test_acc_{stat}"], expected[stat], rtol=1e-5)


def test_matrices_written_are_the_ones_used(study):
    out, _ = study
    np.testing.assert_allclose(
        read_transition_csv(out / "transition-pair-0.4.csv", K), pair_transition(K, 0.4)
    )
    np.testing.assert_allclose(read_transition_csv(out / "transition-none-0.csv", K), np.eye(K))
    # laid out as confusion.csv: first column the true class, then one column per class
    frame = pd.read_csv(out / "noisy-confusion-pair-0.4.csv", index_col="true")
    assert list(frame.index) == list(range(K)) and list(frame.columns) == [str(k) for k in range(K)]
    confusion = frame.to_numpy()
    np.testing.assert_allclose(confusion.sum(axis=1), 1.0, atol=1e-5)
    off_pair = ~(np.eye(K) + np.roll(np.eye(K), 1, axis=1)).astype(bool)
    assert (confusion[off_pair] == 0).all()


def test_only_training_labels_are_noisy(study, digits):
    _, spy = study
    assert len(spy.calls) == 3
    for call in spy.calls:
        assert torch.equal(call["test_labels"], digits.test.labels)
        assert torch.equal(call["train_labels"], digits.train.labels)
        assert call["noisy"].shape == (2, TRAIN)
    clean, symmetric, pair = spy.calls
    assert torch.equal(clean["noisy"], digits.train.labels.expand(2, -1))
    assert (symmetric["noisy"] != digits.train.labels).any()
    # One noise seed per repeat, whatever the type: the same samples are flipped by both.
    assert torch.equal(
        symmetric["noisy"] != digits.train.labels, pair["noisy"] != digits.train.labels
    )


def test_noise_does_not_depend_on_the_model_seed(study, tmp_path):
    out, _ = study
    other = tmp_path / "other"
    args = [*SMALL, "--noise-rate", "0.4", "--repeats", "2", "--seed", "7", "--out", str(other)]
    assert invoke(args).exit_code == 0
    first = pd.read_csv(out / "runs.csv").query("setting == 'symmetric-0.4'")
    second = pd.read_csv(other / "runs.csv")
    assert list(second["seed"]) == [7, 8]
    assert list(second["noise_seed"]) == list(first["noise_seed"])
    np.testing.assert_array_equal(second["achieved_noise_rate"], first["achieved_noise_rate"])


def test_resume_trains_nothing_when_done_and_refuses_another_noise_seed(study):
    out, _ = study
    before = (out / "runs.csv").read_text()
    spy = TrainSpy(engine.train)
    assert invoke([*STUDY, "--out", str(out), "--resume"], spy).exit_code == 0
    assert spy.calls == []
    assert (out / "runs.csv").read_text() == before
    result = invoke([*STUDY, "--out", str(out), "--resume", "--noise-seed", "5"])
    assert result.exit_code == 2
    assert "cannot resume" in result.stderr


def test_resume_trains_again_a_run_whose_true_label_accuracy_was_cut_from_metrics_csv(
    study, tmp_path
):
    out = tmp_path / "cut"
    shutil.copytree(study[0], out)
    metrics = pd.read_csv(out / "metrics.csv")
    cut = metrics["setting"] == "pair-0.4"
    metrics.loc[cut & (metrics["seed"] == 43), "train_acc_clean"] = np.nan
    metrics.to_csv(out / "metrics.csv", index=False)
    spy = TrainSpy(engine.train)
    result = invoke([*STUDY, "--out", str(out), "--resume"], spy)
    assert result.exit_code == 0, result.output
    assert [call["seeds"] for call in spy.calls] == [[43]]  # that run alone, trained again
    again = pd.read_csv(out / "metrics.csv")
    assert again["train_acc_clean"].notna().all()


def test_resume_under_another_first_seed_never_keeps_another_draw_of_labels(tmp_path):
    # Seed 43 draws its labels with noise seed 0 as the first seed, with noise seed 1 after
    # seed 42: a run kept from the first study would carry the wrong draw into the second.
    out = tmp_path / "out"
    noisy = [*SMALL, "--noise-rate", "0.4"]
    assert invoke([*noisy, "--seed", "43", "--out", str(out)]).exit_code == 0
    result = invoke([*noisy, "--seed", "42", "--repeats", "2", "--out", str(out), "--resume"])
    assert result.exit_code == 2 and "cannot resume" in result.stderr
    # the same first seed again resumes, and adds seed 44 with noise seed 1
    spy = TrainSpy(engine.train)
    more = [*noisy, "--seed", "43", "--repeats", "2", "--out", str(out), "--resume"]
    assert invoke(more, spy).exit_code == 0
    assert [call["seeds"] for call in spy.calls] == [[44]]
    runs = pd.read_csv(out / "runs.csv")
    assert list(zip(runs["seed"], runs["noise_seed"], strict=True)) == [(43, 0), (44, 1)]


def test_resume_removes_the_files_of_a_setting_it_leaves_out(study, tmp_path):
    # As an interrupted first session leaves them: symmetric-0.8's files written, its runs
    # not trained, and the resume leaves the rate out.
    earlier, _ = study
    out = tmp_path / "out"
    shutil.copytree(earlier, out)
    record = json.loads((out / "config.json").read_text())
    record["options"]["noise_settings"].append({"setting": "symmetric-0.8"})
    (out / "config.json").write_text(json.dumps(record))
    dropped = ["transition-symmetric-0.8.csv", "noisy-confusion-symmetric-0.8.csv"]
    for name in [*dropped, "notes-symmetric-0.8.csv"]:
        (out / name).write_text("x")
    assert invoke([*STUDY, "--out", str(out), "--resume"]).exit_code == 0
    assert not any((out / name).exists() for name in dropped)
    assert (out / "notes-symmetric-0.8.csv").exists()  # not a name lenet writes
    assert (out / "transition-symmetric-0.4.csv").exists()


def test_a_transition_matrix_from_a_file(tmp_path):
    matrix = np.eye(K)
    matrix[3, [3, 8]] = [0.5, 0.5]  # a hybrid: 3 -> 8 and 7 -> 1 or 2
    matrix[7, [7, 1, 2]] = [0.4, 0.3, 0.3]
    path = tmp_path / "T.csv"
    pd.DataFrame(matrix).to_csv(path, index=False)
    out = tmp_path / "custom"
    result = invoke([*SMALL, "--transition", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(read_transition_csv(out / "transition-transition.csv", K), matrix)
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["noise_type"]) == ["transition"]
    assert runs["noise_rate"].iloc[0] == pytest.approx(np.mean(1 - np.diag(matrix)))


def write_matrix(path, rows) -> str:
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    return str(path)


BAD_ROW = np.eye(K).tolist()
BAD_ROW[4][4] = 0.8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--noise-rate", "1"], "noise rate 1.0 is out of range"),
        (["--noise-rate", "20"], "write 0.2 for 20%"),
        (["--noise-rate", "0,x"], "--noise-rate 'x' is not a number"),
        (["--noise-rate", "0.2,0.2"], "lists a rate twice"),
        (["--noise-type", "uniform"], "unknown --noise-type 'uniform'"),
        (["--noise-type", ""], "--noise-type is empty; give a value or a comma list"),
        (["--noise-type", "symetric"], "did you mean 'symmetric'?"),
        (["--noise-type", "symmetric,"], "--noise-type 'symmetric,' has an empty item"),
        (["--noise-rate", "0,,0.2"], "--noise-rate '0,,0.2' has an empty item"),
        (["--pairs", "0:1,,1:2"], "--pairs '0:1,,1:2' has an empty item"),
        (["--pairs", "0:1"], "add pair to --noise-type"),
        (["--noise-type", "pair", "--pairs", "3:3"], "maps a class to itself"),
        (["--noise-type", "pair", "--pairs", "0:10"], "names class 10"),
        (["--transition", "T.csv", "--noise-rate", "0.2"], "replaces --noise-type"),
        (["--transition", "missing.csv"], "cannot read transition matrix"),
        (["--transition", "bad-row.csv"], "row 4 (columns 0 to 9) sums to 0.8"),
        (["--transition", "small.csv"], "has 3 rows, expected 10"),
        (["--transition", "/dev/zero"], "/dev/zero is longer than a 10 x 10 matrix can be"),
        (["--epochs", "0"], "--epochs must be a positive whole number"),
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["--resume"], "--resume needs --out"),
        (["--noise-seed", "-1"], "--noise-seed must be a whole number from 0 to 4294967295"),
        (["--noise-seed", "4294967295", "--repeats", "2"], "up to 4294967294"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_matrix(tmp_path / "T.csv", np.eye(K).tolist())
    write_matrix(tmp_path / "bad-row.csv", BAD_ROW)
    write_matrix(tmp_path / "small.csv", np.eye(3).tolist())
    out = tmp_path / "out"
    if "--resume" in args:
        result = invoke([*SMALL, *args])
    else:
        result = invoke([*SMALL, *args, "--out", str(out)])
    assert result.exit_code == 2
    error = result.stderr.strip()
    assert error.startswith("Error:") and "\n" not in error
    assert message in error
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_hidden_identity_leaves_run_keys_of_other_studies_unchanged():
    """The study extension used here: Setting.hidden joins the key only when it is given."""
    from lenetcli.config import TrainConfig

    config = TrainConfig(dataset="digits")
    plain = Setting("a", config, columns={"x": 1})
    assert run_key(config, 42, plain.identity) == run_key(config, 42, {"x": 1})
    hidden = Setting("a", config, columns={"x": 1}, hidden={"noise_seed": 3})
    assert run_key(config, 42, hidden.identity) != run_key(config, 42, plain.identity)
