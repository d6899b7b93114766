"""Studies: settings trained over repeated seeds, resumable, summarised the way a report is.

A *setting* is one training configuration on one dataset with a short, file-safe name: a
`TrainConfig` whose seed and repeats give its *runs* (one per seed). A study trains its
runs in groups (`engine.train`; by default runs of several settings that differ only in seed,
learning rate, weight decay or labels share a group, plan.py) and writes into its folder:

    config.json                     the whole study, run options and environment
    runs.csv                        one row per run: identity, hyperparameters, seed, results, status
    metrics.csv                     one row per run and epoch
    summary.csv                     one row per setting: n, best, mean, std, min, max of final values
    tables/<dataset>-<setting>.csv  the per-setting table of a report: No. 1..n, Best, Mean, Std
    summary.md                      all of those tables in one Markdown page
    curves/<dataset>-<setting>.png  loss and accuracy, mean with a +-1 std band over the seeds
    compare.png                     mean test accuracy per epoch of every setting
    accuracy.png                    mean +- std final test accuracy per setting

`lenet sweep` (sweep.py) builds its settings from comma lists or a TOML file. Other commands
build theirs their own way and plug in through these hooks:

- `Setting.columns`: values that identify a setting beyond its TrainConfig (for label noise,
  e.g. {"noise_type": "symmetric", "noise_rate": 0.2}). They are part of every run's key, are
  written to every CSV and group summary.csv, the tables and the figures.
- `Setting.hidden`: values that decide a run's numbers but are not columns (for label
  noise, the noise seed and the matrix): hashed into the run keys, never written.
- `Study.labels`: each run's training labels and per-run values, given its setting, seed and
  data; the default, `true_labels`, keeps the dataset's labels and adds nothing. Label noise
  returns a noisy draw and the noise seed and achieved rate, named, in order, by
  `Study.run_columns`. Pure: it may run in another process (an executor's worker).
- `Study.setting_files`: files of a setting's own (label noise: its transition matrices),
  written into the output folder before its runs train; the default writes none.
- `Study.figures`: figures of the study's own, drawn from summary.csv's frame and written with
  the summary (label noise: accuracy_vs_noise.png); the default draws none.
- `Study.values`: the metric columns whose final value is summarised, with their table labels
  (e.g. add "train_acc_clean"). Metric columns beyond `results.METRIC_COLUMNS` reach metrics.csv
  as they are.
- `Study.curves`: the per-setting figure, given the setting's metrics, a title and its loss
  (default `plots.curves_figure`).
- `Study.palette`: a colour per setting name for compare.png and accuracy.png (default
  `plots.palette_colors`; label noise shades one colour family per noise type).

`session.execute(study, out, ...)` does everything: checks (before anything is written),
loads the data, plans the pending runs into jobs (plan.py), has an executor train them
(executor.py), records what finishes in the ledger (ledger.py: runs.csv, metrics.csv) and
writes the summary (summary.py). docs/architecture.md shows the flow.

Resume: each run is keyed by a hash of its full configuration (`run_key`): dataset, every
hyperparameter, seed, subsets and `Setting.identity` (its columns and hidden values), but not the setting's name, so renamed
settings still match and changed ones never do. runs.csv is the record of what finished; it and
metrics.csv are rewritten atomically after every job, so an interruption loses at most the
job in progress, and `resume=True` trains only the runs not finished.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from lenetcli.config import ADDED_FIELDS, GROUP_BY, RunOptions, TrainConfig, option_name
from lenetcli.errors import LenetError, unknown_choice
from lenetcli.outputs.plots import curves_figure, palette_colors
from lenetcli.science.data import SUBSETS, Dataset, check_subsets, load_data
from lenetcli.science.engine import MemberResult
from lenetcli.studies.results import result_columns

DEFAULT_VALUES = {"train_acc": "Training accuracy", "test_acc": "Testing accuracy"}


# --------------------------------------------------------------------------- the study


@dataclass(frozen=True)
class Setting:
    """One configuration on one dataset: config.seeds are its runs."""

    name: str  # file-safe, unique per dataset; the setting's id in every output
    config: TrainConfig
    columns: dict = field(default_factory=dict)  # extra identity, e.g. noise type and rate
    # Identity hashed into the run keys but never written, e.g. a noise seed and matrix.
    hidden: dict = field(default_factory=dict)

    @property
    def identity(self) -> dict:
        """Everything beyond config and seed that decides a run's numbers: for run_key."""
        return {**self.columns, **self.hidden}

    @property
    def about(self) -> dict:
        """What a model's checkpoint records of the setting it belongs to."""
        return {"name": self.name, **self.columns}

    @property
    def stem(self) -> str:
        """The file name (without suffix) of this setting's table and curves."""
        return f"{self.config.dataset}-{self.name}"


@dataclass
class RunOutcome:
    """One trained run: the engine's result and the per-run values for Study.run_columns."""

    result: MemberResult
    columns: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Labels:
    """One run's training labels (None: the dataset's own) and its values for run_columns."""

    train: torch.Tensor | None = None
    columns: dict = field(default_factory=dict)


def true_labels(setting: Setting, seed: int, data: Dataset) -> Labels:
    """The default `Study.labels`: the dataset's labels, nothing added."""
    return Labels()


def no_files(setting: Setting, data: Dataset, out: Path) -> None:
    """The default `Study.setting_files`: none."""


def no_figures(study: Study, summary, out: Path) -> None:
    """The default `Study.figures`: none beyond the summary's own."""


TrainingLabels = Callable[[Setting, int, Dataset], Labels]
SettingFiles = Callable[[Setting, Dataset, Path], None]
StudyFigures = Callable[["Study", object, Path], None]  # study, summary.csv's frame, out


def setting_palette(settings: list[Setting]) -> dict:
    """The default `Study.palette`: a colour per setting name (plots.palette_colors)."""
    return palette_colors(s.name for s in settings)


@dataclass(frozen=True)
class Study:
    """What to run and how to report it. See the module docstring for the hooks."""

    command: str  # "sweep", "noise": names the study in config.json and in messages
    settings: list[Setting]
    options: RunOptions = field(default_factory=RunOptions)
    labels: TrainingLabels = true_labels
    setting_files: SettingFiles = no_files
    figures: StudyFigures = no_figures
    run_columns: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_VALUES))
    curves: Callable = curves_figure
    # a colour per setting name, the same in compare.png and accuracy.png
    palette: Callable[[list[Setting]], dict] = setting_palette
    record: dict = field(default_factory=dict)  # anything else config.json should hold

    def __post_init__(self):
        # A study whose settings hold out validation images summarises validation accuracy
        # too, just before testing accuracy, and picks its best setting by it (best_mask).
        if "val_acc" in self.values or not any(s.config.val_split for s in self.settings):
            return
        values = {k: v for k, v in self.values.items() if k != "test_acc"}
        values |= {"val_acc": "Validation accuracy", "test_acc": self.values["test_acc"]}
        object.__setattr__(self, "values", values)

    @property
    def keys(self) -> list[str]:
        """The columns that identify a setting: group by these in summaries."""
        return ["dataset", "setting", *self.setting_columns]

    @property
    def setting_columns(self) -> list[str]:
        names: list[str] = []
        for setting in self.settings:
            names += [c for c in setting.columns if c not in names]
        return names


# --------------------------------------------------------------------------- keys and checks


def run_key(config: TrainConfig, seed: int, columns: dict | None = None) -> str:
    """A hash of everything that decides one run's numbers (never its name or run options):
    16 hex digits, except that a key a spreadsheet or pandas would read as a number (all
    digits, or digits-e-digits like 45027745186914e6, about 1 in 700) has its first digit
    replaced by a letter past f (0 -> g, ..., 9 -> p), so that it is never one."""
    key = legacy_run_key(config, seed, columns)
    if NUMBER_LIKE.fullmatch(key):
        return "ghijklmnop"[int(key[0])] + key[1:]
    return key


NUMBER_LIKE = re.compile(r"\d+([eE]\d+)?")


def legacy_run_key(config: TrainConfig, seed: int, columns: dict | None = None) -> str:
    """The key as lenetcli 0.1 wrote it: the first 16 hex digits of the hash. Equal to
    run_key but where that looks like a number; the ledger matches such old keys on resume."""
    identity = replace(config, seed=seed, repeats=1).to_dict()
    defaults = TrainConfig().to_dict()
    for name, default in defaults.items():
        # 0 and 0.0 are the same weight decay: hash the value, not how it was written.
        if isinstance(default, float) and identity[name] is not None:
            identity[name] = float(identity[name])
    # Options added after the first release count only when used, so that a folder written
    # before them still resumes.
    for name in ADDED_FIELDS:
        if identity[name] == defaults[name]:
            del identity[name]
    identity.update(columns or {})
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_study(study: Study) -> None:
    """Raise LenetError for anything wrong with the plan, before anything is loaded or written."""
    if not study.settings:
        raise LenetError(f"the lenet {study.command} has no settings; give at least one")
    if "test_acc" not in study.values:
        raise ValueError("Study.values must include test_acc: every table shows it")
    # a setting's columns join the run's identity and its runs.csv row, its hidden values
    # the identity: one named as a hyperparameter or a result would overwrite it there
    results = {*result_columns(study.values), "error"}
    reserved = set(TrainConfig.field_names()) | {"setting", "status", "run_key"} | results
    for setting in study.settings:
        setting.config.validate()
        # before any file is read, as the sizes are known
        check_subsets(setting.config, [setting.config.dataset], SUBSETS, option_name)
        clash = reserved & (set(setting.columns) | set(setting.hidden) | set(study.run_columns))
        if clash:
            raise LenetError(f"setting column '{sorted(clash)[0]}' clashes with a built-in column")
    names: dict[tuple[str, str], Setting] = {}
    for setting in study.settings:
        # by case-folded name: on macOS's and Windows' disks, which ignore case, the files of
        # settings 'a' and 'A' would be one file
        ident = (setting.config.dataset, setting.name.casefold())
        if ident in names and names[ident].name == setting.name:
            raise LenetError(
                f"two settings are named '{setting.name}' on {setting.config.dataset}; give each setting its own name"
            )
        if ident in names:
            raise LenetError(
                f"settings '{names[ident].name}' and '{setting.name}' on "
                f"{setting.config.dataset} differ only in case: their files would be one on "
                "disks that ignore case (macOS, Windows); give each setting its own name"
            )
        names[ident] = setting
    seen: dict[str, tuple[Setting, int]] = {}
    for setting in study.settings:
        for seed in setting.config.seeds:
            key = run_key(setting.config, seed, setting.identity)
            if key in seen:
                other, _ = seen[key]
                raise LenetError(
                    f"settings '{other.name}' and '{setting.name}' on {setting.config.dataset} "
                    f"would both train seed {seed} with the same configuration; make them differ "
                    f"or drop one"
                )
            seen[key] = (setting, seed)
    study.options.validate()
    if study.options.group_by not in GROUP_BY:
        raise unknown_choice("--group-by", study.options.group_by, GROUP_BY)


def data_key(config: TrainConfig) -> tuple:
    return (config.dataset, config.train_subset, config.test_subset, config.val_split)


def load_study_data(study: Study) -> dict[tuple, Dataset]:
    """Every dataset (and subset) the study needs, each read once, all before anything runs."""
    datasets: dict[tuple, Dataset] = {}
    for setting in study.settings:
        key = data_key(setting.config)
        if key not in datasets:
            datasets[key] = load_data(setting.config, study.options)
    return datasets
