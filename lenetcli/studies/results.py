"""A run's results, computed in one place: from its metrics rows (one per epoch) to the final
values, the best epochs, the seconds and the status that runs.csv, `lenet train`'s closing
table, results.json and `lenet report` show. Also the checks that a runs table read back from
disk holds such results, before anything is computed on it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from lenetcli.errors import LenetError, warn
from lenetcli.outputs.files import as_written

METRIC_COLUMNS = [
    "seed", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
]  # fmt: skip
FINISHED, DIVERGED, PENDING = "finished", "diverged", "pending"
FAILED = "failed"  # its job failed on a cluster (twice, with a retry); --resume trains it again
TRAINED = (FINISHED, DIVERGED)
STATUSES = (*TRAINED, PENDING, FAILED)
# runs.csv's columns of the epoch with the best validation accuracy, in a study that validates
VALIDATION_BEST = ["best_val_acc", "best_val_epoch", "test_acc_at_best_val"]


def result_columns(values, validated: bool = True) -> list[str]:
    """runs.csv's result columns (run_results) for a study's values, in order; validated:
    with the columns of the best validation epoch."""
    early = VALIDATION_BEST if validated else []
    return [*(f"final_{value}" for value in values), "best_test_acc", "best_epoch", *early,
            "seconds"]  # fmt: skip


def run_results(metrics: list[dict], values: list[str]) -> dict:
    """The results of one trained run from its metrics rows, in epoch order.

    final_<value> for each of values (None where the last row lacks it, e.g. val_acc in a
    setting without validation images); best_test_acc and best_epoch (the first epoch at the
    best test accuracy); with validation, best_val_acc, best_val_epoch and
    test_acc_at_best_val (early stopping: the test accuracy of the epoch picked on
    validation); seconds (training and evaluation, all epochs); status: diverged when the
    final training or test loss is not a finite number, else finished."""
    last = metrics[-1]
    best = max(metrics, key=lambda row: row["test_acc"])  # max keeps the first of equals
    results = {f"final_{value}": last.get(value) for value in values}
    results |= {
        "best_test_acc": best["test_acc"],
        "best_epoch": int(best["epoch"]),
        "seconds": sum(row["seconds"] for row in metrics),
        "status": DIVERGED if is_diverged(last) else FINISHED,
    }
    if "val_acc" in last:
        chosen = max(metrics, key=lambda row: row["val_acc"])
        picked = [chosen["val_acc"], int(chosen["epoch"]), chosen["test_acc"]]
        results |= dict(zip(VALIDATION_BEST, picked, strict=True))
    return {name: as_written(value) for name, value in results.items()}


def is_diverged(last: dict) -> bool:
    """A run diverged when its final training or test loss is not a finite number."""
    return not (math.isfinite(last["train_loss"]) and math.isfinite(last["test_loss"]))


def frame_results(metrics: pd.DataFrame, values: list[str]) -> dict:
    """run_results of one run's rows of a metrics.csv (any order)."""
    rows = metrics.sort_values("epoch").to_dict("records")
    return run_results(rows, values)


def warn_diverged(which: str) -> None:
    """A diverged run's numbers mean nothing: say so, even with --quiet."""
    warn(
        f"{which} diverged (a loss that is not a finite number): such accuracies mean nothing, "
        "and a smaller --lr usually helps"
    )


def trained_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of a runs table that trained (finished or diverged), not pending or failed."""
    return runs[runs["status"].isin(TRAINED)]


# --------------------------------------------------------------------------- read back


def checked_runs(runs: pd.DataFrame, path: Path, fix: str) -> pd.DataFrame:
    """A runs.csv read back, refused (LenetError naming the row and column) where a trained
    run's row is not what lenet writes: an unknown status, a run listed twice, a result that
    is text, not finite, or an accuracy outside 0..100. Nothing is computed on, or rewritten
    from, such a file. fix: what the user can do, ending the message."""

    def refuse(index, column: str, what: str):
        line = int(index) + 2  # the header is line 1
        raise LenetError(f"{path}, line {line}, column {column}: {what}; {fix}")

    for index, status in runs["status"].items():
        if status not in STATUSES:
            refuse(
                index, "status", f"unknown status '{status}' (lenet writes {', '.join(STATUSES)})"
            )
    if "run_key" in runs:
        repeated = runs["run_key"].duplicated(keep="first")
        if repeated.any():
            index = repeated.idxmax()
            refuse(index, "run_key", f"run {runs.at[index, 'run_key']} is listed twice")
    trained = trained_runs(runs)
    for column in result_columns_in(runs):
        numbers = pd.to_numeric(trained[column], errors="coerce")
        for index, value in trained[column].items():
            if pd.isna(value):
                continue  # a setting without validation has no val_acc; restore checks those
            number = numbers[index]
            if pd.isna(number) or not math.isfinite(number):
                refuse(index, column, f"'{value}' is not a finite number")
            if column_is_accuracy(column) and not 0 <= number <= 100:
                refuse(index, column, f"{value} is not an accuracy in percent (0 to 100)")
            if column in ("seconds", "best_epoch", "best_val_epoch") and number < 0:
                refuse(index, column, f"{value} is negative")
    out = runs.copy()
    for column in result_columns_in(runs):
        out[column] = pd.to_numeric(out[column], errors="coerce")
    return out


WHOLE_FROM = {"seed": 0, "epoch": 1}  # metrics.csv's whole-number columns, and their least


def checked_metrics(
    metrics: pd.DataFrame, path: Path, fix: str, empty_ok: bool = False
) -> pd.DataFrame:
    """A metrics.csv read back, refused (LenetError naming the line and column) where a row is
    not what lenet writes: no rows at all (unless empty_ok: a study's, before any run has
    finished), a seed or epoch that is not a whole number (an epoch
    from 1), a loss, accuracy, learning rate or time that is text, an accuracy that is not a
    finite number from 0 to 100, a learning rate or time below 0. A loss may be nan or inf (a
    diverged run's); a column lenet writes only for some runs (val_acc, train_acc_clean) may
    be empty. Returns the frame with those columns as numbers. fix: ends the message."""

    def refuse(index, column: str, what: str):
        raise LenetError(f"{path}, line {int(index) + 2}, column {column}: {what}; {fix}")

    if metrics.empty and not empty_ok:
        raise LenetError(f"{path} holds no epochs (a header alone); {fix}")
    out = metrics.copy()
    for column in [c for c in metrics.columns if c in METRIC_COLUMNS or is_value_column(c)]:
        numbers = pd.to_numeric(metrics[column], errors="coerce")
        may_be_empty = column.endswith("_loss") or column not in METRIC_COLUMNS
        for index, value in metrics[column].items():
            number = numbers[index]
            if pd.isna(value) and may_be_empty:
                continue
            if pd.isna(value):  # an empty cell (a line cut short), which pandas reads as nan
                refuse(index, column, "no number (empty, or nan), where lenet writes one")
            if pd.isna(number):
                refuse(index, column, f"'{value}' is not a number")
            lowest = WHOLE_FROM.get(column)
            if lowest is not None and not (float(number).is_integer() and number >= lowest):
                refuse(index, column, f"{value} is not a whole number from {lowest}")
            if column_is_accuracy(column) and not (math.isfinite(number) and 0 <= number <= 100):
                refuse(index, column, f"{value} is not an accuracy in percent (0 to 100)")
            if column in ("lr", "seconds") and not (math.isfinite(number) and number >= 0):
                refuse(index, column, f"{value} is not a number from 0 up")
        out[column] = numbers
    return out.astype({column: "int64" for column in ("seed", "epoch") if column in out})


def is_value_column(column: str) -> bool:
    """An accuracy or a loss of metrics.csv (train_acc_clean, val_loss among them)."""
    return column_is_accuracy(column) or column.endswith("_loss")


def result_columns_in(runs: pd.DataFrame) -> list[str]:
    fixed = result_columns([])
    return [c for c in runs.columns if c.startswith("final_") or c in fixed]


def column_is_accuracy(column: str) -> bool:
    return column.endswith("_acc") or "_acc_" in column
