"""Where a course study's files lie in its folder, and what they hold so far."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lenetcli.commands.course.spec import Part, Section
from lenetcli.outputs.files import read_csv, read_json_dict
from lenetcli.studies.results import trained_runs

COURSE_RECORD = "course.json"


def section_folder(out: Path, section: Section, part: Part | None = None) -> Path:
    folder = Path(out) / section.folder
    return folder / part.name if part is not None and part.name else folder


def study_folders(out: Path, section: Section) -> list[Path]:
    """The study folders (runs.csv, summary.csv) a section writes: a sweep section's one per
    study, a datasets or noise section's its own folder, a confusion section's none."""
    if section.kind == "sweep":
        return [section_folder(out, section, part) for part in section.spec.parts]
    return [] if section.kind == "confusion" else [section_folder(out, section)]


def has_results(folder: Path) -> bool:
    return (folder / "summary.csv").is_file()


CONFUSION_INPUTS = "inputs.json"  # what a dataset's confusion files were made from


def confusion_inputs_record(folder: Path) -> dict | None:
    """The inputs.json of a confusion section's dataset folder whose files are all there, or
    None: it is removed before the files are written and written after them, so a folder
    whose writing was stopped midway has none."""
    record = read_json_dict(folder / CONFUSION_INPUTS)
    files = None if record is None else record.get("files")
    if not isinstance(files, list) or not all((folder / str(name)).is_file() for name in files):
        return None
    return record


def result_folders(out: Path, section: Section) -> list[Path]:
    """The study folders of a section that hold results (summary.csv) so far."""
    return [f for f in study_folders(out, section) if has_results(f)]


def nonempty(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def section_runs(out: Path, section: Section) -> pd.DataFrame:
    """The trained runs (finished or diverged) of a section's studies in out, so far."""
    frames = [
        read_csv(folder / "runs.csv")
        for folder in study_folders(out, section)
        if (folder / "runs.csv").is_file()
    ]
    if not frames:
        return pd.DataFrame(columns=["epochs"])
    runs = pd.concat(frames, ignore_index=True)
    return trained_runs(runs)


def finished_model_epochs(out: Path, section: Section) -> int:
    return int(section_runs(out, section)["epochs"].sum())
