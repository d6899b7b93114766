"""`lenet confusion` and `lenet hardsamples`: from a model to the files that show where it fails.

Each dataset is one `Job`. Its model comes from a checkpoint (--checkpoint, --from) or is
trained first with the options of `lenet train`, its training files going into the same folder.
As in train.py, every check that can fail (options, checkpoints, data, the output folder) runs
in `prepare_jobs`, before the first file is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lenetcli.commands import train as runs
from lenetcli.config import RunOptions, TrainConfig, check_positive, comma_items
from lenetcli.errors import LenetError, unknown_choice
from lenetcli.outputs.checkpoint import find_checkpoint, load_checkpoint, make_checkpoint
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    dataset_subfolders,
    default_folder,
    environment,
    finishing,
    in_use,
    run_record,
    save_figure,
    write_csv,
)
from lenetcli.outputs.plots import confusion_figure, gallery_figure
from lenetcli.outputs.progress import make_reporter, results_table, stdout_console
from lenetcli.outputs.results_json import print_results, results_document, write_results
from lenetcli.science import analysis
from lenetcli.science.data import (
    Dataset,
    data_record,
    data_title,
    get_spec,
    load_dataset,
    validation_size,
)
from lenetcli.science.engine import (
    MemberResult,
    Reporter,
    device_description,
    predict,
    resolve_device,
)
from lenetcli.science.model import LeNet5
from lenetcli.studies.plan import groups
from lenetcli.studies.results import FINISHED, run_results

# Okabe-Ito vermillion and blue: told apart with every common colour-vision deficiency,
# unlike red and green.
WRONG_COLOR, RIGHT_COLOR = "#D55E00", "#0072B2"


@dataclass(frozen=True)
class ConfusionSettings:
    normalize: str = "true"
    top: int = 3
    unordered: bool = False

    def validate(self) -> ConfusionSettings:
        if self.normalize not in analysis.NORMALIZE_MODES:
            raise unknown_choice("--normalize", self.normalize, analysis.NORMALIZE_MODES)
        check_positive("--top", self.top, ConfusionSettings.top)
        return self

    def to_dict(self) -> dict:
        return {"normalize": self.normalize, "top": self.top, "unordered": self.unordered}


@dataclass(frozen=True)
class HardSettings:
    top: int = 3
    per_pair: int = 16
    per_class: bool = False

    def validate(self) -> HardSettings:
        check_positive("--top", self.top, HardSettings.top)
        check_positive("--per-pair", self.per_pair, HardSettings.per_pair)
        return self

    def to_dict(self) -> dict:
        return {"top": self.top, "per_pair": self.per_pair, "per_class": self.per_class}


@dataclass
class Job:
    """One dataset to analyse: its data, where its files go, and its model (None: train it)."""

    config: TrainConfig
    data: Dataset
    out: Path
    model: LeNet5 | None = None
    checkpoint: dict | None = None
    checkpoint_path: Path | None = None
    trained: bool = False  # trained by this command, its training files in out
    result: MemberResult | None = None  # its training, when trained here


@dataclass(frozen=True)
class Evaluation:
    """A model's answers over a test split: probabilities (N, K) and what follows from them."""

    job: Job
    probs: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def classes(self) -> list[str]:
        return list(self.job.data.spec.classes)

    @property
    def accuracy(self) -> float:
        return analysis.accuracy(self.labels, self.predicted)


# --------------------------------------------------------------------------- preparing


def parse_datasets(text: str | None) -> list[str] | None:
    """'mnist,cifar10' -> ['mnist', 'cifar10'], each one checked; None when not given."""
    if text is None:
        return None
    names = comma_items("--dataset", text, "mnist,cifar10")
    for name in names:
        get_spec(name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LenetError(f"--dataset lists {', '.join(repeated)} more than once; give each once")
    return names


def checkpoint_paths(
    datasets: list[str] | None, checkpoints: str | None, from_dir: Path | None
) -> list[Path] | None:
    """One checkpoint per dataset, from --checkpoint or --from; None when the model is trained."""
    if checkpoints is not None and from_dir is not None:
        raise LenetError("--checkpoint and --from both given; give one of them")
    if from_dir is not None:
        if datasets is None:
            return [find_checkpoint(from_dir)]
        return [find_checkpoint(from_dir, name) for name in datasets]
    if checkpoints is None:
        return None
    paths = [Path(p) for p in comma_items("--checkpoint", checkpoints, "a/model.pt,b/model.pt")]
    if datasets is not None and len(paths) != len(datasets):
        raise LenetError(
            f"{len(paths)} checkpoint(s) for {len(datasets)} dataset(s); give one checkpoint per "
            f"dataset, comma-separated, in the order of --dataset"
        )
    return paths


def default_out(command: str, datasets: list[str]) -> Path:
    return default_folder(f"{command}-{'+'.join(datasets)}")


def check_dataset_folders(out: Path, datasets: list[str], command: str) -> None:
    """With several datasets each writes into out/<dataset>: that folder must be new, or one
    of an earlier run of the command on several datasets there, which --overwrite replaces;
    never another run, the user's own folder or a link to somewhere else."""
    replaced = dataset_subfolders(out)
    for name in datasets:
        folder = out / name
        if folder.is_symlink() or (folder.exists() and folder not in replaced):
            raise LenetError(
                f"{folder} exists and is no part of an earlier lenet {command} on several "
                f"datasets in {out}, so it would be written over; choose another --out"
            )


def prepare_jobs(
    command: str,
    datasets: list[str] | None,
    paths: list[Path] | None,
    config: TrainConfig,
    options: RunOptions,
    out: Path | None,
    overwrite: bool,
) -> tuple[torch.device, Path, list[Job]]:
    """Check everything and load checkpoints and data; write nothing. Return the device, the
    output folder (out, or the default name) and the jobs.

    With several datasets each gets its own subfolder of the output folder.
    """
    device = resolve_device(options.device)
    loaded = None
    if paths is not None:
        names = datasets or [None] * len(paths)
        loaded = [load_checkpoint(path, name) for path, name in zip(paths, names, strict=True)]
        datasets = [checkpoint["dataset"] for _, checkpoint in loaded]
        if len(set(datasets)) < len(datasets):
            raise LenetError("two checkpoints are models of the same dataset; give one per dataset")
    datasets = datasets or [config.dataset]
    inputs = [*(paths or []), options.data_folder()]
    out = check_output_dir(out or default_out(command, datasets), overwrite, command, inputs)
    if len(datasets) > 1:
        check_dataset_folders(out, datasets, command)
    jobs = []
    for i, name in enumerate(datasets):
        job_out = out if len(datasets) == 1 else out / name
        if loaded is None:
            job_config = replace(config, dataset=name)
            _, data = runs.prepare(job_config, options)
            jobs.append(Job(job_config, data, job_out))
        else:
            model, checkpoint = loaded[i]
            # Only the test split matters here; the training subset is the checkpoint's business.
            data = load_dataset(
                name, options.data_dir, options.download, None, config.test_subset,
                options.quiet, mirror=options.download_mirror(),
            )  # fmt: skip
            job_config = replace(config, dataset=name)
            jobs.append(Job(job_config, data, job_out, model, checkpoint, paths[i]))
    return device, out, jobs


# --------------------------------------------------------------------------- running


def train_if_needed(
    job: Job, options: RunOptions, device: torch.device, reporter: Reporter, command: str
) -> LeNet5:
    """The job's model: the checkpoint's, or one trained now into job.out (which must exist)."""
    if job.model is None:
        results = runs.run_training(
            job.config, job.data, options, device, job.out, reporter, command
        )
        job.model, job.result = results[0].model, results[0]
        job.checkpoint = make_checkpoint(results[0], job.config, job.data)
        job.checkpoint_path = job.out / "model.pt"
        job.trained = True
    return job.model


def evaluate(job: Job, device: torch.device) -> Evaluation:
    """Probabilities of the job's model over its whole test split (large batches, on device)."""
    probs = predict(job.model, job.data.test.images, job.data.spec, device).numpy()
    return Evaluation(job, probs, job.data.test.labels.numpy(), job.data.test.indices.numpy())


def diagnostics_record(
    command: str,
    job: Job,
    options: RunOptions,
    settings,
    device: torch.device,
    datasets: list[str],
) -> dict:
    """config.json: what was asked, where the model came from (with the groups it trained in,
    when trained here), the environment and the data. datasets: all the command's; with
    several, job.out is one of their subfolders."""
    model = {
        "checkpoint": str(job.checkpoint_path),
        "trained_here": job.trained,
        "seed": job.checkpoint.get("seed"),
        "final_test_acc": job.checkpoint.get("final_test_acc"),
        "training_config": job.checkpoint.get("config"),
        "lenetcli_version": job.checkpoint.get("lenetcli_version"),
    }
    if "setting" in job.checkpoint:  # a model of a sweep or noise study
        model["setting"] = job.checkpoint["setting"]
    asked = {
        **settings.to_dict(),
        "dataset": job.data.spec.name,
        "datasets": datasets,
        "test_subset": job.config.test_subset,
        **options.to_dict(),
        "out": str(job.out),
    }
    if job.trained:
        asked.update(job.config.to_dict())
        asked["groups"] = groups(job.config, job.data.spec, device, options.group_size)
    data = data_record(job.data)
    # The training split is read but unused with a checkpoint: say what the model trained on.
    trained = job.checkpoint.get("config") or {}
    read = trained.get("train_subset") or len(job.data.train)
    data["val_size"] = validation_size(read, trained.get("val_split", 0))
    data["train_size"] = read - data["val_size"]
    return run_record(
        command, asked, environment(device, device_description(device)), {**data, "model": model}
    )


def model_run(ev: Evaluation) -> dict:
    """The model studied, as a row of the runs table of results.json: its final test accuracy
    as measured here, over the test images studied; its best epoch's only when it was
    trained here (a checkpoint does not record it)."""
    job = ev.job
    trained = {} if job.result is None else run_results(job.result.metrics, ["test_acc"])
    return {
        "dataset": job.data.spec.name,
        "setting": (job.checkpoint.get("setting") or {}).get("name"),  # a study's model
        "seed": job.checkpoint.get("seed"),
        "final_test_acc": ev.accuracy,
        "best_test_acc": trained.get("best_test_acc"),
        "status": trained.get("status", FINISHED),
    }


def figure_title(ev: Evaluation) -> str:
    return (
        f"LeNet-5 on {data_title(ev.job.data)}: accuracy {ev.accuracy:.2f}% on "
        f"{len(ev.labels):,} test images"
    )


def write_confusion(ev: Evaluation, settings: ConfusionSettings) -> pd.DataFrame:
    """confusion.csv, confusion_counts.csv, per_class.csv, confused_pairs.csv, confusion.png.

    Returns the top pairs, for the table the command prints.
    """
    out, classes, k = ev.job.out, ev.classes, len(ev.classes)
    counts = analysis.confusion(ev.labels, ev.predicted, k)
    matrix = analysis.confusion(ev.labels, ev.predicted, k, settings.normalize)
    write_csv(out / "confusion.csv", analysis.confusion_frame(matrix, classes))
    write_csv(out / "confusion_counts.csv", analysis.confusion_frame(counts, classes))
    write_csv(out / "per_class.csv", analysis.per_class_metrics(ev.labels, ev.predicted, classes))
    if settings.unordered:
        pairs = analysis.ranked_unordered_pairs(counts, classes)
    else:
        pairs = analysis.ranked_pairs(counts, classes)
    write_csv(out / "confused_pairs.csv", pairs)
    title = f"{figure_title(ev)}\nconfusion matrix ({plot_normalize_label(settings.normalize)})"
    save_figure(confusion_figure(matrix, classes, settings.normalize, title), out / "confusion.png")
    return analysis.top_confused(pairs, settings.top)


def plot_normalize_label(normalize: str) -> str:
    return {
        "true": "each row sums to 1",
        "pred": "each column sums to 1",
        "all": "all cells sum to 1",
        "none": "image counts",
    }[normalize]


def write_hardsamples(ev: Evaluation, settings: HardSettings) -> list[analysis.SampleGroup]:
    """hard_samples.csv and one gallery hard/<name>.png per group that has images."""
    out, classes = ev.job.out, ev.classes
    counts = analysis.confusion(ev.labels, ev.predicted, len(classes))
    pairs = analysis.top_confused(analysis.ranked_pairs(counts, classes), settings.top)
    groups = analysis.hard_sample_groups(
        ev.probs, ev.labels, pairs, classes, settings.per_pair, settings.per_class
    )
    rows = analysis.hard_samples_frame(groups, ev.probs, ev.labels, ev.indices, classes)
    write_csv(out / "hard_samples.csv", rows)
    (out / "hard").mkdir(parents=True, exist_ok=True)
    for group in groups:
        if len(group.positions):
            save_figure(gallery_for(ev, group), out / "hard" / f"{group.name}.png")
    return groups


def gallery_for(ev: Evaluation, group: analysis.SampleGroup):
    """The figure of one group: each image with its test index, classes and probability."""
    rows = analysis.sample_rows(group, ev.probs, ev.labels, ev.indices, ev.classes)
    captions = [
        f"#{r.index}  {probability_text(r.prob_predicted)}\n{r.true_class} → {r.predicted_class}"
        for r in rows.itertuples()
    ]
    colors = [RIGHT_COLOR if r.true == r.predicted else WRONG_COLOR for r in rows.itertuples()]
    title = (
        f"{data_title(ev.job.data)}: {group.title} "
        f"({len(group.positions)} of {group.total}, {group.order})"
    )
    images = ev.job.data.test.images[torch.from_numpy(group.positions)].numpy()
    return gallery_figure(images, captions, colors, title)


def probability_text(p: float) -> str:
    """'p=0.873', or 'p>0.999': a near-certain guess never reads as a certain 'p=1.00'."""
    return "p>0.999" if p > 0.999 else f"p={p:.3f}"


# --------------------------------------------------------------------------- the commands


NONE = "No confused pairs: every test image is classified correctly."


def run_analysis(
    command: str,
    settings: ConfusionSettings | HardSettings,
    config: TrainConfig,
    dataset: str | None,
    checkpoint: str | None,
    from_dir: Path | None,
    options: RunOptions,
    out: Path | None,
    overwrite: bool,
    training_options: list[str],
    print_json: bool = False,
) -> None:
    """`lenet confusion` and `hardsamples`: check every input, then per dataset train if
    asked, predict, write the files and say what came out; print results.json last with
    print_json (--json). With several datasets, each folder's results.json holds its model
    and the one above them all."""
    if training_options and (checkpoint or from_dir):
        source = "--from" if from_dir else "--checkpoint"
        raise LenetError(
            f"{', '.join(training_options)} would train a model, but {source} gives one; "
            f"leave out {source} to train first, or the training options"
        )
    settings.validate()
    datasets = parse_datasets(dataset)
    paths = checkpoint_paths(datasets, checkpoint, from_dir)
    device, top, jobs = prepare_jobs(command, datasets, paths, config, options, out, overwrite)
    claimed = create_output_dir(top, fresh_name=out is None, exclusive=not top.exists())
    for job in jobs:  # a default name taken meanwhile became <name>-2
        job.out = claimed / job.out.relative_to(top)
    console = stdout_console(options.quiet)
    studied = []
    with in_use(claimed, command, replace=overwrite):
        for job in jobs:
            job.out.mkdir(exist_ok=True)
            label = job.data.spec.name if len(jobs) > 1 else ""
            if job.model is None:
                console.print(
                    f"Training LeNet-5 on {job.data.spec.title}: {len(job.data.train)} train / "
                    f"{len(job.data.test)} test images, device {device}",
                    highlight=False,
                )
            with make_reporter(console, options.quiet, label) as reporter:
                train_if_needed(job, options, device, reporter, command)
            evaluation = evaluate(job, device)
            datasets = [j.data.spec.name for j in jobs]
            record = diagnostics_record(command, job, options, settings, device, datasets)
            console.print(
                f"{figure_title(evaluation)} ({model_text(job)})",
                highlight=False,
                soft_wrap=True,
            )
            # Ctrl-C waits until the folder's files are all written (a second or two): a
            # folder with its tables but not its figure must not pass for finished.
            with finishing(job.out, record, go_on="run the command again with --overwrite"):
                if command == "confusion":
                    pairs = write_confusion(evaluation, settings)
                    table = confused_pairs_table(pairs, settings.unordered) if len(pairs) else NONE
                else:
                    samples = write_hardsamples(evaluation, settings)
                    shown = any(len(g.positions) for g in samples)
                    table = hard_samples_table(samples) if shown else NONE
                studied.append(model_run(evaluation))
                runs = pd.DataFrame(studied[-1:])
                write_results(job.out, results_document(command, job.out, runs))
            console.print(table)
            console.print(f"Wrote {job.out}/", highlight=False)
        if len(jobs) > 1:
            write_results(claimed, results_document(command, claimed, pd.DataFrame(studied)))
    if print_json:
        print_results(claimed)


def model_text(job) -> str:
    """Which model: a run of several seeds keeps the first in model.pt, the rest in models/."""
    text = f"model {job.checkpoint_path}, seed {job.checkpoint.get('seed')}"
    repeats = (job.checkpoint.get("config") or {}).get("repeats", 1)
    if repeats > 1 and job.checkpoint_path.name == "model.pt":
        others = job.checkpoint_path.parent / "models"
        text += f", the first of {repeats} seeds; for another, give --checkpoint {others}/seed-S.pt"
    return text


def confused_pairs_table(pairs, unordered: bool):
    if unordered:
        columns = ["rank", "classes", "images", "a as b", "b as a", "share of both (%)"]
        rows = [
            [p.rank, f"{p.class_a_name} ↔ {p.class_b_name}", p.count, p.a_as_b, p.b_as_a,
             100.0 * p.rate]
            for p in pairs.itertuples()
        ]  # fmt: skip
    else:
        columns = ["rank", "true class", "predicted as", "images", "share of true class (%)"]
        rows = [
            [p.rank, p.true_class, p.predicted_class, p.count, 100.0 * p.rate]
            for p in pairs.itertuples()
        ]
    return results_table("Most confused pairs", columns, rows)


def hard_samples_table(groups):
    columns = ["gallery", "images of", "images", "shown"]
    rows = [
        [f"hard/{g.name}.png" if len(g.positions) else "(none)", g.title, g.total, len(g.positions)]
        for g in groups
    ]
    return results_table("Hard samples", columns, rows)
