"""Figures. Each function returns a matplotlib Figure; outputs.save_figure writes it."""

from __future__ import annotations

import functools
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

STYLES = ["-", "--", ":", "-."]  # line styles that tell output folders apart in one figure
# Seven markers against ten colours: line i's (colour, marker) pair repeats only after 70 lines.
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
# Hollow markers: where lines coincide, both shapes still show, one inside the other.
HOLLOW = {"markersize": 6, "markerfacecolor": "none", "markeredgewidth": 1.3}
# One colour family per noise type; the clean baseline in grey.
NOISE_COLORMAPS = {"none": "Greys", "symmetric": "Blues", "pair": "Oranges", "transition": "Greens"}
# What the rate r of each noise type means (docs/noise.md): the share of labels changed only
# for symmetric noise, and for pair noise over every class paired.
RATE_MEANINGS = {
    "symmetric": "symmetric: a label is changed with probability r, to another class at random",
    "pair": "pair: a label of a paired class is changed with probability r, to its partner class",
    "transition": "transition: r is the mean over classes of 1 - T[i][i]",
}
# Learning curves: a point per epoch; train solid and test dashed, so that greyscale tells them
# apart too.
CURVES = {
    "train": {"color": "tab:blue", "linestyle": "-", "marker": "o", "markersize": 3},
    "clean": {"color": "tab:green", "linestyle": "-.", "marker": "o", "markersize": 3},
    "test": {"color": "tab:orange", "linestyle": "--", "marker": "o", "markersize": 3},
    "val": {"color": "tab:purple", "linestyle": ":", "marker": "s", "markersize": 3},
}
LOSS_NAMES = {
    "cross-entropy": "cross-entropy loss",
    "mse": "MSE loss (softmax against one-hot)",
    "l1": "L1 loss (softmax against one-hot)",
    "bce": "binary cross-entropy (sigmoid against one-hot)",
}
TITLE_MARGIN = 0.1  # inches between a figure's top edge and its suptitle (see below)
BAND_ALPHA = 0.12  # light enough that overlapping bands neither hide lines nor turn brown
MOST_BANDS = 6  # with more lines in a panel, their bands hide more than they show


def quiet_numpy(make_figure):
    """A figure function that computes on NaN and inf without a word: a diverged run's losses
    are such values, matplotlib leaves them out of the figure, and numpy's RuntimeWarnings
    about them ("invalid value encountered in subtract") would reach the user as noise, with
    --quiet too. That the run diverged is said once, by the command."""

    @functools.wraps(make_figure)
    def quietly(*args, **kwargs):
        with np.errstate(all="ignore"):
            return make_figure(*args, **kwargs)

    return quietly


def mean_std_by_epoch(metrics: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and sample std of a column per epoch, over the seeds present (std 0 for one seed)."""
    stats = metrics.groupby("epoch")[column].agg(["mean", "std"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def plot_mean(ax, metrics: pd.DataFrame, column: str, label: str, band: bool = True, **look):
    """The mean of `column` per epoch over the seeds, drawn with `look` (color, marker, ...),
    and a +-1 std band in the line's colour when `band` is true."""
    stats = mean_std_by_epoch(metrics, column)
    (line,) = ax.plot(stats["epoch"], stats["mean"], label=label, **look)
    if band:
        lower, upper = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
        if "_acc" in column:  # a percentage: a band beyond 0 or 100 would show the impossible
            lower, upper = lower.clip(lower=0), upper.clip(upper=100)
        if len(stats) == 1:  # a band over one epoch has no width: an error bar shows it
            mean = stats["mean"].iloc[0]
            spread = [[mean - lower.iloc[0]], [upper.iloc[0] - mean]]
            if np.isfinite(spread).all():  # not for a diverged loss (inf, or nan)
                ax.errorbar(stats["epoch"], stats["mean"], yerr=spread, fmt="none",
                            ecolor=line.get_color(), capsize=4, linewidth=1)  # fmt: skip
        else:
            ax.fill_between(
                stats["epoch"], lower, upper, color=line.get_color(), alpha=BAND_ALPHA, linewidth=0
            )


def epoch_axis(ax, metrics: pd.DataFrame) -> None:
    """Whole epochs on the x axis, also for a run of one epoch (matplotlib would pad the
    single point with ticks at 0.96 ... 1.04)."""
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    first, last = metrics["epoch"].min(), metrics["epoch"].max()
    if first == last:
        ax.set_xlim(first - 0.5, last + 0.5)


@quiet_numpy
def curves_figure(metrics: pd.DataFrame, title: str, loss: str):
    """Loss and accuracy per epoch, train and test; a +-1 std band when several seeds ran.

    loss: the training loss (cross-entropy, mse or l1), named on the loss axis. When the models
    trained on noisy labels (metrics has train_acc_clean), the accuracy panel also shows
    training accuracy against the true labels; with a validation split, validation lines too.
    """
    seeds = metrics["seed"].nunique()
    # Clean runs of a noise study carry train_acc_clean too, equal to train_acc: one line then.
    noisy = "train_acc_clean" in metrics and (
        (metrics["train_acc_clean"] - metrics["train_acc"]).abs().max() > 0
    )
    train_label = "train (noisy labels)" if noisy else "train"
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind in ((loss_ax, "loss"), (acc_ax, "acc")):
        plot_mean(ax, metrics, f"train_{kind}", train_label, **CURVES["train"])
        if noisy and kind == "acc":
            plot_mean(ax, metrics, "train_acc_clean", "train (true labels)", **CURVES["clean"])
        if f"val_{kind}" in metrics and metrics[f"val_{kind}"].notna().any():
            plot_mean(ax, metrics, f"val_{kind}", "validation", **CURVES["val"])
        plot_mean(ax, metrics, f"test_{kind}", "test", **CURVES["test"])
        epoch_axis(ax, metrics)
    loss_ax.set_ylabel(LOSS_NAMES.get(loss, f"{loss} loss"))
    acc_ax.set_ylabel("accuracy (%)")
    spread = f" (mean over {seeds} seeds, band ±1 std)" if seeds > 1 else ""
    fig.suptitle(title + spread)
    fig.tight_layout()
    legend_below(fig, [acc_ax])  # the accuracy panel has every line of the loss panel
    return fig


@quiet_numpy
def accuracy_vs_noise_figure(summary: pd.DataFrame, title: str, baseline_type: str = "none"):
    """Final test accuracy (mean +- std over repeats, as error bars) against noise rate, one line
    per type in its colour family (see noise_colors).

    summary is a noise study's summary.csv: noise_type, noise_rate, n, final_test_acc_mean and
    final_test_acc_std. The baseline_type row (the clean runs at rate 0, trained once for all
    types) starts every type's line.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    baseline = summary[summary["noise_type"] == baseline_type]
    types = [t for t in summary["noise_type"].unique() if t != baseline_type]
    for noise_type in types or [baseline_type]:
        rows = summary[summary["noise_type"] == noise_type]
        if noise_type != baseline_type:
            rows = pd.concat([baseline, rows])
        rows = rows.sort_values("noise_rate")
        std = rows["final_test_acc_std"].fillna(0.0)  # empty for a single run
        ax.errorbar(
            rows["noise_rate"], rows["final_test_acc_mean"], yerr=std, marker="o", capsize=4,
            label=noise_type, color=noise_type_color(noise_type),
        )  # fmt: skip
    ax.set_xlabel(
        "\n".join(["noise rate r", *(RATE_MEANINGS[t] for t in types if t in RATE_MEANINGS)])
    )
    ax.set_ylabel("final test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(title=f"noise type\n(mean ± std over {count_text(summary['n'])} repeats)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def count_text(counts: pd.Series) -> str:
    """'3', or '2-3' where some settings lost runs (diverged or not trained)."""
    low, high = int(counts.min()), int(counts.max())
    return str(low) if low == high else f"{low}-{high}"


# --------------------------------------------------------------------------- confusion matrix

NORMALIZE_LABELS = {
    "true": "share of the true class",
    "pred": "share of the predicted class",
    "all": "share of all test images",
    "none": "images",
}


def cell_text(value: float, counts: bool) -> str:
    if counts or value == 0:
        return f"{value:.0f}"
    # A single image in a class of 1000 must not read as an empty cell.
    return "<0.01" if value < 0.005 else f"{value:.2f}"


@quiet_numpy
def confusion_figure(
    matrix, classes, normalize: str, title: str, names=("predicted class", "true class")
):
    """Heatmap of a confusion matrix: true classes down, predicted across, values in the cells.

    names: the axes' labels, across and down (a noise study's matrix of true against noisy
    training labels says "noisy label", "true label").
    """
    import numpy as np

    matrix = np.asarray(matrix, dtype=float)
    k = len(classes)
    counts = normalize == "none"
    side = max(6.0, 0.75 * k + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    # Rows or columns that sum to 1 share one 0..1 scale; shares of the whole matrix (each
    # cell about 1/K^2) and counts are scaled to their largest cell, or all would look blank.
    top = 1.0 if normalize in ("true", "pred") else max(float(matrix.max()), 1e-12)
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=top)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label(NORMALIZE_LABELS[normalize])
    fontsize = 9 if k <= 10 else max(5, 9 - (k - 10) // 3)
    for i in range(k):
        for j in range(k):
            value = matrix[i, j]
            # white on the dark cells, black on the light ones, grey for the empty ones
            color = "white" if value > 0.55 * top else "black" if value > 0 else "0.6"
            ax.text(
                j, i, cell_text(value, counts), ha="center", va="center", color=color,
                fontsize=fontsize,
            )  # fmt: skip
    if max(len(name) for name in classes) > 3:  # long names would overlap side by side
        ax.set_xticks(range(k), classes, rotation=40, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(range(k), classes)
    ax.set_yticks(range(k), classes)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- image galleries


@quiet_numpy
def gallery_figure(images, captions: list[str], colors: list[str], title: str, columns: int = 4):
    """Test images in a grid, each upscaled with its caption above; grey or colour as stored.

    images: uint8 (N, C, H, W) with C 1 or 3. Pixels are shown as blocks (no smoothing) so that
    what the model saw is what the reader sees.
    """
    import numpy as np

    n = len(images)
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(2.3 * columns, 2.55 * rows + 0.6), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption, color in zip(axes.flat, images, captions, colors, strict=False):
        pixels = np.asarray(image)
        if pixels.shape[0] == 1:
            ax.imshow(pixels[0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(pixels.transpose(1, 2, 0), interpolation="nearest")
        ax.set_title(caption, fontsize=9, color=color)
    lines = textwrap.wrap(title, width=max(20, int(2.3 * columns / 0.09)))  # 11 pt: ~0.09 in/char
    tight_layout_below_title(fig, fig.suptitle("\n".join(lines), fontsize=11))
    return fig


def tight_layout_below_title(fig, title) -> None:
    """tight_layout with every panel below the suptitle `title` (the Text fig.suptitle made),
    which is pinned TITLE_MARGIN below the top edge. matplotlib puts a suptitle at 98% of the
    height, in a tall figure (a big gallery, many settings) far down over the first panel, and
    its tight_layout reserves the title's height on top of any rect it is given: reserved
    twice, it left an empty band of a quarter of a short accuracy.png. So the title is placed
    here, measured, and left out of tight_layout's own reckoning only."""
    height = fig.get_figheight()
    title.set(y=1 - TITLE_MARGIN / height, verticalalignment="top", in_layout=False)
    inches = title.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi
    fig.tight_layout(rect=(0, 0, 1, 1 - (TITLE_MARGIN + inches) / height))
    title.set_in_layout(True)  # savefig's bbox_inches="tight" would cut it off otherwise


# --------------------------------------------------------------------------- comparing settings


@quiet_numpy
def comparison_figure(
    metrics: pd.DataFrame,
    column: str = "test_acc",
    colors: dict | None = None,
    titles: dict | None = None,
):
    """Mean `column` per epoch of every configuration (`line`), a panel per dataset.

    metrics: one row per model and epoch, with `dataset`, `line`, `seed`, `epoch` and column,
    and optionally `source`: each source then gets its own line style, so that the same
    configuration trained by two folders (identical curves, when seeds agree) shows as two.
    Datasets and lines come in order of first appearance. colors: one per line (default:
    palette_colors). titles: a panel's title by dataset, where not its dataset_title (CIFAR-10
    from an unofficial copy says so: data.shown_title). Each line also has its own hollow
    marker, so that lines that coincide (two settings that both diverged to chance) stay
    visible as two. A ±1 std band over the seeds is drawn while no panel has more than
    MOST_BANDS lines.
    """
    from lenetcli.science.data import dataset_title  # late: it imports torch, plots need not

    datasets = list(dict.fromkeys(metrics["dataset"]))
    lines = list(dict.fromkeys(metrics["line"]))
    colors = colors or palette_colors(lines)
    markers = marker_cycle(lines)
    styles = source_styles(metrics)
    several_seeds = metrics.groupby("line")["seed"].nunique().max() > 1
    bands = several_seeds and metrics.groupby("dataset")["line"].nunique().max() <= MOST_BANDS
    fig, axes = plt.subplots(1, len(datasets), figsize=(7 * len(datasets), 4.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        own = metrics[metrics["dataset"] == dataset]
        for line, rows in own.groupby("line", sort=False):
            look = {"color": colors[line], "marker": markers[line], **HOLLOW, **styles[line]}
            plot_mean(ax, rows, column, line, band=bands, **look)
        ax.set_title((titles or {}).get(dataset) or dataset_title(dataset))
        ax.set_ylabel(f"{describe(column)} (%)")
        epoch_axis(ax, own)
    fig.suptitle(f"{describe(column).capitalize()} per epoch: {spread_shown(several_seeds, bands)}")
    fig.tight_layout()
    legend_below(fig, axes[0])
    return fig


def source_styles(metrics: pd.DataFrame) -> dict:
    """Line style and width of each line: one style per source folder, solid without one."""
    sources = metrics["source"] if "source" in metrics else pd.Series("", index=metrics.index)
    names = list(dict.fromkeys(sources))
    # Each folder's lines are narrower than the folder's before and drawn over them, so that
    # identical curves of two folders both show, also once the styles repeat (a fifth folder).
    styles = {
        name: {
            "linestyle": STYLES[i % len(STYLES)],
            "linewidth": max(0.8, 3.0 * 0.75**i) if len(names) > 1 else 1.5,
            "zorder": 2 + i,
        }
        for i, name in enumerate(names)
    }
    return {line: styles[source] for line, source in zip(metrics["line"], sources, strict=True)}


def spread_shown(several_seeds: bool, bands: bool) -> str:
    """What a comparison's title says its lines and bands are."""
    if not several_seeds:
        return "one seed per line"
    if bands:
        return "mean over seeds, band ±1 std"
    return f"mean over seeds (no ±1 std bands with more than {MOST_BANDS} lines in a panel)"


def legend_below(fig, axes) -> None:
    """One legend for all panels, below them, where it hides no curve; each label once, and as
    many columns as the figure's width holds at the longest label."""
    entries = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    longest = max(map(len, entries))
    # About 0.07 inch per character in the small font, and 0.8 inch for the line sample.
    columns = max(1, min(len(entries), int(fig.get_figwidth() / (0.8 + 0.07 * longest))))
    fig.legend(
        entries.values(), entries.keys(), loc="upper center", bbox_to_anchor=(0.5, 0),
        ncol=columns, fontsize="small", frameon=False,
    )  # fmt: skip


@quiet_numpy
def accuracy_figure(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    colors: dict | None = None,
    best_by: str = "testing accuracy",
    titles: dict | None = None,
):
    """Final test accuracy per setting, a panel per dataset on one shared accuracy axis: the
    mean with a ±1 std bar in the setting's colour and marker (as in comparison_figure), every
    run as a dark ring on top, and the numbers in a column right of the panel.

    summary: a study's summary (dataset, setting, final_test_acc_mean, final_test_acc_std,
    best), one row per setting; runs: its trained runs (dataset, setting, final_test_acc).
    colors: one per setting name (default: palette_colors). best_by: what chose `best`.
    titles: a panel's title by dataset, as in comparison_figure.
    """
    from lenetcli.science.data import dataset_title  # late: it imports torch, plots need not

    datasets = list(dict.fromkeys(summary["dataset"]))
    names = list(dict.fromkeys(summary["setting"]))
    colors = colors or palette_colors(names)
    markers = marker_cycle(names)
    # Long setting names would take half the width on one line; hyphens are where they break.
    labels = {name: textwrap.fill(name, 28) for name in names}
    row = 0.25 + 0.17 * max(label.count("\n") + 1 for label in labels.values())
    heights = [row * (summary["dataset"] == d).sum() + 0.8 for d in datasets]
    fig, axes = plt.subplots(
        len(datasets), 1, figsize=(8, sum(heights) + 0.7), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )  # fmt: skip
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        rows = summary[summary["dataset"] == dataset].reset_index(drop=True)
        for y, setting in rows.iterrows():
            own = runs[(runs["dataset"] == dataset) & (runs["setting"] == setting["setting"])]
            look = {"color": colors[setting["setting"]], "marker": markers[setting["setting"]]}
            plot_final_accuracy(ax, y, setting, own["final_test_acc"], look)
        ax.set_yticks(range(len(rows)), [labels[name] for name in rows["setting"]])
        ax.set_ylim(len(rows) - 0.5, -0.5)  # first setting on top
        ax.set_title((titles or {}).get(dataset) or dataset_title(dataset))
        ax.grid(axis="x", alpha=0.3)
        ax.annotate(
            "mean ± std", (1, 1), xycoords="axes fraction", xytext=(8, 3),
            textcoords="offset points", va="bottom", fontsize="small", color="0.35",
        )  # fmt: skip
    axes[-1, 0].set_xlim(accuracy_limits(summary, runs))
    axes[-1, 0].set_xlabel("final test accuracy (%)")
    title = fig.suptitle(
        "Final test accuracy: mean ± std over repeats\n"
        + textwrap.fill(f"(rings: single runs; in bold: the best setting, by mean {best_by})", 90)
    )
    tight_layout_below_title(fig, title)
    return fig


def plot_final_accuracy(ax, y: int, setting: pd.Series, finals: pd.Series, look: dict) -> None:
    """One row of accuracy_figure: mean and std bar, the single runs, the numbers at the right."""
    mean, std = setting["final_test_acc_mean"], setting["final_test_acc_std"]
    spread = 0.0 if pd.isna(std) else std  # one run: no std
    # The bar stops at 0 and 100, where accuracy does; markers there are drawn whole (clip_on).
    xerr = [[min(spread, mean)], [min(spread, 100 - mean)]]
    ax.errorbar(
        mean, y, xerr=xerr, fmt=look["marker"], color=look["color"], capsize=5, markersize=8,
        zorder=3, clip_on=False,
    )  # fmt: skip
    # The runs on top, as rings: a small std must not hide them under the mean.
    ax.scatter(
        finals, [y] * len(finals), s=18, facecolors="none", edgecolors="0.1", linewidths=0.9,
        zorder=4, clip_on=False,
    )  # fmt: skip
    text = f"{mean:.2f} ± " + ("–" if pd.isna(std) else f"{std:.2f}")
    ax.annotate(
        text + ("  best" if setting["best"] else ""), (1, y),
        xycoords=("axes fraction", "data"), xytext=(8, 0), textcoords="offset points",
        va="center", fontsize="small", fontweight="bold" if setting["best"] else "normal",
        annotation_clip=False,
    )  # fmt: skip


def accuracy_limits(summary: pd.DataFrame, runs: pd.DataFrame) -> tuple[float, float]:
    """accuracy_figure's range: every run and every mean ± std, padded, but within 0..100."""
    mean, std = summary["final_test_acc_mean"], summary["final_test_acc_std"].fillna(0.0)
    values = pd.concat([runs["final_test_acc"], mean - std, mean + std])
    pad = max(1.0, 0.05 * (values.max() - values.min()))
    return max(0.0, values.min() - pad), min(100.0, values.max() + pad)


# --------------------------------------------------------------------------- colours and markers


def palette_colors(names) -> dict:
    """One tab10 colour per distinct name, in order of first appearance, cycling after ten:
    tab20's paler halves are hard to tell from their pairs, so markers tell those apart."""
    names = list(dict.fromkeys(names))
    palette = plt.get_cmap("tab10").colors
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def marker_cycle(names) -> dict:
    """One marker per distinct name, in order of first appearance (see MARKERS)."""
    names = list(dict.fromkeys(names))
    return {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(names)}


def noise_colors(settings: dict[str, tuple[str, float]]) -> dict:
    """A colour per name from its (noise type, rate): one colour family per type, so that a
    type's rates read as one series, and darker for higher rates."""
    colors = {}
    for noise_type in dict.fromkeys(t for t, _ in settings.values()):
        names = sorted((n for n, (t, _) in settings.items() if t == noise_type), key=settings.get)
        shades = [0.75] if len(names) == 1 else np.linspace(0.45, 0.95, len(names))
        colors.update(
            {
                name: noise_type_color(noise_type, shade)
                for name, shade in zip(names, shades, strict=True)
            }
        )
    return colors


def noise_type_color(noise_type: str, shade: float = 0.75) -> tuple:
    """A shade (0 light .. 1 dark) of the noise type's colour family."""
    return plt.get_cmap(NOISE_COLORMAPS.get(noise_type, "Purples"))(shade)


def describe(column: str) -> str:
    """'test_acc' -> 'test accuracy'."""
    return column.replace("_acc", " accuracy").replace("_", " ")
