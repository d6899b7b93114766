"""Where a course study's files lie in its folder, and what they hold so far."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from lenetcli.commands.course.spec import Part, Section
from lenetcli.outputs.files import read_csv
from lenetcli.studies.results import trained_runs

COURSE_RECORD = "course.json"


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


def read_config_file(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def nonempty(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


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
