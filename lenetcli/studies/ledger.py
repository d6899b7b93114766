"""The ledger of a study: every run in plan order, its status and results, and its metrics.

runs.csv and metrics.csv are written from here; on --resume they are read back into it, the
models of kept runs are moved to their settings' present names, and the earlier sessions that
trained them stay on record (config.json's earlier_sessions).
"""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path

import pandas as pd
import torch

from lenetcli.config import HYPERPARAMETERS
from lenetcli.errors import LenetError
from lenetcli.outputs.checkpoint import make_checkpoint
from lenetcli.outputs.files import (
    as_written,
    read_config,
    read_csv,
    save_checkpoint,
    write_csv,
)
from lenetcli.science.data import Dataset
from lenetcli.studies.plan import Job, Run
from lenetcli.studies.results import (
    FAILED,
    METRIC_COLUMNS,
    PENDING,
    TRAINED,
    VALIDATION_BEST,
    checked_metrics,
    checked_runs,
    result_columns,
    run_results,
    trained_runs,
)
from lenetcli.studies.study import RunOutcome, Setting, Study, legacy_run_key, run_key


class Ledger:
    """Every run of the study in plan order: its plan, its results once trained, its metrics.

    runs.csv and metrics.csv are written from here (`save`); on resume they are read back into
    it (`restore`). Callers ask it what is pending and tell it what finished (`record`).
    """

    def __init__(self, study: Study):
        self.study = study
        self.runs: list[Run] = []  # plan order: settings in order, each one's seeds in order
        self.rows: dict[str, dict] = {}  # run_key -> runs.csv row
        self.saved = 0  # trained runs that runs.csv lists as such (after the last save)
        self.metrics: dict[str, pd.DataFrame] = {}  # run_key -> that run's metrics.csv rows
        self.restored_names: dict[str, str] = {}  # run_key -> its setting's name when trained
        self.legacy: dict[str, str] = {}  # a key as lenet 0.1 wrote it -> the run's key now
        for index, setting in enumerate(study.settings):
            for seed in setting.config.seeds:
                key = run_key(setting.config, seed, setting.identity)
                self.runs.append(Run(index, seed, key))
                self.rows[key] = self.plan_row(setting, seed, key)
                if (old := legacy_run_key(setting.config, seed, setting.identity)) != key:
                    self.legacy[old] = key

    @property
    def total(self) -> int:
        return len(self.runs)

    def pending(self) -> list[Run]:
        """The runs not trained yet, in plan order."""
        return [run for run in self.runs if self.rows[run.key]["status"] == PENDING]

    def setting_of(self, key: str) -> Setting:
        return self.study.settings[next(run.setting for run in self.runs if run.key == key)]

    def result_columns(self) -> list[str]:
        """runs.csv's columns after the plan's: run columns, results (results.run_results)."""
        validated = "val_acc" in self.study.values
        return [*self.study.run_columns, *result_columns(self.study.values, validated)]

    def expected_columns(self, setting: Setting) -> list[str]:
        """The result columns a finished run of setting has a value in, beyond the study's own
        run columns: no validation ones for a setting without validation images (in a study
        where others have them)."""
        validated = bool(setting.config.val_split)
        own = self.result_columns()[len(self.study.run_columns) :]  # run columns may be empty
        return [c for c in own if validated or c not in ("final_val_acc", *VALIDATION_BEST)]

    def whole_metrics(self, setting: Setting, rows: pd.DataFrame) -> bool:
        """Whether a run's metric rows hold every value the study summarises (train_acc_clean
        in a noise study; val_acc where the setting has validation images) in every epoch:
        checked_metrics lets those columns be empty, since some runs lack them."""
        validated = bool(setting.config.val_split)
        own = [v for v in self.study.values if validated or not v.startswith("val_")]
        return all(v in rows.columns and rows[v].notna().all() for v in own)

    def plan_row(self, setting: Setting, seed: int, key: str) -> dict:
        config = setting.config.to_dict()
        row = {"setting": setting.name, "dataset": setting.config.dataset}
        row |= {c: setting.columns.get(c) for c in self.study.setting_columns}
        row |= {h: config[h] for h in HYPERPARAMETERS}
        row["seed"] = seed
        row |= {c: None for c in self.result_columns()}
        row |= {"status": PENDING, "run_key": key}
        return row

    def count(self, statuses=TRAINED) -> int:
        return sum(row["status"] in statuses for row in self.rows.values())

    def record(self, job: Job, outcomes: list[RunOutcome]) -> None:
        """Store the results of one job's freshly trained runs (outcomes in the job's order)."""
        for run, outcome in zip(job.runs, outcomes, strict=True):
            setting = self.study.settings[run.setting]
            metrics = [{k: as_written(v) for k, v in row.items()} for row in outcome.result.metrics]
            row = self.rows[run.key]
            row.pop("error", None)
            row |= {c: as_written(outcome.columns.get(c)) for c in self.study.run_columns}
            row |= run_results(metrics, list(self.study.values))
            frame = pd.DataFrame(metrics)
            extra = [c for c in frame.columns if c not in METRIC_COLUMNS]
            self.metrics[run.key] = self.label_metrics(
                setting, run.key, frame[METRIC_COLUMNS + extra]
            )

    def fail(self, job: Job, message: str) -> None:
        """Mark one job's runs failed, with the error, in runs.csv's last column ('error', there
        only while some run has failed). They have no results and no metrics; --resume trains
        them again, as it does pending ones."""
        for run in job.runs:
            self.rows[run.key] |= {"status": FAILED, "error": message}

    def label_metrics(self, setting: Setting, key: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A run's metric rows with the setting's identity in front and its key at the end."""
        identity = {"setting": setting.name, "dataset": setting.config.dataset}
        identity |= {c: setting.columns.get(c) for c in self.study.setting_columns}
        body = frame.drop(columns=[c for c in [*identity, "run_key"] if c in frame.columns])
        labelled = pd.DataFrame({c: [v] * len(body) for c, v in identity.items()})
        labelled = pd.concat([labelled, body.reset_index(drop=True)], axis=1)
        labelled["run_key"] = key
        return labelled

    def runs_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows.values()))

    def metrics_frame(self) -> pd.DataFrame:
        frames = [self.metrics[key] for key in self.rows if key in self.metrics]
        if not frames:
            return pd.DataFrame(columns=["setting", "dataset", *METRIC_COLUMNS, "run_key"])
        # run_key last, even where the first run lacks a column a later one has (val_acc)
        frame = pd.concat(frames, ignore_index=True)
        return frame[[*frame.columns.drop("run_key"), "run_key"]]

    def save(self, out: Path) -> None:
        # metrics first: runs.csv says what finished, so a run is never listed without its rows
        write_csv(out / "metrics.csv", self.metrics_frame())
        write_csv(out / "runs.csv", self.runs_frame())
        self.saved = self.count()

    def restore(self, out: Path) -> int:
        """Take back the finished runs of a previous study in out; return how many."""
        runs_path, metrics_path = out / "runs.csv", out / "metrics.csv"
        if not runs_path.is_file():
            return 0
        previous = read_study_csv(runs_path, ["run_key", "status", "setting", "seed"])
        previous = checked_runs(previous, runs_path, FIX_IT)
        if not metrics_path.is_file():
            return 0
        metrics = read_study_csv(metrics_path, ["run_key", *METRIC_COLUMNS])
        metrics = checked_metrics(metrics, metrics_path, FIX_IT, empty_ok=True)
        # keys lenet 0.1 wrote that a spreadsheet would take for numbers: the run's key now
        previous["run_key"] = previous["run_key"].replace(self.legacy)
        metrics["run_key"] = metrics["run_key"].replace(self.legacy)
        trained = trained_runs(previous)
        unknown = trained[~trained["run_key"].isin(self.rows)]
        if len(unknown):
            first = unknown.iloc[0]
            raise LenetError(
                f"cannot resume in {out}: its runs.csv holds {len(unknown)} finished run(s) that "
                f"this lenet {self.study.command} does not include (e.g. setting "
                f"'{first['setting']}', seed {first['seed']}): resume with the options they were "
                f"trained with (see config.json), or start over with --overwrite or another --out"
            )
        restored = 0
        for _, old in trained.iterrows():
            key = old["run_key"]
            setting = self.setting_of(key)
            rows = metrics[metrics["run_key"] == key].sort_values("epoch")
            results = [old.get(c) for c in self.expected_columns(setting)]
            if (
                len(rows) != setting.config.epochs
                or any(pd.isna(v) for v in results)
                or not self.whole_metrics(setting, rows)
            ):
                continue  # damaged or partly written: train it again
            row = self.rows[key]
            for column in [*self.result_columns(), "status"]:
                value = old.get(column)
                row[column] = None if pd.isna(value) else value
            for epoch in ("best_epoch", "best_val_epoch"):
                if row.get(epoch) is not None:
                    row[epoch] = int(row[epoch])
            self.metrics[key] = self.label_metrics(setting, key, rows)
            self.restored_names[key] = str(old["setting"])
            restored += 1
        return restored


FIX_IT = "correct or delete that row (a deleted run is trained again), or start over with --overwrite or another --out"


def read_study_csv(path: Path, required: list[str]) -> pd.DataFrame:
    try:
        frame = read_csv(path)  # a key of digits only stays text, and so does a name "NA"
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise LenetError(
            f"cannot resume from {path}: {' '.join(str(exc).split())}; start over with --overwrite or another --out"
        ) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise LenetError(
            f"cannot resume from {path}: no column '{missing[0]}' (not a study's file); start over with --overwrite or another --out"
        )
    return frame


def save_models(out: Path, setting: Setting, data: Dataset, outcomes: list[RunOutcome]) -> None:
    """models/<dataset>-<setting>/seed-<S>.pt: every run's model, for lenet confusion and
    hardsamples (--checkpoint)."""
    for outcome in outcomes:
        checkpoint = make_checkpoint(outcome.result, setting.config, data, setting.about)
        save_checkpoint(
            out / "models" / setting.stem / f"seed-{outcome.result.seed}.pt", checkpoint
        )


def rename_restored_models(out: Path, ledger: Ledger) -> int:
    """Put the models of the runs kept by --resume where their settings' present names say
    (a setting may have been renamed, or named anew as the grid grew); return how many kept
    runs have no model (trained by a lenet that kept none, or deleted)."""
    moves, unmoved = [], []  # unmoved: where a kept run's model is, if anywhere, already
    for key, old_name in ledger.restored_names.items():
        setting, seed = ledger.setting_of(key), int(ledger.rows[key]["seed"])
        old = out / "models" / f"{setting.config.dataset}-{old_name}" / f"seed-{seed}.pt"
        new = out / "models" / setting.stem / f"seed-{seed}.pt"
        checkpoint = None if old == new else read_model(old)
        if checkpoint is None:  # in place, or moved by a session stopped before runs.csv said so
            unmoved.append(new)
            continue
        checkpoint["setting"] = setting.about
        moves.append((old, new, checkpoint))
    written = {new for _, new, _ in moves}
    deleted = {old for old, _, _ in moves} - written
    # All read before any is written: two settings may have swapped names.
    for _, new, checkpoint in moves:
        save_checkpoint(new, checkpoint)
    for old in deleted:
        old.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            old.parent.rmdir()  # when it held no other model
    return sum(new in deleted or not new.is_file() for new in unmoved)


def read_model(path: Path) -> dict | None:
    try:
        return torch.load(path, weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError):
        return None


def earlier_sessions(out: Path) -> list[dict]:
    """When, how and where the sessions before this --resume ran, from out's config.json."""
    previous = read_config(out)
    if previous is None:
        return []
    session = {k: previous.get(k) for k in ("argv", "started_utc", "environment")}
    settings = (previous.get("options") or {}).get("settings")
    if isinstance(settings, list):  # which seeds trained together then, on which dataset
        session["groups"] = [
            {"setting": s["name"], "dataset": s.get("dataset"), "groups": s.get("groups")}
            for s in settings
            if isinstance(s, dict) and "name" in s
        ]
    jobs = (previous.get("options") or {}).get("jobs")
    if isinstance(jobs, list):  # and which settings' runs shared a job (its seconds)
        session["jobs"] = jobs
    earlier = previous.get("earlier_sessions")
    return [*(earlier if isinstance(earlier, list) else []), session]


def resume_folder(study: Study, out: Path, ledger: Ledger) -> int:
    """Check that out holds this kind of study and restore its finished runs. A folder that
    does not exist, or is empty, is refused: --resume into a mistyped --out would otherwise
    train the whole study there, quietly, as a first session."""
    if out.exists() and not out.is_dir():
        raise LenetError(f"output folder {out} is a file; choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        state = "is empty" if out.is_dir() else "does not exist"
        raise LenetError(
            f"--resume continues the lenet {study.command} in --out, and {out} {state}; check "
            "the path, or leave out --resume to start the study there"
        )
    record = read_config(out)
    if record is None:
        raise LenetError(
            f"cannot resume in {out}: it holds no readable config.json of lenet {study.command}; choose the folder of the lenet {study.command} to continue, or another --out"
        )
    command = record.get("command")
    if command != study.command:
        raise LenetError(
            f"cannot resume in {out}: it holds the output of `lenet {command}`, not of lenet {study.command}; choose another --out"
        )
    return ledger.restore(out)
