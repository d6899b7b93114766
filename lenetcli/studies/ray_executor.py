"""The Ray executor: a study's jobs trained as Ray tasks, on a local Ray instance or a cluster.

A second implementation of executor.py's interface, `run(jobs, on_done, on_failed)`; nothing
else in a study changes. Each job (one group of runs) is one Ray task that calls `train_job`
on a worker; its outcomes come back as the task finishes (`ray.wait`) and `on_done` records
them here, in the driver, which alone writes the output folder: the same runs.csv,
metrics.csv, models and figures as the local backend.

- Resources: a task asks for `task_cpus` CPUs (default 1) and, where the study trains on a
  GPU, `task_gpus` of one (default 0.25: engine.group_size_cap sizes a group to a quarter
  of a GPU's memory, so four groups fit on one). A GPU task's worker exits after it
  (`max_calls=1`), so no task inherits another's GPU memory.
- Threads: a task trains with torch.set_num_threads(floor(task_cpus)) (Ray sets
  OMP_NUM_THREADS from num_cpus too): with the same thread count and the same groups, a
  run's numbers are the local backend's to the last digit.
- Data: by default the datasets the driver has read go to the cluster once (`ray.put`; each
  task gets the object, nothing is pickled into the tasks). With `data_from="workers"` each
  task reads its dataset itself, from --data-dir (a shared file system) or, without it, from
  its node's own cache ($LENET_DATA_DIR there, or ~/.cache/lenetcli/data).
- Faults: a task that raises, or whose worker or node dies, is retried once; then its runs
  are handed to `on_failed` (runs.csv: status failed, with the error) while the other tasks
  go on. Ctrl-C cancels the outstanding tasks; every finished job is already saved.

Ray is imported only here, and only when a Ray study runs: lenetcli works without it
(`pip install 'lenetcli[ray]'` brings it). docs/cluster.md shows how to run on a cluster.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lenetcli.config import RAY_DATA
from lenetcli.errors import LenetError, one_line
from lenetcli.outputs.progress import StudyReporter
from lenetcli.outputs.tables import describe_seeds
from lenetcli.science.data import Dataset, load_data
from lenetcli.science.engine import GROUP_MEMORY_SHARE, Reporter
from lenetcli.studies.executor import OnDone, OnFailed, train_job
from lenetcli.studies.plan import Job
from lenetcli.studies.study import RunOutcome, Study, data_key

INSTALL = "pip install 'lenetcli[ray]'"
# A group is sized to a share of a GPU's memory (engine.group_size_cap): that many share one.
DEFAULT_TASK_GPUS = GROUP_MEMORY_SHARE
DEFAULT_TASK_CPUS = 1.0
# auto (the cluster this machine belongs to), ray://host:port (Ray Client), host:port (GCS)
ADDRESS = re.compile(r"auto|(ray://)?[A-Za-z0-9._-]+:\d{1,5}")
ERROR_CHARACTERS = 500  # of a failed task's error in runs.csv: Ray's run to whole tracebacks


@dataclass(frozen=True)
class RayConfig:
    """Where and how the tasks run; the CLI's --ray-address, --task-cpus, --task-gpus."""

    address: str | None = None  # None: a local Ray instance, started and stopped by run()
    task_cpus: float | None = None  # None: DEFAULT_TASK_CPUS
    task_gpus: float | None = None  # None: DEFAULT_TASK_GPUS where the study trains on a GPU
    data_from: str = "driver"  # or "workers": each task reads its dataset itself

    def cpus(self) -> float:
        return DEFAULT_TASK_CPUS if self.task_cpus is None else self.task_cpus

    def gpus(self, device: torch.device) -> float:
        if device.type != "cuda":
            return 0.0
        return DEFAULT_TASK_GPUS if self.task_gpus is None else self.task_gpus

    def threads(self) -> int:
        """torch threads per task: the whole CPUs it holds, at least one."""
        return max(1, math.floor(self.cpus()))


def executor_factory(
    address: str | None = None,
    task_cpus: float | None = None,
    task_gpus: float | None = None,
    data_from: str = "driver",
    device: torch.device | None = None,
) -> Callable[[Study, dict[tuple, Dataset], torch.device, StudyReporter], RayExecutor]:
    """What `session.execute(..., executor=...)` takes to train on Ray: checks the options
    and that Ray is installed (LenetError otherwise), before anything is written; given the
    study's device, also that the options suit it. The cluster is reached only when the jobs
    run."""
    require_ray()
    config = RayConfig(address, task_cpus, task_gpus, data_from)
    check_config(config)
    if device is not None:
        check_device(config, device)

    def make(study, datasets, device, reporter) -> RayExecutor:
        check_device(config, device)
        return RayExecutor(study, datasets, device, reporter, config)

    return make


def require_ray():
    try:
        import ray
    except ImportError:
        raise LenetError(f"--backend ray needs Ray, which is not installed; {INSTALL}") from None
    return ray


def check_config(config: RayConfig) -> None:
    if config.address is not None and not ADDRESS.fullmatch(config.address):
        raise LenetError(
            f"--ray-address '{config.address}' is not a Ray address; give auto (the cluster "
            "this machine belongs to), HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:PORT, or "
            "leave it out for a local Ray instance"
        )
    for option, value in (("--task-cpus", config.task_cpus), ("--task-gpus", config.task_gpus)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise LenetError(f"{option} must be a positive number, e.g. 1 or 0.5, got {value}")
    if config.task_gpus is not None and config.task_gpus > 1 and not config.task_gpus.is_integer():
        # Ray's rule: a share of one GPU, or whole GPUs
        raise LenetError(
            f"--task-gpus must be a fraction of one GPU (e.g. 0.25) or a whole number, got {config.task_gpus:g}"
        )
    if config.data_from not in RAY_DATA:
        raise ValueError(f"data_from must be one of {RAY_DATA}, got {config.data_from!r}")


def check_device(config: RayConfig, device: torch.device) -> None:
    if device.type != "cuda" and config.task_gpus is not None:
        raise LenetError(
            f"--task-gpus {config.task_gpus:g} needs a study trained on a GPU, but this one "
            f"trains on {device}; run lenet where a GPU is visible, or leave --task-gpus out"
        )


# --------------------------------------------------------------------------- on a worker


def train_on_worker(
    study: Study, job: Job, data: Dataset | None, device_type: str, threads: int
) -> list[RunOutcome]:
    """One Ray task: train one job as train_job does locally. data None: read it here."""
    torch.set_num_threads(threads)  # the worker may have run a task of another size before
    if data is None:
        data = load_data(job.config(study), study.options)
    # Ray shows a task only the GPUs it was given (CUDA_VISIBLE_DEVICES): cuda is its GPU.
    device = torch.device(device_type)
    return train_job(study, job, data, device, Reporter())


# --------------------------------------------------------------------------- in the driver


@dataclass
class RayExecutor:
    """The jobs as Ray tasks; their outcomes recorded here as each task finishes."""

    study: Study
    datasets: dict[tuple, Dataset]
    device: torch.device
    reporter: StudyReporter
    config: RayConfig

    def run(self, jobs: list[Job], on_done: OnDone, on_failed: OnFailed) -> None:
        if not jobs:
            return
        ray = require_ray()
        started = not ray.is_initialized()  # else: the caller's connection, left open
        if started:
            connect(ray, self.config.address, self.study.options.quiet)
        try:
            self.check_resources(ray)
            tasks = self.submit(ray, jobs)
            self.reporter.message(
                f"Ray: {len(jobs)} job(s) submitted, {self.describe_resources()} each"
            )
            self.collect(ray, tasks, on_done, on_failed)
        finally:
            if started:
                ray.shutdown()  # stops the local instance; a cluster's driver disconnects

    def task_options(self) -> dict:
        gpus = self.config.gpus(self.device)
        return {
            "num_cpus": self.config.cpus(),
            "num_gpus": gpus,
            "max_retries": 1,  # a dead worker or node
            "retry_exceptions": True,  # an exception in the task
            "max_calls": 1 if gpus else 0,  # 0: no limit; a CPU worker keeps torch loaded
        }

    def describe_resources(self) -> str:
        gpus = self.config.gpus(self.device)
        return f"{self.config.cpus():g} CPU(s)" + (f" and {gpus:g} GPU" if gpus else "")

    def check_resources(self, ray) -> None:
        """Refuse tasks no node of the cluster could run: they would wait forever."""
        cpus, gpus = self.config.cpus(), self.config.gpus(self.device)
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        if any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in nodes):
            return
        most_cpus = max((n.get("CPU", 0) for n in nodes), default=0)
        most_gpus = max((n.get("GPU", 0) for n in nodes), default=0)
        raise LenetError(
            f"no node of the Ray cluster has the {self.describe_resources()} a task asks for "
            f"(at most {most_cpus:g} CPU(s) and {most_gpus:g} GPU(s) on one node); give a "
            "smaller --task-cpus or --task-gpus, or add a node that has them"
        )

    def submit(self, ray, jobs: list[Job]) -> dict:
        """Every job as a task, in plan order; the task's object ref -> its job."""
        remote = ray.remote(**self.task_options())(train_on_worker)
        study = ray.put(self.study)  # once, not pickled into every task
        data = {}
        if self.config.data_from == "driver":
            data = {key: ray.put(value) for key, value in self.datasets.items()}
        tasks = {}
        for job in jobs:
            key = data_key(job.config(self.study))
            name = f"lenet {job.label} {describe_seeds(job.seeds)}"  # as `ray list tasks` shows it
            ref = remote.options(name=name).remote(
                study, job, data.get(key), self.device.type, self.config.threads()
            )
            tasks[ref] = job
        return tasks

    def collect(self, ray, tasks: dict, on_done: OnDone, on_failed: OnFailed) -> None:
        """Hand each task's outcomes to on_done as it finishes (or its error to on_failed);
        on Ctrl-C, cancel the tasks still out before the interruption goes on."""
        waiting = dict(tasks)
        try:
            while waiting:
                [ref], _ = ray.wait(list(waiting), num_returns=1)
                job = waiting.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    error = task_error(exc)
                    self.reporter.message(
                        f"{job.label} ({describe_seeds(job.seeds)}): failed, and again when "
                        f"retried; its runs are marked failed: {error}"
                    )
                    on_failed(job, error)
                    continue
                self.reporter.start_setting(job.label, len(job.runs))
                on_done(job, outcomes)
                self.reporter.finish_setting(len(job.runs))
        except KeyboardInterrupt:
            for ref in waiting:
                ray.cancel(ref, force=True)  # force: a task on a GPU frees it now
            raise


def connect(ray, address: str | None, quiet: bool) -> None:
    import logging

    level = logging.WARNING if quiet else logging.INFO
    try:
        # quiet: nor the workers' output (Ray's own warnings, a failed attempt's traceback)
        shown = {"logging_level": level, "log_to_driver": not quiet}
        if address is None:  # this machine's CPUs and GPUs, for this command only
            ray.init(include_dashboard=False, **shown)
        else:
            ray.init(address=address, **shown)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "start a local Ray instance" if address is None else f"reach Ray at {address}"
        raise LenetError(
            f"cannot {where}: {one_line(exc, 1)}; check --ray-address (a cluster starts with "
            "`ray start --head`), or leave it out for a local instance"
        ) from None


def task_error(exc: Exception) -> str:
    """A failed task's error as one line for runs.csv: the exception the task raised (not
    Ray's traceback around it), or what Ray says of a dead worker or node."""
    cause = getattr(exc, "cause", None)
    if cause is not None and not isinstance(cause, type(exc)):
        text = f"{type(cause).__name__}: {one_line(cause, 1)}"
    else:
        text = f"{type(exc).__name__}: {one_line(exc)}"
    return text[:ERROR_CHARACTERS]
