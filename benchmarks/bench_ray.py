"""A small digits sweep timed on the local backend and on a local Ray instance, in one process.

    python benchmarks/bench_ray.py [--cpus 2] [--lrs 0.001,0.002,0.003,0.004] [--repeats 3]
                                   [--epochs 5]

The same sweep (`--group-by setting`: one job per setting, its repeats trained as one group)
runs three ways, one after the other, each into its own folder:

- local, 1 thread: the jobs one after another in this process, torch.set_num_threads(1).
- local, N threads: the same with N = --cpus threads.
- ray, N x 1 CPU: a local Ray instance of --cpus CPUs, one task of 1 CPU (1 thread) per job,
  N tasks at a time. Its runs.csv and metrics.csv must equal the 1-thread local run's but
  for the seconds (checked). Starting the instance is timed apart.

Each time is the whole `execute`: training, then runs.csv, metrics.csv, models, summary and
figures (the figures alone take seconds). This is a benchmark, not a test: compare times
within one run, and note the machine's load (printed: the 1-minute load average).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from lenetcli.commands.sweep import sweep_plan
from lenetcli.config import RunOptions
from lenetcli.outputs.files import read_csv
from lenetcli.studies.ledger import Ledger
from lenetcli.studies.plan import device_caps, plan_jobs
from lenetcli.studies.session import execute
from lenetcli.studies.study import Study


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def same_runs(ours: Path, theirs: Path) -> bool:
    for name in ("runs.csv", "metrics.csv"):
        a, b = read_csv(ours / name), read_csv(theirs / name)
        if not a.drop(columns="seconds").equals(b.drop(columns="seconds")):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--lrs", default="0.001,0.002,0.003,0.004")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    import ray

    from lenetcli.studies.ray_executor import executor_factory

    texts = {"dataset": "digits", "lr": args.lrs, "repeats": str(args.repeats),
             "epochs": str(args.epochs)}  # fmt: skip
    # --group-by setting: one job per setting, so that there are jobs to spread over tasks
    # (by shape, settings differing in lr alone would train as one group of up to 10)
    options = RunOptions(quiet=True, device="cpu", group_by="setting")
    study = Study("sweep", sweep_plan(texts, None).settings(), options)  # lenet sweep's
    caps = device_caps(torch.device("cpu"), options.group_size)
    jobs = plan_jobs(study, Ledger(study).pending(), caps, options.group_by)  # as execute's
    print(f"digits sweep: {len(study.settings)} settings x {args.repeats} repeats x "
          f"{args.epochs} epochs ({len(jobs)} jobs of {', '.join(str(len(j.runs)) for j in jobs)} "
          f"runs); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        times = {}
        torch.set_num_threads(1)
        times["local, 1 thread"] = timed(lambda: execute(study, root / "local1"))
        torch.set_num_threads(args.cpus)
        times[f"local, {args.cpus} threads"] = timed(lambda: execute(study, root / "localN"))
        torch.set_num_threads(1)
        start = timed(lambda: ray.init(num_cpus=args.cpus, include_dashboard=False))
        try:
            times[f"ray, {args.cpus} x 1 CPU"] = timed(
                lambda: execute(study, root / "ray", executor=executor_factory())
            )
        finally:
            ray.shutdown()
        equal = same_runs(root / "ray", root / "local1")
        model_epochs = sum(job.model_epochs for job in jobs)
        rows = [
            {"backend": name, "seconds": round(s, 1), "vs local 1 thread": round(s / first, 2)}
            for first in [times["local, 1 thread"]]
            for name, s in times.items()
        ]
        print(pd.DataFrame(rows).to_string(index=False))
        print(f"{model_epochs} model-epochs; Ray instance started in {start:.1f} s (not above)")
        print(f"ray's runs.csv and metrics.csv equal local 1 thread's but the seconds: {equal}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
