"""The sections that train: a sweep section's studies, a datasets section (the best
setting on other datasets) and a noise section, each written by what its command writes
(session.execute for sweeps, run_noise_study for noise), beside the course's own tables.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from lenetcli.commands.course.folders import nonempty, section_folder
from lenetcli.commands.course.plan import Plan, in_section, noise_list
from lenetcli.commands.course.spec import CourseFile, Part, Section
from lenetcli.commands.course.tables import best_row, datasets_table, gap_table, memorisation_table
from lenetcli.commands.noise import noise_record, noise_study, run_noise_study
from lenetcli.commands.sweep import setting_ids
from lenetcli.errors import LenetError
from lenetcli.outputs.files import read_csv, write_csv
from lenetcli.science.data import get_spec
from lenetcli.studies.ledger import Ledger, resume_folder
from lenetcli.studies.session import execute
from lenetcli.studies.study import Setting, Study
from lenetcli.studies.summary import best_by


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


def check_kept_runs(course, chosen: list[Section], plan: Plan, out: Path, options) -> None:
    """Refuse, before anything is written, what a sweep or noise section's study would refuse
    once it resumes in its folder: runs of settings that this file's section does not have
    (another version of the file ran there), tables it cannot read back."""
    for section in chosen:
        for folder, study in section_studies(course, section, plan, out, options):
            if nonempty(folder):
                try:
                    resume_folder(study, folder, Ledger(study))  # reads, writes nothing
                except LenetError as exc:
                    raise in_section(exc, course, section) from None


def section_studies(course, section: Section, plan: Plan, out: Path, options):
    """(folder, study) of each study of a sweep or noise section whose plan is known before
    it runs (a datasets section's waits for its best setting)."""
    if section.kind == "sweep":
        for part in section.spec.parts:
            sweep = plan.sweeps[(section.name, part.name)]
            record = sweep_record(course, section, part)
            yield (
                section_folder(out, section, part),
                Study("sweep", sweep.settings(), options, record=record),
            )
    elif section.kind == "noise":
        spec, config = section.spec, plan.noise[section.name]
        settings = noise_list(section, len(get_spec(config.dataset).classes))
        yield (
            section_folder(out, section),
            noise_study(config, settings, spec.noise_seed, options, {}),
        )


def run_sweep_section(course, section: Section, plan: Plan, out: Path, options, reporter) -> dict:
    """Each study of the section; return the best setting per study and dataset, and by
    which accuracy it was chosen."""
    chosen = {}
    for part, (folder, study) in zip(
        section.spec.parts, section_studies(course, section, plan, out, options), strict=True
    ):
        sweep = plan.sweeps[(section.name, part.name)]
        summary = run_study(study, folder, reporter)
        for dataset in summary["dataset"].unique():
            key = dataset if part.name is None else f"{part.name}/{dataset}"
            chosen[key] = {"setting": best_row(summary, dataset)["setting"], "by": best_by(summary)}
        if len({c.weight_decay for c in sweep.configs}) > 1:  # the overfitting question
            write_csv(folder / "overfitting.csv", gap_table(read_csv(folder / "runs.csv")))
    return {"best": chosen}


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
