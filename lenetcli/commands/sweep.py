"""`lenet sweep`: the settings of a study from comma lists (a grid) or from a TOML file.

Grid form: every training option takes a comma list (`--lr 0.001,0.005`); the settings are the
cartesian product of all lists but --dataset's, and each runs on every dataset listed.

File form (`--config study.toml`, documented in docs/sweep.md):

    datasets = ["mnist"]          # optional, default ["mnist"]
    seed = 42                     # optional: runs use seed, seed+1, ..., seed+repeats-1
    repeats = 5                   # optional
    [defaults]                    # optional: shared by every setting
    epochs = 15
    [[settings]]                  # one table per setting, at least one
    name = "lr0.001-bs32"         # optional: made from the values that vary otherwise
    lr = 0.001
    batch_size = 32

Options given on the command line next to --config (one value each) override the file for
every setting, e.g. `--epochs 1 --train-subset 500` for a quick trial of a long study.

Setting ids name the values that vary between settings (`lr0.001-bs32`); the dataset is a
separate column, and file names are `<dataset>-<setting>`.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from lenetcli.config import HYPERPARAMETERS, TrainConfig, comma_items, exact, option_name
from lenetcli.errors import LenetError, unknown_choice
from lenetcli.options import DEFAULTS, TRAINING
from lenetcli.outputs.files import DATE_LIKE, NOT_TEXT
from lenetcli.outputs.results_json import print_results
from lenetcli.science.data import DATASETS, SUBSETS, check_subsets
from lenetcli.studies import session, study
from lenetcli.studies.study import Setting

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FIELDS = TrainConfig.field_names()
# How each field's values parse and check (types, 'all' for subsets): lenetcli/options.py.
# Per-setting keys of the file; dataset, seed and repeats are the study's, at the top level.
TOP_KEYS = ["datasets", "seed", "repeats", "defaults", "settings"]
# A name becomes a file name and a CSV value: from a letter, so that no spreadsheet reads it
# as a number or a date (1-2, 1e5, 0012), and never a month and a day (jan-2 is a date too).
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9._+-]{0,99}")


# How a value that varies appears in a setting id, in this order: lr0.001-bs32-ep15-sgd.
ID_PARTS = {
    "lr": lambda v: f"lr{exact(v)}",
    "lr_schedule": str,
    "batch_size": lambda v: f"bs{v}",
    "epochs": lambda v: f"ep{v}",
    "optimizer": str,
    "weight_decay": lambda v: f"wd{exact(v)}",
    "loss": str,
    "activation": str,
    "pool": lambda v: f"{v}pool",
    "seed": lambda v: f"seed{v}",
    "train_subset": lambda v: f"train{'all' if v is None else v}",
    "test_subset": lambda v: f"test{'all' if v is None else v}",
    "val_split": lambda v: f"val{exact(v)}",
}


# --------------------------------------------------------------------------- comma lists


def parse_value(field: str, text: str, where: str):
    """One value of a field from text; where names it in the error ('--lr', 'study.toml')."""
    return TRAINING[field].parse(text, where)


def parse_list(field: str, text: str) -> list:
    """The values of one option's comma list, typed; raise LenetError naming a bad item."""
    option = option_name(field)
    items = comma_items(option, text)
    values = [parse_value(field, item, option) for item in items]
    for i, value in enumerate(values):
        if value in values[:i]:
            raise LenetError(f"{option} '{text}' lists {items[i]} twice; give each value once")
    if field == "repeats" and len(values) > 1:
        # Settings that differ by repeats alone would train their first seeds twice.
        raise LenetError(
            f"--repeats '{text}' lists several values; every setting trains the same seeds, so "
            "give one (a later --resume with a larger --repeats adds seeds)"
        )
    return values


def parse_lists(texts: dict[str, str | None]) -> dict[str, list]:
    """Typed lists of the options given (None: not given), in TrainConfig's field order."""
    unknown = [f for f in texts if f not in FIELDS]
    if unknown:
        raise ValueError(f"not a TrainConfig field: {unknown[0]}")
    return {f: parse_list(f, texts[f]) for f in FIELDS if texts.get(f) is not None}


# --------------------------------------------------------------------------- setting ids


def setting_ids(configs: list[TrainConfig]) -> list[str]:
    """Short ids from the values that vary between configs (datasets aside).

    With nothing varying, the id names learning rate, batch size and epochs.
    """
    varying = [f for f in ID_PARTS if len({getattr(c, f) for c in configs}) > 1] or [
        "lr",
        "batch_size",
        "epochs",
    ]
    return ["-".join(ID_PARTS[f](getattr(c, f)) for f in varying) for c in configs]


def settings_list(table: dict, path: Path, where: str = "", key: str = "settings") -> list:
    """The settings of a study file, or of a section of one (where: ", section 1 'a'"; key:
    "sections.settings", as the file writes their tables), refused in one line when absent,
    empty or written as one table."""
    settings = table.get("settings")
    if isinstance(settings, dict):
        raise LenetError(
            f"config file {path}{where}: [{key}] is one table; write [[{key}]] (two "
            "brackets) above each setting, or settings = [{...}, ...]"
        )
    if not isinstance(settings, list) or not settings:
        raise LenetError(
            f"config file {path}{where} has no settings; add at least one [[{key}]] table, "
            "or settings = [{...}, ...]"
        )
    return settings


def check_name(name, where: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        prefixed = isinstance(name, str) and NAME_PATTERN.fullmatch(f"s{name}")
        raise LenetError(
            f"{where} {name!r} cannot be a file name or a spreadsheet's text; use up to 100 "
            f"letters, digits, '.', '_', '+' or '-', starting with a letter"
            + (f" (e.g. 's{name}')" if prefixed else "")
        )
    if name.lower() in NOT_TEXT:
        raise LenetError(
            f"{where} {name!r} would read as an empty value, a number or a truth value in "
            f"pandas or a spreadsheet; name it otherwise (e.g. '{name}1')"
        )
    if DATE_LIKE.fullmatch(name):
        raise LenetError(
            f"{where} {name!r} would read as a date in a spreadsheet; name it otherwise "
            f"(e.g. '{name.replace('-', '')}')"
        )
    if name.split(".")[0].lower() in WINDOWS_DEVICES:
        raise LenetError(
            f"{where} {name!r} cannot be a file name on Windows, which keeps it for a device; "
            f"name it otherwise (e.g. '{name}1')"
        )
    return name


# Names Windows keeps for devices, with or without an extension (con, con.txt): a folder of
# results copied there could not hold a file of that name.
WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{port}{n}" for port in ("com", "lpt") for n in range(1, 10)
}


# --------------------------------------------------------------------------- the two forms


@dataclass(frozen=True)
class SweepPlan:
    """Settings (without dataset) with their ids, and the datasets each one runs on."""

    datasets: list[str]
    names: list[str]
    configs: list[TrainConfig]  # dataset left at its default: see settings()

    def settings(self):
        """The study's settings: every dataset, then every setting on it."""
        return [
            Setting(name, replace(config, dataset=dataset))
            for dataset in self.datasets
            for name, config in zip(self.names, self.configs, strict=True)
        ]


def grid_plan(lists: dict[str, list]) -> SweepPlan:
    """The cartesian product of the lists given; the other fields keep their defaults."""
    datasets = lists.get("dataset", [DEFAULTS.dataset])
    axes = {f: values for f, values in lists.items() if f != "dataset"}
    configs = [
        replace(DEFAULTS, **dict(zip(axes, combo, strict=True)))
        for combo in itertools.product(*axes.values())
    ]
    return SweepPlan(list(datasets), setting_ids(configs), configs)


@dataclass(frozen=True)
class StudyFile:
    """A study file as read, checked key by key but not yet merged."""

    path: Path
    datasets: list[str]
    seed: int
    repeats: int
    defaults: dict
    settings: list[dict]


# A study file of a thousand settings is some 100 KB: a longer file is no study file (a wrong
# path, a data file), and is not read further.
MAX_STUDY_FILE_BYTES = 2**20


def study_file_text(path: Path) -> str:
    """The text of a study file: UTF-8, with or without the byte order mark that Windows'
    editors write, and no longer than MAX_STUDY_FILE_BYTES."""
    if path.is_dir() or not path.exists():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise LenetError(f"config file {path} {what}; give the path of a TOML study file")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_STUDY_FILE_BYTES + 1)
        text = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LenetError(f"cannot read config file {path}: {exc}") from None
    if len(raw) > MAX_STUDY_FILE_BYTES:
        raise LenetError(
            f"config file {path} is longer than a study file can be (over "
            f"{MAX_STUDY_FILE_BYTES // 2**20} MiB); give the path of a TOML study file"
        )
    return text


def file_words(exc: LenetError) -> str:
    """'--weight-decay must be ...' as a study file spells the key: 'weight_decay must be ...'."""
    option, _, rest = str(exc).partition(" ")
    return f"{option[2:].replace('-', '_')} {rest}" if option.startswith("--") else str(exc)


def read_toml(path: Path) -> tuple[str, dict]:
    """A study file's text and its TOML tables (study_file_text's checks, then the parse);
    a sweep file and a course file with sections are both read here."""
    text = study_file_text(path)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LenetError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables by recursion
        raise LenetError(
            f"config file {path} nests arrays or tables hundreds of levels deep; a study file "
            "needs two levels ([[settings]] tables of values)"
        ) from None


def read_study_file(path: Path) -> StudyFile:
    """Parse and check a TOML study file; raise LenetError naming the file and the key."""
    path = Path(path)
    _, raw = read_toml(path)
    check_keys(raw, TOP_KEYS, path, " at the top level")
    datasets = raw.get("datasets", [DEFAULTS.dataset])
    if (
        not isinstance(datasets, list)
        or not datasets
        or not all(isinstance(d, str) for d in datasets)
    ):
        raise LenetError(
            f'config file {path}: datasets must be a non-empty list of names, e.g. datasets = ["mnist"]'
        )
    seed = checked_value("seed", raw.get("seed", DEFAULTS.seed), path, "")
    repeats = checked_value("repeats", raw.get("repeats", DEFAULTS.repeats), path, "")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise LenetError(f"config file {path}: defaults must be a table, [defaults]")
    check_keys(defaults, HYPERPARAMETERS, path, " in [defaults]")
    defaults = {k: checked_value(k, v, path, " in [defaults]") for k, v in defaults.items()}
    for name in datasets:
        if name not in DATASETS:
            raise LenetError(f"config file {path}: {unknown_choice('dataset', name, DATASETS)}")
    if twice := next((name for i, name in enumerate(datasets) if name in datasets[:i]), None):
        raise LenetError(
            f"config file {path}: datasets lists '{twice}' twice; give each dataset once"
        )
    settings = settings_list(raw, path)
    checked = [
        checked_setting(
            table, path, f" in [[settings]] #{number}",
            f"config file {path}: settings #{number} must be a [[settings]] table",
        )
        for number, table in enumerate(settings, start=1)
    ]  # fmt: skip
    return StudyFile(path, datasets, seed, repeats, defaults, checked)


def checked_setting(entry, path: Path, where: str, not_a_table: str) -> dict:
    """One setting of a study file, its keys and values checked (where: the error's place;
    not_a_table: the error where it is no table): its own values, and its name if given."""
    if not isinstance(entry, dict):
        raise LenetError(not_a_table)
    check_keys(entry, ["name", *HYPERPARAMETERS], path, where)
    own = {k: checked_value(k, v, path, where) for k, v in entry.items() if k != "name"}
    if "name" in entry:
        own["name"] = check_name(entry["name"], f"config file {path}: name{where}")
    return own


def check_keys(table: dict, allowed: list[str], path: Path, where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = ""
            if key == "dataset":
                hint = ' (list datasets at the top: datasets = ["mnist"])'
            elif key in ("seed", "repeats"):
                hint = f" ({key} is set once, at the top of the file)"
            elif key in HYPERPARAMETERS:
                hint = f" ({key} goes in [defaults] or in a [[settings]] entry)"
            raise LenetError(
                f"config file {path}: unknown key '{key}'{where}{hint}; allowed: {', '.join(allowed)}"
            )


def checked_value(field: str, value, path: Path, where: str):
    """A file value of the type the field needs (an integer is a fine learning rate)."""
    return TRAINING[field].checked(value, f"config file {path}: {field}{where}")


def file_plan(
    study_file: StudyFile, overrides: dict, override_name: Callable[[str], str] = option_name
) -> SweepPlan:
    """The file's settings: defaults, then the setting's own values, then the overrides.
    override_name: how an error names an override (--lr; a profile's key)."""
    replace(DEFAULTS, **overrides).validate()  # a bad override is the command line's fault
    datasets = [overrides["dataset"]] if "dataset" in overrides else study_file.datasets
    top = {"seed": study_file.seed, "repeats": study_file.repeats}
    top |= {k: v for k, v in overrides.items() if k in ("seed", "repeats")}
    changes = {k: v for k, v in overrides.items() if k not in ("dataset", "seed", "repeats")}
    written = [top | study_file.defaults | own_values(entry) for entry in study_file.settings]
    configs = [replace(DEFAULTS, **(values | changes)) for values in written]
    made = setting_ids(configs)
    names = [entry.get("name", made[i]) for i, entry in enumerate(study_file.settings)]
    for i, (name, config) in enumerate(zip(names, configs, strict=True)):
        if config in configs[:i]:  # names would not tell them apart: nor would the runs
            first = configs.index(config)
            pair = f"[[settings]] #{first + 1} and #{i + 1}"
            ours = replace(DEFAULTS, **written[first]), replace(DEFAULTS, **written[i])
            if ours[0] == ours[1]:
                raise LenetError(
                    f"config file {study_file.path}: {pair} are the same configuration; make "
                    "them differ or drop one"
                )
            erased = [k for k in changes if getattr(ours[0], k) != getattr(ours[1], k)]
            given = " and ".join(override_name(k) for k in erased)
            raise LenetError(
                f"config file {study_file.path}: {pair} differ only in {', '.join(erased)}, "
                f"which {given} sets for every setting, so they would train the same "
                f"configuration; leave out {given}, or drop one of them from the file"
            )
        if name in names[:i]:
            raise LenetError(
                f"config file {study_file.path}: two settings are named '{name}'; give each its own name"
            )
        try:
            config.validate()
            check_subsets(config, datasets, [f for f in SUBSETS if f not in changes], option_name)
        except LenetError as exc:
            raise LenetError(
                f"config file {study_file.path}, setting '{name}': {file_words(exc)}"
            ) from None
        check_subsets(config, datasets, [f for f in SUBSETS if f in changes], override_name)
    return SweepPlan(list(datasets), names, configs)


def own_values(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "name"}


def single_values(lists: dict[str, list]) -> dict:
    """Options beside --config: one value each, applied to every setting of the file."""
    for field, values in lists.items():
        if len(values) > 1:
            raise LenetError(
                f"{option_name(field)} takes one value with --config (it overrides the file); "
                f"put lists of settings in the file"
            )
    return {field: values[0] for field, values in lists.items()}


def sweep_plan(texts: dict[str, str | None], config_path: Path | None) -> SweepPlan:
    """The plan from the command line: a grid, or a file with single-value overrides."""
    lists = parse_lists(texts)
    if config_path is None:
        if not lists:
            raise LenetError(
                "nothing to sweep: give --config FILE, or training options with comma lists such as --lr 0.001,0.005"
            )
        return grid_plan(lists)
    return file_plan(read_study_file(config_path), single_values(lists))


# --------------------------------------------------------------------------- the command


def run_sweep(
    texts: dict[str, str | None],
    config_path: Path | None,
    options,
    out: Path | None,
    overwrite: bool,
    resume: bool,
    dry_run: bool = False,
    print_json: bool = False,
) -> None:
    """`lenet sweep`: build the plan, then run it as a study (see session.execute); print
    results.json last with print_json (--json)."""
    plan = sweep_plan(texts, config_path)
    record = {
        "config_file": None if config_path is None else str(Path(config_path).resolve()),
        "lists": {f: t for f, t in texts.items() if t is not None},
    }
    if config_path is not None:
        record["config_text"] = study_file_text(Path(config_path))  # as read: no BOM
    sweep = study.Study("sweep", plan.settings(), options, record=record)
    inputs = [] if config_path is None else [config_path]
    _, out = session.execute(
        sweep, out, default_name="sweep", inputs=inputs, overwrite=overwrite, resume=resume,
        dry_run=dry_run,
    )  # fmt: skip
    if print_json and not dry_run:  # a dry run writes no results
        print_results(out)
