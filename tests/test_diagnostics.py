"""`lenet confusion` and `lenet hardsamples` end to end, on a small model of the digits set."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import confusion_matrix
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.commands import diagnostics
from lenetcli.config import TrainConfig
from lenetcli.outputs.checkpoint import load_checkpoint
from lenetcli.science import analysis
from lenetcli.science.data import load_dataset

DIGITS = [str(d) for d in range(10)]
# A model trained for a few batches: it confuses plenty of classes, which is what is tested.
QUICK = ["--train-subset", "100", "--batch-size", "50", "--epochs", "1", "--device", "cpu"]
CONFUSION_FILES = [
    "config.json", "confusion.csv", "confusion_counts.csv", "per_class.csv",
    "confused_pairs.csv", "confusion.png", "results.json",
]  # fmt: skip


def lenet(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A `lenet train` run folder on digits: model.pt and predictions.csv."""
    out = tmp_path_factory.mktemp("train") / "run"
    result = lenet("train", "--dataset", "digits", *QUICK, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def predictions(run_dir):
    """What training predicted, by test index."""
    return pd.read_csv(run_dir / "predictions.csv").set_index("index")


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- lenet confusion


def test_confusion_from_a_run_folder(run_dir, predictions, tmp_path):
    out = tmp_path / "confusion"
    result = lenet("confusion", "--from", run_dir, "--device", "cpu", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(CONFUSION_FILES)
    assert "Most confused pairs" in result.stdout

    labels, predicted = predictions["label"], predictions["predicted"]
    counts = pd.read_csv(out / "confusion_counts.csv")
    matrix = pd.read_csv(out / "confusion.csv")
    for frame in (counts, matrix):
        assert list(frame.columns) == ["true", *DIGITS]
        assert list(frame["true"]) == list(range(10))
    np.testing.assert_array_equal(counts[DIGITS], confusion_matrix(labels, predicted))
    np.testing.assert_allclose(
        matrix[DIGITS], confusion_matrix(labels, predicted, normalize="true"), atol=1e-6
    )
    assert counts[DIGITS].to_numpy().sum() == 360

    per_class = pd.read_csv(out / "per_class.csv")
    assert list(per_class.columns) == ["class", "name", "precision", "recall", "f1", "support"]
    assert per_class["support"].sum() == 360

    pairs = pd.read_csv(out / "confused_pairs.csv")
    assert list(pairs.columns) == [
        "rank", "true", "predicted", "true_class", "predicted_class", "count", "rate",
    ]  # fmt: skip
    assert len(pairs) == 90 and pairs["count"].is_monotonic_decreasing
    for pair in pairs.itertuples():
        assert pair.count == counts.loc[pair.true, str(pair.predicted)]

    record = read_json(out / "config.json")
    assert record["command"] == "confusion"
    assert record["options"]["normalize"] == "true"
    assert record["data"]["model"]["checkpoint"] == str(run_dir / "model.pt")
    assert record["data"]["train_size"] == 100  # what the model trained on, not the whole split
    assert record["environment"]["torch"] == torch.__version__


def test_confusion_from_a_checkpoint_normalized_by_prediction_unordered(
    run_dir, predictions, tmp_path
):
    out = tmp_path / "confusion"
    result = lenet(
        "confusion", "--checkpoint", run_dir / "model.pt", "--normalize", "pred", "--unordered",
        "--top", 2, "--device", "cpu", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    matrix = pd.read_csv(out / "confusion.csv")[DIGITS]
    expected = confusion_matrix(predictions["label"], predictions["predicted"], normalize="pred")
    np.testing.assert_allclose(matrix, expected, atol=1e-6)
    pairs = pd.read_csv(out / "confused_pairs.csv")
    assert len(pairs) == 45 and "a_as_b" in pairs.columns
    assert (pairs["class_a"] < pairs["class_b"]).all()
    assert "↔" in result.stdout


def test_confusion_trains_first_when_no_model_is_given(tmp_path):
    out = tmp_path / "trained"
    result = lenet("confusion", "--dataset", "digits", *QUICK, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    for name in [*CONFUSION_FILES, "model.pt", "metrics.csv", "predictions.csv", "curves.png"]:
        assert (out / name).is_file(), name
    record = read_json(out / "config.json")
    assert record["command"] == "confusion"
    assert record["data"]["model"]["trained_here"] is True
    assert record["options"]["epochs"] == 1 and record["options"]["train_subset"] == 100


# --------------------------------------------------------------------------- lenet hardsamples


def test_hardsamples_rows_are_the_right_test_images(run_dir, predictions, tmp_path):
    out = tmp_path / "hard"
    result = lenet(
        "hardsamples", "--from", run_dir, "--per-pair", 3, "--per-class", "--device", "cpu",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "hard_samples.csv")
    assert list(rows.columns) == analysis.HARD_SAMPLE_COLUMNS
    assert read_json(out / "config.json")["command"] == "hardsamples"

    # The labels and predictions of every image shown are those training recorded.
    trained = predictions.loc[rows["index"]]
    np.testing.assert_array_equal(rows["true"], trained["label"])
    np.testing.assert_array_equal(rows["predicted"], trained["predicted"])
    np.testing.assert_allclose(rows["prob_predicted"], trained["confidence"], atol=1e-5)

    counts = pd.read_csv(run_dir / "predictions.csv")
    pairs = analysis.top_confused(
        analysis.ranked_pairs(confusion_matrix(counts["label"], counts["predicted"]), DIGITS), 3
    )
    for pair in pairs.itertuples():
        name = f"{pair.true}-as-{pair.predicted}"
        group = rows[rows["group"] == name]
        assert (out / "hard" / f"{name}.png").is_file()
        assert len(group) == min(3, pair.count)
        assert (group["true"] == pair.true).all() and (group["predicted"] == pair.predicted).all()
        assert group["prob_predicted"].is_monotonic_decreasing
        assert (group["margin"] < 0).all()
    correct = rows[rows["group"].str.endswith("-correct")]
    assert (correct["true"] == correct["predicted"]).all() and (correct["margin"] > 0).all()
    for name in rows["group"].unique():
        assert (out / "hard" / f"{name}.png").is_file()


def test_galleries_show_the_test_images_they_name(run_dir):
    """Each picture in a gallery is the test image whose index its caption gives."""
    model, checkpoint = load_checkpoint(run_dir / "model.pt", "digits")
    full = load_dataset("digits")
    data = load_dataset("digits", test_subset=200)  # positions differ from test indices
    job = diagnostics.Job(TrainConfig(dataset="digits"), data, run_dir, model, checkpoint)
    evaluation = diagnostics.evaluate(job, torch.device("cpu"))
    counts = analysis.confusion(evaluation.labels, evaluation.predicted, 10)
    pairs = analysis.top_confused(analysis.ranked_pairs(counts, DIGITS), 2)
    groups = analysis.hard_sample_groups(
        evaluation.probs, evaluation.labels, pairs, DIGITS, per_pair=4, per_class=False
    )
    assert groups and all(len(g.positions) for g in groups)
    for group in groups:
        figure = diagnostics.gallery_for(evaluation, group)
        shown = [ax for ax in figure.axes if ax.images]
        assert len(shown) == len(group.positions)
        for ax, position in zip(shown, group.positions, strict=True):
            index = int(re.match(r"#(\d+) ", ax.get_title()).group(1))
            assert index == evaluation.indices[position]
            np.testing.assert_array_equal(ax.images[0].get_array(), full.test.images[index, 0])
            true, predicted = group.name.split("-as-")
            assert ax.get_title().endswith(f"\n{true} → {predicted}")
            assert ax.title.get_color() == diagnostics.WRONG_COLOR  # a pair's images are wrong


def test_captions_never_round_a_probability_up_to_certainty():
    assert diagnostics.probability_text(0.9993) == "p>0.999"
    assert diagnostics.probability_text(0.99) == "p=0.990"
    assert diagnostics.probability_text(0.87349) == "p=0.873"


# --------------------------------------------------------------------------- several datasets


@pytest.mark.slow
def test_several_datasets_each_in_its_own_folder(tmp_path, mnist_root):
    trained = tmp_path / "trained"
    subset = ["--test-subset", 200, "--data-dir", mnist_root, "--no-download", "--quiet"]
    result = lenet("confusion", "--dataset", "digits,mnist", *QUICK, *subset, "--out", trained)
    assert result.exit_code == 0, result.output
    for name in ("digits", "mnist"):
        for file in [*CONFUSION_FILES, "model.pt"]:
            assert (trained / name / file).is_file(), (name, file)
        record = read_json(trained / name / "config.json")
        assert record["data"]["dataset"] == name and record["data"]["test_size"] == 200

    checkpoints = f"{trained / 'digits' / 'model.pt'},{trained / 'mnist' / 'model.pt'}"
    hard = tmp_path / "hard"
    result = lenet(
        "hardsamples", "--checkpoint", checkpoints, *subset, "--device", "cpu", "--per-pair", 2,
        "--out", hard,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("digits", "mnist"):
        rows = pd.read_csv(hard / name / "hard_samples.csv")
        trained_rows = pd.read_csv(trained / name / "predictions.csv").set_index("index")
        np.testing.assert_array_equal(
            rows["predicted"], trained_rows.loc[rows["index"], "predicted"]
        )
        assert len(list((hard / name / "hard").glob("*-as-*.png"))) == 3

    again = tmp_path / "again"
    result = lenet(
        "hardsamples", "--from", trained, "--dataset", "mnist,digits", *subset, "--out", again
    )
    assert result.exit_code == 0, result.output
    assert (again / "mnist" / "hard_samples.csv").is_file()

    # again with one dataset: --overwrite removes both dataset folders, keeps the user's note
    (again / "mnist" / "notes.txt").write_text("mine")
    result = lenet(
        "hardsamples", "--from", trained / "digits", *subset, "--out", again, "--overwrite"
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in again.iterdir()) == [
        "config.json", "hard", "hard_samples.csv", "mnist", "results.json",
    ]  # fmt: skip
    assert [p.name for p in (again / "mnist").iterdir()] == ["notes.txt"]

    # a dataset folder that is another run, or a link, is never written over
    shutil.rmtree(trained / "mnist")
    args = ["--dataset", "mnist", *QUICK, *subset]
    assert lenet("train", *args, "--out", trained / "mnist").exit_code == 0
    both = ["--dataset", "digits,mnist", *QUICK, *subset, "--out", trained, "--overwrite"]
    result = lenet("confusion", *both)
    assert result.exit_code == 2 and "is no part of an earlier lenet confusion" in result.stderr
    assert read_json(trained / "mnist" / "config.json")["command"] == "train"
    shutil.move(trained / "mnist", tmp_path / "elsewhere")
    (trained / "mnist").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result = lenet("confusion", *both)
    assert result.exit_code == 2 and "is no part of an earlier lenet confusion" in result.stderr


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def bad_files(run_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "garbage.pt").write_bytes(b"\x00\x01 not a checkpoint" * 10)
    model = run_dir / "model.pt"
    (folder / "truncated.pt").write_bytes(model.read_bytes()[:500])
    checkpoint = torch.load(model, weights_only=True)
    checkpoint["architecture"]["in_channels"] = 3
    torch.save(checkpoint, folder / "rgb.pt")
    checkpoint = torch.load(model, weights_only=True)
    checkpoint["state_dict"]["marker"] = RunsCode(folder / "code-ran")
    torch.save(checkpoint, folder / "evil.pt")
    (folder / "empty-run").mkdir()
    for name in ("a", "b"):  # two runs kept side by side
        (folder / "two-runs" / name).mkdir(parents=True)
        shutil.copy(model, folder / "two-runs" / name / "model.pt")
    checkpoint = torch.load(model, weights_only=True)
    checkpoint["config"] = ["not", "a", "dict"]
    torch.save(checkpoint, folder / "config-list.pt")
    checkpoint = torch.load(model, weights_only=True)
    checkpoint["architecture"]["image_size"] = "28"
    torch.save(checkpoint, folder / "size-text.pt")
    return folder


class RunsCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


BAD_INPUTS = {
    "missing checkpoint": (["confusion", "--checkpoint", "{bad}/absent.pt"], "does not exist"),
    "garbage checkpoint": (["confusion", "--checkpoint", "{bad}/garbage.pt"], "damaged"),
    "truncated checkpoint": (["hardsamples", "--checkpoint", "{bad}/truncated.pt"], "damaged"),
    "another dataset": (
        ["confusion", "--checkpoint", "{run}/model.pt", "--dataset", "mnist"],
        "not mnist",
    ),
    "another architecture": (["confusion", "--checkpoint", "{bad}/rgb.pt"], "3x28x28"),
    "code in the checkpoint": (["hardsamples", "--checkpoint", "{bad}/evil.pt"], "run code"),
    "run folder without model": (["confusion", "--from", "{bad}/empty-run"], "no checkpoint"),
    "missing run folder": (["hardsamples", "--from", "{bad}/absent"], "does not exist"),
    "run folder of two runs": (
        ["confusion", "--from", "{bad}/two-runs"],
        "subfolders a, b do; give one of them, e.g. --from {bad}/two-runs/a",
    ),
    "checkpoint config not a dict": (
        ["confusion", "--checkpoint", "{bad}/config-list.pt"],
        "config-list.pt is damaged: its config is a list, expected a table of names and values",
    ),
    "checkpoint image size as text": (
        ["hardsamples", "--checkpoint", "{bad}/size-text.pt"],
        "its architecture field image_size is '28', expected a whole number",
    ),
    "checkpoint and run folder": (
        ["confusion", "--checkpoint", "{run}/model.pt", "--from", "{run}"],
        "both given",
    ),
    "checkpoints per dataset": (
        ["confusion", "--checkpoint", "{run}/model.pt", "--dataset", "digits,mnist"],
        "one checkpoint per dataset",
    ),
    "unknown dataset": (["confusion", "--dataset", "svhn"], "unknown dataset 'svhn'"),
    "dataset twice": (["confusion", "--dataset", "digits,digits"], "more than once"),
    "normalize": (
        ["confusion", "--from", "{run}", "--normalize", "prd"],
        "unknown --normalize 'prd'; did you mean 'pred'?",
    ),
    "top": (["confusion", "--from", "{run}", "--top", "0"], "--top"),
    "per pair": (["hardsamples", "--from", "{run}", "--per-pair", "0"], "--per-pair"),
    "training option": (["hardsamples", "--dataset", "digits", "--epochs", "0"], "--epochs"),
    "empty dataset item": (["confusion", "--dataset", "digits,,mnist"], "has an empty item"),
    "training options beside a model": (
        ["hardsamples", "--from", "{run}", "--epochs", "3", "--seed", "1"],
        "--epochs, --seed would train a model, but --from gives one",
    ),
    "empty checkpoint item": (
        ["confusion", "--checkpoint", "{run}/model.pt,"],
        "has an empty item; separate values by single commas, e.g. a/model.pt,b/model.pt",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, run_dir, bad_files, tmp_path):
    args, expected = BAD_INPUTS[case]
    out = tmp_path / "out"
    args = [a.format(run=run_dir, bad=bad_files) for a in args]
    result = lenet(*args, "--device", "cpu", "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert expected.format(bad=bad_files) in lines[0]
    assert not out.exists()
    assert not (bad_files / "code-ran").exists()


def test_non_empty_output_folder_is_refused(run_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = lenet("confusion", "--from", run_dir, "--device", "cpu", "--out", out)
    assert result.exit_code == 2
    assert "--overwrite" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    result = lenet("confusion", "--from", run_dir, "--device", "cpu", "--out", out, "--overwrite")
    assert result.exit_code == 2 and "holds files no lenet command wrote" in result.stderr
    (out / "keep.txt").unlink()
    assert lenet("confusion", "--from", run_dir, "--device", "cpu", "--out", out).exit_code == 0
    (out / "keep.txt").write_text("mine")
    result = lenet("confusion", "--from", run_dir, "--device", "cpu", "--out", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (out / "confusion.csv").is_file() and (out / "keep.txt").read_text() == "mine"


def test_overwrite_never_removes_the_model_it_reads(tmp_path):
    folder = tmp_path / "cf"
    assert lenet("confusion", "--dataset", "digits", *QUICK, "--out", folder, "-q").exit_code == 0
    before = sorted(p.name for p in folder.iterdir())
    result = lenet("confusion", "--from", folder, "--out", folder, "--overwrite", "-q")
    assert result.exit_code == 2 and "an input of this command" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_run_of_several_seeds_says_which_model_is_used(tmp_path):
    run = tmp_path / "run"
    assert (
        lenet("train", "--dataset", "digits", *QUICK, "--repeats", 2, "--out", run, "-q").exit_code
        == 0
    )
    result = lenet("confusion", "--from", run, "--device", "cpu", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert f"model {run / 'model.pt'}, seed 42, the first of 2 seeds" in " ".join(
        result.stdout.split()
    )


def test_a_model_without_confused_pairs_says_so(run_dir, tmp_path, monkeypatch):
    from lenetcli.science import analysis

    # As for a perfect model: the ranking of confused pairs comes back empty
    monkeypatch.setattr(analysis, "top_confused", lambda pairs, top: pairs.iloc[:0])
    result = lenet("confusion", "--from", run_dir, "--device", "cpu", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert "No confused pairs: every test image is classified correctly." in result.stdout


@pytest.mark.parametrize(
    "command, last", [("confusion", "save_figure"), ("hardsamples", "write_csv")]
)
def test_a_stop_while_writing_leaves_the_folder_marked_unfinished(
    run_dir, tmp_path, monkeypatch, command, last
):
    # Its tables may be written, its figure not: lenet report must not take it for finished.
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(diagnostics, last, stopped)
    out = tmp_path / command
    result = lenet(command, "--from", run_dir, "--device", "cpu", "--out", out, "--quiet")
    assert result.exit_code == 130
    assert read_json(out / "config.json")["interrupted"] == "while writing its outputs"
    assert not (out / "results.json").exists()


def test_a_model_trained_here_records_its_groups(tmp_path):
    out = tmp_path / "confusion"
    result = lenet("confusion", "--dataset", "digits", *QUICK, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert read_json(out / "config.json")["options"]["groups"] == [[42]]
