"""The course study's discussion: sentences made of the numbers each section wrote
(studies/discussion.py), for discussion.csv and the report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lenetcli.commands.course.folders import confusion_inputs_record, has_results, section_folder
from lenetcli.commands.course.spec import CourseFile
from lenetcli.outputs.files import read_csv
from lenetcli.science.noise import CLEAN
from lenetcli.studies import discussion
from lenetcli.studies.results import trained_runs


def course_discussion(course: CourseFile, out: Path) -> list[discussion.Sentence]:
    """The generated discussion of every section whose results out holds (any call's)."""
    sentences = []
    for section in course.sections:
        folder = section_folder(out, section)
        if section.kind == "datasets" and (folder / "datasets.csv").is_file():
            sentences.append(discussion.dataset_ranking(read_csv(folder / "datasets.csv")))
        elif section.kind == "confusion":
            for dataset in section.spec.datasets:
                if confusion_inputs_record(folder / dataset) is not None:  # written whole
                    pairs = read_csv(folder / dataset / "confused_pairs.csv")
                    sentences.append(discussion.confused_pairs(dataset, pairs))
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
                        "peak_epoch_min": table["peak_epoch_min"],
                        "peak_epoch_max": table["peak_epoch_max"],
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
