"""What a course study will do, known before anything runs: the profile, the chosen
sections, the checks of what they build on and of the output folder, each sweep part's and
noise section's plan, and the plan printed (with an ETA from earlier sessions' pace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lenetcli.commands.course.folders import (
    COURSE_RECORD,
    finished_model_epochs,
    has_results,
    section_runs,
    study_folders,
)
from lenetcli.commands.course.spec import CourseFile, Part, Section
from lenetcli.commands.sweep import SweepPlan, file_plan, file_words
from lenetcli.config import RunOptions, TrainConfig, check_seed_range
from lenetcli.errors import LenetError, unknown_choice
from lenetcli.outputs import progress
from lenetcli.outputs.files import read_json_dict
from lenetcli.science.data import SUBSETS, check_subsets, get_spec
from lenetcli.science.noise import custom_setting, noise_settings
from lenetcli.studies.study import Study, check_study


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
        return file_plan(part.study, overrides, profile_key)
    except LenetError as exc:
        raise in_section(exc, course, section, part) from None


def file_key(key: str) -> str:
    """How an error names a study file's own key: as it is written."""
    return key


def profile_key(key: str) -> str:
    """How an error names a value of the profile (which replaces every setting's)."""
    return f"the profile's {key}"


def noise_config(course: CourseFile, section: Section, overrides: dict) -> TrainConfig:
    spec = section.spec
    try:
        config = file_plan(spec.study, overrides, profile_key).settings()[0].config
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
    """out is new, empty, or a folder of this course study: the same profile, and each
    section it holds is the file's section of that number (its name and kind)."""
    if out.exists() and not out.is_dir():
        raise LenetError(f"output folder {out} is a file; choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        return
    record = read_json_dict(out / COURSE_RECORD)
    if record is None:
        raise LenetError(
            f"output folder {out} is not empty and holds no readable {COURSE_RECORD} of a course study; "
            "choose another --out"
        )
    if record.get("profile") != profile:
        raise LenetError(
            f"{out} holds the course study's profile {record.get('profile')!r}, not {profile!r}: "
            "its runs are other runs; choose another --out, or add --overwrite to replace them"
        )
    layout = {str(section.number): section for section in course.sections}
    for number, entry in (record.get("sections") or {}).items():
        if not isinstance(entry, dict) or "name" not in entry:
            continue  # written by a lenet that did not name an interrupted section
        section = layout.get(number)
        if section is None or (section.name, section.kind) != (entry["name"], entry.get("kind")):
            what = (
                f"has no section {number}"
                if section is None
                else f"names section {number} '{section.name}' ({section.kind})"
            )
            raise LenetError(
                f"{out} holds a course study whose section {number} is '{entry['name']}' "
                f"({entry.get('kind')}), but {course.path} {what}: its runs are another "
                "study's; choose another --out, or add --overwrite to replace them"
            )


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
            sweep = plan.sweeps.setdefault(
                (source.name, None), part_plan(course, source, part, overrides)
            )
            try:  # whichever setting is best, its subsets must fit these datasets too
                for config in sweep.configs:
                    check_subsets(config, section.spec.datasets, SUBSETS, file_key)
            except LenetError as exc:
                raise in_section(exc, course, section) from None
    return plan


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


def course_runs(chosen, plan: Plan, out: Path) -> tuple[int, int]:
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
