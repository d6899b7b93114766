"""A study file with sections (lenetcli/studies/lenet5.toml ships the LeNet-5 course), read
and checked into a CourseFile (spec.py); run.py runs it section by section.

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

`run_course` (run.py) runs the chosen sections; each writes what the command it stands for writes
(execute for sweeps, run_noise_study for noise), so every tool reads the folders, and a
second call reuses every finished run. <out>/course.json records the file, the profile and
the best settings chosen; <out>/discussion.csv the sentences studies/discussion.py makes of
the numbers.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np

from lenetcli.commands.course.spec import (
    FULL,
    KINDS,
    SHIPPED,
    ConfusionSpec,
    CourseFile,
    DatasetsSpec,
    Inherited,
    NoiseSpec,
    Part,
    Section,
    SweepSpec,
    trained_datasets,
)
from lenetcli.commands.sweep import (
    StudyFile,
    check_keys,
    check_name,
    checked_setting,
    checked_value,
    file_words,
    read_study_file,
    read_toml,
    settings_list,
)
from lenetcli.config import HYPERPARAMETERS
from lenetcli.errors import LenetError, unknown_choice
from lenetcli.options import DEFAULTS
from lenetcli.outputs.transition_file import read_transition_csv
from lenetcli.science.data import DATASETS, get_spec
from lenetcli.science.noise import check_rate

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
PROFILE_KEYS = [*HYPERPARAMETERS, "seed", "repeats"]


def shipped_study() -> str:
    """The text of the course study shipped with lenetcli (for --print-study)."""
    return resources.files("lenetcli.studies").joinpath(SHIPPED).read_text(encoding="utf-8")


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
    check_keys(defaults, HYPERPARAMETERS, path, f" in the defaults{where}")
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
        except LenetError as exc:  # its advice names the option; here the file's key is meant
            where_from = "" if Path(name).is_absolute() else " (relative to the study file)"
            text = str(exc).replace("the --transition path", f"the transition path{where_from}")
            raise LenetError(f"config file {path}: transition{where}: {text}") from None
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
