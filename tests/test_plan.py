"""The plan (studies/plan.py): pure, so tested without data, files or a device."""

from __future__ import annotations

from dataclasses import replace

from lenetcli.config import TrainConfig
from lenetcli.outputs.tables import describe_seeds
from lenetcli.studies.ledger import Ledger
from lenetcli.studies.plan import (
    PER_MEMBER,
    Job,
    Run,
    describe_jobs,
    plan_jobs,
    setting_groups,
    shape_key,
)
from lenetcli.studies.study import Setting, Study

BY_SETTING = "setting"  # lenetcli 0.1's groups; "shape" (the default) below


def study_of(*repeats: int, epochs: int = 3) -> Study:
    settings = [
        Setting(
            f"s{i}", TrainConfig(dataset="digits", lr=0.001 * (i + 1), repeats=n, epochs=epochs)
        )
        for i, n in enumerate(repeats)
    ]
    return Study("sweep", settings)


def test_each_setting_pending_seeds_form_groups_cut_by_the_cap():
    study = study_of(5, 2)
    jobs = plan_jobs(study, Ledger(study).pending(), cap=lambda setting: 2, group_by=BY_SETTING)
    assert [(job.settings, job.seeds) for job in jobs] == [
        ([0], [42, 43]), ([0], [44, 45]), ([0], [46]), ([1], [42, 43]),
    ]  # fmt: skip
    assert [job.label for job in jobs] == ["digits s0"] * 3 + ["digits s1"]
    assert [job.model_epochs for job in jobs] == [6, 6, 3, 6]


def test_only_pending_runs_are_planned_and_the_plan_is_deterministic():
    study = study_of(3, 3)
    ledger = Ledger(study)
    pending = [run for run in ledger.pending() if not (run.setting == 0 and run.seed == 43)]
    first = plan_jobs(study, pending, cap=lambda setting: 10, group_by=BY_SETTING)
    assert [job.seeds for job in first] == [[42, 44], [42, 43, 44]]
    assert first == plan_jobs(study, pending, cap=lambda setting: 10, group_by=BY_SETTING)
    assert all(
        run.key == ledger.runs[ledger.runs.index(run)].key for job in first for run in job.runs
    )


def test_the_cap_is_asked_per_setting():
    study = study_of(4, 4)
    caps = {"s0": 4, "s1": 1}
    jobs = plan_jobs(
        study, Ledger(study).pending(), cap=lambda setting: caps[setting.name], group_by=BY_SETTING
    )
    assert [len(job.runs) for job in jobs] == [4, 1, 1, 1, 1]


def test_setting_groups_are_config_json_groups():
    study = study_of(3, 1)
    jobs = plan_jobs(study, Ledger(study).pending(), cap=lambda setting: 2, group_by=BY_SETTING)
    assert setting_groups(study, jobs) == [[[42, 43], [44]], [[42]]]


def test_a_finished_study_plans_no_job():
    study = study_of(2)
    assert plan_jobs(study, [], cap=lambda setting: 10, group_by=BY_SETTING) == []
    assert describe_jobs([]) == ["0 job(s), 0 run(s) to train, 0 model-epochs"]


def test_the_plan_describes_itself_with_a_time_only_from_a_measured_cost():
    job = Job((Run(0, 42, "k1"), Run(0, 43, "k2")), epochs=3, label="digits s0")
    lines = describe_jobs([job])
    assert lines == [
        "  job 1: digits s0, 2 run(s) (seeds 42-43), 3 epoch(s), 6 model-epochs",
        "1 job(s), 2 run(s) to train, 6 model-epochs",
    ]
    timed = describe_jobs([job], cost=10.0)
    assert (
        timed[-1]
        == "1 job(s), 2 run(s) to train, 6 model-epochs; about 0:01:00 at 10 s per model-epoch"
    )


def test_seeds_that_are_not_consecutive_are_listed():
    assert describe_seeds([42, 43, 44]) == "seeds 42-44"
    assert describe_seeds([42, 44]) == "seeds 42, 44"
    assert describe_seeds([7]) == "seed 7"
    assert describe_seeds([42, 43, 42, 43]) == "seeds 42-43"  # a job of two settings


def test_settings_of_one_shape_train_together_in_plan_order():
    study = study_of(3, 2)  # two learning rates: one shape
    jobs = plan_jobs(study, Ledger(study).pending(), cap=lambda setting: 4)
    assert [[(run.setting, run.seed) for run in job.runs] for job in jobs] == [
        [(0, 42), (0, 43), (0, 44), (1, 42)], [(1, 43)],
    ]  # fmt: skip
    assert [job.label for job in jobs] == ["digits s0 +1 setting", "digits s1"]
    assert setting_groups(study, jobs) == [[[42, 43, 44]], [[42], [43]]]


def test_settings_of_other_shapes_train_apart():
    settings = [
        Setting("a", TrainConfig(dataset="digits", repeats=2)),
        Setting("b", TrainConfig(dataset="digits", repeats=2, batch_size=8)),  # another shape
        Setting("c", TrainConfig(dataset="digits", repeats=2, lr=0.01, weight_decay=1e-4)),
    ]
    study = Study("sweep", settings)
    jobs = plan_jobs(study, Ledger(study).pending(), cap=lambda setting: 10)
    assert [job.settings for job in jobs] == [[0, 2], [1]]
    assert [job.seeds for job in jobs] == [[42, 43, 42, 43], [42, 43]]


def test_runs_share_a_group_only_where_every_option_but_the_per_member_ones_agrees():
    base = TrainConfig(dataset="digits")
    other = {
        "dataset": "mnist", "epochs": 3, "lr": 0.01, "batch_size": 8, "optimizer": "sgd",
        "weight_decay": 0.001, "loss": "mse", "activation": "tanh", "pool": "avg", "seed": 1,
        "repeats": 4, "train_subset": 100, "test_subset": 50, "val_split": 0.1,
        "lr_schedule": "cosine",
    }  # fmt: skip
    assert set(other) == set(TrainConfig.field_names())  # a new option is added here too
    for name, value in other.items():
        changed = replace(base, **{name: value})
        same = shape_key(changed) == shape_key(base)
        assert same == (name in PER_MEMBER), name
