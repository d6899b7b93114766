"""The course study: a study file with sections (lenetcli/studies/lenet5.toml ships the
LeNet-5 course), read here and run section by section into subfolders of one folder.

A study file with sections is the file `lenet sweep --config` reads, extended (docs/sweep.md):

    title = "..."                 # optional
    seed = 42                     # optional, shared by every section (as in a sweep file)
    repeats = 5                   # optional, likewise
    [defaults]                    # optional: shared by every setting of every section
    [profiles.quick]              # optional: values replacing those of every setting
    [[sections]]                  # one table per section, numbered 1, 2, ... in file order
    name = "hyperparameters"      # its folder: <out>/1-hyperparameters/
    kind = "sweep"                # sweep (default), datasets, confusion or noise
    ...                           # the kind's keys, below

- sweep: what a sweep file holds (datasets, seed, repeats, [defaults], settings), or
  `[[sections.studies]]`, several of them, each with a name and into its own subfolder;
- datasets: the best setting of the sweep section `best_of` on other `datasets`, with
  `epochs` per dataset; also datasets.csv, the cross-dataset table (best_of's dataset first);
- confusion: per dataset, every seed's model of the best setting of the first section of
  `models_of` that trained on it: the confusion over seeds and its hard samples (seeds.py);
- noise: one dataset, `symmetric` and `pair` rates and a `transition` matrix file, as
  `lenet noise` runs them, plus memorisation.csv (peak against final test accuracy).

A file without [[sections]] is a plain sweep file and means what it means to `lenet sweep`:
one sweep section. Values are inherited from the top to the section to its studies to each
setting, and a profile's values replace them all (as options beside `lenet sweep --config`
do); profile `full` is the file as written.

`run_course` runs the chosen sections; each writes what the command it stands for writes
(execute for sweeps, run_noise_study for noise), so every tool reads the folders, and a
second call reuses every finished run. <out>/course.json records the file, the profile and
the best settings chosen; <out>/discussion.csv the sentences studies/discussion.py makes of
the numbers.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lenetcli.commands.diagnostics import RIGHT_COLOR, WRONG_COLOR
from lenetcli.commands.noise import noise_record, run_noise_study
from lenetcli.commands.sweep import (
    DEFAULTS,
    SETTING_KEYS,
    StudyFile,
    SweepPlan,
    check_keys,
    check_name,
    checked_setting,
    checked_value,
    file_plan,
    read_study_file,
    read_toml,
    setting_ids,
    settings_list,
)
from lenetcli.config import RunOptions, TrainConfig, check_seed_range
from lenetcli.errors import Interrupted, LenetError, unknown_choice
from lenetcli.outputs import progress
from lenetcli.outputs.checkpoint import load_checkpoint, seed_models, seed_of
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    environment,
    finishing,
    in_use,
    read_csv,
    run_record,
    save_figure,
    write_csv,
    write_json,
)
from lenetcli.outputs.plots import confusion_figure, gallery_figure
from lenetcli.outputs.progress import stdout_console
from lenetcli.science import seeds
from lenetcli.science.data import DATASETS, ensure_files, get_spec, load_dataset
from lenetcli.science.engine import device_description, predict, resolve_device
from lenetcli.science.noise import (
    CLEAN,
    check_rate,
    custom_setting,
    noise_settings,
    read_transition_csv,
)
from lenetcli.studies import discussion
from lenetcli.studies.results import trained_runs
from lenetcli.studies.session import execute
from lenetcli.studies.study import Setting, Study, check_study
from lenetcli.studies.summary import best_by

SHIPPED = "lenet5.toml"  # in lenetcli/studies, beside the files it names
KINDS = ("sweep", "datasets", "confusion", "noise")
TOP_KEYS = ["title", "seed", "repeats", "defaults", "profiles", "sections"]
COMMON_KEYS = ["name", "title", "kind"]
INHERITED = ["seed", "repeats", "defaults"]
SECTION_KEYS = {
    "sweep": [*COMMON_KEYS, "datasets", *INHERITED, "settings", "studies"],
    "datasets": [*COMMON_KEYS, "best_of", "datasets", "epochs", "seed", "repeats"],
    "confusion": [*COMMON_KEYS, "models_of", "datasets", "top", "per_pair"],
    "noise": [*COMMON_KEYS, "datasets", *INHERITED, "symmetric", "pair", "transition",
              "noise_seed"],
}  # fmt: skip
STUDY_KEYS = ["name", "datasets", *INHERITED, "settings"]  # one of [[sections.studies]]
PROFILE_KEYS = [*SETTING_KEYS, "seed", "repeats"]
FULL = "full"  # the profile that is the file as written
COURSE_RECORD = "course.json"


def shipped_study() -> str:
    """The text of the course study shipped with lenetcli (for --print-study)."""
    return resources.files("lenetcli.studies").joinpath(SHIPPED).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the parsed file


@dataclass(frozen=True)
class Part:
    """One study of a sweep section, as a `lenet sweep --config` file holds it."""

    name: str | None  # its subfolder of the section's folder; None: the folder itself
    study: StudyFile


@dataclass(frozen=True)
class SweepSpec:
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class DatasetsSpec:
    best_of: str  # the name of a sweep section of one study
    datasets: tuple[str, ...]
    epochs: dict[str, int]  # per dataset; the others keep the best setting's
    seed: int
    repeats: int


@dataclass(frozen=True)
class ConfusionSpec:
    models_of: tuple[str, ...]  # names of sweep or datasets sections, first match first
    datasets: tuple[str, ...]
    top: int
    per_pair: int


@dataclass(frozen=True, eq=False)
class NoiseSpec:
    study: StudyFile  # one dataset and one (empty) setting: the configuration of every run
    symmetric: tuple[float, ...]
    pair: tuple[float, ...]
    transition: np.ndarray | None
    transition_file: Path | None
    noise_seed: int


@dataclass(frozen=True)
class Section:
    number: int  # 1, 2, ... in file order
    name: str
    title: str
    kind: str
    spec: SweepSpec | DatasetsSpec | ConfusionSpec | NoiseSpec

    @property
    def folder(self) -> str:
        return f"{self.number}-{self.name}"

    def where(self) -> str:
        return f"section {self.number} '{self.name}'"


@dataclass(frozen=True)
class CourseFile:
    path: Path
    text: str
    title: str
    profiles: dict[str, dict]  # name -> values replacing every setting's (full: none)
    sections: tuple[Section, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.name == name)


@dataclass(frozen=True)
class Inherited:
    """What a section or study takes from above it unless it sets its own."""

    seed: int = DEFAULTS.seed
    repeats: int = DEFAULTS.repeats
    defaults: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- reading


def read_course_file(path: Path | None = None) -> CourseFile:
    """Parse and check a study file (the shipped course when path is None); raise one
    LenetError naming the file, the section and the key of the first problem."""
    if path is None:
        with resources.as_file(resources.files("lenetcli.studies").joinpath(SHIPPED)) as found:
            return read_course_file(found)
    path = Path(path)
    text, raw = read_toml(path)
    if "sections" not in raw:  # a plain sweep file: one sweep section, meaning what it means
        study = read_study_file(path)
        section = Section(1, "sweep", path.stem, "sweep", SweepSpec((Part(None, study),)))
        return CourseFile(path, text, path.stem, {FULL: {}}, (section,))
    check_keys(raw, TOP_KEYS, path, " at the top level")
    title = raw.get("title", path.stem)
    if not isinstance(title, str):
        raise LenetError(f"config file {path}: title must be a text value in quotes")
    top = inherited(raw, Inherited(), path, " at the top level")
    profiles = read_profiles(raw.get("profiles", {}), path)
    tables = raw["sections"]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise LenetError(
            f"config file {path}: sections must be [[sections]] tables (two brackets), at least one"
        )
    sections: list[Section] = []
    for number, table in enumerate(tables, start=1):
        sections.append(read_section(number, table, top, sections, path))
    return CourseFile(path, text, title, profiles, tuple(sections))


def inherited(table: dict, above: Inherited, path: Path, where: str) -> Inherited:
    """seed, repeats and [defaults] of a table, each falling back to those above it; a
    table's defaults add to (and override) the defaults above."""
    seed = checked_value("seed", table.get("seed", above.seed), path, where)
    repeats = checked_value("repeats", table.get("repeats", above.repeats), path, where)
    defaults = table.get("defaults", {})
    if not isinstance(defaults, dict):
        raise LenetError(f"config file {path}: defaults{where} must be a table, [defaults]")
    check_keys(defaults, SETTING_KEYS, path, f" in the defaults{where}")
    own = {k: checked_value(k, v, path, f" in the defaults{where}") for k, v in defaults.items()}
    return Inherited(seed, repeats, above.defaults | own)


def read_profiles(profiles, path: Path) -> dict[str, dict]:
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise LenetError(f"config file {path}: profiles must be tables such as [profiles.quick]")
    checked = {FULL: {}}
    for name, table in profiles.items():
        where = f" in [profiles.{name}]"
        check_keys(table, PROFILE_KEYS, path, where)
        values = {k: checked_value(k, v, path, where) for k, v in table.items()}
        try:
            replace(DEFAULTS, **values).validate()
        except LenetError as exc:
            raise LenetError(f"config file {path}, [profiles.{name}]: {file_words(exc)}") from None
        checked[name] = values
    return checked


def file_words(exc: LenetError) -> str:
    """'--weight-decay must be ...' as the file spells the key: 'weight_decay must be ...'."""
    option, _, rest = str(exc).partition(" ")
    return f"{option[2:].replace('-', '_')} {rest}" if option.startswith("--") else str(exc)


def read_section(
    number: int, table: dict, top: Inherited, earlier: list[Section], path: Path
) -> Section:
    name = check_name(table.get("name"), f"config file {path}: the name of section {number}")
    if name in {s.name for s in earlier}:
        raise LenetError(
            f"config file {path}: two sections are named '{name}'; give each its own name"
        )
    where = f" in section {number} '{name}'"
    kind = table.get("kind", "sweep")
    if kind not in KINDS:
        raise LenetError(
            f"config file {path}{where.replace(' in', ',')}: {unknown_choice('kind', kind, KINDS)}"
        )
    check_keys(table, SECTION_KEYS[kind], path, where)
    title = table.get("title", name)
    if not isinstance(title, str):
        raise LenetError(f"config file {path}: title{where} must be a text value in quotes")
    readers = {
        "sweep": read_sweep, "datasets": read_datasets, "confusion": read_confusion,
        "noise": read_noise,
    }  # fmt: skip
    spec = readers[kind](table, top, earlier, path, where)
    return Section(number, name, title, kind, spec)


def read_datasets_list(table: dict, path: Path, where: str, default=None) -> list[str]:
    names = table.get("datasets", default)
    if not isinstance(names, list) or not names or not all(isinstance(d, str) for d in names):
        raise LenetError(
            f'config file {path}: datasets{where} must be a non-empty list of names, e.g. datasets = ["mnist"]'
        )
    for name in names:
        if name not in DATASETS:
            raise LenetError(
                f"config file {path}{where}: {unknown_choice('dataset', name, DATASETS)}"
            )
    if len(set(names)) < len(names):
        raise LenetError(f"config file {path}: datasets{where} lists a dataset twice")
    return list(names)


def study_body(table: dict, above: Inherited, path: Path, where: str) -> StudyFile:
    """A sweep file's worth (datasets, seed, repeats, defaults, settings) in a table."""
    values = inherited(table, above, path, where)
    datasets = read_datasets_list(table, path, where, [DEFAULTS.dataset])
    settings = settings_list(table, path, where.replace(" in", ","), "sections.settings")
    checked = [
        checked_setting(
            entry, path, f"{where}, settings #{number}",
            f"config file {path}: settings #{number}{where} must be a table",
        )
        for number, entry in enumerate(settings, start=1)
    ]  # fmt: skip
    return StudyFile(path, datasets, values.seed, values.repeats, values.defaults, checked)


def read_sweep(table, top: Inherited, earlier, path: Path, where: str) -> SweepSpec:
    if "studies" not in table:
        return SweepSpec((Part(None, study_body(table, top, path, where)),))
    studies = table["studies"]
    if "settings" in table or "datasets" in table:
        raise LenetError(
            f"config file {path}{where.replace(' in', ',')} has both studies and its own "
            "settings or datasets; put them in one more [[sections.studies]] table"
        )
    if (
        not isinstance(studies, list)
        or not studies
        or not all(isinstance(s, dict) for s in studies)
    ):
        raise LenetError(
            f"config file {path}: studies{where} must be [[sections.studies]] tables, at least one"
        )
    section = inherited(table, top, path, where)
    parts = []
    for number, study in enumerate(studies, start=1):
        at = f"{where}, studies #{number}"
        check_keys(study, STUDY_KEYS, path, at)
        name = check_name(
            study.get("name"), f"config file {path}: the name of studies #{number}{where}"
        )
        if name in {p.name for p in parts}:
            raise LenetError(f"config file {path}: two studies{where} are named '{name}'")
        parts.append(Part(name, study_body(study, section, path, f"{where}, study '{name}'")))
    return SweepSpec(tuple(parts))


def earlier_section(name, earlier: list[Section], kinds: tuple[str, ...], path, where, key):
    """The earlier section a key names, of one of these kinds."""
    found = next((s for s in earlier if s.name == name), None)
    if found is None or found.kind not in kinds:
        names = [s.name for s in earlier if s.kind in kinds]
        allowed = ", ".join(names) if names else "none yet"
        raise LenetError(
            f"config file {path}: {key}{where} is {name!r}, not the name of an earlier section "
            f"of kind {' or '.join(kinds)} (those above it: {allowed})"
        )
    return found


def positive(key: str, value, path: Path, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LenetError(
            f"config file {path}: {key}{where} must be a positive whole number, got {value!r}"
        )
    return value


def read_datasets(table, top: Inherited, earlier, path: Path, where: str) -> DatasetsSpec:
    best_of = table.get("best_of")
    source = earlier_section(best_of, earlier, ("sweep",), path, where, "best_of")
    if len(source.spec.parts) > 1:
        raise LenetError(
            f"config file {path}: best_of{where} names '{best_of}', a section of several "
            "studies; name a sweep section of one study"
        )
    datasets = read_datasets_list(table, path, where)
    epochs = table.get("epochs", {})
    if not isinstance(epochs, dict):
        raise LenetError(
            f"config file {path}: epochs{where} must be a table of datasets, e.g. epochs = "
            "{ fashion-mnist = 30 }"
        )
    for name, value in epochs.items():
        if name not in datasets:
            raise LenetError(
                f"config file {path}: epochs{where} names {name!r}, which is not in its datasets ({', '.join(datasets)})"
            )
        positive(f"epochs.{name}", value, path, where)
    values = inherited(table, top, path, where)
    return DatasetsSpec(best_of, tuple(datasets), dict(epochs), values.seed, values.repeats)


def trained_datasets(section: Section) -> list[str]:
    """The datasets whose models a sweep or datasets section writes."""
    if section.kind == "datasets":
        return list(section.spec.datasets)
    return [d for part in section.spec.parts for d in part.study.datasets]


def read_confusion(table, top: Inherited, earlier, path: Path, where: str) -> ConfusionSpec:
    models_of = table.get("models_of")
    if isinstance(models_of, str):
        models_of = [models_of]
    if not isinstance(models_of, list) or not models_of:
        raise LenetError(
            f'config file {path}: models_of{where} must list earlier sections, e.g. models_of = ["hyperparameters"]'
        )
    sources = [
        earlier_section(n, earlier, ("sweep", "datasets"), path, where, "models_of")
        for n in models_of
    ]
    covered = list(dict.fromkeys(d for s in sources for d in trained_datasets(s)))
    datasets = read_datasets_list(table, path, where, covered)
    for name in datasets:
        if name not in covered:
            raise LenetError(
                f"config file {path}: datasets{where} lists {name}, but no section of models_of "
                f"({', '.join(models_of)}) trains on it"
            )
    top_pairs = positive("top", table.get("top", 3), path, where)
    per_pair = positive("per_pair", table.get("per_pair", 16), path, where)
    return ConfusionSpec(tuple(models_of), tuple(datasets), top_pairs, per_pair)


def read_noise(table, top: Inherited, earlier, path: Path, where: str) -> NoiseSpec:
    datasets = read_datasets_list(table, path, where, [DEFAULTS.dataset])
    if len(datasets) != 1:
        raise LenetError(
            f"config file {path}: datasets{where} must name one dataset: a noise study runs on one"
        )
    values = inherited(table, top, path, where)
    study = StudyFile(path, datasets, values.seed, values.repeats, values.defaults, [{}])
    rates = {}
    for key in ("symmetric", "pair"):
        given = table.get(key, [])
        if not isinstance(given, list) or not all(
            isinstance(r, int | float) and not isinstance(r, bool) for r in given
        ):
            raise LenetError(
                f"config file {path}: {key}{where} must be a list of rates such as [0, 0.2, 0.4]"
            )
        try:
            rates[key] = tuple(sorted({check_rate(r) for r in given}))
        except LenetError as exc:
            raise LenetError(f"config file {path}: {key}{where}: {exc}") from None
    transition, transition_file = None, None
    if "transition" in table:
        name = table["transition"]
        if not isinstance(name, str):
            raise LenetError(
                f"config file {path}: transition{where} must be the path of a CSV file, in quotes"
            )
        k = len(get_spec(datasets[0]).classes)
        try:
            transition, transition_file = read_beside(path, name, k)
        except LenetError as exc:
            raise LenetError(f"config file {path}: transition{where}: {exc}") from None
    if not (rates["symmetric"] or rates["pair"] or transition is not None):
        raise LenetError(
            f"config file {path}{where.replace(' in', ',')} has no noise; give symmetric or pair rates, or a transition file"
        )
    noise_seed = table.get("noise_seed", 0)
    if isinstance(noise_seed, bool) or not isinstance(noise_seed, int):
        raise LenetError(
            f"config file {path}: noise_seed{where} must be a whole number, got {noise_seed!r}"
        )
    return NoiseSpec(
        study, rates["symmetric"], rates["pair"], transition, transition_file, noise_seed
    )


def read_beside(study_path: Path, name: str, k: int) -> tuple[np.ndarray, Path]:
    """The K x K matrix of a transition file a study file names, and its path: relative to
    the study file's folder; where no such file is there but lenetcli ships one of that name
    (beside a copy of the shipped study), the shipped one."""
    given = Path(name).expanduser()
    path = given if given.is_absolute() else study_path.parent / given
    if not path.exists() and not given.is_absolute() and len(given.parts) == 1:
        shipped = resources.files("lenetcli.studies").joinpath(name)
        if shipped.is_file():
            with resources.as_file(shipped) as found:
                return read_transition_csv(Path(found), k), Path(found)
    return read_transition_csv(path, k), path


# --------------------------------------------------------------------------- planning


def profile_values(course: CourseFile, profile: str) -> dict:
    if profile not in course.profiles:
        raise unknown_choice(f"profile of {course.path}", profile, list(course.profiles))
    return course.profiles[profile]


def choose_sections(course: CourseFile, numbers: list[int] | None) -> list[Section]:
    if numbers is None:
        return list(course.sections)
    known = {s.number: s for s in course.sections}
    for number in numbers:
        if number not in known:
            names = ", ".join(f"{s.number} ({s.name})" for s in course.sections)
            raise LenetError(f"{course.path} has no section {number}; its sections are {names}")
    return [known[n] for n in sorted(set(numbers))]


def in_section(
    exc: LenetError, course: CourseFile, section: Section, part: Part | None = None
) -> LenetError:
    """A file_plan error ('config file X, setting ...') with the section it is in."""
    place = section.where() + (f", study '{part.name}'" if part and part.name else "")
    text = str(exc)
    prefix = f"config file {course.path}"
    if text.startswith(prefix):
        return LenetError(f"{prefix}, {place}{text[len(prefix) :]}")
    return LenetError(f"config file {course.path}, {place}: {file_words(exc)}")


def part_plan(course: CourseFile, section: Section, part: Part, overrides: dict) -> SweepPlan:
    try:
        return file_plan(part.study, overrides)
    except LenetError as exc:
        raise in_section(exc, course, section, part) from None


def noise_config(course: CourseFile, section: Section, overrides: dict) -> TrainConfig:
    spec = section.spec
    try:
        config = file_plan(spec.study, overrides).settings()[0].config
        check_seed_range("noise_seed", spec.noise_seed, config.repeats)
    except LenetError as exc:
        raise in_section(exc, course, section) from None
    return config


def noise_list(section: Section, k: int):
    """The noise settings of a noise section: the clean baseline once (when a rate 0 is
    given), then symmetric, pair, and the transition matrix."""
    spec = section.spec
    clean = 0.0 in spec.symmetric or 0.0 in spec.pair
    settings = noise_settings(k, ["symmetric"], [0.0]) if clean else []
    for noise_type, rates in (("symmetric", spec.symmetric), ("pair", spec.pair)):
        settings += noise_settings(k, [noise_type], [r for r in rates if r > 0])
    if spec.transition is not None:
        settings.append(custom_setting(spec.transition))
    return settings


def section_folder(out: Path, section: Section, part: Part | None = None) -> Path:
    folder = Path(out) / section.folder
    return folder / part.name if part is not None and part.name else folder


def study_folders(out: Path, section: Section) -> list[Path]:
    """The study folders a sweep or datasets section writes."""
    if section.kind == "datasets":
        return [section_folder(out, section)]
    return [section_folder(out, section, part) for part in section.spec.parts]


def has_results(folder: Path) -> bool:
    return (folder / "summary.csv").is_file()


def check_needs(course: CourseFile, chosen: list[Section], out: Path, kept: bool = True) -> None:
    """A section that builds on another (best_of, models_of) that does not run now needs
    that one's results in out already (kept: out's results stay; not with --overwrite)."""
    running = {s.name for s in chosen}
    for section in chosen:
        needs = []
        if section.kind == "datasets":
            needs = [section.spec.best_of]
        elif section.kind == "confusion":
            needs = list(section.spec.models_of)
        for name in needs:
            source = course.section(name)
            if name in running:
                continue
            if not kept or not all(has_results(f) for f in study_folders(out, source)):
                raise LenetError(
                    f"{section.where()} builds on the results of section {source.number} "
                    f"'{name}', which {out} does not hold yet; run section {source.number} too"
                )


def check_out(out: Path, course: CourseFile, profile: str) -> None:
    """out is new, empty, or a course study's folder of the same profile."""
    if out.exists() and not out.is_dir():
        raise LenetError(f"output folder {out} is a file; choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        return
    record = read_config_file(out / COURSE_RECORD)
    if record is None:
        raise LenetError(
            f"output folder {out} is not empty and holds no {COURSE_RECORD} of a course study; "
            "choose another --out"
        )
    if record.get("profile") != profile:
        raise LenetError(
            f"{out} holds the course study's profile {record.get('profile')!r}, not {profile!r}: "
            "its runs are other runs; choose another --out"
        )


def read_config_file(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


@dataclass
class Plan:
    """What is known before anything runs: each sweep part's plan, the noise config."""

    sweeps: dict[tuple[str, str | None], SweepPlan] = field(default_factory=dict)
    noise: dict[str, TrainConfig] = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)  # the profile's values

    def runs(self, section: Section) -> tuple[int, int]:
        """(runs, model-epochs) of a section; a datasets section's model-epochs where its
        best setting's epochs count are those of best_of's longest setting (its best is not
        known before it has run); (0, 0) for confusion, which trains nothing."""
        if section.kind == "datasets":
            spec = section.spec
            source = self.sweeps[(spec.best_of, None)]
            repeats = self.overrides.get("repeats", spec.repeats)
            longest = max(c.epochs for c in source.configs)
            epochs = [
                self.overrides.get("epochs", spec.epochs.get(d, longest)) for d in spec.datasets
            ]
            return len(spec.datasets) * repeats, repeats * sum(epochs)
        if section.kind == "sweep":
            settings = [
                s for part in section.spec.parts
                for s in self.sweeps[(section.name, part.name)].settings()
            ]  # fmt: skip
            return (
                sum(s.config.repeats for s in settings),
                sum(s.config.repeats * s.config.epochs for s in settings),
            )
        if section.kind == "noise":
            config = self.noise[section.name]
            settings = len(noise_list(section, len(get_spec(config.dataset).classes)))
            return settings * config.repeats, settings * config.repeats * config.epochs
        return 0, 0


def make_plan(
    course: CourseFile, chosen: list[Section], overrides: dict, options: RunOptions
) -> Plan:
    """Every plan that does not wait for results, checked as the studies will be."""
    plan = Plan(overrides=overrides)
    for section in chosen:
        if section.kind == "sweep":
            for part in section.spec.parts:
                sweep = part_plan(course, section, part, overrides)
                plan.sweeps[(section.name, part.name)] = sweep
                check_study(Study("sweep", sweep.settings(), options))
        elif section.kind == "noise":
            plan.noise[section.name] = noise_config(course, section, overrides)
    for section in chosen:  # a datasets section needs its best_of's plan, run or not
        if section.kind == "datasets":
            source = course.section(section.spec.best_of)
            part = source.spec.parts[0]
            plan.sweeps.setdefault((source.name, None), part_plan(course, source, part, overrides))
    return plan


# --------------------------------------------------------------------------- running


@dataclass
class CourseRun:
    """What run_course did: the folder, course.json's record and the discussion."""

    out: Path
    record: dict
    sentences: list[discussion.Sentence]
    course: CourseFile | None = None


# What run_course passes a finishing step (the report), inside the folder's lock.
Finish = Callable[[CourseRun], None]
UNFINISHED = "before all its files were written"  # config.json's mark meanwhile


def run_course(
    study_file: Path | None,
    out: Path,
    profile: str = FULL,
    sections: list[int] | None = None,
    options: RunOptions | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    finish: Finish | None = None,
) -> CourseRun:
    """Run the chosen sections of a study file (the shipped course when None) into out.

    Everything that can be checked before training is checked before anything is written:
    the file, the profile, the sections and what they build on, every plan that does not
    wait for results, the datasets' files and out. A second call reuses every finished run;
    resume insists that out holds a study already, overwrite replaces the one it holds.
    dry_run: print the plan (with an ETA where an earlier session's pace is known) and
    write nothing. finish: called last, with the folder still held (the report).
    """
    out, options = Path(out), options or RunOptions()
    course = read_course_file(study_file)
    overrides = profile_values(course, profile)
    chosen = choose_sections(course, sections)
    check_flags(out, resume, overwrite)
    if overwrite:
        check_output_dir(out, True, "report", [course.path, options.data_folder()])
    else:
        check_out(out, course, profile)
    check_needs(course, chosen, out, kept=not overwrite)
    plan = make_plan(course, chosen, overrides, options)
    console = stdout_console(options.quiet and not dry_run)  # a dry run's plan is its output
    previous = {} if overwrite else read_config_file(out / COURSE_RECORD) or {}
    console.print(describe_course(course, chosen, plan, profile, out, previous), highlight=False)
    if dry_run:
        console.print("Dry run: nothing was trained or written.", highlight=False)
        return CourseRun(out, previous, [], course)
    for name in used_datasets(chosen, plan):
        if name != "digits":
            ensure_files(get_spec(name), options.data_folder(), options.download, options.quiet)
    create_output_dir(out)
    with in_use(out, "report", replace=overwrite):
        record = course_record(course, profile, overrides, out, options)
        config = report_record(course, profile, out, options, record)
        write_json(out / "config.json", {**config, "interrupted": UNFINISHED})
        write_json(out / COURSE_RECORD, record)  # at once: an interrupted course continues
        go_on = f"run the same study into {out} again (with --resume) to continue"
        try:
            with progress.make_course_reporter(console, options.quiet) as reporter:
                reporter.start_course(*course_runs(course, chosen, plan, out))
                for section in chosen:
                    run_one(course, section, plan, overrides, out, options, record, reporter)
        except KeyboardInterrupt:  # outside a section's training (which says what it kept)
            raise Interrupted(
                f"interrupted: the runs finished so far are saved in {out}; {go_on}"
            ) from None
        with finishing(out, config, go_on=go_on):
            sentences = course_discussion(course, out)
            write_csv(out / "discussion.csv", discussion.sentences_frame(sentences))
            run = CourseRun(out, record, sentences, course)
            if finish is not None:
                finish(run)
    return run


def check_flags(out: Path, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise LenetError(
            "--resume continues the study in --out and --overwrite starts it again; give only one"
        )
    if resume and not (out / COURSE_RECORD).is_file():
        raise LenetError(
            f"--resume continues a study in --out, and {out} holds none (no {COURSE_RECORD}); "
            "leave out --resume to start one there"
        )


def run_one(course, section, plan, overrides, out, options, record, reporter) -> None:
    """One section, its time and the model-epochs it trained recorded in course.json (also
    when interrupted: the pace gives the next session its ETA)."""
    console = stdout_console(options.quiet)
    console.print(
        f"\nSection {section.number}: {section.title} → {section_folder(out, section)}/",
        highlight=False,
    )
    reporter.start_section(f"§{section.number}")
    before = finished_model_epochs(out, section)
    started = time.perf_counter()
    entry = dict(record["sections"].get(str(section.number)) or {})
    try:
        best = run_section(course, section, plan, overrides, out, options, reporter)
    except Interrupted:
        entry["pace"] = pace(entry, out, section, before, started)
        record["sections"][str(section.number)] = entry
        write_json(out / COURSE_RECORD, record)
        raise Interrupted(
            f"interrupted in section {section.number} '{section.name}': the runs "
            f"finished so far are saved in {out}; run the same study into the same "
            "folder again (with --resume) to continue"
        ) from None
    record["sections"][str(section.number)] = {
        **entry, "name": section.name, "title": section.title, "kind": section.kind,
        "folder": section.folder, "seconds": round(time.perf_counter() - started, 3),
        "pace": pace(entry, out, section, before, started), **best,
    }  # fmt: skip
    write_json(out / COURSE_RECORD, record)


def pace(entry: dict, out: Path, section: Section, before: int, started: float) -> dict:
    """The seconds and model-epochs of every session that trained in a section, summed: the
    pace an ETA uses. A session that trained nothing (it only re-rendered) adds nothing."""
    known = entry.get("pace") or {"seconds": 0.0, "model_epochs": 0}
    trained = finished_model_epochs(out, section) - before
    if trained <= 0:
        return known
    return {
        "seconds": round(known["seconds"] + time.perf_counter() - started, 3),
        "model_epochs": known["model_epochs"] + trained,
    }


def section_runs(out: Path, section: Section) -> pd.DataFrame:
    """The trained runs (finished or diverged) of a section's studies in out, so far."""
    if section.kind == "confusion":
        return pd.DataFrame(columns=["epochs"])
    folders = [section_folder(out, section)] if section.kind == "noise" else None
    frames = [
        read_csv(folder / "runs.csv")
        for folder in folders or study_folders(out, section)
        if (folder / "runs.csv").is_file()
    ]
    if not frames:
        return pd.DataFrame(columns=["epochs"])
    runs = pd.concat(frames, ignore_index=True)
    return trained_runs(runs)


def finished_model_epochs(out: Path, section: Section) -> int:
    return int(section_runs(out, section)["epochs"].sum())


def course_runs(course: CourseFile, chosen, plan: Plan, out: Path) -> tuple[int, int]:
    """(runs, of which finished already) of the chosen sections: the study's progress."""
    total = done = 0
    for section in chosen:
        runs, _ = plan.runs(section)
        total += runs
        done += min(runs, len(section_runs(out, section)))
    return total, done


def used_datasets(chosen: list[Section], plan: Plan) -> list[str]:
    names = []
    for section in chosen:
        if section.kind == "sweep":
            names += [d for part in section.spec.parts for d in part.study.datasets]
        elif section.kind in ("datasets", "confusion"):
            names += list(section.spec.datasets)
        else:
            names.append(plan.noise[section.name].dataset)
    return list(dict.fromkeys(names))


def describe_course(
    course: CourseFile, chosen, plan: Plan, profile: str, out: Path, previous: dict
) -> str:
    """The plan: per section its runs and model-epochs (and how many are finished in out),
    the total, and an ETA at the pace earlier sessions trained at in out, where known."""
    lines = [f"{course.title}: {len(chosen)} section(s), profile {profile}, into {out}/"]
    paces = {
        number: entry.get("pace") or {}
        for number, entry in (previous.get("sections") or {}).items()
        if isinstance(entry, dict)
    }
    known = [p for p in paces.values() if p.get("model_epochs")]
    overall = (
        sum(p["seconds"] for p in known) / sum(p["model_epochs"] for p in known) if known else None
    )
    total_runs = total_epochs = left_epochs = 0
    eta = 0.0
    for section in chosen:
        runs, epochs = plan.runs(section)
        done = min(epochs, finished_model_epochs(out, section))
        total_runs, total_epochs, left_epochs = (
            total_runs + runs, total_epochs + epochs, left_epochs + epochs - done,
        )  # fmt: skip
        own = paces.get(str(section.number)) or {}
        rate = own["seconds"] / own["model_epochs"] if own.get("model_epochs") else overall
        eta += (epochs - done) * (rate or 0.0)
        what = f"{runs} runs, {epochs} model-epochs" if runs else "no training"
        if done:
            what += f" ({done} finished in {out})"
        if section.kind == "datasets":
            what += f": the best setting of section '{section.spec.best_of}' on " + ", ".join(
                section.spec.datasets
            )
        elif section.kind == "confusion":
            what += f": the models of {', '.join(section.spec.models_of)}"
        lines.append(f"  {section.number}. {section.title} ({section.kind}): {what}")
    lines.append(f"Total: {total_runs} runs, {total_epochs} model-epochs, {left_epochs} to train")
    if left_epochs and overall is not None:
        lines.append(
            f"ETA {progress.clock(eta)} at the pace of the earlier sessions in {out} "
            "(per section where it trained before)"
        )
    elif left_epochs:
        lines.append(
            "No time estimate: no earlier session trained in this folder (a later call or "
            "--resume gives one)."
        )
    return "\n".join(lines)


def report_record(course: CourseFile, profile: str, out: Path, options, record: dict) -> dict:
    """config.json: marks out as lenet report's (so that --overwrite knows its files, the
    section folders among them); run_course marks it unfinished until the report is written."""
    options_record = {
        "study": {
            "file": str(course.path), "sha256": course.sha256, "profile": profile,
            "folders": [s.folder for s in course.sections],
        },
        "out": str(out), **options.to_dict(),
    }  # fmt: skip
    return run_record("report", options_record, record["environment"], {})


def course_record(course: CourseFile, profile: str, overrides: dict, out: Path, options) -> dict:
    """course.json: the study file, the profile and, per section, what ran; sections run in
    an earlier call and not now keep their entries."""
    previous = read_config_file(out / COURSE_RECORD) or {}
    device = resolve_device(options.device)
    return {
        "kind": "lenet course study",
        "title": course.title,
        "study_file": str(course.path),
        "study_sha256": course.sha256,
        "study_text": course.text,
        "profile": profile,
        "profile_values": overrides,
        "options": options.to_dict(),
        "environment": environment(device, device_description(device)),
        "sections": dict(previous.get("sections") or {}),
    }


def nonempty(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def run_section(
    course, section: Section, plan: Plan, overrides, out: Path, options, reporter=None
) -> dict:
    """Run one section; return what course.json should say of it beyond its name."""
    if section.kind == "sweep":
        return run_sweep_section(course, section, plan, out, options, reporter)
    if section.kind == "datasets":
        return run_datasets_section(course, section, plan, overrides, out, options, reporter)
    if section.kind == "noise":
        return run_noise_section(course, section, plan, out, options, reporter)
    return run_confusion_section(course, section, out, options)


def sweep_record(course: CourseFile, section: Section, part: Part | None = None) -> dict:
    return {
        "config_file": str(course.path),
        "config_text": course.text,
        "lists": {},
        "course": {"section": section.number, "name": section.name,
                   "study": None if part is None else part.name},
    }  # fmt: skip


def run_study(study: Study, folder: Path, reporter=None) -> pd.DataFrame:
    """A study into its folder, as `lenet sweep` or `lenet noise` would, resuming what is there."""
    summary, _ = execute(study, folder, resume=nonempty(folder), reporter=reporter)
    return summary


def best_row(summary: pd.DataFrame, dataset: str | None = None) -> pd.Series:
    """The best setting's row of a summary (the first one on a tie), on dataset if given,
    else on the summary's first dataset."""
    dataset = summary["dataset"].iloc[0] if dataset is None else dataset
    rows = summary[(summary["dataset"] == dataset) & (summary["best"] == 1)]
    if rows.empty:
        raise LenetError(
            f"no setting on {dataset} has a run that did not diverge, so none is best; "
            "choose smaller learning rates in the study file"
        )
    return rows.iloc[0]


def run_sweep_section(course, section: Section, plan: Plan, out: Path, options, reporter) -> dict:
    """Each study of the section; return the best setting per study and dataset, and by
    which accuracy it was chosen."""
    chosen = {}
    for part in section.spec.parts:
        sweep = plan.sweeps[(section.name, part.name)]
        record = sweep_record(course, section, part)
        study = Study("sweep", sweep.settings(), options, record=record)
        folder = section_folder(out, section, part)
        summary = run_study(study, folder, reporter)
        for dataset in summary["dataset"].unique():
            key = dataset if part.name is None else f"{part.name}/{dataset}"
            chosen[key] = {"setting": best_row(summary, dataset)["setting"], "by": best_by(summary)}
        if len({c.weight_decay for c in sweep.configs}) > 1:  # the overfitting question
            write_csv(folder / "overfitting.csv", gap_table(read_csv(folder / "runs.csv")))
    return {"best": chosen}


def gap_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting, the train-test gap (final training minus final testing accuracy, in
    points) over its trained runs: the overfitting measure of a weight-decay study. Training
    accuracy is averaged over an epoch's batches while the model changed, so a small gap
    can be negative."""
    trained = trained_runs(runs)
    gaps = trained.assign(gap=trained["final_train_acc"] - trained["final_test_acc"])
    return (
        gaps.groupby(["dataset", "setting"], sort=False)
        .agg(
            weight_decay=("weight_decay", "first"),
            n=("seed", "size"),
            final_train_acc_mean=("final_train_acc", "mean"),
            final_test_acc_mean=("final_test_acc", "mean"),
            gap_mean=("gap", "mean"),
            gap_std=("gap", "std"),
            gap_min=("gap", "min"),
            gap_max=("gap", "max"),
        )  # fmt: skip
        .reset_index()
    )


def datasets_settings(
    course, section: Section, plan: Plan, overrides, out: Path
) -> tuple[list[Setting], pd.Series]:
    """The best setting of best_of on each dataset of the section, with its epochs."""
    spec = section.spec
    source = course.section(spec.best_of)
    sweep = plan.sweeps[(source.name, None)]
    best = best_row(read_csv(section_folder(out, source) / "summary.csv"))
    config = dict(zip(sweep.names, sweep.configs, strict=True))[best["setting"]]
    settings = []
    for dataset in spec.datasets:
        own = replace(
            config, dataset=dataset, epochs=spec.epochs.get(dataset, config.epochs),
            seed=spec.seed, repeats=spec.repeats,
        )  # fmt: skip
        own = replace(own, **overrides).validate()
        settings.append(Setting(setting_ids([own])[0], own))
    return settings, best


def run_datasets_section(
    course, section: Section, plan: Plan, overrides, out, options, reporter
) -> dict:
    settings, best = datasets_settings(course, section, plan, overrides, out)
    record = sweep_record(course, section) | {"best_of": {"section": section.spec.best_of,
                                                        "setting": best["setting"]}}  # fmt: skip
    folder = section_folder(out, section)
    summary = run_study(Study("sweep", settings, options, record=record), folder, reporter)
    source = course.section(section.spec.best_of)
    table = datasets_table(best, summary, source.folder, section.folder)
    write_csv(folder / "datasets.csv", table)
    return {"best_of": {"section": source.name, "setting": best["setting"]}}


DATASET_TABLE_STATS = ["mean", "std", "best", "min", "max"]


def datasets_table(best: pd.Series, summary: pd.DataFrame, source: str, here: str) -> pd.DataFrame:
    """The cross-dataset table: the best setting on best_of's dataset, then on each other
    dataset; mean, std, best, min and max of training and testing accuracy, ranked by the
    mean testing accuracy (rank 1 the highest)."""
    rows = pd.concat(
        [best.to_frame().T.assign(section=source), summary.assign(section=here)],
        ignore_index=True,
    )
    columns = ["dataset", "setting", "section", "epochs", "n", "diverged"]
    for value in ("train_acc", "test_acc"):
        columns += [f"final_{value}_{stat}" for stat in DATASET_TABLE_STATS]
    table = rows[columns].infer_objects()
    table = table.sort_values("final_test_acc_mean", ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def run_noise_section(course, section: Section, plan: Plan, out: Path, options, reporter) -> dict:
    spec = section.spec
    config = plan.noise[section.name]
    settings = noise_list(section, len(get_spec(config.dataset).classes))
    types = ",".join(t for t in ("symmetric", "pair") if getattr(spec, t))
    transition_file = None if spec.transition_file is None else str(spec.transition_file)
    record = {
        **noise_record(types, None, None, transition_file, spec.noise_seed, settings),
        **sweep_record(course, section),
    }
    folder = section_folder(out, section)
    inputs = [] if spec.transition_file is None else [spec.transition_file]
    run_noise_study(
        config, settings, spec.noise_seed, options, folder, record, resume=nonempty(folder),
        inputs=inputs, reporter=reporter,
    )  # fmt: skip
    write_csv(folder / "memorisation.csv", memorisation_table(read_csv(folder / "runs.csv")))
    return {}


def memorisation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per noise setting, over its trained runs: final test accuracy beside the peak (each
    run's highest test accuracy over the epochs, chosen on the test set) and its epoch, and
    the final training accuracy against the noisy and the true labels."""
    trained = trained_runs(runs)
    groups = trained.groupby(["setting", "noise_type", "noise_rate"], sort=False)
    table = groups.agg(
        epochs=("epochs", "first"), n=("seed", "size"),
        final_test_acc_mean=("final_test_acc", "mean"), final_test_acc_std=("final_test_acc", "std"),
        peak_test_acc_mean=("best_test_acc", "mean"), peak_test_acc_std=("best_test_acc", "std"),
        peak_epoch_mean=("best_epoch", "mean"), peak_epoch_min=("best_epoch", "min"),
        peak_epoch_max=("best_epoch", "max"),
        final_train_acc_noisy_mean=("final_train_acc", "mean"),
        final_train_acc_true_mean=("final_train_acc_clean", "mean"),
    ).reset_index()  # fmt: skip
    table["peak_minus_final"] = table["peak_test_acc_mean"] - table["final_test_acc_mean"]
    return table


# --------------------------------------------------------------------------- confusion


def best_models(course: CourseFile, section: Section, out: Path) -> dict[str, tuple[Path, str]]:
    """Per dataset, the models folder of the best setting of the first section of
    models_of whose studies trained on it, and that setting's name."""
    found = {}
    for name in section.spec.models_of:
        for folder in study_folders(out, course.section(name)):
            summary = read_csv(folder / "summary.csv")
            for dataset in summary["dataset"].unique():
                if dataset not in found:
                    row = best_row(summary, dataset)
                    found[dataset] = (
                        folder / "models" / f"{dataset}-{row['setting']}",
                        row["setting"],
                    )
    return found


def run_confusion_section(course, section: Section, out: Path, options) -> dict:
    spec = section.spec
    found = best_models(course, section, out)
    device = resolve_device(options.device)
    chosen = {}
    for dataset in spec.datasets:
        models, setting = found[dataset]
        paths = seed_models(models)
        if not paths:
            raise LenetError(
                f"{models} holds no model (seed-S.pt) of the best setting on {dataset}; run "
                "the section that trains it again"
            )
        loaded = [load_checkpoint(path, dataset) for path in paths]
        test_subset = (loaded[0][1].get("config") or {}).get("test_subset")
        folder = section_folder(out, section) / dataset
        inputs = confusion_inputs(paths, test_subset, spec)
        chosen[dataset] = {"setting": setting, "models": [str(p) for p in paths]}
        if up_to_date(folder, inputs):
            continue  # the same models, asked the same: the files are what they would be
        data = load_dataset(
            dataset, options.data_dir, options.download, None, test_subset, options.quiet,
            mirror=options.download_mirror(),
        )  # fmt: skip
        probs = np.stack(
            [predict(model, data.test.images, data.spec, device).numpy() for model, _ in loaded]
        )
        written = write_seed_confusion(folder, data, probs, paths, setting, spec)
        # last: a folder whose writing was interrupted is written again by the next call
        write_json(folder / INPUTS, {**inputs, "files": written})
    return {"models": chosen}


INPUTS = "inputs.json"  # what a dataset's confusion files were made from


def confusion_inputs(paths: list[Path], test_subset, spec: ConfusionSpec) -> dict:
    """What decides a dataset's confusion files: the models (by content), the test images
    and what is asked of them."""
    models = [
        {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        for path in paths
    ]
    return {
        "models": models,
        "test_subset": test_subset,
        "top": spec.top,
        "per_pair": spec.per_pair,
    }


def up_to_date(folder: Path, inputs: dict) -> bool:
    """Whether folder holds every file made from these very inputs."""
    record = read_config_file(folder / INPUTS)
    if record is None or {k: record.get(k) for k in inputs} != inputs:
        return False
    files = record.get("files")
    return isinstance(files, list) and all((folder / name).is_file() for name in files)


def write_seed_confusion(folder: Path, data, probs, paths, setting: str, spec) -> list[str]:
    """The confusion over the seeds' models of one dataset and the hard samples of its top
    pairs: CSVs, confusion.png and a gallery per pair in hard/ (galleries of pairs no longer
    among the top are removed). Return the files' names, relative to folder."""
    classes = list(data.spec.classes)
    labels, indices = data.test.labels.numpy(), data.test.indices.numpy()
    cells = seeds.confusion_over_seeds(probs, labels, classes)
    pairs = seeds.top_pairs(cells, spec.top)
    hard = seeds.hard_samples_over_seeds(probs, labels, indices, pairs, classes)
    accuracies = [100.0 * float(np.mean(p.argmax(1) == labels)) for p in probs]
    models = pd.DataFrame(
        {"seed": [seed_of(p) for p in paths], "model": [str(p) for p in paths],
         "test_acc": accuracies}
    )  # fmt: skip
    write_csv(folder / "models.csv", models)
    write_csv(folder / "confusion_cells.csv", cells)
    write_csv(folder / "confusion_mean.csv", seeds.matrix_frame(cells, "rate_mean", classes))
    write_csv(folder / "confusion_std.csv", seeds.matrix_frame(cells, "rate_std", classes))
    write_csv(folder / "confused_pairs.csv", pairs)
    write_csv(folder / "hard_samples.csv", hard.drop(columns="position"))
    n = len(probs)
    spread = f" ± {np.std(accuracies, ddof=1):.2f}" if n > 1 else ""
    title = (
        f"LeNet-5 on {data.spec.title}, {setting}: mean over {n} seeds' models, test accuracy "
        f"{np.mean(accuracies):.2f}%{spread} on {len(labels):,} images\n"
        "confusion matrix (each row sums to 1; confusion_std.csv holds each cell's std)"
    )
    matrix = seeds.cell_matrix(cells, "rate_mean", len(classes))
    save_figure(confusion_figure(matrix, classes, "true", title), folder / "confusion.png")
    written = [
        "models.csv", "confusion_cells.csv", "confusion_mean.csv", "confusion_std.csv",
        "confused_pairs.csv", "hard_samples.csv", "confusion.png",
    ]  # fmt: skip
    for group, rows in hard.groupby("group", sort=False):
        shown = rows.head(spec.per_pair)
        save_figure(pair_gallery(data, shown, len(rows), n), folder / "hard" / f"{group}.png")
        written.append(f"hard/{group}.png")
    for gallery in (folder / "hard").glob("*-as-*.png"):
        if f"hard/{gallery.name}" not in written:
            gallery.unlink()
    return written


def pair_gallery(data, rows: pd.DataFrame, total: int, n_seeds: int):
    """One pair's hard samples: each image with its test index, how many seeds put it in
    the wrong class, and the mean probability they gave it; vermillion where most did."""
    captions = [
        f"#{r.index}  {r.seeds_wrong}/{r.seeds} seeds\n{r.true_class} → {r.predicted_class}, "
        f"mean p={r.mean_prob_wrong:.3f}"
        for r in rows.itertuples()
    ]
    colors = [
        WRONG_COLOR if 2 * r.seeds_wrong > r.seeds else RIGHT_COLOR for r in rows.itertuples()
    ]
    first = rows.iloc[0]
    title = (
        f"{data.spec.title}: {first['true_class']} classified as {first['predicted_class']} "
        f"by at least one of {n_seeds} seeds' models ({len(rows)} of {total}, most seeds "
        "wrong first, then the highest mean probability of the wrong class)"
    )
    images = data.test.images[torch.from_numpy(rows["position"].to_numpy(copy=True))].numpy()
    return gallery_figure(images, captions, colors, title)


# --------------------------------------------------------------------------- discussion


def course_discussion(course: CourseFile, out: Path) -> list[discussion.Sentence]:
    """The generated discussion of every section whose results out holds (any call's)."""
    sentences = []
    for section in course.sections:
        folder = section_folder(out, section)
        if section.kind == "datasets" and (folder / "datasets.csv").is_file():
            sentences.append(discussion.dataset_ranking(read_csv(folder / "datasets.csv")))
        elif section.kind == "confusion":
            for dataset in section.spec.datasets:
                path = folder / dataset / "confused_pairs.csv"
                if path.is_file():
                    sentences.append(discussion.confused_pairs(dataset, read_csv(path)))
        elif section.kind == "noise" and has_results(folder):
            sentences += noise_sentences(read_csv(folder / "summary.csv"), folder)
        elif section.kind == "sweep":
            for part in section.spec.parts:
                part_folder = section_folder(out, section, part)
                if has_results(part_folder):
                    topic = part.name or section.name
                    sentences += sweep_sentences(topic, read_csv(part_folder / "runs.csv"))
    return sentences


def noise_sentences(summary: pd.DataFrame, folder: Path) -> list[discussion.Sentence]:
    sentences = []
    baseline = summary[summary["noise_type"] == CLEAN]
    for noise_type in ("symmetric", "pair"):
        rows = pd.concat([baseline, summary[summary["noise_type"] == noise_type]])
        if (summary["noise_type"] == noise_type).any():
            curve = pd.DataFrame({"rate": rows["noise_rate"], "mean": rows["final_test_acc_mean"]})
            sentences.append(discussion.noise_fall(noise_type, curve))
    if (folder / "memorisation.csv").is_file():
        table = read_csv(folder / "memorisation.csv")
        sentences.append(
            discussion.early_stopping(
                pd.DataFrame(
                    {
                        "setting": table["setting"],
                        "final": table["final_test_acc_mean"],
                        "peak": table["peak_test_acc_mean"],
                        "peak_epoch": table["peak_epoch_mean"],
                        "epochs": table["epochs"],
                    }
                )  # fmt: skip
            )
        )
    return sentences


def sweep_sentences(topic: str, runs: pd.DataFrame) -> list[discussion.Sentence]:
    """Per dataset of a sweep: which setting did best and whether the others differ beyond
    the seeds' spread; where the settings differ in weight decay, also the train-test gap."""
    trained = trained_runs(runs)
    sentences = []
    for dataset, rows in trained.groupby("dataset", sort=False):
        by_setting = rows.groupby("setting", sort=False)
        if by_setting.ngroups < 2:
            continue
        where = topic if trained["dataset"].nunique() == 1 else f"{topic} on {dataset}"
        accuracies = {name: list(g["final_test_acc"]) for name, g in by_setting}
        sentences += discussion.compare_options(where, accuracies)
        if rows["weight_decay"].nunique() > 1:
            gaps = {
                name: list(g["final_train_acc"] - g["final_test_acc"]) for name, g in by_setting
            }
            sentences += discussion.compare_options(
                where, gaps, "train-test gap (training minus testing accuracy)",
                higher_is_better=False, unit=" points",
            )  # fmt: skip
    return sentences
