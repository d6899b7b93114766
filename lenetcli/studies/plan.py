"""The plan of a study: its pending runs cut into jobs, each job one group of runs that train
together (one `engine.train` call), decided before anything trains.

`plan_jobs` is pure: no files, no console, no data. The group-size cap of each setting
depends on the device's total memory, so the caller passes the caps in (`device_caps` reads
them from the device, through `engine.group_size_cap`): the same study, pending runs and caps
always give the same jobs, and `--dry-run` prints them without loading any data.

Runs group by shape (the default): runs of any settings that share everything that shapes the
computation (dataset, subsets, validation share, batch size, epochs, activation, pooling,
loss, optimizer, learning-rate schedule) and differ only in seed, learning rate, weight decay
or training labels train as one group, in plan order, cut by the cap: a noise study of 7
rates x 5 seeds is one group of 35 on a GPU. By setting (`--group-by setting`, lenetcli
0.1's grouping): each setting's pending seeds apart. config.json records the groups, since a
run trained in another group gets numbers that differ at the level of float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lenetcli.config import TrainConfig
from lenetcli.outputs.progress import clock
from lenetcli.outputs.tables import describe_seeds
from lenetcli.science.data import DatasetSpec, get_spec
from lenetcli.science.engine import architecture_for, group_size_cap, group_slices, seed_groups
from lenetcli.studies.study import Setting, Study


@dataclass(frozen=True)
class Run:
    """One run of a study: a setting (its index in Study.settings) and a seed."""

    setting: int
    seed: int
    key: str  # run_key: what runs.csv and metrics.csv know it by


@dataclass(frozen=True)
class Job:
    """Runs that train together as one group: of one setting, or of several of one shape."""

    runs: tuple[Run, ...]
    epochs: int
    label: str  # 'digits lr0.001', or 'digits lr0.001 +1 setting', for the progress display

    @property
    def settings(self) -> list[int]:
        """The settings (indices) that have runs in this job, in plan order."""
        return sorted({run.setting for run in self.runs})

    @property
    def seeds(self) -> list[int]:
        return [run.seed for run in self.runs]

    def seeds_of(self, setting: int) -> list[int]:
        return [run.seed for run in self.runs if run.setting == setting]

    def config(self, study: Study) -> TrainConfig:
        """Its first run's config, which stands for the whole job in all it shares (shape_key:
        dataset, subsets, epochs, batch size, ...); lr and weight decay are each run's own."""
        return study.settings[self.runs[0].setting].config

    @property
    def model_epochs(self) -> int:
        return len(self.runs) * self.epochs


# What a member of a group may have of its own: the optimizer takes lr and weight decay per
# member, each member draws from its own seed; repeats only count the seeds.
PER_MEMBER = ("seed", "repeats", "lr", "weight_decay")


def shape_key(config: TrainConfig) -> tuple:
    """What runs must share to train as one group: every training option but PER_MEMBER's
    (the training labels, too, are per member). A new option shapes the computation unless
    it is added to PER_MEMBER, so it can never be shared by mistake."""
    return tuple(
        (name, getattr(config, name))
        for name in TrainConfig.field_names()
        if name not in PER_MEMBER
    )


def plan_jobs(
    study: Study, pending: list[Run], cap: Callable[[Setting], int], group_by: str = "shape"
) -> list[Job]:
    """The jobs that train the pending runs, in plan order, each at most cap(setting) runs.

    group_by "shape": the pending runs of all settings of one shape (shape_key) together,
    shapes in the order their first setting comes; "setting": each setting's apart."""

    def key(run: Run):
        config = study.settings[run.setting].config
        return shape_key(config) if group_by == "shape" else run.setting

    batches: dict = {}
    for run in pending:
        batches.setdefault(key(run), []).append(run)
    jobs = []
    for runs in batches.values():
        first = study.settings[runs[0].setting]
        for part in group_slices(len(runs), cap(first)):
            members = tuple(runs[part])
            jobs.append(Job(members, first.config.epochs, job_label(study, members)))
    return jobs


def job_label(study: Study, runs: tuple[Run, ...]) -> str:
    """'digits lr0.001', or 'digits lr0.001 +2 settings' for a group of several."""
    indices = sorted({run.setting for run in runs})
    first = study.settings[indices[0]]
    label = f"{first.config.dataset} {first.name}"
    others = len(indices) - 1
    return label + (f" +{others} setting{'s' if others > 1 else ''}" if others else "")


def group_cap(config: TrainConfig, spec: DatasetSpec, device: torch.device, requested) -> int:
    """Most runs of config trained as one group on device (engine.group_size_cap)."""
    return group_size_cap(device, architecture_for(config, spec), config.batch_size, requested)


def device_caps(device: torch.device, requested: int | None) -> Callable[[Setting], int]:
    """plan_jobs' cap for a device and --group-size: from the dataset's shape, no data read."""
    return lambda setting: group_cap(
        setting.config, get_spec(setting.config.dataset), device, requested
    )


def groups(
    config: TrainConfig, spec: DatasetSpec, device, group_size, seeds=None
) -> list[list[int]]:
    """The seeds of one config (all of them, or these) as they train in groups, without a
    study: lenet train's grouping, recorded in its config.json."""
    cap = group_cap(config, spec, device, group_size)
    return seed_groups(config.seeds if seeds is None else seeds, cap)


def setting_groups(study: Study, jobs: list[Job]) -> list[list[list[int]]]:
    """Per setting, its seeds in each job it has runs in: config.json's 'groups' (with the
    jobs themselves beside them, since a job may hold several settings)."""
    return [
        [job.seeds_of(index) for job in jobs if index in job.settings]
        for index in range(len(study.settings))
    ]


def job_records(study: Study, jobs: list[Job]) -> list[list[dict]]:
    """config.json's 'jobs': each group's members (setting, dataset and seed: a setting's
    name may stand on several datasets), in training order."""
    return [
        [member_record(study.settings[run.setting], run.seed) for run in job.runs] for job in jobs
    ]


def member_record(setting: Setting, seed: int) -> dict:
    return {"setting": setting.name, "dataset": setting.config.dataset, "seed": seed}


# --------------------------------------------------------------------------- describing it


def model_epochs(jobs: list[Job]) -> int:
    return sum(job.model_epochs for job in jobs)


def describe_jobs(jobs: list[Job], cost: float | None = None) -> list[str]:
    """The plan as lines of text: one per job, then the totals and, given a measured cost in
    seconds per model-epoch, the time it would take at that pace."""
    lines = [
        f"  job {i}: {job.label}, {len(job.runs)} run(s) ({describe_seeds(job.seeds)}), "
        f"{job.epochs} epoch(s), {job.model_epochs} model-epochs"
        for i, job in enumerate(jobs, 1)
    ]
    runs = sum(len(job.runs) for job in jobs)
    total = f"{len(jobs)} job(s), {runs} run(s) to train, {model_epochs(jobs)} model-epochs"
    if cost is not None and jobs:
        total += f"; about {clock(cost * model_epochs(jobs))} at {cost:.3g} s per model-epoch"
    return [*lines, total]
