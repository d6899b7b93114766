"""The report's sections: for each kind of output folder (train, sweep or noise study,
confusion, hardsamples), the blocks of the document (outputs/document.py) that show what ran
and what came out; and the summary that puts every trained configuration side by side.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd

from lenetcli.commands.report.sources import (
    ADDED_COLUMNS,
    CONFIG_COLUMNS,
    Source,
    Training,
    pending_runs,
    read_table,
    require_columns,
)
from lenetcli.outputs.document import Code, Figure, Heading, Table, Text
from lenetcli.outputs.tables import count, count_text, fmt, plain, plural
from lenetcli.science.data import copy_note, dataset_title, recorded_copies, with_note
from lenetcli.studies.summary import best_by, best_mask

PAIR_GALLERIES = 3  # galleries of confused pairs shown per hardsamples folder


def mean_std(mean, std) -> str:
    return fmt(mean) if pd.isna(std) else f"{fmt(mean)} ± {fmt(std)}"


def command_line(record: dict) -> str:
    """The command that wrote a folder, as one could type it again."""
    argv = record.get("argv") or ["lenet", record.get("command", "")]
    return shlex.join(["lenet", *argv[1:]])


def provenance(source: Source) -> Text:
    record, env = source.record, source.record.get("environment", {})
    return Text(
        f"Folder {source.folder}, started {record.get('started_utc', '?')} on "
        f"{source.device_name or '?'} (lenetcli {env.get('lenetcli', '?')}, "
        f"torch {env.get('torch', '?')})."
    )


def data_text(record: dict) -> str:
    """'MNIST: 60,000 training and 10,000 test images from DIR', per dataset read; 'Data not
    recorded' for a config.json without them (hand-edited, or cut short)."""
    data = record.get("data") or {}
    parts = data.get("datasets", [data])
    if not any(isinstance(d, dict) and d.get("dataset") for d in parts):
        return "Data not recorded"
    return "; ".join(
        f"{dataset_title(d.get('dataset'))}: "
        f"{count(d.get('train_size'))} training{validation_text(d)} and {count(d.get('test_size'))} test "
        f"images from {d.get('source')}"
        for d in parts
        if isinstance(d, dict) and d.get("dataset")
    )


def validation_text(data: dict) -> str:
    return f", {count(data['val_size'])} validation" if data.get("val_size") else ""


def validation_cells(results: pd.DataFrame) -> list[str]:
    """The validation accuracy (mean ± std; '–' without) of each row, where any row has one:
    else none."""
    if results["final_val_acc_mean"].isna().all():
        return []
    return [mean_std(r.final_val_acc_mean, r.final_val_acc_std) for r in results.itertuples()]


def with_column(header: list[str], rows: list[list], label: str, cells: list[str], at: int):
    """header and rows with a column inserted at position `at`; unchanged without cells."""
    if not cells:
        return header, rows
    header = [*header[:at], label, *header[at:]]
    return header, [[*row[:at], cell, *row[at:]] for row, cell in zip(rows, cells, strict=True)]


def varying_options(results: pd.DataFrame) -> list[str]:
    """The training options whose values differ between the rows: the summary shows them, so
    that rows trained differently are not read as alike."""
    options = [*CONFIG_COLUMNS, *ADDED_COLUMNS]
    return [c for c in options if results[c].map(option_text).nunique() > 1]


def option_text(value) -> str:
    """An option's value in a table: 'all' for a subset not taken."""
    return "all" if value is None or pd.isna(value) else plain(value)


def summary_blocks(results: pd.DataFrame, compare: bool, copies: set | None = None) -> list:
    """The summary table and compare.png. copies: the (source label, dataset) pairs read from
    an unofficial copy of CIFAR-10 (data.unofficial_copy): the table and figure say so."""
    copy = any((r.source, r.dataset) in (copies or set()) for r in results.itertuples())
    header = ["Source", "Dataset", "Setting", "n", "Training acc.", "Test acc.", "Best model"]
    header.append("s/epoch")
    rows = [
        [r.source, r.dataset, r.setting or "–", count_text(r.n, r.diverged),
         mean_std(r.final_train_acc_mean, r.final_train_acc_std),
         mean_std(r.final_test_acc_mean, r.final_test_acc_std), fmt(r.final_test_acc_max),
         fmt(r.seconds_per_epoch, 1)]
        for r in results.itertuples()
    ]  # fmt: skip
    header, rows = with_column(header, rows, "Validation acc.", validation_cells(results), 5)
    varying = varying_options(results)
    header = [*header[:3], *(name.replace("_", " ") for name in varying), *header[3:]]
    rows = [
        [*row[:3], *(option_text(r[name]) for name in varying), *row[3:]]
        for row, (_, r) in zip(rows, results.iterrows(), strict=True)
    ]
    noisy = " (for label-noise runs, against the noisy labels they trained on)"
    validated = "validation accuracy on the training images held out by --val-split (– without); "
    blocks = [
        Heading("Summary"),
        Text(
            "Accuracies in percent after the last epoch: mean ± sample standard deviation over "
            "the seeds of each configuration; training accuracy is averaged over the last "
            "epoch's batches as they were trained (the model changing meanwhile), on the training "
            f"labels{noisy if (results['command'] == 'noise').any() else ''}; "
            f"{validated if results['final_val_acc_mean'].notna().any() else ''}best model is "
            "the highest final test accuracy of one of them; the training options that differ "
            "between the rows have a column each; s/epoch is the mean wall time of "
            "an epoch (models trained together as one group share it). The same numbers are "
            "in results.csv."
        ),
        Table(header, rows, left=3),
        *([Text(copy_note())] if copy else []),
    ]
    if compare:
        caption = with_note("Mean test accuracy per epoch of every configuration", copy)
        blocks.append(Figure(Path("compare.png"), caption, own=True))
    return blocks


def train_blocks(source: Source, training: Training) -> list:
    options = source.record.get("options", {})
    described = ", ".join(
        f"{name.replace('_', ' ')} {options[name]}"
        for name in [*CONFIG_COLUMNS, *ADDED_COLUMNS]
        if options.get(name) not in (None, ADDED_COLUMNS.get(name))
    )
    runs = training.runs
    rows = [
        [str(r.seed), fmt(r.final_train_acc), fmt(r.final_test_acc),
         f"{fmt(r.best_test_acc)} (epoch {r.best_epoch})"]
        for r in runs.itertuples()
    ]  # fmt: skip
    if len(runs) > 1:
        rows.append(
            ["mean ± std", mean_std(runs.final_train_acc.mean(), runs.final_train_acc.std()),
             mean_std(runs.final_test_acc.mean(), runs.final_test_acc.std()),
             mean_std(runs.best_test_acc.mean(), runs.best_test_acc.std())]
        )  # fmt: skip
    header = ["Seed", "Final training acc.", "Final test acc.", "Best epoch's test acc."]
    if runs["final_val_acc"].notna().any():
        val = runs["final_val_acc"]
        cells = [fmt(v) for v in val] + ([mean_std(val.mean(), val.std())] if len(runs) > 1 else [])
        header, rows = with_column(header, rows, "Final validation acc.", cells, 2)
    seeds = sorted(runs["seed"])
    seeds_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
    copy = bool(copies_of(source))
    return [
        Text(with_note(f"{data_text(source.record)}. Options: {described}; {seeds_text}.", copy)),
        Table(header, rows),
        *figures(source, [("curves.png", with_note("Loss and accuracy per epoch", copy))]),
    ]


def study_blocks(source: Source, training: Training, results: pd.DataFrame) -> list:
    resume = f"lenet {source.command} ... --resume --out {source.folder}"
    if results.empty:
        return [
            Text(f"No run of this {source.command} has finished yet; continue it with {resume}.")
        ]
    pending = pending_runs(training)
    described = f"Every setting is described in {source.folder}/summary.md."
    if pending:
        described = (
            f"Interrupted: {len(training.runs)} of {training.planned} runs finished. The "
            f"{pending} pending ones are left out, so means and the best setting are "
            f"provisional; continue with {resume}."
        )
    best = best_mask(results)
    rows = [
        [r.dataset, r.setting, count_text(r.n, r.diverged),
         mean_std(r.final_train_acc_mean, r.final_train_acc_std),
         mean_std(r.final_test_acc_mean, r.final_test_acc_std), fmt(r.final_test_acc_max),
         "**best**" if b else ""]
        for r, b in zip(results.itertuples(), best, strict=True)
    ]  # fmt: skip
    train_column = "Training acc. (noisy labels)" if source.command == "noise" else "Training acc."
    header = ["Dataset", "Setting", "n", train_column, "Test acc.", "Best model", ""]
    if source.command == "noise":  # how much of the truth the models learned despite the noise
        clean = [
            mean_std(r.final_train_acc_clean_mean, r.final_train_acc_clean_std)
            for r in results.itertuples()
        ]
        header, rows = with_column(header, rows, "Training acc. (true labels)", clean, 4)
    cells = validation_cells(results)
    header, rows = with_column(header, rows, "Validation acc.", cells, len(header) - 3)
    copies = copies_of(source) & set(results["dataset"])
    every = bool(copies)  # the figures of every dataset show those read from a copy too
    wanted = [
        ("accuracy_vs_noise.png", with_note("Final test accuracy against the noise rate", every)),
        ("accuracy.png", with_note("Final test accuracy of every setting", every)),
        ("compare.png", with_note("Mean test accuracy per epoch of every setting", every)),
    ]
    if source.command == "noise":
        # The clean runs are always best; the noisiest setting of each type shows the effect.
        noisiest = results[results["noise_rate"] > 0].sort_values("noise_rate")
        for r in noisiest.groupby(["dataset", "noise_type"]).tail(1).itertuples():
            copy = r.dataset in copies
            wanted += [
                (f"curves/{r.dataset}-{r.setting}.png",
                 with_note(f"Noisiest setting: {r.setting}", copy)),
                (f"noisy-confusion-{r.setting}.png",
                 with_note(f"Noisy training labels of {r.setting}", copy)),
            ]  # fmt: skip
    for r, b in zip(results.itertuples(), best, strict=True):
        if b and source.command != "noise":
            caption = with_note(f"Best setting: {r.setting}", r.dataset in copies)
            wanted.append((f"curves/{r.dataset}-{r.setting}.png", caption))
    best_text = f" The setting marked best has the highest mean {best_by(results)} of its dataset."
    return [
        Text(with_note(f"{data_text(source.record)}. {described}{best_text}", every)),
        Table(header, rows, left=2),
        *figures(source, wanted),
    ]


def confusion_blocks(source: Source) -> list:
    counts = read_table(source, "confusion_counts.csv", ["true"]).set_index("true")
    total, right = counts.to_numpy().sum(), sum(counts.to_numpy().diagonal())
    pairs = read_table(source, "confused_pairs.csv", ["rank", "count", "rate"])
    pairs = pairs[pairs["count"] > 0].head(5)  # the file lists every pair, confused or not
    if "class_a_name" not in pairs:
        require_columns(source, "confused_pairs.csv", pairs, ["true_class", "predicted_class"])
        pair_rows = [
            [str(p.rank), f"{p.true_class} → {p.predicted_class}", str(p.count), fmt(100 * p.rate)]
            for p in pairs.itertuples()
        ]
        pair_header = ["Rank", "True → predicted", "Images", "Share of the true class (%)"]
    else:  # --unordered
        require_columns(source, "confused_pairs.csv", pairs, ["class_b_name"])
        pair_rows = [
            [str(p.rank), f"{p.class_a_name} ↔ {p.class_b_name}", str(p.count), fmt(100 * p.rate)]
            for p in pairs.itertuples()
        ]
        pair_header = ["Rank", "Classes", "Images", "Share of both classes (%)"]
    per_class = read_table(
        source, "per_class.csv", ["name", "precision", "recall", "f1", "support"]
    )
    class_rows = [
        [str(c.name), fmt(c.precision, 3), fmt(c.recall, 3), fmt(c.f1, 3), str(c.support)]
        for c in per_class.itertuples()
    ]
    copy = bool(copies_of(source))
    return [
        Text(
            with_note(
                f"{model_text(source.record)} Test accuracy {fmt(100 * right / total)}% on "
                f"{count(total)} images.",
                copy,
            )
        ),
        Table(pair_header, pair_rows, left=2, caption=with_note("Most confused pairs", copy))
        if pair_rows
        else Text(NO_ERRORS),
        Table(
            ["Class", "Precision", "Recall", "F1", "Images"],
            class_rows,
            caption=with_note("Per class (precision, recall and F1 as fractions)", copy),
        ),  # fmt: skip
        *figures(source, [("confusion.png", with_note("Confusion matrix", copy))]),
    ]


NO_ERRORS = "No confused pairs: every test image is classified correctly."


def hardsamples_blocks(source: Source) -> list:
    samples = read_table(
        source,
        "hard_samples.csv",
        ["group", "index", "true_class", "predicted_class", "prob_predicted"],
    )
    groups = samples.groupby("group", sort=False)
    rows = [
        [name, f"#{g.iloc[0]['index']}: {g.iloc[0]['true_class']} → "
         f"{g.iloc[0]['predicted_class']}, p = {fmt(g.iloc[0]['prob_predicted'], 3)}", str(len(g))]
        for name, g in groups
    ]  # fmt: skip
    pairs = [name for name in groups.groups if "-as-" in name][:PAIR_GALLERIES]
    copy = bool(copies_of(source))
    if not rows:
        return [Text(with_note(model_text(source.record), copy)), Text(NO_ERRORS)]
    shown = (
        f"The galleries of the {len(pairs)} most confused pair(s) are shown below; every "
        f"gallery is in {source.folder}/hard/."
        if pairs
        else f"{NO_ERRORS[:-1]}; the galleries are in {source.folder}/hard/."
    )
    return [
        Text(with_note(model_text(source.record), copy)),
        Table(
            ["Gallery", "Hardest image", "Images in the gallery"],
            rows,
            left=2,
            caption=with_note(
                "Galleries, hardest image first: its test-set index, true → predicted "
                "class, and p, the probability the model gave its prediction",
                copy,
            ),
        ),  # fmt: skip
        Text(shown),
        *figures(
            source,
            [(f"hard/{name}.png", with_note(f"Hard samples: {name}", copy)) for name in pairs],
        ),
    ]


def model_text(record: dict) -> str:
    """What a confusion or hardsamples folder evaluated: the test images, and which model."""
    data = record.get("data", {})
    model, name = data.get("model", {}), data.get("dataset")
    title = dataset_title(name)
    trained = model.get("training_config") or {}
    subset = trained.get("train_subset")
    images = f"{count(subset) if subset else 'all the'} training images"
    if data.get("val_size"):
        images = (
            f"{count(data['train_size'])} training images ({count(data['val_size'])} more held "
            "out for validation)"
        )
    origin = (
        "trained by this command"
        if model.get("trained_here")
        else f"loaded from {model.get('checkpoint')}"
    )
    setting = model.get("setting") or {}
    of_setting = ", ".join(f"{k.replace('_', ' ')} {plain(v)}" for k, v in setting.items())
    return (
        f"Evaluated on {count(data.get('test_size'))} test images of {title} from {data.get('source')}. "
        f"The model (seed {model.get('seed')}, {plural(trained.get('epochs', '?'), 'epoch')} on {images}"
        f"{f'; setting {of_setting}' if setting else ''}) was {origin}."
    )


def figures(source: Source, wanted: list[tuple[str, str]]) -> list[Figure]:
    """The figures of a folder that exist there, in the order asked for."""
    found = [(source.folder / name, caption) for name, caption in wanted]
    return [Figure(path, caption) for path, caption in found if path.is_file()]


def copies_of(source: Source) -> set[str]:
    """The datasets a folder read from an unofficial copy of CIFAR-10, as its config.json
    records its data (data.recorded_copies)."""
    return recorded_copies(source.record.get("data"))


def source_blocks(index: int, source: Source, training: Training | None, results) -> list:
    blocks = [
        Heading(f"{index}. {source.label}: lenet {source.command}"),
        Code(command_line(source.record)),
        provenance(source),
    ]
    if source.command == "train":
        blocks += train_blocks(source, training)
    elif source.command in ("sweep", "noise"):
        blocks += study_blocks(source, training, results[results["source"] == source.label])
    elif source.command == "confusion":
        blocks += confusion_blocks(source)
    else:
        blocks += hardsamples_blocks(source)
    return blocks
