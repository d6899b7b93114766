import matplotlib.pyplot as plt
import pandas as pd
import pytest

from lenetcli.outputs.plots import (
    accuracy_figure,
    accuracy_vs_noise_figure,
    comparison_figure,
    confusion_figure,
    curves_figure,
    marker_cycle,
    noise_colors,
    palette_colors,
)


@pytest.fixture(autouse=True)
def close_figures():
    """The figures are looked at, never saved: close them, as outputs.save_figure would."""
    yield
    plt.close("all")


def metrics(train_acc_clean=None):
    frame = pd.DataFrame(
        {
            "seed": [1, 1, 2, 2],
            "epoch": [1, 2, 1, 2],
            "train_loss": [1.0, 0.5, 1.1, 0.6],
            "train_acc": [60.0, 70.0, 61.0, 71.0],
            "test_loss": [0.9, 0.4, 0.8, 0.5],
            "test_acc": [80.0, 90.0, 81.0, 91.0],
        }
    )
    if train_acc_clean is not None:
        frame["train_acc_clean"] = train_acc_clean
    return frame


def legend_labels(figure):
    (legend,) = figure.legends  # one for both panels
    return [text.get_text() for text in legend.get_texts()]


def test_curves_show_accuracy_on_true_labels_only_when_labels_were_noisy():
    plain = curves_figure(metrics(), "t", "cross-entropy")
    assert legend_labels(plain) == ["train", "test"]
    assert "2 seeds" in plain.texts[0].get_text()

    clean_run_of_a_noise_study = curves_figure(metrics([60.0, 70.0, 61.0, 71.0]), "t", "mse")
    assert legend_labels(clean_run_of_a_noise_study) == ["train", "test"]

    noisy = curves_figure(metrics([70.0, 85.0, 71.0, 86.0]), "t", "l1")
    assert legend_labels(noisy) == ["train (noisy labels)", "train (true labels)", "test"]


def test_curves_show_validation_only_where_it_was_measured():
    validated = metrics().assign(val_loss=[0.8, 0.4, 0.9, 0.5], val_acc=[79.0, 88.0, 80.0, 89.0])
    assert legend_labels(curves_figure(validated, "t", "cross-entropy")) == [
        "train", "validation", "test"
    ]  # fmt: skip
    # a setting without validation images, in a study where others have them
    unvalidated = metrics().assign(val_loss=float("nan"), val_acc=float("nan"))
    assert legend_labels(curves_figure(unvalidated, "t", "cross-entropy")) == ["train", "test"]


def test_curves_name_the_loss_and_dash_the_test_curve_with_the_legend_below():
    figure = curves_figure(metrics(), "t", "mse")
    loss_ax, acc_ax = figure.axes
    assert loss_ax.get_ylabel().startswith("MSE loss")
    assert (
        curves_figure(metrics(), "t", "cross-entropy").axes[0].get_ylabel() == "cross-entropy loss"
    )
    for ax in (loss_ax, acc_ax):
        assert ax.get_legend() is None
        train, test = ax.get_lines()
        assert (train.get_linestyle(), test.get_linestyle()) == ("-", "--")
    below = figure.legends[0].get_bbox_to_anchor().transformed(figure.transFigure.inverted())
    assert below.y0 <= 0


def test_comparison_has_a_panel_per_dataset_and_one_legend_entry_per_line():
    a = metrics().assign(dataset="mnist", line="a")
    b = metrics().assign(dataset="digits", line="b", test_acc=[50.0, 55.0, 52.0, 57.0])
    figure = comparison_figure(pd.concat([a, b, a.assign(line="c")]))
    assert [ax.get_title() for ax in figure.axes] == ["MNIST", "Digits (scikit-learn 8x8)"]
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["a", "c", "b"]
    mnist_means = [line.get_ydata().tolist() for line in figure.axes[0].get_lines()]
    assert mnist_means == [[80.5, 90.5], [80.5, 90.5]]


def test_the_same_curve_from_two_folders_stays_visible_as_two_line_styles():
    first = metrics().assign(dataset="digits", source="sweep", line="sweep: lr0.001")
    second = metrics().assign(dataset="digits", source="noise", line="noise: none-0")
    (ax,) = comparison_figure(pd.concat([first, second])).axes
    solid, dashed = ax.get_lines()
    assert solid.get_ydata().tolist() == dashed.get_ydata().tolist()
    assert (solid.get_linestyle(), dashed.get_linestyle()) == ("-", "--")
    assert solid.get_linewidth() > dashed.get_linewidth()
    assert solid.get_zorder() < dashed.get_zorder()  # the narrower line is drawn on top


def test_identical_curves_of_five_folders_are_each_narrower_than_the_one_below():
    folders = [f"f{i}" for i in range(5)]  # the fifth repeats the first's line style
    frame = pd.concat(metrics().assign(dataset="digits", source=f, line=f"{f}: a") for f in folders)
    (ax,) = comparison_figure(frame).axes
    lines = sorted(ax.get_lines(), key=lambda line: line.get_zorder())
    widths = [line.get_linewidth() for line in lines]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 5
    assert lines[0].get_linestyle() == lines[4].get_linestyle() == "-"


def settings(count: int, **columns) -> pd.DataFrame:
    """count settings with identical curves on digits: the worst case for telling them apart."""
    return pd.concat(
        metrics().assign(dataset="digits", line=f"setting-{i}-" + "x" * 35, **columns)
        for i in range(count)
    )


def test_comparison_lines_that_coincide_differ_by_colour_and_marker_with_one_legend_below():
    figure = comparison_figure(settings(12))
    (ax,) = figure.axes
    looks = [(str(line.get_color()), line.get_marker()) for line in ax.get_lines()]
    assert len(set(looks)) == 12
    assert ax.get_legend() is None and len(figure.legends) == 1
    below = figure.legends[0].get_bbox_to_anchor().transformed(figure.transFigure.inverted())
    assert below.y0 <= 0


def test_comparison_bands_only_while_few_lines_and_the_title_says_which():
    few = comparison_figure(settings(3))
    assert len(few.axes[0].collections) == 3
    assert "band ±1 std" in few.texts[0].get_text()
    many = comparison_figure(settings(7))
    assert not many.axes[0].collections
    assert "no ±1 std bands" in many.texts[0].get_text()


def test_comparison_takes_the_callers_colours():
    figure = comparison_figure(
        settings(2), colors={"setting-0-" + "x" * 35: "black", "setting-1-" + "x" * 35: "red"}
    )
    assert [line.get_color() for line in figure.axes[0].get_lines()] == ["black", "red"]


def test_palette_has_no_pale_twins_beyond_ten_names():
    colors = palette_colors(range(12))
    assert colors[10] == colors[0]  # tab10 again: the markers (marker_cycle) tell them apart
    assert marker_cycle(range(12))[10] != marker_cycle(range(12))[0]


def test_noise_colours_one_family_per_type_darker_at_higher_rates():
    from matplotlib.colors import rgb_to_hsv

    colors = noise_colors(
        {"none-0": ("none", 0.0), "symmetric-0.4": ("symmetric", 0.4),
         "symmetric-0.2": ("symmetric", 0.2), "pair-0.2": ("pair", 0.2)}
    )  # fmt: skip
    hue, _, _ = rgb_to_hsv(
        [colors[n][:3] for n in ["symmetric-0.2", "symmetric-0.4", "pair-0.2"]]
    ).T
    assert abs(hue[0] - hue[1]) < 0.05 and abs(hue[0] - hue[2]) > 0.2
    assert sum(colors["symmetric-0.4"][:3]) < sum(colors["symmetric-0.2"][:3])  # darker


def final_accuracies():
    """Two datasets, a long setting name, one setting at 100% and one spread from 2 to 98%."""
    long = "adam-lr0.001-leakyrelu-maxpool-bs32-crossentropy"
    runs = pd.DataFrame(
        {
            "dataset": ["digits"] * 4 + ["mnist"] * 2,
            "setting": [long, long, "lr0.1", "lr0.1", long, long],
            "final_test_acc": [100.0, 100.0, 2.0, 98.0, 80.0, 82.0],
        }
    )
    summary = (
        runs.groupby(["dataset", "setting"], sort=False)["final_test_acc"]
        .agg(final_test_acc_mean="mean", final_test_acc_std="std")
        .reset_index()
    )
    summary["best"] = [1, 0, 1]
    return summary, runs


def test_accuracy_figure_stays_within_0_to_100_on_one_axis_with_numbers_beside_it():
    figure = accuracy_figure(*final_accuracies())
    digits, mnist = figure.axes[:2]
    assert digits.get_xlim() == mnist.get_xlim()
    low, high = digits.get_xlim()
    assert 0 <= low and high <= 100
    numbers = [t for t in digits.texts if "±" in t.get_text() and t.get_text() != "mean ± std"]
    assert [t.get_text() for t in numbers] == ["100.00 ± 0.00  best", "50.00 ± 67.88"]
    for text in numbers:  # in a column right of the frame, in black
        assert text.xy[0] == 1 and text.xyann[0] > 0
        assert text.get_color() == "black"
    assert (
        max(len(line) for t in digits.get_yticklabels() for line in t.get_text().split("\n")) <= 28
    )


def test_accuracy_figure_draws_single_runs_on_top_of_the_mean():
    digits = accuracy_figure(*final_accuracies()).axes[0]
    (runs, *_) = [c for c in digits.collections if c.get_offsets().shape[0] == 2]
    means = [line for line in digits.get_lines() if line.get_marker() not in ("|", "None", None)]
    assert means and runs.get_zorder() > max(line.get_zorder() for line in means)


def noise_summary(types=("symmetric", "pair")) -> pd.DataFrame:
    rows = [("none", 0.0, 94.0, 0.5)]
    for noise_type in types:
        rows += [(noise_type, 0.2, 90.0, 1.0), (noise_type, 0.4, 80.0, 2.0)]
    frame = pd.DataFrame(
        rows, columns=["noise_type", "noise_rate", "final_test_acc_mean", "final_test_acc_std"]
    )
    return frame.assign(n=3)


def test_accuracy_vs_noise_has_error_bars_only_and_says_what_they_are():
    from matplotlib.collections import PolyCollection

    ax = accuracy_vs_noise_figure(noise_summary(), "t").axes[0]
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]  # no band
    assert "mean ± std over 3 repeats" in ax.get_legend().get_title().get_text()
    assert "symmetric:" in ax.get_xlabel() and "pair:" in ax.get_xlabel()


def test_accuracy_vs_noise_explains_only_the_types_shown():
    ax = accuracy_vs_noise_figure(noise_summary(("symmetric",)), "t").axes[0]
    assert "symmetric:" in ax.get_xlabel() and "pair" not in ax.get_xlabel()


def test_confusion_cells_keep_the_leading_zero_and_normalised_scales_end_at_1():
    import numpy as np

    matrix = np.array([[0.57, 0.43], [0.0, 0.99]])
    figure = confusion_figure(matrix, ["0", "1"], "pred", "t", ("noisy label", "true label"))
    ax, colorbar = figure.axes
    assert [t.get_text() for t in ax.texts] == ["0.57", "0.43", "0", "0.99"]
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("noisy label", "true label")
    assert colorbar.get_ylabel() == "share of the predicted class"


def test_one_epoch_has_whole_epoch_ticks_and_error_bars_for_the_spread():
    one_epoch = metrics()[lambda m: m["epoch"] == 1]
    figure = curves_figure(one_epoch, "t", "cross-entropy")
    for ax in figure.axes:
        figure.canvas.draw()
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks == [1]
        # the ±1 std of each line is an error bar (a band over one epoch has no width)
        bars = [c for c in ax.collections if c.get_segments()]
        assert len(bars) == 2
        (segment,) = bars[1].get_segments()  # test accuracy/loss of seeds 1 and 2
        assert segment[0][0] == segment[1][0] == 1
    compare = comparison_figure(one_epoch.assign(dataset="digits", line="a"))
    compare.canvas.draw()
    ax = compare.axes[0]
    assert [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]] == [1]


@pytest.mark.parametrize("settings", [2, 32])
def test_the_accuracy_title_stays_clear_of_the_panel_title(settings):
    names = [f"lr0.001-cosine-tanh-avgpool-train500-{i}" for i in range(settings)]
    summary = pd.DataFrame(
        {"dataset": "digits", "setting": names, "final_test_acc_mean": 90.0,
         "final_test_acc_std": 1.0, "best": [i == 0 for i in range(settings)]}
    )  # fmt: skip
    runs = pd.DataFrame({"dataset": "digits", "setting": names, "final_test_acc": 90.0})
    figure = accuracy_figure(summary, runs)
    figure.canvas.draw()
    title = figure.get_suptitle()
    assert "mean ± std" in title
    top = figure._suptitle.get_window_extent()
    panel = figure.axes[0].title.get_window_extent()
    assert top.y0 > panel.y1  # the figure's two lines are above the panel's title


@pytest.mark.parametrize("count", [1, 4, 25, 50])
def test_a_gallery_title_stays_clear_of_the_captions(count):
    import numpy as np

    from lenetcli.outputs.plots import gallery_figure

    images = np.zeros((count, 1, 28, 28), dtype=np.uint8)
    title = "Fashion-MNIST: Pullover classified as Coat (25 of 36, hardest first)"
    figure = gallery_figure(images, [f"#{i} p=0.510" for i in range(count)], ["k"] * count, title)
    figure.canvas.draw()
    top = figure._suptitle.get_window_extent()
    first_caption = figure.axes[0].title.get_window_extent()
    assert top.y0 > first_caption.y1
    assert top.x0 >= 0 and top.x1 <= figure.bbox.width  # wrapped to the figure's width


@pytest.mark.parametrize("datasets", [1, 2])
def test_the_accuracy_figure_has_no_empty_band_below_its_title(datasets):
    # a sweep's accuracy.png: the title's height was reserved twice, leaving a quarter empty
    names = ["lr0.001", "lr0.005", "lr0.01"]
    summary = pd.DataFrame(
        {"dataset": ["digits", "mnist"][:datasets] * 3, "setting": names * datasets,
         "final_test_acc_mean": 90.0, "final_test_acc_std": 1.0, "best": 0}
    )[: 3 * datasets]  # fmt: skip
    runs = summary[["dataset", "setting"]].assign(final_test_acc=90.0)
    figure = accuracy_figure(summary, runs)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    inches = figure.get_figheight()
    title = figure._suptitle.get_window_extent(renderer)
    panel = figure.axes[0].get_tightbbox(renderer)  # its title and "mean ± std" included
    assert (title.y0 - panel.y1) / figure.dpi < 0.2  # a line's spacing, no band
    assert (figure.bbox.y1 - title.y1) / figure.dpi < 0.2
    # the content fills the figure, top to bottom, but for a margin of about 0.1 inch each
    content = figure.get_tightbbox(renderer)  # in inches
    assert inches - content.height < 0.3


def test_curves_of_diverged_runs_draw_without_a_numpy_warning():
    import warnings

    diverged = metrics().assign(train_loss=float("inf"), test_loss=float("nan"))
    for frame in (diverged, diverged[diverged["epoch"] == 1]):  # bands, then error bars
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning fails the test
            curves_figure(frame, "t", "cross-entropy")
            comparison_figure(frame.assign(dataset="digits", line="a"), "train_loss")


def test_a_diverged_run_shows_the_user_no_numpy_warning(tmp_path):
    """In a real process: pytest would catch a warning of an in-process run for itself."""
    import os
    import subprocess
    import sys

    args = [
        "train", "--dataset", "digits", "--train-subset", "100", "--test-subset", "50",
        "--batch-size", "50", "--epochs", "1", "--repeats", "2", "--lr", "1e6", "--device",
        "cpu", "--quiet", "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # as a user's python shows them
    done = subprocess.run(
        [sys.executable, "-m", "lenetcli", *args], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()  # the one warning lenet gives, and nothing of numpy's
    assert line.startswith("Warning: the model of seed 42, 43 diverged")


def test_a_panel_takes_the_title_its_caller_gives_its_dataset():
    # CIFAR-10 read from an unofficial copy says so in its panel (data.shown_title)
    a = metrics().assign(dataset="mnist", line="a")
    b = metrics().assign(dataset="digits", line="b")
    titles = {"digits": "Digits (copy)"}
    figure = comparison_figure(pd.concat([a, b]), titles=titles)
    assert [ax.get_title() for ax in figure.axes] == ["MNIST", "Digits (copy)"]
    figure = accuracy_figure(*final_accuracies(), titles=titles)
    assert [ax.get_title() for ax in figure.axes[:2]] == ["Digits (copy)", "MNIST"]
