"""`lenet report`: the output folders of the other commands, gathered into one document.

For every folder given (written by train, sweep, noise, confusion or hardsamples) the report
shows what ran (command line, options, data, device, versions) and what came out (its tables
and figures), after a summary that puts every trained configuration side by side:

    results.csv   one row per trained configuration (dataset and setting) of every folder
    compare.png   mean test accuracy per epoch of those configurations, a panel per dataset
    report.md     the document in Markdown; its images are the copies in figures/
    report.html   the same document as one self-contained page (images embedded)
    figures/      copies of the figures the document shows
    results.json  every trained run and configuration of those folders, for scripts
    config.json   the folders reported on, and how the report was made

The report reads files only: it trains nothing and needs no dataset. Everything is read and
checked in `gather`, before the first file is written.
"""

from __future__ import annotations

import base64
import html
import json
import shlex
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from rich.markup import escape

from lenetcli import __version__
from lenetcli.config import ADDED_FIELDS, TrainConfig
from lenetcli.errors import LenetError, one_line
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    default_folder,
    in_use,
    read_csv,
    save_figure,
    write_atomic,
    write_csv,
    write_json,
    write_text,
)
from lenetcli.outputs.plots import comparison_figure
from lenetcli.outputs.progress import results_table, stdout_console
from lenetcli.outputs.results_json import print_results, results_document, write_results
from lenetcli.outputs.tables import count_text, fmt, markdown_table, plain, plural
from lenetcli.science.data import DATASETS
from lenetcli.studies.summary import best_by, best_mask, run_statistics

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
PAIR_GALLERIES = 3  # galleries of confused pairs shown per hardsamples folder
WHAT = "give output folders of lenet train, sweep, noise, confusion or hardsamples"
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


def output_folders(folder: Path) -> list[Path]:
    """The folder itself if lenet wrote it; else the output folders inside it, at any depth
    (a folder such as runs/, or the per-dataset folders of `lenet confusion --dataset a,b`)."""
    if not folder.is_dir():
        raise LenetError(f"{folder} is not a folder; {WHAT}")
    if config_kind(folder) != "other":
        return [folder]
    inner = inner_output_folders(folder)
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
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return "damaged"
    is_lenet = isinstance(record, dict) and record.get("command") in LENET_COMMANDS
    return "lenet" if is_lenet else "other"


def unique_labels(paths: list[Path]) -> list[str]:
    """Folder names; where two share a name, as many parent folders as tell them apart."""
    parts = [p.resolve().parts for p in paths]
    depth = [1] * len(paths)
    while True:
        labels = ["/".join(part[-d:]) for part, d in zip(parts, depth, strict=True)]
        shared = [i for i, label in enumerate(labels) if labels.count(label) > 1]
        if not shared:
            return labels
        for i in shared:
            depth[i] += 1


def read_record(folder: Path) -> dict:
    path = folder / "config.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
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
        options = source.record.get("options", {})
        metrics = metrics.assign(dataset=options.get("dataset", ""), setting="")
        last = metrics.sort_values("epoch").groupby("seed", sort=False).tail(1)
        best = metrics.loc[
            metrics.groupby("seed")["test_acc"].idxmax(), ["seed", "epoch", "test_acc"]
        ]
        best = best.rename(columns={"epoch": "best_epoch", "test_acc": "best_test_acc"})
        runs = last.rename(columns={"train_acc": "final_train_acc", "test_acc": "final_test_acc"})
        runs = runs.rename(columns={"val_acc": "final_val_acc"})
        runs = runs.merge(best, on="seed").sort_values("seed")
        runs = runs.assign(**{c: options.get(c) for c in CONFIG_COLUMNS})
        runs = with_added_columns(
            runs.assign(**{c: options[c] for c in ADDED_COLUMNS if c in options})
        )
        finite = np.isfinite(runs[LOSSES]).all(axis=1)  # as runs.diverged decides
        runs["status"] = np.where(finite, "finished", "diverged")
        return Training(runs, metrics)
    study_columns = ["dataset", "setting", "seed", "run_key"]
    runs = read_table(source, "runs.csv", [*study_columns, "status", *CONFIG_COLUMNS, *FINALS])
    metrics = read_table(source, "metrics.csv", [*study_columns, "epoch", *VALUES])
    planned = len(runs)
    runs = with_added_columns(runs[runs["status"].isin(["finished", "diverged"])])
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


def curve_label(row) -> str:
    return row["source"] if not row["setting"] else f"{row['source']}: {row['setting']}"


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    left: int = 1  # leading columns of text, aligned left; the rest hold numbers
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    path: Path  # the PNG in a source folder, or (own) its name in the report's folder
    caption: str
    own: bool = False  # drawn by the report itself: compare.png


def mean_std(mean, std) -> str:
    return fmt(mean) if pd.isna(std) else f"{fmt(mean)} ± {fmt(std)}"


def command_line(record: dict) -> str:
    """The command that wrote a folder, as one could type it again."""
    argv = record.get("argv") or ["lenet", record.get("command", "")]
    return shlex.join(["lenet", *argv[1:]])


def provenance(source: Source) -> Text:
    record, env = source.record, source.record.get("environment", {})
    return Text(
        f"Folder {source.folder}, started {record.get('started_utc', '?')} on "
        f"{source.device_name or '?'} (lenetcli {env.get('lenetcli', '?')}, "
        f"torch {env.get('torch', '?')})."
    )


def data_text(record: dict) -> str:
    data = record.get("data", {})
    parts = data.get("datasets", [data])
    return "; ".join(
        f"{DATASETS[d['dataset']].title if d.get('dataset') in DATASETS else d.get('dataset')}: "
        f"{d.get('train_size')} training{validation_text(d)} and {d.get('test_size')} test "
        f"images from {d.get('source')}"
        for d in parts
    )


def validation_text(data: dict) -> str:
    return f", {data['val_size']} validation" if data.get("val_size") else ""


def validation_cells(results: pd.DataFrame) -> list[str]:
    """The validation accuracy (mean ± std; '–' without) of each row, where any row has one:
    else none."""
    if results["final_val_acc_mean"].isna().all():
        return []
    return [mean_std(r.final_val_acc_mean, r.final_val_acc_std) for r in results.itertuples()]


def with_column(header: list[str], rows: list[list], label: str, cells: list[str], at: int):
    """header and rows with a column inserted at position `at`; unchanged without cells."""
    if not cells:
        return header, rows
    header = [*header[:at], label, *header[at:]]
    return header, [[*row[:at], cell, *row[at:]] for row, cell in zip(rows, cells, strict=True)]


def varying_options(results: pd.DataFrame) -> list[str]:
    """The training options whose values differ between the rows: the summary shows them, so
    that rows trained differently are not read as alike."""
    options = [*CONFIG_COLUMNS, *ADDED_COLUMNS]
    return [c for c in options if results[c].map(option_text).nunique() > 1]


def option_text(value) -> str:
    """An option's value in a table: 'all' for a subset not taken."""
    return "all" if value is None or pd.isna(value) else plain(value)


def summary_blocks(results: pd.DataFrame, compare: bool) -> list:
    header = ["Source", "Dataset", "Setting", "n", "Training acc.", "Test acc.", "Best model"]
    header.append("s/epoch")
    rows = [
        [r.source, r.dataset, r.setting or "–", count_text(r.n, r.diverged),
         mean_std(r.final_train_acc_mean, r.final_train_acc_std),
         mean_std(r.final_test_acc_mean, r.final_test_acc_std), fmt(r.final_test_acc_max),
         fmt(r.seconds_per_epoch, 1)]
        for r in results.itertuples()
    ]  # fmt: skip
    header, rows = with_column(header, rows, "Validation acc.", validation_cells(results), 5)
    varying = varying_options(results)
    header = [*header[:3], *(name.replace("_", " ") for name in varying), *header[3:]]
    rows = [
        [*row[:3], *(option_text(r[name]) for name in varying), *row[3:]]
        for row, (_, r) in zip(rows, results.iterrows(), strict=True)
    ]
    noisy = " (for label-noise runs, against the noisy labels they trained on)"
    validated = "validation accuracy on the training images held out by --val-split (– without); "
    blocks = [
        Heading("Summary"),
        Text(
            "Accuracies in percent after the last epoch: mean ± sample standard deviation over "
            "the seeds of each configuration; training accuracy is averaged over the last "
            "epoch's batches as they were trained (the model changing meanwhile), on the training "
            f"labels{noisy if (results['command'] == 'noise').any() else ''}; "
            f"{validated if results['final_val_acc_mean'].notna().any() else ''}best model is "
            "the highest final test accuracy of one of them; the training options that differ "
            "between the rows have a column each; s/epoch is the mean wall time of "
            "an epoch (models trained together as one group share it). The same numbers are "
            "in results.csv."
        ),
        Table(header, rows, left=3),
    ]
    if compare:
        caption = "Mean test accuracy per epoch of every configuration"
        blocks.append(Figure(Path("compare.png"), caption, own=True))
    return blocks


def train_blocks(source: Source, training: Training) -> list:
    options = source.record.get("options", {})
    described = ", ".join(
        f"{name.replace('_', ' ')} {options[name]}"
        for name in [*CONFIG_COLUMNS, *ADDED_COLUMNS]
        if options.get(name) not in (None, ADDED_COLUMNS.get(name))
    )
    runs = training.runs
    rows = [
        [str(r.seed), fmt(r.final_train_acc), fmt(r.final_test_acc),
         f"{fmt(r.best_test_acc)} (epoch {r.best_epoch})"]
        for r in runs.itertuples()
    ]  # fmt: skip
    if len(runs) > 1:
        rows.append(
            ["mean ± std", mean_std(runs.final_train_acc.mean(), runs.final_train_acc.std()),
             mean_std(runs.final_test_acc.mean(), runs.final_test_acc.std()),
             mean_std(runs.best_test_acc.mean(), runs.best_test_acc.std())]
        )  # fmt: skip
    header = ["Seed", "Final training acc.", "Final test acc.", "Best epoch's test acc."]
    if runs["final_val_acc"].notna().any():
        val = runs["final_val_acc"]
        cells = [fmt(v) for v in val] + ([mean_std(val.mean(), val.std())] if len(runs) > 1 else [])
        header, rows = with_column(header, rows, "Final validation acc.", cells, 2)
    seeds = sorted(runs["seed"])
    seeds_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
    return [
        Text(f"{data_text(source.record)}. Options: {described}; {seeds_text}."),
        Table(header, rows),
        *figures(source, [("curves.png", "Loss and accuracy per epoch")]),
    ]


def study_blocks(source: Source, training: Training, results: pd.DataFrame) -> list:
    resume = f"lenet {source.command} ... --resume --out {source.folder}"
    if results.empty:
        return [
            Text(f"No run of this {source.command} has finished yet; continue it with {resume}.")
        ]
    pending = pending_runs(training)
    described = f"Every setting is described in {source.folder}/summary.md."
    if pending:
        described = (
            f"Interrupted: {len(training.runs)} of {training.planned} runs finished. The "
            f"{pending} pending ones are left out, so means and the best setting are "
            f"provisional; continue with {resume}."
        )
    best = best_mask(results)
    rows = [
        [r.dataset, r.setting, count_text(r.n, r.diverged),
         mean_std(r.final_train_acc_mean, r.final_train_acc_std),
         mean_std(r.final_test_acc_mean, r.final_test_acc_std), fmt(r.final_test_acc_max),
         "**best**" if b else ""]
        for r, b in zip(results.itertuples(), best, strict=True)
    ]  # fmt: skip
    train_column = "Training acc. (noisy labels)" if source.command == "noise" else "Training acc."
    header = ["Dataset", "Setting", "n", train_column, "Test acc.", "Best model", ""]
    if source.command == "noise":  # how much of the truth the models learned despite the noise
        clean = [
            mean_std(r.final_train_acc_clean_mean, r.final_train_acc_clean_std)
            for r in results.itertuples()
        ]
        header, rows = with_column(header, rows, "Training acc. (true labels)", clean, 4)
    cells = validation_cells(results)
    header, rows = with_column(header, rows, "Validation acc.", cells, len(header) - 3)
    wanted = [
        ("accuracy_vs_noise.png", "Final test accuracy against the noise rate"),
        ("accuracy.png", "Final test accuracy of every setting"),
        ("compare.png", "Mean test accuracy per epoch of every setting"),
    ]
    if source.command == "noise":
        # The clean runs are always best; the noisiest setting of each type shows the effect.
        noisiest = results[results["noise_rate"] > 0].sort_values("noise_rate")
        for r in noisiest.groupby(["dataset", "noise_type"]).tail(1).itertuples():
            wanted += [
                (f"curves/{r.dataset}-{r.setting}.png", f"Noisiest setting: {r.setting}"),
                (f"noisy-confusion-{r.setting}.png", f"Noisy training labels of {r.setting}"),
            ]
    for r, b in zip(results.itertuples(), best, strict=True):
        if b and source.command != "noise":
            wanted.append((f"curves/{r.dataset}-{r.setting}.png", f"Best setting: {r.setting}"))
    best_text = f" The setting marked best has the highest mean {best_by(results)} of its dataset."
    return [
        Text(f"{data_text(source.record)}. {described}{best_text}"),
        Table(header, rows, left=2),
        *figures(source, wanted),
    ]


def confusion_blocks(source: Source) -> list:
    counts = read_table(source, "confusion_counts.csv", ["true"]).set_index("true")
    total, right = counts.to_numpy().sum(), sum(counts.to_numpy().diagonal())
    pairs = read_table(source, "confused_pairs.csv", ["rank", "count", "rate"])
    pairs = pairs[pairs["count"] > 0].head(5)  # the file lists every pair, confused or not
    if "class_a_name" not in pairs:
        require_columns(source, "confused_pairs.csv", pairs, ["true_class", "predicted_class"])
        pair_rows = [
            [str(p.rank), f"{p.true_class} → {p.predicted_class}", str(p.count), fmt(100 * p.rate)]
            for p in pairs.itertuples()
        ]
        pair_header = ["Rank", "True → predicted", "Images", "Share of the true class (%)"]
    else:  # --unordered
        require_columns(source, "confused_pairs.csv", pairs, ["class_b_name"])
        pair_rows = [
            [str(p.rank), f"{p.class_a_name} ↔ {p.class_b_name}", str(p.count), fmt(100 * p.rate)]
            for p in pairs.itertuples()
        ]
        pair_header = ["Rank", "Classes", "Images", "Share of both classes (%)"]
    per_class = read_table(
        source, "per_class.csv", ["name", "precision", "recall", "f1", "support"]
    )
    class_rows = [
        [str(c.name), fmt(c.precision, 3), fmt(c.recall, 3), fmt(c.f1, 3), str(c.support)]
        for c in per_class.itertuples()
    ]
    return [
        Text(
            f"{model_text(source.record)} Test accuracy {fmt(100 * right / total)}% on {total} images."
        ),
        Table(pair_header, pair_rows, left=2, caption="Most confused pairs")
        if pair_rows
        else Text(NO_ERRORS),
        Table(
            ["Class", "Precision", "Recall", "F1", "Images"],
            class_rows,
            caption="Per class (precision, recall and F1 as fractions)",
        ),  # fmt: skip
        *figures(source, [("confusion.png", "Confusion matrix")]),
    ]


NO_ERRORS = "No confused pairs: every test image is classified correctly."


def hardsamples_blocks(source: Source) -> list:
    samples = read_table(
        source,
        "hard_samples.csv",
        ["group", "index", "true_class", "predicted_class", "prob_predicted"],
    )
    groups = samples.groupby("group", sort=False)
    rows = [
        [name, f"#{g.iloc[0]['index']}: {g.iloc[0]['true_class']} → "
         f"{g.iloc[0]['predicted_class']}, p = {fmt(g.iloc[0]['prob_predicted'], 3)}", str(len(g))]
        for name, g in groups
    ]  # fmt: skip
    pairs = [name for name in groups.groups if "-as-" in name][:PAIR_GALLERIES]
    if not rows:
        return [Text(model_text(source.record)), Text(NO_ERRORS)]
    shown = (
        f"The galleries of the {len(pairs)} most confused pair(s) are shown below; every "
        f"gallery is in {source.folder}/hard/."
        if pairs
        else f"{NO_ERRORS[:-1]}; the galleries are in {source.folder}/hard/."
    )
    return [
        Text(model_text(source.record)),
        Table(
            ["Gallery", "Hardest image", "Images in the gallery"],
            rows,
            left=2,
            caption="Galleries, hardest image first: its test-set index, true → predicted "
            "class, and p, the probability the model gave its prediction",
        ),  # fmt: skip
        Text(shown),
        *figures(source, [(f"hard/{name}.png", f"Hard samples: {name}") for name in pairs]),
    ]


def model_text(record: dict) -> str:
    """What a confusion or hardsamples folder evaluated: the test images, and which model."""
    data = record.get("data", {})
    model, name = data.get("model", {}), data.get("dataset")
    title = DATASETS[name].title if name in DATASETS else name
    trained = model.get("training_config") or {}
    images = f"{trained.get('train_subset') or 'all the'} training images"
    if data.get("val_size"):
        images = f"{data['train_size']} training images ({data['val_size']} more held out for validation)"
    origin = (
        "trained by this command"
        if model.get("trained_here")
        else f"loaded from {model.get('checkpoint')}"
    )
    setting = model.get("setting") or {}
    of_setting = ", ".join(f"{k.replace('_', ' ')} {plain(v)}" for k, v in setting.items())
    return (
        f"Evaluated on {data.get('test_size')} test images of {title} from {data.get('source')}. "
        f"The model (seed {model.get('seed')}, {plural(trained.get('epochs', '?'), 'epoch')} on {images}"
        f"{f'; setting {of_setting}' if setting else ''}) was {origin}."
    )


def figures(source: Source, wanted: list[tuple[str, str]]) -> list[Figure]:
    """The figures of a folder that exist there, in the order asked for."""
    found = [(source.folder / name, caption) for name, caption in wanted]
    return [Figure(path, caption) for path, caption in found if path.is_file()]


def source_blocks(index: int, source: Source, training: Training | None, results) -> list:
    blocks = [
        Heading(f"{index}. {source.label}: lenet {source.command}"),
        Code(command_line(source.record)),
        provenance(source),
    ]
    if source.command == "train":
        blocks += train_blocks(source, training)
    elif source.command in ("sweep", "noise"):
        blocks += study_blocks(source, training, results[results["source"] == source.label])
    elif source.command == "confusion":
        blocks += confusion_blocks(source)
    else:
        blocks += hardsamples_blocks(source)
    return blocks


# --------------------------------------------------------------------------- gather and write


@dataclass(frozen=True)
class Report:
    title: str
    sources: list[Source]
    results: pd.DataFrame  # results.csv
    metrics: pd.DataFrame  # every configuration's metrics, with a `line` column for compare.png
    blocks: list
    trainings: dict[str, Training]  # by source label
    unfinished: dict[Path, str]  # folders left out, and why

    def warnings(self) -> list[str]:
        """What the reader must know: folders left out, and studies shown in part."""
        lines = [f"Left out {folder}: unfinished, {why}" for folder, why in self.unfinished.items()]
        for source in self.sources:
            if pending := pending_runs(self.trainings.get(source.label)):
                lines.append(
                    f"{source.folder} is an interrupted {source.command}: {pending} pending "
                    "run(s) left out, its results are provisional"
                )
        return lines


def gather(folders: list[Path], title: str, out: Path) -> Report:
    """Read and check every folder given; write nothing."""
    sources, unfinished = find_sources(folders)
    if not sources:
        first, reason = next(iter(unfinished.items()))
        raise LenetError(
            f"no finished output folder to report on: {len(unfinished)} did not finish "
            f"({first}: {reason}); {FINISH_IT}"
        )
    for source in sources:
        if Path(out).resolve().is_relative_to(source.folder.resolve()):
            raise LenetError(
                f"--out {out} lies in {source.folder}, a folder reported on; choose another --out"
            )
    trainings = {s.label: read_training(s) for s in sources if s.command in TRAINING_COMMANDS}
    frames = [results_frame(s, trainings[s.label]) for s in sources if s.label in trainings]
    results = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    )
    metrics = []
    for label, training in trainings.items():
        if training.metrics.empty:  # a study interrupted before its first run finished
            continue
        own = training.metrics.assign(source=label)
        metrics.append(own.assign(line=own.apply(curve_label, axis=1)))
    metrics = pd.concat(metrics, ignore_index=True) if metrics else pd.DataFrame()
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    made_from = f"{len(sources)} folder(s)"
    if unfinished:
        made_from += f"; {len(unfinished)} unfinished folder(s) left out (listed at the end)"
    blocks = [
        Heading(title, 1),
        Text(f"Made by lenet report (lenetcli {__version__}) on {made} from {made_from}."),
    ]
    if len(results):
        blocks += summary_blocks(results, compare=len(metrics) > 0)
    for i, source in enumerate(sources, 1):
        blocks += source_blocks(i, source, trainings.get(source.label), results)
    if unfinished:
        blocks += [
            Heading("Left out: unfinished folders"),
            Text("Their command was interrupted or failed before it wrote its results."),
            Table(["Folder", "Why"], [[str(f), why] for f, why in unfinished.items()], left=2),
        ]
    return Report(title, sources, results, metrics, blocks, trainings, unfinished)


def write_report(report: Report, out: Path, record: dict) -> None:
    # Always written, a header alone when no folder trained: scripts read it unconditionally.
    write_csv(out / "results.csv", report.results)
    if len(report.metrics):
        save_figure(comparison_figure(report.metrics), out / "compare.png")
    names = figure_names(report)
    own = {block.path for block in report.blocks if isinstance(block, Figure) and block.own}
    for source_path, name in names.items():
        if source_path not in own:
            write_atomic(out / name, lambda tmp, src=source_path: shutil.copyfile(src, tmp))
    write_text(out / "report.md", render_markdown(report.blocks, names))
    write_text(out / "report.html", render_html(report.blocks, report.title, out))
    write_results(out, results_document("report", out, gathered_runs(report), REPORT_KEYS))
    write_json(out / "config.json", record)


REPORT_KEYS = ("source", "dataset", "setting")  # a configuration of results.json


def gathered_runs(report: Report) -> pd.DataFrame:
    """Every trained run of the folders reported on, each with its folder's label (source),
    in the order of results.csv; the runs table of results.json."""
    columns = [*REPORT_KEYS, "seed", "final_test_acc", "best_test_acc", "status"]
    frames = [
        training.runs.assign(source=label)[columns] for label, training in report.trainings.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def figure_names(report: Report) -> dict[Path, str]:
    """Where each figure of the document lives, relative to the report's folder."""
    names = {}
    for block in report.blocks:
        if not isinstance(block, Figure) or block.path in names:
            continue
        if block.own:
            names[block.path] = block.path.name
            continue
        index, source = next(
            (i, s) for i, s in enumerate(report.sources, 1) if block.path.is_relative_to(s.folder)
        )
        relative = block.path.relative_to(source.folder).as_posix().replace("/", "-")
        names[block.path] = f"figures/{index}-{source.label.replace('/', '-')}/{relative}"
    return names


def run_config(report: Report, folders: list[Path], out: Path) -> dict:
    """config.json of the report: the folders as given and as found, and the environment."""
    import torch

    from lenetcli.outputs.files import environment, run_record
    from lenetcli.science.engine import device_description

    options = {"folders": [str(f) for f in folders], "title": report.title, "out": str(out)}
    cpu = torch.device("cpu")
    sources = {
        "sources": [source_record(s) for s in report.sources],
        "unfinished": {str(folder): why for folder, why in report.unfinished.items()},
    }
    return run_record("report", options, environment(cpu, device_description(cpu)), sources)


def source_record(source: Source) -> dict:
    data = source.record.get("data", {})
    datasets = [d.get("dataset") for d in data.get("datasets", [data])]
    return {
        "folder": str(source.folder.resolve()),
        "label": source.label,
        "command": source.command,
        "datasets": datasets,
        "started_utc": source.record.get("started_utc"),
        "lenetcli": source.record.get("environment", {}).get("lenetcli"),
        "device_name": source.device_name,
    }


# --------------------------------------------------------------------------- rendering


def render_markdown(blocks: list, names: dict[Path, str]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Text):
            parts.append(block.text)
        elif isinstance(block, Code):
            parts.append(f"```\n{block.text}\n```")
        elif isinstance(block, Table):
            table = markdown_table(block.header, block.rows, block.left)
            parts.append(f"*{block.caption}*\n\n{table}" if block.caption else table)
        elif isinstance(block, Figure):
            parts.append(f"![{block.caption}]({names[block.path]})")
    return "\n\n".join(parts) + "\n"


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #222; }
.wide { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.92em; }
caption { text-align: left; font-style: italic; color: #555; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
.num { text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
figure { margin: 1em 0; } img { max-width: 100%; max-height: 85vh; }
figcaption { color: #555; font-size: 0.9em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  h1, h2, h3, pre, caption { break-after: avoid; }
  tr, figure { break-inside: avoid; }
  img { max-height: 20cm; }
}
"""


def html_row(cells: list[str], tag: str, left: int) -> str:
    """A table row; cells after the first `left` hold numbers and align right."""
    html_cells = []
    for i, cell in enumerate(cells):
        text = html.escape(str(cell))
        if text.startswith("**") and text.endswith("**"):
            text = f"<strong>{text[2:-2]}</strong>"
        style = "" if i < left else ' class="num"'
        html_cells.append(f"<{tag}{style}>{text}</{tag}>")
    return "<tr>" + "".join(html_cells) + "</tr>"


def render_html(blocks: list, title: str, out: Path) -> str:
    """One page with its images embedded, so that it can be mailed, opened or printed alone;
    out: the report's folder, which holds its own figures."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            body.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Code):
            body.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
        elif isinstance(block, Table):
            head = html_row(block.header, "th", block.left)
            rows = "".join(html_row(row, "td", block.left) for row in block.rows)
            caption = f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
            body.append(
                f'<div class="wide"><table>{caption}<thead>{head}</thead>'
                f"<tbody>{rows}</tbody></table></div>"
            )
        elif isinstance(block, Figure):
            path = out / block.path if block.own else block.path
            png = base64.b64encode(path.read_bytes()).decode("ascii")
            caption = html.escape(block.caption)
            body.append(
                f'<figure><img src="data:image/png;base64,{png}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- the command


def run_report(
    folders: list[Path],
    title: str,
    out: Path | None,
    overwrite: bool,
    quiet: bool,
    print_json: bool = False,
) -> None:
    """`lenet report`: read and check every folder, then write the report and say so; print
    results.json last with print_json (--json)."""
    fresh_name = out is None
    out = check_output_dir(out or default_folder("report"), overwrite, "report", folders)
    gathered = gather(folders, title, out)
    out = create_output_dir(out, fresh_name, exclusive=not out.exists())
    with in_use(out, "report", replace=overwrite):
        write_report(gathered, out, run_config(gathered, folders, out))
    if not quiet:
        say_what_was_reported(gathered, out)
    if print_json:
        print_results(out)


def say_what_was_reported(gathered: Report, out: Path) -> None:
    console = stdout_console()
    for warning in gathered.warnings():
        console.print(f"[yellow]{escape(warning)}[/]", highlight=False, soft_wrap=True)
    if len(gathered.results):
        rows = [
            [r.source, r.dataset, r.setting or "–", count_text(r.n, r.diverged),
             mean_std(r.final_test_acc_mean, r.final_test_acc_std)]
            for r in gathered.results.itertuples()
        ]  # fmt: skip
        columns = ["source", "dataset", "setting", "n", "test acc (%)"]
        title = "Final test accuracy: mean ± std over seeds"
        console.print(results_table(title, columns, rows, left=3))
    console.print(
        f"Reported on {len(gathered.sources)} folder(s). Wrote {out}/ (open report.html)",
        highlight=False,
    )
