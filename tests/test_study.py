"""A small sweep end to end: every output checked against the runs trained, and resume.

The sweep: scikit-learn digits (no files needed), subsets of 120 training and 60 test images,
2 learning rates x 2 repeats x 2 epochs, on the CPU.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.outputs import files as outputs
from lenetcli.outputs import progress
from lenetcli.outputs.progress import StudyReporter
from lenetcli.science import engine


def sweep_args(repeats: int = 2, epochs: int = 2) -> list[str]:
    return [
        "sweep", "--dataset", "digits", "--lr", "0.001,0.005", "--repeats", str(repeats),
        "--epochs", str(epochs), "--train-subset", "120", "--test-subset", "60", "--device", "cpu",
        "--group-by", "setting",  # these tests follow a setting at a time
    ]  # fmt: skip


SETTINGS = ["lr0.001", "lr0.005"]
SEEDS = [42, 43]
VALUES = {"train_acc": "Training accuracy", "test_acc": "Testing accuracy"}


def sweep(out: Path, *args: str, repeats: int = 2, epochs: int = 2):
    return CliRunner().invoke(app, [*sweep_args(repeats, epochs), "--out", str(out), *args])


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype={"run_key": str, "setting": str})


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One uninterrupted sweep, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    result = sweep(out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def trained(monkeypatch) -> list[tuple[float, list[int]]]:
    """Records (lr, seeds) of every engine.train call the study makes."""
    calls = []
    original = engine.train

    def spy(config, data, device, seeds=None, **kwargs):
        calls.append((config.lr, list(seeds)))
        return original(config, data, device, seeds=seeds, **kwargs)

    monkeypatch.setattr(engine, "train", spy)
    return calls


# --------------------------------------------------------------------------- the outputs


def test_sweep_writes_every_output(finished):
    names = {p.relative_to(finished).as_posix() for p in finished.rglob("*") if p.is_file()}
    stems = [f"digits-{s}" for s in SETTINGS]
    assert names == {
        "config.json", "runs.csv", "metrics.csv", "summary.csv", "summary.md",
        "compare.png", "accuracy.png", "results.json",
        *(f"tables/{s}.csv" for s in stems), *(f"curves/{s}.png" for s in stems),
        *(f"models/{s}/seed-{seed}.pt" for s in stems for seed in SEEDS),
    }  # fmt: skip
    for png in finished.rglob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000
    record = json.loads((finished / "config.json").read_text())
    assert record["command"] == "sweep"
    assert [s["name"] for s in record["options"]["settings"]] == SETTINGS
    assert record["options"]["settings"][1]["lr"] == 0.005
    assert "torch" in record["environment"]


def test_runs_csv_matches_the_metrics_of_each_run(finished):
    runs, metrics = read(finished, "runs.csv"), read(finished, "metrics.csv")
    assert len(runs) == len(SETTINGS) * len(SEEDS)
    assert list(zip(runs["setting"], runs["seed"], strict=True)) == [
        (s, seed) for s in SETTINGS for seed in SEEDS
    ]
    assert set(runs["status"]) == {"finished"}
    assert runs["run_key"].is_unique
    assert list(runs["lr"]) == [0.001, 0.001, 0.005, 0.005]
    assert set(runs["epochs"]) == {2} and set(runs["batch_size"]) == {32}
    assert set(runs["train_subset"]) == {120} and set(runs["test_subset"]) == {60}
    assert len(metrics) == len(runs) * 2
    for _, run in runs.iterrows():
        own = metrics[metrics["run_key"] == run["run_key"]].sort_values("epoch")
        assert list(own["epoch"]) == [1, 2]
        assert set(own["setting"]) == {run["setting"]} and set(own["seed"]) == {run["seed"]}
        last = own.iloc[-1]
        assert run["final_train_acc"] == pytest.approx(last["train_acc"])
        assert run["final_test_acc"] == pytest.approx(last["test_acc"])
        best = own.loc[own["test_acc"].idxmax()]
        assert run["best_test_acc"] == pytest.approx(best["test_acc"])
        assert run["best_epoch"] == best["epoch"]
        assert run["seconds"] == pytest.approx(own["seconds"].sum(), rel=1e-4)


def test_summary_csv_recomputed_from_runs(finished):
    runs, summary = read(finished, "runs.csv"), read(finished, "summary.csv")
    assert list(summary["setting"]) == SETTINGS
    assert set(summary["dataset"]) == {"digits"}
    for _, row in summary.iterrows():
        own = runs[runs["setting"] == row["setting"]]
        assert row["n"] == len(own) == len(SEEDS)
        assert row["lr"] == own["lr"].iloc[0]
        for value in VALUES:
            finals = list(own[f"final_{value}"])
            column = f"final_{value}"
            assert row[f"{column}_best"] == pytest.approx(max(finals))
            assert row[f"{column}_mean"] == pytest.approx(statistics.mean(finals), rel=1e-5)
            assert row[f"{column}_std"] == pytest.approx(
                statistics.stdev(finals), rel=1e-5, abs=1e-6
            )
            assert row[f"{column}_min"] == pytest.approx(min(finals))
            assert row[f"{column}_max"] == pytest.approx(max(finals))
        # 95% confidence interval of the mean over 2 seeds: t(0.975, 1) = 12.706
        tests = list(own["final_test_acc"])
        half_width = 12.7062047 * statistics.stdev(tests) / math.sqrt(len(tests))
        assert row["final_test_acc_ci95"] == pytest.approx(half_width, rel=1e-6, abs=1e-9)
    means = list(summary["final_test_acc_mean"])
    assert list(summary["best"]) == [int(m == max(means)) for m in means]


def test_tables_and_markdown_recomputed_from_runs(finished):
    runs = read(finished, "runs.csv")
    markdown = (finished / "summary.md").read_text()
    for setting in SETTINGS:
        own = runs[runs["setting"] == setting].sort_values("seed")
        table = pd.read_csv(finished / "tables" / f"digits-{setting}.csv", dtype={"No.": str})
        assert list(table.columns) == ["No.", *VALUES.values()]
        assert list(table["No."]) == ["1", "2", "Best", "Mean", "Std"]
        for value, label in VALUES.items():
            finals = list(own[f"final_{value}"])
            expected = [*finals, max(finals), statistics.mean(finals), statistics.stdev(finals)]
            assert list(table[label]) == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert f"### {setting}" in markdown
        mean_row = f"| Mean | {statistics.mean(own['final_train_acc']):.2f} | "
        assert mean_row in markdown
    assert markdown.count("| **best** |") == 1


# --------------------------------------------------------------------------- resume


class InterruptInSecondSetting(StudyReporter):
    """Ctrl-C at the end of the first epoch of the second setting."""

    def __init__(self):
        self.settings = 0

    def start_setting(self, label, runs):
        self.settings += 1

    def epoch(self, epoch, rows):
        if self.settings == 2:
            raise KeyboardInterrupt


def csv_text_but_seconds(path: Path) -> list[list[str]]:
    """A CSV's cells as written, without its seconds column (the one a resume changes)."""
    rows = list(csv.reader(path.read_text().splitlines()))
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    return [[row[i] for i in keep] for row in rows]


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["seconds"], errors="ignore").reset_index(drop=True)


def test_resume_after_interruption_trains_only_missing_runs(
    finished, tmp_path, monkeypatch, trained
):
    out = tmp_path / "out"
    real_reporter = progress.make_study_reporter
    monkeypatch.setattr(
        progress, "make_study_reporter", lambda console, quiet: InterruptInSecondSetting()
    )
    result = sweep(out)
    assert result.exit_code == 130
    assert "--resume" in result.stderr
    runs = read(out, "runs.csv")
    assert list(runs["status"]) == ["finished", "finished", "pending", "pending"]
    assert set(read(out, "metrics.csv")["setting"]) == {"lr0.001"}
    assert not (out / "summary.csv").exists()

    assert trained == [(0.001, SEEDS), (0.005, SEEDS)]
    assert [p.name for p in (out / "models").iterdir()] == ["digits-lr0.001"]  # finished only

    monkeypatch.setattr(progress, "make_study_reporter", real_reporter)
    trained.clear()
    result = sweep(out, "--resume")
    assert result.exit_code == 0, result.output
    assert trained == [(0.005, SEEDS)]
    for name in ("runs.csv", "metrics.csv", "summary.csv"):
        pd.testing.assert_frame_equal(
            comparable(read(out, name)), comparable(read(finished, name)), rtol=1e-9
        )
    for setting in SETTINGS:
        table = f"tables/digits-{setting}.csv"
        pd.testing.assert_frame_equal(read(out, table), read(finished, table), rtol=1e-9)
    assert len(list((out / "models").glob("*/seed-*.pt"))) == 4
    # to the byte: kept runs read back from the CSVs and fresh ones hold the same digits
    for name in (
        "runs.csv",
        "metrics.csv",
        "summary.csv",
        *(f"tables/digits-{s}.csv" for s in SETTINGS),
    ):
        assert csv_text_but_seconds(out / name) == csv_text_but_seconds(finished / name), name


def test_an_interruption_while_saving_counts_only_the_runs_saved(tmp_path, monkeypatch):
    from lenetcli.studies import session as study

    save_models, calls = study.save_models, []

    def interrupted_in_the_second(*args):
        calls.append(args)
        if len(calls) == 2:  # the second setting trained, not yet in runs.csv
            raise KeyboardInterrupt
        save_models(*args)

    monkeypatch.setattr(study, "save_models", interrupted_in_the_second)
    out = tmp_path / "out"
    result = sweep(out)
    assert result.exit_code == 130
    assert "interrupted: 2 of 4 runs are finished and saved" in result.stderr
    assert list(read(out, "runs.csv")["status"]).count("finished") == 2


def test_resume_with_more_repeats_trains_only_the_new_seeds(finished, tmp_path, trained):
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    result = sweep(out, "--resume", "--quiet", repeats=3)
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet
    assert trained == [(0.001, [44]), (0.005, [44])]
    runs = read(out, "runs.csv")
    assert list(runs["seed"]) == [42, 43, 44, 42, 43, 44]
    assert list(read(out, "summary.csv")["n"]) == [3, 3]
    old = read(finished, "runs.csv")
    kept = runs[runs["seed"] != 44].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, old)
    # The kept runs' session is still on record: where, when and with what they ran
    first = json.loads((finished / "config.json").read_text())
    record = json.loads((out / "config.json").read_text())
    assert record["earlier_sessions"] == [
        {
            **{k: first[k] for k in ("argv", "started_utc", "environment")},
            "groups": [  # as they trained then
                {"setting": "lr0.001", "dataset": "digits", "groups": [[42, 43]]},
                {"setting": "lr0.005", "dataset": "digits", "groups": [[42, 43]]},
            ],
            "jobs": first["options"]["jobs"],  # and which of them shared a job
        }
    ]
    # and this session's groups are those it trained: seed 44 alone
    assert [s["groups"] for s in record["options"]["settings"]] == [[[44]], [[44]]]
    assert [s["seeds"] for s in record["options"]["settings"]] == [[42, 43, 44]] * 2


def test_resume_reads_the_runs_again_once_it_holds_the_folder(
    finished, tmp_path, trained, monkeypatch
):
    from lenetcli.studies import session as study

    out = tmp_path / "out"
    shutil.copytree(finished, out)
    load = study.load_study_data
    raced = []

    def another_lenet_finishes_first(plan):
        # while this resume loads its data, another one (not yet holding the folder) finishes
        if not raced:
            raced.append(True)
            assert sweep(out, "--resume", "--quiet", repeats=3).exit_code == 0
        return load(plan)

    monkeypatch.setattr(study, "load_study_data", another_lenet_finishes_first)
    assert sweep(out, "--resume", "--quiet", repeats=3).exit_code == 0
    assert trained == [(0.001, [44]), (0.005, [44])]  # by the other one only
    assert list(read(out, "runs.csv")["seed"]) == [42, 43, 44, 42, 43, 44]


def test_resume_refuses_a_folder_with_other_finished_runs(finished, tmp_path, trained):
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    before = (out / "runs.csv").read_bytes()
    # Same names (lr0.001, lr0.005) but 3 epochs: a different study, not a continuation.
    result = sweep(out, "--resume", "--quiet", epochs=3)
    assert result.exit_code == 2
    assert "holds 4 finished run(s) that this lenet sweep does not include" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert trained == []
    assert (out / "runs.csv").read_bytes() == before


def test_non_empty_out_is_refused_without_resume_or_overwrite(finished, trained):
    result = sweep(finished)
    assert result.exit_code == 2
    assert "is not empty" in result.stderr
    result = sweep(finished, "--resume", "--overwrite")
    assert result.exit_code == 2
    assert "give only one" in result.stderr
    assert trained == []


def test_resume_refuses_a_folder_of_another_command(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"command": "train"}))
    result = sweep(out, "--resume")
    assert result.exit_code == 2
    assert "output of `lenet train`, not of lenet sweep" in result.stderr


# --------------------------------------------------------------------------- study files


def test_sweep_from_a_study_file(tmp_path):
    config = tmp_path / "study.toml"
    config.write_text(
        """
datasets = ["digits"]
repeats = 1
seed = 3
[defaults]
epochs = 1
train_subset = 100
test_subset = 50
[[settings]]
name = "small-batch"
batch_size = 16
[[settings]]
batch_size = 64
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["sweep", "--config", str(config), "--device", "cpu", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    runs = read(out, "runs.csv")
    assert list(runs["setting"]) == ["small-batch", "bs64"]
    assert list(runs["batch_size"]) == [16, 64]
    assert list(runs["seed"]) == [3, 3]
    summary = read(out, "summary.csv")
    assert list(summary["n"]) == [1, 1]
    assert summary["final_test_acc_std"].isna().all()  # one run: no sample std
    assert (out / "tables" / "digits-small-batch.csv").is_file()
    record = json.loads((out / "config.json").read_text())
    assert "small-batch" in record["options"]["config_text"]
    assert "mean ± std over repeats" in result.output


# --------------------------------------------------------------------------- the parts


def test_run_key_depends_on_the_numbers_only():
    from lenetcli.config import TrainConfig
    from lenetcli.studies.study import run_key

    config = TrainConfig(weight_decay=0, repeats=5)
    assert run_key(config, 3) == run_key(TrainConfig(weight_decay=0.0, repeats=1), 3)
    assert run_key(config, 3) != run_key(config, 4)
    assert run_key(config, 3) != run_key(TrainConfig(epochs=14), 3)
    assert run_key(config, 3) != run_key(config, 3, {"noise_rate": 0.2})


def test_overlapping_seeds_of_two_settings_are_refused():
    from lenetcli.commands.sweep import grid_plan, parse_lists
    from lenetcli.errors import LenetError
    from lenetcli.studies.study import Study, check_study

    plan = grid_plan(parse_lists({"dataset": "digits", "seed": "42,43", "repeats": "2"}))
    with pytest.raises(
        LenetError, match="'seed42' and 'seed43' on digits would both train seed 43"
    ):
        check_study(Study("sweep", plan.settings()))


def test_resume_into_a_missing_or_empty_folder_is_refused(tmp_path, trained):
    # a mistyped --out would otherwise train the whole study there, quietly with --quiet
    result = sweep(tmp_path / "typo", "--resume", "--quiet")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'typo'} does not exist; check the path" in result.stderr
    assert not (tmp_path / "typo").exists()
    (tmp_path / "empty").mkdir()
    result = sweep(tmp_path / "empty", "--resume")
    assert result.exit_code == 2 and "is empty; check the path, or leave out" in result.stderr
    assert trained == []


def test_resume_of_a_study_stopped_before_its_first_run_finished_trains_it_all(
    finished, tmp_path, trained
):
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    runs = pd.read_csv(out / "runs.csv")
    runs.assign(status="pending").to_csv(out / "runs.csv", index=False)
    pd.read_csv(out / "metrics.csv").head(0).to_csv(out / "metrics.csv", index=False)
    result = sweep(out, "--resume")
    assert result.exit_code == 0, result.output
    assert "--resume found no finished run in" in " ".join(result.output.split())
    assert trained and set(pd.read_csv(out / "runs.csv")["status"]) == {"finished"}


def test_earlier_sessions_survive_a_hand_edited_record(tmp_path):
    from lenetcli.outputs.files import write_json
    from lenetcli.studies.ledger import earlier_sessions

    write_json(tmp_path / "config.json", {"argv": ["lenet"], "earlier_sessions": 5})
    assert earlier_sessions(tmp_path) == [
        {"argv": ["lenet"], "started_utc": None, "environment": None}
    ]


def test_earlier_sessions_keep_the_groups_of_one_setting_name_on_two_datasets(tmp_path):
    from lenetcli.outputs.files import write_json
    from lenetcli.studies.ledger import earlier_sessions

    settings = [
        {"name": "lr0.001", "dataset": "digits", "groups": [[42, 43]]},
        {"name": "lr0.001", "dataset": "mnist", "groups": [[42], [43]]},
    ]
    write_json(tmp_path / "config.json", {"options": {"settings": settings}})
    (session,) = earlier_sessions(tmp_path)
    assert session["groups"] == [
        {"setting": "lr0.001", "dataset": "digits", "groups": [[42, 43]]},
        {"setting": "lr0.001", "dataset": "mnist", "groups": [[42], [43]]},
    ]


def test_run_keys_of_folders_written_before_val_split_and_lr_schedule_still_match():
    import hashlib

    from lenetcli.config import TrainConfig
    from lenetcli.studies.study import run_key

    # How run_key hashed a run before TrainConfig had val_split and lr_schedule: resuming such
    # a folder must find its finished runs.
    config = TrainConfig(dataset="digits", lr=0.003, repeats=2)
    added = ("val_split", "lr_schedule")
    before = {k: v for k, v in config.to_dict().items() if k not in added} | {"repeats": 1}
    before = {k: float(v) if k in ("lr", "weight_decay") else v for k, v in before.items()}
    old_key = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]
    assert run_key(config, 42) == old_key
    assert run_key(TrainConfig(dataset="digits", lr=0.003, val_split=0.1), 42) != old_key
    assert run_key(TrainConfig(dataset="digits", lr=0.003, lr_schedule="step"), 42) != old_key


def test_every_run_keeps_its_model_and_confusion_takes_one(finished, tmp_path):
    import torch

    from lenetcli.outputs.checkpoint import load_checkpoint
    from lenetcli.science.data import load_dataset
    from lenetcli.science.engine import predict

    data = load_dataset("digits", train_subset=120, test_subset=60)
    for run in read(finished, "runs.csv").itertuples():
        path = finished / "models" / f"digits-{run.setting}" / f"seed-{run.seed}.pt"
        model, checkpoint = load_checkpoint(path)
        assert checkpoint["setting"] == {"name": run.setting}
        assert (checkpoint["seed"], checkpoint["config"]["lr"]) == (run.seed, run.lr)
        probs = predict(model, data.test.images, data.spec, torch.device("cpu"))
        accuracy = 100 * (probs.argmax(1) == data.test.labels).double().mean().item()
        assert accuracy == pytest.approx(run.final_test_acc)

    # --from a study folder names one of its models: the best setting's
    best = read(finished, "summary.csv").query("best == 1")["setting"].iloc[0]
    result = CliRunner().invoke(
        app, ["confusion", "--from", str(finished), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 2
    example = finished / "models" / f"digits-{best}" / "seed-42.pt"
    assert (
        f"is a study (sweep or noise), with one model per run: give one to --checkpoint, e.g. {example}"
        in " ".join(result.stderr.split())
    )
    result = CliRunner().invoke(
        app, ["confusion", "--checkpoint", str(example), "--out", str(tmp_path / "c"), "-q"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "c" / "config.json").read_text())
    assert record["data"]["model"]["setting"] == {"name": best}


def test_validation_columns_of_runs_and_resume_of_a_study_validating_some_settings(
    tmp_path, trained
):
    out = tmp_path / "out"
    args = ["--val-split", "0,0.25", "--epochs", "3"]
    assert sweep(out, *args, "-q").exit_code == 0
    runs, metrics = read(out, "runs.csv"), read(out, "metrics.csv")
    # config.json: one data record per way digits was read, with the settings it served
    records = json.loads((out / "config.json").read_text())["data"]["datasets"]
    assert [(d["val_split"], d["train_size"], d["val_size"]) for d in records] == [
        (0.0, 120, 0), (0.25, 90, 30),
    ]  # fmt: skip
    for record in records:
        assert (record["train_subset"], record["test_subset"]) == (120, 60)
        served = runs[runs["val_split"] == record["val_split"]]["setting"]
        assert sorted(record["settings"]) == sorted(set(served)) and len(set(served)) == 2
    for run in runs.itertuples():
        epochs = metrics[metrics["run_key"] == run.run_key]
        if run.val_split == 0:
            assert pd.isna(run.final_val_acc) and pd.isna(run.best_val_epoch)
            continue
        # early stopping: the first epoch with the best validation accuracy, and its test accuracy
        best = epochs.loc[epochs["val_acc"].idxmax()]
        assert run.best_val_acc == best["val_acc"] and run.best_val_epoch == best["epoch"]
        assert run.test_acc_at_best_val == best["test_acc"]
    trained.clear()
    result = sweep(out, *args, "--resume")
    assert result.exit_code == 0, result.output
    assert trained == []  # runs without validation images are finished runs too
    pd.testing.assert_frame_equal(read(out, "runs.csv"), runs)


def study_file(path: Path, first: str, second: str) -> Path:
    """Two named settings on digits, lr 0.001 then 0.005."""
    path.write_text(
        'datasets = ["digits"]\nrepeats = 1\n[defaults]\nepochs = 1\ntrain_subset = 120\n'
        f'test_subset = 60\n[[settings]]\nname = "{first}"\nlr = 0.001\n'
        f'[[settings]]\nname = "{second}"\nlr = 0.005\n'
    )
    return path


def sweep_file(out: Path, study: Path, *args: str):
    """lenet sweep of a study file into out, quietly."""
    return CliRunner().invoke(
        app,
        ["sweep", "--out", str(out), "-q", "--group-by", "setting", "--config", str(study), *args],
    )


def test_resume_puts_kept_models_under_their_settings_present_names(tmp_path, trained):
    import torch

    out = tmp_path / "out"
    assert sweep_file(out, study_file(tmp_path / "a.toml", "A", "B")).exit_code == 0
    before = {
        name: torch.load(out / "models" / f"digits-{name}" / "seed-42.pt", weights_only=True)
        for name in ("A", "B")
    }
    # The same two settings, their names swapped: both runs are kept, and so are their models
    trained.clear()
    swapped = study_file(tmp_path / "b.toml", "B", "A")
    result = sweep_file(out, swapped, "--resume")
    assert result.exit_code == 0, result.output
    assert trained == []
    for old, new in (("A", "B"), ("B", "A")):
        moved = torch.load(out / "models" / f"digits-{new}" / "seed-42.pt", weights_only=True)
        assert moved["setting"] == {"name": new}
        assert moved["config"]["lr"] == before[old]["config"]["lr"]
        assert torch.equal(
            moved["state_dict"]["conv1.weight"], before[old]["state_dict"]["conv1.weight"]
        )
    assert sorted(p.name for p in (out / "models").iterdir()) == ["digits-A", "digits-B"]

    # A kept run whose model is gone (an earlier lenet kept none) is said so
    (out / "models" / "digits-A" / "seed-42.pt").unlink()
    result = sweep_file(out, swapped, "--resume")
    assert result.exit_code == 0 and trained == []
    assert "1 finished run(s) kept in" in result.stderr and "have no model" in result.stderr


def test_settings_named_like_a_missing_value_resume_under_new_names(tmp_path, trained):
    # lenet refuses such names now (pandas read them as NaN); a folder an earlier lenet wrote
    # with them keeps its runs and models once the settings are renamed
    from lenetcli.commands import sweep as sweep_command

    out = tmp_path / "out"
    names = study_file(tmp_path / "a.toml", "NA", "null")
    result = sweep_file(out, names)
    assert result.exit_code == 2 and "'NA' would read as an empty value" in result.output
    with pytest.MonkeyPatch.context() as earlier:  # as lenet 0.2.0-dev allowed them
        earlier.setattr(sweep_command, "NOT_TEXT", set())
        assert sweep_file(out, names).exit_code == 0
    trained.clear()
    renamed = study_file(tmp_path / "b.toml", "NA2", "null2")
    result = sweep_file(out, renamed, "--resume")
    assert result.exit_code == 0 and trained == []
    assert "have no model" not in result.stderr
    assert list(outputs.read_csv(out / "runs.csv")["setting"]) == ["NA2", "null2"]
    assert (out / "models" / "digits-NA2" / "seed-42.pt").is_file()
    assert not (out / "models" / "digits-NA").exists()


def test_models_moved_by_a_session_stopped_before_runs_csv_are_not_called_missing(
    tmp_path, trained
):
    out = tmp_path / "out"
    assert sweep_file(out, study_file(tmp_path / "a.toml", "A", "B")).exit_code == 0
    # a resume renaming B to C moved B's model, then stopped before rewriting runs.csv
    (out / "models" / "digits-B").rename(out / "models" / "digits-C")
    trained.clear()
    result = sweep_file(out, study_file(tmp_path / "b.toml", "A", "C"), "--resume")
    assert result.exit_code == 0 and trained == []
    assert "have no model" not in result.stderr
    assert (out / "models" / "digits-C" / "seed-42.pt").is_file()


def test_resume_drops_the_tables_and_curves_of_a_renamed_setting(tmp_path, trained):
    out = tmp_path / "out"
    assert sweep_file(out, study_file(tmp_path / "a.toml", "A", "B")).exit_code == 0
    (out / "tables" / "notes.txt").write_text("mine")
    trained.clear()
    renamed = study_file(tmp_path / "b.toml", "A", "C")
    assert sweep_file(out, renamed, "--resume").exit_code == 0
    assert trained == []  # B's run is kept as C's
    assert sorted(p.name for p in (out / "tables").iterdir()) == [
        "digits-A.csv", "digits-C.csv", "notes.txt",
    ]  # fmt: skip
    assert sorted(p.name for p in (out / "curves").iterdir()) == ["digits-A.png", "digits-C.png"]


def test_resume_under_another_scikit_learn_warns_that_validation_draws_may_differ(tmp_path):
    out = tmp_path / "out"
    args = ["--val-split", "0.25", "-q"]
    assert sweep(out, *args, repeats=1, epochs=1).exit_code == 0
    result = sweep(out, *args, "--resume", repeats=1, epochs=1)
    assert result.exit_code == 0 and "scikit-learn" not in result.stderr  # the same version
    record = json.loads((out / "config.json").read_text())
    record["environment"]["scikit-learn"] = "0.24.2"
    (out / "config.json").write_text(json.dumps(record))
    result = sweep(out, *args, "--resume", repeats=1, epochs=1)
    assert result.exit_code == 0, result.output
    assert "drew their validation images with scikit-learn 0.24.2" in result.stderr


@pytest.mark.parametrize(
    "own",
    [{"columns": {"seconds": 1}}, {"columns": {"final_test_acc": 1}}, {"hidden": {"lr": 0.1}},
     {"hidden": {"run_key": "x"}}],
)  # fmt: skip
def test_a_setting_value_named_as_a_hyperparameter_or_result_is_refused(own):
    # it would overwrite that value in the run's identity or in its runs.csv row
    from lenetcli.config import TrainConfig
    from lenetcli.errors import LenetError
    from lenetcli.studies.study import Setting, Study, check_study

    setting = Setting("s", TrainConfig(dataset="digits"), **own)
    with pytest.raises(LenetError, match="clashes with a built-in column"):
        check_study(Study("sweep", [setting]))
    check_study(Study("sweep", [Setting("s", TrainConfig(dataset="digits"), columns={"k": 1})]))
