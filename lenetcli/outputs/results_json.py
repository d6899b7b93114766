"""results.json: a command's results for scripts (`--json`, `jq`), in one document.

Every command writes it into its output folder from a table of its runs (one row per model:
dataset, setting, seed, final and best test accuracy, status), built by `results_document`
alone, so that train, sweep, noise, confusion, hardsamples and report agree on its shape
(docs/outputs.md#resultsjson). `--json` prints the file as written, as the last thing the
command does.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd

from lenetcli.outputs.files import as_written, write_text

RESULTS_NAME = "results.json"
# A run's entry, after the columns that name its setting (`by`).
RUN_FIELDS = ["seed", "final_test_acc", "best_test_acc", "status"]
SETTING_KEYS = ("dataset", "setting")


def plain(value):
    """A value as JSON holds it: a plain int, float, str or bool, and null for NaN or None
    (json.dumps would write NaN, which JSON does not allow and jq refuses). A float has the
    CSVs' significant digits (as_written): 83.14814815, as summary.csv has it, not
    83.14814814666666."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # a numpy number: int64 -> int, float64 -> float
        return plain(value.item())
    if isinstance(value, str) and value == "":  # report's runs of lenet train: no setting
        return None
    return as_written(value)


def results_document(
    command: str, out: Path, runs: pd.DataFrame, by: tuple[str, ...] = SETTING_KEYS
) -> dict:
    """The results of a command as one JSON-ready document: the command, its output folder,
    every run, and per setting the number of trained runs (those with a final test accuracy:
    finished or diverged) with the mean and sample standard deviation (n-1) of their final
    test accuracy. by: the columns that name a setting, in order (`lenet report` puts the
    source folder first). Pure: it reads only runs."""
    runs = runs.reset_index(drop=True)
    settings = []
    for key, group in runs.groupby(list(by), sort=False, dropna=False):
        finals = group["final_test_acc"].dropna()
        key = key if isinstance(key, tuple) else (key,)
        settings.append(
            {
                **{name: plain(value) for name, value in zip(by, key, strict=True)},
                "n": len(finals),
                "mean": plain(finals.mean()) if len(finals) else None,
                "std": plain(finals.std()) if len(finals) > 1 else None,
            }
        )
    return {
        "command": command,
        "out": str(Path(out).resolve()),
        "runs": [
            {name: plain(row[name]) for name in [*by, *RUN_FIELDS]}
            for row in runs.to_dict("records")
        ],
        "settings": settings,
    }


def write_results(out: Path, document: dict) -> Path:
    """out/results.json, whole or not at all; allow_nan=False: a NaN that plain() missed is
    an error here, not a file that jq cannot read."""
    return write_text(
        Path(out) / RESULTS_NAME, json.dumps(document, indent=2, allow_nan=False) + "\n"
    )


def print_results(out: Path) -> None:
    """--json: results.json as written, on stdout."""
    sys.stdout.write((Path(out) / RESULTS_NAME).read_text(encoding="utf-8"))
    sys.stdout.flush()
