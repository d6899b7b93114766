"""Executors: what runs a study's jobs. One interface, `run(jobs, on_done, on_failed)`: train
each job (one group of runs, studies/plan.py) and hand its outcomes to `on_done` as it
finishes, in the order jobs finish (or, for a job given up on, its error to `on_failed`).
Nothing else in a study knows how, or where, a job was trained: the ledger records the
outcomes in the process that owns the output folder.

`LocalExecutor` trains the jobs in this process, one after another. `RayExecutor`
(ray_executor.py, for clusters) is a second implementation of the same interface; both
train a job with `train_job`, so a run's numbers do not depend on the executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from lenetcli.outputs.progress import StudyReporter
from lenetcli.science import engine
from lenetcli.science.data import Dataset
from lenetcli.science.engine import Reporter
from lenetcli.studies.plan import Job
from lenetcli.studies.study import RunOutcome, Study, data_key

OnDone = Callable[[Job, list[RunOutcome]], None]
OnFailed = Callable[[Job, str], None]


class Executor(Protocol):
    def run(self, jobs: list[Job], on_done: OnDone, on_failed: OnFailed) -> None:
        """Train every job; call on_done(job, outcomes) once per job as it finishes, or
        on_failed(job, error) for a job that could not be trained (an executor that retries,
        once it gives up) while the others go on. An executor may instead let the exception
        end run(), as LocalExecutor does."""


def train_job(
    study: Study,
    job: Job,
    data: Dataset,
    device: torch.device,
    reporter: Reporter,
) -> list[RunOutcome]:
    """Train one job's runs as one group; one outcome per run, in the job's order.

    Each run's training labels come from the study's labels hook (the dataset's own, or a
    noisy draw of them). The runs share everything that shapes the computation (the plan
    groups them so); a job of several settings gives each member its own learning rate and
    weight decay. The group is exactly the job: the plan has already applied the cap."""
    settings = [study.settings[run.setting] for run in job.runs]
    labels = [study.labels(s, run.seed, data) for s, run in zip(settings, job.runs, strict=True)]
    own = [data.train.labels if draw.train is None else draw.train for draw in labels]
    config = job.config(study)
    kwargs = dict(
        train_labels=None if all(d.train is None for d in labels) else torch.stack(own),
        group_size=len(job.runs), use_graph=study.options.graph, reporter=reporter,
    )  # fmt: skip
    if len(job.settings) == 1:
        results = engine.train(config, data, device, seeds=job.seeds, **kwargs)
    else:
        members = [
            engine.Member(run.seed, s.config.lr, s.config.weight_decay)
            for s, run in zip(settings, job.runs, strict=True)
        ]
        results = engine.train(config, data, device, members=members, **kwargs)
    return [RunOutcome(result, draw.columns) for result, draw in zip(results, labels, strict=True)]


@dataclass
class LocalExecutor:
    """This process, one job after another, with the live progress of each group."""

    study: Study
    datasets: dict[tuple, Dataset]
    device: torch.device
    reporter: StudyReporter

    def run(self, jobs: list[Job], on_done: OnDone, on_failed: OnFailed | None = None) -> None:
        # on_failed is never called: an exception here ends the command, as it always has.
        for job in jobs:
            self.reporter.start_setting(job.label, len(job.runs))
            data = self.datasets[data_key(job.config(self.study))]
            on_done(
                job,
                train_job(self.study, job, data, self.device, self.reporter),
            )
            self.reporter.finish_setting(len(job.runs))
