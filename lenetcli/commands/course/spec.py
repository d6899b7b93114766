"""A study file with sections as read: its sections and what each kind of section asks for."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lenetcli.commands.sweep import StudyFile
from lenetcli.options import DEFAULTS

SHIPPED = "lenet5.toml"  # in lenetcli/studies, beside the files it names
KINDS = ("sweep", "datasets", "confusion", "noise")
FULL = "full"  # the profile that is the file as written


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


def trained_datasets(section: Section) -> list[str]:
    """The datasets whose models a sweep or datasets section writes."""
    if section.kind == "datasets":
        return list(section.spec.datasets)
    return [d for part in section.spec.parts for d in part.study.datasets]
