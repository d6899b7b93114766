"""The Ray executor (studies/ray_executor.py) on a local Ray instance of 2 CPUs: a sweep and a
noise study write the local backend's runs.csv and metrics.csv (all but the seconds); a task
whose worker is killed is retried, one killed again (or raising twice) has its runs marked
failed while the others go on, and --resume trains them; Ctrl-C cancels the tasks still out.

One Ray instance serves the module (starting one takes 5 to 25 s on this machine). Tasks get
1 CPU each, so they train with one thread, as the local runs do (conftest's one_thread)."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch

from lenetcli.commands.noise import noise_study
from lenetcli.commands.sweep import sweep_plan
from lenetcli.config import RunOptions, TrainConfig
from lenetcli.errors import Interrupted, LenetError
from lenetcli.outputs.files import read_csv
from lenetcli.outputs.progress import StudyReporter
from lenetcli.science.noise import noise_settings
from lenetcli.studies import ray_executor
from lenetcli.studies.ray_executor import RayConfig, check_config, executor_factory, task_error
from lenetcli.studies.session import execute
from lenetcli.studies.study import Labels, Setting, Study

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install 'lenetcli[ray]'; .ci/run installs it)",
)

QUIET = RunOptions(quiet=True, device="cpu")
SWEEP = {"dataset": "digits", "lr": "0.001,0.004", "epochs": "2", "repeats": "3",
         "train_subset": "200", "test_subset": "100"}  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray")
    # The tests' own hooks (below) travel to the workers by value: tests/ is not a package
    # the workers could import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def assert_same_study(ours: Path, theirs: Path) -> None:
    for name in ("runs.csv", "metrics.csv"):
        pd.testing.assert_frame_equal(
            read_csv(ours / name).drop(columns="seconds"),
            read_csv(theirs / name).drop(columns="seconds"),
        )


# --------------------------------------------------------------------------- the same numbers


def sweep(options: RunOptions) -> Study:
    """lenet sweep's study of SWEEP's lists (commands/sweep.py)."""
    return Study("sweep", sweep_plan(SWEEP, None).settings(), options)


@needs_ray
def test_a_sweep_on_ray_equals_the_local_one(cluster, tmp_path):
    options = RunOptions(quiet=True, device="cpu", group_size=2)  # 2 jobs per setting
    execute(sweep(options), tmp_path / "local")
    execute(sweep(options), tmp_path / "ray", executor=executor_factory())
    assert_same_study(tmp_path / "ray", tmp_path / "local")
    runs = read_csv(tmp_path / "ray" / "runs.csv")
    assert len(runs) == 6 and set(runs["status"]) == {"finished"}
    assert len(list((tmp_path / "ray" / "models").rglob("seed-*.pt"))) == 6
    assert (tmp_path / "ray" / "summary.csv").is_file()


@needs_ray
def test_a_noise_study_with_workers_reading_the_data_equals_the_local_one(cluster, tmp_path):
    config = TrainConfig(dataset="digits", epochs=1, batch_size=100, repeats=2,
                         train_subset=200, test_subset=100)  # fmt: skip
    noise = noise_settings(10, ["symmetric", "pair"], [0.0, 0.4])  # lenet noise's settings

    def study() -> Study:  # noise seeds 7 and 8, as with lenet noise --noise-seed 7
        return noise_study(config, noise, 7, QUIET, {})

    execute(study(), tmp_path / "local")
    execute(study(), tmp_path / "ray", executor=executor_factory(data_from="workers"))
    assert_same_study(tmp_path / "ray", tmp_path / "local")
    runs = read_csv(tmp_path / "ray" / "runs.csv")
    assert len(runs) == 6 and runs["noise_seed"].tolist() == [7, 8] * 3
    assert (tmp_path / "ray" / "transition-pair-0.4.csv").is_file()


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Saboteur:
    """Study.labels that sabotage the tasks of some settings, on the worker: `kills[name]`
    attempts write their worker's pid to folder and wait to be killed; settings in `raises`
    raise. Every attempt leaves a file, so the test counts them."""

    folder: Path
    kills: dict
    raises: tuple = ()

    def __call__(self, setting: Setting, seed: int, data) -> Labels:
        attempt = len(list(self.folder.glob(f"{setting.name}-*")))
        mark = self.folder / f"{setting.name}-{attempt}"
        if setting.name in self.raises:
            mark.touch()
            raise RuntimeError("sabotaged")
        if attempt < self.kills.get(setting.name, 0):
            temporary = mark.with_suffix(".tmp")
            temporary.write_text(str(os.getpid()))
            temporary.rename(mark.with_suffix(".pid"))  # whole, when the killer reads it
            time.sleep(120)  # killed long before
        return Labels()


class Killer(threading.Thread):
    """Kills the process whose pid each new *.pid file in folder holds."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder, self.stop, self.killed = folder, threading.Event(), []

    def run(self):
        while not self.stop.wait(0.05):
            for path in sorted(self.folder.glob("*.pid")):
                if path.name not in {name for name, _ in self.killed}:
                    pid = int(path.read_text())
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append((path.name, pid))


def four_settings(labels=None) -> Study:
    # Batch sizes of their own: each setting is one job, whether the plan groups runs by
    # setting or by shape (settings that differ in lr alone may train as one group).
    settings = [
        Setting(name, TrainConfig(dataset="digits", batch_size=batch, epochs=1,
                                  train_subset=200, test_subset=100))
        for name, batch in (("calm", 100), ("killed-once", 50), ("killed-twice", 40),
                            ("raises", 25))
    ]  # fmt: skip
    return Study("sweep", settings, QUIET, **({"labels": labels} if labels else {}))


@needs_ray
def test_a_killed_task_is_retried_then_failed_and_resume_trains_it(cluster, tmp_path, capsys):
    marks = tmp_path / "marks"
    marks.mkdir()
    saboteur = Saboteur(marks, {"killed-once": 1, "killed-twice": 2}, ("raises",))
    killer = Killer(marks)
    killer.start()
    try:
        out = tmp_path / "ray"
        execute(four_settings(saboteur), out, executor=executor_factory())
    finally:
        killer.stop.set()
    assert sorted(name for name, _ in killer.killed) == [
        "killed-once-0.pid", "killed-twice-0.pid", "killed-twice-1.pid",
    ]  # fmt: skip
    assert len(list(marks.glob("raises-*"))) == 2  # tried, and retried once
    runs = read_csv(out / "runs.csv").set_index("setting")
    assert runs["status"].to_dict() == {
        "calm": "finished", "killed-once": "finished", "killed-twice": "failed",
        "raises": "failed",
    }  # fmt: skip
    assert runs.at["raises", "error"] == "RuntimeError: sabotaged"
    assert runs.at["killed-twice", "error"].startswith("WorkerCrashedError: The worker died")
    assert pd.isna(runs.at["calm", "error"]) and pd.isna(runs.at["killed-twice", "final_test_acc"])
    assert set(read_csv(out / "metrics.csv")["setting"]) == {"calm", "killed-once"}
    assert "2 run(s) failed" in " ".join(capsys.readouterr().err.split())

    kept = read_csv(out / "metrics.csv")
    execute(four_settings(), out, resume=True, executor=executor_factory())
    runs = read_csv(out / "runs.csv")
    assert set(runs["status"]) == {"finished"} and "error" not in runs.columns
    metrics = read_csv(out / "metrics.csv")
    assert list(metrics["setting"]) == ["calm", "killed-once", "killed-twice", "raises"]
    resumed = metrics[metrics["setting"].isin(kept["setting"])]
    # kept as they were (a column of whole numbers alone reads back as integers)
    pd.testing.assert_frame_equal(resumed, kept, check_dtype=False)


@needs_ray
def test_ctrl_c_cancels_the_tasks_still_out_and_keeps_the_finished_runs(cluster, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    # killed-twice's task hangs (nothing kills it here) on one CPU, the others train on the other
    saboteur = Saboteur(marks, {"killed-twice": 1})
    out = tmp_path / "ray"

    def interrupt_once_the_others_have_finished():
        while not finished(out, 3) or not list(marks.glob("*.pid")):
            time.sleep(0.05)
        time.sleep(1)  # the driver is done saving, and waits on the hanging task
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, in the main thread

    threading.Thread(target=interrupt_once_the_others_have_finished, daemon=True).start()
    with pytest.raises(Interrupted, match="3 of 4 runs are finished and saved"):
        execute(four_settings(saboteur), out, executor=executor_factory())
    statuses = read_csv(out / "runs.csv").set_index("setting")["status"].to_dict()
    assert statuses == {"calm": "finished", "killed-once": "finished",
                        "killed-twice": "pending", "raises": "finished"}  # fmt: skip
    [pid] = [int(path.read_text()) for path in marks.glob("*.pid")]
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)  # cancelled: the hanging task's worker is gone, not left to sleep
    assert len(list(marks.glob("killed-twice-*"))) == 1  # and not retried


def finished(out: Path, count: int) -> bool:
    try:
        return (read_csv(out / "runs.csv")["status"] == "finished").sum() >= count
    except (OSError, KeyError, pd.errors.EmptyDataError):
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RayConfig(address="head-node"), "--ray-address 'head-node' is not a Ray address"),
        (RayConfig(address="ray://10.0.0.5"), "is not a Ray address"),
        (RayConfig(task_cpus=0), "--task-cpus must be a positive number"),
        (RayConfig(task_gpus=float("nan")), "--task-gpus must be a positive number"),
        (RayConfig(task_gpus=1.5), "a fraction of one GPU (e.g. 0.25) or a whole number"),
    ],
)
def test_bad_ray_options_are_one_line_errors(config, message):
    with pytest.raises(LenetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_config(config)


@pytest.mark.parametrize("address", [None, "auto", "10.0.0.5:6379", "ray://head.lab:10001"])
def test_ray_addresses_are_taken(address):
    check_config(RayConfig(address=address))


def test_without_ray_the_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(LenetError, match=r"needs Ray, which is not installed; pip install 'lenetcli\[ray\]'"):  # fmt: skip
        executor_factory()


@needs_ray
def test_task_gpus_on_a_study_without_a_gpu_is_refused():
    make = executor_factory(task_gpus=0.5)
    with pytest.raises(LenetError, match="--task-gpus 0.5 needs a study trained on a GPU"):
        make(four_settings(), {}, torch.device("cpu"), StudyReporter())


@needs_ray
def test_task_gpus_on_the_cpu_is_refused_before_anything_is_written(tmp_path):
    from typer.testing import CliRunner

    from lenetcli.cli import app

    out = tmp_path / "out"
    args = ["sweep", "--dataset", "digits", "--epochs", "1", "--device", "cpu", "--backend",
            "ray", "--task-gpus", "0.5", "--out", str(out)]  # fmt: skip
    for extra in ([], ["--dry-run"]):
        result = CliRunner().invoke(app, [*args, *extra])
        assert result.exit_code == 2, result.output
        assert "--task-gpus 0.5 needs a study trained on a GPU" in result.output
        assert not out.exists()
    study = ["report", "--study", "--profile", "quick", "--device", "cpu", "--backend", "ray",
             "--task-gpus", "0.5", "--out", str(out)]  # fmt: skip
    for extra in ([], ["--dry-run"]):  # the course study's sections are such studies
        result = CliRunner().invoke(app, [*study, *extra])
        assert result.exit_code == 2, result.output
        assert "--task-gpus 0.5 needs a study trained on a GPU" in result.output
        assert not out.exists()


@needs_ray
def test_tasks_no_node_can_run_are_refused(cluster, tmp_path):
    with pytest.raises(LenetError, match=r"no node of the Ray cluster has the 3 CPU\(s\)"):
        execute(four_settings(), tmp_path / "out", executor=executor_factory(task_cpus=3))


def test_a_failed_tasks_error_is_one_line_of_what_it_raised():
    class Wrapped(Exception):  # as ray.exceptions.RayTaskError holds the task's exception
        cause = ValueError("bad value\nsecond line")

    assert task_error(Wrapped("Traceback ...")) == "ValueError: bad value"
    assert task_error(OSError("the worker\n died")) == "OSError: the worker died"
    assert len(task_error(OSError("x" * 2000))) == ray_executor.ERROR_CHARACTERS


@needs_ray
def test_the_command_line_backend_option_trains_on_ray(cluster, tmp_path):
    from typer.testing import CliRunner

    from lenetcli.cli import app

    args = ["sweep", *(f"--{k.replace('_', '-')}={v}" for k, v in SWEEP.items()), "-q",
            "--device", "cpu", "--group-size", "2"]  # fmt: skip
    local = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "local")])
    remote = CliRunner().invoke(
        app, [*args, "--backend", "ray", "--task-cpus", "1", "--out", str(tmp_path / "ray")]
    )
    assert (local.exit_code, remote.exit_code) == (0, 0), remote.output
    assert_same_study(tmp_path / "ray", tmp_path / "local")
    import json

    record = json.loads((tmp_path / "ray" / "config.json").read_text())["options"]
    assert (record["backend"], record["task_cpus"], record["ray_data"]) == ("ray", 1.0, "driver")


def test_an_unknown_backend_is_a_one_line_error(tmp_path):
    from typer.testing import CliRunner

    from lenetcli.cli import app

    result = CliRunner().invoke(
        app, ["sweep", "--dataset", "digits", "--backend", "slurm", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "unknown --backend 'slurm'; choose one of: local, ray" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()
