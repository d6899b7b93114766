"""`lenet report --study`: a study file with sections (commands/course/) run into one folder,
and the report of it a student can hand in.

    <out>/1-hyperparameters/, 2-datasets/, ...   each section's folder (commands/course/)
    <out>/course.json      the study file, the profile, the best settings, each section's time
    <out>/discussion.csv   the generated discussion, each sentence with its numbers
    <out>/tables/          every table of the report that is not a file of a section already
    <out>/report.md        the report in Markdown (its figures are the sections' files)
    <out>/report.html      the same, self-contained (figures embedded), fit to print
    <out>/results.json     every trained run of every section, for scripts
    <out>/config.json      marks the folder as lenet report's (for --overwrite)

Every table names its CSV, and every sentence is made from the numbers of those CSVs
(studies/discussion.py); nothing here is said of a result that the files do not show.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from lenetcli.commands.course.folders import result_folders
from lenetcli.commands.course.run import CourseRun, run_course
from lenetcli.commands.course.spec import CourseFile
from lenetcli.commands.report.study_document import TABLES, StudyDocument
from lenetcli.config import RunOptions
from lenetcli.errors import LenetError
from lenetcli.outputs.document import Figure, render_html, render_markdown
from lenetcli.outputs.files import default_folder, read_csv, write_csv, write_text
from lenetcli.outputs.progress import stdout_console
from lenetcli.outputs.results_json import (
    RUN_FIELDS,
    SETTING_KEYS,
    print_results,
    results_document,
    write_results,
)


def parse_sections(text: str | None) -> list[int] | None:
    """--sections 1,3 as [1, 3]; None (every section) when not given."""
    if text is None:
        return None
    numbers = []
    for item in text.split(","):
        if not re.fullmatch(r"[0-9]+", item.strip()):  # not isdigit(): int() refuses '²'
            raise LenetError(
                f"--sections takes section numbers separated by commas, e.g. 1,4; got {text!r}"
            )
        numbers.append(int(item))
    return numbers


# --------------------------------------------------------------------------- the command


def run_study_report(
    study_file: Path | None,
    out: Path | None,
    profile: str,
    sections: str | None,
    options: RunOptions,
    resume: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    title: str | None = None,
    print_json: bool = False,
) -> CourseRun:
    """Run the study's sections into out (continuing what is there), then write the report."""
    if out is None and resume:
        raise LenetError("--resume needs --out: the folder of the study to continue")
    out = default_folder("report") if out is None else Path(out)
    chosen = parse_sections(sections)

    def finish(run: CourseRun) -> None:
        write_study_report(run, title)

    run = run_course(
        study_file, out, profile, chosen, options, resume=resume, overwrite=overwrite,
        dry_run=dry_run, finish=finish,
    )  # fmt: skip
    if dry_run:
        return run
    if not options.quiet:
        stdout_console().print(
            f"Wrote {out}/: report.md and report.html (open it), the tables in {out}/{TABLES}/",
            highlight=False,
        )
    if print_json:
        print_results(out)
    return run


def write_study_report(run: CourseRun, title: str | None = None) -> None:
    """report.md, report.html, their tables and results.json (run_course writes them under
    `finishing`: config.json loses its 'unfinished' mark once they are all written)."""
    out, course = run.out, run.course
    document = StudyDocument(course, out, run.record, title or course.title)
    blocks, tables = document.contents()
    for name, frame in tables.items():
        write_csv(out / TABLES / name, frame)
    names = {b.path: b.path.relative_to(out).as_posix() for b in blocks if isinstance(b, Figure)}
    write_text(out / "report.md", render_markdown(blocks, names))
    write_text(out / "report.html", render_html(blocks, document.title, out))
    runs = all_runs(course, out)
    write_results(out, results_document("report", out, runs, ("section", *SETTING_KEYS)))


def all_runs(course: CourseFile, out: Path) -> pd.DataFrame:
    """Every run of the study's folders in out, each with its folder (section) relative to out."""
    columns = ["section", *SETTING_KEYS, *RUN_FIELDS]  # what results.json gives of a run
    frames = []
    for section in course.sections:
        for folder in result_folders(out, section):
            runs = read_csv(folder / "runs.csv")
            frames.append(runs.assign(section=folder.relative_to(out).as_posix())[columns])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
