"""Executors (studies/executor.py) and a study's session (studies/session.py): the session
knows a job's outcomes only through the executor's on_done, whichever executor runs them;
--dry-run prints the plan and writes nothing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace

import pandas as pd
import pytest
from conftest import EveryJobFails

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
                train_job(self.study, job, data, self.device, self.reporter),
            )


def test_a_study_whose_every_job_failed_says_so_in_one_line_and_resumes(tmp_path):
    import json

    from lenetcli.errors import LenetError

    out = tmp_path / "failed"
    with pytest.raises(LenetError) as raised:
        execute(small_study(group_size=3), out, executor=EveryJobFails)
    message = str(raised.value)
    assert message.startswith("every job of this study failed, e.g. with FileNotFoundError")
    assert f"--resume --out {out}" in message and "\n" not in message
    assert set(read_csv(out / "runs.csv")["status"]) == {"failed"}
    assert not (out / "summary.csv").exists()
    record = json.loads((out / "config.json").read_text())
    assert record["interrupted"] == "before any run finished: every job failed"
    execute(small_study(group_size=3), out, resume=True)  # the cause fixed
    assert set(read_csv(out / "runs.csv")["status"]) == {"finished"}
    assert "interrupted" not in json.loads((out / "config.json").read_text())


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
    outcomes = train_job(study, job, data, engine.resolve_device("cpu"), engine.Reporter())
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


def test_the_measured_pace_shares_a_jobs_seconds_by_all_its_runs(tmp_path, capsys):
    """A job of two settings' runs: each run's seconds are the job's, shared by all 4 of its
    runs, not by the 2 of its own setting (a pace, and an estimate, twice too high)."""
    import json
    import re

    out = tmp_path / "shape"
    execute(small_study(group_size=4, group_by="shape"), out)
    jobs = json.loads((out / "config.json").read_text())["options"]["jobs"]
    assert [len(job) for job in jobs] == [4, 2]
    size = {(m["setting"], m["seed"]): len(job) for job in jobs for m in job}
    runs = read_csv(out / "runs.csv")
    shares = [r.seconds / size[(r.setting, r.seed)] for r in runs.itertuples()]
    expected = sum(shares) / runs["epochs"].sum()
    capsys.readouterr()
    execute(small_study(group_size=4, group_by="shape"), out, resume=True, dry_run=True)
    printed = " ".join(capsys.readouterr().out.split())
    assert "0 run(s) to train" in printed  # nothing left: the pace shows with more repeats
    study = small_study(group_size=4, group_by="shape")
    more = Study(study.command, [
        Setting(s.name, replace(s.config, repeats=4)) for s in study.settings
    ], study.options)  # fmt: skip
    execute(more, out, resume=True, dry_run=True)
    printed = " ".join(capsys.readouterr().out.split())
    pace = float(re.search(r"at (\S+) s per model-epoch", printed).group(1))
    assert pace == pytest.approx(expected, rel=5e-3)


def test_job_sizes_tell_apart_a_setting_name_on_two_datasets():
    from lenetcli.studies.session import job_sizes

    session = {"jobs": [
        [{"setting": "lr0.001", "dataset": "mnist", "seed": s} for s in (42, 43)] * 5,
        [{"setting": "lr0.001", "dataset": "digits", "seed": 42},
         {"setting": "lr0.001", "dataset": "digits", "seed": 43}],
    ]}  # fmt: skip
    sizes = job_sizes(session)
    assert sizes[("mnist", "lr0.001", 42)] == 10 and sizes[("digits", "lr0.001", 42)] == 2
    # recorded before jobs named their dataset, or as groups per setting: no dataset
    old = {"jobs": [[{"setting": "a", "seed": 42}, {"setting": "b", "seed": 42}]]}
    assert job_sizes(old) == {(None, "a", 42): 2, (None, "b", 42): 2}
    settings = {"settings": [{"name": "a", "dataset": "digits", "groups": [[42, 43], [44]]}]}
    assert job_sizes(settings)[("digits", "a", 44)] == 1
    assert job_sizes({"groups": {"a": [[42, 43]]}}) == {(None, "a", 42): 2, (None, "a", 43): 2}
    # earlier_sessions' groups since they name the dataset: one setting name on two datasets
    both = {"groups": [
        {"setting": "a", "dataset": "mnist", "groups": [[42, 43, 44]]},
        {"setting": "a", "dataset": "digits", "groups": [[42], [43]]},
    ]}  # fmt: skip
    assert job_sizes(both)[("mnist", "a", 43)] == 3 and job_sizes(both)[("digits", "a", 43)] == 1


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


def test_a_job_of_own_and_custom_labels_trains_each_member_on_its_own():
    """Study.labels may give one setting the dataset's labels (None) and another its own; a
    job holding both trains each member on its labels, as it would be trained apart."""
    from lenetcli.studies.ledger import Ledger
    from lenetcli.studies.plan import plan_jobs
    from lenetcli.studies.study import Labels

    def shifted_for_lr4(setting, seed, data):
        return Labels((data.train.labels + 1) % 10) if setting.config.lr == 0.004 else Labels()

    data = load_dataset("digits", train_subset=200, test_subset=100)
    cpu = engine.resolve_device("cpu")

    def trained(study, cap):
        jobs = plan_jobs(study, Ledger(study).pending(), cap=lambda s: cap, group_by="shape")
        return {(study.settings[r.setting].name, o.result.seed): o.result.metrics[-1]
                for job in jobs
                for r, o in zip(job.runs, train_job(study, job, data, cpu, engine.Reporter()),
                                strict=True)}  # fmt: skip

    plain = small_study(group_by="shape")
    study = Study(plain.command, plain.settings, plain.options, labels=shifted_for_lr4)
    together, apart = trained(study, 6), trained(study, 1)
    assert together.keys() == apart.keys() and len(together) == 6
    for key in together:
        assert together[key]["train_loss"] == pytest.approx(apart[key]["train_loss"], rel=1e-4)
        assert together[key]["test_acc"] == pytest.approx(apart[key]["test_acc"], abs=1.01)
    # and the shifted labels did train: that setting no longer learns the test set's digits
    assert max(apart[("lr0.004", s)]["test_acc"] for s in (42, 43, 44)) < 30
    assert min(apart[("lr0.001", s)]["test_acc"] for s in (42, 43, 44)) > 50


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
                train_job(self.study, job, data, self.device, self.reporter),
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
