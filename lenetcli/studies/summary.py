"""A study's summary, the way a report shows it: summary.csv, the per-setting tables,
summary.md, the curves, compare.png and accuracy.png, and the table printed at the end.

`write_report` writes them all from runs.csv and metrics.csv's frames (ledger.Ledger). The
best setting of each dataset is the one with the highest mean final accuracy: validation
accuracy where every setting of the dataset holds out validation images, else test accuracy
(`best_mask`, `best_by`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lenetcli.config import HYPERPARAMETERS
from lenetcli.outputs.document import Block, Heading, Table, Text, render_markdown
from lenetcli.outputs.files import read_config, save_figure, write_csv, write_text
from lenetcli.outputs.plots import accuracy_figure, comparison_figure
from lenetcli.outputs.tables import count_text, describe_seeds, fmt, plain, plural, shown
from lenetcli.science.data import DATASETS, recorded_copies, shown_title
from lenetcli.studies.results import DIVERGED, trained_runs

if TYPE_CHECKING:
    from lenetcli.studies.study import Setting, Study


def summary_frame(study: Study, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per setting: its hyperparameters, then n and best/mean/std/min/max per value.

    Diverged runs count, with the accuracy they ended at (chance, mostly): left out, they would
    make a setting that diverges for some seeds look as good as its lucky seeds; `diverged`
    says how many there are. std is the sample standard deviation (n-1), empty for a single
    run. `best` marks the best setting(s) of each dataset (best_mask).
    """
    groups = trained_runs(runs).groupby(study.keys, sort=False, dropna=False)
    finals = [f"final_{value}" for value in study.values]
    parts = [groups[HYPERPARAMETERS].first(), run_statistics(groups, finals)]
    summary = pd.concat(parts, axis=1).reset_index()
    summary["best"] = best_mask(summary).astype(int)
    return summary


def run_statistics(groups, finals: list[str]) -> pd.DataFrame:
    """Per group of trained runs (runs.csv's rows): n, how many diverged, best/mean/std/min/max
    of each final value, and the 95% CI of the mean final test accuracy. summary.csv and the
    report's results.csv both come from here."""
    parts = [
        groups.size().rename("n"),
        groups["status"].agg(lambda status: int((status == DIVERGED).sum())).rename("diverged"),
    ]
    for column in finals:
        stats = groups[column].agg(best="max", mean="mean", std="std", min="min", max="max")
        parts.append(stats.add_prefix(f"{column}_"))
    frame = pd.concat(parts, axis=1)
    frame["final_test_acc_ci95"] = ci95_half_width(frame["final_test_acc_std"], frame["n"])
    return frame


def best_mask(summary: pd.DataFrame) -> pd.Series:
    """True for the setting(s) with the highest mean final accuracy on their dataset, among
    those with a run that did not diverge: validation accuracy where every setting of that
    dataset has one (--val-split), else test accuracy.

    Means are compared as the tables show them (tables.shown, 2 decimals): two settings
    that show the same mean are both best, a tie, even where float rounding left one
    2.8e-14 above the other. Where one setting is needed (the course's later sections, a
    study's best model), the first of them in the study file's order is taken (best_row).
    """
    score = summary["final_test_acc_mean"]
    validated = summary["dataset"].map(validated_datasets(summary))
    if validated.any():
        score = summary["final_val_acc_mean"].where(validated, score)
    candidates = score.where(summary["diverged"] < summary["n"]).map(shown)
    return candidates == candidates.groupby(summary["dataset"]).transform("max")


def validated_datasets(summary: pd.DataFrame) -> pd.Series:
    """Per dataset, in order: whether every setting of it holds out validation images, so
    that its best setting is chosen on them."""
    if "final_val_acc_mean" not in summary:
        return pd.Series(False, index=summary["dataset"].unique())
    return summary["final_val_acc_mean"].notna().groupby(summary["dataset"], sort=False).all()


def best_by(summary: pd.DataFrame) -> str:
    """The accuracy best_mask picked the best setting by, for the text beside a table."""
    validated = validated_datasets(summary)
    if not validated.any():
        return "testing accuracy"
    if validated.all():
        return "validation accuracy"
    unvalidated = ", ".join(validated.index[~validated])
    return f"validation accuracy ({unvalidated}: testing accuracy)"


def ci95_half_width(std: pd.Series, n: pd.Series) -> pd.Series:
    """Half-width of the 95% confidence interval of a mean over n seeds (Student's t): with 5
    seeds it is 1.24 std, so two settings whose intervals overlap are not told apart."""
    from scipy.stats import t

    return t.ppf(0.975, n - 1) * std / n**0.5


def setting_table(study: Study, runs: pd.DataFrame) -> pd.DataFrame:
    """The table a report shows for one setting: rows No. 1..n by seed, then Best, Mean, Std."""
    ordered = runs.sort_values("seed")
    finals = {label: ordered[f"final_{value}"].tolist() for value, label in study.values.items()}
    rows = [
        {"No.": str(i + 1), **{label: values[i] for label, values in finals.items()}}
        for i in range(len(ordered))
    ]
    series = {label: pd.Series(values, dtype=float) for label, values in finals.items()}
    for name, stat in (("Best", "max"), ("Mean", "mean"), ("Std", "std")):
        rows.append({"No.": name, **{label: getattr(s, stat)() for label, s in series.items()}})
    return pd.DataFrame(rows)


def describe_setting(setting: Setting) -> str:
    """'lr 0.001, batch size 32, 15 epochs, adam, ...': every value, for the Markdown page."""
    c = setting.config
    parts = [
        f"lr {c.lr}", f"batch size {c.batch_size}", plural(c.epochs, "epoch"), c.optimizer,
        f"weight decay {c.weight_decay}", f"{c.loss} loss", c.activation, f"{c.pool} pooling",
    ]  # fmt: skip
    if c.train_subset is not None:
        parts.append(f"{c.train_subset} training images")
    if c.test_subset is not None:
        parts.append(f"{c.test_subset} test images")
    if c.lr_schedule != "constant":
        parts.append(f"{c.lr_schedule} learning-rate schedule")
    if c.val_split:
        parts.append(f"{c.val_split:g} of the training images held out for validation")
    parts += [f"{k} {v}" for k, v in setting.columns.items()]
    seeds = c.seeds
    parts.append(describe_seeds(seeds))
    return ", ".join(parts)


def summary_markdown(study: Study, runs: pd.DataFrame, summary: pd.DataFrame) -> str:
    """summary.md: per dataset an overview of all settings, then each setting's table."""
    return render_markdown(summary_blocks(study, runs, summary), {})


def summary_blocks(study: Study, runs: pd.DataFrame, summary: pd.DataFrame) -> list[Block]:
    """summary.md as a document (outputs/document.py): the notes on how to read it, then per
    dataset the overview table and each setting's own."""
    blocks = [
        Heading(f"LeNet-5 {study.command}: summary", 1),
        Text(
            "Accuracies in percent, after the last epoch. Std is the sample standard deviation "
            "(n-1) over the repeats; the 95% CI is the half-width of the 95% confidence "
            "interval of the mean testing accuracy (Student's t); **best** marks the highest "
            f"mean {best_by(summary)} per dataset. A run that diverged (its loss is not a "
            "finite number) counts with the accuracy it ended at. Training accuracy is "
            "averaged over the epoch's batches as they were trained, while the model changed; "
            "validation and testing accuracy are measured after the epoch, so a gap between "
            "them is not all overfitting."
        ),
    ]
    trained = trained_runs(runs)
    for dataset, rows in summary.groupby("dataset", sort=False):
        blocks += [Heading(DATASETS[dataset].title), overview_table(study, rows)]
        for setting in study.settings:
            own = trained[setting_mask(trained, setting)]
            if setting.config.dataset == dataset and not own.empty:
                blocks += [
                    Heading(setting.name, 3),
                    Text(describe_setting(setting)),
                    seeds_table(setting_table(study, own)),
                ]
    return blocks


def overview_table(study: Study, rows: pd.DataFrame) -> Table:
    """One dataset's settings, a row each: mean ± std per value, the CI, the best seed."""
    header = ["Setting", *study.setting_columns, "n"]
    header += [f"{label} (mean ± std)" for label in study.values.values()]
    header += ["Testing 95% CI (±)", "Best seed (testing)", ""]
    body = []
    for _, row in rows.iterrows():
        n = count_text(row["n"], row["diverged"])
        values = [plain(row[c]) for c in study.setting_columns]
        cells = [row["setting"], *values, n]
        cells += [mean_and_std(row, v) for v in study.values]
        cells += [fmt(row["final_test_acc_ci95"]), fmt(row["final_test_acc_max"])]
        cells.append("**best**" if row["best"] else "")
        body.append(cells)
    return Table(header, body)


def seeds_table(table: pd.DataFrame) -> Table:
    """A setting's table (setting_table) with its numbers rounded for reading."""
    rows = [[r.iloc[0], *[fmt(v) for v in r.iloc[1:]]] for _, r in table.iterrows()]
    return Table(list(table.columns), rows)


def mean_and_std(row: pd.Series, value: str) -> str:
    """'98.12 ± 0.08' for a summary row's value; '–' where the setting has none (no val_acc
    without validation images)."""
    mean, std = row[f"final_{value}_mean"], row[f"final_{value}_std"]
    return "–" if pd.isna(mean) else f"{fmt(mean)} ± {fmt(std)}"


def setting_mask(frame: pd.DataFrame, setting: Setting) -> pd.Series:
    return (frame["dataset"] == setting.config.dataset) & (frame["setting"] == setting.name)


def compare_figure(
    study: Study, metrics: pd.DataFrame, value: str = "test_acc", titles: dict | None = None
):
    """Mean `value` per epoch of every setting, a panel per dataset (plots.comparison_figure),
    the settings in the study's order and colours; titles: the panels', by dataset."""
    ordered = pd.concat([metrics[setting_mask(metrics, s)] for s in study.settings])
    return comparison_figure(
        ordered.assign(line=ordered["setting"]), value, study.palette(study.settings), titles
    )


def figure_titles(study: Study, out: Path) -> dict[str, str]:
    """Each dataset's title in the study's figures: CIFAR-10 read from an unofficial copy, as
    the study's config.json records its data, says so (data.shown_title)."""
    copies = recorded_copies((read_config(out) or {}).get("data"))
    names = dict.fromkeys(s.config.dataset for s in study.settings)
    return {name: shown_title(name, name in copies) for name in names}


def write_report(study: Study, out: Path, runs: pd.DataFrame, metrics: pd.DataFrame):
    """summary.csv, tables/, summary.md and the figures, from the trained runs; return summary."""
    summary = summary_frame(study, runs)
    write_csv(out / "summary.csv", summary)
    trained = trained_runs(runs)
    titles = figure_titles(study, out)
    for setting in study.settings:
        own = trained[setting_mask(trained, setting)]
        if own.empty:
            continue
        write_csv(out / "tables" / f"{setting.stem}.csv", setting_table(study, own))
        title = f"LeNet-5 on {titles[setting.config.dataset]}, {setting.name}"
        curves = study.curves(metrics[setting_mask(metrics, setting)], title, setting.config.loss)
        save_figure(curves, out / "curves" / f"{setting.stem}.png")
    stems = {setting.stem for setting in study.settings}
    remove_other_settings_files(out / "tables", ".csv", stems)
    remove_other_settings_files(out / "curves", ".png", stems)
    write_text(out / "summary.md", summary_markdown(study, runs, summary))
    save_figure(compare_figure(study, metrics, titles=titles), out / "compare.png")
    colors = study.palette(study.settings)
    figure = accuracy_figure(summary, trained, colors, best_by(summary), titles)
    save_figure(figure, out / "accuracy.png")
    return summary


def remove_other_settings_files(folder: Path, suffix: str, stems: set[str]) -> None:
    """Drop the files of settings this study no longer has (renamed by --resume, or named
    anew as its grid grew): a folder handed in must not show settings that are gone."""
    if folder.is_dir():
        for path in folder.glob(f"*{suffix}"):
            if path.stem not in stems and path.is_file():
                path.unlink()


def summary_table(study: Study, summary: pd.DataFrame):
    """The summary as a rich table, for the end of the command; setting names never wrap."""
    from rich.table import Table

    table = Table(
        title="Final accuracy (%): mean ± std over repeats",
        caption=f"best: the highest mean {best_by(summary)} of its dataset",
    )
    for column in ["dataset", "setting", *study.setting_columns]:
        table.add_column(column, no_wrap=True)
    table.add_column("n", justify="right")
    for label in study.values.values():
        table.add_column(label.replace(" accuracy", "").lower(), justify="right", no_wrap=True)
    table.add_column("best seed (test)", justify="right")
    table.add_column("")
    for _, row in summary.iterrows():
        cells = [row["dataset"], row["setting"], *[plain(row[c]) for c in study.setting_columns]]
        cells.append(count_text(int(row["n"]), int(row["diverged"])))  # as summary.md does
        cells += [mean_and_std(row, v) for v in study.values]
        cells += [fmt(row["final_test_acc_max"]), "best" if row["best"] else ""]
        table.add_row(*[str(cell) for cell in cells])
    return table
