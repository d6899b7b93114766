"""Finding and reading the output folders a report is made from: which folders lenet wrote
(and which of them finished), their config.json, their CSV files, and what the training ones
trained (`Training`, and `results_frame`: the rows of results.csv).

Everything here reads; nothing writes. A folder that cannot be read as lenet wrote it is a
one-line LenetError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lenetcli.commands.course.folders import COURSE_RECORD
from lenetcli.config import ADDED_FIELDS, TrainConfig
from lenetcli.errors import LenetError, one_line
from lenetcli.outputs.files import read_csv, read_json, reads_as_text
from lenetcli.studies.results import checked_metrics, checked_runs, frame_results, trained_runs
from lenetcli.studies.summary import run_statistics

COMMANDS = ("train", "sweep", "noise", "confusion", "hardsamples")
LENET_COMMANDS = (*COMMANDS, "report")
TRAINING_COMMANDS = ("train", "sweep", "noise")
CONFIG_COLUMNS = [
    "epochs", "lr", "batch_size", "optimizer", "weight_decay", "loss", "activation", "pool",
    "train_subset", "test_subset",
]  # fmt: skip
# Options newer than the first release: a folder written before them ran at their defaults.
ADDED_COLUMNS = {name: getattr(TrainConfig(), name) for name in ADDED_FIELDS}
RESULT_COLUMNS = [
    "source", "command", "dataset", "setting", "noise_type", "noise_rate", *CONFIG_COLUMNS,
    *ADDED_COLUMNS, "n", "diverged", "final_train_acc_mean", "final_train_acc_std",
    "final_train_acc_clean_mean", "final_train_acc_clean_std",
    "final_val_acc_mean", "final_val_acc_std", "final_test_acc_mean",
    "final_test_acc_std", "final_test_acc_min", "final_test_acc_max", "final_test_acc_ci95",
    "best_test_acc_mean",
    "seconds_per_epoch", "device",
]  # fmt: skip
VALUES = ["train_acc", "test_acc", "seconds"]  # columns of metrics.csv the report reads
LOSSES = ["train_loss", "test_loss"]  # and of lenet train's, to tell a diverged run
FINALS = ["final_train_acc", "final_test_acc", "best_test_acc"]  # and of a study's runs.csv
WHAT = "give output folders of lenet train, sweep, noise, confusion or hardsamples"
REFUSED = "correct or delete that row, or leave the folder out"  # a damaged table's fix
FINISH_IT = "run it again (sweep and noise take --resume) or leave the folder out"
# The files each command writes once it has something to show; without them it did not finish.
FINISHED_FILES = {
    "train": ["metrics.csv"],
    "sweep": ["runs.csv", "metrics.csv"],
    "noise": ["runs.csv", "metrics.csv"],
    "confusion": ["confusion_counts.csv", "confused_pairs.csv", "per_class.csv"],
    "hardsamples": ["hard_samples.csv"],
}


# --------------------------------------------------------------------------- the folders


@dataclass(frozen=True)
class Source:
    """One output folder reported on: where it is, its short name, and its config.json."""

    folder: Path
    label: str
    record: dict

    @property
    def command(self) -> str:
        return self.record["command"]

    @property
    def device_name(self) -> str:
        return self.record.get("environment", {}).get("device_name", "")


def find_sources(folders: list[Path]) -> tuple[list[Source], dict[Path, str]]:
    """The folders as given, a folder of output folders expanded into them; each folder once,
    its config.json read once. Also: the folders left out of an expanded folder because their
    command did not finish, each with the reason (reports inside it are left out silently).
    A folder named itself that did not finish is an error."""
    found = {}  # resolved path -> (path as found, its config.json)
    unfinished = {}
    for folder in map(Path, folders):
        for path in output_folders(folder):
            try:
                record = read_record(path)
            except LenetError:
                if path == folder:
                    raise
                unfinished[path] = "its config.json cannot be read"
                continue
            if record["command"] == "report":
                if path == folder:
                    raise LenetError(
                        f"{folder} is a report itself; give the folders it was made from"
                    )
                continue  # a report inside a folder of runs is no run
            reason = unfinished_reason(path, record)
            if reason and path == folder:
                raise LenetError(f"{folder} is unfinished: {reason}; {FINISH_IT}")
            if reason:
                unfinished[path] = reason
            else:
                found.setdefault(path.resolve(), (path, record))
    paths = [path for path, _ in found.values()]
    sources = [
        Source(path, label, record)
        for (path, record), label in zip(found.values(), unique_labels(paths), strict=True)
    ]
    return sources, unfinished


def unfinished_reason(folder: Path, record: dict) -> str | None:
    """Why the command that wrote a folder did not finish (Ctrl-C, a crash), or None.

    An interrupted sweep or noise study that saved finished runs counts as finished: the
    report shows those runs."""
    if record.get("interrupted"):
        return f"lenet {record['command']} was interrupted {record['interrupted']}"
    missing = [name for name in FINISHED_FILES[record["command"]] if not (folder / name).is_file()]
    if missing:
        return f"{', '.join(missing)} missing"
    return None


def course_study_around(folder: Path) -> Path | None:
    """The course study's folder (lenet report --study) that folder lies in, if any: its
    confusion section's folders hold no config.json of a command."""
    for parent in [folder, *folder.resolve().parents][:4]:
        if (parent / COURSE_RECORD).is_file():
            return parent
    return None


def output_folders(folder: Path) -> list[Path]:
    """The folder itself if lenet wrote it; else the output folders inside it, at any depth
    (a folder such as runs/, or the per-dataset folders of `lenet confusion --dataset a,b`)."""
    if not folder.is_dir():
        raise LenetError(f"{folder} is not a folder; {WHAT}")
    if config_kind(folder) != "other":
        return [folder]
    inner = inner_output_folders(folder)
    if not inner and (study := course_study_around(folder)):
        raise LenetError(
            f"{folder} is part of the course study in {study}, whose report is "
            f"{study / 'report.md'} (lenet report --study [FILE] --out {study} writes it "
            f"again); {WHAT}"
        )
    if not inner and (folder / "config.json").is_file():
        raise LenetError(
            f'{folder / "config.json"} is not a record of a lenet command (no "command" of '
            f"{', '.join(LENET_COMMANDS)}), and {folder} holds no output folder of lenet; {WHAT}"
        )
    if not inner:
        raise LenetError(f"{folder} holds no output folder of lenet (no config.json of it); {WHAT}")
    return inner


def inner_output_folders(folder: Path) -> list[Path]:
    """The output folders below `folder`, in name order. The search does not enter them (a
    sweep's curves/ holds no run), nor hidden folders such as .git, nor links (as `find`
    does not: a link back up would loop); it does enter a folder with another program's
    config.json."""
    found = []
    children = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    for child in sorted(p for p in children if not p.name.startswith(".")):
        if config_kind(child) == "other":
            found += inner_output_folders(child)
        else:
            found.append(child)
    return found


def config_kind(folder: Path) -> str:
    """'lenet' (a config.json of a lenet command), 'damaged' (a config.json that is not even
    JSON: perhaps lenet's, so it is listed, not ignored) or 'other' (none, or another
    program's)."""
    path = folder / "config.json"
    if not path.is_file():
        return "other"
    try:
        record = read_json(path)
    except ValueError:
        return "damaged"
    is_lenet = isinstance(record, dict) and record.get("command") in LENET_COMMANDS
    return "lenet" if is_lenet else "other"


def unique_labels(paths: list[Path]) -> list[str]:
    """Folder names; where two share a name, as many parent folders as tell them apart. A
    label that a spreadsheet would read as a formula, number or date (a folder named =1+2,
    2025-01) starts with ./, as a path may, so that results.csv's source is text."""
    parts = [p.resolve().parts for p in paths]
    depth = [1] * len(paths)
    while True:
        labels = ["/".join(part[-d:]) for part, d in zip(parts, depth, strict=True)]
        shared = [i for i, label in enumerate(labels) if labels.count(label) > 1]
        if not shared:
            return [label if reads_as_text(label) else f"./{label}" for label in labels]
        for i in shared:
            depth[i] += 1


def read_record(folder: Path) -> dict:
    path = folder / "config.json"
    try:
        record = read_json(path)
    except ValueError as exc:
        raise LenetError(f"cannot read {path}: {one_line(exc, 1)}; {WHAT}") from None
    command = record.get("command") if isinstance(record, dict) else None
    if command not in LENET_COMMANDS:
        raise LenetError(
            f"{path} was not written by a lenet command that trains or studies; {WHAT}"
        )
    damaged = [
        key
        for key in ("options", "environment", "data")
        if not isinstance(record.get(key, {}), dict)
    ]
    if damaged:
        raise LenetError(
            f"{path} is damaged: its {', '.join(damaged)} is not as lenet writes it; {WHAT}"
        )
    return record


def read_table(source: Source, name: str, columns: list[str]) -> pd.DataFrame:
    """One CSV of a source folder with the columns the report reads, or a one-line error."""
    path = source.folder / name
    if not path.is_file():
        raise LenetError(
            f"{path} is missing: the {source.command} that wrote {source.folder} did not finish; "
            f"{FINISH_IT}"
        )
    try:
        table = read_csv(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LenetError(f"cannot read {path}: {one_line(exc, 1)}; leave the folder out") from None
    return require_columns(source, name, table, columns)


def require_columns(source: Source, name: str, table: pd.DataFrame, columns: list[str]):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise LenetError(
            f"{source.folder / name} has no column {', '.join(missing)}, so lenet "
            f"{source.command} did not write it as it is; write it again or leave the folder out"
        )
    return table


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Training:
    """What a train, sweep or noise folder trained: final values per run, metrics per epoch.

    Both frames have `dataset` and `setting` columns (the setting is empty for `lenet train`).
    """

    runs: pd.DataFrame
    metrics: pd.DataFrame
    planned: int = 0  # runs a sweep or noise study planned; more than len(runs) if interrupted


def read_training(source: Source) -> Training:
    if source.command == "train":
        metrics = read_table(source, "metrics.csv", ["seed", "epoch", *VALUES, *LOSSES])
        metrics = checked_metrics(metrics, source.folder / "metrics.csv", REFUSED)
        options = source.record.get("options", {})
        metrics = metrics.assign(dataset=options.get("dataset", ""), setting="")
        values = ["train_acc", *(["val_acc"] if "val_acc" in metrics else []), "test_acc"]
        runs = pd.DataFrame(
            [
                {"seed": seed, **frame_results(rows, values)}
                for seed, rows in metrics.groupby("seed")
            ]
        )  # one computation of a run's results, as runs.csv's (studies/results.py)
        runs = runs.assign(dataset=options.get("dataset", ""), setting="")
        runs = runs.assign(**{c: options.get(c) for c in CONFIG_COLUMNS})
        runs = with_added_columns(
            runs.assign(**{c: options[c] for c in ADDED_COLUMNS if c in options})
        )
        return Training(runs, metrics)
    study_columns = ["dataset", "setting", "seed", "run_key"]
    runs = read_table(source, "runs.csv", [*study_columns, "status", *CONFIG_COLUMNS, *FINALS])
    metrics = read_table(source, "metrics.csv", [*study_columns, "epoch", *VALUES])
    runs = checked_runs(runs, source.folder / "runs.csv", REFUSED)
    metrics = checked_metrics(metrics, source.folder / "metrics.csv", REFUSED, empty_ok=True)
    planned = len(runs)
    runs = with_added_columns(trained_runs(runs))
    metrics = metrics[metrics["run_key"].isin(runs["run_key"])]
    # A setting named 1, 2, ... is still a name
    return Training(runs.astype({"setting": str}), metrics.astype({"setting": str}), planned)


def with_added_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """runs with the options newer than the first release at their default where a folder
    predates them, and the final values that only some folders have (empty elsewhere)."""
    missing = {c: v for c, v in ADDED_COLUMNS.items() if c not in runs}
    for column in ("final_train_acc_clean", "final_val_acc"):  # noise studies, --val-split
        if column not in runs:
            missing[column] = np.nan
    return runs.assign(**missing)


def pending_runs(training: Training | None) -> int:
    """Runs of an interrupted sweep or noise study that are not trained yet."""
    return 0 if training is None or not training.planned else training.planned - len(training.runs)


def results_frame(source: Source, training: Training) -> pd.DataFrame:
    """One row per dataset and setting: the columns of results.csv (docs/outputs.md)."""
    runs, keys = training.runs, ["dataset", "setting"]
    grouped = runs.groupby(keys, sort=False)
    frame = grouped[[*CONFIG_COLUMNS, *ADDED_COLUMNS]].first()
    frame["noise_type"] = grouped["noise_type"].first() if "noise_type" in runs else None
    # numeric even where no row has a rate, so that the CSV writes 0 as 0, not 0.0
    rate = grouped["noise_rate"].first() if "noise_rate" in runs else None
    frame["noise_rate"] = pd.to_numeric(rate, errors="coerce")
    finals = ["final_train_acc", "final_train_acc_clean", "final_val_acc", "final_test_acc"]
    frame = frame.join(run_statistics(grouped, finals))
    frame["best_test_acc_mean"] = grouped["best_test_acc"].mean()
    frame["seconds_per_epoch"] = training.metrics.groupby(keys)["seconds"].mean()
    frame = frame.reset_index()
    frame["source"], frame["command"] = source.label, source.command
    frame["device"] = source.device_name
    return frame[RESULT_COLUMNS]
