"""run_course: a course study's chosen sections run into one folder, section by section,
under the folder's lock; course.json records the file, the profile and what each section did
(its time, its pace, the best setting chosen), config.json marks the folder lenet report's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lenetcli.commands.course.confusion import run_confusion_section
from lenetcli.commands.course.folders import (
    COURSE_RECORD,
    finished_model_epochs,
    section_folder,
)
from lenetcli.commands.course.plan import (
    Plan,
    check_flags,
    check_needs,
    check_out,
    choose_sections,
    course_runs,
    describe_course,
    make_plan,
    profile_values,
    used_datasets,
)
from lenetcli.commands.course.reading import read_course_file
from lenetcli.commands.course.sentences import course_discussion
from lenetcli.commands.course.spec import FULL, CourseFile, Section
from lenetcli.commands.course.training import (
    check_kept_runs,
    run_datasets_section,
    run_noise_section,
    run_sweep_section,
)
from lenetcli.config import RunOptions
from lenetcli.errors import Interrupted, LenetError
from lenetcli.outputs import progress
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    environment,
    finishing,
    in_use,
    read_json_dict,
    run_record,
    write_csv,
    write_json,
)
from lenetcli.outputs.progress import stdout_console
from lenetcli.science.data import ensure_files, files_to_download, get_spec
from lenetcli.science.engine import device_description, resolve_device
from lenetcli.studies import discussion
from lenetcli.studies.session import EveryJobFailed, executor_for, print_downloads


@dataclass
class CourseRun:
    """What run_course did: the folder, course.json's record and the discussion."""

    out: Path
    record: dict
    sentences: list[discussion.Sentence]
    course: CourseFile


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
    executor_for(options, resolve_device(options.device))  # --backend's options, now
    plan = make_plan(course, chosen, overrides, options)
    if not overwrite:
        check_kept_runs(course, chosen, plan, out, options)
    console = stdout_console(options.quiet and not dry_run)  # a dry run's plan is its output
    previous = {} if overwrite else read_json_dict(out / COURSE_RECORD) or {}
    names, root = used_datasets(chosen, plan), options.data_folder()
    fetch = files_to_download(names, root, options.download) if dry_run else []  # or its error
    console.print(describe_course(course, chosen, plan, profile, out, previous), highlight=False)
    if dry_run:
        print_downloads(console, root, fetch)
        console.print("Dry run: nothing was trained or written.", highlight=False)
        return CourseRun(out, previous, [], course)
    for name in names:
        ensure_files(
            get_spec(name), root, options.download, options.quiet, options.download_mirror()
        )
    create_output_dir(out)
    with in_use(out, "report", replace=overwrite):
        record = course_record(course, profile, overrides, out, options)
        config = report_record(course, profile, out, options, record)
        write_json(out / "config.json", {**config, "interrupted": UNFINISHED})
        write_json(out / COURSE_RECORD, record)  # at once: an interrupted course continues
        go_on = f"run the same study into {out} again (with --resume) to continue"
        try:
            with progress.make_course_reporter(console, options.quiet) as reporter:
                reporter.start_course(*course_runs(chosen, plan, out))
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
    except EveryJobFailed as failed:  # on a cluster; the section's study says --out itself
        raise LenetError(
            f"section {section.number} '{section.name}': {failed.what}; fix the cause, then run "
            f"the same study into {out} again (with --resume)"
        ) from None
    except Interrupted:
        entry |= {"name": section.name, "kind": section.kind, "folder": section.folder}
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
    previous = read_json_dict(out / COURSE_RECORD) or {}
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
