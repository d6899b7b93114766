"""Studies: settings trained over repeated seeds, resumable, summarised the way a report is.

A *setting* is one training configuration on one dataset with a short, file-safe name: a
`TrainConfig` whose seed and repeats give its *runs* (one per seed). A study trains each
setting's runs together as one group (`engine.train`) and writes into its folder:

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
- `Study.train`: how one setting's seeds are trained, given the output folder for any file
  of its own; the default, `train_setting`, is a plain `engine.train`. It returns one `RunOutcome` per seed, whose `columns` hold per-run values
  (e.g. the noise seed and achieved rate) named, in order, by `Study.run_columns`.
- `Study.values`: the metric columns whose final value is summarised, with their table labels
  (e.g. add "train_acc_clean"). Metric columns beyond `runs.METRIC_COLUMNS` reach metrics.csv
  as they are.
- `Study.curves`: the per-setting figure, given the setting's metrics, a title and its loss
  (default `plots.curves_figure`).
- `Study.palette`: a colour per setting name for compare.png and accuracy.png (default
  `plots.palette_colors`; label noise shades one colour family per noise type).

`execute(study, out, ...)` does everything: checks (before anything is written), loads the
data, trains what is not finished, writes the summary (summary.py). The parts are public for
other uses: `check_study`, `Ledger` (the runs and their results), `summary.write_report`.

Resume: each run is keyed by a hash of its full configuration (`run_key`): dataset, every
hyperparameter, seed, subsets and `Setting.columns`, but not the setting's name, so renamed
settings still match and changed ones never do. runs.csv is the record of what finished; it and
metrics.csv are rewritten atomically after every setting, so an interruption loses at most the
setting in progress, and `resume=True` trains only the runs not finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch

from lenetcli import engine
from lenetcli.checkpoint import make_checkpoint
from lenetcli.config import ADDED_FIELDS, TrainConfig
from lenetcli.data import Dataset
from lenetcli.engine import MemberResult, Reporter
from lenetcli.errors import Interrupted, LenetError, warn
from lenetcli.outputs import (
    check_output_dir,
    create_output_dir,
    default_folder,
    environment,
    in_use,
    read_config,
    read_csv,
    run_record,
    save_checkpoint,
    write_csv,
    write_json,
)
from lenetcli.plots import curves_figure, palette_colors
from lenetcli.runs import (
    METRIC_COLUMNS,
    RunOptions,
    data_record,
    diverged,
    groups,
    load_data,
    warn_diverged,
)
from lenetcli.summary import (
    DIVERGED,
    FINISHED,
    HYPERPARAMETERS,
    PENDING,
    TRAINED,
    summary_table,
    write_report,
)

# runs.csv's columns of the epoch with the best validation accuracy, in a study that validates
VALIDATION_BEST = ["best_val_acc", "best_val_epoch", "test_acc_at_best_val"]
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


class StudyReporter(Reporter):
    """Progress of a whole study: the engine's calls for each group, plus these. Silent."""

    def start_study(self, total_runs: int, finished_runs: int) -> None: ...

    def start_setting(self, label: str, runs: int) -> None: ...

    def finish_setting(self, runs: int) -> None: ...


def train_setting(
    setting: Setting,
    data: Dataset,
    seeds: list[int],
    device: torch.device,
    options: RunOptions,
    reporter: Reporter,
    out: Path,
) -> list[RunOutcome]:
    """The default `Study.train`: the seeds of one setting as one group, nothing added."""
    results = engine.train(
        setting.config, data, device, seeds=seeds, group_size=options.group_size,
        use_graph=options.graph, reporter=reporter,
    )  # fmt: skip
    return [RunOutcome(result) for result in results]


TrainSetting = Callable[
    [Setting, Dataset, list[int], torch.device, RunOptions, Reporter, Path], list[RunOutcome]
]


def setting_palette(settings: list[Setting]) -> dict:
    """The default `Study.palette`: a colour per setting name (plots.palette_colors)."""
    return palette_colors(s.name for s in settings)


@dataclass(frozen=True)
class Study:
    """What to run and how to report it. See the module docstring for the hooks."""

    command: str  # "sweep", "noise": names the study in config.json and in messages
    settings: list[Setting]
    options: RunOptions = field(default_factory=RunOptions)
    train: TrainSetting = train_setting
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
    """A hash of everything that decides one run's numbers (never its name or run options)."""
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
    reserved = set(TrainConfig.field_names()) | {"setting", "status", "run_key"}
    for setting in study.settings:
        setting.config.validate()
        clash = reserved & (set(setting.columns) | set(study.run_columns))
        if clash:
            raise LenetError(f"setting column '{sorted(clash)[0]}' clashes with a built-in column")
    names: dict[tuple[str, str], Setting] = {}
    for setting in study.settings:
        ident = (setting.config.dataset, setting.name)
        if ident in names:
            raise LenetError(
                f"two settings are named '{setting.name}' on {setting.config.dataset}; give each setting its own name"
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
    if study.options.group_size is not None and study.options.group_size < 1:
        raise LenetError(
            f"--group-size must be a positive whole number, got {study.options.group_size}"
        )


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


# --------------------------------------------------------------------------- the runs


class Ledger:
    """Every run of the study in plan order: its plan, its results once trained, its metrics.

    runs.csv and metrics.csv are written from here; on resume they are read back into it.
    """

    def __init__(self, study: Study):
        self.study = study
        self.rows: dict[str, dict] = {}  # run_key -> runs.csv row
        self.saved = 0  # trained runs that runs.csv lists as such (after the last save)
        self.metrics: dict[str, pd.DataFrame] = {}  # run_key -> that run's metrics.csv rows
        self.keys: dict[tuple[int, int], str] = {}  # (setting index, seed) -> run_key
        self.settings: dict[str, Setting] = {}  # run_key -> its setting
        self.restored_names: dict[str, str] = {}  # run_key -> its setting's name when trained
        for index, setting in enumerate(study.settings):
            for seed in setting.config.seeds:
                key = run_key(setting.config, seed, setting.identity)
                self.keys[(index, seed)] = key
                self.settings[key] = setting
                self.rows[key] = self.plan_row(setting, seed, key)

    def result_columns(self) -> list[str]:
        finals = [f"final_{value}" for value in self.study.values]
        early = VALIDATION_BEST if "val_acc" in self.study.values else []
        return [*self.study.run_columns, *finals, "best_test_acc", "best_epoch", *early, "seconds"]

    def expected_columns(self, setting: Setting) -> list[str]:
        """The result columns a finished run of setting has a value in, beyond the study's own
        run columns: no validation ones for a setting without validation images (in a study
        where others have them)."""
        validated = bool(setting.config.val_split)
        own = self.result_columns()[len(self.study.run_columns) :]  # run columns may be empty
        return [c for c in own if validated or c not in ("final_val_acc", *VALIDATION_BEST)]

    def plan_row(self, setting: Setting, seed: int, key: str) -> dict:
        config = setting.config.to_dict()
        row = {"setting": setting.name, "dataset": setting.config.dataset}
        row |= {c: setting.columns.get(c) for c in self.study.setting_columns}
        row |= {h: config[h] for h in HYPERPARAMETERS}
        row["seed"] = seed
        row |= {c: None for c in self.result_columns()}
        row |= {"status": PENDING, "run_key": key}
        return row

    def pending_seeds(self, index: int) -> list[int]:
        setting = self.study.settings[index]
        return [
            seed
            for seed in setting.config.seeds
            if self.rows[self.keys[(index, seed)]]["status"] == PENDING
        ]

    def count(self, statuses=TRAINED) -> int:
        return sum(row["status"] in statuses for row in self.rows.values())

    def record(self, index: int, outcomes: list[RunOutcome]) -> None:
        """Store the results of one setting's freshly trained runs."""
        setting = self.study.settings[index]
        for outcome in outcomes:
            key = self.keys[(index, outcome.result.seed)]
            metrics = outcome.result.metrics
            last = metrics[-1]
            best = max(metrics, key=lambda row: row["test_acc"])  # the first epoch at the best
            row = self.rows[key]
            row |= {c: outcome.columns.get(c) for c in self.study.run_columns}
            # .get: in a study that validates only some settings, the others have no val_acc
            row |= {f"final_{value}": last.get(value) for value in self.study.values}
            row |= {
                "best_test_acc": best["test_acc"],
                "best_epoch": best["epoch"],
                "seconds": sum(m["seconds"] for m in metrics),
                "status": DIVERGED if diverged(outcome.result) else FINISHED,
            }
            if "val_acc" in last:
                # early stopping: the first epoch at the best validation accuracy, and the
                # test accuracy the model had then
                chosen = max(metrics, key=lambda row: row["val_acc"])
                row |= dict(
                    zip(
                        VALIDATION_BEST,
                        [chosen["val_acc"], chosen["epoch"], chosen["test_acc"]],
                        strict=True,
                    )
                )
            frame = pd.DataFrame(metrics)
            extra = [c for c in frame.columns if c not in METRIC_COLUMNS]
            self.metrics[key] = self.label_metrics(setting, key, frame[METRIC_COLUMNS + extra])

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
        if not metrics_path.is_file():
            return 0
        metrics = read_study_csv(metrics_path, ["run_key", "epoch"])
        trained = previous[previous["status"].isin(TRAINED)]
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
            setting = self.settings[key]
            rows = metrics[metrics["run_key"] == key].sort_values("epoch")
            results = [old.get(c) for c in self.expected_columns(setting)]
            if len(rows) != setting.config.epochs or any(pd.isna(v) for v in results):
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


# --------------------------------------------------------------------------- running


def run_study(
    study: Study,
    ledger: Ledger,
    datasets: dict[tuple, Dataset],
    device: torch.device,
    out: Path,
    reporter: StudyReporter,
) -> None:
    """Train every setting that has pending runs, saving runs.csv and metrics.csv after each."""
    reporter.start_study(len(ledger.rows), ledger.count())
    ledger.save(out)  # at once, so the folder lists the whole plan from the start
    for index, setting in enumerate(study.settings):
        seeds = ledger.pending_seeds(index)
        if not seeds:
            continue
        reporter.start_setting(f"{setting.config.dataset} {setting.name}", len(seeds))
        data = datasets[data_key(setting.config)]
        outcomes = study.train(setting, data, seeds, device, study.options, reporter, out)
        ledger.record(index, outcomes)
        save_models(out, setting, data, outcomes)  # before runs.csv says they finished
        ledger.save(out)
        reporter.finish_setting(len(seeds))


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
    moves, missing = [], 0
    for key, old_name in ledger.restored_names.items():
        setting, seed = ledger.settings[key], int(ledger.rows[key]["seed"])
        old = out / "models" / f"{setting.config.dataset}-{old_name}" / f"seed-{seed}.pt"
        new = out / "models" / setting.stem / f"seed-{seed}.pt"
        if old == new:
            missing += not new.is_file()
            continue
        checkpoint = read_model(old)
        if checkpoint is None:
            missing += 1
            continue
        checkpoint["setting"] = setting.about
        moves.append((old, new, checkpoint))
    # All read before any is written: two settings may have swapped names.
    for _, new, checkpoint in moves:
        save_checkpoint(new, checkpoint)
    for old in {old for old, _, _ in moves} - {new for _, new, _ in moves}:
        old.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            old.parent.rmdir()  # when it held no other model
    return missing


def read_model(path: Path) -> dict | None:
    try:
        return torch.load(path, weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError):
        return None


def resume_folder(study: Study, out: Path, ledger: Ledger) -> int:
    """Check that out holds this kind of study (or nothing) and restore its finished runs."""
    if out.exists() and not out.is_dir():
        raise LenetError(f"output folder {out} is a file; choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        return 0
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


def study_record(
    study: Study, out: Path, resume: bool, device, datasets: dict[tuple, Dataset], ledger: Ledger
) -> dict:
    # groups: the seeds that train together in this session (runs kept by --resume trained
    # in the groups of the session recorded in earlier_sessions).
    settings = [
        {
            "name": s.name,
            **s.config.to_dict(),
            **s.columns,
            "seeds": s.config.seeds,
            "groups": groups(
                s.config,
                datasets[data_key(s.config)],
                device,
                study.options.group_size,
                ledger.pending_seeds(i),
            ),
        }  # fmt: skip
        for i, s in enumerate(study.settings)
    ]
    options = {
        **study.record,
        "settings": settings,
        **study.options.to_dict(),
        "out": str(out),
        "resume": resume,
    }
    env = environment(device, engine.device_description(device))
    record = run_record(study.command, options, env, {"datasets": data_records(study, datasets)})
    if resume:  # runs kept from earlier sessions may come from another machine or version
        record["earlier_sessions"] = earlier_sessions(out)
    return record


def data_records(study: Study, datasets: dict[tuple, Dataset]) -> list[dict]:
    """One record per dataset read, saying which subsets, validation share and settings it
    served: a study may read one dataset several ways."""
    records = []
    for key, data in datasets.items():
        _, train_subset, test_subset, val_split = key
        served = [s.name for s in study.settings if data_key(s.config) == key]
        records.append({
            **data_record(data),
            "train_subset": train_subset, "test_subset": test_subset, "val_split": val_split,
            "settings": served,
        })  # fmt: skip
    return records


def other_validation_draws(study: Study, record: dict) -> str:
    """The scikit-learn versions of earlier sessions that differ from this one's, where a
    setting holds out validation images (train_test_split draws them); '' when none do."""
    if not any(s.config.val_split for s in study.settings):
        return ""
    now = record["environment"]["scikit-learn"]
    versions = {
        (session.get("environment") or {}).get("scikit-learn")
        for session in record.get("earlier_sessions", [])
    }
    return ", ".join(sorted(str(v) for v in versions - {now, None}))


def earlier_sessions(out: Path) -> list[dict]:
    """When, how and where the sessions before this --resume ran, from out's config.json."""
    previous = read_config(out)
    if previous is None:
        return []
    session = {k: previous.get(k) for k in ("argv", "started_utc", "environment")}
    settings = (previous.get("options") or {}).get("settings")
    if isinstance(settings, list):  # which seeds trained together then
        session["groups"] = {
            s["name"]: s.get("groups") for s in settings if isinstance(s, dict) and "name" in s
        }
    earlier = previous.get("earlier_sessions")
    return [*(earlier if isinstance(earlier, list) else []), session]


def execute(
    study: Study,
    out: Path | None,
    *,
    default_name: str = "",
    inputs: list[Path] = (),
    overwrite: bool = False,
    resume: bool = False,
) -> tuple[pd.DataFrame, Path]:
    """Check, load, train what is not finished, write every output; return summary.csv's frame
    and the output folder: out, or runs/<default_name>-<time> (-2, -3, ... if taken meanwhile).

    Every check that can fail runs before the output folder is touched. Ctrl-C raises
    Interrupted once the finished settings are saved.
    """
    from lenetcli import progress  # late: progress imports this module

    console = progress.stdout_console()
    fresh_name = out is None
    if fresh_name and resume:
        raise LenetError(
            f"--resume needs --out: the folder of the lenet {study.command} to continue"
        )
    out = default_folder(default_name) if fresh_name else Path(out)
    check_study(study)
    if resume and overwrite:
        raise LenetError(
            "--resume continues the study in --out and --overwrite starts it again; give only one"
        )
    ledger = Ledger(study)
    if resume:
        restored = resume_folder(study, out, ledger)
        check_output_dir(out, True, study.command)  # still: can it be written?
    else:
        restored = 0
        check_output_dir(out, overwrite, study.command, [*inputs, study.options.data_folder()])
    device = engine.resolve_device(study.options.device)
    datasets = load_study_data(study)
    out = create_output_dir(out, fresh_name, exclusive=not resume and not out.exists())
    with in_use(out, study.command, replace=overwrite):
        if resume:  # again, now that the folder is held: another lenet may have written meanwhile
            ledger = Ledger(study)
            restored = resume_folder(study, out, ledger)
        record = study_record(study, out, resume, device, datasets, ledger)
        write_json(out / "config.json", record)
        if restored and (changed := other_validation_draws(study, record)):
            warn(
                f"runs kept in {out} drew their validation images with scikit-learn "
                f"{changed}, this session with {record['environment']['scikit-learn']}; the "
                "draws may differ, so compare validation accuracies across sessions with care"
            )
        if missing := rename_restored_models(out, ledger):
            warn(
                f"{missing} finished run(s) kept in {out} have no model in models/ (trained by "
                "a lenet that kept none); to study one with lenet confusion, train its setting "
                "again with lenet train"
            )
        if not study.options.quiet:
            console.print(
                describe_plan(study, ledger, restored, device, out, resume), highlight=False
            )
        try:
            with progress.make_study_reporter(console, study.options.quiet) as reporter:
                run_study(study, ledger, datasets, device, out, reporter)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {ledger.saved} of {len(ledger.rows)} runs are finished and saved in "
                f"{out}; run the same command with --resume --out {out} to continue"
            ) from None
        runs = ledger.runs_frame()
        summary = write_report(study, out, runs, ledger.metrics_frame())
    bad = runs[runs["status"] == DIVERGED]
    if len(bad):
        settings = ", ".join(bad["setting"].astype(str).drop_duplicates())
        warn_diverged(f"{len(bad)} run(s) of {settings} (status diverged in runs.csv)")
    if not study.options.quiet:
        console.print(summary_table(study, summary))
        console.print(f"Wrote {out}/", highlight=False)
    return summary, out


def describe_plan(
    study: Study, ledger: Ledger, restored: int, device, out: Path, resume: bool
) -> str:
    datasets = {s.config.dataset for s in study.settings}
    names = {s.name for s in study.settings}
    text = (
        f"{study.command.capitalize()}: {len(names)} setting(s) x {len(datasets)} dataset(s), "
        f"{len(ledger.rows)} runs, device {device}"
    )
    if restored:
        text += f"; {restored} finished run(s) in {out} are kept, {len(ledger.rows) - restored} to train"
    elif resume:  # a mistyped --out would otherwise start from scratch without a word
        text += f"; --resume found no finished run in {out}, so every run is trained"
    return text
