"""Executors (studies/executor.py) and a study's session (studies/session.py): the session
knows a job's outcomes only through the executor's on_done, whichever executor runs them;
--dry-run prints the plan and writes nothing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pandas as pd
import pytest

from lenetcli.config import RunOptions, TrainConfig
from lenetcli.outputs.files import read_csv
from lenetcli.science import engine
from lenetcli.science.data import load_dataset
from lenetcli.studies.executor import LocalExecutor, train_job
from lenetcli.studies.session import execute
from lenetcli.studies.study import Setting, Study, data_key


def small_study(group_size=None, group_by="setting") -> Study:
    settings = [
        Setting(f"lr{lr}", TrainConfig(dataset="digits", lr=lr, epochs=2, repeats=3,
                                       train_subset=200, test_subset=100))
        for lr in (0.001, 0.004)
    ]  # fmt: skip
    return Study(
        "sweep", settings, RunOptions(quiet=True, group_size=group_size, group_by=group_by)
    )


@dataclass
class BackwardsExecutor:
    """Another executor: trains the jobs last first, as a cluster might finish them."""

    study: Study
    datasets: dict
    device: object
    reporter: object

    def run(self, jobs, on_done, on_failed=None):
        for job in reversed(jobs):
            data = self.datasets[data_key(self.study.settings[job.runs[0].setting].config)]
            on_done(
                job,
                train_job(self.study, job, data, self.device, self.study.options, self.reporter),
            )


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    execute(small_study(group_size=2), out)
    return out


def test_another_executor_gives_the_same_folder(local, tmp_path):
    out = tmp_path / "backwards"
    execute(small_study(group_size=2), out, executor=BackwardsExecutor)
    for name in ("runs.csv", "metrics.csv", "summary.csv"):
        ours, theirs = read_csv(out / name), read_csv(local / name)
        pd.testing.assert_frame_equal(ours.drop(columns="seconds", errors="ignore"),
                                      theirs.drop(columns="seconds", errors="ignore"))  # fmt: skip


def test_config_json_records_the_jobs_as_groups(local):
    import json

    record = json.loads((local / "config.json").read_text())
    assert [s["groups"] for s in record["options"]["settings"]] == [[[42, 43], [44]]] * 2


def test_train_job_trains_exactly_the_job(monkeypatch):
    study = small_study()
    data = load_dataset("digits", train_subset=200, test_subset=100)
    from lenetcli.studies.ledger import Ledger
    from lenetcli.studies.plan import plan_jobs

    job = plan_jobs(study, Ledger(study).pending(), cap=lambda s: 2, group_by="setting")[
        1
    ]  # setting 0, seed 44
    calls = []
    original = engine.train

    def spy(config, data, device, **kwargs):
        calls.append((config.lr, kwargs["seeds"], kwargs["group_size"]))
        return original(config, data, device, **kwargs)

    monkeypatch.setattr(engine, "train", spy)
    outcomes = train_job(
        study, job, data, engine.resolve_device("cpu"), study.options, engine.Reporter()
    )
    assert calls == [(0.001, [44], 1)]
    assert [o.result.seed for o in outcomes] == [44]


def test_local_executor_hands_each_job_to_on_done_in_plan_order():
    study = small_study()
    data = load_dataset("digits", train_subset=200, test_subset=100)
    from lenetcli.outputs.progress import StudyReporter
    from lenetcli.studies.ledger import Ledger
    from lenetcli.studies.plan import plan_jobs

    jobs = plan_jobs(study, Ledger(study).pending(), cap=lambda s: 3, group_by="setting")
    done = []
    executor = LocalExecutor(
        study,
        {data_key(study.settings[0].config): data},
        engine.resolve_device("cpu"),
        StudyReporter(),
    )
    executor.run(
        jobs, lambda job, outcomes: done.append((job.label, [o.result.seed for o in outcomes]))
    )
    assert done == [("digits lr0.001", [42, 43, 44]), ("digits lr0.004", [42, 43, 44])]


def test_a_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(engine, "train", lambda *a, **k: pytest.fail("a dry run trained"))
    out = tmp_path / "planned"
    execute(small_study(group_size=2), out, dry_run=True)
    printed = " ".join(capsys.readouterr().out.split())
    assert "job 1: digits lr0.001, 2 run(s) (seeds 42-43), 2 epoch(s), 4 model-epochs" in printed
    assert "job 4: digits lr0.004, 1 run(s) (seed 44)" in printed
    assert "4 job(s), 6 run(s) to train, 12 model-epochs" in printed
    assert "No time estimate" in printed and "nothing was trained or written" in printed
    assert not out.exists()


def test_a_dry_run_of_a_started_study_plans_the_rest_at_its_measured_pace(local, tmp_path, capsys):
    out = tmp_path / "started"
    shutil.copytree(local, out)
    runs = read_csv(out / "runs.csv")
    runs.loc[runs["setting"] == "lr0.004", "status"] = "pending"
    runs.to_csv(out / "runs.csv", index=False)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    execute(small_study(group_size=2), out, resume=True, dry_run=True)
    printed = " ".join(capsys.readouterr().out.split())
    assert (
        "3 finished run(s)" in printed
        and "2 job(s), 3 run(s) to train, 6 model-epochs; about" in printed
    )
    assert "s per model-epoch" in printed
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_runs_of_several_settings_trained_as_one_group_match_those_trained_apart(local, tmp_path):
    """--group-by shape: the two learning rates' 6 runs as one group, each with its own lr."""
    out = tmp_path / "mixed"
    execute(small_study(group_by="shape"), out)
    import json

    record = json.loads((out / "config.json").read_text())
    assert len(record["options"]["jobs"]) == 1 and len(record["options"]["jobs"][0]) == 6
    ours, theirs = read_csv(out / "metrics.csv"), read_csv(local / "metrics.csv")
    assert ours["lr"].tolist() == theirs["lr"].tolist()  # each member its own
    numbers = ["train_loss", "train_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(ours[numbers], theirs[numbers], rtol=1e-4, atol=1e-3)


def two_shapes() -> Study:
    # Batch sizes of their own: one job per setting, however the plan groups runs.
    settings = [
        Setting(f"bs{batch}", TrainConfig(dataset="digits", batch_size=batch, epochs=2,
                                          repeats=3, train_subset=200, test_subset=100))
        for batch in (50, 100)
    ]  # fmt: skip
    return Study("sweep", settings, RunOptions(quiet=True, group_size=2))


@dataclass
class FailingExecutor:
    """An executor that gives up on the jobs of one setting (as a cluster does once a task
    has failed twice) and trains the others."""

    study: Study
    datasets: dict
    device: object
    reporter: object
    fails: str = "bs100"

    def run(self, jobs, on_done, on_failed):
        for job in jobs:
            setting = self.study.settings[job.runs[0].setting]
            if setting.name == self.fails:
                on_failed(job, "WorkerCrashedError: the worker died")
                continue
            data = self.datasets[data_key(setting.config)]
            on_done(
                job,
                train_job(self.study, job, data, self.device, self.study.options, self.reporter),
            )


def test_failed_jobs_are_marked_failed_and_resume_trains_them(tmp_path, capsys):
    out = tmp_path / "failed"
    summary, _ = execute(two_shapes(), out, executor=FailingExecutor)
    runs = read_csv(out / "runs.csv")
    failed = runs[runs["setting"] == "bs100"]
    assert list(failed["status"]) == ["failed"] * 3
    assert list(failed["error"]) == ["WorkerCrashedError: the worker died"] * 3
    assert failed["final_test_acc"].isna().all()
    assert list(runs[runs["setting"] == "bs50"]["status"]) == ["finished"] * 3
    assert runs[runs["setting"] == "bs50"]["error"].isna().all()
    assert list(summary["setting"]) == ["bs50"]  # failed runs are not summarised
    assert set(read_csv(out / "metrics.csv")["setting"]) == {"bs50"}
    warned = " ".join(capsys.readouterr().err.split())
    assert "3 run(s) failed" in warned and f"--resume --out {out}" in warned

    execute(two_shapes(), out, resume=True)  # the local backend, this time
    execute(two_shapes(), tmp_path / "whole")
    for name in ("runs.csv", "metrics.csv", "summary.csv"):
        ours, theirs = read_csv(out / name), read_csv(tmp_path / "whole" / name)
        pd.testing.assert_frame_equal(ours.drop(columns="seconds", errors="ignore"),
                                      theirs.drop(columns="seconds", errors="ignore"))  # fmt: skip
