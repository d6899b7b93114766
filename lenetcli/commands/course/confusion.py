"""A confusion section: per dataset, every seed's model of the best setting of an
earlier section, their confusion over seeds and the hard samples of the top pairs
(science/seeds.py); inputs.json records what the files were made from, so a second call with
the same models reuses them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lenetcli.commands.course.folders import (
    CONFUSION_INPUTS,
    confusion_inputs_record,
    section_folder,
    study_folders,
)
from lenetcli.commands.course.spec import ConfusionSpec, CourseFile, Section
from lenetcli.commands.course.tables import best_row
from lenetcli.commands.diagnostics import RIGHT_COLOR, WRONG_COLOR
from lenetcli.errors import LenetError
from lenetcli.outputs.checkpoint import load_checkpoint, seed_models, seed_of
from lenetcli.outputs.files import read_csv, save_figure, write_csv, write_json
from lenetcli.outputs.plots import confusion_figure, gallery_figure
from lenetcli.science import seeds
from lenetcli.science.data import data_title, load_dataset
from lenetcli.science.engine import predict, resolve_device


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
        # the models by their path in out: the same files wherever the study is run from
        names = [path.relative_to(out).as_posix() for path in paths]
        inputs = confusion_inputs(paths, names, test_subset, spec)
        chosen[dataset] = {"setting": setting, "models": names}
        if up_to_date(folder, inputs):
            continue  # the same models, asked the same: the files are what they would be
        data = load_dataset(
            dataset, options.data_dir, options.download, None, test_subset, options.quiet,
            mirror=options.download_mirror(),
        )  # fmt: skip
        probs = np.stack(
            [predict(model, data.test.images, data.spec, device).numpy() for model, _ in loaded]
        )
        # first: no record claims the files while they are being replaced
        (folder / CONFUSION_INPUTS).unlink(missing_ok=True)
        written = write_seed_confusion(folder, data, probs, paths, names, setting, spec)
        # last: a folder whose writing was interrupted is written again by the next call
        write_json(folder / CONFUSION_INPUTS, {**inputs, "files": written})
    return {"models": chosen}


def confusion_inputs(paths: list[Path], names: list[str], test_subset, spec: ConfusionSpec) -> dict:
    """What decides a dataset's confusion files: the models (by their name in the study's
    folder and their content), the test images and what is asked of them."""
    models = [
        {"file": name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        for path, name in zip(paths, names, strict=True)
    ]
    return {
        "models": models,
        "test_subset": test_subset,
        "top": spec.top,
        "per_pair": spec.per_pair,
    }


def up_to_date(folder: Path, inputs: dict) -> bool:
    """Whether folder holds every file made from these very inputs."""
    record = confusion_inputs_record(folder)
    return record is not None and {k: record.get(k) for k in inputs} == inputs


def write_seed_confusion(folder: Path, data, probs, paths, names, setting: str, spec) -> list[str]:
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
        {"seed": [seed_of(p) for p in paths], "model": names,
         "test_acc": accuracies}
    )  # fmt: skip
    tables = {
        "models.csv": models,
        "confusion_cells.csv": cells,
        "confusion_mean.csv": seeds.matrix_frame(cells, "rate_mean", classes),
        "confusion_std.csv": seeds.matrix_frame(cells, "rate_std", classes),
        "confused_pairs.csv": pairs,
        "hard_samples.csv": hard.drop(columns="position"),
    }
    for name, frame in tables.items():
        write_csv(folder / name, frame)
    n = len(probs)
    spread = f" ± {np.std(accuracies, ddof=1):.2f}" if n > 1 else ""
    title = (
        f"LeNet-5 on {data_title(data)}, {setting}: mean over {n} seeds' models, test accuracy "
        f"{np.mean(accuracies):.2f}%{spread} on {len(labels):,} images\n"
        "confusion matrix (each row sums to 1; confusion_std.csv holds each cell's std)"
    )
    matrix = seeds.cell_matrix(cells, "rate_mean", len(classes))
    written = [*tables, "confusion.png"]
    save_figure(confusion_figure(matrix, classes, "true", title), folder / "confusion.png")
    for group, rows in hard.groupby("group", sort=False):  # one figure open at a time
        written.append(f"hard/{group}.png")
        shown = rows.head(spec.per_pair)
        save_figure(pair_gallery(data, shown, len(rows), n), folder / written[-1])
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
        f"{data_title(data)}: {first['true_class']} classified as {first['predicted_class']} "
        f"by at least one of {n_seeds} seeds' models ({len(rows)} of {total}, most seeds "
        "wrong first, then the highest mean probability of the wrong class)"
    )
    images = data.test.images[torch.from_numpy(rows["position"].to_numpy(copy=True))].numpy()
    return gallery_figure(images, captions, colors, title)
