"""The plan of a study: its pending runs cut into jobs, each job one group of runs that train
together (one `engine.train` call), decided before anything trains.

Pure: no files, no console, no device. The group-size cap of each setting (which depends on
the device's memory) is given by the caller, so the same study, pending runs and caps always
give the same jobs, and `--dry-run` prints them without loading any data.

Today a job holds runs of one setting: its pending seeds, in order, cut by the cap (the
grouping config.json records, since a seed trained in another group gets numbers that differ
at the level of float rounding).
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
    """Runs that train together as one group, all of one setting."""

    runs: tuple[Run, ...]
    epochs: int
    label: str  # 'digits lr0.001', for the progress display

    @property
    def setting(self) -> int:
        return self.runs[0].setting

    @property
    def seeds(self) -> list[int]:
        return [run.seed for run in self.runs]

    @property
    def model_epochs(self) -> int:
        return len(self.runs) * self.epochs


def plan_jobs(study: Study, pending: list[Run], cap: Callable[[Setting], int]) -> list[Job]:
    """The jobs that train the pending runs: per setting, in the study's order, its pending
    seeds in order, cut into groups of at most cap(setting)."""
    jobs = []
    for index, setting in enumerate(study.settings):
        runs = [run for run in pending if run.setting == index]
        label = f"{setting.config.dataset} {setting.name}"
        for part in group_slices(len(runs), cap(setting)):
            jobs.append(Job(tuple(runs[part]), setting.config.epochs, label))
    return jobs


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
    """Per setting, the seeds of each of its jobs: config.json's 'groups'."""
    return [
        [job.seeds for job in jobs if job.setting == index] for index in range(len(study.settings))
    ]


# --------------------------------------------------------------------------- describing it


def model_epochs(jobs: list[Job]) -> int:
    return sum(job.model_epochs for job in jobs)


def describe_jobs(jobs: list[Job], cost: float | None = None) -> list[str]:
    """The plan as lines of text: one per job, then the totals and, given a measured cost in
    seconds per model-epoch, the time it would take at that pace."""
    lines = [
        f"  job {i}: {job.label}, {len(job.runs)} run(s) ({seeds_text(job.seeds)}), "
        f"{job.epochs} epoch(s), {job.model_epochs} model-epochs"
        for i, job in enumerate(jobs, 1)
    ]
    runs = sum(len(job.runs) for job in jobs)
    total = f"{len(jobs)} job(s), {runs} run(s) to train, {model_epochs(jobs)} model-epochs"
    if cost is not None and jobs:
        total += f"; about {clock(cost * model_epochs(jobs))} at {cost:.3g} s per model-epoch"
    return [*lines, total]


def seeds_text(seeds: list[int]) -> str:
    """'seeds 42-46' for consecutive seeds, else 'seeds 42, 44'."""
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return describe_seeds(seeds)
    return "seeds " + ", ".join(map(str, seeds))
